//! Message parsing: any bytes as a [`TrackMessage`]. A message that parses serialises, parses
//! again to an equal value and serialises to the same bytes (the key order kept);
//! [`KnownEvent::parse`] never panics and reads both alike.

use dlt_telemetry_model::{KnownEvent, TrackMessage};

/// Parses `data` as a message and round-trips it.
pub fn check(data: &[u8]) {
    let Ok(message) = serde_json::from_slice::<TrackMessage>(data) else { return };
    let known = KnownEvent::parse(&message);
    let _ = message.category_and_name();

    let bytes = match serde_json::to_vec(&message) {
        Ok(bytes) => bytes,
        Err(error) => panic!("a parsed message does not serialise: {error}"),
    };
    let again: TrackMessage = match serde_json::from_slice(&bytes) {
        Ok(again) => again,
        Err(error) => panic!("a serialised message does not parse ({error}): {}", String::from_utf8_lossy(&bytes)),
    };
    assert_eq!(again, message, "the round trip changed the message: {}", String::from_utf8_lossy(&bytes));
    let bytes_again = serde_json::to_vec(&again).expect("it serialised once");
    assert_eq!(String::from_utf8_lossy(&bytes_again), String::from_utf8_lossy(&bytes), "serialising is not stable");
    let known_again = KnownEvent::parse(&again);
    assert_eq!(known.as_ref().ok(), known_again.as_ref().ok());
    assert_eq!(known.is_err(), known_again.is_err());
}
