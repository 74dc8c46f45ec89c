//! Stand-alone SVG charts from plain numbers (no ml/nn types): a line chart with min-max bands
//! (accuracy against fraction in the data diet) and a scatter coloured by group (the 2-D map of
//! a clustering). Each is a complete `<svg xmlns=...>` document with its own styles, so it can
//! be written to a `.svg` file or inlined in an HTML page; every label is escaped.

use std::fmt::Write as _;

use super::esc;

/// Colours of series and groups, in order (repeating).
pub const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// One x of a series: the mean and the spread around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub x: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// A named line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// Drawn in order of `x`.
    pub points: Vec<Band>,
}

/// A line chart request.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Logarithmic x axis (every x must then be > 0; others are left out).
    pub log_x: bool,
    pub series: &'a [Series],
}

const W: f64 = 760.0;
const H: f64 = 460.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 46.0;
const BOTTOM: f64 = 58.0;

fn open_svg(out: &mut String, w: f64, h: f64, title: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" font-family=\"system-ui,sans-serif\" role=\"img\">\
         <title>{t}</title><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\
         <text x=\"{cx:.1}\" y=\"24\" text-anchor=\"middle\" font-size=\"14\" \
         font-weight=\"600\" fill=\"#1f2933\">{t}</text>",
        t = esc(title),
        cx = w / 2.0
    );
}

/// "Nice" tick values covering `[lo, hi]` (about `n` of them).
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).ceil() as i64;
    let end = (hi / step).floor() as i64;
    (start..=end).map(|k| k as f64 * step).collect()
}

