//! A real S3-compatible server (moto) on a free port.
