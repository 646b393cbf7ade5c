#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::sync::Mutex;

use dlt_redact::HttpUrl;
use dlt_telemetry_model::{AnonymousId, EventCategory};
use dlt_test_support::test_context;
use serde_json::{Map, Value};
use time::macros::datetime;

use super::*;
use crate::opt_out::record_opt_out;
use crate::options::WriteKey;
use crate::outbox::{Outbox, OutboxOptions};
use crate::wire::fill_segment_fields;

/// A wall clock the test sets.
#[derive(Debug)]
struct SetClock(Mutex<OffsetDateTime>);

impl SetClock {
    fn at(now: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self(Mutex::new(now)))
    }

    fn advance(&self, by: time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for SetClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

const START: OffsetDateTime = datetime!(2026-12-01 10:00:00 UTC);

fn recipient() -> Recipient {
    Recipient::new(&HttpUrl::parse("http://u:hunter2@a.example/v1/batch").unwrap(), Some(&WriteKey::new("wk_secret")))
}

/// A message as the worker sends it: Segment's fields and `sentAt` set.
fn message(index: usize) -> AnonymousMessage {
    let mut properties = Map::new();
    properties.insert("index".into(), index.into());
    properties.insert("elapsed".into(), 0.1_f64.into());
    let id = AnonymousId::from_random_bytes([7; 16]);
    let mut message =
        AnonymousMessage::from_properties(EventCategory::Command, "telemetry", properties, id, &test_context())
            .unwrap();
    fill_segment_fields(&mut message, START);
    message.set_sent_at(Some(START));
    message
}

fn log(telemetry: &Path, clock: Arc<dyn Clock>, bounds: (u64, Duration)) -> (SentLog, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    (SentLog::new(telemetry, recipient(), bounds, clock, counters.clone()), counters)
}

fn default_bounds() -> (u64, Duration) {
    (DEFAULT_SENT_MAX_BYTES, DEFAULT_SENT_MAX_AGE)
}

fn record_file(telemetry: &Path) -> std::path::PathBuf {
    telemetry.join(SENT_DIR).join(recipient().id()).join(SENT_FILE)
}

/// The `index` property of each recorded message, oldest first (the reader's view).
fn recorded(telemetry: &Path) -> Vec<u64> {
    let states = inspect_sent(telemetry).unwrap();
    states
        .iter()
        .flat_map(|state| &state.messages)
        .map(|sent| sent.message["properties"]["index"].as_u64().unwrap())
        .collect()
}

/// The `index` property of each line of the file, whatever its age.
fn lines_on_disk(telemetry: &Path) -> Vec<u64> {
    let text = fs::read(record_file(telemetry)).unwrap();
    split_lines(&text)
        .map(|line| serde_json::from_slice::<Value>(line).unwrap()["message"]["properties"]["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn delivered_messages_are_recorded_byte_for_byte_with_their_recipient_and_counts() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    // The record's times are compared with today's by the reader: record them now.
    let now = OffsetDateTime::now_utc();
    let (log, _) = log(dir.path(), SetClock::at(now), default_bounds());
    let messages: Vec<AnonymousMessage> = (0..3).map(message).collect();
    log.delivered(&messages, &|| true);

    let text = fs::read(record_file(dir.path())).unwrap();
    for (line, message) in split_lines(&text).zip(&messages) {
        let expected =
            [br#"{"sent_at":""#.as_slice(), now.format(&Rfc3339).unwrap().as_bytes(), br#"","message":"#].concat();
        assert!(line.starts_with(&expected), "{}", String::from_utf8_lossy(line));
        assert!(line.ends_with(&[encode_message(message).unwrap().as_slice(), b"}"].concat()), "the bytes as sent");
    }
    let states = inspect_sent(dir.path()).unwrap();
    assert_eq!(states.len(), 1);
    let state = &states[0];
    assert_eq!(state.endpoint.as_deref(), Some("http://***@a.example/v1/batch"));
    assert!(state.write_key);
    assert_eq!((state.delivered, state.last_delivered_at), (3, Some(now)));
    assert!(state.problems.is_empty(), "{:?}", state.problems);
    for (sent, message) in state.messages.iter().zip(&messages) {
        assert_eq!(sent.sent_at, now);
        assert_eq!(sent.message, serde_json::to_value(message.message()).unwrap());
    }
    let shown = format!(
        "{states:?} {}",
        fs::read_to_string(dir.path().join(SENT_DIR).join(recipient().id()).join(RECIPIENT_FILE)).unwrap()
    );
    assert!(!shown.contains("hunter2") && !shown.contains("wk_secret"), "{shown}");
}

#[test]
fn the_record_keeps_the_newest_lines_within_its_size_bound() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let clock = SetClock::at(OffsetDateTime::now_utc());
    let line_bytes = 600;
    let (log, _) = log(dir.path(), clock, (10 * line_bytes, DEFAULT_SENT_MAX_AGE));
    for index in 0..40 {
        log.delivered([&message(index)], &|| true);
        let size = fs::metadata(record_file(dir.path())).unwrap().len();
        assert!(size <= 10 * line_bytes, "{size} bytes after message {index}");
    }
    let kept = lines_on_disk(dir.path());
    assert!(kept.len() >= 5, "{kept:?}");
    let newest: Vec<u64> = (40 - kept.len() as u64..40).collect();
    assert_eq!(kept, newest, "the oldest are dropped first");
    assert_eq!(inspect_sent(dir.path()).unwrap()[0].delivered, 40, "the count keeps every delivery");
}

#[test]
fn lines_older_than_the_age_bound_are_dropped_by_the_writer_and_hidden_by_the_reader() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let clock = SetClock::at(OffsetDateTime::now_utc() - time::Duration::days(40));
    let (log, _) = log(dir.path(), clock.clone(), default_bounds());
    log.delivered([&message(0), &message(1)], &|| true);
    assert_eq!(lines_on_disk(dir.path()), [0, 1]);
    assert_eq!(recorded(dir.path()), Vec::<u64>::new(), "40 days old: not shown");

    clock.advance(time::Duration::days(40));
    log.delivered([&message(2)], &|| true);
    assert_eq!(lines_on_disk(dir.path()), [2], "the writer drops what is past 30 days");
    assert_eq!(recorded(dir.path()), [2]);
}

#[test]
fn drops_are_counted_by_reason_once_and_added_up_across_processes() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let (first, first_counters) = log(dir.path(), SetClock::at(now), default_bounds());
    let (second, second_counters) = log(dir.path(), SetClock::at(now), default_bounds());
    first_counters.dropped_rejected.store(2, std::sync::atomic::Ordering::Relaxed);
    first_counters.dropped_too_large.store(1, std::sync::atomic::Ordering::Relaxed);
    first.dropped(&|| true);
    first.dropped(&|| true);
    second_counters.dropped_rejected.store(1, std::sync::atomic::Ordering::Relaxed);
    second_counters.dropped_expired.store(4, std::sync::atomic::Ordering::Relaxed);
    second.delivered([&message(0)], &|| true);
    first_counters.dropped_invalid.store(3, std::sync::atomic::Ordering::Relaxed);
    first.dropped(&|| true);

    let state = &inspect_sent(dir.path()).unwrap()[0];
    assert_eq!(state.delivered, 1);
    let expected = DroppedCounts { rejected: 3, too_large: 1, expired: 4, invalid: 3, ..DroppedCounts::default() };
    assert_eq!(state.dropped, expected);
    assert_eq!(state.dropped.total(), 11);
    let counts: Value =
        serde_json::from_slice(&fs::read(dir.path().join(SENT_DIR).join(recipient().id()).join(COUNTS_FILE)).unwrap())
            .unwrap();
    assert_eq!(counts["dropped"]["rejected"], 3);
    assert_eq!(counts["delivered"]["count"], 1);
}

#[test]
fn an_opt_out_deletes_the_record_counts_what_waited_and_stops_a_process_from_before() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let counters = Arc::new(Counters::default());
    let clock: Arc<dyn Clock> = SetClock::at(OffsetDateTime::now_utc());
    let outbox = Outbox::new(OutboxOptions::new(dir.path()), recipient(), counters, clock);
    outbox.record_delivered([&message(0)]);
    let waiting = [message(1), message(2)].map(|mut message| {
        fill_segment_fields(&mut message, OffsetDateTime::now_utc());
        message.into_message()
    });
    assert!(outbox.append(waiting.to_vec(), Instant::now() + Duration::from_secs(5)).saved);
    assert_eq!(recorded(dir.path()), [0]);

    record_opt_out(dir.path(), OffsetDateTime::now_utc()).unwrap();
    let state = &inspect_sent(dir.path()).unwrap()[0];
    assert!(state.messages.is_empty() && !record_file(dir.path()).exists(), "the record is deleted");
    assert_eq!(state.delivered, 0);
    assert_eq!(state.dropped, DroppedCounts { opted_out: 2, ..DroppedCounts::default() });

    // A process started before the opt-out records nothing more.
    outbox.record_delivered([&message(3)]);
    assert!(!record_file(dir.path()).exists());
    assert_eq!(inspect_sent(dir.path()).unwrap()[0].delivered, 0);
}

