//! Findings from per-sample embeddings, on a synthetic embedding matrix: clusters of random
//! vectors with planted near pairs (some across train/test, some with different labels) and
//! one far-away vector. The images are independent random noise, so no pixel finding links
//! any two samples: every link found comes from the embeddings.

use std::collections::{BTreeMap, BTreeSet};

use dlscope_analyze::{
    analyze, analyze_embedded, analyze_shard, finish_embedded, merge, AnalyzeError, EmbeddingsInfo,
    FindingKind as K, SampleEmbeddings, Settings, Shard,
};
use dlscope_data::{Dataset, Image};
use rand::Rng;

use crate::util::*;

const DIM: usize = 48;
const TRAIN: usize = 500;
const TEST: usize = 150;

struct Fixture {
    ds: Dataset,
    emb: SampleEmbeddings,
    /// Sample number (train first, then test) of the far-away vector.
    far: usize,
}

fn gauss(rng: &mut impl Rng) -> f32 {
    let u: f64 = rng.random::<f64>().max(1e-300);
    let v: f64 = rng.random();
    ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
}

fn fixture() -> Fixture {
    let mut rng = rng(41);
    let n = TRAIN + TEST;
    // 12 cluster centres; members are centre + noise of 0.6 its norm (cosine about 0.74).
    let centres: Vec<Vec<f32>> = (0..12)
        .map(|_| (0..DIM).map(|_| gauss(&mut rng)).collect())
        .collect();
    let mut vecs: Vec<Vec<f32>> = (0..n)
        .map(|_| {
            let c = &centres[rng.random_range(0..centres.len())];
            c.iter().map(|&x| x + 0.6 * gauss(&mut rng)).collect()
        })
        .collect();
    let mut labels: Vec<u32> = (0..n).map(|_| rng.random_range(0..5)).collect();
    // Planted near pairs: b = a + small noise (cosine about 0.97-0.99), at 60 random places,
    // so some cross train/test and some carry another label.
    let mut used = BTreeSet::new();
    let mut planted = 0;
    while planted < 60 {
        let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
        if a == b || !used.insert(a) || !used.insert(b) {
            continue;
        }
        let scale = rng.random_range(0.1..0.2f32);
        vecs[b] = vecs[a]
            .iter()
            .map(|&x| x + scale * gauss(&mut rng))
            .collect();
        if planted % 3 == 0 {
            labels[b] = labels[a];
        }
        planted += 1;
    }
    // One vector far from every cluster.
    let far = (0..n).find(|i| !used.contains(i)).unwrap_or(0);
    vecs[far] = (0..DIM).map(|_| 3.0 * gauss(&mut rng)).collect();

    let image = |rng: &mut rand_chacha::ChaCha8Rng| {
        let px: Vec<u8> = (0..24 * 24 * 3).map(|_| rng.random()).collect();
        Ok(Image::new(24, 24, 3, px).expect("shape"))
    };
    let split = |range: std::ops::Range<usize>, rng: &mut rand_chacha::ChaCha8Rng| MemSource {
        images: range.clone().map(|_| image(rng)).collect(),
        labels: range.map(|i| Some(labels[i])).collect(),
    };
    let train = split(0..TRAIN, &mut rng);
    let test = split(TRAIN..n, &mut rng);
    let ds = mem_dataset(5, vec![("train", train), ("test", test)]);
    let flat = |r: std::ops::Range<usize>| vecs[r].iter().flatten().copied().collect();
    let emb = SampleEmbeddings {
        source: "synthetic".into(),
        dim: DIM,
        splits: vec![flat(0..TRAIN), flat(TRAIN..n)],
    };
    Fixture { ds, emb, far }
}

/// All pairs (sample numbers) whose unit vectors have a cosine of at least `min_cos`,
/// by comparing every pair.
fn brute_pairs(emb: &SampleEmbeddings, min_cos: f32) -> BTreeMap<(usize, usize), f32> {
    let unit = |v: &mut Vec<f32>| {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
    };
    let mut vecs: Vec<Vec<f32>> = emb
        .splits
        .iter()
        .flat_map(|s| s.chunks_exact(emb.dim).map(<[f32]>::to_vec))
        .collect();
    vecs.iter_mut().for_each(unit);
    let mut out = BTreeMap::new();
    for a in 0..vecs.len() {
        for b in a + 1..vecs.len() {
            let c: f32 = vecs[a].iter().zip(&vecs[b]).map(|(x, y)| x * y).sum();
            if c >= min_cos {
                out.insert((a, b), c);
            }
        }
    }
    out
}

fn number(split: &str, index: u64) -> usize {
    index as usize + if split == "test" { TRAIN } else { 0 }
}

