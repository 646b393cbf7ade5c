//! The names `dlt init` accepts, checked as dlt checks them: a source name is snake_case, a
//! destination is one of dlt's destinations or a dotted reference. Nothing else reaches a
//! file or a message, and an error never repeats what was typed (it may be a URL with a
//! password).

use dlt_telemetry_model::anonymous::{is_dotted_name, is_identifier};

/// dlt 1.31's own destinations (`dlt.destinations.__all__`).
pub(crate) const STANDARD_DESTINATIONS: [&str; 22] = [
    "athena",
    "bigquery",
    "clickhouse",
    "databricks",
    "destination",
    "dremio",
    "duckdb",
    "ducklake",
    "dummy",
    "fabric",
    "filesystem",
    "lance",
    "lancedb",
    "motherduck",
    "mssql",
    "postgres",
    "qdrant",
    "redshift",
    "snowflake",
    "sqlalchemy",
    "synapse",
    "weaviate",
];

/// Why `dlt init` refused its arguments; the message names the rule, never the value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InitNameError {
    /// The source is not snake_case.
    #[error(
        "the source name must be snake_case: lower-case letters, digits and `_`, not starting with a digit, at most 64 characters (dlt's rule for source names)"
    )]
    Source,
    /// The destination is not one of dlt's nor a dotted reference.
    #[error(
        "the destination must be one of dlt's destinations ({}) or a dotted reference such as `dlt.destinations.duckdb`",
        STANDARD_DESTINATIONS.join(", ")
    )]
    Destination,
}

/// A source name dlt accepts: lower-case snake_case, at most 64 characters.
pub(crate) fn check_source(name: &str) -> Result<&str, InitNameError> {
    let snake_case = is_identifier(name) && !name.bytes().any(|byte| byte.is_ascii_uppercase());
    if snake_case { Ok(name) } else { Err(InitNameError::Source) }
}

/// A destination dlt resolves: one of its own, or a dotted reference to one (two or more
/// identifiers joined by dots).
pub(crate) fn check_destination(name: &str) -> Result<&str, InitNameError> {
    let known = STANDARD_DESTINATIONS.contains(&name);
    let reference = name.contains('.') && is_dotted_name(name);
    if known || reference { Ok(name) } else { Err(InitNameError::Destination) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn source_names_are_snake_case() {
        for name in ["chess", "rest_api", "_private", "s3", &"a".repeat(64)] {
            assert!(check_source(name).is_ok(), "{name}");
        }
        for name in ["", "Chess", "rest-api", "9lives", "a b", "/home/alice/crm_src", "é", &"a".repeat(65)] {
            assert!(check_source(name).is_err(), "{name}");
        }
    }

    #[test]
    fn destinations_are_dlts_or_dotted_references() {
        for name in ["duckdb", "postgres", "dlt.destinations.duckdb", "my_package.MySink"] {
            assert!(check_destination(name).is_ok(), "{name}");
        }
        for name in ["", "mysql", "postgres://loader:S3cr3t@db.internal/x", "dlt..duckdb", "a.", "duck db"] {
            assert!(check_destination(name).is_err(), "{name}");
        }
    }

    #[test]
    fn errors_never_repeat_the_value() {
        let value = "postgres://loader:S3cr3t@db.internal/x";
        for error in [check_source(value).unwrap_err(), check_destination(value).unwrap_err()] {
            assert!(!error.to_string().contains("S3cr3t"), "{error}");
        }
    }
}
