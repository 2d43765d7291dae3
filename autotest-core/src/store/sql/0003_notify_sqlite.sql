-- Version 3 (SQLite): nothing. PostgreSQL's version 3 adds NOTIFY triggers; SQLite has no
-- NOTIFY, and the scheduler wakes on writes to the database file instead (see
-- `scheduler::wake_on_sqlite_writes`). This keeps the two backends' versions aligned.
SELECT 1;
