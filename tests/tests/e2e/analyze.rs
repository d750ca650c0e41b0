//! analyze flow
