//! The lab database: hosts, labels, jobs and their host queue entries (the frontend side), and
//! parsed results (the TKO side), in SQLite or PostgreSQL behind one code path (sqlx `Any`).
//!
//! [`resolve_db`] finds the database, [`Store::migrate`] brings its schema to this build's
//! version, [`Store::open`] refuses a database of another version, and the methods of
//! [`Store`] read and write it. Booleans are stored as 0/1 and timestamps as UTC epoch seconds.

/// Defines an enum stored as its legacy text, with `as_str` and `parse`.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident, $column:literal { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (legacy) text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value of a stored text.
            pub fn parse(text: &str) -> Result<$name, crate::store::StoreError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::store::StoreError::BadValue {
                        column: $column,
                        value: text.to_owned(),
                        expected: concat!($($text, ", "),+),
                    }),
                }
            }
        }

        // JSON shows the stored (legacy) text, as the tables do.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod connect;
mod error;
mod export;
mod host_queries;
mod hosts;
mod jobs;
mod migrations;
mod parse;
mod prune;
mod queries;
mod scheduling;
mod submit;
mod tko;
mod web;

use sqlx::AnyPool;

pub use connect::{
    Backend, DB_ENV, DEFAULT_DB_FILE, DbUrl, default_db_file, resolve_db, resolve_db_with,
};
pub use error::StoreError;
pub use export::{
    JobExport, KCIDB_ORIGIN, KCIDB_VERSION, MachineExport, TestExport, junit_xml, kcidb_json,
    kcidb_status, rfc3339_utc, xml_escape,
};
pub use host_queries::{
    HostAttribute, HostDetails, HostFilter, HostListing, LabelListing, NewHost, RECENT_TASKS,
    utc_text,
};
pub use hosts::{Drone, Host, HostStatus, Label, NewLabel, Protection};
pub use jobs::{
    ControlType, EntryStatus, Job, NewJob, NewSpecialTask, QueueEntry, RebootAfter, RebootBefore,
    ResultsLocation, SpecialTask, SpecialTaskKind,
};
pub use migrations::{NOTIFY_CHANNEL, SCHEMA_VERSION};
pub use parse::{PARSE_LOCK_FILE, ParseProblem, ParseReport, ParsedJobReport, read_results_dir};
pub use prune::{KeptTree, PRUNE_BATCH, PruneOptions, PruneReport, parse_age};
pub use queries::{
    DEFAULT_LIST_LIMIT, EntryDetail, JobFilter, JobRow, JobStat, ResultFilter, ResultPerf,
    TestResult, format_utc,
};
pub use scheduling::StartOutcome;
pub use submit::{
    CHECK_CONTROL_MODULE, HostSpec, Priority, client_python, current_user, read_control_file,
};
pub use tko::{
    KernelPatches, ParsedIteration, ParsedJob, ParsedTest, RowCounts, TkoIteration, TkoJob,
    TkoKernel, TkoTest,
};
pub use web::{ApiToken, JobPage, LabMetrics, hash_token};

/// An open lab database whose schema is this build's.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    url: DbUrl,
}

/// What [`Store::migrate`] did (the shape of `autotest db migrate --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    /// The version before (0: a new database).
    pub from: i64,
    /// The version now ([`SCHEMA_VERSION`]).
    pub to: i64,
}

impl Store {
    /// Opens the database, refusing one whose schema is not [`SCHEMA_VERSION`] (a newer one is
    /// never changed; an older one needs `autotest db migrate`).
    pub async fn open(url: &DbUrl) -> Result<Store, StoreError> {
        let pool = connect::connect_pool(url).await?;
        let found = migrations::applied_version(&pool, url.backend()).await?;
        let build = SCHEMA_VERSION;
        if found > build {
            pool.close().await;
            return Err(StoreError::NewerSchema {
                url: url.to_string(),
                database: found,
                build,
            });
        }
        if found < build {
            pool.close().await;
            return Err(StoreError::OlderSchema {
                url: url.to_string(),
                database: found,
                build,
            });
        }
        Ok(Store {
            pool,
            url: url.clone(),
        })
    }

    /// Applies the migrations this build has and the database lacks, then opens it. A database
    /// from a newer build is refused before anything is written.
    pub async fn migrate(url: &DbUrl) -> Result<(Store, Migrated), StoreError> {
        let (pool, m) = Store::migrate_pool(url, SCHEMA_VERSION).await?;
        let store = Store {
            pool,
            url: url.clone(),
        };
        Ok((store, m))
    }

    /// Brings the schema to `version` exactly, not beyond (a staged upgrade, or a test that
    /// needs a database as an older build left it). Refuses a version this build does not
    /// have, and a database already past it (nothing is changed then).
    pub async fn migrate_to(url: &DbUrl, version: i64) -> Result<Migrated, StoreError> {
        if !(1..=SCHEMA_VERSION).contains(&version) {
            return Err(StoreError::Invalid(format!(
                "schema version {version} does not exist: this build has versions 1 to {SCHEMA_VERSION}"
            )));
        }
        let (pool, m) = Store::migrate_pool(url, version).await?;
        pool.close().await;
        Ok(m)
    }

    async fn migrate_pool(url: &DbUrl, upto: i64) -> Result<(AnyPool, Migrated), StoreError> {
        let pool = connect::connect_pool(url).await?;
        let from = migrations::applied_version(&pool, url.backend()).await?;
        if from > upto && upto < SCHEMA_VERSION && from <= SCHEMA_VERSION {
            pool.close().await;
            return Err(StoreError::Invalid(format!(
                "{url} is at schema version {from} already, past {upto}: schemas are never taken back (nothing was changed)"
            )));
        }
        if from > SCHEMA_VERSION {
            pool.close().await;
            return Err(StoreError::NewerSchema {
                url: url.to_string(),
                database: from,
                build: SCHEMA_VERSION,
            });
        }
        migrations::migrator(url.backend(), upto)
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                url: url.to_string(),
                source,
            })?;
        Ok((pool, Migrated { from, to: upto }))
    }

    /// Where the database is.
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The schema version recorded in the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::applied_version(&self.pool, self.url.backend()).await
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that writes. SQLite's takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a deferred one that reads first fails "database is locked" at its first write, without
    /// waiting out the busy timeout, whenever another process is writing.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.url().backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool().begin().await,
        }
    }
}

/// Now, in UTC epoch seconds.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A stored 0/1 as a bool.
pub(crate) fn flag(v: i64) -> bool {
    v != 0
}

/// A bool as a stored 0/1.
pub(crate) fn bit(b: bool) -> i64 {
    i64::from(b)
}
