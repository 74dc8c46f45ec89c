//! `dlscope datasets [--json] [--verify]`: the catalog, with where each dataset is available.

use std::path::PathBuf;

use dlscope_data::catalog::{self, FileCheck, Roots, Status};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the listing as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also check every local copy against the published checksums (reads all its bytes).
    #[arg(long)]
    pub verify: bool,
}

/// One dataset in the JSON output.
#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    status: Status,
    /// Per-file checks of the local copy (with `--verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<Vec<FileRow>>,
}

#[derive(Debug, Serialize)]
struct FileRow {
    file: &'static str,
    #[serde(flatten)]
    check: FileCheck,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let roots = Roots::from_env();
    let mut rows = Vec::new();
    for status in catalog::status(&roots) {
        let verify = match (&status.local, args.verify) {
            (Some(dir), true) => {
                let entry = catalog::find(status.name)
                    .ok_or_else(|| anyhow::anyhow!("{} vanished from the catalog", status.name))?;
                let checks = catalog::verify(entry, dir)?;
                Some(
                    checks
                        .into_iter()
                        .map(|(file, check)| FileRow { file, check })
                        .collect(),
                )
            }
            _ => None,
        };
        rows.push(Row { status, verify });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", render(&rows, &roots));
    }
    Ok(())
}

fn render(rows: &[Row], roots: &Roots) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let dw = rows
        .iter()
        .map(|r| r.status.description.chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{:<14} {:>9} {:>8} {:>8}  {:<dw$}  local copy",
        "name", "download", "classes", "samples", "description"
    );
    for r in rows {
        let s = &r.status;
        let local = match &s.local {
            Some(p) => p.display().to_string(),
            None => format!("not here (dlscope fetch {})", s.name),
        };
        let _ = writeln!(
            out,
            "{:<14} {:>9} {:>8} {:>8}  {:<dw$}  {}",
            s.name,
            catalog::human_bytes(s.download_bytes),
            s.classes,
            s.samples,
            s.description,
            local
        );
        for p in &s.incomplete {
            let _ = writeln!(out, "{:<14} incomplete copy in {}", "", p.display());
        }
        for f in r.verify.iter().flatten() {
            let verdict = match &f.check {
                FileCheck::Official => "ok (published file)".to_string(),
                FileCheck::KnownCopy { origin } => format!("ok ({origin})"),
                FileCheck::Unverified { path } => {
                    format!("present as {} (not checked)", path.display())
                }
                FileCheck::Mismatch { size, sha256 } => {
                    format!("MISMATCH ({size} bytes, sha256 {sha256})")
                }
                FileCheck::Missing => "missing".into(),
            };
            let _ = writeln!(out, "{:<14}   {} {}", "", f.file, verdict);
        }
    }
    let searched: Vec<PathBuf> = roots
        .search_order()
        .iter()
        .map(|p| p.to_path_buf())
        .collect();
    let _ = writeln!(
        out,
        "\nsearched, in order: {}",
        searched
            .iter()
            .map(|p| format!("{}/<name>", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if roots.data.is_none() {
        let _ = writeln!(
            out,
            "set DLSCOPE_DATA to search (and download into) a folder of your own first"
        );
    }
    out
}
