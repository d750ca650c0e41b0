//! tools flow
