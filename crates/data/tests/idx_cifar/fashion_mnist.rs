//! The real Fashion-MNIST files: counts, labels, pinned pixel checksums, raw vs gzip, writing.

use std::path::Path;
use std::time::Instant;

use dlscope_data::{idx, Dataset, Format, Shape};
use sha2::{Digest, Sha256};

use crate::util::{gunzip, put, FASHION_MNIST};

// Pinned once from the files with Python's gzip module (independent of this reader):
// sha256 and plain sum of all pixel bytes after the 16-byte header.
const TRAIN_SHA256: &str = "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012";
const TRAIN_PIXEL_SUM: u64 = 3_431_114_169;
const TEST_SHA256: &str = "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a";
const TEST_PIXEL_SUM: u64 = 573_469_082;

fn open() -> Dataset {
    idx::open_dir(Path::new(FASHION_MNIST)).unwrap()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn counts_shape_and_labels() {
    assert!(idx::looks_like_dir(Path::new(FASHION_MNIST)));
    let ds = open();
    assert_eq!(ds.format, Format::Idx);
    assert_eq!(ds.split_names(), ["train", "test"]);
    assert_eq!(
        ds.classes,
        (0..10).map(|c| c.to_string()).collect::<Vec<_>>()
    );
    assert!(ds.skipped.is_empty(), "{:?}", ds.skipped);
    let train = ds.split("train").unwrap();
    let test = ds.split("test").unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!(train.fixed_shape(), Some(Shape::new(28, 28, 1)));
    assert_eq!(train.class_counts(10), (vec![6000; 10], 0));
    assert_eq!(test.class_counts(10), (vec![1000; 10], 0));
    let first: Vec<u32> = (0..10).map(|i| train.label(i).unwrap()).collect();
    assert_eq!(first, [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    let s = train.get(12_345).unwrap();
    assert_eq!(s.label, Some(8));
    assert_eq!(s.image.data.iter().map(|&p| p as u64).sum::<u64>(), 97_611);
    assert_eq!(
        &s.image.data[400..410],
        [191, 185, 187, 193, 190, 191, 193, 196, 197, 199]
    );
}

#[test]
fn pixels_match_pinned_checksums_and_to_dense_is_a_copy() {
    let ds = open();
    for (name, want_sha, want_sum) in [
        ("train", TRAIN_SHA256, TRAIN_PIXEL_SUM),
        ("test", TEST_SHA256, TEST_PIXEL_SUM),
    ] {
        let split = ds.split(name).unwrap();
        assert!(
            split.source().contiguous_pixels().is_some(),
            "{name}: no zero-copy path"
        );
        let t = Instant::now();
        let dense = split.to_dense().unwrap();
        // A memcpy of 47 MB; generous bound so a busy machine does not fail it, while a
        // per-sample decode path of a slow reader would still be caught.
        assert!(
            t.elapsed().as_secs_f64() < 2.0,
            "to_dense took {:?}",
            t.elapsed()
        );
        assert_eq!(dense.shape, Shape::new(28, 28, 1));
        assert_eq!(dense.len(), split.len());
        assert_eq!(sha(&dense.pixels), want_sha, "{name}");
        assert_eq!(
            dense.pixels.iter().map(|&p| p as u64).sum::<u64>(),
            want_sum
        );
        // get(i) agrees with the dense buffer at seeded sample positions (and the ends).
        let mut i = 7usize;
        for _ in 0..300 {
            i = (i * 1_103_515_245 + 12_345) % split.len();
            for j in [i, 0, split.len() - 1] {
                let s = split.get(j).unwrap();
                assert_eq!(s.image.data, dense.image(j), "{name} sample {j}");
                assert_eq!(s.label, Some(dense.labels[j]));
            }
        }
    }
}

#[test]
fn raw_and_dot_named_files_read_the_same_as_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(FASHION_MNIST);
    // Raw copies under the `.idx3-ubyte` spelling; plus the original .gz beside one of them.
    for (from, to) in [
        ("t10k-images-idx3-ubyte.gz", "t10k-images.idx3-ubyte"),
        ("t10k-labels-idx1-ubyte.gz", "t10k-labels.idx1-ubyte"),
    ] {
        put(
            tmp.path(),
            to,
            &gunzip(&std::fs::read(src.join(from)).unwrap()),
        );
    }
    let gz_copy = "t10k-labels-idx1-ubyte.gz";
    put(
        tmp.path(),
        gz_copy,
        &std::fs::read(src.join(gz_copy)).unwrap(),
    );
    let raw = idx::open_dir(tmp.path()).unwrap();
    assert_eq!(raw.split_names(), ["test"]);
    // The raw file is preferred and the redundant gzip copy is reported, not silently dropped.
    assert_eq!(raw.skipped.len(), 1);
    assert_eq!(raw.skipped[0].path, gz_copy);
    let a = raw.split("test").unwrap().to_dense().unwrap();
    let b = open().split("test").unwrap().to_dense().unwrap();
    assert_eq!(sha(&a.pixels), TEST_SHA256);
    assert_eq!(a.labels, b.labels);
}

#[test]
fn write_then_read_back_gzip_and_raw() {
    let ds = open();
    let tmp = tempfile::tempdir().unwrap();
    for gzip in [false, true] {
        let out = tmp.path().join(format!("copy-{gzip}"));
        let w = idx::write(&ds, &out, gzip).unwrap();
        assert_eq!((w.samples, w.skipped.len()), (70_000, 0));
        assert_eq!(w.path, out);
        let ext = if gzip { ".gz" } else { "" };
        for f in [
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ] {
            assert!(out.join(format!("{f}{ext}")).is_file(), "{f}{ext} missing");
        }
        if !gzip {
            // Raw output is byte-identical to the decompressed originals.
            let orig = gunzip(
                &std::fs::read(Path::new(FASHION_MNIST).join("t10k-labels-idx1-ubyte.gz")).unwrap(),
            );
            assert_eq!(
                std::fs::read(out.join("t10k-labels-idx1-ubyte")).unwrap(),
                orig
            );
        }
        let back = idx::open_dir(&out).unwrap();
        assert_eq!(back.split_names(), ["train", "test"]);
        for (name, want) in [("train", TRAIN_SHA256), ("test", TEST_SHA256)] {
            let d = back.split(name).unwrap().to_dense().unwrap();
            assert_eq!(sha(&d.pixels), want, "{name} gzip={gzip}");
            assert_eq!(d.labels, ds.split(name).unwrap().to_dense().unwrap().labels);
        }
    }
}
