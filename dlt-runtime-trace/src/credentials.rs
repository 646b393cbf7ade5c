//! Credentials travel only with the endpoint they were given for: a credential (the Segment
//! write key, the OTLP headers) is sent only to an endpoint set at the same or a more trusted
//! level than the credential itself: the built-in default, then the environment, then the
//! global dir's files, then the project's files. So running `dlt` in a cloned repository whose
//! `.dlt/config.toml` names an endpoint never sends that repository's endpoint the key from the
//! user's own global `secrets.toml` or environment.

use std::fmt;

use dlt_config::{RuntimeConfig, Secret, Source};

/// The configured Segment write key's setting.
pub(crate) const WRITE_KEY_SETTING: &str = "runtime.dlthub_telemetry_segment_write_key";
/// The configured Segment endpoint's setting.
pub(crate) const ENDPOINT_SETTING: &str = "runtime.dlthub_telemetry_endpoint";

/// A credential that is not sent because its endpoint comes from a less trusted source.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WithheldCredential {
    /// What is withheld, e.g. `runtime.dlthub_telemetry_segment_write_key`.
    pub credential: String,
    /// Where it was set.
    pub credential_source: Source,
    /// The endpoint setting it would have gone to, e.g. `runtime.dlthub_telemetry_endpoint`.
    pub endpoint: String,
    /// Where the endpoint was set.
    pub endpoint_source: Source,
}

impl fmt::Display for WithheldCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (set in {}) is not sent to {} (set in {}): a credential goes only to an endpoint set in the same place or a more trusted one (the environment, then the global dir, then the project)",
            self.credential, self.credential_source, self.endpoint, self.endpoint_source
        )
    }
}

/// Whether a credential set in `credential` may be sent to an endpoint set in `endpoint`.
pub(crate) fn may_travel(credential: &Source, endpoint: &Source) -> bool {
    endpoint.trust() >= credential.trust()
}

/// The write key usage telemetry sends with its endpoint: `Ok(None)` without one, `Err` when
/// the endpoint comes from a less trusted source than the key.
pub(crate) fn segment_write_key(runtime: &RuntimeConfig) -> Result<Option<&Secret>, WithheldCredential> {
    let key = &runtime.dlthub_telemetry_segment_write_key;
    let endpoint = &runtime.dlthub_telemetry_endpoint;
    match &key.value {
        Some(_) if !may_travel(&key.source, &endpoint.source) => Err(WithheldCredential {
            credential: WRITE_KEY_SETTING.to_owned(),
            credential_source: key.source.clone(),
            endpoint: ENDPOINT_SETTING.to_owned(),
            endpoint_source: endpoint.source.clone(),
        }),
        key => Ok(key.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use dlt_config::{FileKind, Scope};

    use super::*;

    fn file(scope: Scope) -> Source {
        Source::File { path: PathBuf::from("secrets.toml"), scope, kind: FileKind::Secrets }
    }

    #[test]
    fn a_credential_goes_only_to_an_endpoint_at_least_as_trusted() {
        let env = Source::Environment { variable: "X".into() };
        let (project, global) = (file(Scope::Project), file(Scope::Global));
        let allowed = [
            (&project, &project),
            (&project, &global),
            (&global, &global),
            (&global, &env),
            (&env, &env),
            (&env, &Source::Default),
            (&project, &Source::Default),
        ];
        for (credential, endpoint) in allowed {
            assert!(may_travel(credential, endpoint), "{credential:?} -> {endpoint:?}");
        }
        for (credential, endpoint) in [(&global, &project), (&env, &project), (&env, &global)] {
            assert!(!may_travel(credential, endpoint), "{credential:?} -> {endpoint:?}");
        }
    }
}
