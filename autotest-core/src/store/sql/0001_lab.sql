-- The lab database, version 1: the frontend (AFE) side and the results (TKO) side.
-- One text for both backends: @ID@, @INT@ and @FLOAT@ are replaced per backend by
-- migrations.rs (SQLite: INTEGER PRIMARY KEY AUTOINCREMENT, INTEGER, REAL; PostgreSQL:
-- BIGINT identity, BIGINT, DOUBLE PRECISION). Booleans are 0/1 integers and timestamps
-- are UTC epoch seconds, so that one code path (sqlx Any) reads both.

CREATE TABLE hosts (
    id @ID@,
    hostname TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'Ready',
    locked @INT@ NOT NULL DEFAULT 0,
    locked_by TEXT,
    lock_time @INT@,
    dirty @INT@ NOT NULL DEFAULT 0,
    invalid @INT@ NOT NULL DEFAULT 0,
    protection TEXT NOT NULL DEFAULT 'No protection',
    created_on @INT@ NOT NULL
);

CREATE TABLE host_attributes (
    host_id @INT@ NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (host_id, attribute)
);

CREATE TABLE labels (
    id @ID@,
    name TEXT NOT NULL UNIQUE,
    platform @INT@ NOT NULL DEFAULT 0,
    only_if_needed @INT@ NOT NULL DEFAULT 0,
    invalid @INT@ NOT NULL DEFAULT 0
);

CREATE TABLE host_labels (
    host_id @INT@ NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    label_id @INT@ NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    PRIMARY KEY (host_id, label_id)
);

CREATE TABLE jobs (
    id @ID@,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    priority @INT@ NOT NULL DEFAULT 0,
    control_file TEXT NOT NULL,
    control_type TEXT NOT NULL,
    synch_count @INT@ NOT NULL DEFAULT 1,
    timeout_hrs @INT@ NOT NULL,
    max_runtime_hrs @INT@ NOT NULL,
    run_verify @INT@ NOT NULL DEFAULT 1,
    reboot_before TEXT NOT NULL DEFAULT 'If dirty',
    reboot_after TEXT NOT NULL DEFAULT 'Never',
    email_list TEXT NOT NULL DEFAULT '',
    created_on @INT@ NOT NULL
);

CREATE TABLE job_dependency_labels (
    job_id @INT@ NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    label_id @INT@ NOT NULL REFERENCES labels(id),
    PRIMARY KEY (job_id, label_id)
);

CREATE TABLE job_keyvals (
    job_id @INT@ NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (job_id, key)
);

CREATE TABLE host_queue_entries (
    id @ID@,
    job_id @INT@ NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    host_id @INT@ REFERENCES hosts(id),
    meta_host @INT@ REFERENCES labels(id),
    status TEXT NOT NULL DEFAULT 'Queued',
    active @INT@ NOT NULL DEFAULT 0,
    complete @INT@ NOT NULL DEFAULT 0,
    aborted @INT@ NOT NULL DEFAULT 0,
    execution_subdir TEXT NOT NULL DEFAULT '',
    started_on @INT@,
    finished_on @INT@,
    CHECK (host_id IS NOT NULL OR meta_host IS NOT NULL)
);
CREATE INDEX host_queue_entries_job ON host_queue_entries (job_id);
CREATE INDEX host_queue_entries_open ON host_queue_entries (complete, active);

CREATE TABLE aborted_host_queue_entries (
    queue_entry_id @INT@ PRIMARY KEY REFERENCES host_queue_entries(id) ON DELETE CASCADE,
    aborted_by TEXT NOT NULL,
    aborted_on @INT@ NOT NULL
);

CREATE TABLE ineligible_host_queues (
    job_id @INT@ NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    host_id @INT@ NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, host_id)
);

CREATE TABLE special_tasks (
    id @ID@,
    host_id @INT@ NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
    task TEXT NOT NULL,
    requested_by TEXT NOT NULL DEFAULT '',
    time_requested @INT@ NOT NULL,
    queue_entry_id @INT@ REFERENCES host_queue_entries(id) ON DELETE SET NULL,
    is_active @INT@ NOT NULL DEFAULT 0,
    is_complete @INT@ NOT NULL DEFAULT 0,
    success @INT@ NOT NULL DEFAULT 0,
    time_started @INT@,
    time_finished @INT@
);

CREATE TABLE drones (
    id @ID@,
    hostname TEXT NOT NULL UNIQUE,
    enabled @INT@ NOT NULL DEFAULT 1
);

-- Where a job's results are (FORMATS §10: found without probing hosts).
CREATE TABLE job_results_locations (
    job_id @INT@ PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    path TEXT NOT NULL
);

-- The results side (legacy TKO).

CREATE TABLE tko_machines (
    machine_idx @ID@,
    hostname TEXT NOT NULL UNIQUE,
    machine_group TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT ''
);

CREATE TABLE tko_kernels (
    kernel_idx @ID@,
    kernel_hash TEXT NOT NULL UNIQUE,
    base TEXT NOT NULL,
    printable TEXT NOT NULL
);

CREATE TABLE tko_patches (
    kernel_idx @INT@ NOT NULL REFERENCES tko_kernels(kernel_idx) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    hash TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kernel_idx, name)
);

CREATE TABLE tko_jobs (
    job_idx @ID@,
    tag TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    username TEXT NOT NULL DEFAULT '',
    machine_idx @INT@ NOT NULL REFERENCES tko_machines(machine_idx),
    status TEXT NOT NULL,
    queued_time @INT@,
    started_time @INT@,
    finished_time @INT@,
    afe_job_id @INT@
);

CREATE TABLE tko_job_keyvals (
    job_idx @INT@ NOT NULL REFERENCES tko_jobs(job_idx) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX tko_job_keyvals_job ON tko_job_keyvals (job_idx);

CREATE TABLE tko_tests (
    test_idx @ID@,
    job_idx @INT@ NOT NULL REFERENCES tko_jobs(job_idx) ON DELETE CASCADE,
    test TEXT NOT NULL,
    subdir TEXT NOT NULL DEFAULT '',
    kernel_idx @INT@ REFERENCES tko_kernels(kernel_idx),
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    machine_idx @INT@ NOT NULL REFERENCES tko_machines(machine_idx),
    started_time @INT@,
    finished_time @INT@,
    log_line @INT@ NOT NULL
);
CREATE INDEX tko_tests_job ON tko_tests (job_idx);

CREATE TABLE tko_test_attributes (
    test_idx @INT@ NOT NULL REFERENCES tko_tests(test_idx) ON DELETE CASCADE,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    user_created @INT@ NOT NULL DEFAULT 0
);
CREATE INDEX tko_test_attributes_test ON tko_test_attributes (test_idx);

CREATE TABLE tko_iteration_result (
    test_idx @INT@ NOT NULL REFERENCES tko_tests(test_idx) ON DELETE CASCADE,
    iteration @INT@ NOT NULL,
    attribute TEXT NOT NULL,
    value @FLOAT@ NOT NULL
);
CREATE INDEX tko_iteration_result_test ON tko_iteration_result (test_idx);

CREATE TABLE tko_iteration_attributes (
    test_idx @INT@ NOT NULL REFERENCES tko_tests(test_idx) ON DELETE CASCADE,
    iteration @INT@ NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX tko_iteration_attributes_test ON tko_iteration_attributes (test_idx);
