//! store flow
