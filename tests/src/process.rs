//! Spawning the real `aegis` binary on a free port and waiting until it is healthy.
