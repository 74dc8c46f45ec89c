//! The IDX writer on in-memory datasets: names, refusals, skipped samples, atomicity.

use dlscope_data::{idx, DataError, Shape};

use crate::util::{image, mem_dataset, MemSource};

fn labelled(n: usize, h: u32, w: u32, c: u8, seed: u64) -> MemSource {
    MemSource {
        items: (0..n)
            .map(|i| (Some((i % 3) as u32), Ok(image(h, w, c, seed + i as u64))))
            .collect(),
    }
}

#[test]
fn colour_goes_to_idx4_and_other_splits_keep_their_name() {
    let tmp = tempfile::tempdir().unwrap();
    let ds = mem_dataset(
        tmp.path(),
        vec![
            ("train", labelled(5, 4, 3, 3, 0)),
            ("val", labelled(2, 4, 3, 3, 50)),
        ],
        3,
    );
    let out = tmp.path().join("out");
    let w = idx::write(&ds, &out, false).unwrap_err();
    // The dataset's root is the temp dir and out is inside it: refused.
    assert!(matches!(w, DataError::Refused { .. }), "{w}");
    let other = tempfile::tempdir().unwrap();
    let out = other.path().join("out");
    let w = idx::write(&ds, &out, false).unwrap();
    assert_eq!(w.samples, 7);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "train-images-idx4-ubyte",
            "train-labels-idx1-ubyte",
            "val-images-idx4-ubyte",
            "val-labels-idx1-ubyte"
        ]
    );
    let back = idx::open_dir(&out).unwrap();
    let val = back.split("val").unwrap();
    assert_eq!(val.fixed_shape(), Some(Shape::new(4, 3, 3)));
    assert_eq!(val.get(1).unwrap().image, image(4, 3, 3, 51));
    // The output exists now: a second write is refused and leaves it alone.
    assert!(matches!(
        idx::write(&ds, &out, true),
        Err(DataError::Refused { .. })
    ));
    assert!(out.join("val-images-idx4-ubyte").is_file());
}

#[test]
fn unreadable_samples_are_skipped_and_listed() {
    let root = tempfile::tempdir().unwrap();
    let mut src = labelled(6, 2, 2, 1, 0);
    src.items[2].1 = Err("broken jpeg".into());
    src.items[4].1 = Err("truncated".into());
    let ds = mem_dataset(root.path(), vec![("train", src)], 3);
    let out = tempfile::tempdir().unwrap();
    let w = idx::write(&ds, &out.path().join("o"), true).unwrap();
    assert_eq!(w.samples, 4);
    let reasons: Vec<_> = w
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.contains("broken jpeg")))
        .collect();
    assert_eq!(reasons, [("train/2", true), ("train/4", false)]);
    let back = idx::open_dir(&w.path).unwrap();
    let tr = back.split("train").unwrap();
    assert_eq!(tr.labels(), [Some(0), Some(1), Some(0), Some(2)]);
    assert_eq!(tr.get(2).unwrap().image, image(2, 2, 1, 3));
}

#[test]
fn refusals_leave_no_output() {
    let root = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("o");
    let check = |src: MemSource, want: &str| {
        let ds = mem_dataset(root.path(), vec![("train", src)], 3);
        let e = idx::write(&ds, &out, false).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
        assert!(!out.exists(), "partial output left behind after: {e}");
        e
    };
    let mut mixed = labelled(3, 2, 2, 1, 0);
    mixed.items[1].0 = None;
    assert!(matches!(
        check(mixed, "sample 1"),
        DataError::Refused { .. }
    ));
    let mut big = labelled(3, 2, 2, 1, 0);
    big.items[2].0 = Some(300);
    assert!(matches!(check(big, "label 300"), DataError::Refused { .. }));
    let mut shapes = labelled(3, 2, 2, 1, 0);
    shapes.items[2].1 = Ok(image(2, 3, 1, 9));
    assert!(matches!(
        check(shapes, "sample 2"),
        DataError::ShapeMismatch { record: 2, .. }
    ));
    let mut none = labelled(2, 2, 2, 1, 0);
    none.items[0].1 = Err("bad".into());
    none.items[1].1 = Err("bad".into());
    assert!(matches!(
        check(none, "no sample could be read"),
        DataError::Refused { .. }
    ));
    // Only leftovers of ours would start with '.dlscope'.
    let left: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn fully_unlabelled_split_is_written_without_labels_file() {
    let root = tempfile::tempdir().unwrap();
    let src = MemSource {
        items: (0..3).map(|i| (None, Ok(image(3, 3, 1, i)))).collect(),
    };
    let ds = mem_dataset(root.path(), vec![("test", src)], 0);
    let out = tempfile::tempdir().unwrap();
    let w = idx::write(&ds, &out.path().join("o"), true).unwrap();
    assert!(w.path.join("t10k-images-idx3-ubyte.gz").is_file());
    assert!(!w.path.join("t10k-labels-idx1-ubyte.gz").exists());
    let back = idx::open_dir(&w.path).unwrap();
    assert_eq!(back.split("test").unwrap().labels(), [None, None, None]);
}

#[test]
fn clashing_split_names_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let ds = mem_dataset(
        root.path(),
        vec![
            ("test", labelled(1, 1, 1, 1, 0)),
            ("t10k", labelled(1, 1, 1, 1, 0)),
        ],
        3,
    );
    let out = tempfile::tempdir().unwrap();
    let e = idx::write(&ds, &out.path().join("o"), false).unwrap_err();
    assert!(e.to_string().contains("t10k-images"), "{e}");
    let ds = mem_dataset(root.path(), vec![("../x", labelled(1, 1, 1, 1, 0))], 3);
    assert!(matches!(
        idx::write(&ds, &out.path().join("o"), false),
        Err(DataError::Refused { .. })
    ));
}
