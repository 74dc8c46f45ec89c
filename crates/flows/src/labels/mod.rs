//! Filled in by the labels work.
