//! Typed views of the sections of `global_config.ini`, with the FORMATS §9 defaults.

use std::collections::BTreeMap;
use std::fmt;

use super::{ConfigError, GlobalConfig};

const SCHEDULER: &str = "SCHEDULER";
const AUTOTEST_WEB: &str = "AUTOTEST_WEB";
const AUTOSERV: &str = "AUTOSERV";
const HOSTS: &str = "HOSTS";

impl GlobalConfig {
    /// An unsigned integer with a default; a negative or too large value is an error.
    fn get_u32_or(&self, section: &str, key: &str, default: u32) -> Result<u32, ConfigError> {
        match self.get_int(section, key)? {
            None => Ok(default),
            Some(v) => u32::try_from(v).map_err(|_| {
                self.bad_value(
                    section,
                    key,
                    "a whole number from 0 to 4294967295",
                    &v.to_string(),
                )
            }),
        }
    }

    fn get_u64_or(&self, section: &str, key: &str, default: u64) -> Result<u64, ConfigError> {
        match self.get_int(section, key)? {
            None => Ok(default),
            Some(v) => u64::try_from(v).map_err(|_| {
                self.bad_value(section, key, "a non-negative integer", &v.to_string())
            }),
        }
    }

    /// A string; blank counts as unset.
    fn get_nonblank(&self, section: &str, key: &str) -> Result<Option<String>, ConfigError> {
        Ok(self
            .get_str(section, key)?
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty()))
    }

    /// The `[SCHEDULER]` settings.
    pub fn scheduler(&self) -> Result<SchedulerConfig, ConfigError> {
        SchedulerConfig::from_config(self)
    }

    /// The `[AUTOTEST_WEB]` settings.
    pub fn autotest_web(&self) -> Result<AutotestWebConfig, ConfigError> {
        AutotestWebConfig::from_config(self)
    }

    /// The `[AUTOSERV]` settings.
    pub fn autoserv(&self) -> Result<AutoservConfig, ConfigError> {
        AutoservConfig::from_config(self)
    }

    /// The `[HOSTS]` settings.
    pub fn hosts(&self) -> Result<HostsConfig, ConfigError> {
        HostsConfig::from_config(self)
    }
}

/// Per-drone settings from `<host>_max_processes`, `<host>_disabled`, `<host>_username`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DroneSettings {
    max_processes: Option<u32>,
    disabled: Option<bool>,
    username: Option<String>,
}

/// `[SCHEDULER]`: drones, the results repository and the scheduler's limits.
///
/// A drone or results host named `localhost` is used without SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// `drones`: machines that run autoserv processes (default `["localhost"]`).
    pub drones: Vec<String>,
    /// `results_host`: where results are gathered (default `localhost`).
    pub results_host: String,
    /// `archive_host`: where results may have been moved by hand (optional).
    pub archive_host: Option<String>,
    /// `drone_installation_directory`: where autotest is installed on drones
    /// (default `/usr/local/autotest`).
    pub drone_installation_directory: String,
    /// `max_processes_per_drone` (default 1000).
    pub max_processes_per_drone: u32,
    /// `max_jobs_started_per_cycle` (default 100).
    pub max_jobs_started_per_cycle: u32,
    /// `max_parse_processes` (default 5).
    pub max_parse_processes: u32,
    /// `max_transfer_processes` (default 50).
    pub max_transfer_processes: u32,
    /// `tick_pause_sec`: seconds between scheduler cycles (default 5).
    pub tick_pause_sec: u64,
    /// `clean_interval_minutes` (default 60).
    pub clean_interval_minutes: u64,
    /// `pidfile_timeout_mins`: how long to wait for a pidfile to appear (default 300).
    pub pidfile_timeout_mins: u64,
    /// Lower-case host -> its per-drone settings.
    drone_settings: BTreeMap<String, DroneSettings>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            drones: vec!["localhost".to_owned()],
            results_host: "localhost".to_owned(),
            archive_host: None,
            drone_installation_directory: "/usr/local/autotest".to_owned(),
            max_processes_per_drone: 1000,
            max_jobs_started_per_cycle: 100,
            max_parse_processes: 5,
            max_transfer_processes: 50,
            tick_pause_sec: 5,
            clean_interval_minutes: 60,
            pidfile_timeout_mins: 300,
            drone_settings: BTreeMap::new(),
        }
    }
}

