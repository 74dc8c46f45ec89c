//! Reading the official CIFAR archives (`.tar.gz`, or a plain `.tar`) in one streaming pass,
//! keeping only the batch and class-name members in memory.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use crate::error::{DataError, Result};
use crate::io::{is_gzip, Bytes};

use super::source::Member;
use super::{Found, Variant};

/// Largest member read into memory: the official batches are 30-155 MB; a header claiming more
/// than this is not a CIFAR archive (and is not allocated).
const MAX_MEMBER: u64 = 1 << 31;

fn open_stream(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|e| DataError::io(path, "open", e))?;
    let mut buf = BufReader::with_capacity(1 << 20, file);
    let head = std::io::BufRead::fill_buf(&mut buf).map_err(|e| DataError::io(path, "read", e))?;
    Ok(if is_gzip(head) {
        Box::new(MultiGzDecoder::new(buf))
    } else {
        Box::new(buf)
    })
}

/// `(variant, file name)` of a member path like `cifar-10-batches-bin/data_batch_1.bin`.
fn classify(member: &str) -> Option<(Variant, &str)> {
    let member = member.strip_prefix("./").unwrap_or(member);
    let (top, rest) = member.split_once('/')?;
    let v = Variant::ALL.into_iter().find(|v| v.archive_dir() == top)?;
    Some((v, rest))
}

/// The variant named by the archive's first member, reading only its first 512-byte header.
pub(crate) fn first_member_variant(path: &Path) -> Option<Variant> {
    let mut header = [0u8; 512];
    open_stream(path).ok()?.read_exact(&mut header).ok()?;
    let field = |r: std::ops::Range<usize>| {
        let f = &header[r];
        let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..end]).into_owned()
    };
    let (prefix, name) = (field(345..500), field(0..100));
    let full = if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    };
    let full = full.strip_prefix("./").unwrap_or(&full);
    Variant::ALL.into_iter().find(|v| {
        full.trim_end_matches('/') == v.archive_dir()
            || classify(full).is_some_and(|(w, _)| w == *v)
    })
}

/// Streams the archive and keeps the members of one CIFAR variant.
pub(crate) fn read(path: &Path) -> Result<Found> {
    let corrupt = |e: std::io::Error| DataError::Corrupt {
        path: path.to_path_buf(),
        kind: "tar archive",
        source: e,
    };
    let mut archive = tar::Archive::new(open_stream(path)?);
    let mut found: Option<Found> = None;
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let member = entry
            .path()
            .map_err(corrupt)?
            .to_string_lossy()
            .into_owned();
        let Some((variant, file)) = classify(&member) else {
            continue;
        };
        let Some((name, is_batch)) = Found::known(variant, file) else {
            continue;
        };
        let f = match &mut found {
            Some(f) if f.variant != variant => {
                return Err(DataError::UnknownFormat {
                    path: path.to_path_buf(),
                    why: "the archive holds both CIFAR-10 and CIFAR-100 members".into(),
                })
            }
            Some(f) => f,
            None => found.insert(Found::new(variant, path.join(variant.archive_dir()))),
        };
        let member_path: PathBuf = path.join(&member);
        let size = entry.size();
        let rec = variant.record_len() as u64;
        if size > MAX_MEMBER || (is_batch && (size == 0 || size % rec != 0)) {
            return Err(DataError::BadLength {
                path: member_path,
                expected: (size / rec + 1) * rec,
                actual: size,
                why: if size > MAX_MEMBER {
                    "a CIFAR archive member over 2 GiB is not a real batch"
                } else {
                    "a CIFAR batch is whole records (label byte(s) + 3072 pixels); the last record is partial"
                },
            });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut bytes).map_err(corrupt)?;
        if bytes.len() as u64 != size {
            return Err(corrupt(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("member {member} ends after {} of {size} bytes", bytes.len()),
            )));
        }
        let m = Member {
            path: member_path,
            bytes: Bytes::Owned(bytes),
        };
        if is_batch {
            f.batches.insert(name, m);
        } else {
            f.names.insert(name, m);
        }
    }
    // Read to the end so gzip's length and CRC trailer are checked too.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink()).map_err(corrupt)?;
    found.ok_or_else(|| DataError::UnknownFormat {
        path: path.to_path_buf(),
        why: "no member under cifar-10-batches-bin/ or cifar-100-binary/ (not an official CIFAR binary archive)".into(),
    })
}
