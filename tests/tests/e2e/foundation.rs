//! foundation flow
