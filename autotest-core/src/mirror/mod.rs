//! The mirror (seed 1, FORMATS §8): new kernel releases become queued jobs.
//!
//! One run ([`run_mirror_once`]): take the state lock, read the clients file and the config
//! mapping, sync the release files with `rsync` into the mirror directory, find the releases
//! present there that the state file does not know, and for each, drop one file per control file
//! into each mapped queue, then mail the list. [`run_mirror_every`] repeats runs until told to stop.
//!
//! The state file is what makes this safe to re-run and to crash: releases present before the
//! very first run are recorded as already handled; a new release is recorded as pending, with the
//! names of its queue files, before any file is written; each file is written under a hidden
//! temporary name, fsynced and recorded as written, then renamed into its queue; the release is
//! recorded as handled only after all its renames. A run after a crash finishes what the state
//! says is pending: a planned file is written again, a written file whose temporary name is
//! gone was renamed already (and may have been run by the queue's monitor), so it is not
//! dropped twice.

mod clients;
mod configs;
mod error;
mod mail;
mod release;
mod run;
mod state;
mod sync;
mod wrap;

pub use clients::{ClientsEntry, parse_clients};
pub use configs::{ConfigMap, DEFAULT_KERNEL_CONFIG, KernelConfig};
pub use error::{MirrorError, MirrorProblem};
pub use mail::{DEFAULT_SMTP_SERVER, parse_recipients, release_mail_body, send_release_mail};
pub use release::{DEFAULT_RELEASE_PATTERNS, ReleasePatterns};
pub use run::{CRASH_ENV, MirrorOptions, MirrorReport, run_mirror_every, run_mirror_once};
pub use state::{FileStage, MIRROR_STATE_FILE, MirrorState, PendingRelease, PlannedFile};
pub use sync::{DEFAULT_FILTERS, DEFAULT_SOURCE, sync_releases};
pub use wrap::{KernelJob, preamble, wrap_client_control, wrap_server_control};
