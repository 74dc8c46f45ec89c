//! `FeatureSpec::Embeddings`: rows of an embeddings file (as `dlscope embed` writes it: a
//! safetensors `embeddings` tensor plus `<stem>.ids.csv`) are lined up with the samples by split
//! and id, whatever their order in the file; a file of another dataset is refused naming the
//! sample.

use std::path::{Path, PathBuf};

use dlscope_ml::features::FeatureSpec;
use dlscope_ml::pipeline::{cluster, reduce, ClusterConfig, Dedup, Method, ReduceConfig};
use dlscope_ml::sampling::Strategy;

use crate::fixture;

/// Writes `emb.safetensors` (F32 `[rows, dim]`) and `emb.ids.csv` for `(split, id, row)`.
fn write_embeddings(dir: &Path, dim: usize, rows: &[(&str, String, Vec<f32>)]) -> PathBuf {
    let data: Vec<u8> = rows
        .iter()
        .flat_map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()))
        .collect();
    let mut header = format!(
        r#"{{"embeddings":{{"dtype":"F32","shape":[{},{dim}],"data_offsets":[0,{}]}}}}"#,
        rows.len(),
        data.len()
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&data);
    let path = dir.join("emb.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let mut csv = String::from("row,split,id,label\n");
    for (r, (split, id, _)) in rows.iter().enumerate() {
        csv.push_str(&format!("{r},{split},{id},\n"));
    }
    std::fs::write(dir.join("emb.ids.csv"), csv).unwrap();
    path
}

/// Embedding of sample `i`: a point near corner `i % 2` (unrelated to the pixel classes).
fn parity_row(i: usize) -> Vec<f32> {
    let c = (i % 2) as f32;
    vec![c * 5.0 + (i % 7) as f32 * 0.01, (1.0 - c) * 5.0, 1.0]
}

/// Rows for every sample of `splits` (train, test) of the fixture, written in reverse order.
fn rows_for(ds: &dlscope_data::Dataset) -> Vec<(&'static str, String, Vec<f32>)> {
    let mut rows = Vec::new();
    for name in ["train", "test"] {
        let s = ds.split(name).unwrap();
        for i in 0..s.len() {
            rows.push((name, s.id(i).to_string(), parity_row(i)));
        }
    }
    rows.reverse();
    rows
}

#[test]
fn embeddings_rows_follow_ids_and_drive_cluster_and_reduce() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = fixture::dataset(tmp.path().to_path_buf(), 20);
    let path = write_embeddings(tmp.path(), 3, &rows_for(&ds));
    let spec: FeatureSpec = format!("embeddings:{}", path.display()).parse().unwrap();
    let cfg = ClusterConfig {
        method: Method::KMeans { n_init: 3 },
        k: 2,
        features: spec.clone(),
        splits: Some(vec!["train".into()]),
        seed: 0,
        silhouette_sample: 0,
    };
    let out = cluster(&ds, &cfg).unwrap();
    assert_eq!(out.summary.dimensions, 3);
    assert_eq!(out.summary.features, spec.to_string());
    // Clusters follow the embeddings (index parity), not the pixel classes.
    let c = |i: usize| out.assignments[i].cluster;
    assert_ne!(c(0), c(1));
    assert!((0..out.assignments.len()).all(|i| c(i) == c(i % 2)));
    assert!(out.summary.ari.unwrap() < 0.1);

    // With PCA after the embeddings.
    let pca: FeatureSpec = format!("embeddings:{},pca:2", path.display())
        .parse()
        .unwrap();
    let out2 = cluster(
        &ds,
        &ClusterConfig {
            features: pca,
            ..cfg.clone()
        },
    )
    .unwrap();
    assert_eq!(out2.summary.dimensions, 2);
    assert!(out2
        .assignments
        .iter()
        .enumerate()
        .all(|(i, a)| a.cluster == out2.assignments[i % 2].cluster));

    // k-center on the embeddings: two corners, so its first picks cover both parities.
    let r = reduce(
        fixture::dataset(tmp.path().to_path_buf(), 20),
        &ReduceConfig {
            strategy: Strategy::KCenter,
            fraction: 0.05,
            seed: 1,
            dedup: Dedup::None,
            features: spec.clone(),
            splits: Some(vec!["train".into()]),
        },
    )
    .unwrap();
    assert_eq!(
        r.summary.features.as_deref(),
        Some(spec.to_string().as_str())
    );
    let kept: Vec<usize> = r
        .kept
        .iter()
        .filter(|k| k.split == "train")
        .map(|k| k.index)
        .collect();
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().any(|i| i % 2 == 0) && kept.iter().any(|i| i % 2 == 1));
}

#[test]
fn embeddings_of_another_dataset_are_refused_naming_the_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = fixture::dataset(tmp.path().to_path_buf(), 20);
    let cfg = |features| ClusterConfig {
        method: Method::KMeans { n_init: 1 },
        k: 2,
        features,
        splits: None,
        seed: 0,
        silhouette_sample: 0,
    };
    // A sample without a row: the error names it.
    let mut rows = rows_for(&ds);
    rows.retain(|(s, id, _)| !(*s == "test" && id == "7"));
    let dir = tmp.path().join("missing");
    std::fs::create_dir(&dir).unwrap();
    let path = write_embeddings(&dir, 3, &rows);
    let err = cluster(&ds, &cfg(FeatureSpec::Embeddings { path, pca: None }))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("split 'test': sample 7 ('7') has no embedding"),
        "{err}"
    );
    // A row naming a sample the split lacks: the error names the row and the id.
    let mut rows = rows_for(&ds);
    rows[0].1 = "999".into();
    let dir = tmp.path().join("extra");
    std::fs::create_dir(&dir).unwrap();
    let path = write_embeddings(&dir, 3, &rows);
    let err = cluster(&ds, &cfg(FeatureSpec::Embeddings { path, pca: None }))
        .unwrap_err()
        .to_string();
    assert!(err.contains("row 0") && err.contains("'999'"), "{err}");
    // Not an embeddings file.
    let bad = tmp.path().join("bad.safetensors");
    std::fs::write(&bad, b"nope").unwrap();
    let err = cluster(
        &ds,
        &cfg(FeatureSpec::Embeddings {
            path: bad,
            pca: None,
        }),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
}
