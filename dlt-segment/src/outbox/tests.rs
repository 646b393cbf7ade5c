#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, File};
use std::io::Write as _;
use std::thread;

use dlt_fs::PrivateDir;
use dlt_redact::HttpUrl;
use dlt_telemetry_model::{AnonymousId, AnonymousMessage, EventCategory};
use dlt_test_support::test_context;
use serde_json::Map;
use time::OffsetDateTime;

use super::files::{FAILURE_LOG, FAILURE_LOG_MAX_BYTES, claim_name, line_size};
use super::*;
use crate::clock::SystemClock;
use crate::opt_out::{read_opt_out, record_opt_out};
use crate::options::WriteKey;
use crate::wire::fill_segment_fields;

fn message(index: usize, age: Duration) -> TrackMessage {
    let mut properties = Map::new();
    properties.insert("index".into(), index.into());
    let id = AnonymousId::from_random_bytes([0; 16]);
    let mut message =
        AnonymousMessage::from_properties(EventCategory::Command, "telemetry", properties, id, &test_context())
            .unwrap();
    fill_segment_fields(&mut message, OffsetDateTime::now_utc() - age);
    message.into_message()
}

/// A message as an outbox line holds it.
fn encode_message(message: &TrackMessage) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(message)
}

fn recipient(endpoint: &str) -> Recipient {
    Recipient::new(&HttpUrl::parse(endpoint).unwrap(), None)
}

/// An outbox of the recipient `http://a.example/` under `telemetry`.
fn outbox(telemetry: &Path) -> (Outbox, Arc<Counters>) {
    outbox_for(telemetry, recipient("http://a.example/"))
}

fn outbox_for(telemetry: &Path, recipient: Recipient) -> (Outbox, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let outbox = Outbox::new(OutboxOptions::new(telemetry), recipient, counters.clone(), Arc::new(SystemClock));
    (outbox, counters)
}

fn indexes(messages: &[TrackMessage]) -> Vec<u64> {
    let mut indexes: Vec<u64> = messages.iter().map(|m| m.properties["index"].as_u64().unwrap()).collect();
    indexes.sort_unstable();
    indexes
}

/// The messages in `file`, skipping lines that are not one.
fn messages_in(file: &Path) -> Vec<TrackMessage> {
    let text = fs::read(file).unwrap();
    text.split(|&byte| byte == b'\n').filter_map(|line| serde_json::from_slice(line).ok()).collect()
}

/// What waits in the outbox (the outbox file and claims of counter 0, a fresh dir's), by index.
fn waiting(outbox: &Outbox) -> Vec<u64> {
    let mut messages = Vec::new();
    for entry in fs::read_dir(&outbox.dir).unwrap().flatten() {
        let name = entry.file_name().into_string().unwrap();
        if MessageFile::of(&name).is_some_and(|kind| kind.sendable_under(0)) {
            messages.extend(messages_in(&entry.path()));
        }
    }
    indexes(&messages)
}

/// The outbox file of a fresh dir (opt-out counter 0).
fn outbox_file(outbox: &Outbox) -> PathBuf {
    outbox.dir.join(outbox_name(0))
}

