//! Safetensors: one `<split>.safetensors` file per split holding `x` (u8, `[N, H, W, C]`) and
//! `y` (i64 class indices, -1 when unlabelled; or f32 one-hot `[N, classes]`, all zeros when
//! unlabelled), with the class names and split name in the file's metadata.
//!
//! ```no_run
//! use dlscope_data::tensors::{self, Labels};
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! tensors::write(&ds, "fm-tensors".as_ref(), Labels::Index).unwrap();
//! let back = dlscope_data::open("fm-tensors").unwrap(); // detected: a tensors folder
//! assert_eq!(back.classes, ds.classes);
//! ```
//!
//! In Python: `safetensors.numpy.load_file("train.safetensors")["x"]`. The reader also reads
//! files made elsewhere: `x` u8 of rank 3 (`[N, H, W]`, grey) or 4 (`[N, H, W, C]`, C in 1, 3,
//! 4), `y` i64/i32/u8 indices or f32 one-hot; classes default to `0..=max label`.
//!
//! Normalised float tensors ([`write_normalized`], `dlscope convert --to tensors --normalize`):
//! `x` is f32 `(v / 255 - mean[c]) / std[c]`, with the per-channel `mean` and `std` (values in
//! 0..1; by default those of the train split, see [`ChannelNorm::of_dataset`]) recorded as JSON
//! in the metadata key `normalize`. The reader turns such files back into 8-bit pixels
//! (`round((x * std[c] + mean[c]) * 255)`), so a round trip gives identical pixels.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, Format, SampleId, SampleSource, Skipped, Split, Written};
use crate::error::{DataError, Result};
use crate::folder::write::{skipped_sample, unique_names};
use crate::image::{Image, Shape};
use crate::io::{open_maybe_gz, refuse_input_overlap, AtomicDir, Bytes};

/// File extension of the split files.
pub const EXTENSION: &str = "safetensors";
/// Metadata key marking files written by dlscope (value: layout version).
pub const MARK_KEY: &str = "dlscope";
/// Metadata key holding the [`ChannelNorm`] (JSON) of a normalised f32 `x`.
pub const NORMALIZE_KEY: &str = "normalize";

/// How labels are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Labels {
    /// `y` i64 `[N]`, the class index, -1 when unlabelled.
    #[default]
    Index,
    /// `y` f32 `[N, classes]`, one-hot, all zeros when unlabelled.
    OneHot,
}

/// A split loaded into one buffer, unreadable samples left out.
pub(crate) struct Gathered {
    pub shape: Shape,
    pub pixels: Vec<u8>,
    pub labels: Vec<Option<u32>>,
    pub skipped: Vec<Skipped>,
}

/// Decodes every sample of `split` in parallel into one buffer; samples that fail to load are
/// listed as skipped, a sample whose shape differs from the first is an error.
pub(crate) fn gather(split: &Split) -> Result<Gathered> {
    let loaded: Vec<(usize, Result<Image>)> = (0..split.len())
        .into_par_iter()
        .map(|i| (i, split.source().load(i)))
        .collect();
    let mut shape = split.fixed_shape();
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut skipped = Vec::new();
    for (i, r) in loaded {
        match r {
            Err(e) => skipped.push(skipped_sample(split, i, &e)),
            Ok(img) => {
                let s = *shape.get_or_insert(img.shape());
                if img.shape() != s {
                    return Err(DataError::ShapeMismatch {
                        split: split.name().to_string(),
                        record: i as u64,
                        expected: (s.height, s.width, s.channels),
                        got: (img.height, img.width, img.channels),
                    });
                }
                pixels.extend_from_slice(&img.data);
                labels.push(split.label(i));
            }
        }
    }
    Ok(Gathered {
        shape: shape.unwrap_or(Shape::new(0, 0, 1)),
        pixels,
        labels,
        skipped,
    })
}

/// Writes `ds` as the new folder `out` with one `<split>.safetensors` per split. Every sample of
/// a split must have the same shape ([`DataError::ShapeMismatch`]; resize first). Unreadable
/// samples are skipped and listed. Built under a temporary name, renamed into place.
pub fn write(ds: &Dataset, out: &Path, labels: Labels) -> Result<Written> {
    write_with(ds, out, labels, None)
}

