-- Version 2: an index behind every list query of the front ends (job list, host list,
-- results) and behind `autotest db prune`, so that none reads a whole big table (legacy users
-- saw 10-15 s per `atest job list` at a few hundred thousand jobs). Primary keys and UNIQUE
-- columns are indexed already.

-- job list -u USER (newest first), and --all ordered by creation.
CREATE INDEX jobs_owner ON jobs (owner, id);
CREATE INDEX jobs_created ON jobs (created_on);

-- Entries of a job, with what prune asks of them (any unfinished, or finished after the
-- cutoff?) in the index itself. Replaces 0001's (job_id).
DROP INDEX host_queue_entries_job;
CREATE INDEX host_queue_entries_job ON host_queue_entries (job_id, complete, finished_on);
-- job list --running and the scheduler's queue: open entries by state. Replaces 0001's
-- (complete, active), of which it is an extension.
DROP INDEX host_queue_entries_open;
CREATE INDEX host_queue_entries_state ON host_queue_entries (complete, active, status, job_id);
CREATE INDEX host_queue_entries_host ON host_queue_entries (host_id);
CREATE INDEX host_queue_entries_meta_host ON host_queue_entries (meta_host);
-- Deleting an entry sets special_tasks.queue_entry_id to NULL: without this, one scan per entry.
CREATE INDEX special_tasks_entry ON special_tasks (queue_entry_id);
CREATE INDEX special_tasks_host ON special_tasks (host_id, id);

-- host list -b LABEL, --status S, --locked; label delete and job dependencies by label.
CREATE INDEX host_labels_label ON host_labels (label_id, host_id);
CREATE INDEX job_dependency_labels_label ON job_dependency_labels (label_id);
CREATE INDEX hosts_status ON hosts (status);
CREATE INDEX hosts_locked ON hosts (locked);
-- Deleting a host's blocks (ON DELETE CASCADE) by host.
CREATE INDEX ineligible_host_queues_host ON ineligible_host_queues (host_id);

-- results --job N (the frontend job), --test, --kernel, --status, --machine; prune of the TKO
-- jobs of a frontend job.
CREATE INDEX tko_jobs_afe_job ON tko_jobs (afe_job_id);
CREATE INDEX tko_jobs_machine ON tko_jobs (machine_idx);
CREATE INDEX tko_tests_test ON tko_tests (test);
CREATE INDEX tko_tests_kernel ON tko_tests (kernel_idx);
CREATE INDEX tko_tests_status ON tko_tests (status);
CREATE INDEX tko_tests_machine ON tko_tests (machine_idx);
CREATE INDEX tko_kernels_printable ON tko_kernels (printable);
-- Iterations in order within a test (0001 had test_idx alone).
DROP INDEX tko_iteration_result_test;
CREATE INDEX tko_iteration_result_test ON tko_iteration_result (test_idx, iteration);
DROP INDEX tko_iteration_attributes_test;
CREATE INDEX tko_iteration_attributes_test ON tko_iteration_attributes (test_idx, iteration);
