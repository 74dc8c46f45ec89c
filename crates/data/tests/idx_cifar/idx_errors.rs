//! Hand-built IDX files: every rejection is the right `DataError` and names the file; the
//! accepted variants (rank 4 colour, unlabelled, other split names) read correctly.

use std::path::Path;

use dlscope_data::{idx, DataError, Shape};

use crate::util::{assert_names, gz, idx_file, noise, put};

fn images_err(bytes: &[u8]) -> DataError {
    let tmp = tempfile::tempdir().unwrap();
    let p = put(tmp.path(), "train-images-idx3-ubyte", bytes);
    let e = idx::open_pair(&p, None, "train").unwrap_err();
    assert_names(&e, &p);
    e
}

#[test]
fn wrong_magic() {
    let mut f = idx_file(&[2, 2, 2], &[0; 8]);
    f[0] = 0x50; // e.g. a PNG or text file
    assert!(matches!(images_err(&f), DataError::BadHeader { .. }));
}

#[test]
fn element_type_not_u8() {
    let mut f = idx_file(&[1, 1, 1], &[0; 4]);
    f[2] = 0x0D; // f32
    let e = images_err(&f);
    assert!(matches!(e, DataError::BadHeader { .. }), "{e}");
    assert!(e.to_string().contains("f32"), "{e}");
}

#[test]
fn truncated_and_over_long() {
    let data = noise(1, 3 * 4 * 5);
    for (bytes, short) in [
        (&data[..59], true),
        (&[&data[..], &[1]].concat()[..], false),
    ] {
        match images_err(&idx_file(&[3, 4, 5], bytes)) {
            DataError::BadLength {
                expected, actual, ..
            } => {
                assert_eq!(expected, 16 + 60);
                assert_eq!(actual < expected, short);
            }
            e => panic!("{e}"),
        }
    }
    // Cut inside the header itself.
    assert!(matches!(
        images_err(&idx_file(&[3, 4, 5], &[])[..10]),
        DataError::BadLength { expected: 16, .. }
    ));
    assert!(matches!(images_err(&[]), DataError::BadLength { .. }));
}

#[test]
fn zero_and_absurd_dims_are_refused_without_allocating() {
    assert!(matches!(
        images_err(&idx_file(&[5, 0, 3], &[])),
        DataError::BadDims { .. }
    ));
    assert!(matches!(
        images_err(&idx_file(&[0, 3, 3], &[])),
        DataError::BadDims { .. }
    ));
    // 2^31 x 2^31 pixels per image: refused from the 16-byte header alone (an attempt to
    // allocate 2^62 bytes would abort the test process).
    let e = images_err(&idx_file(&[1, 1 << 31, 1 << 31], &[0; 64]));
    assert!(matches!(e, DataError::BadDims { .. }), "{e}");
    let e = images_err(&idx_file(&[u32::MAX, 65_535, 65_535, 4], &[]));
    assert!(matches!(e, DataError::BadDims { .. }), "{e}");
    // Large but addressable: a plain length mismatch.
    let e = images_err(&idx_file(&[1 << 20, 1024, 1024], &[0; 64]));
    assert!(
        matches!(e, DataError::BadLength { expected, .. } if expected == (1 << 40) + 16),
        "{e}"
    );
}

#[test]
fn wrong_rank_or_channels() {
    assert!(matches!(
        images_err(&idx_file(&[4], &[1, 2, 3, 4])),
        DataError::BadHeader { .. }
    ));
    assert!(matches!(
        images_err(&idx_file(&[1, 2, 2, 2], &[0; 8])),
        DataError::BadDims { .. }
    ));
    let tmp = tempfile::tempdir().unwrap();
    let im = put(
        tmp.path(),
        "a-images-idx3-ubyte",
        &idx_file(&[2, 1, 1], &[1, 2]),
    );
    let lb = put(
        tmp.path(),
        "a-labels-idx1-ubyte",
        &idx_file(&[2, 1, 1], &[1, 2]),
    );
    let e = idx::open_pair(&im, Some(&lb), "a").unwrap_err();
    assert!(matches!(e, DataError::BadHeader { .. }), "{e}");
    assert_names(&e, &lb);
}

#[test]
fn count_mismatch_names_both_files() {
    let tmp = tempfile::tempdir().unwrap();
    let im = put(
        tmp.path(),
        "train-images-idx3-ubyte",
        &idx_file(&[3, 2, 2], &[0; 12]),
    );
    let lb = put(
        tmp.path(),
        "train-labels-idx1-ubyte",
        &idx_file(&[2], &[0, 1]),
    );
    let e = idx::open_dir(tmp.path()).unwrap_err();
    match &e {
        DataError::CountMismatch {
            n_images: 3,
            n_labels: 2,
            ..
        } => {}
        e => panic!("{e}"),
    }
    assert_names(&e, &im);
    assert_names(&e, &lb);
}

