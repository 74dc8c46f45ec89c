//! `cluster.html`: one self-contained page for a clustering (inline CSS and SVG, thumbnails as
//! PNG data URIs, no script): scores, one card per cluster (size, majority label and purity,
//! thumbnails of the samples nearest its centre), a 2-D map of the points coloured by cluster,
//! and, for agglomerative clustering, the top of the dendrogram. Plain data in, HTML out.

use std::fmt::Write as _;

use super::chart::{colour, scatter, Point};
use super::thumbs::Thumb;
use super::{esc, fmt_n, STYLE};

/// One cluster of the page.
#[derive(Debug, Clone)]
pub struct ClusterCard {
    /// Cluster number (`-1`: noise).
    pub id: i64,
    pub size: usize,
    /// Most frequent label name and its share of the labelled members.
    pub majority: Option<(String, f64)>,
    /// Members nearest the centre, nearest first, with a caption each.
    pub thumbs: Vec<(Thumb, String)>,
}

/// One merge of a dendrogram (SciPy's linkage row): nodes `a` and `b` (below `n_leaves`:
/// leaves; `n_leaves + i`: the node made by merge `i`) joined at `distance` into `size` leaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MergeRow {
    pub a: usize,
    pub b: usize,
    pub distance: f64,
    pub size: f64,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct ClusterPage {
    pub dataset: String,
    pub method: String,
    pub features: String,
    /// Score name and formatted value, shown as cards at the top.
    pub scores: Vec<(String, String)>,
    pub clusters: Vec<ClusterCard>,
    /// 2-D map of (a sample of) the points; `group` is the cluster (`None`: noise).
    pub map: Vec<Point>,
    /// What the map's axes are, e.g. `PCA 1 (12.3 %)`.
    pub map_axes: (String, String),
    /// Points drawn of all points, when the map is a sample.
    pub map_total: usize,
    /// Leaves and merges, for agglomerative clustering.
    pub dendrogram: Option<(usize, Vec<MergeRow>)>,
}

/// The top `p` clusters of a dendrogram drawn as a tree (SciPy's `truncate_mode="lastp"`):
/// one `<path class="link">` per drawn merge, leaves labelled with their size.
pub fn dendrogram_svg(n_leaves: usize, merges: &[MergeRow], p: usize) -> String {
    let mut out = String::new();
    let (w, h) = (760.0, 320.0);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" font-family=\"system-ui,sans-serif\" role=\"img\">\
         <title>dendrogram</title>"
    );
    if merges.is_empty() || n_leaves < 2 {
        out.push_str("<text x=\"20\" y=\"30\">no merges</text></svg>");
        return out;
    }
    // The last `p - 1` merges form the drawn tree; nodes below them are its leaves.
    let p = p.clamp(2, merges.len() + 1);
    let first = merges.len() + 1 - p;
    let root = n_leaves + merges.len() - 1;
    let size_of = |node: usize| -> f64 {
        if node < n_leaves {
            1.0
        } else {
            merges.get(node - n_leaves).map_or(1.0, |m| m.size)
        }
    };
    let drawn = |node: usize| node >= n_leaves + first && node - n_leaves < merges.len();
    // Leaf order: depth-first from the root.
    let mut leaves = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if drawn(node) {
            let m = merges[node - n_leaves];
            stack.push(m.b);
            stack.push(m.a);
        } else {
            leaves.push(node);
        }
    }
    let top = merges.last().map_or(1.0, |m| m.distance).max(1e-12);
    let (left, right, top_pad, bottom) = (50.0, 20.0, 20.0, 40.0);
    let pw = w - left - right;
    let ph = h - top_pad - bottom;
    let sy = |d: f64| top_pad + (1.0 - d / top) * ph;
    let mut pos = std::collections::HashMap::new();
    let step = pw / leaves.len().max(1) as f64;
    for (i, &leaf) in leaves.iter().enumerate() {
        let x = left + step * (i as f64 + 0.5);
        pos.insert(leaf, (x, sy(0.0)));
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"9\" fill=\"#7b8794\">({})</text>",
            h - bottom + 14.0,
            size_of(leaf)
        );
    }
    for (i, m) in merges.iter().enumerate().skip(first) {
        let (Some(&(xa, ya)), Some(&(xb, yb))) = (pos.get(&m.a), pos.get(&m.b)) else {
            continue;
        };
        let y = sy(m.distance);
        let _ = write!(
            out,
            "<path class=\"link\" d=\"M{xa:.1} {ya:.1}V{y:.1}H{xb:.1}V{yb:.1}\" fill=\"none\" stroke=\"#3e6ea8\" stroke-width=\"1.2\"/>"
        );
        pos.insert(n_leaves + i, ((xa + xb) / 2.0, y));
    }
    let _ = write!(
        out,
        "<path d=\"M{left} {top_pad}V{:.1}\" stroke=\"#9aa5b1\"/>\
         <text x=\"{left}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\" fill=\"#7b8794\">{:.3}</text>\
         <text x=\"{left}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\" fill=\"#7b8794\">0</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#3e4c59\">top {} clusters (leaf size in parentheses); height = merge distance</text>",
        top_pad + ph,
        top_pad + 4.0,
        top,
        top_pad + ph,
        left + pw / 2.0,
        h - 8.0,
        leaves.len()
    );
    out.push_str("</svg>");
    out
}

