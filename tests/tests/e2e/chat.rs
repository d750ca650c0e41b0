//! chat flow
