//! `reduce --dedup near` on a Fashion-MNIST subset with planted exact copies and brightness +10
//! copies: near drops them all before sampling (naming the kept original), exact only the
//! byte-identical ones; counts reconcile; the input files are untouched.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::snapshot;

use dlscope_analyze::Settings;
use dlscope_data::Dataset;
use dlscope_flows::reduce::{duplicate_findings, reduce_dedup_near, Duplicates};
use dlscope_ml::features::FeatureSpec;
use dlscope_ml::pipeline::{
    reduce, write_reduced, Dedup, OutputFormat, ReduceConfig, Reduced, NOT_SELECTED,
};
use dlscope_ml::sampling::Strategy;
use dlscope_report::json::Report;

/// Original images, then the copies.
const BASE: usize = 400;
const EXACT: usize = 12;
const BRIGHT: usize = 12;

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut h = magic.to_be_bytes().to_vec();
    for d in dims {
        h.extend_from_slice(&d.to_be_bytes());
    }
    h
}

/// The first `BASE` Fashion-MNIST train images, then exact copies of images `0..EXACT` and
/// brightness +10 copies of images `100..100 + BRIGHT` (same labels), as a raw IDX train split.
/// Returns the folder and, for each copy (by index), the index of its original.
fn planted(dir: &Path) -> (PathBuf, BTreeMap<usize, usize>, BTreeMap<usize, usize>) {
    let fm = dlscope_data::open("fashion-mnist").unwrap();
    let train = fm.split("train").unwrap().to_dense().unwrap();
    let per = 28 * 28;
    let mut px = train.pixels[..BASE * per].to_vec();
    let mut labels: Vec<u8> = train.labels[..BASE].iter().map(|&l| l as u8).collect();
    let (mut exact, mut bright) = (BTreeMap::new(), BTreeMap::new());
    for i in 0..EXACT {
        exact.insert(BASE + i, i);
        px.extend_from_slice(&train.pixels[i * per..(i + 1) * per]);
        labels.push(labels[i]);
    }
    for j in 0..BRIGHT {
        let i = 100 + j;
        bright.insert(BASE + EXACT + j, i);
        px.extend(
            train.pixels[i * per..(i + 1) * per]
                .iter()
                .map(|&v| v.saturating_add(10)),
        );
        labels.push(labels[i]);
    }
    let n = labels.len() as u32;
    let mut images = idx_header(0x0803, &[n, 28, 28]);
    images.extend_from_slice(&px);
    let mut lab = idx_header(0x0801, &[n]);
    lab.extend_from_slice(&labels);
    let root = dir.join("in");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("train-images-idx3-ubyte"), images).unwrap();
    std::fs::write(root.join("train-labels-idx1-ubyte"), lab).unwrap();
    (root, exact, bright)
}

fn open(root: &Path) -> Dataset {
    let classes = dlscope_data::open("fashion-mnist").unwrap().classes;
    dlscope_data::idx::open_dir_with_classes(root, classes).unwrap()
}

fn config(dedup: Dedup) -> ReduceConfig {
    ReduceConfig {
        strategy: Strategy::Stratified,
        fraction: 0.5,
        seed: 4,
        dedup,
        features: FeatureSpec::Pca(20),
        splits: None,
    }
}

/// index -> reason of every removed sample.
fn reasons(r: &Reduced) -> HashMap<usize, String> {
    r.removed
        .iter()
        .map(|s| (s.index, s.reason.clone()))
        .collect()
}

fn check_counts(r: &Reduced, n: usize) {
    let c = &r.summary.splits[0];
    assert_eq!(c.before, n);
    assert_eq!(c.before, c.after + c.duplicates_dropped + c.not_selected);
    assert_eq!(r.kept.len() + r.removed.len(), n);
    let dups = r
        .removed
        .iter()
        .filter(|s| s.reason != NOT_SELECTED)
        .count();
    assert_eq!(dups, c.duplicates_dropped);
    // The target counts the whole split: round(0.5 n), as the duplicates leave enough.
    assert_eq!(c.after, (n as f64 * 0.5).round() as usize);
}