/// [`write`] with `x` as normalised f32 (see the module docs); `norm` must have one mean and
/// std per channel of every split.
pub fn write_normalized(
    ds: &Dataset,
    out: &Path,
    labels: Labels,
    norm: &ChannelNorm,
) -> Result<Written> {
    write_with(ds, out, labels, Some(norm))
}

fn write_with(
    ds: &Dataset,
    out: &Path,
    labels: Labels,
    norm: Option<&ChannelNorm>,
) -> Result<Written> {
    refuse_input_overlap(out, &[&ds.root])?;
    if let Some(n) = norm {
        n.validate(out)?;
    }
    let dir = AtomicDir::new(out)?;
    let names = unique_names(ds.splits.iter().map(Split::name), &[]);
    let classes_json = serde_json::to_string(&ds.classes).map_err(|e| DataError::BadHeader {
        path: out.to_path_buf(),
        what: e.to_string(),
    })?;
    let mut samples = 0;
    let mut skipped = Vec::new();
    for (split, file_stem) in ds.splits.iter().zip(&names) {
        let g = gather(split)?;
        let n = g.labels.len();
        let path = dir.path().join(format!("{file_stem}.{EXTENSION}"));
        let x_shape = vec![
            n,
            g.shape.height as usize,
            g.shape.width as usize,
            g.shape.channels as usize,
        ];
        let (y_dtype, y_shape, y_bytes) = match labels {
            Labels::Index => {
                let mut b = Vec::with_capacity(n * 8);
                for l in &g.labels {
                    b.extend_from_slice(&l.map_or(-1i64, i64::from).to_le_bytes());
                }
                (Dtype::I64, vec![n], b)
            }
            Labels::OneHot => {
                let k = ds.classes.len();
                let mut b = vec![0u8; n * k * 4];
                for (i, l) in g.labels.iter().enumerate() {
                    if let Some(l) = l.filter(|&l| (l as usize) < k) {
                        let at = (i * k + l as usize) * 4;
                        b[at..at + 4].copy_from_slice(&1f32.to_le_bytes());
                    }
                }
                (Dtype::F32, vec![n, k], b)
            }
        };
        let bad = |e: safetensors::SafeTensorError| DataError::BadHeader {
            path: path.clone(),
            what: e.to_string(),
        };
        let floats;
        let x = match norm {
            None => TensorView::new(Dtype::U8, x_shape, &g.pixels).map_err(bad)?,
            Some(nm) => {
                let c = g.shape.channels as usize;
                if n > 0 && c != nm.mean.len() {
                    return Err(DataError::Refused {
                        path: path.clone(),
                        why: format!(
                            "split '{}' has {c} channels but the normalisation has {} (from {})",
                            split.name(),
                            nm.mean.len(),
                            nm.source
                        ),
                    });
                }
                floats = nm.to_f32_bytes(&g.pixels);
                TensorView::new(Dtype::F32, x_shape, &floats).map_err(bad)?
            }
        };
        let y = TensorView::new(y_dtype, y_shape, &y_bytes).map_err(bad)?;
        let mut meta = HashMap::from([
            (MARK_KEY.to_string(), "tensors/1".to_string()),
            ("classes".to_string(), classes_json.clone()),
            ("split".to_string(), split.name().to_string()),
            (
                "y".to_string(),
                match labels {
                    Labels::Index => "index",
                    Labels::OneHot => "onehot",
                }
                .to_string(),
            ),
        ]);
        if let Some(nm) = norm {
            let j = serde_json::to_string(nm).map_err(|e| DataError::BadHeader {
                path: path.clone(),
                what: e.to_string(),
            })?;
            meta.insert(NORMALIZE_KEY.to_string(), j);
        }
        safetensors::serialize_to_file([("x", x), ("y", y)], Some(meta), &path).map_err(
            |e| match e {
                safetensors::SafeTensorError::IoError(io) => DataError::io(&path, "write", io),
                other => bad(other),
            },
        )?;
        samples += n;
        skipped.extend(g.skipped);
    }
    let path = dir.commit()?;
    Ok(Written {
        path,
        samples,
        skipped,
    })
}

/// Whether `path` is a `.safetensors` file or a folder holding at least one.
pub fn looks_like(path: &Path) -> bool {
    if path.is_file() {
        return has_ext(path);
    }
    split_files(path).is_ok_and(|f| !f.is_empty())
}

fn has_ext(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(EXTENSION))
}

