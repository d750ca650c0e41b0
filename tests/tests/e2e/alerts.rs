//! alerts flow
