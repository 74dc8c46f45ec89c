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

/// A truncated JPEG large enough for the reduced-scale decoder is still caught by the data
/// layer's structural check: it becomes an `unreadable` finding naming the file, also when
/// padding after the cut ends in an end-of-image marker the old tail check trusted.
#[test]
fn truncated_large_jpegs_are_unreadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cls = dir.path().join("ds").join("train").join("things");
    std::fs::create_dir_all(&cls).expect("mkdir");
    let mut rng = rng(5);
    let big = image::imageops::resize(
        &scene(&mut rng),
        1024,
        768,
        image::imageops::FilterType::Triangle,
    );
    let full = jpeg_bytes(&noise(&big, 3.0, &mut rng), 90);
    std::fs::write(cls.join("whole.jpg"), &full).expect("write");
    std::fs::write(cls.join("cut.jpg"), &full[..full.len() / 2]).expect("write");
    // Cut inside a marker segment's header, then an EOI: the marker walk sees a segment
    // that runs past the end of the file.
    let header_end = full
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("start of scan");
    let mut padded = full[..header_end + 3].to_vec();
    padded.extend_from_slice(&[0xFF, 0xD9]);
    std::fs::write(cls.join("cut_eoi.jpg"), &padded).expect("write");
    let ds = dlscope_data::folder::open(&dir.path().join("ds")).expect("opens");
    let a = analyze(&ds, &Settings::default(), &|_| {}).expect("analysis");
    let unreadable: Vec<String> = a
        .findings
        .iter()
        .filter(|f| f.kind == dlscope_analyze::FindingKind::Unreadable)
        .map(|f| format!("{} {}", f.id, f.detail))
        .collect();
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
    for name in ["cut.jpg", "cut_eoi.jpg"] {
        let f = unreadable
            .iter()
            .find(|u| u.starts_with(&format!("{name} ")) || u.contains(&format!("/{name} ")))
            .unwrap_or_else(|| panic!("{name} not unreadable: {unreadable:?}"));
        assert!(f.contains(name) && f.contains("JPEG"), "{f}");
    }
    let whole = a
        .features
        .rows
        .iter()
        .find(|r| {
            ds.splits[0]
                .id(r.index as usize)
                .to_string()
                .ends_with("whole.jpg")
        })
        .expect("whole row");
    assert_eq!(whole.image.as_ref().expect("decoded").decode_scale, 4);
}
