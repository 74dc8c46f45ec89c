//! The data diet on 2,000 real Fashion-MNIST training images.

use std::sync::Mutex;

use dlscope_flows::diet::{run_diet, write_diet, DietConfig, DietEvent, DietResult};
use dlscope_ml::sampling::Strategy;
use dlscope_nn::Engine;

const LIMIT: usize = 2000;

fn config() -> DietConfig {
    DietConfig {
        fractions: vec![0.1, 0.5, 1.0],
        strategies: vec![Strategy::Stratified, Strategy::Prototypes],
        repeats: 1,
        seed: 3,
        epochs: 1,
        train_limit: Some(LIMIT),
        threads: 2,
        ..DietConfig::default()
    }
}

/// Runs the diet, returning the result and the class counts of each run's subset.
fn diet(ds: &dlscope_data::Dataset) -> (DietResult, Vec<(String, f64, Vec<usize>)>) {
    let counts = Mutex::new(Vec::new());
    let mut on_event = |e: &DietEvent| {
        if let DietEvent::RunStart {
            strategy,
            fraction,
            class_counts,
            ..
        } = e
        {
            if let Ok(mut c) = counts.lock() {
                c.push((strategy.clone(), *fraction, class_counts.clone()));
            }
        }
    };
    let r = run_diet(ds, &config(), &Engine::Cpu, &mut on_event).expect("diet runs");
    (r, counts.into_inner().expect("no poisoned lock"))
}

#[test]
fn small_diet_on_fashion_mnist() {
    let ds = dlscope_data::open("fashion-mnist").expect("Fashion-MNIST is installed");
    let (r, counts) = diet(&ds);
    assert_eq!((r.train_samples, r.test_samples), (LIMIT, 10_000));
    // 2 strategies x 2 fractions x 1 seed, and fraction 1 once (shared by all strategies).
    assert_eq!(r.rows.len(), 5);
    let full_rows: Vec<_> = r.rows.iter().filter(|x| x.fraction == 1.0).collect();
    assert_eq!(full_rows.len(), 1);
    assert_eq!(full_rows[0].strategy, "all");
    assert!(r.note.is_some());
    for row in &r.rows {
        assert_eq!(
            row.n_train,
            (row.fraction * LIMIT as f64).round() as usize,
            "{row:?}"
        );
    }
    // Stratified subsets hold every class in proportion to the 2,000 images.
    let first =
        dlscope_nn::data::load_split(ds.split("train").expect("train"), None).expect("loads");
    let mut full = [0usize; 10];
    for &l in &first.labels[..LIMIT] {
        full[l as usize] += 1;
    }
    let strat: Vec<_> = counts.iter().filter(|c| c.0 == "stratified").collect();
    assert_eq!(counts.iter().filter(|c| c.0 == "all").count(), 1);
    assert_eq!(strat.len(), 2);
    for (_, f, c) in strat {
        for k in 0..10 {
            let want = f * full[k] as f64;
            assert!(c[k] > 0, "class {k} missing at fraction {f}");
            assert!(
                (c[k] as f64 - want).abs() <= 1.0,
                "class {k} at {f}: {} vs {want}",
                c[k]
            );
        }
    }
    // Learning happened: well above chance (10 %) at the larger fraction.
    for row in r.rows.iter().filter(|r| r.fraction >= 0.5) {
        assert!(row.test_accuracy > 0.5, "{row:?}");
    }
    assert_eq!(r.aggregates.len(), 5);
    // The same seed gives the same numbers.
    let (again, _) = diet(&ds);
    let acc = |r: &DietResult| -> Vec<(String, f64, usize, f64)> {
        r.rows
            .iter()
            .map(|x| (x.strategy.clone(), x.fraction, x.n_train, x.test_accuracy))
            .collect()
    };
    assert_eq!(acc(&r), acc(&again));

    // Outputs: four files, a CSV row per run, an SVG line per strategy.
    let tmp = tempfile::tempdir().expect("tempdir");
    let w = write_diet(&r, &tmp.path().join("out")).expect("writes");
    let csv = std::fs::read_to_string(&w.csv).expect("csv");
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.starts_with("strategy,fraction,seed,n_train,test_accuracy"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&w.json).expect("json")).expect("parses");
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(5));
    let svg = std::fs::read_to_string(&w.svg).expect("svg");
    assert_eq!(svg.matches("class=\"line\"").count(), 2);
    assert!(svg.contains(">stratified<") && svg.contains(">prototypes<"));
    assert!(
        write_diet(&r, &w.dir).is_err(),
        "an existing folder is refused"
    );
}

#[test]
fn bad_settings_are_refused() {
    let ds = dlscope_data::open("fashion-mnist").expect("Fashion-MNIST is installed");
    let mut cfg = config();
    cfg.fractions = vec![0.0];
    let err = run_diet(&ds, &cfg, &Engine::Cpu, &mut |_| {}).expect_err("fraction 0");
    assert!(err.to_string().contains("fraction"), "{err}");
    let mut cfg = config();
    cfg.train_split = "nope".into();
    assert!(run_diet(&ds, &cfg, &Engine::Cpu, &mut |_| {}).is_err());
}
