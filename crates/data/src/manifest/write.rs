//! Writing any dataset as a CSV manifest (plus PNG files for in-memory formats).

use std::path::Path;

use rayon::prelude::*;

use crate::dataset::{Dataset, Skipped, Written};
use crate::error::{DataError, Result};
use crate::folder::source::path_bytes;
use crate::folder::write::{sample_name, skipped_sample, unique_names};
use crate::folder::ImageFormat;
use crate::io::{refuse_input_overlap, AtomicDir};

/// Name of the CSV file inside the output folder.
pub const MANIFEST_FILE: &str = "manifest.csv";

/// One CSV row to write: path bytes, class name, split name; `png` is set when the image must
/// be written first (split index, sample index).
struct Row {
    path: Vec<u8>,
    label: String,
    split: usize,
    png: Option<usize>,
}

/// Writes `ds` as the new folder `out` holding `manifest.csv` (`path,label,split`, label = class
/// name, empty when unlabelled).
///
/// File-backed samples (those with [`crate::Split::path`]) are referenced by absolute path and
/// not copied. In-memory samples (IDX, CIFAR) are written as `images/<split>/<index>.png` and
/// referenced relative to the CSV. Samples that cannot be decoded, or whose label is outside the
/// class list, are skipped and listed in [`Written::skipped`]. Built under a temporary name and
/// renamed into place; `out` must not exist and must not overlap the input.
pub fn write(ds: &Dataset, out: &Path) -> Result<Written> {
    refuse_input_overlap(out, &[&ds.root])?;
    let dir = AtomicDir::new(out)?;
    let split_dirs = unique_names(ds.splits.iter().map(|s| s.name()), &[]);
    let mut rows: Vec<Row> = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    for (s, split) in ds.splits.iter().enumerate() {
        let width = split.len().saturating_sub(1).to_string().len();
        let mut made_dir = false;
        for i in 0..split.len() {
            let label = match split.label(i) {
                None => String::new(),
                Some(l) => match ds.classes.get(l as usize) {
                    Some(name) => name.clone(),
                    None => {
                        skipped.push(Skipped {
                            path: sample_name(split, i),
                            reason: format!(
                                "label {l} is outside the class list ({} classes)",
                                ds.classes.len()
                            ),
                        });
                        continue;
                    }
                },
            };
            let (path, png) = match split.path(i) {
                Some(p) => {
                    let abs =
                        std::path::absolute(&p).map_err(|e| DataError::io(&p, "resolve", e))?;
                    (path_bytes(&abs).into_owned(), None)
                }
                None => {
                    if !made_dir {
                        let d = dir.path().join("images").join(&split_dirs[s]);
                        std::fs::create_dir_all(&d)
                            .map_err(|e| DataError::io(&d, "create folder", e))?;
                        made_dir = true;
                    }
                    let rel = format!("images/{}/{i:0width$}.png", split_dirs[s]);
                    (rel.into_bytes(), Some(i))
                }
            };
            rows.push(Row {
                path,
                label,
                split: s,
                png,
            });
        }
    }

    // Encode the in-memory samples in parallel; a failed decode drops its row.
    let root = dir.path();
    let outcome: Vec<Option<Skipped>> = rows
        .par_iter()
        .map(|row| -> Result<Option<Skipped>> {
            let Some(i) = row.png else { return Ok(None) };
            let split = &ds.splits[row.split];
            let dest = root.join(String::from_utf8_lossy(&row.path).as_ref());
            let encoded = split.source().load(i).and_then(|img| {
                ImageFormat::Png
                    .encode(&img)
                    .map_err(|reason| DataError::Decode {
                        path: dest.clone(),
                        reason,
                    })
            });
            match encoded {
                Ok(bytes) => {
                    std::fs::write(&dest, bytes).map_err(|e| DataError::io(&dest, "write", e))?;
                    Ok(None)
                }
                Err(e) => Ok(Some(skipped_sample(split, i, &e))),
            }
        })
        .collect::<Result<_>>()?;

    let csv_path = root.join(MANIFEST_FILE);
    let mut samples = 0;
    {
        let file =
            std::fs::File::create(&csv_path).map_err(|e| DataError::io(&csv_path, "create", e))?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
        let werr = |e: csv::Error| DataError::io(&csv_path, "write", std::io::Error::other(e));
        w.write_record(["path", "label", "split"]).map_err(werr)?;
        for (row, skip) in rows.iter().zip(outcome) {
            if let Some(sk) = skip {
                skipped.push(sk);
                continue;
            }
            let split = ds.splits[row.split].name().as_bytes();
            w.write_record([row.path.as_slice(), row.label.as_bytes(), split])
                .map_err(werr)?;
            samples += 1;
        }
        w.flush()
            .map_err(|e| DataError::io(&csv_path, "write", e))?;
    }
    let path = dir.commit()?;
    Ok(Written {
        path,
        samples,
        skipped,
    })
}
