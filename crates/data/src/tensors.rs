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

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::dataset::{Dataset, Format, SampleId, SampleSource, Skipped, Split, Written};
use crate::error::{DataError, Result};
use crate::folder::write::{skipped_sample, unique_names};
use crate::image::{Image, Shape};
use crate::io::{open_maybe_gz, refuse_input_overlap, AtomicDir, Bytes};

/// File extension of the split files.
pub const EXTENSION: &str = "safetensors";
/// Metadata key marking files written by dlscope (value: layout version).
pub const MARK_KEY: &str = "dlscope";

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
    refuse_input_overlap(out, &[&ds.root])?;
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
        let x = TensorView::new(Dtype::U8, x_shape, &g.pixels).map_err(bad)?;
        let y = TensorView::new(y_dtype, y_shape, &y_bytes).map_err(bad)?;
        let meta = HashMap::from([
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
    if x.dtype() != Dtype::U8 {
        return Err(bad(format!(
            "'x' is {:?}; only u8 images are read",
            x.dtype()
        )));
    }
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
        let per = self.shape.len();
        let px = &self.bytes[self.x.clone()];
        let data = px
            .get(i * per..(i + 1) * per)
            .ok_or_else(|| DataError::BadLength {
                path: self.path.clone(),
                expected: ((i + 1) * per) as u64,
                actual: px.len() as u64,
                why: "record past the end of 'x'",
            })?;
        Ok(Image {
            width: self.shape.width,
            height: self.shape.height,
            channels: self.shape.channels,
            data: data.to_vec(),
        })
    }
    fn fixed_shape(&self) -> Option<Shape> {
        Some(self.shape)
    }
    fn contiguous_pixels(&self) -> Option<&[u8]> {
        Some(&self.bytes[self.x.clone()])
    }
}
