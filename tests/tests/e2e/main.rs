//! End-to-end tests: the real host and functions over real HTTP, against real peers
//! where one can run here. One test binary, one module per flow.

mod alerts;
mod analyze;
mod bridge;
mod chat;
mod demo;
mod foundation;
mod incidents;
mod languages;
mod manifests;
mod mcp;
mod page;
mod rca;
mod redaction;
mod replay;
mod routes;
mod store;
mod storms;
mod tools;
