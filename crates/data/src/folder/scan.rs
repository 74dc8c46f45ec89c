//! Listing an image folder: splits, class folders and image files, without decoding anything.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::source::{path_bytes, split_order, FileSource, PathList, NO_LABEL};
use super::{is_image_name, SPLIT_NAMES, UNLABELLED_DIR};
use crate::dataset::{Dataset, Format, Skipped, Split};
use crate::error::{DataError, Result};

/// What a folder entry is (after following symlinks).
enum Kind {
    Dir,
    File,
}

struct Entry {
    name: std::ffi::OsString,
    path: PathBuf,
    kind: Kind,
}

/// A class folder (or the split root's loose files) with its image paths, relative to the root.
struct Group {
    class: Option<String>,
    paths: PathList,
}

/// Context shared by the listing of one dataset.
struct Lister<'a> {
    root: &'a Path,
}

impl Lister<'_> {
    fn rel(&self, p: &Path) -> String {
        match p.strip_prefix(self.root) {
            Ok(r) if r.as_os_str().is_empty() => ".".into(),
            Ok(r) => r.to_string_lossy().into_owned(),
            Err(_) => p.to_string_lossy().into_owned(),
        }
    }

    fn skip(&self, p: &Path, reason: impl Into<String>) -> Skipped {
        Skipped {
            path: self.rel(p),
            reason: reason.into(),
        }
    }

    /// Non-hidden entries of `dir`, with symlinks followed. Entries that cannot be examined
    /// become `Skipped`.
    fn entries(&self, dir: &Path, skipped: &mut Vec<Skipped>) -> std::io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir)? {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    skipped.push(self.skip(dir, format!("cannot read folder entry: {err}")));
                    continue;
                }
            };
            let name = e.file_name();
            if is_hidden(&name) {
                continue;
            }
            let path = e.path();
            // The entry's own type costs no system call; only symlinks need a stat to follow.
            let ft = match e.file_type() {
                Ok(ft) if !ft.is_symlink() => Ok(ft),
                _ => std::fs::metadata(&path).map(|m| m.file_type()),
            };
            match ft {
                Ok(m) if m.is_dir() => out.push(Entry {
                    name,
                    path,
                    kind: Kind::Dir,
                }),
                Ok(m) if m.is_file() => out.push(Entry {
                    name,
                    path,
                    kind: Kind::File,
                }),
                Ok(_) => skipped.push(self.skip(&path, "not a regular file or folder")),
                Err(err) => skipped.push(self.skip(&path, format!("cannot stat: {err}"))),
            }
        }
        out.sort_by(|a, b| path_bytes(&a.path).cmp(&path_bytes(&b.path)));
        Ok(out)
    }

    /// Lists one split folder: its loose images (unlabelled) and its class folders.
    fn split(&self, dir: &Path, skipped: &mut Vec<Skipped>) -> Vec<Group> {
        let entries = match self.entries(dir, skipped) {
            Ok(e) => e,
            Err(err) => {
                skipped.push(self.skip(dir, format!("cannot read folder: {err}")));
                return Vec::new();
            }
        };
        let canon_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut loose = PathList::default();
        let mut classes = Vec::new();
        for e in entries {
            match e.kind {
                Kind::File if is_image_name(&e.name) => push_rel(&mut loose, self.root, &e.path),
                Kind::File => skipped.push(self.skip(&e.path, "not an image extension")),
                Kind::Dir => match std::fs::canonicalize(&e.path) {
                    Ok(c) if canon_dir.starts_with(&c) => skipped.push(self.skip(
                        &e.path,
                        format!("symlink loop: points back to {}", c.display()),
                    )),
                    Ok(c) => classes.push((e, c)),
                    Err(err) => skipped.push(self.skip(&e.path, format!("cannot resolve: {err}"))),
                },
            }
        }
        let walked: Vec<(Group, Vec<Skipped>)> = classes
            .into_par_iter()
            .map(|(e, canon)| {
                let mut sk = Vec::new();
                let paths = self.walk_class(&e.path, &canon, &mut sk);
                let class =
                    (e.name != UNLABELLED_DIR).then(|| e.name.to_string_lossy().into_owned());
                (Group { class, paths }, sk)
            })
            .collect();
        let mut groups = vec![Group {
            class: None,
            paths: loose,
        }];
        for (g, sk) in walked {
            groups.push(g);
            skipped.extend(sk);
        }
        groups
    }

    /// All image files at any depth below one class folder.
    fn walk_class(&self, dir: &Path, canon: &Path, skipped: &mut Vec<Skipped>) -> PathList {
        let mut paths = PathList::default();
        let mut it = walkdir::WalkDir::new(dir)
            .follow_links(true)
            .min_depth(1)
            .into_iter()
            .filter_entry(|e| !is_hidden(e.file_name()));
        while let Some(item) = it.next() {
            let e = match item {
                Ok(e) => e,
                Err(err) => {
                    let p = err.path().unwrap_or(dir).to_path_buf();
                    let reason = match (err.loop_ancestor(), err.io_error()) {
                        (Some(a), _) => format!("symlink loop: points back to {}", a.display()),
                        (None, Some(io)) => format!("cannot read: {io}"),
                        (None, None) => err.to_string(),
                    };
                    skipped.push(self.skip(&p, reason));
                    continue;
                }
            };
            let ft = e.file_type();
            if ft.is_dir() {
                // walkdir catches loops to folders inside this walk; a link up to the class
                // folder's own ancestors (the split or dataset root) is caught here.
                if e.path_is_symlink() {
                    if let Ok(c) = std::fs::canonicalize(e.path()) {
                        if canon.starts_with(&c) {
                            skipped.push(self.skip(
                                e.path(),
                                format!("symlink loop: points back to {}", c.display()),
                            ));
                            it.skip_current_dir();
                        }
                    }
                }
            } else if ft.is_file() {
                if is_image_name(e.file_name()) {
                    push_rel(&mut paths, self.root, e.path());
                } else {
                    skipped.push(self.skip(e.path(), "not an image extension"));
                }
            } else {
                skipped.push(self.skip(e.path(), "not a regular file or folder"));
            }
        }
        paths
    }
}

