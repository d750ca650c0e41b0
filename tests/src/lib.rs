//! Test support: spawning the real binaries, free ports, and the fakes of peers that cannot run here.
