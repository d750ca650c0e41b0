//! The statistical root-cause engine: ranks services by how far their signals, error
//! logs and traces depart from their own baseline, preferring the deepest anomalous
//! callee, with calibrated probabilities. No LLM needed.

pub mod eval;