fn fmt_tick(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// Mean lines with min-max bands and error bars, axes with ticks, a legend and a title.
pub fn line_chart(c: &LineChart) -> String {
    let ok = |x: f64| x.is_finite() && (!c.log_x || x > 0.0);
    let pts: Vec<&Band> = c
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| ok(p.x) && p.min.is_finite() && p.max.is_finite() && p.mean.is_finite())
        .collect();
    let mut out = String::new();
    open_svg(&mut out, W, H, c.title);
    if pts.is_empty() {
        out.push_str("<text x=\"380\" y=\"230\" text-anchor=\"middle\">no data</text></svg>");
        return out;
    }
    let tx = |x: f64| if c.log_x { x.log10() } else { x };
    let (mut x0, mut x1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(tx(p.x)), a.1.max(tx(p.x)))
    });
    if x1 - x0 < 1e-12 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    let pad_x = (x1 - x0) * 0.04;
    let (x0, x1) = (x0 - pad_x, x1 + pad_x);
    let (y_lo, y_hi) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
        (a.0.min(p.min), a.1.max(p.max))
    });
    let span = (y_hi - y_lo).max(0.01);
    let y0 = y_lo - span * 0.08;
    let y1 = y_hi + span * 0.08;
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let sx = |x: f64| LEFT + (tx(x) - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + (1.0 - (y - y0) / (y1 - y0)) * ph;
    // Grid and y ticks.
    for t in nice_ticks(y0, y1, 6) {
        let y = sy(t);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eef1f4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\" fill=\"#7b8794\">{}</text>",
            LEFT + pw,
            LEFT - 6.0,
            y + 3.5,
            fmt_tick(t)
        );
    }
    // X ticks: the data's own x values (fractions are few and meaningful).
    let mut xs: Vec<f64> = pts.iter().map(|p| p.x).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let xs: Vec<f64> = if xs.len() <= 12 {
        xs
    } else if c.log_x {
        let (a, b) = (x0.ceil() as i32, x1.floor() as i32);
        (a..=b).map(|e| 10f64.powi(e)).collect()
    } else {
        nice_ticks(x0, x1, 8)
    };
    for t in xs {
        let x = sx(t);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"#eef1f4\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#7b8794\">{}</text>",
            TOP + ph,
            TOP + ph + 15.0,
            fmt_tick(t)
        );
    }
    // Axes and their labels.
    let _ = write!(
        out,
        "<path d=\"M{LEFT} {TOP}V{by:.1}H{rx:.1}\" fill=\"none\" stroke=\"#9aa5b1\"/>\
         <text x=\"{cx:.1}\" y=\"{xl:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#3e4c59\">{}</text>\
         <text transform=\"translate(18 {cy:.1}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\" fill=\"#3e4c59\">{}</text>",
        esc(c.x_label),
        esc(c.y_label),
        by = TOP + ph,
        rx = LEFT + pw,
        cx = LEFT + pw / 2.0,
        xl = H - 16.0,
        cy = TOP + ph / 2.0,
    );
    // Bands, error bars, lines, markers; one <path class="line"> per series.
    for (i, s) in c.series.iter().enumerate() {
        let mut p: Vec<&Band> = s
            .points
            .iter()
            .filter(|p| ok(p.x) && p.mean.is_finite() && p.min.is_finite() && p.max.is_finite())
            .collect();
        p.sort_by(|a, b| a.x.total_cmp(&b.x));
        let col = colour(i);
        let _ = write!(out, "<g data-series=\"{}\">", esc(&s.name));
        if p.len() > 1 {
            let mut d = String::new();
            for (k, b) in p.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1} {:.1}",
                    if k == 0 { "M" } else { "L" },
                    sx(b.x),
                    sy(b.max)
                );
            }
            for b in p.iter().rev() {
                let _ = write!(d, "L{:.1} {:.1}", sx(b.x), sy(b.min));
            }
            let _ = write!(
                out,
                "<polygon class=\"band\" points=\"{}\" fill=\"{col}\" fill-opacity=\"0.13\" stroke=\"none\"/>",
                d.replace(['M', 'L'], " ").trim()
            );
        }
        for b in &p {
            let x = sx(b.x);
            let _ = write!(
                out,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{col}\" stroke-width=\"1.2\"/>",
                sy(b.min),
                sy(b.max)
            );
        }
        let mut d = String::new();
        for (k, b) in p.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1} {:.1}",
                if k == 0 { "M" } else { "L" },
                sx(b.x),
                sy(b.mean)
            );
        }
        let _ = write!(
            out,
            "<path class=\"line\" d=\"{d}\" fill=\"none\" stroke=\"{col}\" stroke-width=\"2\"/>"
        );
        for b in &p {
            let _ = write!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.2\" fill=\"{col}\"><title>{}: x {} mean {:.4} (min {:.4}, max {:.4})</title></circle>",
                sx(b.x),
                sy(b.mean),
                esc(&s.name),
                fmt_tick(b.x),
                b.mean,
                b.min,
                b.max
            );
        }
        out.push_str("</g>");
        // Legend entry.
        let ly = TOP + 10.0 + i as f64 * 20.0;
        let lx = LEFT + pw + 18.0;
        let _ = write!(
            out,
            "<line x1=\"{lx:.1}\" x2=\"{:.1}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" stroke=\"{col}\" stroke-width=\"3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#1f2933\">{}</text>",
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            esc(&super::svg::shorten(&s.name, 20))
        );
    }
    out.push_str("</svg>");
    out
}

/// One point of a scatter: position and group (colour); `None` is drawn grey (noise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f32,
    pub y: f32,
    pub group: Option<usize>,
}

