//! Inline SVG charts: class balance, pixel histograms, image shapes, aspect ratios. Plain
//! shapes and text only, styled by the page's CSS; every label is escaped.

use std::fmt::Write as _;

use dlscope_analyze::profile::{AspectBin, ShapeCount};

use super::esc;

/// Colours of splits, in split order (repeating).
pub const SPLIT_COLOURS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
];

pub fn split_colour(i: usize) -> &'static str {
    SPLIT_COLOURS[i % SPLIT_COLOURS.len()]
}

/// Classes that fit one labelled row each; more are drawn as sorted columns.
const MAX_ROWS: usize = 60;

/// Class balance: one row per class with a bar per split, as the class's share of the split
/// (so splits of different sizes compare), labelled with the count. Many classes: per split, the
/// class counts sorted from largest to smallest.
pub fn class_balance(classes: &[String], splits: &[(&str, &[u64])]) -> String {
    if classes.is_empty() || splits.is_empty() {
        return String::new();
    }
    if classes.len() > MAX_ROWS {
        return splits
            .iter()
            .enumerate()
            .map(|(i, (name, counts))| sorted_columns(name, counts, split_colour(i)))
            .collect();
    }
    let totals: Vec<f64> = splits
        .iter()
        .map(|(_, c)| c.iter().sum::<u64>().max(1) as f64)
        .collect();
    let max_share = splits
        .iter()
        .zip(&totals)
        .flat_map(|((_, c), t)| c.iter().map(move |&n| n as f64 / t))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let (label_w, bar_w, bar_h, gap) = (170.0, 430.0, 11.0, 7.0);
    let row_h = bar_h * splits.len() as f64 + gap;
    let width = label_w + bar_w + 120.0;
    let height = row_h * classes.len() as f64 + 6.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="class balance">"#
    );
    for (c, class) in classes.iter().enumerate() {
        let y0 = c as f64 * row_h + 3.0;
        let _ = write!(
            s,
            r#"<text class="lbl" x="{}" y="{:.1}" text-anchor="end">{}<title>{}</title></text>"#,
            label_w - 8.0,
            y0 + row_h / 2.0 - 1.0,
            esc(&shorten(class, 26)),
            esc(class)
        );
        for (k, ((name, counts), total)) in splits.iter().zip(&totals).enumerate() {
            let n = counts.get(c).copied().unwrap_or(0);
            let share = n as f64 / total;
            let w = (share / max_share * bar_w).max(if n > 0 { 1.0 } else { 0.0 });
            let y = y0 + k as f64 * bar_h;
            let _ = write!(
                s,
                r#"<rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}: {} {} ({:.1}%)</title></rect><text class="val" x="{:.1}" y="{:.1}">{}</text>"#,
                bar_h - 1.0,
                split_colour(k),
                esc(name),
                esc(class),
                n,
                share * 100.0,
                label_w + w + 4.0,
                y + bar_h - 2.5,
                n
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// One split's class counts sorted from largest to smallest, as thin columns.
fn sorted_columns(name: &str, counts: &[u64], colour: &str) -> String {
    let mut v: Vec<u64> = counts.to_vec();
    v.sort_unstable_by(|a, b| b.cmp(a));
    let max = v.first().copied().unwrap_or(0).max(1) as f64;
    let (w, h, left, top, bottom) = (640.0, 150.0, 48.0, 18.0, 20.0);
    let plot_h = h - top - bottom;
    let bw = (w - left) / v.len().max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="class counts of {}">"#,
        esc(name)
    );
    let _ = write!(
        s,
        r#"<text class="lbl" x="{left}" y="12">{}: classes sorted by count (largest {}, smallest {})</text>"#,
        esc(name),
        v.first().copied().unwrap_or(0),
        v.last().copied().unwrap_or(0)
    );
    for (i, &n) in v.iter().enumerate() {
        let bh = n as f64 / max * plot_h;
        let _ = write!(
            s,
            r#"<rect x="{:.2}" y="{:.1}" width="{:.2}" height="{bh:.1}" fill="{colour}"/>"#,
            left + i as f64 * bw,
            top + plot_h - bh,
            (bw - 0.3).max(0.3)
        );
    }
    axis_y(&mut s, left, top, plot_h, max as u64);
    s.push_str("</svg>");
    s
}

/// Pixel-value histogram of one split, one line per channel, y on a square-root scale so the
/// tails stay visible next to a peak (a black background, for instance).
pub fn pixel_histogram(title: &str, hist: &[Vec<u64>]) -> String {
    let (w, h, left, top, bottom) = (340.0, 170.0, 10.0, 20.0, 22.0);
    let plot_w = w - left - 10.0;
    let plot_h = h - top - bottom;
    let colours: &[&str] = if hist.len() == 1 {
        &["#444"]
    } else {
        &["#d62728", "#2ca02c", "#1f77b4", "#777"]
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="pixel histogram of {}"><text class="lbl" x="{left}" y="13">{}</text>"#,
        esc(title),
        esc(title)
    );
    let max = hist
        .iter()
        .flat_map(|c| {
            let t = c.iter().sum::<u64>().max(1) as f64;
            c.iter().map(move |&n| (n as f64 / t).sqrt())
        })
        .fold(0.0f64, f64::max)
        .max(1e-12);
    for (ch, counts) in hist.iter().enumerate() {
        let total = counts.iter().sum::<u64>().max(1) as f64;
        let mut pts = String::new();
        for (v, &n) in counts.iter().enumerate() {
            let x = left + v as f64 / 255.0 * plot_w;
            let y = top + plot_h - (n as f64 / total).sqrt() / max * plot_h;
            let _ = write!(pts, "{x:.1},{y:.1} ");
        }
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.3" stroke-opacity="0.85"/>"#,
            pts.trim_end(),
            colours[ch % colours.len()]
        );
    }
    let _ = write!(
        s,
        r##"<line class="axis" x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}"/>"##,
        top + plot_h,
        left + plot_w
    );
    for v in [0u32, 64, 128, 192, 255] {
        let x = left + v as f64 / 255.0 * plot_w;
        let _ = write!(
            s,
            r#"<text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{v}</text>"#,
            top + plot_h + 14.0
        );
    }
    s.push_str("</svg>");
    s
}

/// The most common image shapes as horizontal bars.
pub fn shapes(common: &[ShapeCount], total: u64, colour: &str) -> String {
    let shown = &common[..common.len().min(10)];
    if shown.is_empty() {
        return String::new();
    }
    let (label_w, bar_w, row_h) = (110.0, 300.0, 16.0);
    let max = shown.iter().map(|c| c.count).max().unwrap_or(1).max(1) as f64;
    let width = label_w + bar_w + 110.0;
    let height = row_h * shown.len() as f64 + 4.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="image shapes">"#
    );
    for (i, c) in shown.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let w = (c.count as f64 / max * bar_w).max(1.0);
        let _ = write!(
            s,
            r#"<text class="lbl" x="{}" y="{:.1}" text-anchor="end">{}x{}x{}</text><rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="{:.1}" fill="{colour}"/><text class="val" x="{:.1}" y="{:.1}">{} ({:.1}%)</text>"#,
            label_w - 8.0,
            y + row_h - 5.0,
            c.width,
            c.height,
            c.channels,
            row_h - 3.0,
            label_w + w + 4.0,
            y + row_h - 5.0,
            c.count,
            c.count as f64 * 100.0 / total.max(1) as f64
        );
    }
    s.push_str("</svg>");
    s
}

