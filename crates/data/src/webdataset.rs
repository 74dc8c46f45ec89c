//! WebDataset: `.tar` shards named `<split>-000000.tar`, each sample stored as `{key}.png`
//! (or `.jpg`, `.webp`) plus `{key}.cls` (the class index as decimal text), with the class names
//! in `classes.json` beside the shards.
//!
//! ```no_run
//! use dlscope_data::{folder::ImageFormat, webdataset};
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! webdataset::write(&ds, "fm-wds".as_ref(), ImageFormat::Png, 10_000).unwrap();
//! let back = dlscope_data::open("fm-wds").unwrap(); // detected: tar shards
//! assert_eq!(back.len(), ds.len());
//! ```
//!
//! Reading follows the WebDataset convention: a sample's key is its member path up to the first
//! dot of the file name; members with the same key form one sample. A sample needs one image
//! member; `.cls` (or `.cls2`, `.label`) is its label, absent for unlabelled samples. Shards stay
//! memory-mapped and images decode on demand.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, Format, SampleId, SampleSource, Skipped, Split, Written};
use crate::decode::decode_bytes;
use crate::error::{DataError, Result};
use crate::folder::write::{encode_range, unique_names};
use crate::folder::{is_image_name, ImageFormat};
use crate::image::Image;
use crate::io::{open_maybe_gz, refuse_input_overlap, AtomicDir, Bytes};

/// Class names file written beside the shards (a JSON list).
pub const CLASSES_FILE: &str = "classes.json";

/// Default number of samples per shard.
pub const DEFAULT_SHARD_SIZE: usize = 10_000;

/// Writes `ds` as the new folder `out` of tar shards, `shard_size` samples per shard (at least
/// 1), images encoded as `format`. Unreadable samples are skipped and listed. Members get fixed
/// metadata (mtime 0, mode 0644), so the same input gives the same bytes.
pub fn write(ds: &Dataset, out: &Path, format: ImageFormat, shard_size: usize) -> Result<Written> {
    refuse_input_overlap(out, &[&ds.root])?;
    let dir = AtomicDir::new(out)?;
    let shard_size = shard_size.max(1);
    let names = unique_names(ds.splits.iter().map(Split::name), &[]);
    let classes = serde_json::to_vec_pretty(&ds.classes).map_err(|e| DataError::BadHeader {
        path: out.join(CLASSES_FILE),
        what: e.to_string(),
    })?;
    let cpath = dir.path().join(CLASSES_FILE);
    std::fs::write(&cpath, classes).map_err(|e| DataError::io(&cpath, "write", e))?;
    let mut samples = 0;
    let mut skipped: Vec<Skipped> = Vec::new();
    for (split, stem) in ds.splits.iter().zip(&names) {
        let n = split.len();
        let width = digits(n.saturating_sub(1)).max(6);
        for (shard, start) in (0..n.max(1)).step_by(shard_size).enumerate() {
            let end = (start + shard_size).min(n);
            let encoded = encode_range(split, start..end, format);
            let path = dir.path().join(format!("{stem}-{shard:06}.tar"));
            let file =
                std::fs::File::create(&path).map_err(|e| DataError::io(&path, "create", e))?;
            let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
            let werr = |e: std::io::Error| DataError::io(&path, "write", e);
            for (i, r) in encoded {
                let bytes = match r {
                    Ok(b) => b,
                    Err(s) => {
                        skipped.push(s);
                        continue;
                    }
                };
                let key = format!("{i:0width$}");
                append(&mut tar, &format!("{key}.{}", format.extension()), &bytes).map_err(werr)?;
                if let Some(l) = split.label(i) {
                    append(&mut tar, &format!("{key}.cls"), l.to_string().as_bytes())
                        .map_err(werr)?;
                }
                samples += 1;
            }
            let mut w = tar.into_inner().map_err(werr)?;
            w.flush().map_err(werr)?;
        }
    }
    let path = dir.commit()?;
    Ok(Written {
        path,
        samples,
        skipped,
    })
}

fn append<W: Write>(tar: &mut tar::Builder<W>, name: &str, data: &[u8]) -> std::io::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, name, data)
}

fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// `train-000003.tar` -> `train`.
fn shard_split(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".tar")?;
    let (split, num) = stem.rsplit_once('-')?;
    (!split.is_empty() && !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()))
        .then_some(split)
}

fn shards(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let rd = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, "list", e))?;
    let mut out: Vec<(String, PathBuf)> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            Some((shard_split(&name)?.to_string(), p))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Whether `dir` holds tar shards named `<split>-<digits>.tar`.
pub fn looks_like(dir: &Path) -> bool {
    dir.is_dir() && shards(dir).is_ok_and(|s| !s.is_empty())
}

/// One sample: where its image lies in which shard.
struct Member {
    shard: u32,
    offset: usize,
    len: usize,
    key: String,
    ext: String,
}

struct WdsSource {
    shards: Vec<(PathBuf, Bytes)>,
    members: Vec<Member>,
    labels: Vec<Option<u32>>,
}

