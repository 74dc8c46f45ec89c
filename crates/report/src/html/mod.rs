//! `report.html`: one self-contained, offline page (inline CSS, inline SVG charts, PNG data
//! URIs; no script, no external reference) with the profile, the findings counts and a
//! gallery per finding kind.

pub mod chart;
pub mod cluster;
mod gallery;
pub mod svg;
pub mod thumbs;

use std::fmt::Write as _;

use dlscope_analyze::{Analysis, FindingKind, SplitProfile};
use dlscope_data::catalog::human_bytes;
use dlscope_data::Dataset;

use crate::json::SCHEMA_VERSION;
use crate::summary::normalisation;

const STYLE: &str = include_str!("style.css");

/// Limits of the HTML galleries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlOptions {
    /// Items (ungrouped kinds) or groups (duplicates, leaks, conflicts) per gallery.
    pub gallery_limit: usize,
    /// Samples shown per group.
    pub group_members: usize,
    /// Longest side of a thumbnail, in pixels.
    pub thumb_side: u32,
    /// Mean images shown (first classes).
    pub mean_images_limit: usize,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            gallery_limit: 60,
            group_members: 8,
            thumb_side: 64,
            mean_images_limit: 400,
        }
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `70,000`.
pub fn fmt_n(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `Near duplicate` for `near_duplicate`.
pub fn kind_title(kind: FindingKind) -> String {
    let s = kind.as_str().replace('_', " ");
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// What a finding kind means, with the threshold it was found with.
pub fn describe(kind: FindingKind, a: &Analysis) -> String {
    let t = &a.settings.thresholds;
    match kind.as_str() {
        "unreadable" => "Could not be decoded; the decoder's reason is in the detail.".into(),
        "exact_duplicate" => "Same decoded pixels and shape as another sample.".into(),
        "near_duplicate" => format!(
            "Perceptual hash within {} of 64 bits of a sample with other pixels (re-encodes, \
             resizes, small edits); groups join links transitively.",
            t.near_duplicate_distance
        ),
        "label_conflict" => "An exact or near duplicate carries a different label.".into(),
        "leak" => format!(
            "Evaluation sample with an exact or near duplicate in the training split ({}); only \
             the evaluation side is a finding, its training copy is shown beside it.",
            a.settings.train_split.as_deref().unwrap_or("train")
        ),
        "outlier" => format!(
            "Mean distance to its {} nearest neighbours (8x8 grey thumbnails) more than {} robust \
             z above the median; highest score first.",
            t.outlier_k, t.outlier_z
        ),
        "dark" => format!("99th percentile of grey below {}.", t.dark),
        "light" => format!("5th percentile of grey above {}.", t.light),
        "blurry" => format!(
            "Sharpness (std of the Laplacian over std of the image) below {}.",
            t.blurry
        ),
        "low_information" => format!(
            "Entropy of the grey histogram below {} bits.",
            t.low_information
        ),
        "constant" => format!(
            "One value everywhere (spread of at most {}).",
            t.constant_range
        ),
        "grayscale" => format!(
            "Grey content stored as colour in a colour dataset (channel spread below {}).",
            t.grayscale_chroma
        ),
        "odd_size" => format!(
            "Area more than {} robust z and {:.0}x away from the typical area.",
            t.odd_size_z,
            2f64.powf(t.odd_size_min_log2)
        ),
        "odd_aspect_ratio" => format!(
            "Aspect ratio more than {} robust z and {:.1}x away from the typical one.",
            t.odd_aspect_z,
            2f64.powf(t.odd_aspect_min_log2)
        ),
        "label_issue" => "The given label is likely wrong (confident learning over out-of-sample \
                          predicted probabilities); each shows the given label and the one \
                          suggested instead."
            .into(),
        other => format!("Findings of kind {other}."),
    }
}

/// Renders the page. Thumbnails are re-loaded from `dataset` (the one analysed); without it
/// galleries show placeholders.
pub fn render(a: &Analysis, dataset: Option<&Dataset>, opts: &HtmlOptions) -> String {
    let plans = gallery::plan(a, opts);
    let keys = gallery::keys(&plans, a);
    let thumbs = thumbs::load(dataset, &keys, opts.thumb_side);

    let mut s = String::with_capacity(64 * 1024 + keys.len() * 2048);
    let title = format!("dlscope report: {}", a.dataset.name);
    let _ = write!(
        s,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{}</title><style>{STYLE}</style></head><body>"#,
        esc(&title)
    );
    header(&mut s, a, &plans);
    s.push_str(r#"<main class="wrap">"#);
    overview(&mut s, a);
    findings_table(&mut s, a);
    classes(&mut s, a);
    pixels(&mut s, a);
    sizes(&mut s, a);
    mean_images(&mut s, a, opts);
    for p in &plans {
        gallery::render(&mut s, p, a, &thumbs, &describe(p.kind, a));
    }
    settings(&mut s, a);
    let _ = write!(
        s,
        r#"</main><footer class="wrap">Written by dlscope {} · report.json schema_version {SCHEMA_VERSION} · every finding is a row of <code>findings.csv</code>, every sample a row of <code>features.csv</code>.</footer></body></html>"#,
        env!("CARGO_PKG_VERSION")
    );
    s
}

fn header(s: &mut String, a: &Analysis, plans: &[gallery::Plan]) {
    let total: u64 = a.profile.splits.iter().map(|p| p.samples).sum();
    let count = |k: FindingKind| a.counts.get(&k).copied().unwrap_or(0);
    let findings: u64 = a.counts.values().sum();
    let splits: Vec<String> = a
        .profile
        .splits
        .iter()
        .map(|p| format!("{} {}", p.name, fmt_n(p.samples)))
        .collect();
    let _ = write!(
        s,
        r#"<header class="top"><div class="wrap"><h1><span>dlscope report ·</span> {}</h1><p class="sub">{} format · {} · {} classes</p><div class="cards">"#,
        esc(&a.dataset.name),
        a.dataset.format,
        esc(&splits.join(" · ")),
        fmt_n(a.dataset.classes.len() as u64)
    );
    let card = |s: &mut String, value: u64, label: &str, flag: bool| {
        let _ = write!(
            s,
            r#"<div class="card{}"><b>{}</b><span>{}</span></div>"#,
            if flag && value > 0 { " bad" } else { "" },
            fmt_n(value),
            label
        );
    };
    card(s, total, "samples", false);
    card(s, a.dataset.classes.len() as u64, "classes", false);
    card(s, findings, "findings", true);
    card(s, count(FindingKind::Unreadable), "unreadable", true);
    card(
        s,
        count(FindingKind::ExactDuplicate) + count(FindingKind::NearDuplicate),
        "duplicates",
        true,
    );
    card(s, count(FindingKind::Leak), "leaks", true);
    card(
        s,
        count(FindingKind::LabelConflict),
        "label conflicts",
        true,
    );
    card(s, count(FindingKind::Outlier), "outliers", true);
    s.push_str(r##"</div></div><nav class="toc"><div class="wrap"><a href="#overview">Overview</a><a href="#findings">Findings</a><a href="#classes">Classes</a><a href="#pixels">Pixels</a><a href="#sizes">Sizes</a><a href="#mean-images">Mean images</a>"##);
    for p in plans {
        let _ = write!(
            s,
            r##"<a href="#f-{}">{}</a>"##,
            p.kind.as_str(),
            esc(&kind_title(p.kind))
        );
    }
    s.push_str(r##"<a href="#settings">Settings</a></div></nav></header>"##);
}

fn overview(s: &mut String, a: &Analysis) {
    s.push_str(r#"<section id="overview"><h2>Overview</h2><p class="desc">Normalisation constants are over every pixel of every readable image, as values / 255: paste them into <code>Normalize(mean, std)</code>.</p><table><tr><th>Split</th><th class="n">Samples</th><th class="n">Unreadable</th><th class="n">Classes present</th><th class="n">Imbalance</th><th>Normalisation</th><th class="n">Shapes</th><th class="n">Files</th></tr>"#);
    for p in &a.profile.splits {
        let present = p.class_counts.iter().filter(|&&n| n > 0).count();
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{} / {}</td><td class="n">{}</td><td><code>{}</code></td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&p.name),
            fmt_n(p.samples),
            fmt_n(p.unreadable),
            present,
            a.dataset.classes.len(),
            p.imbalance_ratio
                .map_or_else(|| "-".into(), |r| format!("{r:.2}x")),
            esc(&normalisation(p)),
            fmt_n(p.sizes.distinct),
            if p.file_bytes > 0 {
                human_bytes(p.file_bytes)
            } else {
                "-".into()
            }
        );
    }
    s.push_str("</table>");
    let notes: Vec<String> = a
        .profile
        .splits
        .iter()
        .filter(|p| p.unlabelled > 0 || p.reduced_decodes > 0 || !p.empty_classes.is_empty())
        .map(|p| {
            let mut n = Vec::new();
            if p.unlabelled > 0 {
                n.push(format!("{} unlabelled", fmt_n(p.unlabelled)));
            }
            if !p.empty_classes.is_empty() && !a.dataset.classes.is_empty() {
                n.push(format!("{} classes without samples", p.empty_classes.len()));
            }
            if p.reduced_decodes > 0 {
                n.push(format!(
                    "{} large JPEGs measured at reduced scale",
                    fmt_n(p.reduced_decodes)
                ));
            }
            format!("{}: {}", esc(&p.name), n.join(", "))
        })
        .collect();
    if !notes.is_empty() {
        let _ = write!(s, r#"<p class="desc">{}</p>"#, notes.join("; "));
    }
    s.push_str("</section>");
}

fn findings_table(s: &mut String, a: &Analysis) {
    let total: u64 = a.counts.values().sum();
    let _ = write!(
        s,
        r#"<section id="findings"><h2>Findings</h2><p class="desc">{} findings (one per sample and kind). Every one is a row of <code>findings.csv</code>; the galleries below show the first of each kind.</p><table><tr><th>Kind</th><th class="n">Count</th><th>Meaning</th></tr>"#,
        fmt_n(total)
    );
    for (&kind, &n) in &a.counts {
        let name = if n > 0 {
            format!(r##"<a href="#f-{0}">{0}</a>"##, kind.as_str())
        } else {
            kind.as_str().to_string()
        };
        let _ = write!(
            s,
            r#"<tr{}><td>{name}</td><td class="n">{}</td><td>{}</td></tr>"#,
            if n == 0 { r#" class="zero""# } else { "" },
            fmt_n(n),
            esc(&describe(kind, a))
        );
    }
    s.push_str("</table></section>");
}

fn legend(s: &mut String, splits: &[SplitProfile]) {
    s.push_str(r#"<div class="legend">"#);
    for (i, p) in splits.iter().enumerate() {
        let _ = write!(
            s,
            r#"<span><i style="background:{}"></i>{}</span>"#,
            svg::split_colour(i),
            esc(&p.name)
        );
    }
    s.push_str("</div>");
}

fn classes(s: &mut String, a: &Analysis) {
    s.push_str(r#"<section id="classes"><h2>Class balance</h2>"#);
    if a.dataset.classes.is_empty() {
        s.push_str(r#"<p class="desc">The dataset has no classes.</p></section>"#);
        return;
    }
    s.push_str(r#"<p class="desc">Bars are each class's share of its split, so splits of different sizes compare; numbers are sample counts.</p>"#);
    legend(s, &a.profile.splits);
    let splits: Vec<(&str, &[u64])> = a
        .profile
        .splits
        .iter()
        .map(|p| (p.name.as_str(), p.class_counts.as_slice()))
        .collect();
    s.push_str(&svg::class_balance(&a.dataset.classes, &splits));
    s.push_str("</section>");
}

fn pixels(s: &mut String, a: &Analysis) {
    s.push_str(r#"<section id="pixels"><h2>Pixel values</h2><p class="desc">Histogram of pixel values per channel (square-root scale, so tails show next to peaks).</p><div class="row">"#);
    for p in &a.profile.splits {
        s.push_str("<div>");
        s.push_str(&svg::pixel_histogram(&p.name, &p.pixels.histogram));
        let _ = write!(s, "<code>{}</code></div>", esc(&normalisation(p)));
    }
    s.push_str("</div></section>");
}

fn sizes(s: &mut String, a: &Analysis) {
    s.push_str(r#"<section id="sizes"><h2>Image sizes</h2>"#);
    for (i, p) in a.profile.splits.iter().enumerate() {
        let z = &p.sizes;
        let readable = p.samples - p.unreadable;
        let _ = write!(s, "<h3>{}</h3>", esc(&p.name));
        if z.distinct <= 1 {
            match z.common.first() {
                Some(c) => {
                    let _ = write!(
                        s,
                        r#"<p class="desc">All {} readable images are {}x{} with {} channel{}.</p>"#,
                        fmt_n(readable),
                        c.width,
                        c.height,
                        c.channels,
                        if c.channels == 1 { "" } else { "s" }
                    );
                }
                None => s.push_str(r#"<p class="desc">No readable image.</p>"#),
            }
        } else {
            let _ = write!(
                s,
                r#"<p class="desc">{} distinct shapes (width x height x channels). Width {} / {} / {}, height {} / {} / {} (min / median / max).</p><div class="row"><div>"#,
                fmt_n(z.distinct),
                z.width.min,
                z.width.median,
                z.width.max,
                z.height.min,
                z.height.median,
                z.height.max
            );
            s.push_str(&svg::shapes(&z.common, readable, svg::split_colour(i)));
            s.push_str(r#"</div><div><p class="desc">Aspect ratio (width : height)</p>"#);
            s.push_str(&svg::aspect(&z.aspect_histogram, svg::split_colour(i)));
            s.push_str("</div></div>");
        }
        if !p.formats.is_empty() {
            let f: Vec<String> = p
                .formats
                .iter()
                .map(|(k, n)| format!("{k} {}", fmt_n(*n)))
                .collect();
            let _ = write!(
                s,
                r#"<p class="desc">Files: {} ({} in all).</p>"#,
                esc(&f.join(", ")),
                human_bytes(p.file_bytes)
            );
        }
    }
    s.push_str("</section>");
}

fn mean_images(s: &mut String, a: &Analysis, opts: &HtmlOptions) {
    let m = &a.profile.mean_images;
    s.push_str(r#"<section id="mean-images"><h2>Mean image per class</h2>"#);
    if m.is_empty() {
        s.push_str(r#"<p class="desc">No labelled images.</p></section>"#);
        return;
    }
    let _ = write!(
        s,
        r#"<p class="desc">Pixel-wise mean of every readable image of the class over all splits, at {}x{}.</p><div class="means">"#,
        m[0].width, m[0].height
    );
    for mi in m.iter().take(opts.mean_images_limit) {
        let _ = write!(s, r#"<figure><div class="box">"#);
        let img = (mi.count > 0)
            .then(|| dlscope_data::Image::new(mi.width, mi.height, mi.channels, mi.pixels.clone()))
            .flatten();
        match img.map(|i| thumbs::png_data_uri(&i.to_dynamic())) {
            Some(Ok(uri)) => {
                let f = (72 / mi.width.max(mi.height).max(1)).max(1);
                let _ = write!(
                    s,
                    r#"<img class="pix" src="{uri}" width="{}" height="{}" alt="">"#,
                    mi.width * f,
                    mi.height * f
                );
            }
            _ => s.push_str(r#"<div class="missing">no image</div>"#),
        }
        let _ = write!(
            s,
            r#"</div><figcaption><b title="{0}">{0}</b><span class="s">{1}</span></figcaption></figure>"#,
            esc(&mi.class_name),
            fmt_n(mi.count)
        );
    }
    s.push_str("</div>");
    if m.len() > opts.mean_images_limit {
        let _ = write!(
            s,
            r#"<p class="more">Showing the first {} of {} classes; all are in <code>report.json</code>.</p>"#,
            opts.mean_images_limit,
            m.len()
        );
    }
    s.push_str("</section>");
}

fn settings(s: &mut String, a: &Analysis) {
    s.push_str(r#"<section id="settings"><h2>Settings</h2><p class="desc">The exact settings of this analysis (also in <code>report.json</code>).</p><table><tr><th>Setting</th><th>Value</th></tr>"#);
    let mut rows = Vec::new();
    if let Ok(v) = serde_json::to_value(&a.settings) {
        flatten("", &v, &mut rows);
    }
    if let Ok(v) = serde_json::to_value(&a.pass) {
        flatten("pass", &v, &mut rows);
    }
    for (k, v) in rows {
        let _ = write!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            esc(&k),
            esc(&v)
        );
    }
    s.push_str("</table></section>");
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        serde_json::Value::Null => out.push((prefix.to_string(), "none".into())),
        serde_json::Value::String(x) => out.push((prefix.to_string(), x.clone())),
        x => out.push((prefix.to_string(), x.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(
            esc(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(fmt_n(70000), "70,000");
        assert_eq!(fmt_n(999), "999");
        assert_eq!(fmt_n(1234567), "1,234,567");
        assert_eq!(kind_title(FindingKind::OddAspectRatio), "Odd aspect ratio");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
