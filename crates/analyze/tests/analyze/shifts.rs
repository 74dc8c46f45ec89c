//! Shifted copies of native 28 x 28 Fashion-MNIST images (1 and 2 pixels, zero padding as
//! augmentation pads) are found as near duplicates by the shifted-hash search, without
//! flagging more clean images than the plain perceptual-hash search does.

use std::collections::HashSet;

use dlscope_analyze::{analyze_shard, finish, FindingKind as K, Settings, Shard};
use dlscope_data::Image;
use rand::Rng;

use crate::util::*;

/// Shifts a 28 x 28 grey image by (dx, dy), filling the uncovered edge with 0.
fn shift_grey(px: &[u8], dx: i32, dy: i32) -> Vec<u8> {
    let mut out = vec![0u8; 28 * 28];
    for y in 0..28i32 {
        for x in 0..28i32 {
            let (sx, sy) = (x - dx, y - dy);
            if (0..28).contains(&sx) && (0..28).contains(&sy) {
                out[(y * 28 + x) as usize] = px[(sy * 28 + sx) as usize];
            }
        }
    }
    out
}

#[test]
fn shifted_small_images_are_near_duplicates() {
    let Some(fm) = fashion() else { return };
    let test = fm.split("test").expect("test split");
    let n = 10_000.min(test.len());
    let mut images = Vec::with_capacity(n + 400);
    let mut labels = Vec::with_capacity(n + 400);
    for i in 0..n {
        let s = test.get(i).expect("decodes");
        labels.push(s.label);
        images.push(Ok(s.image));
    }
    // 400 shifted copies of distinct random bases: 200 by one pixel (one axis or both),
    // 200 by two pixels on at least one axis.
    let mut rng = rng(11);
    let mut bases: Vec<usize> = Vec::new();
    let mut used = HashSet::new();
    while bases.len() < 400 {
        let b = rng.random_range(0..n);
        if used.insert(b) {
            bases.push(b);
        }
    }
    let mut copies: Vec<(usize, usize, i32, i32)> = Vec::new();
    for (k, &b) in bases.iter().enumerate() {
        let (dx, dy) = loop {
            let lim: i32 = if k < 200 { 1 } else { 2 };
            let (dx, dy) = (rng.random_range(-lim..=lim), rng.random_range(-lim..=lim));
            if (dx, dy) != (0, 0) && (k < 200 || dx.abs() == 2 || dy.abs() == 2) {
                break (dx, dy);
            }
        };
        let base = images[b].as_ref().expect("base decodes");
        let data = shift_grey(&base.data, dx, dy);
        copies.push((images.len(), b, dx, dy));
        images.push(Ok(Image::new(28, 28, 1, data).expect("shape")));
        labels.push(labels[b]);
    }
    let ds = mem_dataset(10, vec![("train", MemSource { images, labels })]);
    let s = Settings::default();
    let pass = analyze_shard(&ds, &s, Shard::whole(), &|_| {}).expect("pass");
    let mut plain = s.clone();
    plain.thresholds.shift_distance = 0;
    let with = finish(pass.clone(), &ds, &s, &|_| {}).expect("findings");
    let without = finish(pass, &ds, &plain, &|_| {}).expect("findings");

    let flagged = |a: &dlscope_analyze::Analysis| -> HashSet<u64> {
        a.findings
            .iter()
            .filter(|f| f.kind == K::NearDuplicate)
            .map(|f| f.index)
            .collect()
    };
    let (fw, fo) = (flagged(&with), flagged(&without));
    // Recall: a copy counts when it is flagged with its own base as the named partner, or in
    // the base's group.
    let group_of = |a: &dlscope_analyze::Analysis, i: u64| {
        a.findings
            .iter()
            .find(|f| f.kind == K::NearDuplicate && f.index == i)
            .and_then(|f| f.group)
    };
    let recall = |a: &dlscope_analyze::Analysis, range: std::ops::Range<usize>| -> f64 {
        let found = copies[range.clone()]
            .iter()
            .filter(|&&(c, b, _, _)| {
                let g = group_of(a, c as u64);
                g.is_some() && g == group_of(a, b as u64)
            })
            .count();
        found as f64 / range.len() as f64
    };
    let (r1, r2) = (recall(&with, 0..200), recall(&with, 200..400));
    let (p1, p2) = (recall(&without, 0..200), recall(&without, 200..400));
    // False flags: clean images (no copy made of them) flagged as near duplicates.
    let clean: Vec<u64> = (0..n as u64)
        .filter(|i| !used.contains(&(*i as usize)))
        .collect();
    let fp = |f: &HashSet<u64>| clean.iter().filter(|i| f.contains(i)).count();
    let (fp_with, fp_without) = (fp(&fw), fp(&fo));
    println!(
        "shift recall: 1 px {r1:.3} (plain pHash {p1:.3}), 2 px {r2:.3} (plain {p2:.3}); \
         clean images flagged: {fp_with} of {} with the shift check, {fp_without} without",
        clean.len()
    );
    let missed: Vec<_> = copies
        .iter()
        .filter(|&&(c, b, _, _)| {
            let g = group_of(&with, c as u64);
            g.is_none() || g != group_of(&with, b as u64)
        })
        .map(|&(_, b, dx, dy)| (b, dx, dy))
        .take(10)
        .collect();
    assert!(
        r1 >= 0.9,
        "1-pixel shifts found {r1:.3}; missed e.g. {missed:?}"
    );
    assert!(
        r2 >= 0.9,
        "2-pixel shifts found {r2:.3}; missed e.g. {missed:?}"
    );
    assert!(
        p2 < 0.5,
        "plain pHash already finds 2-pixel shifts ({p2:.3})"
    );
    // No more than 0.1% of the clean images newly flagged (measured: none).
    assert!(
        fp_with <= fp_without + clean.len() / 1000,
        "shift check flags {fp_with} clean images, plain search {fp_without}"
    );
    // Shifted links name their partner and say how they were found.
    let f = with
        .findings
        .iter()
        .find(|f| f.kind == K::NearDuplicate && f.detail.contains("shifting"))
        .expect("a shifted link");
    assert!(f.partner.is_some(), "{f:?}");
}
