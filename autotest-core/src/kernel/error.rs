/// Errors of the kernel helpers.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// A kernel version this project cannot map onto kernel.org file names.
    #[error(
        "kernel version {version:?} is not understood ({why}): give a release like 6.1, 6.1.5 or 6.8-rc3, a tarball path or a URL"
    )]
    BadVersion {
        /// The version as given.
        version: String,
        /// What is wrong with it.
        why: String,
    },
    /// A `config_list` entry that is not a kernel config option.
    #[error(
        "config_list entry {index} {entry:?} is not a kernel config option: write CONFIG_NAME=value (y, m, n, a number or a \"string\") or '# CONFIG_NAME is not set'"
    )]
    BadConfigOption {
        /// 1-based position in the list.
        index: usize,
        /// The entry.
        entry: String,
    },
    /// A mirror directory could not be read.
    #[error("kernel mirror {path}: {reason}: check [AUTOSERV] kernel_mirror_dir / --kernel-mirror")]
    Mirror {
        /// The directory.
        path: std::path::PathBuf,
        /// The cause.
        reason: String,
    },
}
