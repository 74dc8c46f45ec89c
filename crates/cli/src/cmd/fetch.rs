//! `dlscope fetch NAME...`: download catalog datasets, verified, into `$DLSCOPE_DATA` or the
//! user cache, with a progress bar per file.

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog names (see `dlscope datasets`).
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Folder to download into, one subfolder per dataset [default: $DLSCOPE_DATA, else the
    /// user cache folder].
    #[arg(long)]
    pub dest: Option<PathBuf>,
    /// Base URL to download from instead of the catalog's mirrors; repeat to give several,
    /// tried in order (the file name is appended).
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,
    /// Seconds allowed for resolving a host and for connecting, each.
    #[arg(long, default_value_t = 15, value_name = "SECS")]
    pub connect_timeout: u64,
    /// Seconds a response may stall before the request is retried.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub read_timeout: u64,
    /// Requests in a row to one mirror that bring nothing new before trying the next mirror.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub attempts: u32,
    /// Download even when a complete copy is already available elsewhere on this machine.
    #[arg(long)]
    pub force: bool,
}

#[cfg(not(feature = "download"))]
pub fn run(_args: Args) -> anyhow::Result<()> {
    Err(dlscope_data::DataError::FeatureDisabled {
        what: "dlscope fetch".into(),
        feature: "download",
    }
    .into())
}

#[cfg(feature = "download")]
pub fn run(args: Args) -> anyhow::Result<()> {
    use std::time::Duration;

    use anyhow::Context;
    use dlscope_data::catalog::{self, Roots};
    use dlscope_data::download::{fetch, FetchOptions};

    let mut entries = Vec::new();
    for name in &args.names {
        let entry = catalog::find(name).ok_or_else(|| {
            anyhow::anyhow!(
                "'{name}' is not in the catalog (known: {}); `dlscope datasets` lists them",
                catalog::names()
            )
        })?;
        entries.push(entry);
    }
    let roots = Roots::from_env();
    let dest = match &args.dest {
        Some(d) => d.clone(),
        None => roots.download_root().map(PathBuf::from).context(
            "no user cache folder is known on this system; pass --dest DIR or set DLSCOPE_DATA",
        )?,
    };
    let opts = FetchOptions {
        mirrors: (!args.mirrors.is_empty()).then(|| args.mirrors.clone()),
        connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
        read_timeout: Duration::from_secs(args.read_timeout.max(1)),
        attempts_per_mirror: args.attempts.max(1),
        ..FetchOptions::default()
    };
    for entry in entries {
        if !args.force {
            if let Some(dir) = catalog::locate(entry, &roots) {
                if !dir.starts_with(&dest) {
                    println!(
                        "{}: already available at {} (use --force to download a copy into {})",
                        entry.name,
                        dir.display(),
                        dest.display()
                    );
                    continue;
                }
            }
        }
        let dir = fetch(entry, &dest, &opts, &mut bar::driver())
            .with_context(|| format!("cannot fetch {}", entry.name))?;
        println!(
            "{}: {} file(s) verified in {}",
            entry.name,
            entry.files.len(),
            dir.display()
        );
    }
    Ok(())
}

#[cfg(feature = "download")]
mod bar {
    use dlscope_data::download::Progress;
    use indicatif::ProgressBar;

    use crate::cmd::common::bytes_bar;

    /// A callback that keeps one byte progress bar per file up to date.
    pub fn driver() -> impl FnMut(Progress) {
        let mut current: Option<(&'static str, ProgressBar)> = None;
        move |p| match p {
            Progress::Start {
                file, done, total, ..
            } => {
                let pb = match current.take() {
                    Some((f, pb)) if f == file => pb,
                    other => {
                        if let Some((_, old)) = other {
                            old.finish_and_clear();
                        }
                        bytes_bar(total, file)
                    }
                };
                pb.set_position(done);
                current = Some((file, pb));
            }
            Progress::Advance { done, .. } => {
                if let Some((_, pb)) = &current {
                    pb.set_position(done);
                }
            }
            Progress::Verifying { file } => {
                if let Some((_, pb)) = &current {
                    pb.set_message(format!("{file} (checking)"));
                }
            }
            Progress::Retry { file, url, reason } => {
                let line = format!("{file}: {url}: {reason}");
                match &current {
                    Some((_, pb)) if !pb.is_hidden() => pb.println(line),
                    _ => eprintln!("{line}"),
                }
            }
            Progress::Done { file, reused, .. } => {
                if let Some((_, pb)) = current.take() {
                    pb.finish_and_clear();
                }
                if reused {
                    eprintln!("{file}: already here, checksum ok");
                } else {
                    eprintln!("{file}: downloaded, checksum ok");
                }
            }
        }
    }
}
