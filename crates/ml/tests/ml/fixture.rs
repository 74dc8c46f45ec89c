//! A small in-memory image dataset: `per_class` 4x4 grey images per class per split, each
//! class a distinct pattern plus seeded noise, and a few exact duplicates planted.

use std::path::PathBuf;

use dlscope_data::{DataError, Dataset, Format, Image, SampleId, SampleSource, Shape, Split};

pub struct Mem {
    pub images: Vec<Vec<u8>>,
    pub labels: Vec<u32>,
}

impl SampleSource for Mem {
    fn len(&self) -> usize {
        self.images.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        Some(self.labels[i])
    }
    fn id(&self, i: usize) -> SampleId {
        SampleId::Index(i as u64)
    }
    fn load(&self, i: usize) -> Result<Image, DataError> {
        Image::new(4, 4, 1, self.images[i].clone()).ok_or_else(|| DataError::Decode {
            path: PathBuf::from("mem"),
            reason: format!("sample {i}"),
        })
    }
    fn fixed_shape(&self) -> Option<Shape> {
        Some(Shape::new(4, 4, 1))
    }
}

/// Class `c` lights pixel row `c` (value 200) over a dark background with noise up to 20.
pub fn split(per_class: usize, classes: u32, seed: u64) -> Mem {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % 21) as u8
    };
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for i in 0..per_class * classes as usize {
        let c = (i % classes as usize) as u32;
        let img: Vec<u8> = (0..16)
            .map(|p| {
                if p / 4 == c as usize {
                    200 + next()
                } else {
                    next()
                }
            })
            .collect();
        images.push(img);
        labels.push(c);
    }
    Mem { images, labels }
}

/// `train` (`per_class` images per class; samples 3 and 6, both class 0, are byte copies of
/// sample 0) and `test` (`per_class / 2` per class); rooted at `root`, which is never written.
pub fn dataset(root: PathBuf, per_class: usize) -> Dataset {
    let mut train = split(per_class, 3, 1);
    // Plant duplicates: samples 3 and 6 become byte copies of sample 0 (all class 0).
    let first = train.images[0].clone();
    train.images[3] = first.clone();
    train.images[6] = first;
    let test = split(per_class / 2, 3, 2);
    Dataset {
        name: "fixture".into(),
        format: Format::Idx,
        root,
        classes: vec!["a".into(), "b".into(), "c".into()],
        splits: vec![
            Split::new("train", Box::new(train)),
            Split::new("test", Box::new(test)),
        ],
        skipped: vec![],
    }
}
