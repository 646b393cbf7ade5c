//! Message parsing: any bytes as a [`TrackMessage`]. A message that parses serialises, parses
//! again to an equal value and serialises to the same bytes (the key order kept);
//! [`KnownEvent::parse`] never panics and reads both alike.
//!
//! Fuzz input: the JSON.

use std::path::Path;

use dlt_telemetry_model::{KnownEvent, TrackMessage};

/// Parses `data` as a message and round-trips it (bytes that are not a message hold).
pub fn check(data: &[u8]) -> Result<(), String> {
    let Ok(message) = serde_json::from_slice::<TrackMessage>(data) else { return Ok(()) };
    let known = KnownEvent::parse(&message);
    let _ = message.category_and_name();

    let bytes =
        serde_json::to_vec(&message).map_err(|error| format!("a parsed message does not serialise: {error}"))?;
    let shown = String::from_utf8_lossy(&bytes);
    let again: TrackMessage = serde_json::from_slice(&bytes)
        .map_err(|error| format!("a serialised message does not parse ({error}): {shown}"))?;
    if again != message {
        return Err(format!("the round trip changed the message: {shown}"));
    }
    let bytes_again = serde_json::to_vec(&again).map_err(|error| format!("it serialised once, not twice: {error}"))?;
    if bytes_again != bytes {
        return Err(format!("serialising is not stable: {shown} then {}", String::from_utf8_lossy(&bytes_again)));
    }
    let known_again = KnownEvent::parse(&again);
    if known.as_ref().ok() != known_again.as_ref().ok() || known.is_err() != known_again.is_err() {
        return Err(format!("the event reads differently after the round trip: {shown}"));
    }
    Ok(())
}

/// The fuzz target's entry point: the input is the JSON.
pub fn check_input(_scratch: &Path, data: &[u8]) -> Result<(), String> {
    check(data)
}
