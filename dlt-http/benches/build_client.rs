//! What building a client costs: the first one in a process (which loads the OS store), every
//! later one, one with an `SSL_CERT_FILE`, and, for comparison, reqwest's own default (whose
//! platform verifier reloads the OS store each time).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
#![allow(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use dlt_http::{HttpSettings, NetworkEnv, build_client, ensure_crypto_provider};
use dlt_test_support::TestCa;

fn build(c: &mut Criterion) {
    let plain = HttpSettings::new(NetworkEnv::from_lookup(|_| None));
    c.bench_function("build_client (OS store cached)", |b| b.iter(|| black_box(build_client(&plain).unwrap())));

    let ca = TestCa::new().unwrap();
    let file = ca.ca_file().display().to_string();
    let with_file =
        HttpSettings::new(NetworkEnv::from_lookup(move |name| (name == "SSL_CERT_FILE").then(|| file.clone())));
    c.bench_function("build_client with SSL_CERT_FILE", |b| b.iter(|| black_box(build_client(&with_file).unwrap())));

    let proxied = HttpSettings::new(NetworkEnv::from_lookup(|name| {
        (name == "HTTPS_PROXY" || name == "NO_PROXY")
            .then(|| if name == "NO_PROXY" { "localhost".into() } else { "http://proxy:3128".into() })
    }));
    c.bench_function("build_client with a proxy", |b| b.iter(|| black_box(build_client(&proxied).unwrap())));

    ensure_crypto_provider();
    c.bench_function("reqwest default (platform verifier)", |b| {
        b.iter(|| black_box(reqwest::Client::builder().no_proxy().build().unwrap()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = build
}

fn main() {
    // Before criterion: the first client of the process pays for loading the OS store.
    let started = Instant::now();
    black_box(build_client(&HttpSettings::new(NetworkEnv::from_lookup(|_| None))).unwrap());
    println!("first build_client in the process (loads the OS store): {:?}", started.elapsed());
    let started = Instant::now();
    black_box(build_client(&HttpSettings::new(NetworkEnv::from_lookup(|_| None))).unwrap());
    println!("second build_client: {:?}", started.elapsed());

    benches();
    Criterion::default().configure_from_args().final_summary();
}
