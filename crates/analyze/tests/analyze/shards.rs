//! Shards merge into exactly the whole-dataset result; the pass on in-memory data.

use dlscope_analyze::{
    analyze, analyze_shard, finish, merge, AnalyzeError, FindingKind as K, Settings, Shard,
    ShardLayout, ShardResult,
};
use dlscope_data::Image;
use image::DynamicImage;
use rand::Rng;

use crate::util::*;

/// Two splits of generated images with planted issues: copies across splits, an unreadable
/// sample, blank and dark images, mixed sizes.
fn dataset() -> dlscope_data::Dataset {
    let mut rng = rng(11);
    let fm = fashion();
    let mut make = |n: usize, offset: usize| -> MemSource {
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let img = match &fm {
                Some(ds) => {
                    let s = ds
                        .split("train")
                        .expect("train")
                        .get(offset + i * 7)
                        .expect("ok");
                    to_image(&colourise(&s.image.data, &mut rng))
                }
                None => to_image(&scene(&mut rng)),
            };
            images.push(Ok(img));
            labels.push(Some(rng.random_range(0..4)));
        }
        MemSource { images, labels }
    };
    let mut train = make(150, 0);
    let mut test = make(40, 5000);
    // Test image 3 copied into train; train image 10 copied within train with another label.
    let copy = test.images[3].clone();
    train.images.push(copy);
    train.labels.push(test.labels[3]);
    let dup = train.images[10].clone();
    train.images.push(dup);
    train
        .labels
        .push(Some((train.labels[10].unwrap_or(0) + 1) % 4));
    train.images.push(Err("truncated file".into()));
    train.labels.push(Some(0));
    train.images.push(Ok(
        Image::new(40, 30, 3, vec![90; 40 * 30 * 3]).expect("blank")
    ));
    train.labels.push(None);
    let dark = match &train.images[20] {
        Ok(img) => Image::new(
            img.width,
            img.height,
            3,
            img.data.iter().map(|v| v / 6).collect(),
        ),
        Err(_) => None,
    };
    test.images.push(Ok(dark.expect("dark")));
    test.labels.push(Some(1));
    let grey = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 64, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, 128])
    }))
    .to_luma8();
    test.images
        .push(Ok(Image::new(64, 64, 1, grey.into_raw()).expect("grey")));
    test.labels.push(Some(2));
    mem_dataset(4, vec![("train", train), ("test", test)])
}

#[test]
fn shards_merge_into_exactly_the_whole() {
    let ds = dataset();
    let s = Settings::default();
    let whole = analyze(&ds, &s, &|_| {}).expect("whole");
    for layout in [ShardLayout::Strided, ShardLayout::Contiguous] {
        for count in [2u32, 3, 7] {
            // Shards handed over in scrambled order, through JSON as between processes.
            let mut parts: Vec<ShardResult> = (0..count)
                .rev()
                .map(|i| {
                    let r = analyze_shard(
                        &ds,
                        &s,
                        Shard::new(i, count, layout).expect("shard"),
                        &|_| {},
                    )
                    .expect("shard pass");
                    serde_json::from_str(&serde_json::to_string(&r).expect("ser")).expect("de")
                })
                .collect();
            parts.swap(0, (count / 2) as usize);
            let merged = finish(merge(parts).expect("merge"), &ds, &s, &|_| {}).expect("finish");
            assert_eq!(
                merged, whole,
                "{count} {layout:?} shards differ from the whole"
            );
        }
    }
    // The planted issues are there, so the equality above compares real findings.
    for k in [
        K::Leak,
        K::ExactDuplicate,
        K::LabelConflict,
        K::Unreadable,
        K::Constant,
        K::Dark,
        K::Grayscale,
        K::OddSize,
    ] {
        assert!(whole.counts[&k] > 0, "{k} missing");
    }
    let unreadable = whole
        .findings
        .iter()
        .find(|f| f.kind == K::Unreadable)
        .expect("unreadable");
    assert!(
        unreadable.detail.contains("truncated file"),
        "{}",
        unreadable.detail
    );
    assert_eq!(unreadable.split, "train");
    let leaks: Vec<_> = whole
        .findings
        .iter()
        .filter(|f| f.kind == K::Leak)
        .collect();
    assert!(leaks.iter().all(|f| f.split == "test"));
    let leak = leaks
        .iter()
        .find(|f| f.index == 3)
        .expect("copied test image leaks");
    assert!(leak.detail.contains("train/150"), "{}", leak.detail);
    // The darkened copy of train image 20 is a near-duplicate leak too.
    let dark = leaks
        .iter()
        .find(|f| f.index == 40)
        .expect("dark copy leaks");
    assert!(dark.detail.contains("train/20"), "{}", dark.detail);
    // Group ids tie the two sides of the duplicate together.
    let groups: Vec<_> = whole
        .findings
        .iter()
        .filter(|f| f.kind == K::ExactDuplicate)
        .collect();
    assert!(groups.iter().any(|f| f.split == "test" && f.index == 3));
    let g = groups
        .iter()
        .find(|f| f.split == "test")
        .and_then(|f| f.group);
    assert!(groups
        .iter()
        .any(|f| f.split == "train" && f.index == 150 && f.group == g));
}

