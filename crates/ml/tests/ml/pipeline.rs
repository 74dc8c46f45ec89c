//! The `cluster` and `reduce` tasks end to end on the in-memory fixture.

use dlscope_ml::features::FeatureSpec;
use dlscope_ml::pipeline::{
    cluster, reduce, write_cluster, write_reduced, ClusterConfig, Dedup, Method, OutputFormat,
    ReduceConfig,
};
use dlscope_ml::sampling::Strategy;

use crate::fixture;

#[test]
fn cluster_writes_assignments_and_summary() {
    let root = tempfile::tempdir().unwrap();
    let ds = fixture::dataset(root.path().to_path_buf(), 30);
    let cfg = ClusterConfig {
        method: Method::KMeans { n_init: 2 },
        k: 3,
        features: FeatureSpec::Pixels,
        splits: None,
        seed: 1,
        silhouette_sample: 100,
    };
    let out = cluster(&ds, &cfg).unwrap();
    let s = &out.summary;
    assert_eq!((s.samples, s.dimensions, s.clusters), (90 + 45, 16, 3));
    assert_eq!(s.ari, Some(1.0));
    assert_eq!(s.purity, Some(1.0));
    assert!(s.silhouette.unwrap() > 0.8);
    assert!(s.iterations.unwrap() >= 1);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("run");
    write_cluster(&out, &target).unwrap();
    let csv = std::fs::read_to_string(target.join("assignments.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "split,id,label,cluster");
    assert_eq!(lines.len(), 1 + 135);
    assert!(lines[1].starts_with("train,0,0,"));
    assert!(lines[91].starts_with("test,0,0,"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(target.join("summary.json")).unwrap()).unwrap();
    for key in [
        "inertia",
        "ari",
        "nmi",
        "purity",
        "silhouette",
        "seconds",
        "iterations",
    ] {
        assert!(json.get(key).is_some(), "summary lacks {key}");
    }
    // The output folder is never merged into.
    assert!(write_cluster(&out, &target).is_err());

    // Density method on PCA features: noise-free fixture gives 3 clusters.
    let cfg = ClusterConfig {
        method: Method::Hdbscan {
            min_cluster_size: 10,
            min_samples: None,
        },
        features: FeatureSpec::Pca(4),
        ..cfg
    };
    let h = cluster(&ds, &cfg).unwrap();
    assert_eq!(h.summary.clusters, 3);
    assert_eq!(h.summary.explained_variance.map(|v| v > 0.5), Some(true));
}

#[test]
fn reduce_keeps_exact_stratified_counts_and_writes_idx() {
    let root = tempfile::tempdir().unwrap();
    let ds = fixture::dataset(root.path().to_path_buf(), 30);
    let cfg = ReduceConfig {
        strategy: Strategy::Stratified,
        fraction: 0.5,
        seed: 3,
        dedup: Dedup::Exact,
        features: FeatureSpec::Pca(4),
        splits: None,
    };
    let mut r = reduce(ds, &cfg).unwrap();
    let train = &r.summary.splits[0];
    assert_eq!(
        (train.before, train.duplicates_dropped, train.after),
        (90, 2, 45)
    );
    assert_eq!(r.summary.splits[1].after, 23);
    // Exactly proportional per class after dropping the two class-0 duplicates: 45 of
    // (28, 30, 30) has quotas 14.32, 15.34, 15.34 -> 14, 15, 15, and the last one goes to the
    // first of the tied largest remainders.
    let mut per = [0usize; 3];
    for k in r.kept.iter().filter(|k| k.split == "train") {
        per[k.label.unwrap() as usize] += 1;
        assert!(k.index != 3 && k.index != 6, "a planted duplicate was kept");
    }
    assert_eq!(per, [14, 16, 15]);
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("small");
    let (dir, written) = write_reduced(&mut r, &target, OutputFormat::Idx { gzip: false }).unwrap();
    assert_eq!(written.samples, 68);
    let back = dlscope_data::open(&format!("idx:{}", dir.join("data").display())).unwrap();
    assert_eq!(back.len(), 68);
    assert_eq!(back.split("train").unwrap().len(), 45);
    let kept = std::fs::read_to_string(dir.join("kept.csv")).unwrap();
    assert_eq!(kept.lines().count(), 1 + 68);
    assert_eq!(kept.lines().next(), Some("split,index,id,label"));
    // The input root was not touched.
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn reduce_is_reproducible_and_feature_strategies_work() {
    let root = tempfile::tempdir().unwrap();
    let run = |strategy, seed| {
        let ds = fixture::dataset(root.path().to_path_buf(), 20);
        let cfg = ReduceConfig {
            strategy,
            fraction: 0.1,
            seed,
            dedup: Dedup::None,
            features: FeatureSpec::Pca(4),
            splits: Some(vec!["train".into()]),
        };
        reduce(ds, &cfg).unwrap()
    };
    let a = run(Strategy::Random, 5);
    let b = run(Strategy::Random, 5);
    let idx = |r: &dlscope_ml::pipeline::Reduced| {
        r.kept
            .iter()
            .map(|k| (k.split.clone(), k.index))
            .collect::<Vec<_>>()
    };
    assert_eq!(idx(&a), idx(&b));
    assert_ne!(idx(&a), idx(&run(Strategy::Random, 6)));
    // Test split not reduced: copied whole.
    assert_eq!(a.summary.splits[1].after, 30);
    for s in [
        Strategy::KCenter,
        Strategy::Prototypes,
        Strategy::Systematic,
    ] {
        let r = run(s, 1);
        assert_eq!(r.summary.splits[0].after, 6, "{s:?}");
        if s != Strategy::Systematic {
            // 6 of 3 well-separated classes: both feature strategies cover every class.
            let mut cls: Vec<u32> = r
                .kept
                .iter()
                .filter(|k| k.split == "train")
                .map(|k| k.label.unwrap())
                .collect();
            cls.sort_unstable();
            cls.dedup();
            assert_eq!(cls, vec![0, 1, 2], "{s:?}");
        }
    }
}