/// Reads a folder of WebDataset shards (one split per `<split>-NNNNNN.tar` prefix, `train`
/// first, `test` last). Class names come from `classes.json` when present, else `0..=max`.
pub fn open(dir: &Path) -> Result<Dataset> {
    let found = shards(dir)?;
    if found.is_empty() {
        return Err(DataError::UnknownFormat {
            path: dir.to_path_buf(),
            why: "no <split>-NNNNNN.tar shard in the folder".into(),
        });
    }
    let mut by_split: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for (s, p) in found {
        by_split.entry(s).or_default().push(p);
    }
    let mut skipped = Vec::new();
    let mut splits = Vec::new();
    let mut max_label: Option<u32> = None;
    for (name, paths) in by_split {
        let src = read_split(paths, &mut skipped)?;
        if let Some(&m) = src.labels.iter().flatten().max() {
            max_label = Some(max_label.map_or(m, |x| x.max(m)));
        }
        splits.push(Split::new(name, Box::new(src)));
    }
    splits.sort_by_key(|s| match s.name() {
        "train" => 0,
        "test" => 2,
        _ => 1,
    });
    let cpath = dir.join(CLASSES_FILE);
    let classes: Vec<String> = if cpath.is_file() {
        let b = std::fs::read(&cpath).map_err(|e| DataError::io(&cpath, "read", e))?;
        serde_json::from_slice(&b).map_err(|e| DataError::BadHeader {
            path: cpath.clone(),
            what: format!("not a JSON list of class names: {e}"),
        })?
    } else {
        max_label.map_or_else(Vec::new, |m| (0..=m).map(|c| c.to_string()).collect())
    };
    if let Some(m) = max_label.filter(|&m| m as usize >= classes.len()) {
        return Err(DataError::LabelOutOfRange {
            path: dir.to_path_buf(),
            record: 0,
            label: m as u64,
            classes: classes.len(),
        });
    }
    Ok(Dataset {
        name: dir.display().to_string(),
        format: Format::WebDataset,
        root: dir.to_path_buf(),
        classes,
        splits,
        skipped,
    })
}

fn read_split(paths: Vec<PathBuf>, skipped: &mut Vec<Skipped>) -> Result<WdsSource> {
    let mut src = WdsSource {
        shards: Vec::new(),
        members: Vec::new(),
        labels: Vec::new(),
    };
    for path in paths {
        let bytes = open_maybe_gz(&path)?;
        let shard = src.shards.len() as u32;
        let corrupt = |e: std::io::Error| DataError::Corrupt {
            path: path.clone(),
            kind: "tar",
            source: e,
        };
        // key -> (image member, label); kept in first-seen order.
        let mut order: Vec<String> = Vec::new();
        let mut found: BTreeMap<String, (Option<Member>, Option<u32>)> = BTreeMap::new();
        let mut archive = tar::Archive::new(&bytes[..]);
        for entry in archive.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let member = entry
                .path()
                .map_err(corrupt)?
                .to_string_lossy()
                .into_owned();
            let (dirpart, file) = member.rsplit_once('/').unwrap_or(("", &member));
            let Some((stem, ext)) = file.split_once('.') else {
                continue;
            };
            let key = if dirpart.is_empty() {
                stem.to_string()
            } else {
                format!("{dirpart}/{stem}")
            };
            if !found.contains_key(&key) {
                order.push(key.clone());
            }
            let slot = found.entry(key.clone()).or_default();
            let ext_l = ext.to_ascii_lowercase();
            if matches!(ext_l.as_str(), "cls" | "cls2" | "label") {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut entry, &mut text).map_err(corrupt)?;
                match text.trim().parse::<u32>() {
                    Ok(l) => slot.1 = Some(l),
                    Err(_) => skipped.push(Skipped {
                        path: format!("{}:{member}", path.display()),
                        reason: format!("label '{}' is not a class index", text.trim()),
                    }),
                }
            } else if is_image_name(std::ffi::OsStr::new(&member)) && slot.0.is_none() {
                slot.0 = Some(Member {
                    shard,
                    offset: entry.raw_file_position() as usize,
                    len: entry.size() as usize,
                    key: key.clone(),
                    ext: ext.to_string(),
                });
            }
        }
        for key in order {
            match found.remove(&key) {
                Some((Some(m), label)) => {
                    src.members.push(m);
                    src.labels.push(label);
                }
                _ => skipped.push(Skipped {
                    path: format!("{}:{key}", path.display()),
                    reason: "sample has no image member".into(),
                }),
            }
        }
        src.shards.push((path, bytes));
    }
    Ok(src)
}

impl WdsSource {
    fn name(&self, i: usize) -> PathBuf {
        let m = &self.members[i];
        let shard = &self.shards[m.shard as usize].0;
        PathBuf::from(format!("{}:{}.{}", shard.display(), m.key, m.ext))
    }
}

impl SampleSource for WdsSource {
    fn len(&self) -> usize {
        self.members.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.labels[i]
    }
    fn id(&self, i: usize) -> SampleId {
        let m = &self.members[i];
        let shard = self.shards[m.shard as usize]
            .0
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        SampleId::Path(format!("{shard}/{}.{}", m.key, m.ext))
    }
    fn load(&self, i: usize) -> Result<Image> {
        let m = &self.members[i];
        let bytes = &self.shards[m.shard as usize].1;
        let data = bytes
            .get(m.offset..m.offset + m.len)
            .ok_or_else(|| DataError::BadLength {
                path: self.name(i),
                expected: (m.offset + m.len) as u64,
                actual: bytes.len() as u64,
                why: "tar member past the end of the shard",
            })?;
        decode_bytes(&self.name(i), data)
    }
}
