//! Turning a configured value (text from the environment, or a TOML value) into a typed one,
//! with exactly dlt's rules and nothing lossy.

use std::borrow::Cow;
use std::time::Duration;

use figment::value::Value;

use dlt_redact::HttpUrl;

use crate::log_level::LogLevel;

/// A configured value before conversion: what a variable or a file held.
#[derive(Debug, Clone)]
pub(crate) enum Raw {
    /// Environment variables are always text.
    Text(String),
    /// A value from a TOML file, with its native type.
    Toml(Value),
}

/// The longest duration a setting may ask for: an exit deadline longer than ten minutes is a
/// mistake, and an unbounded one would overflow the clock.
pub(crate) const MAX_SECONDS: Duration = Duration::from_secs(600);

/// What a value should have looked like, for the error message.
pub(crate) type Expected = Cow<'static, str>;

/// The scalar view of a raw value that the conversions work on.
enum Scalar<'a> {
    Text(&'a str),
    Bool(bool),
    Integer(i128),
    Float(f64),
    /// A table, an array, or anything else with no scalar meaning.
    Other,
}

impl Raw {
    fn scalar(&self) -> Scalar<'_> {
        match self {
            Self::Text(text) => Scalar::Text(text),
            Self::Toml(Value::String(_, text)) => Scalar::Text(text),
            Self::Toml(Value::Bool(_, flag)) => Scalar::Bool(*flag),
            Self::Toml(Value::Num(_, number)) => match (number.to_f64(), number.to_i128()) {
                (Some(float), _) => Scalar::Float(float),
                (None, Some(integer)) => Scalar::Integer(integer),
                (None, None) => Scalar::Other,
            },
            Self::Toml(_) => Scalar::Other,
        }
    }

    /// The value as a user would recognise it in an error message.
    pub(crate) fn render(&self) -> String {
        match self.scalar() {
            Scalar::Text(text) => format!("{text:?}"),
            Scalar::Bool(flag) => flag.to_string(),
            Scalar::Integer(integer) => integer.to_string(),
            Scalar::Float(float) => format!("{float:?}"),
            Scalar::Other => match self {
                Self::Toml(Value::Dict(..)) => "<a table>".to_owned(),
                Self::Toml(Value::Array(..)) => "<an array>".to_owned(),
                _ => "<a value>".to_owned(),
            },
        }
    }

    /// dlt's booleans: `yes true t y 1` and `no false f n 0` in any case, TOML booleans, and
    /// the integers 1 and 0. Anything else (`off`, empty) is an error, never `false`.
    pub(crate) fn to_bool(&self) -> Result<bool, Expected> {
        const EXPECTED: &str = "one of true/false/yes/no/1/0";
        match self.scalar() {
            Scalar::Bool(flag) => Ok(flag),
            Scalar::Integer(1) => Ok(true),
            Scalar::Integer(0) => Ok(false),
            Scalar::Text(text) => match text.to_ascii_lowercase().as_str() {
                "yes" | "true" | "t" | "y" | "1" => Ok(true),
                "no" | "false" | "f" | "n" | "0" => Ok(false),
                _ => Err(EXPECTED.into()),
            },
            _ => Err(EXPECTED.into()),
        }
    }

    /// Any scalar as text: `RUNTIME__LOG_LEVEL=10` and `log_level = 10` are both `"10"`.
    pub(crate) fn to_text(&self) -> Result<String, Expected> {
        match self.scalar() {
            Scalar::Text(text) => Ok(text.to_owned()),
            Scalar::Bool(flag) => Ok(flag.to_string()),
            Scalar::Integer(integer) => Ok(integer.to_string()),
            Scalar::Float(float) => Ok(format!("{float:?}")),
            Scalar::Other => Err("a string".into()),
        }
    }

    /// Text that is empty means "not set", as an empty DSN does in dlt.
    pub(crate) fn to_optional_text(&self) -> Result<Option<String>, Expected> {
        self.to_text().map(|text| Some(text).filter(|text| !text.is_empty()))
    }

    /// A number: a TOML integer or float, or the text of one.
    pub(crate) fn to_number(&self) -> Result<f64, Expected> {
        const EXPECTED: &str = "a number";
        match self.scalar() {
            Scalar::Float(float) => Ok(float),
            Scalar::Integer(integer) => Ok(integer as f64),
            Scalar::Text(text) => text.trim().parse().map_err(|_| EXPECTED.into()),
            _ => Err(EXPECTED.into()),
        }
    }

    /// Seconds, whole or fractional, up to [`MAX_SECONDS`]; negative, NaN and infinite are
    /// errors.
    pub(crate) fn to_seconds(&self) -> Result<Duration, Expected> {
        const EXPECTED: &str = "a number of seconds from 0 to 600";
        let seconds = self.to_number().map_err(|_| Expected::from(EXPECTED))?;
        Duration::try_from_secs_f64(seconds).ok().filter(|seconds| *seconds <= MAX_SECONDS).ok_or(EXPECTED.into())
    }

    /// A number from 0 to 1, both included.
    pub(crate) fn to_fraction(&self) -> Result<f64, Expected> {
        const EXPECTED: &str = "a number from 0 to 1";
        let fraction = self.to_number().map_err(|_| Expected::from(EXPECTED))?;
        if (0.0..=1.0).contains(&fraction) { Ok(fraction) } else { Err(EXPECTED.into()) }
    }

    /// A log level name ([`LogLevel`]), in any case.
    pub(crate) fn to_log_level(&self) -> Result<LogLevel, Expected> {
        self.to_text().ok().and_then(|text| LogLevel::parse(&text)).ok_or(Expected::from(LogLevel::EXPECTED))
    }

    /// An absolute `http` or `https` URL, kept verbatim (events go exactly there). What is
    /// wrong with it is said without repeating it: it may hold a password.
    pub(crate) fn to_http_url(&self) -> Result<HttpUrl, Expected> {
        let text = self.to_text()?;
        HttpUrl::parse(&text).map_err(|reason| format!("an http or https URL: {reason}").into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn text(value: &str) -> Raw {
        Raw::Text(value.to_owned())
    }

    #[test]
    fn bool_words_are_exactly_dlts_in_any_case() {
        for word in ["yes", "true", "t", "y", "1", "YES", "True", "T", "Y"] {
            assert_eq!(text(word).to_bool(), Ok(true), "{word}");
        }
        for word in ["no", "false", "f", "n", "0", "NO", "False", "F", "N"] {
            assert_eq!(text(word).to_bool(), Ok(false), "{word}");
        }
        for word in ["off", "on", "", " true", "2", "enabled", "nein"] {
            assert!(text(word).to_bool().is_err(), "{word:?}");
        }
    }

    #[test]
    fn toml_bools_and_zero_or_one_are_bools() {
        assert_eq!(Raw::Toml(Value::from(false)).to_bool(), Ok(false));
        assert_eq!(Raw::Toml(Value::from(1_i64)).to_bool(), Ok(true));
        assert_eq!(Raw::Toml(Value::from(0_i64)).to_bool(), Ok(false));
        assert!(Raw::Toml(Value::from(2_i64)).to_bool().is_err());
        assert!(Raw::Toml(Value::from(1.0_f64)).to_bool().is_err());
        assert!(Raw::Toml(Value::from(Vec::<Value>::new())).to_bool().is_err());
    }

    #[test]
    fn any_scalar_is_text() {
        assert_eq!(text("10").to_text().unwrap(), "10");
        assert_eq!(Raw::Toml(Value::from(10_i64)).to_text().unwrap(), "10");
        assert_eq!(Raw::Toml(Value::from(true)).to_text().unwrap(), "true");
        assert_eq!(Raw::Toml(Value::from(1.5_f64)).to_text().unwrap(), "1.5");
        assert_eq!(Raw::Toml(Value::from(1.0_f64)).to_text().unwrap(), "1.0");
        assert!(Raw::Toml(Value::from(figment::value::Dict::new())).to_text().is_err());
    }

    #[test]
    fn empty_text_is_not_set() {
        assert_eq!(text("").to_optional_text().unwrap(), None);
        assert_eq!(text("x").to_optional_text().unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn seconds_accept_integers_floats_and_their_text() {
        assert_eq!(text("2").to_seconds().unwrap(), Duration::from_secs(2));
        assert_eq!(text(" 0.25 ").to_seconds().unwrap(), Duration::from_millis(250));
        assert_eq!(Raw::Toml(Value::from(3_i64)).to_seconds().unwrap(), Duration::from_secs(3));
        assert_eq!(Raw::Toml(Value::from(0.5_f64)).to_seconds().unwrap(), Duration::from_millis(500));
        assert_eq!(text("600").to_seconds().unwrap(), MAX_SECONDS);
        for bad in ["-1", "NaN", "inf", "soon", "1e400", "1e19", "600.5"] {
            assert!(text(bad).to_seconds().is_err(), "{bad}");
        }
    }

    #[test]
    fn fractions_stay_within_zero_and_one() {
        assert_eq!(text("0").to_fraction().unwrap(), 0.0);
        assert_eq!(Raw::Toml(Value::from(1_i64)).to_fraction().unwrap(), 1.0);
        for bad in ["1.01", "-0.1", "NaN", "half"] {
            assert!(text(bad).to_fraction().is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_need_an_http_scheme_and_are_kept_verbatim() {
        assert_eq!(text("https://telemetry.example").to_http_url().unwrap().as_str(), "https://telemetry.example");
        let local = "http://127.0.0.1:8080/v1/batch";
        assert_eq!(text(local).to_http_url().unwrap().as_str(), local);
        for bad in ["telemetry.example", "ftp://x.example", "", "https://"] {
            assert!(text(bad).to_http_url().is_err(), "{bad}");
        }
    }

    #[test]
    fn log_levels_are_pythons_names_in_any_case() {
        assert_eq!(text("info").to_log_level(), Ok(LogLevel::Info));
        assert_eq!(text("WARN").to_log_level(), Ok(LogLevel::Warning));
        assert!(text("LOUD").to_log_level().is_err());
        assert!(Raw::Toml(Value::from(10_i64)).to_log_level().is_err());
    }

    #[test]
    fn render_quotes_text_and_names_compound_values() {
        assert_eq!(text("off").render(), "\"off\"");
        assert_eq!(Raw::Toml(Value::from(7_i64)).render(), "7");
        assert_eq!(Raw::Toml(Value::from(figment::value::Dict::new())).render(), "<a table>");
    }
}
