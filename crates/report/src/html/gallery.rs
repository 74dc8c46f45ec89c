//! Galleries of flagged samples, one per finding kind: duplicate groups side by side, each
//! member naming its partner; leaks as pairs, the flagged sample beside its training copy;
//! label issues with the suggested label; outliers and quality issues highest score first.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use dlscope_analyze::{Analysis, Finding, FindingKind, Partner};

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
}

/// Plans every non-empty gallery (capped per `opts`).
pub fn plan<'a>(a: &'a Analysis, opts: &HtmlOptions) -> Vec<Plan<'a>> {
    let mut kinds: Vec<FindingKind> = FindingKind::ALL.to_vec();
    for f in &a.findings {
        if !kinds.contains(&f.kind) {
            kinds.push(f.kind);
        }
    }
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
                        Group {
                            id: g,
                            members,
                            hidden,
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

/// Every sample the galleries show: the flagged samples and their partners.
pub fn keys(plans: &[Plan], a: &Analysis) -> Vec<Key> {
    let split_pos = split_positions(a);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut add = |f: &Finding| {
        for k in key(f, &split_pos)
            .into_iter()
            .chain(partner_key(f, &split_pos))
        {
            if seen.insert(k) {
                out.push(k);
            }
        }
    };
    for p in plans {
        match &p.body {
            Body::Items(items) => items.iter().for_each(|f| add(f)),
            Body::Groups { groups, .. } => groups
                .iter()
                .flat_map(|g| g.members.iter())
                .for_each(|f| add(f)),
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
    let score = !matches!(
        p.kind,
        FindingKind::Unreadable | FindingKind::ExactDuplicate
    );
    let fig = |out: &mut String, f: &Finding, note: Option<Note>| {
        let caption = Caption {
            name: display_name(&f.split, &f.id.to_string()),
            split: &f.split,
            class: f.label.map(|l| class_name(a, l)),
            extra: score.then(|| format!("score {:.3}", f.score)),
            note,
            title: &f.detail,
        };
        let thumb = key(f, &split_pos).and_then(|k| thumbs.get(&k));
        figure(out, thumb, &caption, "item");
    };
    match &p.body {
        Body::Items(items) => {
            out.push_str(r#"<div class="gallery">"#);
            for f in items {
                fig(out, f, suggestion(a, f));
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
                group(out, p.kind, g, a, thumbs, &split_pos, &fig);
            }
            out.push_str("</div>");
            more(out, groups.len(), *groups_total, "groups", p.total);
        }
    }
    out.push_str("</section>");
}

/// One group: leaks as pairs (the flagged sample beside its training copy), duplicates and
/// conflicts as members naming their partner, then the partners not shown as members.
fn group(
    out: &mut String,
    kind: FindingKind,
    g: &Group,
    a: &Analysis,
    thumbs: &HashMap<Key, Thumb>,
    split_pos: &HashMap<&str, u16>,
    fig: &dyn Fn(&mut String, &Finding, Option<Note>),
) {
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
    if kind == FindingKind::Leak {
        out.push_str(r#"<div class="pairs">"#);
        for f in &g.members {
            out.push_str(r#"<div class="pair"><div class="side eval">"#);
            fig(out, f, None);
            out.push_str(
                r#"</div><div class="arrow" title="duplicates">⇄</div><div class="side train">"#,
            );
            match &f.partner {
                Some(pt) => partner_figure(out, a, thumbs, split_pos, pt, None),
                None => out.push_str(r#"<div class="missing">no partner recorded</div>"#),
            }
            out.push_str("</div></div>");
        }
        out.push_str("</div>");
    } else {
        out.push_str(r#"<div class="members">"#);
        let shown: HashSet<Key> = g.members.iter().filter_map(|f| key(f, split_pos)).collect();
        let mut extra: Vec<(&Partner, &Finding)> = Vec::new();
        for f in &g.members {
            fig(out, f, partner_note(a, f));
            if let (Some(pt), Some(k)) = (&f.partner, partner_key(f, split_pos)) {
                if !shown.contains(&k) && !extra.iter().any(|(q, _)| q == &pt) {
                    extra.push((pt, *f));
                }
            }
        }
        for (pt, of) in extra {
            let note = Note {
                mark: "partner of",
                name: display_name(&of.split, &of.id.to_string()),
                class: None,
            };
            partner_figure(out, a, thumbs, split_pos, pt, Some(note));
        }
        out.push_str("</div>");
    }
    if let Some(f) = g.members.first() {
        let _ = write!(out, r#"<p class="detail">{}</p>"#, esc(&f.detail));
    }
    out.push_str("</div>");
}

/// The figure of a partner sample (no finding of its own here): its id, split and label.
fn partner_figure(
    out: &mut String,
    a: &Analysis,
    thumbs: &HashMap<Key, Thumb>,
    split_pos: &HashMap<&str, u16>,
    pt: &Partner,
    note: Option<Note>,
) {
    let k = split_pos.get(pt.split.as_str()).map(|&s| (s, pt.index));
    let caption = Caption {
        name: display_name(&pt.split, &pt.id.to_string()),
        split: &pt.split,
        class: partner_label(a, k).map(|l| class_name(a, l)),
        extra: None,
        note,
        title: "",
    };
    figure(
        out,
        k.and_then(|k| thumbs.get(&k)),
        &caption,
        "item partner",
    );
}

/// A line under a caption naming another sample or label: `mark name · class`.
struct Note {
    mark: &'static str,
    /// `split/id` of the other sample, or a label.
    name: String,
    class: Option<String>,
}

/// For duplicates and conflicts: the partner, with its label where it differs.
fn partner_note(a: &Analysis, f: &Finding) -> Option<Note> {
    let pt = f.partner.as_ref()?;
    let mark = match f.kind {
        FindingKind::ExactDuplicate => "same as",
        FindingKind::LabelConflict => "conflicts with",
        _ => "near",
    };
    let split_pos = split_positions(a);
    let label = partner_label(a, split_pos.get(pt.split.as_str()).map(|&s| (s, pt.index)));
    Some(Note {
        mark,
        name: display_name(&pt.split, &pt.id.to_string()),
        class: label
            .filter(|&l| Some(l) != f.label)
            .map(|l| class_name(a, l)),
    })
}

/// For label issues: given -> suggested label.
fn suggestion(a: &Analysis, f: &Finding) -> Option<Note> {
    let s = f.suggested_label?;
    Some(Note {
        mark: "→",
        name: class_name(a, s),
        class: None,
    })
}

fn partner_label(a: &Analysis, k: Option<Key>) -> Option<u32> {
    k.and_then(|(s, i)| a.features.row(s, i))
        .and_then(|r| r.label)
}

struct Caption<'a> {
    /// `split/id`, shown in full on hover.
    name: String,
    split: &'a str,
    class: Option<String>,
    extra: Option<String>,
    note: Option<Note>,
    title: &'a str,
}

/// The file name of `split/.../name` (ids that are paths), else the whole name.
fn short(name: &str) -> &str {
    name.rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && name.matches('/').count() > 1)
        .unwrap_or(name)
}

fn figure(out: &mut String, thumb: Option<&Thumb>, c: &Caption, class: &str) {
    let _ = write!(
        out,
        r#"<figure class="{class}" title="{}"><div class="box">"#,
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
    let _ = write!(
        out,
        r#"</div><figcaption><b title="{}">{}</b><span class="s">{}{}</span>"#,
        esc(&c.name),
        esc(short(&c.name)),
        esc(c.split),
        c.class
            .as_ref()
            .map_or_else(String::new, |class| format!(" · {}", esc(class)))
    );
    if let Some(extra) = &c.extra {
        let _ = write!(out, r#"<span class="s">{}</span>"#, esc(extra));
    }
    if let Some(n) = &c.note {
        let class = n
            .class
            .as_ref()
            .map_or_else(String::new, |class| format!(" · {}", esc(class)));
        let _ = write!(
            out,
            r#"<span class="p" title="{} {}{class}">{} <b>{}</b>{class}</span>"#,
            esc(n.mark),
            esc(&n.name),
            esc(n.mark),
            esc(short(&n.name))
        );
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

fn partner_key(f: &Finding, split_pos: &HashMap<&str, u16>) -> Option<Key> {
    let pt = f.partner.as_ref()?;
    split_pos.get(pt.split.as_str()).map(|&s| (s, pt.index))
}