#[test]
fn corrupt_and_truncated_gzip() {
    let good = gz(&idx_file(&[50, 8, 8], &noise(3, 50 * 64)));
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    flipped[mid + 1] ^= 0x55;
    let truncated = &good[..good.len() - 20];
    for bytes in [&flipped[..], truncated] {
        let e = images_err(bytes);
        assert!(matches!(e, DataError::Corrupt { kind: "gzip", .. }), "{e}");
    }
}

#[test]
fn labels_out_of_range_of_a_class_list() {
    let tmp = tempfile::tempdir().unwrap();
    put(
        tmp.path(),
        "train-images-idx3-ubyte.gz",
        &gz(&idx_file(&[4, 1, 1], &[0; 4])),
    );
    let lb = put(
        tmp.path(),
        "train-labels-idx1-ubyte",
        &idx_file(&[4], &[0, 1, 2, 9]),
    );
    let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let e = idx::open_dir_with_classes(tmp.path(), names.clone()).unwrap_err();
    match &e {
        DataError::LabelOutOfRange {
            record: 3,
            label: 9,
            classes: 3,
            ..
        } => {}
        e => panic!("{e}"),
    }
    assert_names(&e, &lb);
    // Without a list the labels define the classes: 0..=9.
    let ds = idx::open_dir(tmp.path()).unwrap();
    assert_eq!(ds.classes.len(), 10);
    put(
        tmp.path(),
        "train-labels-idx1-ubyte",
        &idx_file(&[4], &[0, 1, 2, 2]),
    );
    assert_eq!(
        idx::open_dir_with_classes(tmp.path(), names.clone())
            .unwrap()
            .classes,
        names
    );
}

#[test]
fn not_an_idx_folder() {
    let tmp = tempfile::tempdir().unwrap();
    put(tmp.path(), "notes.txt", b"hello");
    assert!(!idx::looks_like_dir(tmp.path()));
    assert!(matches!(
        idx::open_dir(tmp.path()),
        Err(DataError::UnknownFormat { .. })
    ));
    assert!(matches!(
        idx::open_dir(&tmp.path().join("missing")),
        Err(DataError::Io { .. })
    ));
}

#[test]
fn colour_unlabelled_and_named_splits() {
    let tmp = tempfile::tempdir().unwrap();
    let px = noise(9, 3 * 2 * 5 * 3);
    put(
        tmp.path(),
        "val-images-idx4-ubyte",
        &idx_file(&[3, 2, 5, 3], &px),
    );
    put(
        tmp.path(),
        "emnist-letters-train-images-idx3-ubyte",
        &idx_file(&[1, 1, 2], &[7, 8]),
    );
    put(
        tmp.path(),
        "emnist-letters-train-labels-idx1-ubyte",
        &idx_file(&[1], &[26]),
    );
    put(
        tmp.path(),
        "orphan-labels-idx1-ubyte",
        &idx_file(&[1], &[1]),
    );
    assert!(idx::looks_like_dir(tmp.path()));
    let ds = idx::open_dir(tmp.path()).unwrap();
    assert_eq!(ds.split_names(), ["emnist-letters-train", "val"]);
    assert_eq!(ds.classes.len(), 27);
    assert_eq!(ds.skipped.len(), 1);
    assert!(ds.skipped[0].path.contains("orphan"));
    let val = ds.split("val").unwrap();
    assert_eq!(val.fixed_shape(), Some(Shape::new(2, 5, 3)));
    assert_eq!(val.label(1), None);
    let s = val.get(2).unwrap();
    assert_eq!(s.image.data, &px[60..90]);
    assert!(val.get(3).is_err());
    let d = val.to_dense().unwrap();
    assert_eq!(d.pixels, px);
    assert_eq!(d.labels, [u32::MAX; 3]);
    let one = ds.split("emnist-letters-train").unwrap().get(0).unwrap();
    assert_eq!((one.label, one.image.data), (Some(26), vec![7, 8]));
}

#[test]
fn open_pair_reads_any_names() {
    let tmp = tempfile::tempdir().unwrap();
    let im = put(
        tmp.path(),
        "x.bin",
        &gz(&idx_file(&[2, 1, 3], &[1, 2, 3, 4, 5, 6])),
    );
    let lb = put(tmp.path(), "y.bin", &idx_file(&[2], &[5, 4]));
    let s = idx::open_pair(&im, Some(&lb), "holdout").unwrap();
    assert_eq!(s.name(), "holdout");
    assert_eq!(s.labels(), [Some(5), Some(4)]);
    assert_eq!(s.get(1).unwrap().image.data, [4, 5, 6]);
    assert!(Path::new(&im).exists());
}