/// Aspect ratio (width / height) histogram in log2 bins.
pub fn aspect(bins: &[AspectBin], colour: &str) -> String {
    let (w, h, left, top, bottom) = (420.0, 140.0, 48.0, 8.0, 22.0);
    let plot_w = w - left - 8.0;
    let plot_h = h - top - bottom;
    let max = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let bw = plot_w / bins.len().max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="aspect ratios">"#
    );
    for (i, b) in bins.iter().enumerate() {
        let bh = b.count as f64 / max as f64 * plot_h;
        let _ = write!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{colour}"><title>{:.2} to {:.2}: {}</title></rect>"#,
            left + i as f64 * bw + 0.5,
            top + plot_h - bh,
            (bw - 1.0).max(0.5),
            b.lo,
            b.hi,
            b.count
        );
    }
    // Ticks where width / height is a power of two, if the bins span them.
    if let (Some(first), Some(last)) = (bins.first(), bins.last()) {
        let (lo, hi) = (first.lo.log2(), last.hi.log2());
        for (e, label) in [
            (-2.0, "1:4"),
            (-1.0, "1:2"),
            (0.0, "1:1"),
            (1.0, "2:1"),
            (2.0, "4:1"),
        ] {
            if e > lo && e < hi {
                let x = left + (e - lo) / (hi - lo) * plot_w;
                let _ = write!(
                    s,
                    r#"<text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
                    top + plot_h + 14.0
                );
            }
        }
    }
    axis_y(&mut s, left, top, plot_h, max);
    s.push_str("</svg>");
    s
}

/// A y axis line with 0 and the maximum.
fn axis_y(s: &mut String, left: f64, top: f64, plot_h: f64, max: u64) {
    let _ = write!(
        s,
        r#"<line class="axis" x1="{0}" y1="{top}" x2="{0}" y2="{1:.1}"/><text class="tick" x="{2}" y="{3:.1}" text-anchor="end">{max}</text><text class="tick" x="{2}" y="{1:.1}" text-anchor="end">0</text>"#,
        left - 2.0,
        top + plot_h,
        left - 5.0,
        top + 8.0
    );
}

/// At most `n` characters, with an ellipsis when cut.
pub fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}
