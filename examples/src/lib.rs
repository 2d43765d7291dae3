//! Runnable examples live beside this crate.

#![warn(missing_docs)]
