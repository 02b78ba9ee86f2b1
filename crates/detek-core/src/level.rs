use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Severity, as in kakao/detek.
///
/// Ordered by how bad it is: `Normal < Unknown < Warn < Error < Fatal`. `Unknown` ranks above
/// `Normal` so that "could not be evaluated" never sorts as healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// Passed.
    Normal,
    /// Could not be evaluated.
    Unknown,
    /// Works, but not recommended.
    Warn,
    /// Partly broken.
    Error,
    /// Feature fully broken.
    Fatal,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Fatal,
        Level::Error,
        Level::Warn,
        Level::Unknown,
        Level::Normal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Normal => "Normal",
            Level::Unknown => "Unknown",
            Level::Warn => "Warn",
            Level::Error => "Error",
            Level::Fatal => "Fatal",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Ok(Level::Normal),
            "unknown" => Ok(Level::Unknown),
            "warn" | "warning" => Ok(Level::Warn),
            "error" => Ok(Level::Error),
            "fatal" => Ok(Level::Fatal),
            other => Err(format!(
                "unknown level {other:?} (expected fatal, error, warn, unknown or normal)"
            )),
        }
    }
}