fn gate(outbox: &Outbox) -> PrivateDir {
    outbox.create_dir().unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

fn line(message: TrackMessage) -> Line {
    Line::of(message).unwrap()
}

#[test]
fn bounds_drop_duplicates_expired_then_oldest() {
    let day = Duration::from_secs(24 * 60 * 60);
    let old = message(0, 8 * day);
    let mut undated = message(1, Duration::ZERO);
    undated.timestamp = None;
    let newest = message(2, Duration::ZERO);
    let middle = message(3, day);
    let oldest_kept = message(4, 2 * day);
    let lines = vec![line(old), line(undated), line(newest.clone()), line(middle), line(oldest_kept), line(newest)];
    let sizes: u64 = lines[2..5].iter().map(line_size).sum();

    let bounded = retain_within(lines, OffsetDateTime::now_utc(), 7 * day, sizes - 1);
    assert_eq!(bounded.expired, 2);
    assert_eq!(bounded.overflow, 1);
    let kept: Vec<_> = bounded.kept.into_iter().map(|l| l.message).collect();
    assert_eq!(indexes(&kept), [2, 3]);
    assert_eq!(kept[0].properties["index"], 3, "oldest first");
}

#[test]
fn appended_messages_come_back_from_a_claim_without_sent_at() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, counters) = outbox(dir.path());
    let mut sent = message(7, Duration::ZERO);
    sent.sent_at = Some(OffsetDateTime::now_utc());
    assert!(outbox.append(vec![sent.clone(), message(8, Duration::ZERO)], soon()).saved);
    assert_eq!(counters.snapshot().written_to_outbox, 2);

    let (claimed, claim) = outbox.claim(soon());
    assert_eq!(indexes(&claimed), [7, 8]);
    let first = claimed.iter().find(|m| m.properties["index"] == 7).unwrap();
    assert_eq!(first.message_id, sent.message_id);
    assert_eq!(first.sent_at, None);
    assert_eq!(counters.snapshot().read_from_outbox, 2);
    assert!(!outbox_file(&outbox).exists());
    assert_eq!(waiting(&outbox), [7, 8], "still on disk while claimed");

    outbox.release(claim.unwrap());
    assert!(waiting(&outbox).is_empty());
}

#[test]
fn each_recipient_has_its_own_folder_and_sees_only_its_own_messages() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (a, _) = outbox_for(dir.path(), recipient("http://a.example/"));
    let keyed = Recipient::new(&HttpUrl::parse("http://a.example/").unwrap(), Some(&WriteKey::new("wk")));
    let (a_with_key, _) = outbox_for(dir.path(), keyed);
    assert!(a.append(vec![message(1, Duration::ZERO)], soon()).saved);
    assert!(a_with_key.append(vec![message(2, Duration::ZERO)], soon()).saved);
    assert_ne!(a.dir, a_with_key.dir);
    assert_eq!(indexes(&a_with_key.claim(soon()).0), [2]);
    assert_eq!(indexes(&a.claim(soon()).0), [1]);

    let states = inspect_outboxes(dir.path()).unwrap();
    assert_eq!(states.len(), 2);
    assert!(states.iter().all(|state| state.endpoint.as_deref() == Some("http://a.example/")));
    assert_eq!(states.iter().filter(|state| state.write_key).count(), 1);
}

#[test]
fn files_of_an_unknown_recipient_are_deleted_never_sent() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let outboxes = dir.path().join(OUTBOXES_DIR);
    PrivateDir::create(dir.path()).unwrap().create_dir(OUTBOXES_DIR).unwrap();
    let old = encode_message(&message(9, Duration::ZERO)).unwrap();
    fs::write(outboxes.join("outbox.jsonl"), [old.as_slice(), b"\n"].concat()).unwrap();
    fs::write(outboxes.join("claimed-1-00.jsonl"), [old.as_slice(), b"\n"].concat()).unwrap();
    let (outbox, _) = outbox(dir.path());
    assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()).saved);
    let (claimed, _claim) = outbox.claim(soon());
    assert_eq!(indexes(&claimed), [1]);
    let left: Vec<_> = fs::read_dir(&outboxes).unwrap().flatten().map(|entry| entry.path()).collect();
    assert_eq!(left, std::slice::from_ref(&outbox.dir), "only the recipient's folder is left");
}

