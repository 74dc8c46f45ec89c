//! Shared file plumbing: reading raw-or-gzip files (memory-mapped when raw), and atomic writes
//! (temp file or temp folder + rename) that never overwrite an input.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// File contents: memory-mapped when the file is stored raw, decompressed into memory when gzip.
pub enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.len())
    }
}

/// True if `bytes` start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
}

/// Opens a file that may be gzip-compressed (detected by its magic number, not its name).
/// Raw files are memory-mapped; gzip files are decompressed, with corrupt data reported as
/// [`DataError::Corrupt`] naming the file.
pub fn open_maybe_gz(path: &Path) -> Result<Bytes> {
    let file = File::open(path).map_err(|e| DataError::io(path, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| DataError::io(path, "stat", e))?
        .len();
    if len == 0 {
        return Ok(Bytes::Owned(Vec::new()));
    }
    // SAFETY: the map is read-only; dlscope never writes to its inputs. A file truncated by
    // another process while mapped can raise SIGBUS, as with any mmap-based reader.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| DataError::io(path, "mmap", e))?;
    if !is_gzip(&map) {
        return Ok(Bytes::Mapped(map));
    }
    let mut out = Vec::with_capacity((len as usize).saturating_mul(4).min(1 << 30));
    flate2::read::MultiGzDecoder::new(&map[..])
        .read_to_end(&mut out)
        .map_err(|e| DataError::Corrupt {
            path: path.to_path_buf(),
            kind: "gzip",
            source: e,
        })?;
    Ok(Bytes::Owned(out))
}

/// Reads a whole file into memory.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| DataError::io(path, "read", e))
}

/// Refuses `out` when it is, contains or sits inside one of `inputs` (after resolving both),
/// so a writer can never overwrite or nest into the data it reads.
pub fn refuse_input_overlap(out: &Path, inputs: &[&Path]) -> Result<()> {
    let resolve = |p: &Path| -> PathBuf {
        // The output may not exist yet: resolve its parent and keep the last component.
        std::fs::canonicalize(p).unwrap_or_else(|_| match (p.parent(), p.file_name()) {
            (Some(parent), Some(name)) => std::fs::canonicalize(if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            })
            .map(|d| d.join(name))
            .unwrap_or_else(|_| p.to_path_buf()),
            _ => p.to_path_buf(),
        })
    };
    let o = resolve(out);
    for input in inputs {
        let i = resolve(input);
        if o == i || o.starts_with(&i) || i.starts_with(&o) {
            return Err(DataError::Refused {
                path: out.to_path_buf(),
                why: format!("it overlaps the input {}", input.display()),
            });
        }
    }
    Ok(())
}

/// Writes a file atomically: `write` fills a temp file in the same folder, which is renamed over
/// `path` only when `write` succeeded. On error the temp file is removed and `path` is untouched.
pub fn write_atomic<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".dlscope-tmp-")
        .tempfile_in(dir)
        .map_err(|e| DataError::io(dir, "create temp file in", e))?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        write(&mut w).map_err(|e| DataError::io(path, "write", e))?;
        w.flush().map_err(|e| DataError::io(path, "write", e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| DataError::io(path, "sync", e))?;
    // Temp files are created 0600; an output is an ordinary file, readable like any other.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(path)
        .map_err(|e| DataError::io(path, "rename into place", e.error))?;
    Ok(())
}

/// Prefix of the temporary folders [`AtomicDir`] builds `target` under:
/// `.dlscope-partial-<target name>-`.
pub fn partial_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".dlscope-partial-{name}-")
}

/// Removes the temporary folders an interrupted (killed) writer of `target` left beside it, so a
/// rerun starts clean. Only folders named with [`partial_prefix`] of this target are touched.
/// Returns what was removed.
pub fn remove_stale_partials(target: &Path) -> Result<Vec<PathBuf>> {
    let parent = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = partial_prefix(target);
    let mut removed = Vec::new();
    let Ok(rd) = std::fs::read_dir(parent) else {
        return Ok(removed);
    };
    for e in rd.flatten() {
        let stale = e.file_name().to_str().is_some_and(|n| {
            n.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.contains('-') && !rest.is_empty())
        });
        if stale && e.path().is_dir() {
            let p = e.path();
            std::fs::remove_dir_all(&p).map_err(|err| DataError::io(&p, "remove stale", err))?;
            removed.push(p);
        }
    }
    Ok(removed)
}

/// A folder built under a temporary name beside its final place and renamed into place by
/// [`AtomicDir::commit`]. Dropped without commit, it is removed, so an interrupted writer leaves
/// nothing under the final name.
pub struct AtomicDir {
    tmp: Option<tempfile::TempDir>,
    target: PathBuf,
}

impl AtomicDir {
    /// Starts a new output folder. Fails if `target` already exists (outputs are never merged
    /// into or overwrite existing data).
    pub fn new(target: &Path) -> Result<Self> {
        if target.exists() {
            return Err(DataError::Refused {
                path: target.to_path_buf(),
                why: "it already exists; choose a new output path or remove it".into(),
            });
        }
        let parent = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, "create folder", e))?;
        let tmp = tempfile::Builder::new()
            .prefix(&partial_prefix(target))
            .tempdir_in(parent)
            .map_err(|e| DataError::io(parent, "create temp folder in", e))?;
        Ok(AtomicDir {
            tmp: Some(tmp),
            target: target.to_path_buf(),
        })
    }
    /// Where to write the contents now.
    pub fn path(&self) -> &Path {
        self.tmp.as_ref().map(|t| t.path()).unwrap_or(&self.target)
    }
    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }
    /// Renames the finished folder into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        let tmp = self.tmp.take().expect("commit called once");
        let src = tmp.keep();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o755));
        }
        std::fs::rename(&src, &self.target).map_err(|e| {
            let _ = std::fs::remove_dir_all(&src);
            DataError::io(&self.target, "rename folder into place", e)
        })?;
        Ok(self.target.clone())
    }
}
