//! `dlscope info DATASET [--json]`: format, splits, classes with counts, shape or size range.

use dlscope_data::summary::{summarize, Summary};

use super::common::open_dataset;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name (fashion-mnist, mnist, cifar10, ...) or a path, optionally prefixed with
    /// idx:, cifar:, folder: or manifest:.
    pub dataset: String,
    /// Print the summary as JSON (stable layout, see docs/json.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let ds = open_dataset(&args.dataset)?;
    let summary = summarize(&ds);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", render(&summary));
    }
    Ok(())
}

/// The human-readable form.
pub fn render(s: &Summary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "dataset  {}", s.name);
    let _ = writeln!(out, "format   {}", s.format);
    let _ = writeln!(out, "root     {}", s.root);
    let _ = writeln!(
        out,
        "samples  {} in {} split(s), {} classes",
        s.total_samples,
        s.splits.len(),
        s.classes.len()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<10} {:>10} {:>11} {:>10}  images",
        "split", "samples", "unlabelled", "imbalance"
    );
    for sp in &s.splits {
        let shape = match (&sp.shape, &sp.sizes) {
            (Some(sh), _) => format!("{} x {} x {}", sh.height, sh.width, sh.channels),
            (None, Some(r)) => format!(
                "{}-{} x {}-{} (HxW), channels {:?}",
                r.min_height, r.max_height, r.min_width, r.max_width, r.channels
            ),
            (None, None) => "-".into(),
        };
        let imb = sp
            .imbalance_ratio
            .map(|r| format!("{r:.2}"))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:<10} {:>10} {:>11} {:>10}  {}{}",
            sp.name,
            sp.samples,
            sp.unlabelled,
            imb,
            shape,
            if sp.unreadable > 0 {
                format!(" ({} unreadable headers)", sp.unreadable)
            } else {
                String::new()
            }
        );
    }
    if !s.classes.is_empty() {
        let _ = writeln!(out);
        let _ = write!(out, "{:>5} {:<24}", "class", "name");
        for sp in &s.splits {
            let _ = write!(out, " {:>10}", sp.name);
        }
        let _ = writeln!(out, " {:>10}", "total");
        for c in &s.classes {
            let _ = write!(out, "{:>5} {:<24}", c.index, truncate(&c.name, 24));
            for n in &c.per_split {
                let _ = write!(out, " {n:>10}");
            }
            let _ = writeln!(out, " {:>10}", c.total);
        }
    }
    if !s.skipped.is_empty() {
        let _ = writeln!(out, "\n{} file(s) skipped while listing:", s.skipped.len());
        for sk in s.skipped.iter().take(20) {
            let _ = writeln!(out, "  {}: {}", sk.path, sk.reason);
        }
        if s.skipped.len() > 20 {
            let _ = writeln!(out, "  ... and {} more (see --json)", s.skipped.len() - 20);
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
