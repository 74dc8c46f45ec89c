//! Exact duplicates, near duplicates, label conflicts and train/test leaks.
//!
//! Samples are linked when they have the same pixels (exact) or are near duplicates: perceptual
//! hashes within `near_duplicate_distance` bits, confirmed by their low-frequency DCT vectors
//! (whitened by the dataset's per-coefficient spread) lying within `near_duplicate_dct`. The
//! hash alone cannot tell two different shirts of one cut from a shifted copy; the DCT
//! vectors can (see [`crate::Thresholds`]). Equal perceptual hashes are collapsed first, so
//! the pair search runs over distinct hashes only and many copies of one image cost nothing
//! extra; a collapsed member whose DCT vector is not within reach of its hash's first member
//! takes part in exact matching only. Links are direct: a leak or conflict needs a duplicate of
//! its own in train or with another label, not a chain. Small images are also linked to
//! copies shifted by up to 2 pixels ([`super::shifts`]), which their hashes alone miss.
//!
//! When the analysis has per-sample embeddings, samples whose unit embeddings have a cosine
//! of at least `embedding_near_cosine` are linked too ([`super::embedded`]): crops, colour
//! changes and re-encodes of natural photos that move the perceptual hash too far. Those links
//! join the same groups and make the same near-duplicate, leak and label-conflict findings
//! (score = the cosine, detail "embedding cosine 0.973"). Exact copies are searched once.

use super::embedded::{cosine_pairs, Prepared};
use super::mih::near_pairs;
use super::outliers::unit_dct;
use super::shifts::shifted_pairs;
use super::unionfind::UnionFind;
use super::{FindingKind, Raw};
use crate::features::{ImageFeatures, SampleRow};
use crate::settings::Thresholds;

const NONE: u32 = u32::MAX;

type ExactKey = (u64, u32, u32, u8, u8);

fn exact_key(f: &ImageFeatures) -> ExactKey {
    (f.pixel_hash, f.width, f.height, f.channels, f.decode_scale)
}

/// Closest link of one kind: (distance, partner row); `shifted` when the link was found on
/// the centred-mass key (distance is then between those hashes); `cos` when it was found by
/// embeddings (`d` is then `64 x (1 - cos)`, rounded, so both kinds rank on one scale).
#[derive(Clone, Copy)]
struct Best {
    d: u8,
    row: u32,
    shifted: bool,
    cos: Option<f32>,
}

impl Best {
    fn score(&self) -> f64 {
        match self.cos {
            Some(c) => c as f64,
            None => 1.0 - self.d as f64 / 64.0,
        }
    }

    /// How close the pair is, e.g. "perceptual hash distance 4" or "embedding cosine 0.973".
    fn how(&self) -> String {
        match self.cos {
            Some(c) => format!("embedding cosine {c:.3}"),
            None if self.shifted => format!(
                "perceptual hash distance {} after shifting it by up to 2 px (a shifted copy)",
                self.d
            ),
            None => format!("perceptual hash distance {}", self.d),
        }
    }
}

fn better(slot: &mut Option<Best>, d: u8, row: u32, shifted: bool) {
    offer(
        slot,
        Best {
            d,
            row,
            shifted,
            cos: None,
        },
    );
}

/// Keeps the closer link: smaller distance, then higher cosine, then lower row.
fn offer(slot: &mut Option<Best>, b: Best) {
    let key = |x: &Best| (x.d, -(x.cos.unwrap_or(0.0) as f64 * 1e9) as i64, x.row);
    if slot.is_none_or(|o| key(&b) < key(&o)) {
        *slot = Some(b);
    }
}

