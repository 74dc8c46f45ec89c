//! Normalised float tensors: `convert --to tensors --normalize` writes f32
//! `(v/255 - mean_c) / std_c` with train-split statistics in the metadata; the reader turns them
//! back into identical pixels; the written train floats have mean ~0 and std ~1 per channel.

mod util;

use std::path::Path;

use dlscope_data::convert::{convert, Normalize, Options, Target};
use dlscope_data::tensors::{ChannelNorm, Labels, NORMALIZE_KEY};
use dlscope_data::transform::{self, Keep};
use dlscope_data::{DataError, Dataset, Image};
use safetensors::tensor::{Dtype, SafeTensors};
use util::{mem_dataset, noise, MemSource, FASHION_MNIST};

/// Fashion-MNIST: 500 train and 100 test images.
fn fm_500() -> Dataset {
    let ds = dlscope_data::open(&format!("idx:{FASHION_MNIST}")).unwrap();
    transform::select(
        ds,
        vec![
            Keep {
                split: "train".into(),
                indices: (0..500).collect(),
                labels: None,
            },
            Keep {
                split: "test".into(),
                indices: (0..100).collect(),
                labels: None,
            },
        ],
    )
    .unwrap()
}

/// 3-channel 6x5 images whose channels have different distributions; train 40, test 12.
fn rgb_tiny(root: &Path) -> Dataset {
    let make = |n: usize, seed: u64| MemSource {
        items: (0..n)
            .map(|i| {
                let r = noise(seed + i as u64, 30 * 3);
                let data: Vec<u8> = r
                    .chunks_exact(3)
                    .flat_map(|p| [p[0], p[1] / 4, 200 + p[2] % 56])
                    .collect();
                (Some((i % 3) as u32), Ok(Image::new(5, 6, 3, data).unwrap()))
            })
            .collect(),
    };
    mem_dataset(
        root,
        vec![("train", make(40, 1)), ("test", make(12, 1000))],
        3,
    )
}

/// Every (label, image) of every split, by split name.
type Contents = Vec<(String, Vec<(Option<u32>, Image)>)>;

