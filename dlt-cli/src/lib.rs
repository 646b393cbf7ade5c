//! The grammar of the `dlt` command line ([`cli::Cli`]), a library so that tests can walk every
//! command clap knows. The program itself is `src/main.rs`; this crate publishes no other API.

pub mod cli;
