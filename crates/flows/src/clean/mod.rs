//! Filled in by the clean work.
