//! Shifted copies of small images: every shifted hash of every small image is looked up among
//! the plain hashes of the others (same size) within `shift_distance` bits, and a hit is
//! confirmed by the pixel correlation at that shift (see [`crate::shiftkey`]).
//!
//! The images are grouped by size first, so a candidate never needs a size check. Within a
//! group the plain hashes go into a [`QueryIndex`] (multi-index hashing planned on the real
//! bucket sizes, hashes stored contiguously per bucket), which the shifted hashes query.

use rayon::prelude::*;

use super::mih::QueryIndex;
use crate::features::SampleRow;
use crate::settings::Thresholds;
use crate::shiftkey::{shifted_correlation, shifts, ShiftKey};

/// Confirmed pairs `(row a, row b, hash distance)` with `a < b`, each once.
pub(crate) fn shifted_pairs(
    rows: &[SampleRow],
    eligible: &(dyn Fn(usize) -> bool + Sync),
    t: &Thresholds,
) -> Vec<(u32, u32, u8)> {
    if t.shift_distance == 0 {
        return Vec::new();
    }
    // (width, height, row) of every eligible small image, grouped by size.
    let mut small: Vec<(u32, u32, u32)> = (0..rows.len())
        .filter(|&r| eligible(r))
        .filter_map(|r| {
            let f = rows[r].image.as_ref()?;
            f.shift.as_ref()?;
            Some((f.width, f.height, r as u32))
        })
        .collect();
    small.sort_unstable();
    let mut pairs = Vec::new();
    for group in small.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        if group.len() >= 2 {
            group_pairs(rows, group, t, &mut pairs);
        }
    }
    pairs.sort_unstable();
    pairs.dedup_by_key(|p| (p.0, p.1));
    pairs
}

/// The confirmed pairs among one group of same-size images (`(w, h, row)`, rows ascending),
/// appended to `out` (both orders of a pair may appear; the caller keeps the closest).
fn group_pairs(rows: &[SampleRow], group: &[(u32, u32, u32)], t: &Thresholds, out: &mut Vec<Pair>) {
    let (w, h) = (group[0].0 as usize, group[0].1 as usize);
    // Members whose key is well-formed (always, for keys this crate computed).
    let members: Vec<(u32, u64, &ShiftKey)> = group
        .iter()
        .filter_map(|&(_, _, r)| {
            let f = rows[r as usize].image.as_ref()?;
            let key = f.shift.as_ref()?;
            (key.grey.len() == w * h).then_some((r, f.phash, key))
        })
        .collect();
    if members.len() < 2 {
        return;
    }
    let values: Vec<u64> = members.iter().map(|m| m.1).collect();
    let sample: Vec<u64> = QueryIndex::sample_positions(members.len())
        .flat_map(|i| members[i].2.hashes.iter().copied())
        .collect();
    let queries: usize = members.iter().map(|m| m.2.hashes.len()).sum();
    let index = QueryIndex::new(&values, t.shift_distance, &sample, queries);
    let offsets: Vec<(i32, i32)> = shifts().collect();
    let (offsets, index, members) = (&offsets, &index, &members);
    let found: Vec<Pair> = (0..members.len())
        .into_par_iter()
        .with_min_len(64)
        .flat_map_iter(|pa| {
            let (a, _, ka) = members[pa];
            // (partner row, distance, shift, partner position) of every hit.
            let mut hits: Vec<(u32, u8, usize, u32)> = Vec::new();
            for (si, &q) in ka.hashes.iter().enumerate().take(offsets.len()) {
                index.query(q, |pb, d| {
                    if pb as usize != pa {
                        hits.push((members[pb as usize].0, d as u8, si, pb));
                    }
                });
            }
            // Closest shift per partner, confirmed on the pixels.
            hits.sort_unstable();
            hits.dedup_by_key(|x| x.0);
            hits.into_iter().filter_map(move |(b, d, si, pb)| {
                let kb = members[pb as usize].2;
                let (dx, dy) = offsets[si];
                (shifted_correlation(&ka.grey, &kb.grey, w, h, dx, dy) >= t.shift_min_correlation)
                    .then_some((a.min(b), a.max(b), d))
            })
        })
        .collect();
    out.extend(found);
}

type Pair = (u32, u32, u8);

#[cfg(test)]
mod tests {
    use dlscope_data::Image;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::measure::{measure, MeanImageSpec, Scratch};
    use crate::phash::hamming;