/// A scatter of `points` (one `<circle class="pt">` each), coloured by group, with axes,
/// a legend of `group_names` (first 20) and a title.
pub fn scatter(
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[Point],
    group_names: &[String],
) -> String {
    let (w, h) = (640.0, 560.0);
    let (left, right, top, bottom) = (50.0, 150.0, 40.0, 44.0);
    let mut out = String::new();
    open_svg(&mut out, w, h, title);
    let fin: Vec<&Point> = points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let ext = |f: &dyn Fn(&Point) -> f32| {
        fin.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
            (a.0.min(f(p) as f64), a.1.max(f(p) as f64))
        })
    };
    let (mut x0, mut x1) = ext(&|p| p.x);
    let (mut y0, mut y1) = ext(&|p| p.y);
    if fin.is_empty() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 < 1e-9 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    if y1 - y0 < 1e-9 {
        y0 -= 0.5;
        y1 += 0.5;
    }
    let pw = w - left - right;
    let ph = h - top - bottom;
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| top + (1.0 - (y - y0) / (y1 - y0)) * ph;
    let _ = write!(
        out,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#cbd2d9\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#3e4c59\">{}</text>\
         <text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\" fill=\"#3e4c59\">{}</text>",
        left + pw / 2.0,
        h - 14.0,
        esc(x_label),
        top + ph / 2.0,
        esc(y_label)
    );
    for p in &fin {
        let col = p.group.map_or("#9aa5b1", colour);
        let _ = write!(
            out,
            "<circle class=\"pt\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.6\" fill=\"{col}\" fill-opacity=\"0.7\"/>",
            sx(p.x as f64),
            sy(p.y as f64)
        );
    }
    for (i, name) in group_names.iter().take(20).enumerate() {
        let ly = top + 8.0 + i as f64 * 18.0;
        let lx = left + pw + 14.0;
        let _ = write!(
            out,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#1f2933\">{}</text>",
            ly - 8.0,
            colour(i),
            lx + 16.0,
            ly + 1.0,
            esc(&super::svg::shorten(name, 18))
        );
    }
    if group_names.len() > 20 {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#7b8794\">+{} more</text>",
            left + pw + 14.0,
            top + 8.0 + 20.0 * 18.0,
            group_names.len() - 20
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tag closes in order (a hand check of XML well-formedness).
    pub(crate) fn well_formed(svg: &str) -> bool {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let Some(end) = rest[start..].find('>') else {
                return false;
            };
            let tag = &rest[start + 1..start + end];
            rest = &rest[start + end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name.trim()) {
                    return false;
                }
            } else if !tag.ends_with('/') && !tag.starts_with('!') {
                stack.push(tag.split_whitespace().next().unwrap_or(""));
            }
        }
        stack.is_empty() && !rest.contains('>')
    }

    #[test]
    fn line_chart_has_one_line_per_series_and_is_well_formed() {
        let b = |x, mean| Band {
            x,
            mean,
            min: mean - 0.01,
            max: mean + 0.02,
        };
        let series = vec![
            Series {
                name: "random".into(),
                points: vec![b(0.05, 0.7), b(0.1, 0.75), b(1.0, 0.85)],
            },
            Series {
                name: "a<b&c".into(),
                points: vec![b(0.05, 0.72), b(0.1, 0.74), b(1.0, 0.85)],
            },
        ];
        let svg = line_chart(&LineChart {
            title: "t",
            x_label: "fraction",
            y_label: "accuracy",
            log_x: true,
            series: &series,
        });
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(well_formed(&svg), "{svg}");
        assert_eq!(svg.matches("class=\"line\"").count(), 2);
        assert_eq!(svg.matches("class=\"band\"").count(), 2);
        assert!(svg.contains("a&lt;b&amp;c") && !svg.contains("a<b"));
        // Log x: 0.1 sits halfway between 0.05 and 1 in log space, not near 0.05.
        assert!(svg.contains(">0.05<") && svg.contains(">0.1<") && svg.contains(">1<"));
        let empty = line_chart(&LineChart {
            title: "t",
            x_label: "x",
            y_label: "y",
            log_x: true,
            series: &[],
        });
        assert!(well_formed(&empty) && empty.contains("no data"));
    }

    #[test]
    fn ticks_are_nice() {
        let t = nice_ticks(0.0, 1.0, 5);
        assert_eq!(t.len(), 6);
        assert!((t[3] - 0.6).abs() < 1e-12 && t[5] == 1.0);
        assert_eq!(fmt_tick(0.05), "0.05");
        assert_eq!(fmt_tick(1.0), "1");
    }
}
