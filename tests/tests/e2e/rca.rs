//! rca flow
