//! CIFAR batch files as a [`SampleSource`]: records are `label byte(s) + 3072 pixel bytes`
//! (1024 red, 1024 green, 1024 blue, each 32x32 row-major), converted to interleaved HWC on load.

use std::path::PathBuf;

use crate::dataset::{SampleId, SampleSource};
use crate::error::{DataError, Result};
use crate::image::{Image, Shape};
use crate::io::Bytes;

use super::{LabelSet, Variant};

/// Pixels per colour plane (32 x 32).
const PLANE: usize = 1024;
/// Pixel bytes per record.
pub(crate) const PIXELS: usize = 3 * PLANE;

/// One file's bytes (a loose batch file, or a member read out of the tarball) and the path that
/// names it in errors.
pub(crate) struct Member {
    pub path: PathBuf,
    pub bytes: Bytes,
}

/// Checks that `m` is a whole number of records with labels in range; returns the record count.
pub(crate) fn check_batch(m: &Member, variant: Variant) -> Result<usize> {
    let rec = variant.record_len();
    let len = m.bytes.len();
    if len == 0 || len % rec != 0 {
        return Err(DataError::BadLength {
            path: m.path.clone(),
            expected: (len / rec + 1) as u64 * rec as u64,
            actual: len as u64,
            why: match variant {
                Variant::Cifar10 => {
                    "a CIFAR-10 batch is whole 3073-byte records (1 label byte + 3072 pixels); the last record is partial"
                }
                Variant::Cifar100 => {
                    "a CIFAR-100 batch is whole 3074-byte records (coarse and fine label bytes + 3072 pixels); the last record is partial"
                }
            },
        });
    }
    // Label byte offsets within a record and the class count each must stay below.
    let checks: &[(usize, usize)] = match variant {
        Variant::Cifar10 => &[(0, 10)],
        Variant::Cifar100 => &[(0, 20), (1, 100)],
    };
    for (record, r) in m.bytes.chunks_exact(rec).enumerate() {
        for &(at, classes) in checks {
            if r[at] as usize >= classes {
                return Err(DataError::LabelOutOfRange {
                    path: m.path.clone(),
                    record: record as u64,
                    label: r[at] as u64,
                    classes,
                });
            }
        }
    }
    Ok(len / rec)
}

/// The batches of one split, in order, read as one sequence of samples.
pub(crate) struct CifarSource {
    batches: Vec<Member>,
    /// Index of the first sample of each batch.
    starts: Vec<usize>,
    labels: Vec<u8>,
    record_len: usize,
    label_bytes: usize,
}

impl CifarSource {
    /// `batches` must have passed [`check_batch`].
    pub fn new(batches: Vec<Member>, variant: Variant, set: LabelSet) -> Self {
        let rec = variant.record_len();
        let at = match (variant, set) {
            (Variant::Cifar10, _) | (Variant::Cifar100, LabelSet::Coarse) => 0,
            (Variant::Cifar100, LabelSet::Fine) => 1,
        };
        let mut starts = Vec::with_capacity(batches.len());
        let mut labels = Vec::new();
        for b in &batches {
            starts.push(labels.len());
            labels.extend(b.bytes.chunks_exact(rec).map(|r| r[at]));
        }
        CifarSource {
            batches,
            starts,
            labels,
            record_len: rec,
            label_bytes: variant.label_bytes(),
        }
    }

    fn record(&self, i: usize) -> Option<(&Member, &[u8])> {
        if i >= self.labels.len() {
            return None;
        }
        let b = self.starts.partition_point(|&s| s <= i).checked_sub(1)?;
        let batch = self.batches.get(b)?;
        let at = (i - self.starts[b]) * self.record_len + self.label_bytes;
        Some((batch, batch.bytes.get(at..at + PIXELS)?))
    }
}

impl SampleSource for CifarSource {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.labels.get(i).map(|&l| l as u32)
    }
    fn id(&self, i: usize) -> SampleId {
        SampleId::Index(i as u64)
    }
    fn load(&self, i: usize) -> Result<Image> {
        let Some((_, px)) = self.record(i) else {
            let path = self
                .batches
                .last()
                .map(|b| b.path.clone())
                .unwrap_or_default();
            return Err(DataError::io(
                path,
                "read sample",
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("record {i} is past the last of {} records", self.len()),
                ),
            ));
        };
        let (r, gb) = px.split_at(PLANE);
        let (g, b) = gb.split_at(PLANE);
        let mut data = vec![0u8; PIXELS];
        for (p, out) in data.chunks_exact_mut(3).enumerate() {
            out[0] = r[p];
            out[1] = g[p];
            out[2] = b[p];
        }
        Ok(Image {
            width: 32,
            height: 32,
            channels: 3,
            data,
        })
    }
    fn fixed_shape(&self) -> Option<Shape> {
        Some(Shape::new(32, 32, 3))
    }
}