#[test]
fn embedding_near_pairs_match_brute_force() {
    let fx = fixture();
    let s = Settings::default();
    let min_cos = s.thresholds.embedding_near_cosine;
    let want = brute_pairs(&fx.emb, min_cos);
    assert!(want.len() >= 55, "only {} planted pairs kept", want.len());
    // Nearest partner of each sample by brute force.
    let mut nearest: BTreeMap<usize, (f32, usize)> = BTreeMap::new();
    for (&(a, b), &c) in &want {
        for (x, y) in [(a, b), (b, a)] {
            let e = nearest.entry(x).or_insert((c, y));
            if c > e.0 {
                *e = (c, y);
            }
        }
    }

    let plain = analyze(&fx.ds, &s, &|_| {}).expect("analyze");
    assert_eq!(
        plain.counts[&K::NearDuplicate],
        0,
        "noise images have no pixel twins"
    );
    assert_eq!(plain.settings.embeddings, None);

    let a = analyze_embedded(&fx.ds, &s, Some(&fx.emb), &|_| {}).expect("analyze");
    let near: BTreeMap<usize, _> = a
        .findings
        .iter()
        .filter(|f| f.kind == K::NearDuplicate)
        .map(|f| (number(&f.split, f.index), f))
        .collect();
    let flagged: BTreeSet<usize> = near.keys().copied().collect();
    let expected: BTreeSet<usize> = nearest.keys().copied().collect();
    assert_eq!(flagged, expected);
    for (x, f) in &near {
        let (c, y) = nearest[x];
        let p = f.partner.as_ref().expect("partner");
        assert_eq!(number(&p.split, p.index), y, "{x}: {}", f.detail);
        assert!((f.score - c as f64).abs() < 1e-4, "{} vs {c}", f.score);
        assert!(
            f.detail
                .starts_with(&format!("embedding cosine {c:.3} from ")),
            "{}",
            f.detail
        );
    }
    // Pairs share a group.
    for &(a_, b_) in want.keys() {
        assert_eq!(near[&a_].group, near[&b_].group);
    }
    assert_eq!(
        a.settings.embeddings,
        Some(EmbeddingsInfo {
            source: "synthetic".into(),
            dim: DIM
        })
    );

    // Leaks: every test sample with a train partner; conflicts: partners labelled otherwise.
    let label = |i: usize| -> u32 {
        let (split, idx) = if i < TRAIN { (0, i) } else { (1, i - TRAIN) };
        fx.ds.splits[split].label(idx).unwrap_or(u32::MAX)
    };
    let mut want_leaks = BTreeSet::new();
    let mut want_conflicts = BTreeSet::new();
    for &(x, y) in want.keys() {
        for (p, q) in [(x, y), (y, x)] {
            if p >= TRAIN && q < TRAIN {
                want_leaks.insert(p);
            }
            if label(p) != label(q) {
                want_conflicts.insert(p);
            }
        }
    }
    let got = |k: K| -> BTreeSet<usize> {
        a.findings
            .iter()
            .filter(|f| f.kind == k)
            .map(|f| number(&f.split, f.index))
            .collect()
    };
    assert!(!want_leaks.is_empty() && !want_conflicts.is_empty());
    assert_eq!(got(K::Leak), want_leaks);
    assert_eq!(got(K::LabelConflict), want_conflicts);

    // Outliers now run on the embeddings: the far vector is the one outlier.
    let outliers: Vec<_> = a.findings.iter().filter(|f| f.kind == K::Outlier).collect();
    assert_eq!(outliers.len(), 1, "{outliers:?}");
    let top = outliers[0];
    assert_eq!(number(&top.split, top.index), fx.far);
    assert!(top.detail.contains("embedding distance"), "{}", top.detail);
}

#[test]
fn sharded_runs_take_the_embeddings_at_finish() {
    let fx = fixture();
    let s = Settings::default();
    let whole = analyze_embedded(&fx.ds, &s, Some(&fx.emb), &|_| {}).expect("analyze");
    let parts = (0..3)
        .map(|i| {
            let shard = Shard::new(i, 3, dlscope_analyze::ShardLayout::Strided).expect("shard");
            analyze_shard(&fx.ds, &s, shard, &|_| {}).expect("shard")
        })
        .collect();
    let merged = merge(parts).expect("merge");
    let sharded = finish_embedded(merged, &fx.ds, &s, Some(&fx.emb), &|_| {}).expect("finish");
    assert_eq!(sharded.findings, whole.findings);
    assert_eq!(sharded.settings, whole.settings);
}

#[test]
fn embeddings_of_another_size_are_refused() {
    let mut fx = fixture();
    fx.emb.splits[1].truncate(DIM * (TEST - 1));
    let err = analyze_embedded(&fx.ds, &Settings::default(), Some(&fx.emb), &|_| {})
        .expect_err("short embeddings");
    let msg = err.to_string();
    assert!(matches!(err, AnalyzeError::DatasetMismatch { .. }));
    assert!(
        msg.contains("split 'test'") && msg.contains("synthetic"),
        "{msg}"
    );

    let mut s = Settings::default();
    s.thresholds.embedding_near_cosine = 0.5;
    assert!(s.validate().is_err());
}
