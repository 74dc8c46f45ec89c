//! Integration tests of dlscope-analyze, by topic.

mod calibrate;
mod fashion;
mod injected;
mod jpeg;
mod shards;
mod util;