impl SchedulerConfig {
    /// Reads `[SCHEDULER]`, every per-drone option included, so a bad value anywhere in the
    /// section is reported now rather than when that drone is first used.
    pub fn from_config(config: &GlobalConfig) -> Result<SchedulerConfig, ConfigError> {
        let d = SchedulerConfig::default();
        let s = SCHEDULER;
        let mut drone_settings: BTreeMap<String, DroneSettings> = BTreeMap::new();
        for key in config.options(s) {
            if let Some(host) = key.strip_suffix("_max_processes").filter(|h| !h.is_empty()) {
                // Blank falls back to max_processes_per_drone.
                drone_settings
                    .entry(host.to_owned())
                    .or_default()
                    .max_processes = match config.get_int(s, key)? {
                    None => None,
                    Some(v) => Some(u32::try_from(v).map_err(|_| {
                        config.bad_value(s, key, "a whole number of processes", &v.to_string())
                    })?),
                };
            } else if let Some(host) = key.strip_suffix("_disabled").filter(|h| !h.is_empty()) {
                drone_settings.entry(host.to_owned()).or_default().disabled =
                    config.get_bool(s, key)?;
            } else if let Some(host) = key.strip_suffix("_username").filter(|h| !h.is_empty()) {
                drone_settings.entry(host.to_owned()).or_default().username =
                    config.get_nonblank(s, key)?;
            }
        }
        let max_processes_per_drone =
            config.get_u32_or(s, "max_processes_per_drone", d.max_processes_per_drone)?;
        Ok(SchedulerConfig {
            drones: config.get_list(s, "drones")?.unwrap_or(d.drones),
            results_host: config
                .get_nonblank(s, "results_host")?
                .unwrap_or(d.results_host),
            archive_host: config.get_nonblank(s, "archive_host")?,
            drone_installation_directory: config
                .get_nonblank(s, "drone_installation_directory")?
                .unwrap_or(d.drone_installation_directory),
            max_processes_per_drone,
            max_jobs_started_per_cycle: config.get_u32_or(
                s,
                "max_jobs_started_per_cycle",
                d.max_jobs_started_per_cycle,
            )?,
            max_parse_processes: config.get_u32_or(
                s,
                "max_parse_processes",
                d.max_parse_processes,
            )?,
            max_transfer_processes: config.get_u32_or(
                s,
                "max_transfer_processes",
                d.max_transfer_processes,
            )?,
            tick_pause_sec: config.get_u64_or(s, "tick_pause_sec", d.tick_pause_sec)?,
            clean_interval_minutes: config.get_u64_or(
                s,
                "clean_interval_minutes",
                d.clean_interval_minutes,
            )?,
            pidfile_timeout_mins: config.get_u64_or(
                s,
                "pidfile_timeout_mins",
                d.pidfile_timeout_mins,
            )?,
            drone_settings,
        })
    }

    fn drone(&self, host: &str) -> Option<&DroneSettings> {
        self.drone_settings.get(&host.to_lowercase())
    }

    /// `<host>_max_processes`, or `max_processes_per_drone` when not set.
    pub fn drone_max_processes(&self, host: &str) -> u32 {
        self.drone(host)
            .and_then(|d| d.max_processes)
            .unwrap_or(self.max_processes_per_drone)
    }

    /// `<host>_disabled` (default false): a disabled drone gets no new processes.
    pub fn drone_disabled(&self, host: &str) -> bool {
        self.drone(host).and_then(|d| d.disabled).unwrap_or(false)
    }

    /// `<host>_username`: the SSH user for that drone, when set.
    pub fn drone_username(&self, host: &str) -> Option<&str> {
        self.drone(host).and_then(|d| d.username.as_deref())
    }
}

/// `[AUTOTEST_WEB]`: the frontend database. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct AutotestWebConfig {
    /// `host`: the database server.
    pub host: Option<String>,
    /// `database`: the database name.
    pub database: Option<String>,
    /// `db_type`, e.g. `mysql`, `sqlite`, `postgresql`.
    pub db_type: Option<String>,
    /// `user`.
    pub user: Option<String>,
    /// `password` (may be blank).
    pub password: Option<String>,
    /// `job_timeout_default`: hours before a job times out (default 72).
    pub job_timeout_default: u64,
    /// `job_max_runtime_hrs_default`: hours a job may run (default 72).
    pub job_max_runtime_hrs_default: u64,
}

impl Default for AutotestWebConfig {
    fn default() -> Self {
        AutotestWebConfig {
            host: None,
            database: None,
            db_type: None,
            user: None,
            password: None,
            job_timeout_default: 72,
            job_max_runtime_hrs_default: 72,
        }
    }
}

impl fmt::Debug for AutotestWebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutotestWebConfig")
            .field("host", &self.host)
            .field("database", &self.database)
            .field("db_type", &self.db_type)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("job_timeout_default", &self.job_timeout_default)
            .field(
                "job_max_runtime_hrs_default",
                &self.job_max_runtime_hrs_default,
            )
            .finish()
    }
}

impl AutotestWebConfig {
    /// Reads `[AUTOTEST_WEB]`.
    pub fn from_config(config: &GlobalConfig) -> Result<AutotestWebConfig, ConfigError> {
        let d = AutotestWebConfig::default();
        let s = AUTOTEST_WEB;
        Ok(AutotestWebConfig {
            host: config.get_nonblank(s, "host")?,
            database: config.get_nonblank(s, "database")?,
            db_type: config.get_nonblank(s, "db_type")?,
            user: config.get_nonblank(s, "user")?,
            // A blank password is a real (empty) password.
            password: config.get_str(s, "password")?.map(|p| p.trim().to_owned()),
            job_timeout_default: config.get_u64_or(
                s,
                "job_timeout_default",
                d.job_timeout_default,
            )?,
            job_max_runtime_hrs_default: config.get_u64_or(
                s,
                "job_max_runtime_hrs_default",
                d.job_max_runtime_hrs_default,
            )?,
        })
    }
}

