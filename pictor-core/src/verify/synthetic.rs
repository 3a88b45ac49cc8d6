//! Synthetic scenes, honest renders and cheats for tests and benches (filled in next).