fn push_rel(list: &mut PathList, root: &Path, p: &Path) {
    list.push(p.strip_prefix(root).unwrap_or(p));
}

fn is_hidden(name: &OsStr) -> bool {
    path_bytes(Path::new(name)).first() == Some(&b'.')
}

/// Lists an image folder into a [`Dataset`] (see the module docs for the layout rules).
pub(crate) fn list(root: &Path) -> Result<Dataset> {
    let meta = std::fs::metadata(root).map_err(|e| DataError::io(root, "open folder", e))?;
    if !meta.is_dir() {
        return Err(DataError::UnknownFormat {
            path: root.to_path_buf(),
            why: "not a folder".into(),
        });
    }
    let lister = Lister { root };
    let mut skipped = Vec::new();
    let top = lister
        .entries(root, &mut skipped)
        .map_err(|e| DataError::io(root, "read folder", e))?;
    let dirs: Vec<&Entry> = top.iter().filter(|e| matches!(e.kind, Kind::Dir)).collect();
    let is_split = |e: &Entry| {
        e.name
            .to_str()
            .is_some_and(|n| SPLIT_NAMES.iter().any(|s| s.eq_ignore_ascii_case(n)))
    };
    let split_layout = !dirs.is_empty() && dirs.iter().all(|e| is_split(e));

    let mut splits: Vec<(String, Vec<Group>)> = Vec::new();
    if split_layout {
        let names: Vec<String> = dirs
            .iter()
            .map(|e| e.name.to_string_lossy().into_owned())
            .collect();
        for e in &top {
            if matches!(e.kind, Kind::File) {
                let reason = if is_image_name(&e.name) {
                    format!("image outside the split folders ({})", names.join(", "))
                } else {
                    "not an image extension".to_string()
                };
                skipped.push(lister.skip(&e.path, reason));
            }
        }
        for e in dirs {
            let groups = lister.split(&e.path, &mut skipped);
            splits.push((e.name.to_string_lossy().into_owned(), groups));
        }
    } else {
        splits.push(("train".into(), lister.split(root, &mut skipped)));
    }
    splits.sort_by(|a, b| split_order(&a.0, &b.0));

    let classes: Vec<String> = splits
        .iter()
        .flat_map(|(_, groups)| groups.iter().filter_map(|g| g.class.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let base = Arc::new(root.to_path_buf());
    let mut total = 0;
    let splits: Vec<Split> = splits
        .into_iter()
        .map(|(name, groups)| {
            let mut paths = PathList::default();
            let mut labels = Vec::new();
            for g in &groups {
                let label = match &g.class {
                    Some(c) => classes.binary_search(c).map_or(NO_LABEL, |i| i as u32),
                    None => NO_LABEL,
                };
                paths.extend(&g.paths);
                labels.resize(paths.len(), label);
            }
            let order = paths.sorted_order();
            let labels: Vec<u32> = order.iter().map(|&i| labels[i]).collect();
            total += labels.len();
            let source = FileSource::new(base.clone(), paths.permuted(&order), labels);
            Split::new(name, Box::new(source))
        })
        .collect();
    skipped.sort_by(|a, b| a.path.cmp(&b.path).then_with(|| a.reason.cmp(&b.reason)));
    if total == 0 {
        let why = match skipped.first() {
            Some(s) => format!(
                "no image files found; {} entries skipped, e.g. {}: {}",
                skipped.len(),
                s.path,
                s.reason
            ),
            None => "no image files found".into(),
        };
        return Err(DataError::UnknownFormat {
            path: root.to_path_buf(),
            why,
        });
    }
    Ok(Dataset {
        name: root.display().to_string(),
        format: Format::Folder,
        root: root.to_path_buf(),
        classes,
        splits,
        skipped,
    })
}
