//! Reading the embeddings of `dlscope embed` (safetensors `embeddings` F32 `[n, dim]` plus
//! `<stem>.ids.csv` with `row,split,id,label`) as a feature matrix aligned with a split.

use std::collections::HashMap;
use std::path::Path;

use dlscope_data::Split;

use super::{LabelsFlowError, Result};

fn bad(path: &Path, why: impl Into<String>) -> LabelsFlowError {
    LabelsFlowError::Embeddings {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// The embedding of every sample of `split`, row `i` for sample `i`: `(features, dim)`.
pub fn features_for_split(path: &Path, split: &Split) -> Result<(Vec<f32>, usize)> {
    let bytes = std::fs::read(path).map_err(|e| LabelsFlowError::Io {
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
    let ids = path.with_extension("ids.csv");
    let mut reader = csv::Reader::from_path(&ids).map_err(|e| bad(&ids, e.to_string()))?;
    let wanted: HashMap<String, usize> = (0..split.len())
        .map(|i| (split.id(i).to_string(), i))
        .collect();
    let mut out = vec![f32::NAN; split.len() * dim];
    let mut seen = vec![false; split.len()];
    for (line, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| bad(&ids, format!("line {}: {e}", line + 2)))?;
        let (Some(row), Some(s), Some(id)) = (rec.get(0), rec.get(1), rec.get(2)) else {
            return Err(bad(
                &ids,
                format!("line {}: expected row,split,id,label", line + 2),
            ));
        };
        if s != split.name() {
            continue;
        }
        let row: usize = row.parse().ok().filter(|&r| r < rows).ok_or_else(|| {
            bad(
                &ids,
                format!("line {}: row '{row}' is not below {rows}", line + 2),
            )
        })?;
        let Some(&i) = wanted.get(id) else {
            return Err(bad(
                &ids,
                format!("line {}: split '{s}' has no sample '{id}'", line + 2),
            ));
        };
        out[i * dim..(i + 1) * dim].copy_from_slice(&data[row * dim..(row + 1) * dim]);
        seen[i] = true;
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(LabelsFlowError::Sample {
            split: split.name().to_string(),
            record: missing,
            why: format!("has no embedding in {}", path.display()),
        });
    }
    Ok((out, dim))
}
