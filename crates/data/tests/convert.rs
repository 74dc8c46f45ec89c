//! Conversions between every format (tensors, WebDataset and the older ones), read back with
//! identical pixels and labels; re-encoding error; transforms; interrupted output.

mod util;

use std::path::Path;

use dlscope_data::convert::{convert, Options, Target};
use dlscope_data::folder::ImageFormat;
use dlscope_data::tensors::Labels;
use dlscope_data::transform::{self, ChannelMode, Keep, Resize, Transform};
use dlscope_data::{Dataset, Format, Image};
use util::{image, mem_dataset, MemSource, FASHION_MNIST};

/// Every lossless target.
fn lossless() -> Vec<(&'static str, Target)> {
    vec![
        ("idx", Target::Idx { gzip: false }),
        ("idxgz", Target::Idx { gzip: true }),
        ("folder", Target::Folder(ImageFormat::Png)),
        ("folderwebp", Target::Folder(ImageFormat::Webp)),
        ("manifest", Target::Manifest),
        ("tensors", Target::Tensors(Labels::Index)),
        ("onehot", Target::Tensors(Labels::OneHot)),
        (
            "wds",
            Target::WebDataset {
                format: ImageFormat::Png,
                shard_size: 3,
            },
        ),
        (
            "parquet",
            Target::Parquet {
                format: ImageFormat::Png,
            },
        ),
    ]
}

/// (original index, label, pixels) of every sample of every split, by split name, in original
/// order. The original index is the number in the sample id's file stem (writers name samples
/// by index) or the index id itself.
type Contents = Vec<(String, Vec<(u64, Option<u32>, Image)>)>;

