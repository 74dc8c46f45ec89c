//! Loading the chosen splits of a dataset into one pixel buffer with per-row identity.

use dlscope_data::{Dataset, SampleId, Shape};

use crate::error::{MlError, Result};

/// Rows of one or more splits, concatenated in split order.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub shape: Shape,
    /// `rows x shape.len()` bytes.
    pub pixels: Vec<u8>,
    /// Label per row (`u32::MAX` when unlabelled).
    pub labels: Vec<u32>,
    /// Split name per row (index into `split_names`).
    pub split_of: Vec<u16>,
    pub split_names: Vec<String>,
    /// Index of each row within its split.
    pub index: Vec<usize>,
    /// Report identity of each row.
    pub ids: Vec<SampleId>,
}

impl Loaded {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Labels where every row is labelled, else `None`.
    pub fn full_labels(&self) -> Option<&[u32]> {
        (!self.labels.is_empty() && !self.labels.contains(&u32::MAX)).then_some(&self.labels)
    }
}

/// Decodes the splits named in `splits` (all when `None`) into one buffer. All samples must
/// share one shape.
pub fn load_splits(ds: &Dataset, splits: Option<&[String]>) -> Result<Loaded> {
    load_rows(ds, splits, true)
}

/// The chosen splits (all when `None`) in the order [`load_splits`] concatenates them.
pub fn chosen_splits<'a>(
    ds: &'a Dataset,
    splits: Option<&[String]>,
) -> Result<Vec<&'a dlscope_data::Split>> {
    Ok(match splits {
        None => ds.splits.iter().collect(),
        Some(names) => names
            .iter()
            .map(|n| ds.split(n))
            .collect::<std::result::Result<_, _>>()?,
    })
}

/// Like [`load_splits`]; with `pixels == false` nothing is decoded (`pixels` stays empty and
/// `shape` zero) and the samples may differ in shape: labels and identities only.
pub fn load_rows(ds: &Dataset, splits: Option<&[String]>, pixels: bool) -> Result<Loaded> {
    let chosen = chosen_splits(ds, splits)?;
    if chosen.len() > u16::MAX as usize {
        return Err(MlError::param("splits", chosen.len(), "too many splits"));
    }
    let mut out = Loaded {
        shape: Shape::new(0, 0, 1),
        pixels: Vec::new(),
        labels: Vec::new(),
        split_of: Vec::new(),
        split_names: Vec::new(),
        index: Vec::new(),
        ids: Vec::new(),
    };
    for (s, split) in chosen.iter().enumerate() {
        if !pixels {
            out.split_names.push(split.name().to_string());
            out.labels
                .extend((0..split.len()).map(|i| split.label(i).unwrap_or(u32::MAX)));
            out.split_of
                .extend(std::iter::repeat_n(s as u16, split.len()));
            out.index.extend(0..split.len());
            out.ids.extend((0..split.len()).map(|i| split.id(i)));
            continue;
        }
        let dense = split.to_dense()?;
        if dense.is_empty() {
            out.split_names.push(split.name().to_string());
            continue;
        }
        if out.pixels.is_empty() {
            out.shape = dense.shape;
        } else if dense.shape != out.shape {
            return Err(MlError::Data(dlscope_data::DataError::ShapeMismatch {
                split: split.name().to_string(),
                record: 0,
                expected: (out.shape.height, out.shape.width, out.shape.channels),
                got: (dense.shape.height, dense.shape.width, dense.shape.channels),
            }));
        }
        out.split_names.push(split.name().to_string());
        out.pixels.extend_from_slice(&dense.pixels);
        out.labels.extend_from_slice(&dense.labels);
        out.split_of
            .extend(std::iter::repeat_n(s as u16, dense.len()));
        out.index.extend(0..dense.len());
        out.ids.extend((0..dense.len()).map(|i| split.id(i)));
    }
    if out.is_empty() {
        return Err(MlError::TooFew {
            what: "dataset",
            why: format!("'{}' has no samples in the chosen splits", ds.name),
        });
    }
    Ok(out)
}
