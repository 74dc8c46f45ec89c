//! `clean` on a hand-made report over a small IDX copy of Fashion-MNIST: the right samples go,
//! one per duplicate group stays, leaks go on the chosen side, labels change where asked, counts
//! reconcile, and the input files are untouched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::snapshot;

use dlscope_analyze::{DatasetMeta, Profile, Settings};
use dlscope_analyze::{DecodeSettings, Finding, FindingKind, MeanImageSpec, Partner, PassSettings};
use dlscope_data::transform::{self, Keep};
use dlscope_data::{Dataset, SampleId};
use dlscope_flows::clean::{clean, LeakSide, Options, Policy};
use dlscope_report::json::{Report, Tool};

const FM: &str = "/usr/share/datasets/fashion-mnist";

/// Train = first 60 Fashion-MNIST training images, test = first 40 test images, as IDX files.
fn make_input(dir: &Path) -> PathBuf {
    let ds = dlscope_data::open(&format!("idx:{FM}")).unwrap();
    let small = transform::select(
        ds,
        vec![
            Keep {
                split: "train".into(),
                indices: (0..60).collect(),
                labels: None,
            },
            Keep {
                split: "test".into(),
                indices: (0..40).collect(),
                labels: None,
            },
        ],
    )
    .unwrap();
    let out = dir.join("in");
    dlscope_data::idx::write(&small, &out, false).unwrap();
    out
}

fn f(kind: FindingKind, split: &str, index: u64, group: Option<u64>) -> Finding {
    Finding {
        kind,
        split: split.into(),
        index,
        id: SampleId::Index(index),
        label: None,
        group,
        score: 1.0,
        detail: String::new(),
        suggested_label: None,
        partner: None,
    }
}

fn report(ds: &Dataset, findings: Vec<Finding>) -> Report {
    Report {
        schema_version: dlscope_report::SCHEMA_VERSION,
        tool: Tool {
            name: "dlscope".into(),
            version: "test".into(),
        },
        dataset: DatasetMeta::of(ds),
        settings: Settings::default(),
        pass: PassSettings {
            decode: DecodeSettings::default(),
            mean_image: MeanImageSpec {
                width: 28,
                height: 28,
                channels: 1,
            },
        },
        counts: BTreeMap::new(),
        profile: Profile {
            splits: Vec::new(),
            mean_images: Vec::new(),
        },
        findings,
    }
}

/// Exact set {train 3, 10, 20}; leak test/5 -> train/30 inside near cluster {train 30, 31,
/// test 5}; train/44 unreadable; train/50 label issue; train/51 an outlier (not acted on).
fn findings(ds: &Dataset) -> Vec<Finding> {
    let mut v = vec![
        f(FindingKind::ExactDuplicate, "train", 3, Some(3)),
        f(FindingKind::ExactDuplicate, "train", 10, Some(3)),
        f(FindingKind::ExactDuplicate, "train", 20, Some(3)),
        f(FindingKind::NearDuplicate, "train", 30, Some(30)),
        f(FindingKind::NearDuplicate, "train", 31, Some(30)),
        f(FindingKind::NearDuplicate, "test", 5, Some(30)),
        f(FindingKind::Unreadable, "train", 44, None),
        f(FindingKind::Outlier, "train", 51, None),
    ];
    let mut leak = f(FindingKind::Leak, "test", 5, Some(30));
    leak.partner = Some(Partner {
        split: "train".into(),
        index: 30,
        id: SampleId::Index(30),
    });
    v.push(leak);
    let mut li = f(FindingKind::LabelIssue, "train", 50, None);
    let orig = ds.split("train").unwrap().label(50).unwrap();
    li.suggested_label = Some((orig + 1) % 10);
    v.push(li);
    v
}

fn policy(side: LeakSide) -> Policy {
    Policy {
        drop: BTreeSet::from([
            FindingKind::ExactDuplicate,
            FindingKind::NearDuplicate,
            FindingKind::Leak,
            FindingKind::Unreadable,
        ]),
        relabel: BTreeSet::from([FindingKind::LabelIssue]),
        leak_side: side,
    }
}

fn removed_rows(out: &Path) -> Vec<(String, u64, String, String)> {
    let mut r = csv::Reader::from_path(out.join("removed.csv")).unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (
                rec[0].to_string(),
                rec[1].parse().unwrap(),
                rec[3].to_string(),
                rec[4].to_string(),
            )
        })
        .collect()
}

