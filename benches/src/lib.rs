//! Benchmarks live in benches/.

#![warn(missing_docs)]