fn split_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, "list", e))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && has_ext(p))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads a `.safetensors` file (one split) or a folder of them (one split per file, ordered
/// `train`, then others by name, `test` last... as the file names sort, train first).
pub fn open(path: &Path) -> Result<Dataset> {
    let files = if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        split_files(path)?
    };
    if files.is_empty() {
        return Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            why: "no .safetensors file in the folder".into(),
        });
    }
    let mut classes: Option<Vec<String>> = None;
    let mut splits = Vec::new();
    let mut max_label: Option<u32> = None;
    for f in &files {
        let (name, src, file_classes) = read_split(f)?;
        if let Some(m) = src.labels.iter().flatten().max() {
            max_label = Some(max_label.map_or(*m, |x| x.max(*m)));
        }
        match (&classes, file_classes) {
            (None, Some(c)) => classes = Some(c),
            (Some(a), Some(b)) if *a != b => {
                return Err(DataError::BadHeader {
                    path: f.clone(),
                    what: "its class list differs from the other split files'".into(),
                })
            }
            _ => {}
        }
        splits.push(Split::new(name, Box::new(src)));
    }
    splits.sort_by_key(|s| match s.name() {
        "train" => 0,
        "test" => 2,
        _ => 1,
    });
    let classes = classes.unwrap_or_else(|| match max_label {
        Some(m) => (0..=m).map(|c| c.to_string()).collect(),
        None => Vec::new(),
    });
    for s in &splits {
        let src = s.source();
        for i in 0..src.len() {
            if let Some(l) = src.label(i).filter(|&l| l as usize >= classes.len()) {
                return Err(DataError::LabelOutOfRange {
                    path: path.join(format!("{}.{EXTENSION}", s.name())),
                    record: i as u64,
                    label: l as u64,
                    classes: classes.len(),
                });
            }
        }
    }
    Ok(Dataset {
        name: path.display().to_string(),
        format: Format::Tensors,
        root: path.to_path_buf(),
        classes,
        splits,
        skipped: Vec::new(),
    })
}

/// One split file: pixels stay in the mapped file.
struct TensorSource {
    path: PathBuf,
    bytes: Bytes,
    /// Byte range of `x` within `bytes`.
    x: std::ops::Range<usize>,
    shape: Shape,
    labels: Vec<Option<u32>>,
    /// Set when `x` is normalised f32: pixels are recovered on load.
    norm: Option<ChannelNorm>,
}

fn read_split(path: &Path) -> Result<(String, TensorSource, Option<Vec<String>>)> {
    let bytes = open_maybe_gz(path)?;
    let bad = |what: String| DataError::BadHeader {
        path: path.to_path_buf(),
        what,
    };
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let info = meta.metadata().clone().unwrap_or_default();
    let x = st
        .tensor("x")
        .map_err(|_| bad("no tensor named 'x' (images)".into()))?;
    let norm = match (x.dtype(), info.get(NORMALIZE_KEY)) {
        (Dtype::U8, _) => None,
        (Dtype::F32, Some(j)) => Some(serde_json::from_str::<ChannelNorm>(j).map_err(|e| {
            bad(format!(
                "metadata '{NORMALIZE_KEY}' is not a normalisation: {e}"
            ))
        })?),
        (dt, _) => {
            return Err(bad(format!(
                "'x' is {dt:?}; only u8 images, or f32 with dlscope's '{NORMALIZE_KEY}' metadata \
                 (mean and std per channel), can be read back as pixels"
            )))
        }
    };
    let dims = x.shape().to_vec();
    let (n, h, w, c) = match dims[..] {
        [n, h, w] => (n, h, w, 1),
        [n, h, w, c] => (n, h, w, c),
        _ => {
            return Err(bad(format!(
                "'x' has shape {dims:?}; expected [N, H, W(, C)]"
            )))
        }
    };
    if !matches!(c, 1 | 3 | 4) || h == 0 || w == 0 || h > u32::MAX as usize || w > u32::MAX as usize
    {
        return Err(DataError::BadDims {
            path: path.to_path_buf(),
            dims: dims.iter().map(|&d| d as u64).collect(),
            why: "images need H, W > 0 and 1, 3 or 4 channels",
        });
    }
    if let Some(nm) = &norm {
        nm.validate(path)?;
        if nm.mean.len() != c {
            return Err(bad(format!(
                "'x' has {c} channels but '{NORMALIZE_KEY}' has {} means",
                nm.mean.len()
            )));
        }
    }
    let start = x.data().as_ptr() as usize - bytes.as_ptr() as usize;
    let x_range = start..start + x.data().len();
    let labels = match st.tensor("y") {
        Err(_) => vec![None; n],
        Ok(y) => read_labels(&y, n).map_err(bad)?,
    };
    let classes = match info.get("classes") {
        Some(j) => Some(
            serde_json::from_str::<Vec<String>>(j)
                .map_err(|e| bad(format!("metadata 'classes' is not a list of names: {e}")))?,
        ),
        None => None,
    };
    let name = info.get("split").cloned().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "train".into())
    });
    drop(st);
    let src = TensorSource {
        path: path.to_path_buf(),
        bytes,
        x: x_range,
        shape: Shape::new(h as u32, w as u32, c as u8),
        labels,
        norm,
    };
    Ok((name, src, classes))
}

