//! Writing a dataset as IDX files, into a new folder that appears only when complete.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use rayon::prelude::*;

use crate::dataset::{Dataset, Skipped, Split, Written};
use crate::error::{DataError, Result};
use crate::image::{Image, Shape};
use crate::io::{self, AtomicDir};

use super::header::DTYPE_U8;
use super::stem_for_split;

/// Samples decoded in parallel per batch while writing; bounds memory for file-per-sample inputs.
const CHUNK: usize = 1024;

/// Writes `ds` as IDX files into the new folder `out` (refused if it exists or overlaps
/// `ds.root`): split `train` as `train-images-idx3-ubyte` + `train-labels-idx1-ubyte`, `test` as
/// `t10k-*`, any other split `<split>-*`; with `gzip`, each file gets `.gz`.
///
/// All samples must share one shape ([`DataError::ShapeMismatch`] otherwise): grayscale is
/// written as idx3 `(N, H, W)`, colour as idx4 `(N, H, W, C)`. Samples that fail to load are
/// left out and listed in [`Written::skipped`]. Labels must fit in a byte, and a split is either
/// fully labelled or fully unlabelled (then no labels file is written); a split that mixes both
/// is refused before anything is written.
pub fn write(ds: &Dataset, out: &Path, gzip: bool) -> Result<Written> {
    io::refuse_input_overlap(out, &[&ds.root])?;
    let plan = plan(ds, out)?;
    let dir = AtomicDir::new(out)?;
    let mut shape = None;
    let mut samples = 0;
    let mut skipped = Vec::new();
    for (split, stem, labelled) in plan {
        let mut w = SplitWriter {
            split,
            dir: dir.path(),
            stem,
            labelled,
            shape: &mut shape,
            skipped: &mut skipped,
            images: None,
            labels: Vec::new(),
            n: 0,
        };
        w.write_samples()?;
        samples += w.finish(gzip)?;
    }
    if samples == 0 {
        return Err(DataError::Refused {
            path: out.to_path_buf(),
            why: match skipped.first() {
                Some(s) => format!(
                    "no sample could be read ({} skipped; first: {}: {})",
                    skipped.len(),
                    s.path,
                    s.reason
                ),
                None => "the dataset has no samples".into(),
            },
        });
    }
    let path = dir.commit()?;
    Ok(Written {
        path,
        samples,
        skipped,
    })
}

/// Checks names and labels before anything is written: (split, file stem, labelled).
fn plan<'a>(ds: &'a Dataset, out: &Path) -> Result<Vec<(&'a Split, &'a str, bool)>> {
    let refuse = |why: String| DataError::Refused {
        path: out.to_path_buf(),
        why,
    };
    let mut plan: Vec<(&Split, &str, bool)> = Vec::new();
    for split in &ds.splits {
        let stem = stem_for_split(split.name());
        if stem.is_empty() || stem.starts_with('.') || stem.contains(['/', '\\', '\0']) {
            return Err(refuse(format!(
                "split name '{}' cannot be part of a file name",
                split.name()
            )));
        }
        if let Some((other, ..)) = plan.iter().find(|(_, s, _)| *s == stem) {
            return Err(refuse(format!(
                "splits '{}' and '{}' would both be written as {stem}-images-idx3-ubyte; rename one",
                other.name(),
                split.name()
            )));
        }
        if split.len() > u32::MAX as usize {
            return Err(refuse(format!(
                "split '{}' has {} samples, more than an IDX header can count",
                split.name(),
                split.len()
            )));
        }
        let mut labelled = None;
        for i in 0..split.len() {
            let label = split.label(i);
            if let Some(l) = label.filter(|&l| l > u8::MAX as u32) {
                return Err(refuse(format!(
                    "split '{}' sample {}: label {l} does not fit in an IDX label byte (0..=255)",
                    split.name(),
                    split.id(i)
                )));
            }
            match labelled {
                None => labelled = Some(label.is_some()),
                Some(was) if was != label.is_some() => {
                    return Err(refuse(format!(
                        "split '{}' sample {} is {} but earlier samples are {}; an IDX labels file needs a label for every image: label or drop the unlabelled samples first",
                        split.name(),
                        split.id(i),
                        if was { "unlabelled" } else { "labelled" },
                        if was { "labelled" } else { "unlabelled" },
                    )));
                }
                Some(_) => {}
            }
        }
        plan.push((split, stem, labelled.unwrap_or(false)));
    }
    Ok(plan)
}

struct SplitWriter<'a> {
    split: &'a Split,
    dir: &'a Path,
    stem: &'a str,
    labelled: bool,
    /// The one shape of the whole dataset, set by the first sample written.
    shape: &'a mut Option<Shape>,
    skipped: &'a mut Vec<Skipped>,
    /// Raw images file being written (header placeholder first), created at the first sample.
    images: Option<(BufWriter<File>, PathBuf)>,
    labels: Vec<u8>,
    n: usize,
}

