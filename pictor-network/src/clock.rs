//! Wall-clock time as Unix milliseconds, the unit of every stored timestamp: the core's
//! [`pictor_core::clock`], re-exported. The coordinator reads time from the [`Clock`] in its
//! configuration; this function is for the few places outside it (migrations, uptime).

pub use pictor_core::clock::{Clock, ManualClock, SystemClock, now_ms};
