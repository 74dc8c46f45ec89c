//! The output folder of an analysis: built under a temporary name and renamed into place at the
//! end, so an interrupted run leaves nothing half-written under the final name. An existing
//! folder is replaced only when asked (`force`), only if it is an earlier dlscope output (or
//! empty), and never when it overlaps an input.

use std::path::{Path, PathBuf};

use dlscope_data::io::{refuse_input_overlap, AtomicDir};

use crate::error::{ReportError, Result};

/// Files that mark a folder as a dlscope analysis output (any one is enough).
const MARKERS: [&str; 4] = ["report.json", "findings.csv", "features.csv", "report.html"];

/// An output folder being written; see [`OutDir::create`].
pub struct OutDir {
    dir: AtomicDir,
    /// The existing folder the result replaces on commit (when forced).
    replace: Option<PathBuf>,
}

impl OutDir {
    /// Starts an output folder at `target`. Refuses a target that overlaps one of `inputs`
    /// (is, contains or lies inside one), even with `force`. An existing target is refused
    /// unless `force`; then it must be a folder that is empty or holds an earlier dlscope output
    /// (`report.json`, `findings.csv`, `features.csv`, `report.html` or a `shard-*` file), and it
    /// is replaced only when the new output is complete.
    pub fn create(target: &Path, inputs: &[&Path], force: bool) -> Result<OutDir> {
        refuse_input_overlap(target, inputs)?;
        let refuse = |why: &str| ReportError::Refused {
            path: target.to_path_buf(),
            why: why.to_string(),
        };
        let meta = std::fs::symlink_metadata(target);
        let Ok(meta) = meta else {
            return Ok(OutDir {
                dir: AtomicDir::new(target)?,
                replace: None,
            });
        };
        if !force {
            return Err(refuse(
                "it already exists (pass --force to replace an earlier dlscope output)",
            ));
        }
        if !meta.is_dir() {
            return Err(refuse(
                "it exists and is not a folder; --force only replaces output folders",
            ));
        }
        if !looks_like_output(target)? {
            return Err(refuse(
                "it is a non-empty folder without report.json, findings.csv, features.csv or \
                 shard files, so it is not an earlier dlscope output; remove it yourself or \
                 choose another --out",
            ));
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let staging = sibling(
            target,
            &format!(".{name}.dlscope-new-{}", std::process::id()),
        );
        Ok(OutDir {
            dir: AtomicDir::new(&staging)?,
            replace: Some(target.to_path_buf()),
        })
    }

    /// Where to write the files now.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Moves the finished folder into place (replacing the old one when forced) and returns
    /// its final path.
    pub fn commit(self) -> Result<PathBuf> {
        let staged = self.dir.commit()?;
        let Some(target) = self.replace else {
            return Ok(staged);
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let old = sibling(
            &target,
            &format!(".{name}.dlscope-old-{}", std::process::id()),
        );
        std::fs::rename(&target, &old)
            .map_err(|e| ReportError::io(&target, "move old output aside", e))?;
        if let Err(e) = std::fs::rename(&staged, &target) {
            // Put the old output back; the new one stays beside it under its staging name.
            let _ = std::fs::rename(&old, &target);
            return Err(ReportError::io(&target, "rename new output into place", e));
        }
        std::fs::remove_dir_all(&old).map_err(|e| ReportError::io(&old, "remove old output", e))?;
        Ok(target)
    }
}

fn sibling(target: &Path, name: &str) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(name),
        _ => PathBuf::from(name),
    }
}

fn looks_like_output(dir: &Path) -> Result<bool> {
    let entries = std::fs::read_dir(dir).map_err(|e| ReportError::io(dir, "list", e))?;
    let mut empty = true;
    for e in entries {
        let e = e.map_err(|e| ReportError::io(dir, "list", e))?;
        empty = false;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if MARKERS.contains(&name.as_ref()) || name.starts_with("shard-") {
            return Ok(true);
        }
    }
    Ok(empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_existing_unless_forced_and_keeps_foreign_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("data");
        std::fs::create_dir(&input).unwrap();
        std::fs::write(input.join("a.png"), b"x").unwrap();

        // Inside the input, or the input itself: refused even with force.
        assert!(OutDir::create(&input.join("out"), &[&input], true).is_err());
        assert!(OutDir::create(&input, &[&input], true).is_err());
        assert!(std::fs::read(input.join("a.png")).unwrap() == b"x");

        let out = tmp.path().join("out");
        let d = OutDir::create(&out, &[&input], false).unwrap();
        std::fs::write(d.path().join("report.json"), b"1").unwrap();
        assert!(!out.exists(), "nothing under the final name before commit");
        d.commit().unwrap();
        assert_eq!(std::fs::read(out.join("report.json")).unwrap(), b"1");

        assert!(OutDir::create(&out, &[&input], false).is_err());
        let d = OutDir::create(&out, &[&input], true).unwrap();
        std::fs::write(d.path().join("report.json"), b"2").unwrap();
        assert_eq!(std::fs::read(out.join("report.json")).unwrap(), b"1");
        d.commit().unwrap();
        assert_eq!(std::fs::read(out.join("report.json")).unwrap(), b"2");
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 2, "{leftovers:?}");

        // A folder that is not a dlscope output is never replaced.
        let other = tmp.path().join("photos");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("keep.txt"), b"k").unwrap();
        assert!(OutDir::create(&other, &[&input], true).is_err());
        assert_eq!(std::fs::read(other.join("keep.txt")).unwrap(), b"k");
    }
}