#[test]
fn a_damaged_record_is_shown_read_around_and_healed_by_the_next_write() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (log, _) = log(dir.path(), SetClock::at(OffsetDateTime::now_utc()), default_bounds());
    log.delivered([&message(0)], &|| true);
    let file = record_file(dir.path());
    let good = fs::read(&file).unwrap();
    fs::write(&file, [b"garbage\n".as_slice(), &good, b"{\"sent_at\":\"2026-"].concat()).unwrap();

    let state = &inspect_sent(dir.path()).unwrap()[0];
    assert_eq!(recorded(dir.path()), [0]);
    assert_eq!(state.problems, ["sent.jsonl has 2 lines that are not records; they are left out"]);

    log.delivered([&message(1)], &|| true);
    assert_eq!(lines_on_disk(dir.path()), [0, 1]);
    assert!(inspect_sent(dir.path()).unwrap()[0].problems.is_empty());
}

#[test]
fn concurrent_writers_never_interleave_lines() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let telemetry = dir.path().to_owned();
            std::thread::spawn(move || {
                let (log, _) = log(&telemetry, SetClock::at(OffsetDateTime::now_utc()), default_bounds());
                for index in 0..50 {
                    log.delivered([&message(writer * 100 + index)], &|| true);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let mut kept = lines_on_disk(dir.path());
    kept.sort_unstable();
    let expected: Vec<u64> = (0..50).chain(100..150).collect();
    assert_eq!(kept, expected);
    assert_eq!(inspect_sent(dir.path()).unwrap()[0].delivered, 100);
}

#[cfg(unix)]
#[test]
fn the_record_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = dlt_test_support::private_tempdir().unwrap();
    let telemetry = dir.path().join("telemetry");
    let (log, _) = log(&telemetry, SetClock::at(OffsetDateTime::now_utc()), default_bounds());
    log.delivered([&message(0)], &|| true);
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let folder = telemetry.join(SENT_DIR).join(recipient().id());
    for path in [telemetry.clone(), telemetry.join(SENT_DIR), folder.clone()] {
        assert_eq!(mode(&path), 0o700, "{}", path.display());
    }
    for name in [SENT_FILE, COUNTS_FILE, RECIPIENT_FILE, LOCK_FILE] {
        assert_eq!(mode(&folder.join(name)), 0o600, "{name}");
    }
}

#[cfg(unix)]
#[test]
fn a_link_in_place_of_the_record_is_never_written_through_and_is_shown() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (log, _) = log(dir.path(), SetClock::at(OffsetDateTime::now_utc()), default_bounds());
    log.delivered([&message(0)], &|| true);
    let victim = dir.path().join("victim");
    fs::write(&victim, "mine\n").unwrap();
    let file = record_file(dir.path());
    fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&victim, &file).unwrap();
    log.delivered([&message(1)], &|| true);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "mine\n");
    let state = &inspect_sent(dir.path()).unwrap()[0];
    assert!(state.problems.iter().any(|problem| problem.contains("symbolic link")), "{:?}", state.problems);
}