#[test]
fn merge_refuses_missing_and_doubled_shards() {
    let ds = dataset();
    let s = Settings::default();
    let part = |i| {
        analyze_shard(
            &ds,
            &s,
            Shard::new(i, 3, ShardLayout::Strided).expect("shard"),
            &|_| {},
        )
        .expect("pass")
    };
    let err = merge(vec![part(0), part(1)]).expect_err("missing shard");
    assert!(matches!(err, AnalyzeError::ShardCoverage { .. }), "{err}");
    let err = merge(vec![part(0), part(1), part(1), part(2)]).expect_err("doubled shard");
    assert!(err.to_string().contains("more than one shard"), "{err}");
    // An incomplete result cannot be finished.
    assert!(finish(part(0), &ds, &s, &|_| {}).is_err());
    // Different decode settings do not mix.
    let mut other = s.clone();
    other.decode.jpeg_min_side = None;
    let odd = analyze_shard(
        &ds,
        &other,
        Shard::new(2, 3, ShardLayout::Strided).expect("shard"),
        &|_| {},
    )
    .expect("pass");
    assert!(matches!(
        merge(vec![part(0), part(1), odd]),
        Err(AnalyzeError::ShardMismatch { .. })
    ));
}

#[test]
fn profile_counts_classes_sizes_and_mean_images() {
    let ds = dataset();
    let a = analyze(&ds, &Settings::default(), &|_| {}).expect("analysis");
    let train = &a.profile.splits[0];
    assert_eq!(train.samples, 154);
    assert_eq!(train.unreadable, 1);
    assert_eq!(train.unlabelled, 1);
    assert_eq!(train.class_counts.iter().sum::<u64>(), 153);
    assert_eq!(a.features.len(), 154 + 42);
    // Colour dataset: three channels, the grey test image counted as R = G = B.
    assert_eq!(a.profile.splits[1].pixels.channels, 3);
    // Mean images are 32 x 32 RGB for a dataset without a fixed shape.
    let m = &a.profile.mean_images[0];
    assert_eq!(
        (m.width, m.height, m.channels, m.pixels.len()),
        (32, 32, 3, 32 * 32 * 3)
    );
    let total: u64 = a.profile.mean_images.iter().map(|m| m.count).sum();
    assert_eq!(total, 152 + 42, "labelled readable samples");
    // Features are a row per sample in (split, index) order.
    assert!(a.features.rows.windows(2).all(|w| w[0].key() < w[1].key()));
    let blank = a
        .features
        .row(0, 153)
        .and_then(|r| r.image.as_ref())
        .expect("blank row");
    assert_eq!((blank.width, blank.height, blank.range), (40, 30, 0));
}
