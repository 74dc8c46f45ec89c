//! Galleries of flagged samples, one per finding kind: duplicate groups side by side, leaks
//! with their training-split twin, outliers and quality issues highest score first.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use dlscope_analyze::{Analysis, Finding, FindingKind};
use dlscope_data::Dataset;

use super::thumbs::Thumb;
use super::{esc, fmt_n, kind_title, HtmlOptions};

/// A sample shown in a gallery: its split position and index.
pub type Key = (u16, u64);

/// What one kind's gallery shows.
pub struct Plan<'a> {
    pub kind: FindingKind,
    pub total: usize,
    pub body: Body<'a>,
}

pub enum Body<'a> {
    /// Findings one by one (ungrouped kinds), in report order.
    Items(Vec<&'a Finding>),
    /// Groups of findings, largest first; `groups_total` counts all groups.
    Groups {
        groups: Vec<Group<'a>>,
        groups_total: usize,
    },
}

pub struct Group<'a> {
    pub id: u64,
    pub members: Vec<&'a Finding>,
    /// Members not shown (past the per-group cap).
    pub hidden: usize,
    /// For leaks: the training-split samples the members duplicate.
    pub train: Vec<Key>,
}

/// Plans every non-empty gallery (capped per `opts`).
pub fn plan<'a>(a: &'a Analysis, opts: &HtmlOptions) -> Vec<Plan<'a>> {
    let mut kinds: Vec<FindingKind> = FindingKind::ALL.to_vec();
    for f in &a.findings {
        if !kinds.contains(&f.kind) {
            kinds.push(f.kind);
        }
    }
    let split_pos = split_positions(a);
    let train = train_split(a);
    kinds
        .into_iter()
        .filter_map(|kind| {
            let of_kind: Vec<&Finding> = a.findings.iter().filter(|f| f.kind == kind).collect();
            if of_kind.is_empty() {
                return None;
            }
            let total = of_kind.len();
            let body = if kind.grouped() {
                let mut order: Vec<u64> = Vec::new();
                let mut by: HashMap<u64, Vec<&Finding>> = HashMap::new();
                for f in of_kind {
                    // Grouped kinds always carry a group; a missing one stands alone.
                    let g = f.group.unwrap_or(u64::MAX - f.index);
                    by.entry(g)
                        .or_insert_with(|| {
                            order.push(g);
                            Vec::new()
                        })
                        .push(f);
                }
                let groups_total = order.len();
                order.sort_by_key(|g| (std::cmp::Reverse(by[g].len()), *g));
                let groups = order
                    .into_iter()
                    .take(opts.gallery_limit)
                    .map(|g| {
                        let mut members = by.remove(&g).unwrap_or_default();
                        let hidden = members.len().saturating_sub(opts.group_members);
                        members.truncate(opts.group_members);
                        let train = match (kind, train) {
                            (FindingKind::Leak, Some(t)) => {
                                train_twins(a, &members, &split_pos, t, opts.group_members)
                            }
                            _ => Vec::new(),
                        };
                        Group {
                            id: g,
                            members,
                            hidden,
                            train,
                        }
                    })
                    .collect();
                Body::Groups {
                    groups,
                    groups_total,
                }
            } else {
                Body::Items(of_kind.into_iter().take(opts.gallery_limit).collect())
            };
            Some(Plan { kind, total, body })
        })
        .collect()
}

/// Every sample the galleries show.
pub fn keys(plans: &[Plan], a: &Analysis) -> Vec<Key> {
    let split_pos = split_positions(a);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut add = |k: Key| {
        if seen.insert(k) {
            out.push(k);
        }
    };
    for p in plans {
        match &p.body {
            Body::Items(items) => items
                .iter()
                .filter_map(|f| key(f, &split_pos))
                .for_each(&mut add),
            Body::Groups { groups, .. } => {
                for g in groups {
                    g.members
                        .iter()
                        .filter_map(|f| key(f, &split_pos))
                        .for_each(&mut add);
                    g.train.iter().copied().for_each(&mut add);
                }
            }
        }
    }
    out
}

