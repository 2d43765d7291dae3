//! Where the lab database is (`--db`, `AUTOTEST_DB`, `[AUTOTEST_WEB]`, the default file) and
//! connecting to it. One resolution for every front end.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

use super::error::StoreError;
use crate::GlobalConfig;

/// The environment variable that names the database when `--db` is not given.
pub const DB_ENV: &str = "AUTOTEST_DB";

/// The default SQLite file, below the user's data directory.
pub const DEFAULT_DB_FILE: &str = "autotest/lab.db";

/// How long an SQLite writer waits for another (a second parser, the scheduler) before failing.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 30_000;

/// The two backends, behind one code path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (WAL, a busy timeout): the embedded default.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A database location: the URL sqlx connects to and where it came from.
///
/// Its [`Display`](fmt::Display) hides any password.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    backend: Backend,
    /// For SQLite: the file; for PostgreSQL: the full URL (password included).
    target: String,
    origin: String,
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({self}, from {})", self.origin)
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite:{}", self.target),
            Backend::Postgres => f.write_str(&hide_password(&self.target)),
        }
    }
}

impl DbUrl {
    /// Parses `sqlite:<file>` (also `sqlite://<file>`) or `postgres://...` (`postgresql://`);
    /// `origin` says where the URL came from, for messages.
    pub fn parse(url: &str, origin: &str) -> Result<DbUrl, StoreError> {
        let url = url.trim();
        let bad = || StoreError::BadUrl {
            url: hide_password(url),
            from: origin.to_owned(),
        };
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let file = rest.strip_prefix("//").unwrap_or(rest);
            // Options in the URL would be silently dropped: WAL and the busy timeout are ours.
            if file.is_empty() || file.contains('?') || file.starts_with(":memory:") {
                return Err(bad());
            }
            return Ok(DbUrl::sqlite(file, origin));
        }
        if let Some(rest) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        {
            if rest.is_empty() || rest.starts_with('/') {
                return Err(bad());
            }
            return Ok(DbUrl {
                backend: Backend::Postgres,
                target: format!("postgres://{rest}"),
                origin: origin.to_owned(),
            });
        }
        Err(bad())
    }

    /// An SQLite file.
    pub fn sqlite(file: impl AsRef<Path>, origin: &str) -> DbUrl {
        DbUrl {
            backend: Backend::Sqlite,
            target: file.as_ref().to_string_lossy().into_owned(),
            origin: origin.to_owned(),
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where the location came from (`--db`, `AUTOTEST_DB`, a config file, the default).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The SQLite file, for an SQLite database.
    pub fn sqlite_file(&self) -> Option<&Path> {
        (self.backend == Backend::Sqlite).then(|| Path::new(&self.target))
    }

    /// The PostgreSQL URL (password included), for the scheduler's own dedicated connections
    /// (its LISTEN and its advisory lock) that cannot come from the shared pool.
    pub(crate) fn postgres_url(&self) -> Option<&str> {
        (self.backend == Backend::Postgres).then_some(self.target.as_str())
    }

    /// The URL sqlx connects to.
    fn connect_url(&self) -> String {
        match self.backend {
            // mode=rwc: the file is created on first use.
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", self.target),
            Backend::Postgres => self.target.clone(),
        }
    }
}

/// Finds the lab database: `explicit` (`--db`), else the `AUTOTEST_DB` environment variable,
/// else `[AUTOTEST_WEB]` of `config`, else [`default_db_file`]. Every front end calls this.
pub fn resolve_db(
    explicit: Option<&str>,
    config: Option<&GlobalConfig>,
) -> Result<DbUrl, StoreError> {
    let env = std::env::var(DB_ENV).ok().filter(|v| !v.trim().is_empty());
    resolve_db_with(explicit, env.as_deref(), config, &default_db_file())
}

/// [`resolve_db`] with the environment value and the default file given (for tests).
pub fn resolve_db_with(
    explicit: Option<&str>,
    env: Option<&str>,
    config: Option<&GlobalConfig>,
    default_file: &Path,
) -> Result<DbUrl, StoreError> {
    if let Some(url) = explicit {
        return DbUrl::parse(url, "--db");
    }
    if let Some(url) = env {
        return DbUrl::parse(url, DB_ENV);
    }
    if let Some(config) = config
        && let Some(url) = from_config(config)?
    {
        return Ok(url);
    }
    Ok(DbUrl::sqlite(default_file, "the default location"))
}

/// The default SQLite file: `$XDG_DATA_HOME/autotest/lab.db`, else
/// `$HOME/.local/share/autotest/lab.db`, else `autotest/lab.db` in the current directory.
pub fn default_db_file() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_default();
    base.join(DEFAULT_DB_FILE)
}

