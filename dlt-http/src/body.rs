//! Response bodies read with a cap.

use bytes::{Bytes, BytesMut};

/// The cap transports use for a response body: enough for any error message or rate-limit
/// answer, small enough that a server answering with a huge body costs nothing.
pub const DEFAULT_BODY_CAP: usize = 64 * 1024;

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is larger than the cap; reading stopped there and the connection was dropped.
    #[error("the response body is larger than {cap} bytes")]
    TooLarge {
        /// The cap, in bytes.
        cap: usize,
    },
    /// The body could not be read (connection lost, request timeout).
    #[error("could not read the response body")]
    Read(#[source] reqwest::Error),
}

/// Reads `response`'s body if it is at most `cap` bytes.
///
/// Never holds more than `cap` bytes of body: a `Content-Length` over the cap fails before any
/// byte is read, and a body without one is read chunk by chunk until it passes the cap. On
/// failure the response is dropped, which closes its connection instead of returning it to the
/// pool (the rest of the body is never read).
pub async fn read_body_capped(mut response: reqwest::Response, cap: usize) -> Result<Bytes, BodyError> {
    let announced = response.content_length().map(|length| usize::try_from(length).unwrap_or(usize::MAX));
    if announced.is_some_and(|length| length > cap) {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = BytesMut::with_capacity(announced.unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if chunk.len() > cap - body.len() {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
