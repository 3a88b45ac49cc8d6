//! Scheduling: ETC matrices for unrelated machines, makespan lower bounds and batch heuristics.

pub mod etc;
pub mod lp_bound;
pub mod min_min;