/// `[AUTOSERV]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoservConfig {
    /// `client_autodir_paths`: where to look for (or install) autotest on machines under test,
    /// in order (default `/usr/local/autotest`, `/home/autotest`).
    pub client_autodir_paths: Vec<String>,
    /// `kernel_mirror_dir`: a kernel.org-layout directory on the server from which the kernel
    /// sources a client control file names are copied to the machine (default: none).
    pub kernel_mirror_dir: Option<String>,
}

impl Default for AutoservConfig {
    fn default() -> Self {
        AutoservConfig {
            client_autodir_paths: vec![
                "/usr/local/autotest".to_owned(),
                "/home/autotest".to_owned(),
            ],
            kernel_mirror_dir: None,
        }
    }
}

impl AutoservConfig {
    /// Reads `[AUTOSERV]`.
    pub fn from_config(config: &GlobalConfig) -> Result<AutoservConfig, ConfigError> {
        Ok(AutoservConfig {
            client_autodir_paths: config
                .get_list(AUTOSERV, "client_autodir_paths")?
                .unwrap_or_else(|| AutoservConfig::default().client_autodir_paths),
            kernel_mirror_dir: config.get_nonblank(AUTOSERV, "kernel_mirror_dir")?,
        })
    }
}

/// `[HOSTS]`: reboot timeouts, in seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsConfig {
    /// `default_reboot_timeout`: seconds a machine may take to come back up (default 1800).
    pub default_reboot_timeout: u64,
    /// `wait_down_reboot_timeout`: seconds a machine may take to go down (default 840).
    pub wait_down_reboot_timeout: u64,
}

impl Default for HostsConfig {
    fn default() -> Self {
        HostsConfig {
            default_reboot_timeout: 1800,
            wait_down_reboot_timeout: 840,
        }
    }
}

impl HostsConfig {
    /// Reads `[HOSTS]`.
    pub fn from_config(config: &GlobalConfig) -> Result<HostsConfig, ConfigError> {
        let d = HostsConfig::default();
        Ok(HostsConfig {
            default_reboot_timeout: config.get_u64_or(
                HOSTS,
                "default_reboot_timeout",
                d.default_reboot_timeout,
            )?,
            wait_down_reboot_timeout: config.get_u64_or(
                HOSTS,
                "wait_down_reboot_timeout",
                d.wait_down_reboot_timeout,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_gives_defaults() {
        let c = GlobalConfig::default();
        assert_eq!(c.scheduler().unwrap(), SchedulerConfig::default());
        assert_eq!(c.autotest_web().unwrap(), AutotestWebConfig::default());
        assert_eq!(c.autoserv().unwrap(), AutoservConfig::default());
        assert_eq!(c.hosts().unwrap(), HostsConfig::default());
        let s = c.scheduler().unwrap();
        assert_eq!(s.drone_max_processes("any"), 1000);
        assert!(!s.drone_disabled("any"));
        assert_eq!(s.drone_username("any"), None);
    }

    #[test]
    fn per_drone_settings() {
        let c = GlobalConfig::parse(
            "[SCHEDULER]\nmax_processes_per_drone: 20\ndrones: d1, D2.lab\nd1_max_processes: 5\nD2.lab_disabled: yes\nd2.lab_username: autotest\nd3_max_processes:\n",
            "g.ini",
        )
        .unwrap();
        let s = c.scheduler().unwrap();
        assert_eq!(s.drones, vec!["d1", "D2.lab"]);
        assert_eq!(s.drone_max_processes("d1"), 5);
        assert_eq!(s.drone_max_processes("D2.lab"), 20);
        assert_eq!(s.drone_max_processes("d3"), 20);
        assert!(s.drone_disabled("d2.lab"));
        assert!(!s.drone_disabled("d1"));
        assert_eq!(s.drone_username("D2.LAB"), Some("autotest"));
    }

    #[test]
    fn negative_counts_are_rejected() {
        let c = GlobalConfig::parse("[SCHEDULER]\ntick_pause_sec = -1\n", "g.ini").unwrap();
        let err = c.scheduler().unwrap_err().to_string();
        assert!(err.contains("g.ini:2: [SCHEDULER] tick_pause_sec"), "{err}");
        assert!(err.contains("got '-1'"), "{err}");
        let c = GlobalConfig::parse("[SCHEDULER]\nx_max_processes = -1\n", "g.ini").unwrap();
        assert!(c.scheduler().is_err());
    }

    #[test]
    fn password_is_hidden() {
        let c = GlobalConfig::parse("[AUTOTEST_WEB]\npassword = s3cret\n", "g.ini").unwrap();
        let w = c.autotest_web().unwrap();
        assert_eq!(w.password.as_deref(), Some("s3cret"));
        assert!(!format!("{w:?}").contains("s3cret"));
    }
}