#[test]
fn a_live_claim_is_not_taken_a_dead_one_is() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (first, _) = outbox(dir.path());
    let (second, _) = outbox(dir.path());
    assert!(first.append(vec![message(1, Duration::ZERO)], soon()).saved);
    let (claimed, claim) = first.claim(soon());
    assert_eq!(indexes(&claimed), [1]);

    let (taken, none) = second.claim(soon());
    assert!(taken.is_empty() && none.is_none(), "a claim held by a live transport stays with it");

    // The process dies: its lock goes away, its claim file stays.
    drop(claim);
    let (taken, claim) = second.claim(soon());
    assert_eq!(indexes(&taken), [1]);
    second.release(claim.unwrap());
    assert!(waiting(&second).is_empty());
}

#[test]
fn a_write_ahead_survives_the_process_and_is_taken_over() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (dying, _) = outbox(dir.path());
    let claim = dying.write_ahead(&[message(3, Duration::ZERO), message(4, Duration::ZERO)]).unwrap();
    let (next, _) = outbox(dir.path());
    assert!(next.claim(soon()).0.is_empty(), "held while its process lives");
    drop(claim);
    assert_eq!(indexes(&next.claim(soon()).0), [3, 4]);
}

#[test]
fn corrupt_lines_are_skipped_and_counted() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, counters) = outbox(dir.path());
    gate(&outbox);
    let good = encode_message(&message(5, Duration::ZERO)).unwrap();
    let mut content = b"{not json\n\n".to_vec();
    content.extend_from_slice(&good);
    content.extend_from_slice(b"\n{\"anonymousId\":\"only\"}\n\xff\xfe\n");
    content.extend_from_slice(&good[..good.len() / 2]);
    fs::write(outbox_file(&outbox), content).unwrap();

    let (claimed, claim) = outbox.claim(soon());
    assert_eq!(indexes(&claimed), [5]);
    assert!(claim.is_some());
    assert_eq!(counters.snapshot().outbox_corrupt_lines, 4);
    assert_eq!(counters.snapshot().outbox_errors, 0);
}

#[test]
fn an_append_after_a_line_cut_short_keeps_the_new_message_whole() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, counters) = outbox(dir.path());
    assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()).saved);
    let good = encode_message(&message(2, Duration::ZERO)).unwrap();
    // A write cut short by a crash: half a line, no newline.
    File::options().append(true).open(outbox_file(&outbox)).unwrap().write_all(&good[..good.len() / 2]).unwrap();

    assert!(outbox.append(vec![message(3, Duration::ZERO)], soon()).saved);
    assert_eq!(waiting(&outbox), [1, 3]);
    assert_eq!(counters.snapshot().outbox_corrupt_lines, 1);
}

#[test]
fn appends_in_place_until_the_bound_then_the_oldest_are_dropped() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let messages: Vec<TrackMessage> = (0..4).map(|index| message(index, Duration::ZERO)).collect();
    let sizes: Vec<u64> = messages.iter().map(|message| line_size(&line(message.clone()))).collect();
    let (first_three, last_three) = (sizes[..3].iter().sum::<u64>(), sizes[1..].iter().sum::<u64>());
    // Room for either three, never for four (the lines differ in length by a byte or two).
    let bound = first_three.max(last_three);
    let counters = Arc::new(Counters::default());
    let mut options = OutboxOptions::new(dir.path());
    options.max_bytes = bound;
    let outbox = Outbox::new(options, recipient("http://a.example/"), counters.clone(), Arc::new(SystemClock));
    for message in &messages[..3] {
        assert!(outbox.append(vec![message.clone()], soon()).saved);
    }
    let path = outbox_file(&outbox);
    assert_eq!(fs::metadata(&path).unwrap().len(), first_three);
    assert_eq!(counters.snapshot().dropped_outbox_full, 0);

    assert!(outbox.append(vec![messages[3].clone()], soon()).saved);
    assert_eq!(waiting(&outbox), [1, 2, 3]);
    assert_eq!(fs::metadata(&path).unwrap().len(), last_three);
    assert_eq!(counters.snapshot().dropped_outbox_full, 1);
}