fn contents(ds: &Dataset) -> Contents {
    let mut v: Vec<_> = ds
        .splits
        .iter()
        .map(|s| {
            let items = (0..s.len())
                .map(|i| (s.label(i), s.get(i).unwrap().image))
                .collect();
            (s.name().to_string(), items)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Per-channel mean and std of the f32 `x` in a split file, with the file's normalisation.
fn float_stats(file: &Path) -> (Vec<f64>, Vec<f64>, ChannelNorm) {
    let bytes = std::fs::read(file).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let x = st.tensor("x").unwrap();
    assert_eq!(x.dtype(), Dtype::F32);
    let c = *x.shape().last().unwrap();
    let (mut s, mut ss, mut n) = (vec![0f64; c], vec![0f64; c], 0f64);
    for (i, b) in x.data().chunks_exact(4).enumerate() {
        let v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64;
        s[i % c] += v;
        ss[i % c] += v * v;
        if i % c == 0 {
            n += 1.0;
        }
    }
    let mean: Vec<f64> = s.iter().map(|v| v / n).collect();
    let std = (0..c)
        .map(|k| (ss[k] / n - mean[k] * mean[k]).sqrt())
        .collect();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let info = meta.metadata().clone().unwrap();
    let norm: ChannelNorm = serde_json::from_str(&info[NORMALIZE_KEY]).unwrap();
    (mean, std, norm)
}

fn normalized(norm: Normalize) -> Options {
    let mut o = Options::new(Target::Tensors(Labels::Index));
    o.normalize = Some(norm);
    o
}

#[test]
fn fashion_mnist_round_trips_and_train_is_standardised() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("norm");
    let r = convert(fm_500(), &out, &normalized(Normalize::TrainSplit)).unwrap();
    assert_eq!(r.written.samples, 600);
    let n = r.normalization.clone().unwrap();
    assert_eq!(n.source, "train split");
    // Fashion-MNIST's pixel mean is ~0.286 and std ~0.353 (of 0..1 values).
    assert!((0.25..0.33).contains(&n.mean[0]), "{n:?}");
    assert!((0.31..0.40).contains(&n.std[0]), "{n:?}");

    let (mean, std, meta) = float_stats(&out.join("train.safetensors"));
    assert_eq!(meta, n);
    assert!(mean[0].abs() < 1e-4, "train mean {mean:?}");
    assert!((std[0] - 1.0).abs() < 1e-4, "train std {std:?}");
    // The test split uses the train statistics, so it is close to but not exactly standard.
    let (tmean, _, tmeta) = float_stats(&out.join("test.safetensors"));
    assert_eq!(tmeta, n);
    assert!(tmean[0].abs() > 1e-6 && tmean[0].abs() < 0.2, "{tmean:?}");

    // Read back: identical pixels and labels.
    let back = dlscope_data::open(out.to_str().unwrap()).unwrap();
    assert_eq!(contents(&back), contents(&fm_500()));
    // ... and converting the normalised tensors on (to u8 tensors) keeps them identical.
    let again = tmp.path().join("u8");
    convert(back, &again, &Options::new(Target::Tensors(Labels::Index))).unwrap();
    let back2 = dlscope_data::open(again.to_str().unwrap()).unwrap();
    assert_eq!(contents(&back2), contents(&fm_500()));
}

#[test]
fn three_channels_round_trip_with_per_channel_statistics() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("in");
    let out = tmp.path().join("norm");
    let r = convert(rgb_tiny(&root), &out, &normalized(Normalize::TrainSplit)).unwrap();
    let n = r.normalization.unwrap();
    assert_eq!(n.mean.len(), 3);
    // The channels were built with different ranges: the statistics must tell them apart.
    assert!(n.mean[1] < 0.2 && n.mean[2] > 0.75, "{n:?}");
    assert!(n.std[2] < n.std[0], "{n:?}");
    let (mean, std, _) = float_stats(&out.join("train.safetensors"));
    for c in 0..3 {
        assert!(mean[c].abs() < 1e-4, "channel {c}: mean {mean:?}");
        assert!((std[c] - 1.0).abs() < 1e-4, "channel {c}: std {std:?}");
    }
    let back = dlscope_data::open(out.to_str().unwrap()).unwrap();
    assert_eq!(back.classes, vec!["0", "1", "2"]);
    assert_eq!(contents(&back), contents(&rgb_tiny(&root)));
}

#[test]
fn statistics_from_a_clean_stats_file() {
    let tmp = tempfile::tempdir().unwrap();
    let stats = tmp.path().join("normalization.json");
    std::fs::write(
        &stats,
        r#"[{"split":"test","samples":1,"channels":1,"mean":[0.9],"std":[0.9]},
            {"split":"train","samples":9,"channels":1,"mean":[0.5],"std":[0.25]}]"#,
    )
    .unwrap();
    let given = ChannelNorm::from_stats_file(&stats).unwrap();
    assert_eq!(
        (given.mean.clone(), given.std.clone()),
        (vec![0.5], vec![0.25])
    );
    assert!(given.source.contains("normalization.json") && given.source.contains("train"));
    let out = tmp.path().join("norm");
    convert(fm_500(), &out, &normalized(Normalize::Given(given.clone()))).unwrap();
    let (_, _, meta) = float_stats(&out.join("train.safetensors"));
    assert_eq!(meta, given);
    // First pixel of the first train image: x = (v/255 - 0.5) / 0.25.
    let v = fm_500().splits[0].get(0).unwrap().image.data[0];
    let bytes = std::fs::read(out.join("train.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let d = st.tensor("x").unwrap().data()[..4].to_vec();
    let x = f32::from_le_bytes([d[0], d[1], d[2], d[3]]);
    assert!((x as f64 - (v as f64 / 255.0 - 0.5) / 0.25).abs() < 1e-6);
    let back = dlscope_data::open(out.to_str().unwrap()).unwrap();
    assert_eq!(contents(&back), contents(&fm_500()));

    // 3-channel statistics on 1-channel images: refused, naming the split and the source.
    let three = ChannelNorm {
        mean: vec![0.5; 3],
        std: vec![0.2; 3],
        source: "hand-made".into(),
    };
    let e = convert(
        fm_500(),
        &tmp.path().join("bad"),
        &normalized(Normalize::Given(three)),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("'train'") && msg.contains("hand-made"),
        "{msg}"
    );
    assert!(!tmp.path().join("bad").exists());

    // A file that is not a stats list names the file.
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "{}").unwrap();
    let e = ChannelNorm::from_stats_file(&junk).unwrap_err();
    util::assert_names(&e, &junk);
}

#[test]
fn normalising_other_targets_and_unmarked_floats_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut o = Options::new(Target::Idx { gzip: false });
    o.normalize = Some(Normalize::TrainSplit);
    let e = convert(fm_500(), &tmp.path().join("idx"), &o).unwrap_err();
    assert!(matches!(e, DataError::Refused { .. }), "{e}");
    assert!(e.to_string().contains("tensors"), "{e}");

    // f32 images without the normalisation metadata cannot be turned back into pixels.
    let file = tmp.path().join("floats.safetensors");
    let x = vec![0u8; 2 * 2 * 2 * 4];
    let view = safetensors::tensor::TensorView::new(Dtype::F32, vec![2, 2, 2], &x).unwrap();
    safetensors::serialize_to_file([("x", view)], None, &file).unwrap();
    let e = dlscope_data::tensors::open(&file).unwrap_err();
    util::assert_names(&e, &file);
    assert!(e.to_string().contains(NORMALIZE_KEY), "{e}");
}