fn read_labels(y: &TensorView<'_>, n: usize) -> std::result::Result<Vec<Option<u32>>, String> {
    let d = y.data();
    let shape = y.shape();
    let to = |v: i64| u32::try_from(v).ok();
    let out: Vec<Option<u32>> = match (y.dtype(), shape) {
        (Dtype::I64, [m]) if *m == n => d
            .chunks_exact(8)
            .map(|b| to(i64::from_le_bytes(b.try_into().unwrap_or([0xff; 8]))))
            .collect(),
        (Dtype::I32, [m]) if *m == n => d
            .chunks_exact(4)
            .map(|b| to(i32::from_le_bytes(b.try_into().unwrap_or([0xff; 4])) as i64))
            .collect(),
        (Dtype::U8, [m]) if *m == n => d.iter().map(|&b| Some(b as u32)).collect(),
        (Dtype::F32, [m, k]) if *m == n && *k > 0 => d
            .chunks_exact(4 * k)
            .map(|row| {
                let v: Vec<f32> = row
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                let (arg, max) =
                    v.iter()
                        .enumerate()
                        .fold((0, f32::MIN), |a, (i, &x)| if x > a.1 { (i, x) } else { a });
                (max > 0.0).then_some(arg as u32)
            })
            .collect(),
        (dt, s) => {
            return Err(format!(
                "'y' is {dt:?} {s:?}; expected [{n}] integers or [{n}, classes] f32 one-hot"
            ))
        }
    };
    Ok(out)
}

impl SampleSource for TensorSource {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.labels[i]
    }
    fn id(&self, i: usize) -> SampleId {
        SampleId::Index(i as u64)
    }
    fn load(&self, i: usize) -> Result<Image> {
        let per = self.shape.len() * if self.norm.is_some() { 4 } else { 1 };
        let px = &self.bytes[self.x.clone()];
        let data = px
            .get(i * per..(i + 1) * per)
            .ok_or_else(|| DataError::BadLength {
                path: self.path.clone(),
                expected: ((i + 1) * per) as u64,
                actual: px.len() as u64,
                why: "record past the end of 'x'",
            })?;
        let data = match &self.norm {
            None => data.to_vec(),
            Some(nm) => nm.to_pixels(data),
        };
        Ok(Image {
            width: self.shape.width,
            height: self.shape.height,
            channels: self.shape.channels,
            data,
        })
    }
    fn fixed_shape(&self) -> Option<Shape> {
        Some(self.shape)
    }
    fn contiguous_pixels(&self) -> Option<&[u8]> {
        match self.norm {
            None => Some(&self.bytes[self.x.clone()]),
            Some(_) => None,
        }
    }
}

/// Per-channel normalisation of float tensors: `x = (v / 255 - mean[c]) / std[c]`, values of
/// `mean` and `std` in 0..1 (the torchvision `Normalize` convention).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelNorm {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// Where the statistics come from (`train split`, or a stats file and its split).
    pub source: String,
}