#[test]
fn an_expired_message_appended_to_is_dropped_by_the_claim() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, counters) = outbox(dir.path());
    let week = Duration::from_secs(8 * 24 * 60 * 60);
    gate(&outbox);
    let mut old = encode_message(&message(0, week)).unwrap();
    old.push(b'\n');
    fs::write(outbox_file(&outbox), old).unwrap();

    assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()).saved);
    let (claimed, _claim) = outbox.claim(soon());
    assert_eq!(indexes(&claimed), [1]);
    assert_eq!(counters.snapshot().dropped_expired, 1);
}

#[test]
fn concurrent_appends_neither_interleave_nor_lose_lines() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let dir = dir.path().to_owned();
            thread::spawn(move || {
                let (outbox, _) = outbox(&dir);
                for batch in 0..5 {
                    let messages = (0..10).map(|i| message(writer * 100 + batch * 10 + i, Duration::ZERO)).collect();
                    assert!(outbox.append(messages, soon()).saved);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let (outbox, _) = outbox(dir.path());
    let content = fs::read_to_string(outbox_file(&outbox)).unwrap();
    assert!(content.lines().all(|line| serde_json::from_str::<TrackMessage>(line).is_ok()));
    let expected: Vec<u64> = (0..8).flat_map(|w| (0..50).map(move |i| w * 100 + i)).collect();
    assert_eq!(waiting(&outbox), expected);
}

#[test]
fn a_locked_folder_is_waited_for_until_the_deadline() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, counters) = outbox(dir.path());
    let held = gate(&outbox).lock(APPEND_LOCK, soon()).unwrap();
    let started = Instant::now();
    assert!(!outbox.append(vec![message(1, Duration::ZERO)], Instant::now() + Duration::from_millis(50)).saved);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(counters.snapshot().outbox_errors, 1);
    assert_eq!(counters.snapshot().dropped_undelivered, 1);
    drop(held);
    assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()).saved);
}

#[test]
fn purge_deletes_every_recipients_waiting_and_claimed_messages() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (a, _) = outbox_for(dir.path(), recipient("http://a.example/"));
    let (b, _) = outbox_for(dir.path(), recipient("http://b.example/"));
    assert!(a.append(vec![message(1, Duration::ZERO)], soon()).saved);
    let (_, claim) = a.claim(soon());
    assert!(a.append(vec![message(2, Duration::ZERO)], soon()).saved);
    assert!(b.append(vec![message(3, Duration::ZERO)], soon()).saved);

    purge_outboxes(dir.path()).unwrap();
    assert!(waiting(&a).is_empty() && waiting(&b).is_empty());
    drop(claim);
    assert!(inspect_outboxes(dir.path()).unwrap().iter().all(|state| state.waiting == 0));
}

#[test]
fn after_an_opt_out_a_process_from_before_keeps_nothing_whatever_the_clocks_say() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (before, counters) = outbox(dir.path());
    // The opt-out's time is years before the messages: no clock is compared, only the counter.
    record_opt_out(dir.path(), OffsetDateTime::now_utc() - time::Duration::days(3650)).unwrap();
    assert_eq!(before.consent(), Consent::Withdrawn);
    assert!(before.append(vec![message(1, Duration::ZERO), message(2, Duration::ZERO)], soon()).saved);
    assert!(before.write_ahead(&[message(3, Duration::ZERO)]).is_none(), "nothing written ahead either");
    assert_eq!(counters.snapshot().dropped_opted_out, 2);
    assert!(before.claim(soon()).0.is_empty(), "a withdrawn process takes nothing");

    // Switched on again: a new process keeps what it records.
    let (after, _) = outbox(dir.path());
    assert_eq!(after.consent(), Consent::Given);
    assert!(after.append(vec![message(4, Duration::from_secs(60))], soon()).saved);
    let counter = read_opt_out(dir.path()).counter().unwrap();
    assert!(after.dir.join(outbox_name(counter)).is_file());
    assert!(!outbox_file(&after).exists(), "nothing of counter 0 after the opt-out");
}

