//! Fixtures shared by autotest-core's integration tests.

pub mod postgres;