    /// Every ordered pair of same-size small images, every shift: the closest (distance, shift)
    /// per pair within the threshold, confirmed on the pixels, the closer direction kept.
    fn brute(rows: &[SampleRow], t: &Thresholds) -> Vec<(u32, u32, u8)> {
        let offsets: Vec<(i32, i32)> = shifts().collect();
        let mut out = Vec::new();
        for (a, ra) in rows.iter().enumerate() {
            for (b, rb) in rows.iter().enumerate() {
                let (Some(fa), Some(fb)) = (ra.image.as_ref(), rb.image.as_ref()) else {
                    continue;
                };
                let (Some(ka), Some(kb)) = (fa.shift.as_ref(), fb.shift.as_ref()) else {
                    continue;
                };
                if a == b || (fa.width, fa.height) != (fb.width, fb.height) {
                    continue;
                }
                let best = ka
                    .hashes
                    .iter()
                    .enumerate()
                    .map(|(si, &q)| (hamming(q, fb.phash), si))
                    .filter(|&(d, _)| d <= t.shift_distance)
                    .min();
                if let Some((d, si)) = best {
                    let (dx, dy) = offsets[si];
                    let (w, h) = (fa.width as usize, fa.height as usize);
                    if shifted_correlation(&ka.grey, &kb.grey, w, h, dx, dy)
                        >= t.shift_min_correlation
                    {
                        out.push((a.min(b) as u32, a.max(b) as u32, d as u8));
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup_by_key(|p| (p.0, p.1));
        out
    }

    fn blob(rng: &mut impl Rng, w: usize, h: usize) -> Vec<u8> {
        let (cx, cy) = (
            rng.random_range(8.0..20.0f32),
            rng.random_range(8.0..18.0f32),
        );
        let (rx, ry, f) = (
            rng.random_range(4.0..9.0f32),
            rng.random_range(4.0..9.0f32),
            rng.random_range(0.2..1.2f32),
        );
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let r = ((x - cx).powi(2) / (rx * rx) + (y - cy).powi(2) / (ry * ry)).sqrt();
                if r < 1.0 {
                    (140.0 + 80.0 * (x * f).sin() * (y * f * 0.7).cos()) as u8
                } else {
                    0
                }
            })
            .collect()
    }

    fn moved(img: &[u8], w: usize, h: usize, dx: i32, dy: i32) -> Vec<u8> {
        let mut out = vec![0u8; w * h];
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let (sx, sy) = (x - dx, y - dy);
                if sx >= 0 && sy >= 0 && sx < w as i32 && sy < h as i32 {
                    out[(y * w as i32 + x) as usize] = img[(sy * w as i32 + sx) as usize];
                }
            }
        }
        out
    }

    #[test]
    fn finds_exactly_the_brute_force_pairs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let spec = MeanImageSpec {
            width: 8,
            height: 8,
            channels: 1,
        };
        let (mut s, mut mean) = (Scratch::default(), vec![0u8; spec.len()]);
        let mut rows = Vec::new();
        // Two sizes; each base with a few shifted copies, plus near-identical twins.
        for (k, &(w, h)) in [(28usize, 28usize), (26, 30)]
            .iter()
            .cycle()
            .take(160)
            .enumerate()
        {
            let base = blob(&mut rng, w, h);
            let mut imgs = vec![base.clone()];
            for _ in 0..rng.random_range(0..3) {
                let (dx, dy) = (rng.random_range(-2..=2), rng.random_range(-2..=2));
                imgs.push(moved(&base, w, h, dx, dy));
            }
            if k % 5 == 0 {
                let mut twin = base.clone();
                twin[w * h / 2] ^= 3;
                imgs.push(twin);
            }
            for data in imgs {
                let img = Image::new(w as u32, h as u32, 1, data).expect("shape");
                let f = measure(&img, w as u32, h as u32, 1, &spec, &mut mean, &mut s);
                rows.push(SampleRow {
                    split: 0,
                    index: rows.len() as u64,
                    label: None,
                    file: None,
                    image: Some(f),
                    error: None,
                });
            }
        }
        for dist in [2, 4, 8] {
            let t = Thresholds {
                shift_distance: dist,
                ..Thresholds::default()
            };
            let want = brute(&rows, &t);
            assert!(want.len() > 40, "{dist}: {}", want.len());
            assert_eq!(shifted_pairs(&rows, &|_| true, &t), want, "distance {dist}");
        }
        // Ineligible rows take no part.
        let t = Thresholds::default();
        let half = shifted_pairs(&rows, &|r| r % 2 == 0, &t);
        assert!(half.iter().all(|p| p.0 % 2 == 0 && p.1 % 2 == 0));
        assert!(!half.is_empty());
    }
}
