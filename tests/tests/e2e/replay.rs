//! replay flow
