//! Real peers started for tests on free ports in temporary folders. A missing peer
//! fails the test with how to install it (`scripts/install-peers`); it never passes
//! silently.

pub mod alertmanager;
pub mod llama;
pub mod prometheus;
pub mod s3;
