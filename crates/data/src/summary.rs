//! What `dlscope info` prints: format, splits with sample counts, classes with counts, and the
//! image shape (fixed-shape formats) or the size range (read from image headers, no decoding).
//!
//! The JSON form is a stable interface, versioned by [`SUMMARY_SCHEMA_VERSION`].

use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, Format, Skipped, Split};
use crate::image::Shape;

/// Version of the [`Summary`] JSON layout. Bumped on any incompatible change.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// A dataset at a glance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub schema_version: u32,
    pub name: String,
    pub format: Format,
    pub root: String,
    pub total_samples: u64,
    pub classes: Vec<ClassSummary>,
    pub splits: Vec<SplitSummary>,
    /// Files the reader could not list as samples, with the reason.
    pub skipped: Vec<Skipped>,
}

/// One class and how many samples each split has of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassSummary {
    pub index: u32,
    pub name: String,
    pub total: u64,
    /// Counts in split order (same order as [`Summary::splits`]).
    pub per_split: Vec<u64>,
}

/// One split.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SplitSummary {
    pub name: String,
    pub samples: u64,
    pub unlabelled: u64,
    /// Per class index.
    pub class_counts: Vec<u64>,
    /// Largest class count / smallest non-zero class count (1.0 = balanced; null if no labels).
    pub imbalance_ratio: Option<f64>,
    /// The one shape every sample has, when the format fixes it or every header agreed.
    pub shape: Option<Shape>,
    /// Range of sizes seen in image headers (file-backed splits).
    pub sizes: Option<SizeRange>,
    /// Samples whose header could not be read (file-backed splits; decoded later as findings).
    pub unreadable: u64,
}

/// Smallest and largest width/height and the channel counts seen.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SizeRange {
    pub min_width: u32,
    pub max_width: u32,
    pub min_height: u32,
    pub max_height: u32,
    /// Distinct channel counts seen (1 = grey, 3 = RGB, 4 = RGBA), ascending.
    pub channels: Vec<u8>,
}

/// Header facts of one image file: (width, height, channels).
fn header(path: &Path) -> Option<(u32, u32, u8)> {
    use image::ImageDecoder;
    let reader = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?;
    let decoder = reader.into_decoder().ok()?;
    let (w, h) = decoder.dimensions();
    let c = match decoder.color_type().channel_count() {
        1 => 1,
        2 | 4 => 4,
        _ => 3,
    };
    Some((w, h, c))
}

fn summarize_split(split: &Split, n_classes: usize) -> SplitSummary {
    let (class_counts, unlabelled) = split.class_counts(n_classes);
    let nonzero: Vec<u64> = class_counts.iter().copied().filter(|&c| c > 0).collect();
    let imbalance_ratio = match (nonzero.iter().max(), nonzero.iter().min()) {
        (Some(&max), Some(&min)) => Some(max as f64 / min as f64),
        _ => None,
    };
    let mut shape = split.fixed_shape();
    let mut sizes = None;
    let mut unreadable = 0;
    if shape.is_none() && split.path(0).is_some() {
        let headers: Vec<Option<(u32, u32, u8)>> = (0..split.len())
            .into_par_iter()
            .map(|i| {
                split
                    .path(i)
                    .and_then(|p| header(AsRef::<Path>::as_ref(&p)))
            })
            .collect();
        let ok: Vec<(u32, u32, u8)> = headers.iter().flatten().copied().collect();
        unreadable = (headers.len() - ok.len()) as u64;
        if let Some(&(w0, h0, c0)) = ok.first() {
            let mut r = SizeRange {
                min_width: w0,
                max_width: w0,
                min_height: h0,
                max_height: h0,
                channels: vec![],
            };
            for &(w, h, c) in &ok {
                r.min_width = r.min_width.min(w);
                r.max_width = r.max_width.max(w);
                r.min_height = r.min_height.min(h);
                r.max_height = r.max_height.max(h);
                if !r.channels.contains(&c) {
                    r.channels.push(c);
                }
            }
            r.channels.sort_unstable();
            if r.min_width == r.max_width && r.min_height == r.max_height && r.channels.len() == 1 {
                shape = Some(Shape::new(h0, w0, c0));
            }
            sizes = Some(r);
        }
    }
    SplitSummary {
        name: split.name().to_string(),
        samples: split.len() as u64,
        unlabelled,
        class_counts,
        imbalance_ratio,
        shape,
        sizes,
        unreadable,
    }
}

/// Summarises a dataset. Reads only labels and image headers, never decodes pixels.
pub fn summarize(ds: &Dataset) -> Summary {
    let n_classes = ds.classes.len();
    let splits: Vec<SplitSummary> = ds
        .splits
        .iter()
        .map(|s| summarize_split(s, n_classes))
        .collect();
    let classes = ds
        .classes
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let per_split: Vec<u64> = splits.iter().map(|s| s.class_counts[c]).collect();
            ClassSummary {
                index: c as u32,
                name: name.clone(),
                total: per_split.iter().sum(),
                per_split,
            }
        })
        .collect();
    Summary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        name: ds.name.clone(),
        format: ds.format,
        root: ds.root.display().to_string(),
        total_samples: ds.len() as u64,
        classes,
        splits,
        skipped: ds.skipped.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{SampleId, SampleSource};
    use crate::error::Result;
    use crate::image::Image;

    struct Fixed {
        labels: Vec<u32>,
    }
    impl SampleSource for Fixed {
        fn len(&self) -> usize {
            self.labels.len()
        }
        fn label(&self, i: usize) -> Option<u32> {
            self.labels.get(i).copied()
        }
        fn id(&self, i: usize) -> SampleId {
            SampleId::Index(i as u64)
        }
        fn load(&self, _i: usize) -> Result<Image> {
            Ok(Image::new(2, 2, 1, vec![0; 4]).expect("valid"))
        }
        fn fixed_shape(&self) -> Option<Shape> {
            Some(Shape::new(2, 2, 1))
        }
    }

    #[test]
    fn counts_classes_per_split_and_imbalance() {
        let ds = Dataset {
            name: "t".into(),
            format: Format::Idx,
            root: "/nowhere".into(),
            classes: vec!["a".into(), "b".into(), "c".into()],
            splits: vec![
                Split::new(
                    "train",
                    Box::new(Fixed {
                        labels: vec![0, 0, 0, 1, 2, 7],
                    }),
                ),
                Split::new("test", Box::new(Fixed { labels: vec![1, 1] })),
            ],
            skipped: vec![],
        };
        let s = summarize(&ds);
        assert_eq!(s.total_samples, 8);
        assert_eq!(s.splits[0].class_counts, vec![3, 1, 1]);
        assert_eq!(
            s.splits[0].unlabelled, 1,
            "label 7 is out of the class list"
        );
        assert_eq!(s.splits[0].imbalance_ratio, Some(3.0));
        assert_eq!(s.splits[1].class_counts, vec![0, 2, 0]);
        assert_eq!(s.classes[1].per_split, vec![1, 2]);
        assert_eq!(s.classes[1].total, 3);
        assert_eq!(s.splits[0].shape, Some(Shape::new(2, 2, 1)));
        let json = serde_json::to_value(&s).expect("serialises");
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["format"], "idx");
        assert_eq!(json["splits"][0]["shape"]["height"], 2);
    }
}