fn contents(ds: &Dataset) -> Contents {
    let mut all: Vec<_> = ds
        .splits
        .iter()
        .map(|s| {
            let mut v: Vec<(u64, Option<u32>, Image)> = (0..s.len())
                .map(|i| {
                    let id = s.id(i).to_string();
                    let stem = id.rsplit('/').next().unwrap_or(&id);
                    let stem = stem.split('.').next().unwrap_or(stem);
                    let n: u64 = stem.parse().unwrap_or_else(|_| panic!("id {id}"));
                    (n, s.label(i), s.get(i).expect("loads").image)
                })
                .collect();
            v.sort_by_key(|x| x.0);
            (s.name().to_string(), v)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn tiny(root: &Path, channels: u8) -> Dataset {
    let split = |n: usize, seed: u64| MemSource {
        items: (0..n)
            .map(|i| {
                (
                    Some((i % 3) as u32),
                    Ok(image(5, 7, channels, seed + i as u64)),
                )
            })
            .collect(),
    };
    mem_dataset(
        root,
        vec![("train", split(7, 100)), ("test", split(4, 900))],
        3,
    )
}

fn round_trip_all(make: &dyn Fn() -> Dataset, tmp: &Path, expect_format: &[(&str, Format)]) {
    let want = contents(&make());
    for (name, target) in lossless() {
        let out = tmp.join(name);
        let r = convert(make(), &out, &Options::new(target)).expect(name);
        assert_eq!(r.written.skipped.len(), 0, "{name}");
        assert_eq!(r.mean_abs_error, Some(0.0), "{name}: lossless");
        assert!(r.bytes_after > 0, "{name}");
        let spec = if name == "manifest" {
            out.join("manifest.csv")
        } else {
            out.clone()
        };
        let back = dlscope_data::open(spec.to_str().unwrap()).expect(name);
        if let Some((_, f)) = expect_format.iter().find(|(n, _)| *n == name) {
            assert_eq!(back.format, *f, "{name}");
        }
        assert_eq!(back.classes, make().classes, "{name}: classes");
        let got = contents(&back);
        assert_eq!(got.len(), want.len(), "{name}: splits");
        for ((gn, g), (wn, w)) in got.iter().zip(&want) {
            assert_eq!(gn, wn, "{name}");
            assert_eq!(g.len(), w.len(), "{name}/{gn}: count");
            for (a, b) in g.iter().zip(w) {
                assert_eq!((a.0, a.1), (b.0, b.1), "{name}/{gn}: label of {}", b.0);
                // WebP has no grey mode: grey comes back as R = G = B.
                let got = if name.contains("webp") && b.2.channels == 1 {
                    transform::convert_channels(a.2.clone(), ChannelMode::Gray)
                } else {
                    a.2.clone()
                };
                assert!(got == b.2, "{name}/{gn}: pixels of {} differ", b.0);
            }
        }
    }
}

const FORMATS: &[(&str, Format)] = &[
    ("tensors", Format::Tensors),
    ("onehot", Format::Tensors),
    ("wds", Format::WebDataset),
    ("idx", Format::Idx),
    ("parquet", Format::Parquet),
];

#[test]
fn tiny_grey_and_rgb_round_trip_every_format() {
    for c in [1u8, 3] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("in");
        round_trip_all(&|| tiny(&root, c), tmp.path(), FORMATS);
    }
}

fn fm_test_500() -> Dataset {
    let ds = dlscope_data::open(&format!("idx:{FASHION_MNIST}")).expect("fashion-mnist");
    transform::select(
        ds,
        vec![Keep {
            split: "test".into(),
            indices: (0..500).collect(),
            labels: None,
        }],
    )
    .unwrap()
}

#[test]
fn fashion_mnist_500_round_trip_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    round_trip_all(&fm_test_500, tmp.path(), FORMATS);
    // The tensors file holds exactly N x 28 x 28 x 1 bytes of pixels and i64 labels.
    let back = dlscope_data::open(tmp.path().join("tensors").to_str().unwrap()).unwrap();
    let d = back.split("test").unwrap().to_dense().unwrap();
    assert_eq!((d.len(), d.shape.height, d.shape.width), (500, 28, 28));
    let orig = fm_test_500().split("test").unwrap().to_dense().unwrap();
    assert_eq!(d.pixels, orig.pixels);
    assert_eq!(d.labels, orig.labels);
}

#[test]
fn jpeg_reports_error_png_none_and_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let jpg = convert(
        fm_test_500(),
        &tmp.path().join("jpg"),
        &Options::new(Target::Folder(ImageFormat::Jpeg { quality: 50 })),
    )
    .unwrap();
    let e = jpg.mean_abs_error.unwrap();
    assert!(e > 0.5 && e < 40.0, "jpeg q50 mean error {e}");
    assert!(jpg.max_abs_error.unwrap() > 0);
    let png = convert(
        fm_test_500(),
        &tmp.path().join("png"),
        &Options::new(Target::Folder(ImageFormat::Png)),
    )
    .unwrap();
    assert_eq!(png.mean_abs_error, Some(0.0));
    assert_eq!(png.max_abs_error, Some(0));
    assert!(png.bytes_before > 0 && png.bytes_after > 0);
    // The folder read back as jpeg differs from the original by about the reported error.
    let back = dlscope_data::open(tmp.path().join("jpg").to_str().unwrap()).unwrap();
    let orig = fm_test_500();
    let (o, b) = (orig.split("test").unwrap(), back.split("test").unwrap());
    let mut sum = 0u64;
    for i in 0..b.len() {
        let id = b.id(i).to_string();
        let n: usize = id.rsplit('/').next().unwrap()[..3].parse().unwrap();
        let (x, y) = (o.get(n).unwrap().image, b.get(i).unwrap().image);
        sum += x
            .data
            .iter()
            .zip(&y.data)
            .map(|(p, q)| p.abs_diff(*q) as u64)
            .sum::<u64>();
    }
    let measured = sum as f64 / (500.0 * 784.0);
    assert!(
        (measured - e).abs() < 1e-9,
        "read back {measured} vs reported {e}"
    );
}