impl SplitWriter<'_> {
    fn write_samples(&mut self) -> Result<()> {
        let split = self.split;
        if let (Some(shape), Some(px)) = (split.fixed_shape(), split.source().contiguous_pixels()) {
            if px.len() == shape.len() * split.len() && !split.is_empty() {
                self.check_shape(0, shape)?;
                self.out()?.write_all(px).map_err(|e| self.write_err(e))?;
                self.labels = (0..split.len()).map(|i| label_byte(split, i)).collect();
                self.n = split.len();
                return Ok(());
            }
        }
        for start in (0..split.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(split.len());
            let loaded: Vec<Result<Image>> = (start..end)
                .into_par_iter()
                .map(|i| split.source().load(i))
                .collect();
            for (i, img) in (start..end).zip(loaded) {
                match img {
                    Ok(img) => self.push(i, &img)?,
                    Err(e) => self.skipped.push(Skipped {
                        path: match split.path(i) {
                            Some(p) => p.display().to_string(),
                            None => format!("{}/{}", split.name(), split.id(i)),
                        },
                        reason: e.to_string(),
                    }),
                }
            }
        }
        Ok(())
    }

    fn check_shape(&mut self, i: usize, got: Shape) -> Result<()> {
        let expected = *self.shape.get_or_insert(got);
        if got != expected {
            return Err(DataError::ShapeMismatch {
                split: self.split.name().to_string(),
                record: i as u64,
                expected: (expected.height, expected.width, expected.channels),
                got: (got.height, got.width, got.channels),
            });
        }
        Ok(())
    }

    fn push(&mut self, i: usize, img: &Image) -> Result<()> {
        self.check_shape(i, img.shape())?;
        self.out()?
            .write_all(&img.data)
            .map_err(|e| self.write_err(e))?;
        self.labels.push(label_byte(self.split, i));
        self.n += 1;
        Ok(())
    }

    fn write_err(&self, e: std::io::Error) -> DataError {
        let path = self.images.as_ref().map_or(self.dir, |(_, p)| p.as_path());
        DataError::io(path, "write", e)
    }

    /// The images file, created with a placeholder header on first use (shape is known then).
    fn out(&mut self) -> Result<&mut BufWriter<File>> {
        if self.images.is_none() {
            let rank = header_dims(0, self.shape_now()).len();
            let path = self
                .dir
                .join(format!("{}-images-idx{rank}-ubyte", self.stem));
            let file = File::create(&path).map_err(|e| DataError::io(&path, "create", e))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            w.write_all(&vec![0u8; 4 + 4 * rank])
                .map_err(|e| DataError::io(&path, "write", e))?;
            self.images = Some((w, path));
        }
        Ok(&mut self.images.as_mut().expect("created above").0)
    }

    fn shape_now(&self) -> Shape {
        self.shape.unwrap_or(Shape::new(0, 0, 1))
    }

    /// Writes the real header and the labels file, gzips if asked; returns samples written.
    fn finish(self, gzip: bool) -> Result<usize> {
        let header = idx_header(&header_dims(self.n, self.shape_now()));
        let Some((mut w, path)) = self.images else {
            return Ok(0);
        };
        let file = (|| {
            w.seek(SeekFrom::Start(0))?;
            w.write_all(&header)?;
            let file = w.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            Ok(file)
        })()
        .map_err(|e| DataError::io(&path, "write", e))?;
        drop(file);
        if gzip {
            gzip_file(&path)?;
        }
        if self.labelled {
            let name = format!(
                "{}-labels-idx1-ubyte{}",
                self.stem,
                if gzip { ".gz" } else { "" }
            );
            let lpath = self.dir.join(name);
            let mut bytes = idx_header(&[self.n as u32]);
            bytes.extend_from_slice(&self.labels);
            io::write_atomic(&lpath, |w| {
                if gzip {
                    let mut gz = GzEncoder::new(w, flate2::Compression::default());
                    gz.write_all(&bytes)?;
                    gz.finish().map(drop)
                } else {
                    w.write_all(&bytes)
                }
            })?;
        }
        Ok(self.n)
    }
}

fn label_byte(split: &Split, i: usize) -> u8 {
    // `plan` checked that labels fit in a byte.
    split.label(i).map_or(0, |l| l as u8)
}

fn header_dims(n: usize, s: Shape) -> Vec<u32> {
    if s.channels == 1 {
        vec![n as u32, s.height, s.width]
    } else {
        vec![n as u32, s.height, s.width, s.channels as u32]
    }
}

fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut h = vec![0, 0, DTYPE_U8, dims.len() as u8];
    for d in dims {
        h.extend_from_slice(&d.to_be_bytes());
    }
    h
}

/// Replaces `path` by `path.gz`.
fn gzip_file(path: &Path) -> Result<()> {
    let mut gz_name = path.as_os_str().to_owned();
    gz_name.push(".gz");
    let gz_path = PathBuf::from(gz_name);
    let mut src = BufReader::with_capacity(
        1 << 20,
        File::open(path).map_err(|e| DataError::io(path, "open", e))?,
    );
    io::write_atomic(&gz_path, |w| {
        let mut gz = GzEncoder::new(w, flate2::Compression::default());
        std::io::copy(&mut src, &mut gz)?;
        gz.finish().map(drop)
    })?;
    std::fs::remove_file(path).map_err(|e| DataError::io(path, "remove", e))
}
