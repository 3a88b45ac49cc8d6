pub use pictor_core as core;
