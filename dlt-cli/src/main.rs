//! The `dlt` command line.

fn main() {}
