//! The background thread: named, with its own current-thread runtime, inside or outside a host's
//! runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use dlt_http::{CurrentThreadRuntime, spawn_runtime_thread};

#[test]
fn the_thread_is_named_and_runs_the_future_with_time_and_io() {
    let handle = spawn_runtime_thread("dlt-sender", async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        (std::thread::current().name().map(str::to_owned), listener.local_addr().is_ok())
    })
    .unwrap();
    assert_eq!(handle.join().unwrap(), (Some("dlt-sender".to_owned()), true));
}

#[tokio::test]
async fn it_starts_from_inside_a_host_runtime() {
    let handle = spawn_runtime_thread("dlt-inside", async { 42 }).unwrap();
    assert_eq!(tokio::task::spawn_blocking(move || handle.join().unwrap()).await.unwrap(), 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_starts_from_inside_a_multi_thread_host_runtime() {
    let handle = spawn_runtime_thread("dlt-inside-mt", async { tokio::task::yield_now().await }).unwrap();
    tokio::task::spawn_blocking(move || handle.join().unwrap()).await.unwrap();
}

#[tokio::test]
async fn the_runtime_is_dropped_inside_a_host_runtime_without_blocking_or_panicking() {
    // Built and used on a thread that is not a tokio worker, dropped inside the host's runtime
    // with a blocking task still running.
    let runtime = tokio::task::spawn_blocking(|| {
        let runtime = CurrentThreadRuntime::new().unwrap();
        assert_eq!(runtime.block_on(async { tokio::task::spawn_blocking(|| 7).await.unwrap() }), 7);
        runtime.block_on(async {
            drop(tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_secs(5))));
        });
        runtime
    })
    .await
    .unwrap();
    let started = std::time::Instant::now();
    drop(runtime);
    assert!(started.elapsed() < Duration::from_secs(1), "the drop waited for the blocking task");
}
