//! Filled in by the diet work.
