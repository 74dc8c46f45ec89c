//! Helpers shared by subcommands: opening datasets with context, progress bars.

use std::time::Duration;

use anyhow::Context;
use dlscope_data::Dataset;
use indicatif::{ProgressBar, ProgressStyle};

/// Opens a dataset argument (catalog name, path, or `idx:`/`cifar:`/`folder:`/`manifest:` path).
pub fn open_dataset(spec: &str) -> anyhow::Result<Dataset> {
    dlscope_data::open(spec).with_context(|| format!("cannot open dataset '{spec}'"))
}

/// A progress bar over `len` items with rate and ETA, drawn on stderr (hidden when stderr is
/// not a terminal, so logs and `--json` output stay clean).
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>12} [{bar:32}] {pos}/{len} {per_sec} ETA {eta} {prefix}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// A byte-counting progress bar (downloads).
pub fn bytes_bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>20} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