#[test]
fn near_dedup_drops_planted_copies_exact_only_identical_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, exact, bright) = planted(tmp.path());
    let n = BASE + EXACT + BRIGHT;
    let before = snapshot(&root);

    // Analyse once; reduce from the report.json written from it.
    let ds = open(&root);
    let analysis = dlscope_analyze::analyze(&ds, &Settings::default(), &|_| {}).unwrap();
    let report_path = tmp.path().join("report.json");
    let mut f = std::fs::File::create(&report_path).unwrap();
    Report::from_analysis(&analysis).write(&mut f).unwrap();
    drop(f);
    let near =
        reduce_dedup_near(ds, &config(Dedup::None), Duplicates::Report(&report_path)).unwrap();
    assert_eq!(near.summary.dedup, "near");
    check_counts(&near, n);
    let why = reasons(&near);
    for (&copy, &orig) in &exact {
        assert_eq!(
            why.get(&copy).map(String::as_str),
            Some(format!("exact_duplicate of {orig}").as_str()),
            "exact copy {copy}"
        );
    }
    for (&copy, &orig) in &bright {
        assert_eq!(
            why.get(&copy).map(String::as_str),
            Some(format!("near_duplicate of {orig}").as_str()),
            "bright copy {copy}"
        );
    }
    let near_dropped = near.summary.splits[0].duplicates_dropped;
    assert!(near_dropped >= EXACT + BRIGHT, "{near_dropped}");
    assert!(near
        .kept
        .iter()
        .all(|k| !exact.contains_key(&k.index) && !bright.contains_key(&k.index)));

    let ex = reduce(open(&root), &config(Dedup::Exact)).unwrap();
    assert_eq!(ex.summary.dedup, "exact");
    check_counts(&ex, n);
    let why = reasons(&ex);
    for (&copy, &orig) in &exact {
        assert_eq!(
            why.get(&copy).map(String::as_str),
            Some(format!("exact_duplicate of {orig}").as_str())
        );
    }
    // Brightened copies are not byte-identical: they stay in the pool (kept or not selected).
    for copy in bright.keys() {
        assert!(
            why.get(copy).is_none_or(|r| r == NOT_SELECTED),
            "{copy}: {:?}",
            why.get(copy)
        );
    }
    let ex_dropped = ex.summary.splits[0].duplicates_dropped;
    assert!(
        ex_dropped >= EXACT && ex_dropped + BRIGHT <= near_dropped,
        "{ex_dropped} vs {near_dropped}"
    );
    println!("dropped before sampling: near {near_dropped}, exact {ex_dropped} of {n}");

    // The findings in memory give the same drops.
    let ds = open(&root);
    let found = duplicate_findings(&ds, Duplicates::Findings(&analysis.findings)).unwrap();
    assert!(found.len() >= EXACT + BRIGHT);
    let again = reduce_dedup_near(ds, &config(Dedup::None), Duplicates::Findings(&found)).unwrap();
    assert_eq!(reasons(&again), reasons(&near));

    // Outputs reconcile on disk.
    let mut near = near;
    let out = tmp.path().join("small");
    let (dir, written) = write_reduced(&mut near, &out, OutputFormat::Idx { gzip: false }).unwrap();
    assert_eq!(written.samples, near.kept.len());
    let kept = std::fs::read_to_string(dir.join("kept.csv")).unwrap();
    let removed = std::fs::read_to_string(dir.join("removed.csv")).unwrap();
    assert_eq!(kept.lines().count() - 1 + removed.lines().count() - 1, n);
    assert!(removed
        .lines()
        .any(|l| l.ends_with(&format!("near_duplicate of {}", bright[&(BASE + EXACT)]))));
    let back = dlscope_data::open(&format!("idx:{}", dir.join("data").display())).unwrap();
    assert_eq!(back.len(), near.kept.len());
    assert_eq!(snapshot(&root), before, "the input changed");
}
