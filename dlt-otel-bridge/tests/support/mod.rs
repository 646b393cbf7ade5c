//! What the bridge's test binaries share besides `dlt-test-support`: an environment as a lookup.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;

/// A lookup over fixed pairs, standing in for the process environment.
pub fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| map.get(name).cloned()
}