/// A process that read the mark before its configuration, and had its outbox made after an
/// opt-out landed, works under the counter from before it: it keeps nothing. Without the
/// baseline the outbox would take the new counter for its own.
#[test]
fn an_outbox_under_a_baseline_from_before_an_opt_out_keeps_nothing() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let baseline = read_opt_out(dir.path());
    record_opt_out(dir.path(), OffsetDateTime::now_utc()).unwrap();
    let counters = Arc::new(Counters::default());
    let options = OutboxOptions::new(dir.path()).with_opt_out_baseline(baseline);
    let under_baseline = Outbox::new(options, recipient("http://a.example/"), counters.clone(), Arc::new(SystemClock));
    assert_eq!(under_baseline.consent(), Consent::Withdrawn);
    assert!(under_baseline.append(vec![message(1, Duration::ZERO)], soon()).saved);
    assert_eq!(counters.snapshot().dropped_opted_out, 1);
    let kept = fs::read_dir(&under_baseline.dir).unwrap().flatten().filter(|entry| {
        MessageFile::of(&entry.file_name().to_string_lossy()).is_some_and(|kind| kind != MessageFile::Temporary)
    });
    assert_eq!(kept.count(), 0, "nothing kept, under any counter");

    let (read_at_start, _) = outbox(dir.path());
    assert_eq!(read_at_start.consent(), Consent::Given, "the mark read when the outbox is made");
}

#[test]
fn files_of_another_counter_or_an_older_version_are_deleted_never_sent() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (before, _) = outbox(dir.path());
    let recorded = record_opt_out(dir.path(), OffsetDateTime::now_utc()).unwrap().counter().unwrap();
    let (after, counters) = outbox(dir.path());
    let folder = gate(&after);
    let line = |index| [encode_message(&message(index, Duration::ZERO)).unwrap(), b"\n".to_vec()].concat();
    // What a process of the old counter could still write (a write-ahead racing the purge),
    // and what an older version left.
    folder.write_atomic(&outbox_name(0), &line(1), dlt_fs::Durability::Fast).unwrap();
    folder.write_atomic(&claim_name(0), &line(2), dlt_fs::Durability::Fast).unwrap();
    folder.write_atomic("outbox.jsonl", &line(3), dlt_fs::Durability::Fast).unwrap();
    folder.write_atomic("claimed-77-00ff.jsonl", &line(4), dlt_fs::Durability::Fast).unwrap();
    folder.write_atomic(&outbox_name(recorded), &line(5), dlt_fs::Durability::Fast).unwrap();
    drop(before);

    let (claimed, claim) = after.claim(soon());
    assert_eq!(indexes(&claimed), [5], "only the current counter's messages are taken");
    assert_eq!(counters.snapshot().read_from_outbox, 1);
    let mut left: Vec<String> =
        fs::read_dir(&after.dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.retain(|name| MessageFile::of(name).is_some());
    assert_eq!(left.len(), 1, "only this process's claim is left: {left:?}");
    after.release(claim.unwrap());
}

#[test]
fn the_total_bound_empties_the_least_recently_written_recipients_first() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let options = |max_total| OutboxOptions { max_total_bytes: max_total, ..OutboxOptions::new(dir.path()) };
    // Lines differ by a few bytes (timestamps): a bound of three lines with room to spare, which
    // four lines still overflow.
    let bytes = u64::try_from(encode_message(&message(0, Duration::ZERO)).unwrap().len() + 1).unwrap() + 16;
    let outbox_with = |endpoint: &str, max_total| {
        Outbox::new(options(max_total), recipient(endpoint), Arc::default(), Arc::new(SystemClock))
    };
    let old = outbox_with("http://old.example/", 3 * bytes);
    assert!(old.append(vec![message(1, Duration::ZERO)], soon()).saved);
    let middle = outbox_with("http://middle.example/", 3 * bytes);
    assert!(middle.append(vec![message(2, Duration::ZERO)], soon()).saved);
    // Make the first folder the least recently written, whatever the file system's resolution.
    let past = SystemTime::now() - Duration::from_secs(60);
    File::options().write(true).open(outbox_file(&old)).unwrap().set_modified(past).unwrap();
    let new = outbox_with("http://new.example/", 3 * bytes);
    assert!(new.append(vec![message(3, Duration::ZERO), message(4, Duration::ZERO)], soon()).saved);
    assert!(waiting(&old).is_empty(), "the oldest recipient's messages went first");
    assert_eq!(waiting(&middle), [2]);
    assert_eq!(waiting(&new), [3, 4]);
}

