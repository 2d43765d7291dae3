//! A lab database for one test on either backend, and the macro that runs a case on both.

use autotest_core::store::{DbUrl, Store};
use autotest_testlab::postgres::PgServer;

/// A database for one test, with what keeps it alive.
pub struct TestDb {
    pub url: DbUrl,
    _dir: tempfile::TempDir,
    _pg: Option<PgServer>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = DbUrl::sqlite(dir.path().join("lab.db"), "test");
        TestDb {
            url,
            _dir: dir,
            _pg: None,
        }
    }

    /// None only outside CI when PostgreSQL is not installed (the fixture fails loudly in CI).
    pub fn postgres(name: &str) -> Option<TestDb> {
        let pg = PgServer::start()?;
        let url = DbUrl::parse(&pg.create_database(name), "test").unwrap();
        Some(TestDb {
            url,
            _dir: tempfile::tempdir().unwrap(),
            _pg: Some(pg),
        })
    }

    pub async fn migrated(&self) -> Store {
        Store::migrate(&self.url).await.unwrap().0
    }
}

/// Each case runs on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($case:ident),+ $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$case($crate::support::lab_db::TestDb::sqlite()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::support::lab_db::TestDb::postgres(stringify!($case)) {
                        super::$case(db).await;
                    }
                }
            }
        )+
    };
}
