//! `digest128`: how dlt hides pipeline, dataset and schema names in anonymous telemetry.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha3::Shake128;
use sha3::digest::{ExtendableOutput, Update, XofReader};

/// Number of SHAKE-128 output bytes dlt keeps: 15 bytes are exactly 20 base64 characters.
const DIGEST_BYTES: usize = 15;

/// dlt's `digest128`: base64 (standard alphabet, no padding) of the 15-byte SHAKE-128 of the
/// UTF-8 string. The same name always gives the same 20 characters, and the name cannot be read
/// back from them.
///
/// ```
/// assert_eq!(dlt_telemetry_model::digest128("tiny"), "HAaZnBCl4sy0jO0VDVOy");
/// ```
pub fn digest128(value: &str) -> String {
    let mut hasher = Shake128::default();
    hasher.update(value.as_bytes());
    let mut digest = [0u8; DIGEST_BYTES];
    hasher.finalize_xof().read(&mut digest);
    STANDARD_NO_PAD.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::digest128;

    #[test]
    fn matches_values_observed_from_dlt() {
        assert_eq!(digest128("tiny"), "HAaZnBCl4sy0jO0VDVOy");
        assert_eq!(digest128("tiny_data"), "45i9eQF39wFD28VfKOIP");
        assert_eq!(digest128("fail_data"), "e1dMgcCyxFXmc3hy+Q2z");
    }

    #[test]
    fn is_twenty_characters_for_any_input() {
        for input in ["", "a", "ünïcødé", &"x".repeat(10_000)] {
            assert_eq!(digest128(input).len(), 20, "input {input:?}");
        }
    }
}
