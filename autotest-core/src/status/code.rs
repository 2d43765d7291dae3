//! Status codes of the legacy status log and their severity order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The result part of a status line (`GOOD`, `FAIL`, ...); `START` and `INFO` are not results
/// and live in [`StatusLineKind`](crate::status::StatusLineKind).
///
/// Variants are declared worst first, so the derived `Ord` is the legacy severity order:
/// a smaller value is worse. Use [`StatusCode::worst`] to roll statuses up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StatusCode {
    /// The test does not apply to this machine (legacy tko ranks it worst of all).
    #[serde(rename = "TEST_NA")]
    TestNa,
    /// The job or test was aborted.
    #[serde(rename = "ABORT")]
    Abort,
    /// The test could not run properly.
    #[serde(rename = "ERROR")]
    Error,
    /// The test ran and failed.
    #[serde(rename = "FAIL")]
    Fail,
    /// The test passed with a warning.
    #[serde(rename = "WARN")]
    Warn,
    /// The test passed.
    #[serde(rename = "GOOD")]
    Good,
    /// A bug was noted.
    #[serde(rename = "BUG")]
    Bug,
    /// An alert was raised.
    #[serde(rename = "ALERT")]
    Alert,
    /// Still running.
    #[serde(rename = "RUNNING")]
    Running,
    /// No status recorded.
    #[serde(rename = "NOSTATUS")]
    NoStatus,
}

impl StatusCode {
    /// Every code, worst first.
    pub const ALL: [StatusCode; 10] = [
        StatusCode::TestNa,
        StatusCode::Abort,
        StatusCode::Error,
        StatusCode::Fail,
        StatusCode::Warn,
        StatusCode::Good,
        StatusCode::Bug,
        StatusCode::Alert,
        StatusCode::Running,
        StatusCode::NoStatus,
    ];

    /// The legacy spelling, as written in status logs.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::TestNa => "TEST_NA",
            StatusCode::Abort => "ABORT",
            StatusCode::Error => "ERROR",
            StatusCode::Fail => "FAIL",
            StatusCode::Warn => "WARN",
            StatusCode::Good => "GOOD",
            StatusCode::Bug => "BUG",
            StatusCode::Alert => "ALERT",
            StatusCode::Running => "RUNNING",
            StatusCode::NoStatus => "NOSTATUS",
        }
    }

    /// The worse of two codes.
    pub fn worst(self, other: StatusCode) -> StatusCode {
        self.min(other)
    }

    /// True when `self` is strictly worse than `other`.
    pub fn is_worse_than(self, other: StatusCode) -> bool {
        self < other
    }

    /// True for the codes that mean the test did not pass (`TEST_NA` included, as legacy did).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            StatusCode::TestNa | StatusCode::Abort | StatusCode::Error | StatusCode::Fail
        )
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a legacy status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status code {0:?}: expected one of TEST_NA ABORT ERROR FAIL WARN GOOD BUG ALERT RUNNING NOSTATUS"
)]
pub struct UnknownStatusCode(pub String);

impl FromStr for StatusCode {
    type Err = UnknownStatusCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StatusCode::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownStatusCode(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_is_the_legacy_one() {
        let names: Vec<&str> = StatusCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names.join(" "),
            "TEST_NA ABORT ERROR FAIL WARN GOOD BUG ALERT RUNNING NOSTATUS"
        );
        assert_eq!(StatusCode::Good.worst(StatusCode::Fail), StatusCode::Fail);
        assert_eq!(
            StatusCode::Warn.worst(StatusCode::TestNa),
            StatusCode::TestNa
        );
        assert!(StatusCode::Abort.is_worse_than(StatusCode::Error));
    }

    #[test]
    fn round_trips_through_text() {
        for c in StatusCode::ALL {
            assert_eq!(c.as_str().parse::<StatusCode>().unwrap(), c);
        }
        assert!("PASS".parse::<StatusCode>().is_err());
    }
}
