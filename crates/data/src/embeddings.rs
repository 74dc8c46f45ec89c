//! Reading the embeddings `dlscope embed` writes: a safetensors file with `embeddings` F32
//! `[n, dim]` (row `r` for one sample), plus `<stem>.ids.csv` beside it listing
//! `row,split,id,label` for every row. Any consumer (clustering, reduction, label probes, the
//! analysis) lines the rows up with a dataset's splits through [`Embeddings::for_split`].
//!
//! ```no_run
//! # fn main() -> dlscope_data::error::Result<()> {
//! let ds = dlscope_data::open("fashion-mnist")?;
//! let emb = dlscope_data::embeddings::Embeddings::read("emb.safetensors".as_ref())?;
//! let x = emb.for_split(ds.split("test")?)?; // n_test x emb.dim, row i = sample i
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::Split;

/// An embeddings file held in memory.
#[derive(Debug, Clone)]
pub struct Embeddings {
    /// The safetensors file it was read from.
    pub path: PathBuf,
    /// Values per row.
    pub dim: usize,
    /// `rows x dim`, row-major.
    pub data: Vec<f32>,
    /// `(split, id)` of each row, from the ids CSV (`None` for rows it does not list).
    pub ids: Vec<Option<(String, String)>>,
}

fn bad(path: &Path, why: impl Into<String>) -> DataError {
    DataError::Embeddings {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// The ids CSV beside an embeddings file: `emb.safetensors` -> `emb.ids.csv`.
pub fn ids_path(path: &Path) -> PathBuf {
    path.with_extension("ids.csv")
}

impl Embeddings {
    /// Reads `path` and its ids CSV.
    pub fn read(path: &Path) -> Result<Embeddings> {
        let bytes = std::fs::read(path).map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            op: "read",
            source: e,
        })?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(path, format!("not a safetensors file: {e}")))?;
        let t = st.tensor("embeddings").map_err(|_| {
            bad(
                path,
                "no 'embeddings' tensor (write it with `dlscope embed`)",
            )
        })?;
        if t.dtype() != safetensors::Dtype::F32 || t.shape().len() != 2 {
            return Err(bad(
                path,
                format!(
                    "'embeddings' is {:?} {:?}, expected F32 [n, dim]",
                    t.dtype(),
                    t.shape()
                ),
            ));
        }
        let (rows, dim) = (t.shape()[0], t.shape()[1]);
        let data: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(r) = data.iter().position(|v| !v.is_finite()) {
            return Err(bad(
                path,
                format!("row {} holds a non-finite value", r / dim.max(1)),
            ));
        }
        let ids_file = ids_path(path);
        let mut reader =
            csv::Reader::from_path(&ids_file).map_err(|e| bad(&ids_file, e.to_string()))?;
        let mut ids = vec![None; rows];
        for (line, rec) in reader.records().enumerate() {
            let line = line as u64 + 2;
            let rec = rec.map_err(|e| DataError::Manifest {
                path: ids_file.clone(),
                line,
                what: e.to_string(),
            })?;
            let (Some(row), Some(split), Some(id)) = (rec.get(0), rec.get(1), rec.get(2)) else {
                return Err(DataError::Manifest {
                    path: ids_file.clone(),
                    line,
                    what: "expected row,split,id,label".into(),
                });
            };
            let row: usize =
                row.parse()
                    .ok()
                    .filter(|&r| r < rows)
                    .ok_or_else(|| DataError::Manifest {
                        path: ids_file.clone(),
                        line,
                        what: format!("row '{row}' is not below {rows}"),
                    })?;
            ids[row] = Some((split.to_string(), id.to_string()));
        }
        Ok(Embeddings {
            path: path.to_path_buf(),
            dim,
            data,
            ids,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.ids.len()
    }

    /// The embedding of every sample of `split`, row `i` for sample `i` (`split.len() x dim`).
    /// An error names the first sample that has no embedding, or an id the split lacks.
    pub fn for_split(&self, split: &Split) -> Result<Vec<f32>> {
        let wanted: HashMap<String, usize> = (0..split.len())
            .map(|i| (split.id(i).to_string(), i))
            .collect();
        let dim = self.dim;
        let mut out = vec![0f32; split.len() * dim];
        let mut seen = vec![false; split.len()];
        for (row, entry) in self.ids.iter().enumerate() {
            let Some((s, id)) = entry else { continue };
            if s != split.name() {
                continue;
            }
            let Some(&i) = wanted.get(id) else {
                return Err(bad(
                    &ids_path(&self.path),
                    format!("row {row}: split '{s}' has no sample '{id}'"),
                ));
            };
            out[i * dim..(i + 1) * dim].copy_from_slice(&self.data[row * dim..(row + 1) * dim]);
            seen[i] = true;
        }
        if let Some(missing) = seen.iter().position(|s| !s) {
            return Err(bad(
                &self.path,
                format!(
                    "split '{}': sample {missing} ('{}') has no embedding",
                    split.name(),
                    split.id(missing)
                ),
            ));
        }
        Ok(out)
    }
}
