//! What the dlt-http tests share: environments as lookups, never the process's own.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use dlt_http::{HttpSettings, NetworkEnv, build_client};

/// A lookup over `pairs` only.
pub fn network(pairs: &[(&str, String)]) -> NetworkEnv {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect();
    NetworkEnv::from_lookup(move |name| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()))
}

/// A client over `pairs`.
pub fn client(pairs: &[(&str, String)]) -> reqwest::Client {
    build_client(&HttpSettings::new(network(pairs))).unwrap()
}
