//! The IDX header: `00 00 <dtype> <rank>` then `rank` big-endian u32 sizes, then the data.
//! Parsing checks every size against the bytes actually present before anything is used.

use std::path::Path;

use crate::error::{DataError, Result};

/// Element type code of unsigned bytes, the only one image/label files use.
pub const DTYPE_U8: u8 = 0x08;

/// Largest single record (one image) accepted: 2 GiB. No real IDX image comes near this; a
/// header that claims more is corrupt, and saying so beats a confusing length error.
pub const MAX_RECORD_BYTES: u64 = i32::MAX as u64;

/// A validated IDX header of a `u8` file: its sizes, outermost (record count) first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub dims: Vec<u32>,
}

impl Header {
    /// Bytes before the data: 4 for magic, 4 per dimension.
    pub fn data_offset(&self) -> usize {
        4 + 4 * self.dims.len()
    }
    /// Number of records (the first dimension).
    pub fn count(&self) -> usize {
        self.dims.first().copied().unwrap_or(0) as usize
    }
}

fn dtype_name(code: u8) -> &'static str {
    match code {
        0x08 => "u8",
        0x09 => "i8",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => "unknown",
    }
}

/// Parses the header at the start of `bytes` (the whole file) and checks that the file holds
/// exactly the data it declares: zero or overflowing sizes, records over
/// [`MAX_RECORD_BYTES`], truncated and over-long files are all errors naming `path`.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Header> {
    let bad = |what: String| DataError::BadHeader {
        path: path.to_path_buf(),
        what,
    };
    if bytes.iter().take(2).any(|&b| b != 0) {
        return Err(bad(format!(
            "magic number starts {:02x?}, but IDX files start with 00 00 (not an IDX file, or still compressed with something other than gzip)",
            &bytes[..bytes.len().min(4)]
        )));
    }
    if bytes.len() < 4 {
        return Err(DataError::BadLength {
            path: path.to_path_buf(),
            expected: 4,
            actual: bytes.len() as u64,
            why: "too short for the 4-byte IDX magic number",
        });
    }
    if bytes[2] != DTYPE_U8 {
        return Err(bad(format!(
            "element type 0x{:02x} ({}) is not supported; image and label files hold unsigned bytes (0x08)",
            bytes[2],
            dtype_name(bytes[2])
        )));
    }
    let rank = bytes[3] as usize;
    if rank == 0 {
        return Err(bad("rank 0: the file declares no dimensions".into()));
    }
    let offset = 4 + 4 * rank;
    if bytes.len() < offset {
        return Err(DataError::BadLength {
            path: path.to_path_buf(),
            expected: offset as u64,
            actual: bytes.len() as u64,
            why: "the header's list of dimensions is cut short",
        });
    }
    let dims: Vec<u32> = bytes[4..offset]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let dims64 = || dims.iter().map(|&d| d as u64).collect::<Vec<_>>();
    let bad_dims = |why| DataError::BadDims {
        path: path.to_path_buf(),
        dims: dims64(),
        why,
    };
    if dims.contains(&0) {
        return Err(bad_dims("a dimension is zero, so the file holds no data"));
    }
    let product = |ds: &[u32]| {
        ds.iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
    };
    let record = product(&dims[1..])
        .filter(|&r| r <= MAX_RECORD_BYTES)
        .ok_or_else(|| bad_dims("one record would be over 2 GiB"))?;
    let total = record
        .checked_mul(dims[0] as u64)
        .and_then(|d| d.checked_add(offset as u64))
        .ok_or_else(|| bad_dims("the sizes multiply past 2^64 bytes"))?;
    let actual = bytes.len() as u64;
    if total != actual {
        return Err(DataError::BadLength {
            path: path.to_path_buf(),
            expected: total,
            actual,
            why: if actual < total {
                "the file is truncated: header x dimensions needs more bytes"
            } else {
                "trailing bytes after the last record the header declares"
            },
        });
    }
    Ok(Header { dims })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rank_dims: &[u32], data_len: usize) -> Vec<u8> {
        let mut v = vec![0, 0, DTYPE_U8, rank_dims.len() as u8];
        for d in rank_dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.resize(v.len() + data_len, 7);
        v
    }

    #[test]
    fn parses_sizes_and_offset() {
        let h = parse(&file(&[2, 3, 4], 24), Path::new("x")).unwrap();
        assert_eq!(h.dims, vec![2, 3, 4]);
        assert_eq!(h.data_offset(), 16);
        assert_eq!(h.count(), 2);
    }

    #[test]
    fn length_must_match_exactly() {
        for len in [23, 25] {
            let e = parse(&file(&[2, 3, 4], len), Path::new("x")).unwrap_err();
            assert!(
                matches!(e, DataError::BadLength { expected: 40, .. }),
                "{e}"
            );
        }
    }

    #[test]
    fn absurd_and_zero_dims() {
        let e = parse(&file(&[1, 1 << 31, 1 << 31], 0), Path::new("x")).unwrap_err();
        assert!(matches!(e, DataError::BadDims { .. }), "{e}");
        let e = parse(&file(&[u32::MAX, 1 << 30, 1 << 30, 4], 0), Path::new("x")).unwrap_err();
        assert!(matches!(e, DataError::BadDims { .. }), "{e}");
        let e = parse(&file(&[3, 0, 4], 0), Path::new("x")).unwrap_err();
        assert!(matches!(e, DataError::BadDims { .. }), "{e}");
    }

    #[test]
    fn short_files() {
        assert!(matches!(
            parse(&[0, 0], Path::new("x")),
            Err(DataError::BadLength { .. })
        ));
        assert!(matches!(
            parse(&[0, 0, 8, 3, 0, 0, 0, 1], Path::new("x")),
            Err(DataError::BadLength { expected: 16, .. })
        ));
        assert!(matches!(
            parse(&[0x1f, 0x8b, 8, 0], Path::new("x")),
            Err(DataError::BadHeader { .. })
        ));
    }
}