/// The database `[AUTOTEST_WEB]` describes (legacy keys `db_type`, `host`, `database`, `user`,
/// `password`), or none when the section names none.
fn from_config(config: &GlobalConfig) -> Result<Option<DbUrl>, StoreError> {
    let web = config.autotest_web().map_err(|e| StoreError::BadConfig {
        path: config.global_path().to_owned(),
        problem: e.to_string(),
    })?;
    let file_of = |key: &str| {
        config
            .origin("AUTOTEST_WEB", key)
            .unwrap_or(config.global_path())
            .to_owned()
    };
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (db_type, host, database) = (
        nonempty(&web.db_type),
        nonempty(&web.host),
        nonempty(&web.database),
    );
    let Some(db_type) = db_type else {
        if database.is_some() || host.is_some() {
            return Err(StoreError::BadConfig {
                path: file_of(if database.is_some() { "database" } else { "host" }),
                problem: "names a database but no db_type: add `db_type: sqlite` or `db_type: postgresql`".into(),
            });
        }
        return Ok(None);
    };
    let origin = |key: &str| format!("{} [AUTOTEST_WEB] {key}", file_of(key).display());
    match db_type.to_ascii_lowercase().as_str() {
        "sqlite" | "sqlite3" => {
            let Some(database) = database else {
                return Err(StoreError::BadConfig {
                    path: file_of("db_type"),
                    problem: "db_type is sqlite but database is not set: set `database:` to the SQLite file".into(),
                });
            };
            // A relative file is relative to the config file that names it, not to the cwd.
            let file = file_of("database")
                .parent()
                .map(|d| d.join(&database))
                .unwrap_or_else(|| database.clone().into());
            let file = if Path::new(&database).is_absolute() {
                PathBuf::from(&database)
            } else {
                file
            };
            Ok(Some(DbUrl::sqlite(file, &origin("database"))))
        }
        "postgresql" | "postgres" => {
            let (Some(host), Some(database)) = (host, database) else {
                return Err(StoreError::BadConfig {
                    path: file_of("db_type"),
                    problem: "db_type is postgresql but host or database is not set: set `host:` (host or host:port) and `database:`".into(),
                });
            };
            let mut url = String::from("postgres://");
            if let Some(user) = nonempty(&web.user) {
                url.push_str(&percent_encode(&user));
                if let Some(pw) = web.password.as_deref().filter(|p| !p.is_empty()) {
                    url.push(':');
                    url.push_str(&percent_encode(pw));
                }
                url.push('@');
            }
            url.push_str(&host);
            url.push('/');
            url.push_str(&percent_encode(&database));
            Ok(Some(DbUrl {
                backend: Backend::Postgres,
                target: url,
                origin: origin("db_type"),
            }))
        }
        other => Err(StoreError::BadConfig {
            path: file_of("db_type"),
            problem: format!(
                "db_type {other:?} is not supported: use `db_type: sqlite` (a file) or `db_type: postgresql`"
            ),
        }),
    }
}

/// Percent-encodes everything but unreserved URL characters (user names, passwords).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Opens a pool on `url`: SQLite in WAL mode with a busy timeout (its directory created), or
/// PostgreSQL. No schema check: see [`super::Store::open`].
pub(crate) async fn connect_pool(url: &DbUrl) -> Result<AnyPool, StoreError> {
    install_default_drivers();
    let err = |source| StoreError::Connect {
        url: url.to_string(),
        source,
    };
    let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(60));
    let pool = match url.backend {
        Backend::Sqlite => {
            if let Some(dir) = Path::new(&url.target)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| err(sqlx::Error::Io(e)))?;
            }
            options
                .max_connections(4)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"
                        )))
                        .await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        Ok(())
                    })
                })
                .connect(&url.connect_url())
                .await
        }
        Backend::Postgres => options.max_connections(8).connect(&url.connect_url()).await,
    };
    pool.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            hide_password("postgres://lab:s3cr@t@db:5432/lab"),
            "postgres://lab:***@db:5432/lab"
        );
        assert_eq!(
            hide_password("postgres://lab@db/lab"),
            "postgres://lab@db/lab"
        );
        let url = DbUrl::parse("postgresql://u:pw@h/d", "--db").unwrap();
        assert_eq!(url.to_string(), "postgres://u:***@h/d");
        assert!(!format!("{url:?}").contains("pw"));
    }

    #[test]
    fn urls_are_parsed_or_refused() {
        assert_eq!(
            DbUrl::parse("sqlite:///tmp/x.db", "--db")
                .unwrap()
                .sqlite_file(),
            Some(Path::new("/tmp/x.db"))
        );
        assert_eq!(
            DbUrl::parse("sqlite:rel.db", "--db").unwrap().sqlite_file(),
            Some(Path::new("rel.db"))
        );
        for bad in [
            "mysql://h/d",
            "/tmp/x.db",
            "sqlite:",
            "sqlite::memory:",
            "postgres:///x",
        ] {
            let e = DbUrl::parse(bad, "AUTOTEST_DB").unwrap_err().to_string();
            assert!(
                e.contains("AUTOTEST_DB") && e.contains("use sqlite:"),
                "{e}"
            );
        }
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("a b@c:d"), "a%20b%40c%3Ad");
    }
}