#[test]
fn transforms_apply_resize_channels_pad() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = Options::new(Target::Tensors(Labels::Index));
    opts.transform = Transform {
        resize: Some(Resize::Exact {
            width: 14,
            height: 14,
        }),
        channels: ChannelMode::Rgb,
        pad: Some((16, 16)),
    };
    let out = tmp.path().join("t");
    convert(fm_test_500(), &out, &opts).unwrap();
    let back = dlscope_data::open(out.to_str().unwrap()).unwrap();
    let s = back.split("test").unwrap();
    let img = s.get(0).unwrap().image;
    assert_eq!((img.width, img.height, img.channels), (16, 16, 3));
    // Border is padding, the centre holds replicated grey.
    assert_eq!(&img.data[..3], &[0, 0, 0]);
    let centre = ((8 * 16 + 8) * 3) as usize;
    assert_eq!(img.data[centre], img.data[centre + 1]);
    assert_eq!(img.data[centre], img.data[centre + 2]);
    // shorter:N keeps the aspect ratio
    let mut opts = Options::new(Target::Tensors(Labels::Index));
    opts.transform.resize = Some(Resize::Shorter(3));
    let out = tmp.path().join("s");
    let root = tmp.path().join("in");
    convert(tiny(&root, 1), &out, &opts).unwrap();
    let back = dlscope_data::open(out.to_str().unwrap()).unwrap();
    let img = back.split("train").unwrap().get(0).unwrap().image;
    assert_eq!((img.width, img.height), (4, 3)); // 7x5 -> 4x3 (4.2 rounded)
}

#[test]
fn interrupted_write_leaves_nothing_and_rerun_is_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // A killed writer leaves its temporary folder behind (simulated by never dropping it).
    let stale = dlscope_data::io::AtomicDir::new(&out).unwrap();
    std::fs::write(stale.path().join("garbage.safetensors"), b"half").unwrap();
    let stale_path = stale.path().to_path_buf();
    std::mem::forget(stale);
    // A partial of another output beside it is not touched.
    let other = dlscope_data::io::AtomicDir::new(&tmp.path().join("out-2")).unwrap();
    let other_path = other.path().to_path_buf();
    std::mem::forget(other);
    assert!(!out.exists(), "nothing under the final name");
    assert!(dlscope_data::open(out.to_str().unwrap()).is_err());

    let r = convert(
        fm_test_500(),
        &out,
        &Options::new(Target::Tensors(Labels::Index)),
    )
    .unwrap();
    assert_eq!(r.removed_stale, vec![stale_path.clone()]);
    assert!(!stale_path.exists());
    assert!(other_path.exists());
    let back = dlscope_data::open(out.to_str().unwrap()).unwrap();
    assert_eq!(back.len(), 500);
    // A second run refuses to overwrite the finished output.
    let again = convert(
        fm_test_500(),
        &out,
        &Options::new(Target::Tensors(Labels::Index)),
    );
    assert!(again.is_err());
}

#[test]
fn unlabelled_samples_and_skips_survive() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("in");
    let make = || {
        let src = MemSource {
            items: vec![
                (Some(1), Ok(image(4, 4, 1, 1))),
                (None, Ok(image(4, 4, 1, 2))),
                (Some(0), Err("broken".into())),
                (Some(0), Ok(image(4, 4, 1, 3))),
            ],
        };
        mem_dataset(&root, vec![("train", src)], 2)
    };
    for (name, target) in [
        ("t", Target::Tensors(Labels::Index)),
        ("o", Target::Tensors(Labels::OneHot)),
        (
            "w",
            Target::WebDataset {
                format: ImageFormat::Png,
                shard_size: 100,
            },
        ),
    ] {
        let out = tmp.path().join(name);
        let r = convert(make(), &out, &Options::new(target)).unwrap();
        assert_eq!(r.written.samples, 3, "{name}");
        assert_eq!(r.written.skipped.len(), 1, "{name}");
        assert!(r.written.skipped[0].reason.contains("broken"), "{name}");
        let back = dlscope_data::open(out.to_str().unwrap()).unwrap();
        let s = back.split("train").unwrap();
        assert_eq!(s.labels(), vec![Some(1), None, Some(0)], "{name}");
        assert_eq!(s.get(2).unwrap().image, image(4, 4, 1, 3), "{name}");
    }
}
