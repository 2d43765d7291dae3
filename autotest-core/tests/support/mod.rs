//! Fixtures shared by the integration tests of autotest-core.

pub mod lab_db;
