//! The caller's span, from `TRACEPARENT` and `TRACESTATE` in W3C trace-context format (the
//! environment-variable carrier of OpenTelemetry's context propagation).

use std::fmt;
use std::str::FromStr;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// Why a `traceparent` or `tracestate` value was rejected. Never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TraceContextError {
    /// Not `version-traceid-parentid-flags` in lower-case hex of lengths 2, 32, 16 and 2,
    /// or version `ff`, or an all-zero trace or parent id.
    #[error("not a W3C traceparent (version-traceid-parentid-flags in lower-case hex)")]
    InvalidTraceParent,
    /// Not a W3C `tracestate` list of at most 32 `key=value` members.
    #[error("not a W3C tracestate list")]
    InvalidTraceState,
}

/// The caller's span that a run or command joins: same trace id, its span as parent.
#[derive(Clone, PartialEq)]
pub struct TraceParent {
    span_context: SpanContext,
}

impl TraceParent {
    /// Parses a W3C `traceparent`, e.g. `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01`.
    /// A later version is read by its first four fields, as the W3C specification asks.
    pub fn parse(traceparent: &str) -> Result<Self, TraceContextError> {
        let invalid = TraceContextError::InvalidTraceParent;
        let value = traceparent.trim_matches([' ', '\t']);
        let (head, rest) = value.split_at_checked(55).unwrap_or((value, ""));
        let fields: Vec<&str> = head.split('-').collect();
        let [version, trace_id, span_id, flags] = fields.as_slice() else {
            return Err(invalid);
        };
        let is_hex = |field: &str, len: usize| {
            field.len() == len && field.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
        };
        let shapes_ok = is_hex(version, 2) && is_hex(trace_id, 32) && is_hex(span_id, 16) && is_hex(flags, 2);
        // Version 00 has exactly four fields; a later version may add fields after a `-`.
        let tail_ok = if *version == "00" { rest.is_empty() } else { rest.is_empty() || rest.starts_with('-') };
        if !shapes_ok || !tail_ok || *version == "ff" {
            return Err(invalid);
        }
        let trace_id = TraceId::from_hex(trace_id).map_err(|_| invalid)?;
        let span_id = SpanId::from_hex(span_id).map_err(|_| invalid)?;
        let flags = u8::from_str_radix(flags, 16).map_err(|_| invalid)?;
        let span_context =
            SpanContext::new(trace_id, span_id, TraceFlags::new(flags) & TraceFlags::SAMPLED, true, TraceState::NONE);
        if !span_context.is_valid() {
            return Err(invalid);
        }
        Ok(Self { span_context })
    }

    /// Adds the caller's `tracestate` (vendor data carried along the trace).
    pub fn set_trace_state(&mut self, tracestate: &str) -> Result<(), TraceContextError> {
        let invalid = TraceContextError::InvalidTraceState;
        // W3C keys and values are never empty; the SDK's parser checks the rest.
        let members = tracestate.split(',').map(|member| member.trim_matches([' ', '\t'])).filter(|m| !m.is_empty());
        for member in members {
            let (key, value) = member.split_once('=').ok_or(invalid)?;
            if key.is_empty() || value.is_empty() {
                return Err(invalid);
            }
        }
        let state = TraceState::from_str(tracestate.trim()).map_err(|_| invalid)?;
        let context = &self.span_context;
        self.span_context = SpanContext::new(context.trace_id(), context.span_id(), context.trace_flags(), true, state);
        Ok(())
    }

    /// The trace id, 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        self.span_context.trace_id().to_string()
    }

    /// The caller's span id, 16 lower-case hex digits.
    pub fn parent_span_id(&self) -> String {
        self.span_context.span_id().to_string()
    }

    /// Whether the caller sampled its trace; when not, the run is not recorded either.
    pub fn is_sampled(&self) -> bool {
        self.span_context.is_sampled()
    }

    /// The remote span context for the SDK.
    pub(crate) fn span_context(&self) -> &SpanContext {
        &self.span_context
    }
}

impl fmt::Debug for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceParent")
            .field("trace_id", &self.trace_id())
            .field("parent_span_id", &self.parent_span_id())
            .field("sampled", &self.is_sampled())
            .field("trace_state", &self.span_context.trace_state().header())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const VALID: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn parses_a_w3c_traceparent() {
        let parent = TraceParent::parse(VALID).unwrap();
        assert_eq!(parent.trace_id(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(parent.parent_span_id(), "b7ad6b7169203331");
        assert!(parent.is_sampled());
        assert!(parent.span_context().is_remote());
        let unsampled = TraceParent::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00").unwrap();
        assert!(!unsampled.is_sampled());
    }

    #[test]
    fn a_later_version_is_read_by_its_first_four_fields() {
        let parent = TraceParent::parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09-extra").unwrap();
        assert!(parent.is_sampled());
        assert!(TraceParent::parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").is_ok());
        assert!(TraceParent::parse("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x").is_err());
    }

    #[test]
    fn rejects_what_w3c_rejects() {
        let invalid = [
            "",
            "garbage",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-abc-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
            "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
            "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ];
        for value in invalid {
            assert_eq!(TraceParent::parse(value), Err(TraceContextError::InvalidTraceParent), "{value:?}");
        }
    }

    #[test]
    fn keeps_a_valid_tracestate_and_rejects_an_invalid_one() {
        let mut parent = TraceParent::parse(VALID).unwrap();
        parent.set_trace_state("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7").unwrap();
        assert_eq!(parent.span_context().trace_state().get("rojo"), Some("00f067aa0ba902b7"));
        for invalid in ["no separator", "=", "key=", "=value", "UPPER=x", "a=1,b"] {
            assert_eq!(parent.set_trace_state(invalid), Err(TraceContextError::InvalidTraceState), "{invalid:?}");
        }
        assert_eq!(parent.span_context().trace_state().get("congo"), Some("t61rcWkgMzE"));
    }
}
