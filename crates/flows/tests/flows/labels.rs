//! `labels`: cross-validated MLP + confident learning on a Fashion-MNIST subset with flipped
//! labels; the output folder; `--pred-probs` round trip; merging into a report.

use std::path::Path;

use dlscope_analyze::FindingKind;
use dlscope_data::Dataset;
use dlscope_flows::labels::{
    npy, read_index_list, read_issue_findings, run, LabelsConfig, ModelChoice, ProbSource,
};

const N: usize = 3000;

fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut h = magic.to_be_bytes().to_vec();
    for d in dims {
        h.extend_from_slice(&d.to_be_bytes());
    }
    h
}

/// The first `N` Fashion-MNIST train images, with the labels of every 20th sample (5%) moved
/// to the next class, written as a raw IDX folder. Returns the dataset and the flipped indices.
fn flipped_subset(dir: &Path) -> (Dataset, Vec<usize>) {
    let fm = dlscope_data::open("fashion-mnist").unwrap();
    let train = fm.split("train").unwrap().to_dense().unwrap();
    let per = 28 * 28;
    let mut labels: Vec<u8> = train.labels[..N].iter().map(|&l| l as u8).collect();
    let flipped: Vec<usize> = (0..N).filter(|i| i % 20 == 7).collect();
    for &i in &flipped {
        labels[i] = (labels[i] + 1) % 10;
    }
    let mut images = idx_header(0x0803, &[N as u32, 28, 28]);
    images.extend_from_slice(&train.pixels[..N * per]);
    let mut lab = idx_header(0x0801, &[N as u32]);
    lab.extend_from_slice(&labels);
    std::fs::write(dir.join("train-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), lab).unwrap();
    let ds = dlscope_data::idx::open_dir_with_classes(dir, fm.classes.clone()).unwrap();
    (ds, flipped)
}

#[test]
fn finds_flipped_fashion_labels_and_writes_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let (ds, flipped) = flipped_subset(&data);
    let list = tmp.path().join("flipped.txt");
    let text: String = flipped.iter().map(|i| format!("{i}\n")).collect();
    std::fs::write(&list, format!("index\n{text}")).unwrap();
    assert_eq!(read_index_list(&list).unwrap(), flipped);

    let cfg = LabelsConfig {
        source: ProbSource::CrossVal {
            model: ModelChoice::Mlp,
            folds: 3,
            epochs: 5,
        },
        seed: 1,
        flipped_list: Some(list),
        ..LabelsConfig::default()
    };
    let out = tmp.path().join("labels");
    let mut folds = 0;
    let got = run(&ds, &cfg, &out, &mut |e| {
        if let dlscope_nn::crossval::FoldEvent::Done { .. } = e {
            folds += 1
        }
    })
    .unwrap();
    assert_eq!(folds, 3);
    let s = &got.summary;
    assert_eq!((s.n, s.k), (N, 10));
    assert!(
        s.cv_accuracy > 0.7,
        "out-of-sample accuracy {}",
        s.cv_accuracy
    );
    let truth = s.truth.as_ref().unwrap();
    assert_eq!(truth.flipped, 150);
    assert!(truth.recall > 0.5, "recall {}", truth.recall);
    // A weak model (2000 training images per fold) also flags genuinely ambiguous images;
    // random picks would have precision 0.05.
    assert!(truth.precision > 0.15, "precision {}", truth.precision);
    eprintln!(
        "labels: {} issues, precision {:.3} recall {:.3}",
        s.issues, truth.precision, truth.recall
    );
    // Every flagged flip suggests a label other than the (wrong) given one.
    for f in &got.findings {
        assert_eq!(f.kind, FindingKind::LabelIssue);
        assert_ne!(f.suggested_label, f.label);
    }

    for f in [
        "pred_probs.npy",
        "label_issues.csv",
        "findings.csv",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let (p, rows, cols) = npy::read_matrix(&out.join("pred_probs.npy")).unwrap();
    assert_eq!((rows, cols), (N, 10));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["issues"], s.issues);
    assert_eq!(json["folds"], 3);
    let csv_rows = std::fs::read_to_string(out.join("label_issues.csv"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(csv_rows, s.issues + 1);

    // The written probabilities give the same issues without training.
    let again = run(
        &ds,
        &LabelsConfig {
            source: ProbSource::File(out.join("pred_probs.npy")),
            ..LabelsConfig::default()
        },
        &tmp.path().join("again"),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(again.issues.issues, got.issues.issues);
    assert_eq!(p.len(), N * 10);

    // The findings read back for `analyze --labels` are the ones written.
    let back = read_issue_findings(&out, &ds).unwrap();
    assert_eq!(back.len(), got.findings.len());
    assert_eq!(back[0].index, got.findings[0].index);
    assert_eq!(back[0].suggested_label, got.findings[0].suggested_label);

    // Outputs never overwrite.
    assert!(run(&ds, &cfg, &out, &mut |_| {}).is_err());
}

#[test]
fn npy_round_trip_and_refusals() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("p.npy");
    let v = [0.25f32, 0.75, 1.0, 0.0, 0.5, 0.5];
    std::fs::write(&path, npy::encode_f32(&v, 3, 2)).unwrap();
    assert_eq!(npy::read_matrix(&path).unwrap(), (v.to_vec(), 3, 2));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        (10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize) % 64,
        0
    );
    std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
    let err = npy::read_matrix(&path).unwrap_err().to_string();
    assert!(err.contains("p.npy") && err.contains("bytes"), "{err}");
}