/// One entry of a `normalization.json` written by `dlscope clean --stats`.
#[derive(Deserialize)]
struct StatsEntry {
    split: String,
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl ChannelNorm {
    /// Mean and std per channel of the `train` split of `ds` (the first split when there is no
    /// `train`), over the samples that decode; every sample must have the first one's channel
    /// count. A channel whose std is 0 (constant) gets std 1, so it is only shifted.
    pub fn of_dataset(ds: &Dataset) -> Result<ChannelNorm> {
        let split = match ds.split("train") {
            Ok(s) => s,
            Err(_) => ds.splits.first().ok_or_else(|| DataError::Refused {
                path: ds.root.clone(),
                why: "the dataset has no split to take normalisation statistics from".into(),
            })?,
        };
        let g = gather(split)?;
        let c = g.shape.channels as usize;
        if g.labels.is_empty() || c == 0 {
            return Err(DataError::Refused {
                path: ds.root.clone(),
                why: format!(
                    "split '{}' has no readable sample to take normalisation statistics from",
                    split.name()
                ),
            });
        }
        let (mut sum, mut sq) = (vec![0u64; c], vec![0u64; c]);
        for px in g.pixels.chunks_exact(c) {
            for (k, &v) in px.iter().enumerate() {
                sum[k] += v as u64;
                sq[k] += (v as u64) * (v as u64);
            }
        }
        let n = (g.pixels.len() / c) as f64;
        let mean: Vec<f64> = sum.iter().map(|&s| s as f64 / n / 255.0).collect();
        let std = (0..c)
            .map(|k| {
                let m = sum[k] as f64 / n;
                let sd = (sq[k] as f64 / n - m * m).max(0.0).sqrt() / 255.0;
                if sd > 1e-9 {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        let source = if split.name() == "train" {
            "train split".to_string()
        } else {
            format!("split '{}' (no train split)", split.name())
        };
        Ok(ChannelNorm { mean, std, source })
    }

    /// Reads `normalization.json` from `dlscope clean --stats`, taking the `train` entry (the
    /// first when there is none).
    pub fn from_stats_file(path: &Path) -> Result<ChannelNorm> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
        let bad = |what: String| DataError::BadHeader {
            path: path.to_path_buf(),
            what,
        };
        let entries: Vec<StatsEntry> = serde_json::from_slice(&bytes).map_err(|e| {
            bad(format!(
                "not a normalization.json of `dlscope clean --stats` \
                 ([{{split, mean, std, ...}}]): {e}"
            ))
        })?;
        let pick = entries.iter().position(|e| e.split == "train").unwrap_or(0);
        let e = entries
            .into_iter()
            .nth(pick)
            .ok_or_else(|| bad("it lists no split".into()))?;
        let norm = ChannelNorm {
            mean: e.mean,
            std: e.std,
            source: format!("{} (split {})", path.display(), e.split),
        };
        norm.validate(path)?;
        Ok(norm)
    }

    /// Checks one finite mean and one finite, positive std per channel.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let ok = !self.mean.is_empty()
            && self.mean.len() == self.std.len()
            && self.mean.iter().all(|m| m.is_finite())
            && self.std.iter().all(|s| s.is_finite() && *s > 0.0);
        if ok {
            Ok(())
        } else {
            Err(DataError::BadHeader {
                path: path.to_path_buf(),
                what: format!(
                    "normalisation from {} needs one finite mean and one positive std per \
                     channel, got mean {:?} std {:?}",
                    self.source, self.mean, self.std
                ),
            })
        }
    }

    /// Normalised little-endian f32 bytes of interleaved pixels.
    pub fn to_f32_bytes(&self, pixels: &[u8]) -> Vec<u8> {
        let c = self.mean.len();
        let mut out = vec![0u8; pixels.len() * 4];
        out.par_chunks_mut(4 * c * 1024)
            .zip(pixels.par_chunks(c * 1024))
            .for_each(|(dst, src)| {
                for (i, (d, &v)) in dst.chunks_exact_mut(4).zip(src).enumerate() {
                    let k = i % c;
                    let x = ((v as f64 / 255.0 - self.mean[k]) / self.std[k]) as f32;
                    d.copy_from_slice(&x.to_le_bytes());
                }
            });
        out
    }

    /// 8-bit pixels of normalised little-endian f32 bytes (rounded, clamped to 0..=255).
    pub fn to_pixels(&self, floats: &[u8]) -> Vec<u8> {
        let c = self.mean.len();
        floats
            .chunks_exact(4)
            .enumerate()
            .map(|(i, b)| {
                let k = i % c;
                let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64;
                ((x * self.std[k] + self.mean[k]) * 255.0)
                    .round()
                    .clamp(0.0, 255.0) as u8
            })
            .collect()
    }
}
