//! Integration tests of dlscope-analyze, by topic.

mod calibrate;
mod embedded;
mod fashion;
mod injected;
mod jpeg;
mod labels;
mod shards;
mod shifts;
mod util;
