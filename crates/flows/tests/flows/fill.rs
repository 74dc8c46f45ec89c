//! `clean --fill-labels`: a manifest of 300 Fashion-MNIST PNGs with 40 labels blanked; a small
//! MLP trained here on other Fashion-MNIST images fills them at its accuracy, filled.csv lists
//! exactly those 40, labelled rows keep their labels, the input is untouched, and a model with
//! other classes is refused with an error naming the run.

use std::path::{Path, PathBuf};

use crate::snapshot;

use dlscope_data::folder::ImageFormat;
use dlscope_data::manifest::{self, MANIFEST_FILE};
use dlscope_data::transform::{self, Keep};
use dlscope_flows::clean::{
    fill_labels, write_cleaned, CleanError, FillOptions, Options, Plan, Policy,
};
use dlscope_nn::checkpoint::{self, Provenance, RunMetrics};
use dlscope_nn::train::{TrainConfig, Trainer};
use dlscope_nn::{data, Engine};

const FM: &str = "/usr/share/datasets/fashion-mnist";
const N: usize = 300;
/// Fashion-MNIST's class names, as the catalog gives them (a bare IDX path numbers them).
fn names() -> Vec<String> {
    dlscope_data::open("fashion-mnist").unwrap().classes
}

/// Blanked rows: every 7th from row 3, the first 40 of them.
fn blanked(i: usize) -> bool {
    i % 7 == 3 && i / 7 < 40
}

/// Writes `in/` with 300 Fashion-MNIST test images as PNG files and `in/labels.csv`
/// (`path,label,split`: rows 0..250 train, the rest test; 40 labels empty). Returns the CSV
/// path, the class names, and each row's (split, true class name).
fn make_manifest(dir: &Path) -> (PathBuf, Vec<String>, Vec<(String, String)>) {
    let fm = dlscope_data::open(&format!("idx:{FM}")).unwrap();
    let test = fm.split("test").unwrap();
    let names = names();
    let root = dir.join("in");
    std::fs::create_dir_all(root.join("img")).unwrap();
    let mut csv = String::from("path,label,split\n");
    let mut truth = Vec::new();
    for i in 0..N {
        let s = test.get(i).unwrap();
        let png = ImageFormat::Png.encode(&s.image).unwrap();
        std::fs::write(root.join(format!("img/{i}.png")), png).unwrap();
        let class = names[s.label.unwrap() as usize].clone();
        let split = if i < 250 { "train" } else { "test" };
        let label = if blanked(i) { "" } else { class.as_str() };
        csv.push_str(&format!("img/{i}.png,\"{label}\",{split}\n"));
        truth.push((split.to_string(), class));
    }
    let path = root.join("labels.csv");
    std::fs::write(&path, csv).unwrap();
    (path, names, truth)
}

/// Trains 1 epoch of the Keras MLP on Fashion-MNIST training images 0..20000 and saves the run.
fn train_run(dir: &Path) -> PathBuf {
    let fm = dlscope_data::open(&format!("idx:{FM}")).unwrap();
    let classes = names();
    let sub = transform::select(
        fm,
        vec![Keep {
            split: "train".into(),
            indices: (0..20_000).collect(),
            labels: None,
        }],
    )
    .unwrap();
    let d = data::load_split(sub.split("train").unwrap(), None).unwrap();
    let mut t = Trainer::new(&TrainConfig::default(), classes, "train", &d).unwrap();
    t.fit("train", &d, 1, &Engine::Cpu, 2, &mut |_| {}).unwrap();
    let run = dir.join("run");
    checkpoint::save_run(&run, &t, &Provenance::default(), &RunMetrics::default()).unwrap();
    run
}

