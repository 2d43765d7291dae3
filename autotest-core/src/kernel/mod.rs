//! Kernels on the machine under test (FORMATS §5 `job.kernel`): which files a release version
//! needs (kernel.org layout), merging `config_list` options into a `.config`, the GRUB 2 entry
//! and kernel command line of a one-time boot, and what a control file asks for (so autoserv can
//! copy the files from its mirror before the client starts).
//!
//! Pure functions over text and names: the client (Python glue) runs the tools, autoserv does
//! the copying through its transport.

mod boot;
mod config;
mod control_refs;
mod error;
mod mirror;
mod version;

pub use boot::{BootEntry, boot_cmdline, grub_custom_cfg, running_kernel};
pub use config::{ConfigOption, config_mismatches, merge_config, parse_config_list};
pub use control_refs::{KernelRefs, kernel_refs};
pub use error::KernelError;
pub use mirror::{MirrorIndex, find_kernel_files};
pub use version::{KernelVersion, SourceFile, SourceKind, source_plans};
