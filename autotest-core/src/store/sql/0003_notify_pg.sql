-- Version 3 (PostgreSQL): every write that can change what the scheduler decides NOTIFYs the
-- channel `autotest_scheduler`, whoever the writer is (this build, another front end, psql), so
-- the scheduler LISTENs instead of ticking. One notification per statement, not per row: a
-- bulk insert of 10,000 entries wakes it once, and PostgreSQL folds identical notifications of
-- one transaction into one.
CREATE FUNCTION autotest_scheduler_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('autotest_scheduler', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OR DELETE ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION autotest_scheduler_notify();
CREATE TRIGGER host_queue_entries_notify AFTER INSERT OR UPDATE OR DELETE ON host_queue_entries
    FOR EACH STATEMENT EXECUTE FUNCTION autotest_scheduler_notify();
CREATE TRIGGER aborted_host_queue_entries_notify AFTER INSERT OR UPDATE OR DELETE ON aborted_host_queue_entries
    FOR EACH STATEMENT EXECUTE FUNCTION autotest_scheduler_notify();
CREATE TRIGGER hosts_notify AFTER INSERT OR UPDATE OR DELETE ON hosts
    FOR EACH STATEMENT EXECUTE FUNCTION autotest_scheduler_notify();
CREATE TRIGGER host_labels_notify AFTER INSERT OR UPDATE OR DELETE ON host_labels
    FOR EACH STATEMENT EXECUTE FUNCTION autotest_scheduler_notify();
CREATE TRIGGER special_tasks_notify AFTER INSERT OR UPDATE OR DELETE ON special_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION autotest_scheduler_notify();
CREATE TRIGGER drones_notify AFTER INSERT OR UPDATE OR DELETE ON drones
    FOR EACH STATEMENT EXECUTE FUNCTION autotest_scheduler_notify();
