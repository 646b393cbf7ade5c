//! Figures, the statistics behind them, and the markdown table.

use std::fmt::Write as _;
use std::time::Duration;

/// One measured figure, with the unit it is shown in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Figure {
    /// Wall time of a process or an operation; lower is better.
    Time(Duration),
    /// Messages delivered per second; higher is better.
    Rate(f64),
}

impl Figure {
    /// How many times better `ours` is than `theirs`: their time over ours, our rate over
    /// theirs. `None` when a figure is zero.
    pub(crate) fn advantage(theirs: Self, ours: Self) -> Option<f64> {
        let (numerator, denominator) = match (theirs, ours) {
            (Self::Time(theirs), Self::Time(ours)) => (theirs.as_secs_f64(), ours.as_secs_f64()),
            (Self::Rate(theirs), Self::Rate(ours)) => (ours, theirs),
            _ => return None,
        };
        (denominator > 0.0 && numerator > 0.0).then(|| numerator / denominator)
    }
}

/// A figure as a reader wants it: seconds or milliseconds or microseconds by size, three
/// significant digits; rates in messages per second.
pub(crate) fn show(figure: Figure) -> String {
    match figure {
        Figure::Time(time) => {
            let seconds = time.as_secs_f64();
            if seconds >= 1.0 {
                format!("{} s", significant(seconds))
            } else if seconds >= 1e-3 {
                format!("{} ms", significant(seconds * 1e3))
            } else {
                format!("{} µs", significant(seconds * 1e6))
            }
        }
        Figure::Rate(rate) => format!("{} msg/s", significant(rate)),
    }
}

/// The difference of `time` from `baseline`, signed: `+1.00 s vs off`, `-200 µs vs off`.
pub(crate) fn show_difference(time: Duration, baseline: Duration, baseline_name: &str) -> String {
    let (sign, difference) = match time.checked_sub(baseline) {
        Some(more) => ('+', more),
        None => ('-', baseline.saturating_sub(time)),
    };
    format!("{sign}{} vs {baseline_name}", show(Figure::Time(difference)))
}

/// A ratio: `360×`, `2.3×`, `0.52×`.
pub(crate) fn show_ratio(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "–".to_owned(), |ratio| format!("{}×", significant(ratio)))
}

/// Three significant digits, no exponent, thousands unseparated.
fn significant(value: f64) -> String {
    if value.is_nan() || value <= 0.0 || value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else if value >= 1.0 {
        format!("{value:.2}")
    } else {
        let digits = usize::try_from((-value.log10().floor()) as i64 + 2).unwrap_or(3).min(9);
        format!("{value:.digits$}")
    }
}

/// The median of the samples (the mean of the middle two for an even count).
pub(crate) fn median(samples: &[f64]) -> Option<f64> {
    let sorted = sorted(samples);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some(f64::midpoint(sorted[middle - 1], sorted[middle])),
    }
}

/// The nearest-rank percentile (0 < p <= 100) of the samples.
pub(crate) fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    let sorted = sorted(samples);
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// One line of the table.
pub(crate) struct Row {
    pub(crate) measurement: String,
    pub(crate) endpoint: String,
    pub(crate) dlt: Figure,
    pub(crate) ours: Figure,
    /// Shown after each figure, e.g. `(+1.00 s vs off)`.
    pub(crate) dlt_note: Option<String>,
    pub(crate) ours_note: Option<String>,
}

/// The markdown table of the rows.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| measurement | endpoint | dlt 1.31 (Python) | this project | advantage |\n|---|---|---|---|---|\n",
    );
    for row in rows {
        let cell = |figure: Figure, note: &Option<String>| match note {
            Some(note) => format!("{} ({note})", show(figure)),
            None => show(figure),
        };
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} |",
            row.measurement,
            row.endpoint,
            cell(row.dlt, &row.dlt_note),
            cell(row.ours, &row.ours_note),
            show_ratio(Figure::advantage(row.dlt, row.ours))
        );
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::{Figure, Row, median, percentile, show, show_difference, show_ratio, table};

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&hundred, 99.0), Some(99.0));
        assert_eq!(percentile(&hundred, 50.0), Some(50.0));
        assert_eq!(percentile(&[5.0], 99.0), Some(5.0));
        assert_eq!(percentile(&[], 99.0), None);
    }

    #[test]
    fn figures_are_shown_in_a_readable_unit() {
        assert_eq!(show(Figure::Time(Duration::from_millis(1790))), "1.79 s");
        assert_eq!(show(Figure::Time(Duration::from_micros(609_400))), "609 ms");
        assert_eq!(show(Figure::Time(Duration::from_micros(1_700))), "1.70 ms");
        assert_eq!(show(Figure::Time(Duration::from_nanos(150))), "0.150 µs");
        assert_eq!(show(Figure::Rate(123_456.7)), "123457 msg/s");
        assert_eq!(show_ratio(Some(358.4)), "358×");
        assert_eq!(show_ratio(Some(0.0512)), "0.0512×");
        assert_eq!(show_ratio(None), "–");
        assert_eq!(show(Figure::Rate(0.0)), "0 msg/s");
        let off = Duration::from_millis(600);
        assert_eq!(show_difference(Duration::from_millis(1600), off, "off"), "+1.00 s vs off");
        assert_eq!(show_difference(Duration::from_micros(599_800), off, "off"), "-200 µs vs off");
    }

    #[test]
    fn the_advantage_is_their_time_over_ours_and_our_rate_over_theirs() {
        let time = |ms| Figure::Time(Duration::from_millis(ms));
        assert_eq!(Figure::advantage(time(600), time(2)), Some(300.0));
        assert_eq!(Figure::advantage(Figure::Rate(100.0), Figure::Rate(400.0)), Some(4.0));
        assert_eq!(Figure::advantage(time(600), time(0)), None);
        assert_eq!(Figure::advantage(time(600), Figure::Rate(1.0)), None);
    }

    #[test]
    fn the_table_has_one_line_per_row() {
        let rows = [Row {
            measurement: "`dlt telemetry`".into(),
            endpoint: "off".into(),
            dlt: Figure::Time(Duration::from_millis(600)),
            ours: Figure::Time(Duration::from_millis(2)),
            dlt_note: None,
            ours_note: Some("+100 µs vs off".into()),
        }];
        let text = table(&rows);
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with("| `dlt telemetry` | off | 600 ms | 2.00 ms (+100 µs vs off) | 300× |\n"), "{text}");
    }
}