#[test]
fn fills_missing_manifest_labels_from_a_trained_model() {
    let tmp = tempfile::tempdir().unwrap();
    let (csv, fm_classes, truth) = make_manifest(tmp.path());
    let before = snapshot(&tmp.path().join("in"));
    let run = train_run(tmp.path());
    let model = checkpoint::load_model(&run).unwrap();

    let ds = manifest::open(&csv).unwrap();
    // The manifest sorts its class names: the model's order differs, names are matched.
    assert_ne!(ds.classes, fm_classes);
    let unlabelled: usize = ds
        .splits
        .iter()
        .map(|s| s.labels().iter().filter(|l| l.is_none()).count())
        .sum();
    assert_eq!(unlabelled, 40);

    let plan = Plan::keep_all(&ds);
    let fills = fill_labels(&ds, &plan, &model, &run, &FillOptions::default()).unwrap();
    assert_eq!(fills.len(), 40);
    assert!(fills
        .iter()
        .all(|f| f.label.is_some() && f.reason.is_none()));

    let out = tmp.path().join("out");
    let opts = Options::new(Policy::default());
    let s = write_cleaned(ds, &plan, Some(&fills), &opts, &out).unwrap();
    assert_eq!((s.filled, s.left_unlabelled), (40, 0));
    assert_eq!((s.input, s.written, s.removed), (N, N, 0));

    // The written manifest: every row labelled; filled rows right at the model's accuracy,
    // labelled rows unchanged.
    let back = manifest::open(&out.join("data").join(MANIFEST_FILE)).unwrap();
    let mut rows = Vec::new();
    for split in &back.splits {
        for i in 0..split.len() {
            let l = split.label(i).expect("every row labelled after filling");
            let name = back.classes[l as usize].clone();
            let id = split.id(i).to_string();
            let row: usize = Path::new(&id)
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("id {id}"));
            assert_eq!(split.name(), truth[row].0);
            rows.push((row, name));
        }
    }
    rows.sort();
    assert_eq!(rows.len(), N);
    let mut right = 0;
    for (row, name) in &rows {
        if blanked(*row) {
            right += usize::from(*name == truth[*row].1);
        } else {
            assert_eq!(*name, truth[*row].1, "labelled row {row} changed");
        }
    }
    let acc = right as f64 / 40.0;
    eprintln!("fill: {right}/40 filled labels right ({acc:.3})");
    assert!(acc >= 0.7, "filled accuracy {acc}");

    // filled.csv lists exactly the 40, with class and probability.
    let text = std::fs::read_to_string(out.join("filled.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "split,index,id,label,class,probability,reason");
    assert_eq!(lines.len(), 41);
    let mut r = csv::Reader::from_path(out.join("filled.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let p: f32 = rec[5].parse().unwrap();
        assert!(p > 0.0 && p <= 1.0);
        assert_eq!(&rec[3], &rec[4]);
        assert!(fm_classes.iter().any(|c| c == &rec[3]));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["filled"], 40);

    // The input is untouched.
    assert_eq!(snapshot(&tmp.path().join("in")), before);

    // A minimum probability leaves the unsure ones unlabelled, with the reason.
    let ds = manifest::open(&csv).unwrap();
    let strict = FillOptions {
        min_prob: Some(0.9),
        ..FillOptions::default()
    };
    let some = fill_labels(&ds, &plan, &model, &run, &strict).unwrap();
    assert_eq!(some.len(), 40);
    let left: Vec<_> = some.iter().filter(|f| f.label.is_none()).collect();
    assert!(!left.is_empty() && left.len() < 40, "{} left", left.len());
    for f in &some {
        match f.label {
            Some(_) => assert!(f.probability >= 0.9),
            None => {
                assert!(f.probability < 0.9);
                assert!(f.reason.as_deref().unwrap_or("").contains("below"));
            }
        }
    }
    let out2 = tmp.path().join("out2");
    let s = write_cleaned(ds, &plan, Some(&some), &opts, &out2).unwrap();
    assert_eq!(s.filled + s.left_unlabelled, 40);
    assert_eq!(s.left_unlabelled, left.len());
    let back = manifest::open(&out2.join("data").join(MANIFEST_FILE)).unwrap();
    let still: usize = back
        .splits
        .iter()
        .map(|s| s.labels().iter().filter(|l| l.is_none()).count())
        .sum();
    assert_eq!(still, left.len());
}

#[test]
fn a_model_with_other_classes_or_size_is_refused_naming_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (csv, _, _) = make_manifest(tmp.path());
    let ds = manifest::open(&csv).unwrap();
    let fm = dlscope_data::open(&format!("idx:{FM}")).unwrap();
    let sub = transform::select(
        fm,
        vec![Keep {
            split: "train".into(),
            indices: (0..500).collect(),
            labels: None,
        }],
    )
    .unwrap();
    let d = data::load_split(sub.split("train").unwrap(), None).unwrap();
    let other: Vec<String> = (0..10).map(|c| format!("class{c}")).collect();
    let t = Trainer::new(&TrainConfig::default(), other, "train", &d).unwrap();
    let run = tmp.path().join("other-run");
    let plan = Plan::keep_all(&ds);
    let e = fill_labels(&ds, &plan, &t.model, &run, &FillOptions::default()).unwrap_err();
    assert!(matches!(e, CleanError::Model { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("other-run"), "{msg}");
    assert!(msg.contains("class3") && msg.contains("Trouser"), "{msg}");

    // A model of another input size (14x14) is refused too.
    let small = data::resize_dense(d, dlscope_data::Shape::new(14, 14, 1));
    let t = Trainer::new(&TrainConfig::default(), ds.classes.clone(), "train", &small).unwrap();
    let e = fill_labels(&ds, &plan, &t.model, &run, &FillOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("other-run") && msg.contains("14x14"), "{msg}");
}
