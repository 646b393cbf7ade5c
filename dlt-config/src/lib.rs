//! dlt's configuration: where the project and global `config.toml`/`secrets.toml` live, how they
//! are layered with the environment, which source decided each value, and the format-preserving
//! telemetry switch writer.