/// Renders the page.
pub fn render_cluster_page(p: &ClusterPage) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = format!("{} - {} clustering", p.dataset, p.method);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\
         <header class=\"top\"><div class=\"wrap\"><h1>{} <span>{}</span></h1>\
         <p class=\"sub\">features: {}; {} clusters</p><div class=\"cards\">",
        esc(&title),
        esc(&p.dataset),
        esc(&p.method),
        esc(&p.features),
        p.clusters.iter().filter(|c| c.id >= 0).count()
    );
    for (k, v) in &p.scores {
        let _ = write!(
            out,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            esc(v),
            esc(k)
        );
    }
    out.push_str("</div></div></header><main><div class=\"wrap\">");
    // Clusters.
    out.push_str(
        "<section id=\"clusters\"><h2>Clusters</h2><p class=\"desc\">Size, majority label and its \
         share (purity), and the members nearest the cluster centre.</p>\
         <table><tr><th>cluster</th><th class=\"n\">size</th><th>majority label</th>\
         <th class=\"n\">purity</th></tr>",
    );
    for c in &p.clusters {
        let (label, purity) = match &c.majority {
            Some((l, s)) => (esc(l), format!("{:.1} %", s * 100.0)),
            None => ("-".into(), "-".into()),
        };
        let _ = write!(
            out,
            "<tr><td><i style=\"display:inline-block;width:10px;height:10px;background:{}\"></i> {}</td>\
             <td class=\"n\">{}</td><td>{label}</td><td class=\"n\">{purity}</td></tr>",
            if c.id < 0 { "#9aa5b1" } else { colour(c.id as usize) },
            if c.id < 0 { "noise".to_string() } else { c.id.to_string() },
            fmt_n(c.size as u64)
        );
    }
    out.push_str("</table><div class=\"groups\">");
    for c in &p.clusters {
        let _ = write!(
            out,
            "<div class=\"group cluster\" data-cluster=\"{}\"><div class=\"ghead\"><b>{}</b> {} samples</div><div class=\"members\">",
            c.id,
            if c.id < 0 { "noise".to_string() } else { format!("cluster {}", c.id) },
            fmt_n(c.size as u64)
        );
        for (t, caption) in &c.thumbs {
            out.push_str("<figure class=\"item\"><div class=\"box\">");
            match t {
                Thumb::Image { uri, width, height } => {
                    let _ = write!(
                        out,
                        "<img class=\"pix thumb\" src=\"{uri}\" width=\"{width}\" height=\"{height}\" alt=\"\">"
                    );
                }
                Thumb::Missing(why) => {
                    let _ = write!(out, "<div class=\"missing\">{}</div>", esc(why));
                }
            }
            let _ = write!(
                out,
                "</div><figcaption><span class=\"s\">{}</span></figcaption></figure>",
                esc(caption)
            );
        }
        out.push_str("</div></div>");
    }
    out.push_str("</div></section>");
    // Map.
    let names: Vec<String> = p
        .clusters
        .iter()
        .filter(|c| c.id >= 0)
        .map(|c| format!("cluster {}", c.id))
        .collect();
    let _ = write!(
        out,
        "<section id=\"map\"><h2>2-D map</h2><p class=\"desc\">{} of {} points, coloured by \
         cluster (noise grey).</p>{}</section>",
        fmt_n(p.map.len() as u64),
        fmt_n(p.map_total as u64),
        scatter(
            &format!("{} points", fmt_n(p.map.len() as u64)),
            &p.map_axes.0,
            &p.map_axes.1,
            &p.map,
            &names
        )
    );
    if let Some((n, merges)) = &p.dendrogram {
        let _ = write!(
            out,
            "<section id=\"dendrogram\"><h2>Dendrogram</h2><p class=\"desc\">The last merges of \
             the hierarchy over {} leaves.</p>{}</section>",
            fmt_n(*n as u64),
            dendrogram_svg(*n, merges, 30)
        );
    }
    out.push_str("</div></main></body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_has_a_thumbnail_per_cluster_and_every_point() {
        let img =
            dlscope_data::Image::new(4, 4, 1, (0..16).map(|v| v * 16).collect()).expect("4x4 grey");
        let card = |id: i64, size| ClusterCard {
            id,
            size,
            majority: Some(("shirt".into(), 0.75)),
            thumbs: vec![(super::super::thumbs::make(&img, 64), format!("train/{id}"))],
        };
        let map: Vec<Point> = (0..123)
            .map(|i| Point {
                x: i as f32,
                y: (i * i % 17) as f32,
                group: (i % 4 != 3).then_some(i % 3),
            })
            .collect();
        let page = ClusterPage {
            dataset: "toy".into(),
            method: "agglomerative-ward".into(),
            features: "pixels".into(),
            scores: vec![("ARI".into(), "0.5".into())],
            clusters: vec![card(0, 40), card(1, 50), card(2, 33)],
            map,
            map_axes: ("PCA 1".into(), "PCA 2".into()),
            map_total: 123,
            dendrogram: Some((
                3,
                vec![
                    MergeRow {
                        a: 0,
                        b: 1,
                        distance: 1.0,
                        size: 2.0,
                    },
                    MergeRow {
                        a: 2,
                        b: 3,
                        distance: 3.0,
                        size: 3.0,
                    },
                ],
            )),
        };
        let html = render_cluster_page(&page);
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>"));
        for id in 0..3 {
            let at = html
                .find(&format!("data-cluster=\"{id}\""))
                .expect("a card per cluster");
            let card = &html[at..];
            let card = &card[..card.find("</figure>").expect("a figure")];
            assert!(
                card.contains("src=\"data:image/png;base64,"),
                "cluster {id}"
            );
        }
        assert_eq!(html.matches("class=\"pt\"").count(), 123);
        assert_eq!(html.matches("class=\"link\"").count(), 2);
        assert!(!html.contains("<script"));
        assert!(html.contains("75.0 %"));
    }

    #[test]
    fn dendrogram_draws_the_top_merges() {
        // 4 leaves: (0,1) at 1, (2,3) at 2, then both at 5.
        let m = |a, b, distance, size| MergeRow {
            a,
            b,
            distance,
            size,
        };
        let merges = vec![m(0, 1, 1.0, 2.0), m(2, 3, 2.0, 2.0), m(4, 5, 5.0, 4.0)];
        let all = dendrogram_svg(4, &merges, 4);
        assert_eq!(all.matches("class=\"link\"").count(), 3);
        let top = dendrogram_svg(4, &merges, 2);
        assert_eq!(top.matches("class=\"link\"").count(), 1);
        assert!(top.contains(">(2)<"));
    }
}
