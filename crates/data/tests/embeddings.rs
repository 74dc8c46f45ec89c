//! The embeddings reader lines `dlscope embed` rows up with the real Fashion-MNIST test split.

use dlscope_data::embeddings::Embeddings;
use safetensors::tensor::TensorView;

fn write(dir: &std::path::Path, rows: &[(usize, &str, String)], dim: usize) -> std::path::PathBuf {
    // Row r carries [sample index, -sample index, ...] so the alignment is checkable.
    let mut bytes = Vec::new();
    for (i, _, _) in rows {
        for k in 0..dim {
            let v = if k % 2 == 0 { *i as f32 } else { -(*i as f32) };
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    let view = TensorView::new(safetensors::Dtype::F32, vec![rows.len(), dim], &bytes).unwrap();
    let path = dir.join("emb.safetensors");
    safetensors::serialize_to_file([("embeddings", view)], None, &path).unwrap();
    let mut csv = String::from("row,split,id,label\n");
    for (r, (_, split, id)) in rows.iter().enumerate() {
        csv.push_str(&format!("{r},{split},{id},0\n"));
    }
    std::fs::write(dir.join("emb.ids.csv"), csv).unwrap();
    path
}

#[test]
fn rows_follow_the_ids_not_the_file_order() {
    let ds = dlscope_data::open("/usr/share/datasets/fashion-mnist").unwrap();
    let test = ds.split("test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Reversed order, test rows only.
    let rows: Vec<(usize, &str, String)> = (0..test.len())
        .rev()
        .map(|i| (i, "test", test.id(i).to_string()))
        .collect();
    let path = write(dir.path(), &rows, 3);
    let emb = Embeddings::read(&path).unwrap();
    assert_eq!((emb.rows(), emb.dim), (10_000, 3));
    let x = emb.for_split(test).unwrap();
    for i in [0usize, 1, 4321, 9999] {
        assert_eq!(&x[i * 3..i * 3 + 3], &[i as f32, -(i as f32), i as f32]);
    }
    // The train split has no rows: the error names the first sample.
    let err = emb
        .for_split(ds.split("train").unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("split 'train': sample 0"), "{err}");
}

#[test]
fn a_missing_sample_and_an_unknown_id_are_named() {
    let ds = dlscope_data::open("/usr/share/datasets/fashion-mnist").unwrap();
    let test = ds.split("test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<(usize, &str, String)> = (0..test.len())
        .filter(|&i| i != 77)
        .map(|i| (i, "test", test.id(i).to_string()))
        .collect();
    let path = write(dir.path(), &rows, 2);
    let err = Embeddings::read(&path)
        .unwrap()
        .for_split(test)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sample 77"), "{err}");
    rows.push((0, "test", "no-such-id".into()));
    let path = write(dir.path(), &rows, 2);
    let err = Embeddings::read(&path)
        .unwrap()
        .for_split(test)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no sample 'no-such-id'") && err.contains("emb.ids.csv"),
        "{err}"
    );
}