/// Renders one gallery section.
pub fn render(
    out: &mut String,
    p: &Plan,
    a: &Analysis,
    thumbs: &HashMap<Key, Thumb>,
    dataset: Option<&Dataset>,
    description: &str,
) {
    let split_pos = split_positions(a);
    let _ = write!(
        out,
        r#"<section id="f-{}"><h2>{}<span class="count">{}</span></h2><p class="desc">{}</p>"#,
        p.kind.as_str(),
        esc(&kind_title(p.kind)),
        fmt_n(p.total as u64),
        esc(description)
    );
    let fig = |out: &mut String, f: &Finding, score: bool| {
        let k = key(f, &split_pos);
        let caption = Caption {
            name: display_name(&f.split, &f.id.to_string()),
            split: &f.split,
            class: f.label.map(|l| class_name(a, l)),
            extra: score.then(|| format!("score {:.3}", f.score)),
            title: &f.detail,
        };
        figure(out, k.and_then(|k| thumbs.get(&k)), &caption);
    };
    match &p.body {
        Body::Items(items) => {
            out.push_str(r#"<div class="gallery">"#);
            for f in items {
                fig(out, f, p.kind != FindingKind::Unreadable);
            }
            out.push_str("</div>");
            more(out, items.len(), p.total, "findings", p.total);
        }
        Body::Groups {
            groups,
            groups_total,
        } => {
            out.push_str(r#"<div class="groups">"#);
            for g in groups {
                let n = g.members.len() + g.hidden;
                let _ = write!(
                    out,
                    r#"<div class="group"><div class="ghead"><b>group {}</b> · {} sample{}{}</div>"#,
                    g.id,
                    n,
                    if n == 1 { "" } else { "s" },
                    if g.hidden > 0 {
                        format!(" ({} shown)", g.members.len())
                    } else {
                        String::new()
                    }
                );
                let score = p.kind != FindingKind::ExactDuplicate;
                if p.kind == FindingKind::Leak {
                    out.push_str(r#"<div class="members"><div class="side eval"><h4>flagged</h4>"#);
                    for f in &g.members {
                        fig(out, f, score);
                    }
                    out.push_str(r#"</div><div class="arrow">⇄</div><div class="side train"><h4>in training split</h4>"#);
                    for &(s, i) in &g.train {
                        let split = a.dataset.splits.get(s as usize).map_or("?", |m| &m.name);
                        let row = a.features.row(s, i);
                        let caption = Caption {
                            name: display_name(split, &id_text(a, dataset, s, i)),
                            split,
                            class: row.and_then(|r| r.label).map(|l| class_name(a, l)),
                            extra: None,
                            title: "",
                        };
                        figure(out, thumbs.get(&(s, i)), &caption);
                    }
                    out.push_str("</div></div>");
                } else {
                    out.push_str(r#"<div class="members">"#);
                    for f in &g.members {
                        fig(out, f, score);
                    }
                    out.push_str("</div>");
                }
                if let Some(f) = g.members.first() {
                    let _ = write!(out, r#"<p class="detail">{}</p>"#, esc(&f.detail));
                }
                out.push_str("</div>");
            }
            out.push_str("</div>");
            more(out, groups.len(), *groups_total, "groups", p.total);
        }
    }
    out.push_str("</section>");
}

struct Caption<'a> {
    /// `split/id`, shown in full on hover.
    name: String,
    split: &'a str,
    class: Option<String>,
    extra: Option<String>,
    title: &'a str,
}

fn figure(out: &mut String, thumb: Option<&Thumb>, c: &Caption) {
    let _ = write!(
        out,
        r#"<figure class="item" title="{}"><div class="box">"#,
        esc(c.title)
    );
    match thumb {
        Some(Thumb::Image { uri, width, height }) => {
            let _ = write!(
                out,
                r#"<img class="pix" src="{uri}" width="{width}" height="{height}" alt="">"#
            );
        }
        Some(Thumb::Missing(why)) => {
            let _ = write!(
                out,
                r#"<div class="missing" title="{}">unreadable</div>"#,
                esc(why)
            );
        }
        None => out.push_str(r#"<div class="missing">not loaded</div>"#),
    }
    // The file name (or split/index) in bold; split and class below.
    let short = c
        .name
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && c.name.matches('/').count() > 1);
    let _ = write!(
        out,
        r#"</div><figcaption><b title="{}">{}</b><span class="s">{}{}</span>"#,
        esc(&c.name),
        esc(short.unwrap_or(&c.name)),
        esc(c.split),
        c.class
            .as_ref()
            .map_or_else(String::new, |class| format!(" · {}", esc(class)))
    );
    if let Some(extra) = &c.extra {
        let _ = write!(out, r#"<span class="s">{}</span>"#, esc(extra));
    }
    if matches!(thumb, Some(Thumb::Missing(_))) && !c.title.is_empty() {
        let _ = write!(out, r#"<span class="why">{}</span>"#, esc(c.title));
    }
    out.push_str("</figcaption></figure>");
}

fn more(out: &mut String, shown: usize, total: usize, what: &str, rows: usize) {
    if shown < total {
        let _ = write!(
            out,
            r#"<p class="more">Showing the first {} of {} {what}; all {} rows are in <code>findings.csv</code>.</p>"#,
            fmt_n(shown as u64),
            fmt_n(total as u64),
            fmt_n(rows as u64)
        );
    }
}

/// `split/id`, without repeating the split when the id (a path) already starts with its folder.
fn display_name(split: &str, id: &str) -> String {
    match id.strip_prefix(split) {
        Some(rest) if rest.starts_with('/') => id.to_string(),
        _ => format!("{split}/{id}"),
    }
}

fn class_name(a: &Analysis, l: u32) -> String {
    a.dataset
        .classes
        .get(l as usize)
        .cloned()
        .unwrap_or_else(|| format!("label {l}"))
}

/// The id of a sample that has no finding of its own here (a leak's training twin): from the
/// dataset, else from any finding about it, else its index.
fn id_text(a: &Analysis, dataset: Option<&Dataset>, s: u16, i: u64) -> String {
    if let Some(split) = dataset.and_then(|d| d.splits.get(s as usize)) {
        if (i as usize) < split.len() {
            return split.id(i as usize).to_string();
        }
    }
    let split = a.dataset.splits.get(s as usize).map(|m| m.name.as_str());
    a.findings
        .iter()
        .find(|f| Some(f.split.as_str()) == split && f.index == i)
        .map_or_else(|| i.to_string(), |f| f.id.to_string())
}

fn split_positions(a: &Analysis) -> HashMap<&str, u16> {
    a.dataset
        .splits
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i as u16))
        .collect()
}

fn key(f: &Finding, split_pos: &HashMap<&str, u16>) -> Option<Key> {
    split_pos.get(f.split.as_str()).map(|&s| (s, f.index))
}

/// The split leaks are measured against: the one named in the settings, else `train`, else the
/// first whose name starts with `train` (the rule of the analysis).
fn train_split(a: &Analysis) -> Option<u16> {
    let splits = &a.dataset.splits;
    let pos = |f: &dyn Fn(&str) -> bool| splits.iter().position(|s| f(&s.name));
    match &a.settings.train_split {
        Some(name) => pos(&|s| s == name),
        None => pos(&|s| s.eq_ignore_ascii_case("train"))
            .or_else(|| pos(&|s| s.to_ascii_lowercase().starts_with("train"))),
    }
    .map(|p| p as u16)
}

/// Training-split samples the leaking `members` duplicate: for each member, the training
/// sample with the same pixels, else the one with the closest perceptual hash within the
/// near-duplicate distance (lowest index on ties). At most `cap`, without repeats.
fn train_twins(
    a: &Analysis,
    members: &[&Finding],
    split_pos: &HashMap<&str, u16>,
    train: u16,
    cap: usize,
) -> Vec<Key> {
    let rows = &a.features.rows;
    let lo = rows.partition_point(|r| r.split < train);
    let hi = rows.partition_point(|r| r.split <= train);
    let train_rows = &rows[lo..hi];
    let max_d = a.settings.thresholds.near_duplicate_distance;
    let mut out: Vec<Key> = Vec::new();
    for f in members {
        let Some(me) = key(f, split_pos)
            .and_then(|(s, i)| a.features.row(s, i))
            .and_then(|r| r.image.as_ref())
        else {
            continue;
        };
        let mut best: Option<(u32, u64)> = None;
        for r in train_rows {
            let Some(o) = &r.image else { continue };
            let exact = o.pixel_hash == me.pixel_hash
                && (o.width, o.height, o.channels, o.decode_scale)
                    == (me.width, me.height, me.channels, me.decode_scale);
            let d = if exact {
                0
            } else {
                (o.phash ^ me.phash).count_ones()
            };
            if d <= max_d && best.is_none_or(|b| (d, r.index) < b) {
                best = Some((d, r.index));
            }
        }
        if let Some((_, i)) = best {
            if !out.contains(&(train, i)) && out.len() < cap {
                out.push((train, i));
            }
        }
    }
    out
}