pub(crate) fn find(
    rows: &[SampleRow],
    t: &Thresholds,
    train: Option<u16>,
    classes: &[String],
    names: &dyn Fn(usize) -> String,
    emb: Option<&Prepared>,
) -> Vec<Raw> {
    let n = rows.len();
    let mut uf = UnionFind::new(n);

    // Exact duplicates: runs of equal (pixel hash, shape, scale).
    let mut keyed: Vec<(ExactKey, u32)> = rows
        .iter()
        .enumerate()
        .filter_map(|(r, row)| row.image.as_ref().map(|f| (exact_key(f), r as u32)))
        .collect();
    keyed.sort_unstable();
    // exact[r] = the set of two or more rows with r's pixels that r belongs to.
    let mut exact: Vec<u32> = vec![NONE; n];
    let mut exact_sets: Vec<&[(ExactKey, u32)]> = Vec::new();
    for run in keyed.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        let first = run[0].1;
        for &(_, r) in run {
            exact[r as usize] = exact_sets.len() as u32;
            uf.union(first, r);
        }
        exact_sets.push(run);
    }

    // Distinct perceptual hashes of the rows that take part in near matching.
    let mut by_hash: Vec<(u64, u32)> = rows
        .iter()
        .enumerate()
        .filter_map(|(r, row)| {
            let f = row.image.as_ref()?;
            (f.contrast >= t.near_duplicate_min_contrast).then_some((f.phash, r as u32))
        })
        .collect();
    by_hash.sort_unstable();
    let mut values: Vec<u64> = Vec::new();
    let mut starts: Vec<u32> = Vec::new();
    let mut u_of = vec![NONE; n];
    for (i, &(h, r)) in by_hash.iter().enumerate() {
        if values.last() != Some(&h) {
            values.push(h);
            starts.push(i as u32);
        }
        u_of[r as usize] = (values.len() - 1) as u32;
    }
    starts.push(by_hash.len() as u32);
    let members = |u: usize| {
        by_hash[starts[u] as usize..starts[u + 1] as usize]
            .iter()
            .map(|x| x.1)
    };
    let nu = values.len();

    // DCT verification: per-coefficient weights 1 / mean square over the (unit) vectors.
    let mut msq = [0f64; 64];
    for &(_, r) in &by_hash {
        if let Some(f) = &rows[r as usize].image {
            for (m, x) in msq.iter_mut().zip(unit_dct(f)) {
                *m += (x * x) as f64;
            }
        }
    }
    let count = by_hash.len().max(1) as f64;
    let weight: Vec<f32> = msq
        .iter()
        .map(|&m| if m > 0.0 { (count / m) as f32 } else { 0.0 })
        .collect();
    let dct = |r: u32| rows[r as usize].image.as_ref().map(|f| &f.dct);
    let wnorm = |r: u32| -> f32 {
        dct(r).map_or(0.0, |d| {
            d.iter()
                .flatten()
                .zip(&weight)
                .map(|(&c, w)| c as f32 * c as f32 * w)
                .sum::<f32>()
                .sqrt()
        })
    };
    let min_cos = 1.0 - 0.5 * t.near_duplicate_dct * t.near_duplicate_dct;
    let close = |a: u32, na: f32, b: u32, nb: f32| -> bool {
        let (Some(da), Some(db)) = (dct(a), dct(b)) else {
            return false;
        };
        if na <= 0.0 || nb <= 0.0 {
            return false;
        }
        let dot: f32 = da
            .iter()
            .flatten()
            .zip(db.iter().flatten())
            .zip(&weight)
            .map(|((&x, &y), w)| x as f32 * y as f32 * w)
            .sum();
        dot / (na * nb) >= min_cos
    };
    let rep_norm: Vec<f32> = (0..nu)
        .map(|u| wnorm(by_hash[starts[u] as usize].1))
        .collect();
    // Members beyond a hash's first that fail the DCT check are left out of near matching.
    let mut near_ok = vec![false; n];
    for u in 0..nu {
        let first = by_hash[starts[u] as usize].1;
        for r in members(u) {
            near_ok[r as usize] = r == first || close(first, rep_norm[u], r, wnorm(r));
        }
    }

    for (r, ok) in near_ok.iter().enumerate() {
        if !ok {
            u_of[r] = NONE;
        }
    }
    let members_ok = |u: usize| members(u).filter(|&r| near_ok[r as usize]);

    // Per distinct hash: a train member, the labels present, whether pixels differ inside.
    let mut train_row = vec![NONE; nu];
    let mut labels: Vec<Vec<u32>> = vec![Vec::new(); nu];
    let mut mixed = vec![false; nu];
    for u in 0..nu {
        let mut first_key = None;
        let first = starts[u];
        for r in members_ok(u) {
            let row = &rows[r as usize];
            uf.union(by_hash[first as usize].1, r);
            if Some(row.split) == train && train_row[u] == NONE {
                train_row[u] = r;
            }
            if let Some(l) = row.label {
                if !labels[u].contains(&l) {
                    labels[u].push(l);
                }
            }
            let key = row.image.as_ref().map(exact_key);
            match first_key {
                None => first_key = key,
                Some(k) if Some(k) != key => mixed[u] = true,
                _ => {}
            }
        }
        labels[u].sort_unstable();
    }

    // Links between distinct hashes.
    let mut near: Vec<Option<Best>> = vec![None; nu];
    let mut near_train: Vec<Option<Best>> = vec![None; nu];
    let mut conflict: Vec<Option<Best>> = vec![None; nu];
    let first_of = |u: u32| by_hash[starts[u as usize] as usize].1;
    // A member of hash `u` labelled other than `l`.
    let labelled_not = |u: u32, l: u32| {
        members_ok(u as usize).find(|&o| rows[o as usize].label.is_some_and(|m| m != l))
    };
    let accept = |a: u32, b: u32| {
        close(
            first_of(a),
            rep_norm[a as usize],
            first_of(b),
            rep_norm[b as usize],
        )
    };
    // Links hashes `a` and `b` (rows `ra`, `rb`) at distance `d`.
    let mut link = |a: u32, b: u32, ra: u32, rb: u32, d: u8, shifted: bool| {
        uf.union(ra, rb);
        better(&mut near[a as usize], d, rb, shifted);
        better(&mut near[b as usize], d, ra, shifted);
        if train_row[b as usize] != NONE {
            better(
                &mut near_train[a as usize],
                d,
                train_row[b as usize],
                shifted,
            );
        }
        if train_row[a as usize] != NONE {
            better(
                &mut near_train[b as usize],
                d,
                train_row[a as usize],
                shifted,
            );
        }
        // Only hashes with one label need this: with two, they conflict within.
        for (x, y) in [(a, b), (b, a)] {
            if let [l] = labels[x as usize][..] {
                if let Some(o) = labelled_not(y, l) {
                    better(&mut conflict[x as usize], d, o, shifted);
                }
            }
        }
    };
    near_pairs(&values, t.near_duplicate_distance, &accept, &mut |pairs| {
        for &(a, b, d) in pairs {
            link(a, b, first_of(a), first_of(b), d, false);
        }
    });

    // Shifted copies of small images, linking the rows' hashes (rows in near matching only).
    let eligible = |r: usize| u_of[r] != NONE;
    for (ra, rb, d) in shifted_pairs(rows, &eligible, t) {
        let (a, b) = (u_of[ra as usize], u_of[rb as usize]);
        if a != b {
            link(a, b, ra, rb, d, true);
        }
    }

    // Embedding links, per row: nearest, nearest in train, nearest with another label. Rows in
    // a set of exact copies search through the set's first member and share its links.
    let mut emb_near: Vec<Option<Best>> = vec![None; n];
    let mut emb_train: Vec<Option<Best>> = vec![None; n];
    let mut emb_other: Vec<Vec<Best>> = vec![Vec::new(); n];
    let exact_first = |r: usize| match exact[r] {
        NONE => r as u32,
        s => exact_sets[s as usize][0].1,
    };
    if let Some(p) = emb {
        let take = |i: usize| exact_first(p.rows[i] as usize) == p.rows[i];
        for (i, j, c) in cosine_pairs(p, t.embedding_near_cosine, t.seed, &take) {
            let (ra, rb) = (p.rows[i as usize], p.rows[j as usize]);
            uf.union(ra, rb);
            let d = (64.0 * (1.0 - c)).round().clamp(0.0, 64.0) as u8;
            let best = |row: u32| Best {
                d,
                row,
                shifted: false,
                cos: Some(c),
            };
            for (x, y) in [(ra, rb), (rb, ra)] {
                offer(&mut emb_near[x as usize], best(y));
                if Some(rows[y as usize].split) == train {
                    offer(&mut emb_train[x as usize], best(y));
                }
                // Closest partner per label (a few at most), for label conflicts.
                if let Some(l) = rows[y as usize].label {
                    let list = &mut emb_other[x as usize];
                    match list
                        .iter_mut()
                        .find(|b| rows[b.row as usize].label == Some(l))
                    {
                        Some(b) => {
                            let mut slot = Some(*b);
                            offer(&mut slot, best(y));
                            *b = slot.unwrap_or(*b);
                        }
                        None => list.push(best(y)),
                    }
                }
            }
        }
    }

    let mut size = vec![0u32; n];
    let roots: Vec<u32> = (0..n as u32).map(|r| uf.find(r)).collect();
    for &root in &roots {
        size[root as usize] += 1;
    }

    let label_name = |l: u32| -> String {
        classes
            .get(l as usize)
            .map_or_else(|| l.to_string(), |c| format!("'{c}'"))
    };
    let via = |b: &Best| {
        if b.shifted {
            " after shifting it by up to 2 px (a shifted copy)"
        } else {
            ""
        }
    };
    let mut out = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let Some(f) = &row.image else { continue };
        let root = roots[r] as u64;
        let u = u_of[r];
        let set: &[(ExactKey, u32)] = match exact[r] {
            NONE => &[],
            s => exact_sets[s as usize],
        };
        // A member of r's exact set, other than r.
        let exact_other = |pred: &dyn Fn(&SampleRow) -> bool| -> Option<u32> {
            set.iter()
                .map(|x| x.1)
                .find(|&o| o as usize != r && pred(&rows[o as usize]))
        };
        if let Some(other) = exact_other(&|_| true) {
            let count = set.len();
            out.push(Raw {
                kind: FindingKind::ExactDuplicate,
                row: r,
                group: Some(set[0].1 as u64),
                score: 1.0,
                detail: format!(
                    "same {}x{}x{} pixels as {} other sample(s), e.g. {}",
                    f.width,
                    f.height,
                    f.channels,
                    count - 1,
                    names(other as usize)
                ),
                partner: Some(other as usize),
            });
        }

        // Nearest sample with other pixels.
        let mut nearest: Option<Best> = None;
        if u != NONE {
            let u = u as usize;
            if mixed[u] {
                let key = exact_key(f);
                if let Some(o) = members_ok(u)
                    .find(|&o| rows[o as usize].image.as_ref().map(exact_key) != Some(key))
                {
                    better(&mut nearest, 0, o, false);
                }
            }
            if let Some(b) = near[u] {
                better(&mut nearest, b.d, b.row, b.shifted);
            }
        }
        let first = exact_first(r) as usize;
        if let Some(b) = emb_near[first] {
            offer(&mut nearest, b);
        }
        if let Some(b) = nearest {
            let how = match b.cos {
                Some(_) => b.how(),
                None => format!("perceptual hash {} bit(s){}", b.d, via(&b)),
            };
            out.push(Raw {
                kind: FindingKind::NearDuplicate,
                row: r,
                group: Some(root),
                score: b.score(),
                detail: format!(
                    "{how} from {} (cluster of {})",
                    names(b.row as usize),
                    size[root as usize]
                ),
                partner: Some(b.row as usize),
            });
        }

        // Leak: a duplicate in the train split.
        if let Some(ts) = train.filter(|&ts| ts != row.split) {
            let mut leak: Option<Best> = None;
            if let Some(o) = exact_other(&|x| x.split == ts) {
                better(&mut leak, 0, o, false);
            }
            if u != NONE {
                let u = u as usize;
                if train_row[u] != NONE {
                    better(&mut leak, 0, train_row[u], false);
                }
                if let Some(b) = near_train[u] {
                    better(&mut leak, b.d, b.row, b.shifted);
                }
            }
            if let Some(b) = emb_train[first] {
                offer(&mut leak, b);
            }
            if let Some(b) = leak {
                out.push(Raw {
                    kind: FindingKind::Leak,
                    row: r,
                    group: Some(root),
                    score: b.score(),
                    detail: format!(
                        "{} in train: {} ({})",
                        if b.d == 0 && !b.shifted && b.cos.is_none() {
                            "duplicate"
                        } else {
                            "near duplicate"
                        },
                        names(b.row as usize),
                        b.how()
                    ),
                    partner: Some(b.row as usize),
                });
            }
        }

        // Label conflict: a duplicate with another label.
        if let Some(l) = row.label {
            let other_label = |x: &SampleRow| x.label.is_some_and(|m| m != l);
            let mut conf: Option<Best> = exact_other(&other_label).map(|o| Best {
                d: 0,
                row: o,
                shifted: false,
                cos: None,
            });
            for b in &emb_other[first] {
                if other_label(&rows[b.row as usize]) {
                    offer(&mut conf, *b);
                }
            }
            if u != NONE {
                if let Some(o) = labelled_not(u, l) {
                    better(&mut conf, 0, o, false);
                }
                if let Some(b) = conflict[u as usize] {
                    // Recorded only for hashes whose single label is this one.
                    better(&mut conf, b.d, b.row, b.shifted);
                }
            }
            if let Some(b) = conf {
                let partner = &rows[b.row as usize];
                out.push(Raw {
                    kind: FindingKind::LabelConflict,
                    row: r,
                    group: Some(root),
                    score: b.score(),
                    detail: format!(
                        "labelled {} but its duplicate {} ({}) is labelled {}",
                        label_name(l),
                        names(b.row as usize),
                        b.how(),
                        partner.label.map_or_else(|| "-".to_string(), label_name)
                    ),
                    partner: Some(b.row as usize),
                });
            }
        }
    }
    out
}
