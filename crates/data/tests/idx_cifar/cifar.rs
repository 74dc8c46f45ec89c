//! CIFAR-10/100 from tiny generated batches: folders, archives, labels, errors.

use std::path::Path;

use dlscope_data::cifar::{self, LabelSet};
use dlscope_data::{DataError, Format, Shape};

use crate::util::{assert_names, cifar_batch, planar_pixel, put, tar_gz};

const C10_NAMES: &str = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";

/// CIFAR-10 batches: batch k (1..=5) has k records, test has 2; labels cycle 0..9.
fn c10_members() -> Vec<(String, Vec<u8>)> {
    let mut m = Vec::new();
    let mut label = 0u8;
    let mut next = |n: usize| -> Vec<Vec<u8>> {
        (0..n)
            .map(|_| {
                label = (label + 1) % 10;
                vec![label]
            })
            .collect()
    };
    for k in 1..=5usize {
        let labels = next(k);
        let refs: Vec<&[u8]> = labels.iter().map(|l| &l[..]).collect();
        m.push((
            format!("data_batch_{k}.bin"),
            cifar_batch(&refs, 100 * k as u64),
        ));
    }
    let labels = next(2);
    let refs: Vec<&[u8]> = labels.iter().map(|l| &l[..]).collect();
    m.push(("test_batch.bin".into(), cifar_batch(&refs, 900)));
    m.push(("batches.meta.txt".into(), C10_NAMES.as_bytes().to_vec()));
    m
}

fn c100_members() -> Vec<(String, Vec<u8>)> {
    let fine: String = (0..100).map(|i| format!("fine{i}\n")).collect();
    let coarse: String = (0..20).map(|i| format!("coarse{i}\n")).collect();
    vec![
        (
            "train.bin".into(),
            cifar_batch(&[&[19, 99], &[0, 0], &[7, 42]], 1),
        ),
        ("test.bin".into(), cifar_batch(&[&[3, 33]], 2)),
        ("fine_label_names.txt".into(), fine.into_bytes()),
        ("coarse_label_names.txt".into(), coarse.into_bytes()),
    ]
}

fn write_dir(dir: &Path, members: &[(String, Vec<u8>)]) {
    for (name, bytes) in members {
        put(dir, name, bytes);
    }
}

fn archive(top: &str, members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let named: Vec<(String, &[u8])> = members
        .iter()
        .map(|(n, b)| (format!("{top}/{n}"), &b[..]))
        .collect();
    let refs: Vec<(&str, &[u8])> = named.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    tar_gz(&refs)
}

/// Checks the CIFAR-10 fixture as read from anywhere.
fn check_c10(ds: &dlscope_data::Dataset, members: &[(String, Vec<u8>)]) {
    assert_eq!(ds.format, Format::Cifar);
    assert_eq!(ds.classes.len(), 10);
    assert_eq!(
        (ds.classes[0].as_str(), ds.classes[9].as_str()),
        ("airplane", "truck")
    );
    assert_eq!(ds.split_names(), ["train", "test"]);
    let train = ds.split("train").unwrap();
    assert_eq!(train.len(), 15);
    assert_eq!(train.fixed_shape(), Some(Shape::new(32, 32, 3)));
    assert_eq!(ds.split("test").unwrap().len(), 2);
    // Sample 7 is record 1 of data_batch_4 (batches hold 1, 2, 3, 4, 5 records).
    let rec = &members[3].1[3073..2 * 3073];
    let s = train.get(7).unwrap();
    assert_eq!(s.label, Some(rec[0] as u32));
    assert_eq!(s.label, Some(8)); // labels run 1, 2, ... mod 10 over the records
    for (y, x) in [(0, 0), (0, 31), (5, 17), (31, 31)] {
        for c in 0..3 {
            assert_eq!(
                s.image.data[(y * 32 + x) * 3 + c],
                planar_pixel(rec, 1, y, x, c),
                "({y},{x},{c})"
            );
        }
    }
    let dense = train.to_dense().unwrap();
    assert_eq!(dense.image(7), &s.image.data[..]);
    assert_eq!(dense.labels, (1..=15).map(|l| l % 10).collect::<Vec<u32>>());
    assert!(ds.skipped.is_empty(), "{:?}", ds.skipped);
}

#[test]
fn cifar10_folder_archive_and_parent_folder() {
    let members = c10_members();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cifar-10-batches-bin");
    write_dir(&dir, &members);
    assert!(cifar::looks_like(&dir));
    check_c10(&cifar::open(&dir).unwrap(), &members);
    // The folder that holds the archive's folder.
    assert!(cifar::looks_like(tmp.path()));
    check_c10(&cifar::open(tmp.path()).unwrap(), &members);
    // The archive itself, as downloaded.
    let tgz = put(
        tmp.path(),
        "cifar-10-binary.tar.gz",
        &archive("cifar-10-batches-bin", &members),
    );
    assert!(cifar::looks_like(&tgz));
    let ds = cifar::open(&tgz).unwrap();
    check_c10(&ds, &members);
    assert_eq!(ds.root, tgz);
    assert!(matches!(
        cifar::open_with(&tgz, LabelSet::Coarse),
        Err(DataError::UnknownFormat { .. })
    ));
}

