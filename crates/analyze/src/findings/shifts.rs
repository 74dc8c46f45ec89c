//! Shifted copies of small images: every shifted hash of every small image is looked up among
//! the plain hashes of the others (same size) within `shift_distance` bits, and a hit is
//! confirmed by the pixel correlation at that shift (see [`crate::shiftkey`]).
//!
//! The lookup is multi-index hashing with radius 0: the 64 bits are cut into
//! `shift_distance + 1` chunks, so two hashes within that distance agree exactly on at least
//! one chunk; each chunk value indexes the rows holding it.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::features::SampleRow;
use crate::phash::hamming;
use crate::settings::Thresholds;
use crate::shiftkey::{shifted_correlation, shifts};

/// Confirmed pairs `(row a, row b, hash distance)` with `a < b`, each once.
pub(crate) fn shifted_pairs(
    rows: &[SampleRow],
    eligible: &(dyn Fn(usize) -> bool + Sync),
    t: &Thresholds,
) -> Vec<(u32, u32, u8)> {
    if t.shift_distance == 0 {
        return Vec::new();
    }
    let small: Vec<u32> = (0..rows.len())
        .filter(|&r| eligible(r))
        .filter(|&r| rows[r].image.as_ref().is_some_and(|f| f.shift.is_some()))
        .map(|r| r as u32)
        .collect();
    if small.len() < 2 {
        return Vec::new();
    }
    let m = (t.shift_distance + 1).min(64) as usize;
    let widths: Vec<u32> = (0..m)
        .map(|j| 64 / m as u32 + u32::from(j < 64 % m))
        .collect();
    let chunk = |h: u64, j: usize| -> u64 {
        let shift: u32 = widths[..j].iter().sum();
        let w = widths[j];
        let mask = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
        (h >> shift) & mask
    };
    let mut tables: Vec<HashMap<u64, Vec<u32>>> = vec![HashMap::new(); m];
    for &r in &small {
        let Some(f) = rows[r as usize].image.as_ref() else {
            continue;
        };
        for (j, table) in tables.iter_mut().enumerate() {
            table.entry(chunk(f.phash, j)).or_default().push(r);
        }
    }
    let offsets: Vec<(i32, i32)> = shifts().collect();
    let offsets = &offsets;
    let mut pairs: Vec<(u32, u32, u8)> = small
        .par_iter()
        .flat_map_iter(|&a| {
            let mut found: Vec<(u32, u8, usize)> = Vec::new();
            let fa = rows[a as usize].image.as_ref();
            let key = fa.and_then(|f| f.shift.as_ref());
            if let (Some(fa), Some(key)) = (fa, key) {
                for (si, &q) in key.hashes.iter().enumerate() {
                    for (j, table) in tables.iter().enumerate() {
                        let Some(cands) = table.get(&chunk(q, j)) else {
                            continue;
                        };
                        for &b in cands {
                            if b == a {
                                continue;
                            }
                            let Some(fb) = rows[b as usize].image.as_ref() else {
                                continue;
                            };
                            if (fb.width, fb.height) != (fa.width, fa.height) {
                                continue;
                            }
                            let d = hamming(q, fb.phash);
                            if d <= t.shift_distance {
                                found.push((b, d as u8, si));
                            }
                        }
                    }
                }
            }
            // Closest shift per partner, confirmed on the pixels.
            found.sort_unstable();
            found.dedup_by_key(|x| x.0);
            found.into_iter().filter_map(move |(b, d, si)| {
                let (fa, fb) = (
                    rows[a as usize].image.as_ref()?,
                    rows[b as usize].image.as_ref()?,
                );
                let (ka, kb) = (fa.shift.as_ref()?, fb.shift.as_ref()?);
                let (dx, dy) = offsets[si];
                let (w, h) = (fa.width as usize, fa.height as usize);
                (shifted_correlation(&ka.grey, &kb.grey, w, h, dx, dy) >= t.shift_min_correlation)
                    .then_some((a.min(b), a.max(b), d))
            })
        })
        .collect();
    pairs.sort_unstable();
    pairs.dedup_by_key(|p| (p.0, p.1));
    pairs
}
