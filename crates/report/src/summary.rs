//! The terminal summary printed at the end of `dlscope analyze`: splits with their
//! normalisation constants (as pasted into `transforms.Normalize`), findings per kind, and the
//! class imbalance of each split. Plain text, no colours, so it can be pinned by a test.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dlscope_analyze::{Analysis, DatasetMeta, FindingKind, Profile, SplitProfile};

/// Renders the summary of an analysis.
pub fn render_analysis(a: &Analysis) -> String {
    render(&a.dataset, &a.profile, &a.counts)
}

/// Renders the summary from its parts (e.g. of a [`crate::Report`] read back).
pub fn render(
    dataset: &DatasetMeta,
    profile: &Profile,
    counts: &BTreeMap<FindingKind, u64>,
) -> String {
    let mut s = String::new();
    let total: u64 = profile.splits.iter().map(|p| p.samples).sum();
    let _ = writeln!(
        s,
        "{} ({}): {} samples, {} split{}, {} class{}",
        clean(&dataset.name),
        dataset.format,
        total,
        profile.splits.len(),
        plural(profile.splits.len()),
        dataset.classes.len(),
        if dataset.classes.len() == 1 { "" } else { "es" },
    );
    s.push('\n');

    let mut rows = vec![cells(&[
        "split",
        "samples",
        "unreadable",
        "imbalance",
        "normalisation (pixels / 255)",
    ])];
    for p in &profile.splits {
        rows.push(vec![
            clean(&p.name),
            p.samples.to_string(),
            p.unreadable.to_string(),
            p.imbalance_ratio
                .map_or_else(|| "-".to_string(), |r| format!("{r:.2}x")),
            normalisation(p),
        ]);
    }
    s.push_str(&table(&rows, &[false, true, true, true, false]));
    s.push('\n');

    let mut rows = vec![cells(&["finding", "count"])];
    let mut sum = 0;
    for kind in FindingKind::ALL {
        let n = counts.get(&kind).copied().unwrap_or(0);
        sum += n;
        rows.push(vec![kind.as_str().to_string(), n.to_string()]);
    }
    // Kinds added later than this list still count.
    for (kind, &n) in counts {
        if !FindingKind::ALL.contains(kind) {
            sum += n;
            rows.push(vec![kind.as_str().to_string(), n.to_string()]);
        }
    }
    rows.push(vec!["total".into(), sum.to_string()]);
    s.push_str(&table(&rows, &[false, true]));
    s.push('\n');

    s.push_str("class balance (largest / smallest class):\n");
    let name_w = profile
        .splits
        .iter()
        .map(|p| clean(&p.name).chars().count())
        .max()
        .unwrap_or(0);
    for p in &profile.splits {
        let _ = writeln!(
            s,
            "  {:<name_w$}  {}",
            clean(&p.name),
            imbalance(p, &dataset.classes)
        );
    }
    s
}

/// `mean=(0.2860,) std=(0.3530,)` for grey, `mean=(0.4914, 0.4822, 0.4465) std=(...)` for
/// colour: Python tuples, ready to paste.
pub fn normalisation(p: &SplitProfile) -> String {
    if p.pixels.pixels == 0 {
        return "- (no readable image)".into();
    }
    format!(
        "mean={} std={}",
        py_tuple(&p.pixels.mean),
        py_tuple(&p.pixels.std)
    )
}

fn py_tuple(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.4}")).collect();
    match parts.len() {
        1 => format!("({},)", parts[0]),
        _ => format!("({})", parts.join(", ")),
    }
}

fn imbalance(p: &SplitProfile, classes: &[String]) -> String {
    let present: Vec<(usize, u64)> = p
        .class_counts
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, n)| n > 0)
        .collect();
    let name = |c: usize| {
        classes
            .get(c)
            .map_or_else(|| c.to_string(), |n| format!("'{}'", clean(n)))
    };
    let mut out = match present.len() {
        0 => "no labelled samples".to_string(),
        1 => format!("one class only: {} ({})", name(present[0].0), present[0].1),
        _ => {
            // First largest and first smallest, by class index on ties.
            let big = present
                .iter()
                .copied()
                .reduce(|a, b| if b.1 > a.1 { b } else { a })
                .unwrap_or(present[0]);
            let small = present
                .iter()
                .copied()
                .reduce(|a, b| if b.1 < a.1 { b } else { a })
                .unwrap_or(present[0]);
            if big.1 == small.1 {
                format!("balanced, {} per class", big.1)
            } else {
                format!(
                    "{:.2}x  {} {} / {} {}",
                    big.1 as f64 / small.1 as f64,
                    name(big.0),
                    big.1,
                    name(small.0),
                    small.1
                )
            }
        }
    };
    if !p.empty_classes.is_empty() && !classes.is_empty() {
        let _ = write!(
            out,
            "; {} class{} with no sample",
            p.empty_classes.len(),
            if p.empty_classes.len() == 1 { "" } else { "es" }
        );
    }
    if p.unlabelled > 0 {
        let _ = write!(out, "; {} unlabelled", p.unlabelled);
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn cells(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Control characters (a newline in a class name) would break the table: shown as `?`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Aligned columns, two spaces apart; `right[i]` right-aligns column `i`. No trailing spaces.
fn table(rows: &[Vec<String>], right: &[bool]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c] - cell.chars().count();
            if right.get(c).copied().unwrap_or(false) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}
