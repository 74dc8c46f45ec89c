//! dlscope's resampler against Pillow: goldens in tests/data/ made by make_resize_goldens.py
//! from the fixture photos (nearest as Keras' load_img, bilinear, bicubic up and down, and
//! torchvision's Resize + CenterCrop).

use std::path::PathBuf;

use dlscope_vision::preprocess::{to_rgb, Normalize, Preprocess, Resize};
use dlscope_vision::resample::{resize, Filter, Pixels};

use super::util::imagenet;

fn golden(name: &str) -> Pixels {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data")).join(name);
    to_rgb(&dlscope_data::decode::decode_file(&p).unwrap())
}

fn photo(name: &str) -> Pixels {
    to_rgb(&dlscope_data::decode::decode_file(&imagenet(&format!("images/{name}"))).unwrap())
}

fn assert_same(got: &Pixels, want: &Pixels, what: &str) {
    assert_eq!((got.width, got.height), (want.width, want.height), "{what}");
    let differ = got
        .data
        .iter()
        .zip(&want.data)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differ, 0, "{what}: {differ} bytes differ from Pillow");
}

#[test]
fn resizes_like_pillow() {
    let cat = photo("cat_chelsea.png");
    assert_same(
        &resize(&cat, 150, 100, Filter::Nearest),
        &golden("cat_nearest_150x100.png"),
        "nearest down",
    );
    assert_same(
        &resize(&cat.crop(10, 10, 40, 30), 97, 71, Filter::Nearest),
        &golden("cat_crop_nearest_up_97x71.png"),
        "nearest up",
    );
    assert_same(
        &resize(&cat, 97, 61, Filter::Bilinear),
        &golden("cat_bilinear_97x61.png"),
        "bilinear",
    );
    assert_same(
        &resize(&cat, 131, 230, Filter::Bicubic),
        &golden("cat_bicubic_131x230.png"),
        "bicubic",
    );
}

#[test]
fn torchvision_resize_and_centre_crop_like_pillow() {
    let pre = Preprocess {
        size: 112,
        resize: Resize::ShorterCrop { shorter: 128 },
        filter: Filter::Bilinear,
        normalize: Normalize::Torch,
    };
    let hopper = photo("grace_hopper_portrait.png");
    assert_same(
        &pre.crop_rgb(&hopper),
        &golden("hopper_torchvision_128_112.png"),
        "torchvision",
    );
}
