//! The `aegis` command line and all-in-one host: every function in one process
//! (`aegis dev`, with the local broker of `aegis-broker`), one function alone
//! (`aegis serve`), the demo, the MCP server (`aegis mcp`), the dead-letter commands,
//! and the configuration check. A library so tests can run `aegis dev` in-process with
//! [`dev::start_dev`].

pub mod cli;
pub mod config;
pub mod dead_letters;
pub mod demo;
pub mod dev;
pub mod functions;
pub mod host;
pub mod mcp;

pub use dev::{DevError, DevHandle, DevOptions, start_dev};