#[test]
fn folders_past_the_age_bound_are_removed() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (stale, _) = outbox_for(dir.path(), recipient("http://stale.example/"));
    assert!(stale.append(vec![message(1, Duration::ZERO)], soon()).saved);
    let long_ago = SystemTime::now() - DEFAULT_OUTBOX_MAX_AGE - Duration::from_secs(3600);
    for entry in fs::read_dir(&stale.dir).unwrap().flatten() {
        File::options().write(true).open(entry.path()).unwrap().set_modified(long_ago).unwrap();
    }
    File::open(&stale.dir).unwrap().set_modified(long_ago).unwrap();
    let (fresh, _) = outbox_for(dir.path(), recipient("http://fresh.example/"));
    assert!(fresh.append(vec![message(2, Duration::ZERO)], soon()).saved);
    assert!(!stale.dir.exists());
    assert_eq!(waiting(&fresh), [2]);
}

#[test]
fn the_sender_lets_go_only_when_nothing_waits() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, _) = outbox(dir.path());
    let mut lock = outbox.lock_sender(soon()).unwrap();
    assert!(lock.is_some() && outbox.sender_running());
    assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()) == Appended { saved: true, sender_needed: false });
    assert!(!outbox.release_sender_if_empty(&mut lock, soon()));
    assert!(lock.is_some());
    let (_, claim) = outbox.claim(soon());
    assert!(outbox.release_sender_if_empty(&mut lock, soon()), "a live claim is its holder's to deliver");
    assert!(lock.is_none() && !outbox.sender_running());
    drop(claim);
    assert!(outbox.append(vec![message(2, Duration::ZERO)], soon()).sender_needed, "no sender now: start one");
}

#[test]
fn the_failure_log_stays_small_and_its_last_line_is_shown() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, _) = outbox(dir.path());
    for attempt in 0..2_000 {
        outbox.log_failure(&format!("connection refused (attempt {attempt})"));
    }
    let size = fs::metadata(outbox.dir.join(FAILURE_LOG)).unwrap().len();
    assert!(size <= FAILURE_LOG_MAX_BYTES + 100, "{size}");
    let state = &inspect_outboxes(dir.path()).unwrap()[0];
    assert!(state.last_error.as_deref().unwrap().ends_with("connection refused (attempt 1999)"), "{state:?}");
}

#[cfg(unix)]
#[test]
fn folders_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, _) = outbox(dir.path());
    assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()).saved);
    outbox.log_failure("HTTP 500 (attempt 1)");
    let (_, _claim) = outbox.claim(soon());
    assert!(outbox.append(vec![message(2, Duration::ZERO)], soon()).saved);
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join(OUTBOXES_DIR)), 0o700);
    assert_eq!(mode(&outbox.dir), 0o700);
    for entry in fs::read_dir(&outbox.dir).unwrap().flatten() {
        assert_eq!(mode(&entry.path()), 0o600, "{:?}", entry.file_name());
    }
}

