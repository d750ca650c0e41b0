//! Test support: spawning the real binaries, free ports, real peers (Prometheus,
//! Alertmanager, an S3-compatible server) and fakes of the peers that cannot run here
//! (Feishu, an OpenAI-compatible model), each faithful to the published API.

pub mod cluster;
pub mod fake_feishu;
pub mod fake_llm;
pub mod http;
pub mod peers;
pub mod process;
pub mod reports;
pub mod storm;
pub mod vars;