#[test]
fn cifar100_fine_and_coarse() {
    let members = c100_members();
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), &members);
    let tgz_dir = tempfile::tempdir().unwrap();
    let tgz = put(
        tgz_dir.path(),
        "cifar-100-binary.tar.gz",
        &archive("cifar-100-binary", &members),
    );
    for path in [tmp.path(), tgz.as_path()] {
        assert!(cifar::looks_like(path));
        let fine = cifar::open(path).unwrap();
        assert_eq!(fine.classes.len(), 100);
        assert_eq!(fine.classes[42], "fine42");
        let tr = fine.split("train").unwrap();
        assert_eq!(tr.labels(), [Some(99), Some(0), Some(42)]);
        let rec = &members[0].1[2 * 3074..];
        let px = tr.get(2).unwrap().image.data;
        assert_eq!(px[(3 * 32 + 4) * 3 + 2], planar_pixel(rec, 2, 3, 4, 2));
        assert_eq!(fine.split("test").unwrap().labels(), [Some(33)]);
        let coarse = cifar::open_with(path, LabelSet::Coarse).unwrap();
        assert_eq!(coarse.classes.len(), 20);
        assert_eq!(coarse.classes[19], "coarse19");
        assert_eq!(
            coarse.split("train").unwrap().labels(),
            [Some(19), Some(0), Some(7)]
        );
        assert_eq!(
            coarse.split("train").unwrap().get(2).unwrap().image.data,
            px
        );
    }
}

#[test]
fn missing_batches_are_reported_and_names_default() {
    let members: Vec<_> = c10_members()
        .into_iter()
        .filter(|(n, _)| n != "data_batch_3.bin" && n != "batches.meta.txt")
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), &members);
    let ds = cifar::open(tmp.path()).unwrap();
    assert_eq!(ds.split("train").unwrap().len(), 12);
    assert_eq!(ds.skipped.len(), 1);
    assert!(
        ds.skipped[0].path.ends_with("data_batch_3.bin"),
        "{:?}",
        ds.skipped
    );
    assert_eq!(ds.classes[3], "3");
}

#[test]
fn partial_record_is_bad_length_naming_file_and_record_size() {
    for (bytes, name, rec) in [
        (cifar_batch(&[&[1], &[2]], 0), "data_batch_1.bin", "3073"),
        (cifar_batch(&[&[1, 1], &[2, 2]], 0), "train.bin", "3074"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let p = put(tmp.path(), name, &bytes[..bytes.len() - 100]);
        let e = cifar::open(tmp.path()).unwrap_err();
        assert!(
            matches!(e, DataError::BadLength { expected, actual, .. } if expected == 2 * rec.parse::<u64>().unwrap() && actual + 100 == expected),
            "{e}"
        );
        assert_names(&e, &p);
        assert!(e.to_string().contains(rec), "{e}");
        // Same inside an archive: refused from the member's size, naming the member.
        let top = if rec == "3073" {
            "cifar-10-batches-bin"
        } else {
            "cifar-100-binary"
        };
        let tgz = put(
            tmp.path(),
            "x.tar.gz",
            &archive(top, &[(name.into(), bytes[..bytes.len() - 100].to_vec())]),
        );
        let e = cifar::open(&tgz).unwrap_err();
        assert!(matches!(e, DataError::BadLength { .. }), "{e}");
        assert!(e.to_string().contains(&format!("{top}/{name}")), "{e}");
    }
}

#[test]
fn labels_out_of_range_name_file_and_record() {
    for (name, batch, record, label, classes) in [
        (
            "test_batch.bin",
            cifar_batch(&[&[9], &[9], &[10]], 0),
            2,
            10,
            10,
        ),
        (
            "test.bin",
            cifar_batch(&[&[19, 99], &[3, 100]], 0),
            1,
            100,
            100,
        ),
        ("test.bin", cifar_batch(&[&[20, 1]], 0), 0, 20, 20),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let p = put(tmp.path(), name, &batch);
        let e = cifar::open(tmp.path()).unwrap_err();
        match &e {
            DataError::LabelOutOfRange {
                record: r,
                label: l,
                classes: c,
                ..
            } => {
                assert_eq!((*r, *l, *c), (record, label, classes), "{e}")
            }
            e => panic!("{e}"),
        }
        assert_names(&e, &p);
    }
}

#[test]
fn bad_archives_and_names_files() {
    let tmp = tempfile::tempdir().unwrap();
    let good = archive("cifar-10-batches-bin", &c10_members());
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    flipped[mid + 7] ^= 0x0f;
    for (name, bytes) in [
        ("flipped.tar.gz", &flipped[..]),
        ("cut.tar.gz", &good[..good.len() / 2]),
    ] {
        let p = put(tmp.path(), name, bytes);
        let e = cifar::open(&p).unwrap_err();
        assert!(matches!(e, DataError::Corrupt { .. }), "{name}: {e}");
        assert_names(&e, &p);
    }
    // A tar.gz of something else.
    let other = put(
        tmp.path(),
        "other.tar.gz",
        &tar_gz(&[("photos/a.bin", b"xyz")]),
    );
    assert!(!cifar::looks_like(&other));
    assert!(matches!(
        cifar::open(&other),
        Err(DataError::UnknownFormat { .. })
    ));
    // Names file with the wrong count.
    let mut members = c10_members();
    members.last_mut().unwrap().1 = b"cat\ndog\n".to_vec();
    let d = tmp.path().join("c10");
    write_dir(&d, &members);
    let e = cifar::open(&d).unwrap_err();
    assert!(matches!(e, DataError::BadHeader { .. }), "{e}");
    assert!(e.to_string().contains("batches.meta.txt"), "{e}");
    // Empty folder.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(!cifar::looks_like(&empty));
    assert!(matches!(
        cifar::open(&empty),
        Err(DataError::UnknownFormat { .. })
    ));
}
