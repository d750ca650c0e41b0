//! Compaction: tool results turned into short text the model can read, each saying
//! what it left out, within a token budget (see [`tokens`] for how tokens are counted).

pub mod format;
pub mod list;
pub mod logs;
pub mod series;
pub mod tokens;
pub mod traces;

/// Token budget of one tool call's compacted output (the target is under 4,000).
pub const BUDGET: usize = 3_500;