/// `count` distinct messages as outbox lines, cheaply: one encoded message whose `messageId`
/// is replaced by a counter.
fn many_lines(count: usize) -> Vec<u8> {
    let template = message(0, Duration::ZERO);
    let id = template.message_id.clone().unwrap();
    let line = String::from_utf8(encode_message(&template).unwrap()).unwrap();
    let mut text = Vec::new();
    for index in 0..count {
        let unique = format!("{index:08}-0000-4000-8000-000000000000");
        text.extend_from_slice(line.replace(&id, &unique).as_bytes());
        text.push(b'\n');
    }
    text
}

fn failure_log(outbox: &Outbox) -> String {
    fs::read_to_string(outbox.dir.join(FAILURE_LOG)).unwrap_or_default()
}

#[test]
fn a_20_mib_outbox_is_trimmed_to_its_newest_messages_and_appends_and_claims_go_on() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, counters) = outbox(dir.path());
    let path = outbox_file(&outbox);
    // Lines differ in length by a byte or two (timestamps): a margin keeps the file over 20 MiB.
    let count = 20 * 1024 * 1024 / many_lines(1).len() + 1000;
    gate(&outbox);
    fs::write(&path, many_lines(count)).unwrap();
    assert!(fs::metadata(&path).unwrap().len() > 20 * 1024 * 1024);

    let states = inspect_outboxes(dir.path()).unwrap();
    assert!(states[0].problems.iter().any(|problem| problem.contains("larger than its bound")), "{states:?}");
    assert!(fs::metadata(&path).unwrap().len() > 20 * 1024 * 1024, "inspection repairs nothing");

    assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()).saved);
    let size = fs::metadata(&path).unwrap().len();
    assert!(size <= DEFAULT_OUTBOX_MAX_BYTES, "trimmed within the bound: {size}");
    assert!(waiting(&outbox).contains(&1), "the new message is kept");
    let log = failure_log(&outbox);
    assert!(log.contains("repaired the outbox for http://a.example/"), "{log}");
    assert_eq!(log.lines().count(), 1, "one line: {log}");
    assert_eq!(counters.snapshot().outbox_errors, 0);

    let (claimed, claim) = outbox.claim(soon());
    assert!(claimed.len() > 1000 && claimed.iter().any(|m| m.properties["index"] == 1), "{}", claimed.len());
    assert!(claim.is_some());
    assert!(inspect_outboxes(dir.path()).unwrap()[0].problems.is_empty());
}

#[test]
fn a_claim_takes_the_newest_messages_of_an_oversized_file_and_notes_the_repair() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, counters) = outbox(dir.path());
    gate(&outbox);
    let text = many_lines(20_000);
    fs::write(outbox_file(&outbox), &text).unwrap();
    let (claimed, _claim) = outbox.claim(soon());
    let kept: u64 = claimed.iter().map(|message| line_size(&line(message.clone()))).sum();
    assert!(kept <= DEFAULT_OUTBOX_MAX_BYTES && kept > DEFAULT_OUTBOX_MAX_BYTES / 2, "{kept}");
    let last = String::from_utf8(text).unwrap().lines().last().unwrap().to_owned();
    let newest: TrackMessage = serde_json::from_str(&last).unwrap();
    assert!(claimed.iter().any(|message| message.message_id == newest.message_id), "the newest survives");
    assert!(failure_log(&outbox).contains("repaired the outbox for http://a.example/"));
    assert_eq!(counters.snapshot().outbox_errors, 0);
}

