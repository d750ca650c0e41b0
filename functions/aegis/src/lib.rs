//! The `aegis` host: every function in one process (`aegis dev`), one function alone
//! (`aegis serve`), the local broker, the MCP server (`aegis mcp`), and the command
//! line around them. A library so
//! tests can run `aegis dev` in-process with [`dev::start_dev`].

pub mod broker;
pub mod cli;
pub mod dead_letter;
pub mod demo;
pub mod dev;
pub mod host;
pub mod mcp;

pub use dev::{DevError, DevHandle, DevOptions, start_dev};
