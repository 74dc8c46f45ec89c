//! Any dataset of the data layer: an RGB image folder with mixed sizes (and one grey image) is
//! resized to one input shape and trains both models.

use dlscope_data::Shape;
use dlscope_nn::data::load_split;
use dlscope_nn::{Arch, Engine, NnError, TrainConfig, Trainer};

/// Two classes told apart by colour: reddish and bluish images of assorted sizes.
fn write_folder(root: &std::path::Path) {
    for (class, rgb) in [("blue", [20u8, 40, 220]), ("red", [220u8, 30, 20])] {
        let dir = root.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..24u32 {
            let (w, h) = (10 + i % 7, 9 + (i * 3) % 11);
            let img = image::RgbImage::from_fn(w, h, |x, y| {
                let n = ((x * 7 + y * 13 + i * 5) % 40) as u8;
                image::Rgb([
                    rgb[0].saturating_add(n),
                    rgb[1].saturating_add(n),
                    rgb[2].saturating_sub(n),
                ])
            });
            img.save(dir.join(format!("{i:02}.png"))).unwrap();
        }
    }
    // A grey image among the colour ones is converted to RGB.
    image::GrayImage::from_pixel(12, 12, image::Luma([90]))
        .save(root.join("red").join("grey.png"))
        .unwrap();
}

#[test]
fn mixed_size_rgb_folders_are_resized_and_trainable() {
    let dir = tempfile::tempdir().unwrap();
    write_folder(dir.path());
    let ds = dlscope_data::open(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(ds.classes, ["blue", "red"]);
    let split = ds.split("train").unwrap();
    let data = load_split(split, Some(Shape::new(12, 12, 3))).unwrap();
    assert_eq!((data.len(), data.shape), (49, Shape::new(12, 12, 3)));
    assert_eq!(data.pixels.len(), 49 * 12 * 12 * 3);

    for arch in [Arch::mlp(), Arch::cnn()] {
        let config = TrainConfig {
            arch,
            batch_size: 8,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(&config, ds.classes.clone(), "train", &data).unwrap();
        t.fit("train", &data, 8, &Engine::Cpu, 1, &mut |_| {})
            .unwrap();
        let eval = t.model.evaluate("train", &data, &Engine::Cpu, 1).unwrap();
        assert!(
            eval.accuracy > 0.9,
            "{} on colours: {}",
            t.model.spec.arch.name(),
            eval.accuracy
        );
    }

    // Without a target size the first image's size is used; a grey target is refused.
    assert_eq!(load_split(split, None).unwrap().shape.channels, 3);
    let err = load_split(split, Some(Shape::new(12, 12, 1))).unwrap_err();
    assert!(
        matches!(
            err,
            NnError::ChannelMismatch {
                expected: 1,
                got: 3,
                ..
            }
        ),
        "{err}"
    );
}
