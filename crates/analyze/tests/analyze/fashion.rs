//! The whole of Fashion-MNIST (70,000 images): exact normalisation constants, profile facts,
//! and findings that must or must not appear on a clean fixed-size grey dataset.

use std::time::Instant;

use dlscope_analyze::{analyze, FindingKind as K, Settings, Stage};

use crate::util::fashion;

#[test]
fn fashion_mnist_full_analysis() {
    let Some(ds) = fashion() else { return };
    let calls = std::cell::Cell::new(0u32);
    let last = std::cell::Cell::new((0u64, 0u64));
    let start = Instant::now();
    let a = analyze(&ds, &Settings::default(), &|p| {
        calls.set(calls.get() + 1);
        if p.stage == Stage::Features {
            assert!(p.done >= last.get().0, "progress goes forward");
            last.set((p.done, p.total));
        }
    })
    .expect("analysis");
    let secs = start.elapsed().as_secs_f64();
    println!("Fashion-MNIST: 70,000 images analysed in {secs:.2} s");
    assert_eq!(last.get(), (70_000, 70_000));
    assert!(
        calls.get() > 10,
        "progress reported per block ({} calls)",
        calls.get()
    );

    let train = &a.profile.splits[0];
    let test = &a.profile.splits[1];
    assert_eq!((train.name.as_str(), train.samples), ("train", 60_000));
    assert_eq!((test.name.as_str(), test.samples), ("test", 10_000));
    // The constants everyone pastes: mean 0.2860, std 0.3530 over all training pixels.
    assert_eq!(train.pixels.channels, 1);
    assert_eq!(train.pixels.pixels, 60_000 * 784);
    assert!(
        (train.pixels.mean[0] - 0.286_040_6).abs() < 1e-6,
        "{:?}",
        train.pixels.mean
    );
    assert!(
        (train.pixels.std[0] - 0.353_024_5).abs() < 1e-6,
        "{:?}",
        train.pixels.std
    );
    assert!(
        (test.pixels.mean[0] - 0.286_849_3).abs() < 1e-6,
        "{:?}",
        test.pixels.mean
    );
    assert_eq!(train.class_counts, vec![6000; 10]);
    assert_eq!(train.imbalance_ratio, Some(1.0));
    assert_eq!(train.pixels.histogram[0].iter().sum::<u64>(), 60_000 * 784);
    assert_eq!(train.sizes.distinct, 1);
    let mi = &a.profile.mean_images;
    assert_eq!(mi.len(), 10);
    assert_eq!((mi[0].width, mi[0].height, mi[0].channels), (28, 28, 1));
    assert_eq!(mi[0].count, 7000);
    // Trousers (class 1): two legs, so the middle column between them is darker than the legs.
    let trouser = &mi[1].pixels;
    assert!(
        trouser[20 * 28 + 14] < trouser[20 * 28 + 9],
        "gap between trouser legs"
    );

    println!("{:<18} {:>6}", "kind", "count");
    for (k, n) in &a.counts {
        println!("{:<18} {n:>6}", k.as_str());
    }
    for k in [K::Unreadable, K::OddSize, K::OddAspectRatio, K::Grayscale] {
        assert_eq!(a.counts[&k], 0, "{k} on Fashion-MNIST");
    }
    // Fashion-MNIST holds no two images with identical pixels.
    assert_eq!(a.counts[&K::ExactDuplicate], 0);
    // Near duplicates are few (measured with the defaults: about 1% of images, mostly plain
    // items of one cut); label conflicts and leaks fewer still.
    assert!(
        a.counts[&K::NearDuplicate] < 70_000 / 50,
        "{}",
        a.counts[&K::NearDuplicate]
    );
    assert!(a.counts[&K::LabelConflict] < a.counts[&K::NearDuplicate]);
    // The quality kinds flag a small share, not the dataset.
    for k in [K::Dark, K::Light, K::Blurry, K::LowInformation, K::Outlier] {
        assert!(a.counts[&k] < 70_000 / 20, "{k}: {}", a.counts[&k]);
    }
}