#[test]
fn clean_drops_right_samples_keeps_one_per_group_and_reconciles() {
    let tmp = tempfile::tempdir().unwrap();
    let input = make_input(tmp.path());
    let before = snapshot(&input);
    let ds = dlscope_data::open(input.to_str().unwrap()).unwrap();
    let rep = report(&ds, findings(&ds));
    let orig = dlscope_data::open(input.to_str().unwrap()).unwrap();
    let out = tmp.path().join("clean");
    let s = clean(ds, &rep, &Options::new(policy(LeakSide::Train)), &out).unwrap();

    let removed = removed_rows(&out);
    let s3 = |a: &str, i: u64, r: &str, g: &str| (a.to_string(), i, r.to_string(), g.to_string());
    assert_eq!(
        removed,
        vec![
            s3("train", 10, "exact_duplicate", "3"),
            s3("train", 20, "exact_duplicate", "3"),
            s3("train", 30, "leak", "30"),
            s3("train", 31, "leak", "30"),
            s3("train", 44, "unreadable", ""),
        ]
    );
    assert_eq!(
        (s.input, s.removed, s.written, s.skipped_on_write),
        (100, 5, 95, 0)
    );
    assert_eq!(s.input, s.written + s.removed + s.skipped_on_write);
    assert_eq!(s.relabelled, 1);
    assert_eq!(
        s.splits,
        vec![("train".to_string(), 60, 55), ("test".to_string(), 40, 40)]
    );

    // The new dataset: kept samples in order, pixels identical, label 50 changed.
    let back = dlscope_data::open(out.join("data").to_str().unwrap()).unwrap();
    let (bt, ot) = (back.split("train").unwrap(), orig.split("train").unwrap());
    assert_eq!(bt.len(), 55);
    let gone = [10usize, 20, 30, 31, 44];
    let kept: Vec<usize> = (0..60).filter(|i| !gone.contains(i)).collect();
    for (j, &i) in kept.iter().enumerate() {
        assert_eq!(
            bt.get(j).unwrap().image,
            ot.get(i).unwrap().image,
            "train {i}"
        );
        let want = if i == 50 {
            Some((ot.label(50).unwrap() + 1) % 10)
        } else {
            ot.label(i)
        };
        assert_eq!(bt.label(j), want, "label of train {i}");
    }
    assert_eq!(back.split("test").unwrap().len(), 40);

    // kept.csv lists every kept sample with its original index.
    let mut r = csv::Reader::from_path(out.join("kept.csv")).unwrap();
    let rows: Vec<(String, usize)> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[0].to_string(), x[1].parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 95);
    let train_rows: Vec<usize> = rows
        .iter()
        .filter(|r| r.0 == "train")
        .map(|r| r.1)
        .collect();
    assert_eq!(train_rows, kept);

    // The input is untouched.
    assert_eq!(snapshot(&input), before);
}

#[test]
fn leak_side_test_keeps_train_copy_and_stats_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let input = make_input(tmp.path());
    let ds = dlscope_data::open(input.to_str().unwrap()).unwrap();
    let rep = report(&ds, findings(&ds));
    let out = tmp.path().join("clean");
    let mut opts = Options::new(policy(LeakSide::Test));
    opts.stats = true;
    let s = clean(ds, &rep, &opts, &out).unwrap();
    let removed = removed_rows(&out);
    let got: Vec<(&str, u64, &str)> = removed
        .iter()
        .map(|r| (r.0.as_str(), r.1, r.2.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("train", 10, "exact_duplicate"),
            ("train", 20, "exact_duplicate"),
            ("train", 31, "near_duplicate"),
            ("train", 44, "unreadable"),
            ("test", 5, "leak"),
        ]
    );
    assert_eq!(s.input, s.written + s.removed);
    // Normalisation stats: one grey channel, mean of Fashion-MNIST pixels (~0.29).
    let st = s.stats.unwrap();
    assert_eq!(st[0].channels, 1);
    assert_eq!(st[0].samples, 56); // train: 60 - {10, 20, 31, 44}
    assert!(st[0].mean[0] > 0.15 && st[0].mean[0] < 0.45, "{:?}", st[0]);
    assert!(st[0].std[0] > 0.2 && st[0].std[0] < 0.5, "{:?}", st[0]);
    assert!(out.join("normalization.json").is_file());
}

#[test]
fn report_of_another_dataset_is_refused_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let input = make_input(tmp.path());
    let ds = dlscope_data::open(input.to_str().unwrap()).unwrap();
    let mut rep = report(&ds, findings(&ds));
    rep.dataset.splits[0].len = 61;
    let out = tmp.path().join("clean");
    let err = clean(ds, &rep, &Options::new(policy(LeakSide::Train)), &out).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    assert!(!out.exists());
}
