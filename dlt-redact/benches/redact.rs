//! What hiding secrets costs: `Redactor::redact` on a 1.5 MiB text (a large trace's job list,
//! a few of the secrets planted in it) against a set of 20,000 secrets (a large `secrets.toml`)
//! and against 10, and building the set of 20,000.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dlt_redact::{MASK, Redactor};

/// The size of the text, as the trace of a load with 20,000 jobs.
const TEXT_BYTES: usize = 3 * 1024 * 1024 / 2;

fn secrets(count: usize) -> Vec<String> {
    (0..count).map(|index| format!("tok-{index:07}")).collect()
}

/// Lines of a job list, one in a thousand also quoting a secret of the smaller set (so every
/// set finds something to hide); no URL.
fn text() -> String {
    let mut text = String::with_capacity(TEXT_BYTES + 128);
    let mut index = 0;
    while text.len() < TEXT_BYTES {
        write!(text, r#"{{"file": "/data/load/{index:06}.parquet", "table": "players", "state": "completed"}}, "#)
            .unwrap();
        if index % 1000 == 0 {
            write!(text, r#"{{"error": "auth failed with tok-{:07}"}}, "#, index % 10).unwrap();
        }
        index += 1;
    }
    text
}

fn redact(c: &mut Criterion) {
    let text = text();
    let mut group = c.benchmark_group("redact 1.5 MiB");
    group.sample_size(10);
    for count in [10, 20_000] {
        let redactor = Redactor::new(secrets(count));
        assert!(redactor.redact(&text, MASK).contains("auth failed with ***"));
        group.bench_function(format!("{count} secrets"), |b| b.iter(|| black_box(redactor.redact(&text, MASK))));
    }
    // The worst case: secrets that end with one another (a, aa, aaa...: as many as a 1 MiB
    // secrets file holds) in a text of that letter, so every place ends an occurrence of each.
    let nested = Redactor::new((6..1_450).map(|length| "a".repeat(length)));
    let letters = "a".repeat(TEXT_BYTES);
    group.bench_function("1444 nested secrets, all found everywhere", |b| {
        b.iter(|| black_box(nested.redact(&letters, MASK)))
    });
    group.finish();
    let many = secrets(20_000);
    c.bench_function("build a set of 20000 secrets", |b| b.iter(|| black_box(Redactor::new(&many))));
}

criterion_group!(benches, redact);
criterion_main!(benches);