#[test]
fn a_file_of_garbage_lines_takes_appends_and_the_claim_keeps_only_the_messages() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, counters) = outbox(dir.path());
    gate(&outbox);
    let garbage: Vec<u8> = (0..5_000)
        .flat_map(|i| [format!("{{\"not\": \"a message {i}\"}}\n").as_bytes(), b"\x00\xff\n"].concat())
        .collect();
    fs::write(outbox_file(&outbox), garbage).unwrap();
    let states = inspect_outboxes(dir.path()).unwrap();
    assert!(states[0].problems.iter().any(|problem| problem.contains("not messages")), "{states:?}");
    assert_eq!(states[0].waiting, 0);

    // Whole lines within the bound: appended in place, without reading what is there.
    assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()).saved);
    assert_eq!(messages_in(&outbox_file(&outbox)).len(), 1);
    let (claimed, claim) = outbox.claim(soon());
    assert_eq!(indexes(&claimed), [1]);
    assert_eq!(counters.snapshot().outbox_corrupt_lines, 10_000);
    assert!(failure_log(&outbox).contains("10000 lines that are not messages"), "{}", failure_log(&outbox));
    assert!(!outbox_file(&outbox).exists(), "taken over whole, garbage dropped");
    outbox.release(claim.unwrap());
    assert!(inspect_outboxes(dir.path()).unwrap()[0].problems.is_empty());
}

#[test]
fn a_torn_last_line_is_dropped_and_a_claim_takes_the_rest() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, _) = outbox(dir.path());
    gate(&outbox);
    let whole = [encode_message(&message(1, Duration::ZERO)).unwrap(), b"\n".to_vec()].concat();
    let torn = encode_message(&message(2, Duration::ZERO)).unwrap();
    fs::write(outbox_file(&outbox), [whole, torn[..torn.len() / 3].to_vec()].concat()).unwrap();
    assert_eq!(inspect_outboxes(dir.path()).unwrap()[0].waiting, 1);
    assert_eq!(indexes(&outbox.claim(soon()).0), [1]);
}

#[cfg(unix)]
#[test]
fn a_link_planted_in_the_outbox_is_never_written_through_and_is_shown() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    fs::write(&victim, "the victim's file\n").unwrap();
    let (outbox, counters) = outbox(dir.path());
    gate(&outbox);
    std::os::unix::fs::symlink(&victim, outbox_file(&outbox)).unwrap();

    assert!(!outbox.append(vec![message(1, Duration::ZERO)], soon()).saved);
    assert_eq!(counters.snapshot().dropped_undelivered, 1);
    let (claimed, claim) = outbox.claim(soon());
    assert!(claimed.is_empty() && claim.is_none());
    purge_outboxes(dir.path()).unwrap_err();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "the victim's file\n");
    assert!(fs::symlink_metadata(outbox_file(&outbox)).unwrap().file_type().is_symlink(), "left where it is");

    let log = failure_log(&outbox);
    assert!(log.contains("a symbolic link stands in the outbox (refused)"), "{log}");
    assert!(!log.contains(dir.path().to_str().unwrap()), "no path in the log: {log}");
    let state = &inspect_outboxes(dir.path()).unwrap()[0];
    assert!(state.problems.iter().any(|problem| problem.contains("is a symbolic link")), "{state:?}");
}

#[cfg(unix)]
#[test]
fn a_recipient_folder_open_to_others_is_refused_and_shown() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (outbox, counters) = outbox(dir.path());
    gate(&outbox);
    fs::set_permissions(&outbox.dir, fs::Permissions::from_mode(0o777)).unwrap();
    assert!(!outbox.append(vec![message(1, Duration::ZERO)], soon()).saved);
    assert_eq!(counters.snapshot().outbox_errors, 1);
    assert!(
        fs::read_dir(&outbox.dir)
            .unwrap()
            .all(|entry| { MessageFile::of(&entry.unwrap().file_name().into_string().unwrap()).is_none() }),
        "nothing written in it"
    );
    let state = &inspect_outboxes(dir.path()).unwrap()[0];
    assert!(state.problems.iter().any(|problem| problem.contains("mode 0777")), "{state:?}");
}

#[test]
fn inspection_creates_nothing() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let telemetry = dir.path().join("telemetry");
    assert!(inspect_outboxes(&telemetry).unwrap().is_empty());
    assert_eq!(read_opt_out(&telemetry), crate::OptOutMark::NotRecorded);
    assert!(!telemetry.exists());
}
