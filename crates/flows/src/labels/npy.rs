//! The `.npy` format (version 1.0) for the probability matrix: written as little-endian
//! float32 C-order `n x k`; read from float32 or float64.

use std::path::Path;

use super::LabelsFlowError;

fn bad(path: &Path, why: impl Into<String>) -> LabelsFlowError {
    LabelsFlowError::Npy {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// The bytes of an `n x k` float32 `.npy` file.
pub fn encode_f32(values: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + values.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    Some(rest)
}

/// Reads a 2-D float32/float64 C-order `.npy` file: `(values as f32, rows, cols)`.
pub fn read_matrix(path: &Path) -> Result<(Vec<f32>, usize, usize), LabelsFlowError> {
    let bytes = std::fs::read(path).map_err(|e| LabelsFlowError::Io {
        path: path.to_path_buf(),
        op: "read",
        source: e,
    })?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad(path, "not a .npy file (magic \\x93NUMPY missing)"));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(path, format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad(path, "truncated or non-text header"))?;
    let descr = field(header, "descr").ok_or_else(|| bad(path, "header has no 'descr'"))?;
    let width = if descr.starts_with("'<f4'") {
        4
    } else if descr.starts_with("'<f8'") {
        8
    } else {
        return Err(bad(
            path,
            format!(
                "dtype {} is not little-endian float32 or float64",
                descr.split(',').next().unwrap_or("?")
            ),
        ));
    };
    if !field(header, "fortran_order").is_some_and(|f| f.starts_with("False")) {
        return Err(bad(
            path,
            "Fortran-order arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape = field(header, "shape").ok_or_else(|| bad(path, "header has no 'shape'"))?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad(path, "malformed shape"))?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad(path, format!("malformed shape ({inner})")))?;
    let [rows, cols] = dims[..] else {
        return Err(bad(
            path,
            format!("shape ({inner}) is not 2-D (samples, classes)"),
        ));
    };
    let data = &bytes[start + hlen..];
    let need = rows
        .checked_mul(cols)
        .and_then(|c| c.checked_mul(width))
        .ok_or_else(|| bad(path, "shape too large"))?;
    if data.len() != need {
        return Err(bad(
            path,
            format!(
                "data is {} bytes but shape ({rows}, {cols}) needs {need}",
                data.len()
            ),
        ));
    }
    let values = if width == 4 {
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect()
    };
    Ok((values, rows, cols))
}
