//! Property tests: arbitrary and mutated inputs never panic and either parse consistently or
//! fail with an error; written datasets read back identical.

use std::path::Path;

use dlscope_data::{cifar, idx, Image, Split};
use proptest::prelude::*;

use crate::util::{cifar_batch, gz, idx_file, mem_dataset, put, MemSource};

/// A parsed images split must agree with the file it came from, sample by sample.
fn check_consistent(split: &Split, file: &[u8]) {
    let shape = split.fixed_shape().unwrap();
    let header = if shape.channels == 1 && file.get(3) == Some(&3) {
        16
    } else {
        20
    };
    assert_eq!(header + split.len() * shape.len(), file.len());
    let dense = split.to_dense().unwrap();
    assert_eq!(dense.pixels, &file[header..]);
    for i in 0..split.len() {
        assert_eq!(split.get(i).unwrap().image.data, dense.image(i));
    }
}

fn valid_idx() -> impl Strategy<Value = (Vec<u32>, Vec<u8>)> {
    (
        1u32..5,
        1u32..5,
        1u32..5,
        prop_oneof![Just(0u32), Just(1), Just(3), Just(4)],
    )
        .prop_flat_map(|(n, h, w, c)| {
            let dims = if c == 0 {
                vec![n, h, w]
            } else {
                vec![n, h, w, c]
            };
            let len = (n * h * w * c.max(1)) as usize;
            (Just(dims), proptest::collection::vec(any::<u8>(), len))
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn idx_arbitrary_bytes(
        head in proptest::collection::vec(any::<u8>(), 0..24),
        tail in proptest::collection::vec(any::<u8>(), 0..64),
        plausible in any::<bool>(),
    ) {
        // Half the cases start like an IDX u8 file so the parser gets past the magic number.
        let mut bytes = if plausible { vec![0, 0, 8, head.first().map_or(3, |r| r % 5)] } else { vec![] };
        bytes.extend(&head);
        bytes.extend(&tail);
        let tmp = tempfile::tempdir().unwrap();
        for file in [bytes.clone(), gz(&bytes)] {
            let p = put(tmp.path(), "i", &file);
            if let Ok(split) = idx::open_pair(&p, None, "s") {
                check_consistent(&split, &bytes);
            }
            let l = put(tmp.path(), "l", &file);
            let _ = idx::open_pair(&p, Some(&l), "s");
        }
    }

    #[test]
    fn idx_mutated_valid_files(
        (dims, data) in valid_idx(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..3),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        extra in proptest::collection::vec(any::<u8>(), 0..3),
        compress in any::<bool>(),
    ) {
        let mut bytes = idx_file(&dims, &data);
        for (at, x) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        bytes.extend(&extra);
        let untouched = flips.is_empty() && cut.is_none() && extra.is_empty();
        let tmp = tempfile::tempdir().unwrap();
        let p = put(tmp.path(), "i", &if compress { gz(&bytes) } else { bytes.clone() });
        match idx::open_pair(&p, None, "s") {
            Ok(split) => check_consistent(&split, &bytes),
            Err(e) => {
                prop_assert!(!untouched, "valid file rejected: {e}");
                prop_assert!(e.to_string().contains(&*p.to_string_lossy()), "{e}");
            }
        }
    }

    #[test]
    fn cifar_batches_accept_exactly_whole_records_with_labels_in_range(
        labels in proptest::collection::vec((0u8..24, 0u8..110), 0..4),
        cifar100 in any::<bool>(),
        trim in 0usize..3,
        garbage in proptest::collection::vec(any::<u8>(), 0..3),
    ) {
        let recs: Vec<Vec<u8>> = labels
            .iter()
            .map(|&(a, b)| if cifar100 { vec![a, b] } else { vec![a % 12] })
            .collect();
        let refs: Vec<&[u8]> = recs.iter().map(|r| &r[..]).collect();
        let mut bytes = cifar_batch(&refs, 5);
        bytes.truncate(bytes.len().saturating_sub(trim));
        bytes.extend(&garbage);
        let tmp = tempfile::tempdir().unwrap();
        put(tmp.path(), if cifar100 { "test.bin" } else { "test_batch.bin" }, &bytes);
        let rec_len = if cifar100 { 3074 } else { 3073 };
        let whole = !bytes.is_empty() && bytes.len() % rec_len == 0;
        let in_range = recs.iter().all(|r| if cifar100 { r[0] < 20 && r[1] < 100 } else { r[0] < 10 });
        let n = bytes.len() / rec_len;
        // Records past the original ones (a whole record of garbage cannot happen: < 3 extra bytes).
        let res = cifar::open(tmp.path());
        prop_assert_eq!(res.is_ok(), whole && in_range && n == recs.len(), "{:?}", res.as_ref().err());
        if let Ok(ds) = res {
            let test = ds.split("test").unwrap();
            let want: Vec<Option<u32>> = recs.iter().map(|r| Some(*r.last().unwrap() as u32)).collect();
            prop_assert_eq!(test.labels(), want);
            prop_assert_eq!(test.to_dense().unwrap().pixels.len(), n * 3072);
        }
    }

    #[test]
    fn cifar_archive_mutations_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let batch = cifar_batch(&[&[1], &[2]], 3);
        let mut bytes = crate::util::tar_gz(&[
            ("cifar-10-batches-bin/test_batch.bin", &batch[..]),
            ("cifar-10-batches-bin/batches.meta.txt", b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"),
        ]);
        for (at, x) in &flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        let tmp = tempfile::tempdir().unwrap();
        let p = put(tmp.path(), "c.tar.gz", &bytes);
        let _ = cifar::looks_like(&p);
        if let Ok(ds) = cifar::open(&p) {
            // Whatever survived must still read back whole records.
            for s in &ds.splits {
                prop_assert!(s.to_dense().is_ok());
            }
        }
    }

    #[test]
    fn idx_write_read_round_trip(
        shape in (1u32..6, 1u32..6, prop_oneof![Just(1u8), Just(3), Just(4)]),
        splits in proptest::collection::vec(
            (1usize..10, proptest::option::of(proptest::collection::vec(any::<u8>(), 10))),
            1..4,
        ),
        seed in any::<u64>(),
        gzip in any::<bool>(),
    ) {
        let names = ["train", "test", "val"];
        let (h, w, c) = shape;
        let root = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        let mut sources = Vec::new();
        for (k, (n, labels)) in splits.iter().enumerate() {
            let items: Vec<_> = (0..*n)
                .map(|i| {
                    let img = crate::util::image(h, w, c, seed ^ (k * 100 + i) as u64);
                    (labels.as_ref().map(|l| l[i] as u32), Ok::<Image, String>(img))
                })
                .collect();
            expected.push((names[k], items.iter().map(|(l, im)| (*l, im.clone().unwrap())).collect::<Vec<_>>()));
            sources.push((names[k], MemSource { items }));
        }
        let ds = mem_dataset(root.path(), sources, 256);
        let out = tempfile::tempdir().unwrap();
        let w = idx::write(&ds, &out.path().join("o"), gzip).unwrap();
        prop_assert_eq!(w.samples, splits.iter().map(|s| s.0).sum::<usize>());
        let back = idx::open_dir(&w.path).unwrap();
        prop_assert_eq!(back.splits.len(), expected.len());
        for (name, items) in expected {
            let s = back.split(name).unwrap();
            prop_assert_eq!(s.len(), items.len());
            for (i, (label, img)) in items.iter().enumerate() {
                let got = s.get(i).unwrap();
                prop_assert_eq!(&got.image, img);
                prop_assert_eq!(got.label, *label);
            }
        }
        prop_assert!(Path::new(&w.path).is_dir());
    }
}
