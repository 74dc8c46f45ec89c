//! Large JPEGs are decoded at reduced scale (DCT scaling) with their original size reported,
//! and their features stay close to a full decode.

use dlscope_analyze::{analyze, phash::hamming, Settings};

use crate::util::*;

#[test]
fn large_jpegs_decode_at_reduced_scale_with_close_features() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("ds");
    let cls = root.join("train").join("things");
    std::fs::create_dir_all(&cls).expect("mkdir");
    let mut rng = rng(3);
    // A 1280 x 960 photo-like scene (1/4 scale keeps the shorter side at 240 >= 128, 1/8 would
    // not) and a small one that is decoded in full.
    let big = image::imageops::resize(
        &scene(&mut rng),
        1280,
        960,
        image::imageops::FilterType::CatmullRom,
    );
    let big = noise(&big, 3.0, &mut rng);
    std::fs::write(cls.join("big.jpg"), jpeg_bytes(&big, 90)).expect("write");
    std::fs::write(cls.join("small.jpg"), jpeg_bytes(&scene(&mut rng), 90)).expect("write");
    let ds = dlscope_data::folder::open(&root).expect("opens");

    let fast = analyze(&ds, &Settings::default(), &|_| {}).expect("reduced");
    let mut s = Settings::default();
    s.decode.jpeg_min_side = None;
    let full = analyze(&ds, &s, &|_| {}).expect("full");

    let id = |a: &dlscope_analyze::Analysis, name: &str| {
        let i = (0..ds.splits[0].len())
            .find(|&i| ds.splits[0].id(i).to_string().ends_with(name))
            .expect("sample");
        a.features.rows[i].clone()
    };
    let (r, f) = (id(&fast, "big.jpg"), id(&full, "big.jpg"));
    let (ri, fi) = (r.image.expect("decoded"), f.image.expect("decoded"));
    assert_eq!((ri.decode_scale, ri.width, ri.height), (4, 1280, 960));
    assert_eq!((fi.decode_scale, fi.width, fi.height), (1, 1280, 960));
    let file = r.file.expect("file facts");
    assert_eq!(file.format, dlscope_analyze::FileFormat::Jpeg);
    assert_eq!(
        file.bytes,
        std::fs::metadata(cls.join("big.jpg")).expect("stat").len()
    );
    for c in 0..3 {
        assert!(
            (ri.mean[c] - fi.mean[c]).abs() < 1.5,
            "mean {c}: {} vs {}",
            ri.mean[c],
            fi.mean[c]
        );
        assert!((ri.std[c] - fi.std[c]).abs() < 0.1 * fi.std[c], "std {c}");
    }
    assert!(
        hamming(ri.phash, fi.phash) <= 4,
        "phash {}",
        hamming(ri.phash, fi.phash)
    );
    assert!(
        (ri.sharpness - fi.sharpness).abs() < 0.25 * fi.sharpness,
        "{} vs {}",
        ri.sharpness,
        fi.sharpness
    );
    assert_eq!(
        id(&fast, "small.jpg").image.expect("decoded").decode_scale,
        1
    );

    // The profile counts the reduced decode, weighting its pixels back to the full size.
    let p = &fast.profile.splits[0];
    assert_eq!(p.reduced_decodes, 1);
    let small = id(&fast, "small.jpg").image.expect("small");
    let expected = 1280 * 960 + (small.width * small.height) as u64;
    assert_eq!(p.pixels.pixels, expected);
    assert_eq!(full.profile.splits[0].pixels.pixels, expected);
    assert!((p.pixels.mean[0] - full.profile.splits[0].pixels.mean[0]).abs() < 0.01);
}
