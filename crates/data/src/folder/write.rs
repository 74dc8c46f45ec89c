//! Writing any dataset out as an image folder: `out/<split>/<class>/<name>.<ext>`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::UNLABELLED_DIR;
use crate::dataset::{Dataset, SampleId, Skipped, Split, Written};
use crate::error::{DataError, Result};
use crate::image::Image;
use crate::io::{refuse_input_overlap, AtomicDir};

/// Encoding of written image files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// Lossless PNG (keeps 1, 3 or 4 channels).
    Png,
    /// JPEG at `quality` 1..=100; an alpha channel is dropped.
    Jpeg { quality: u8 },
    /// Lossless WebP (the `image` crate encodes WebP losslessly only). WebP has no grey mode:
    /// grey images are stored as RGB with R = G = B and read back with 3 channels.
    Webp,
}

impl ImageFormat {
    /// File extension, without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg { .. } => "jpg",
            ImageFormat::Webp => "webp",
        }
    }

    /// Encodes one image into the bytes of a file.
    pub fn encode(&self, img: &Image) -> std::result::Result<Vec<u8>, String> {
        let mut out = std::io::Cursor::new(Vec::new());
        let dynamic = img.to_dynamic();
        let res = match *self {
            ImageFormat::Png => dynamic.write_to(&mut out, image::ImageFormat::Png),
            ImageFormat::Webp => dynamic.write_to(&mut out, image::ImageFormat::WebP),
            ImageFormat::Jpeg { quality } => {
                let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
                if img.channels == 4 {
                    image::DynamicImage::ImageRgb8(dynamic.to_rgb8()).write_with_encoder(enc)
                } else {
                    dynamic.write_with_encoder(enc)
                }
            }
        };
        res.map_err(|e| format!("cannot encode as {}: {e}", self.extension()))?;
        Ok(out.into_inner())
    }
}

/// Writes every sample of `ds` as an image file under the new folder `out`:
/// `out/<split>/<class>/<name>.<ext>`, unlabelled samples in `out/<split>/_unlabelled/`.
///
/// Names come from the sample id: the original file stem for file-backed samples, the
/// zero-padded index otherwise, made unique with `-1`, `-2`... A folder is created for every
/// class in every split, so reading the output back with [`super::open`] gives the same class
/// list whenever the class names are already sorted (folder names are sanitised: `/`, `\`, `:`
/// and other characters not allowed in file names become `_`). The folder is built under a
/// temporary name and renamed into place; `out` must not exist and must not overlap the input.
/// Samples that fail to decode are skipped and listed in [`Written::skipped`]; a write failure
/// aborts and leaves nothing behind.
pub fn write(ds: &Dataset, out: &Path, format: ImageFormat) -> Result<Written> {
    if let ImageFormat::Jpeg { quality } = format {
        if !(1..=100).contains(&quality) {
            return Err(DataError::Refused {
                path: out.to_path_buf(),
                why: format!("JPEG quality {quality} is outside 1..=100"),
            });
        }
    }
    refuse_input_overlap(out, &[&ds.root])?;
    let dir = AtomicDir::new(out)?;
    let class_dirs = unique_names(ds.classes.iter().map(String::as_str), &[UNLABELLED_DIR]);
    let split_dirs = unique_names(ds.splits.iter().map(Split::name), &[]);

    let mut plan: Vec<(usize, usize, PathBuf)> = Vec::new();
    for (s, split) in ds.splits.iter().enumerate() {
        let split_dir = dir.path().join(&split_dirs[s]);
        for c in &class_dirs {
            mkdir(&split_dir.join(c))?;
        }
        let mut used: Vec<HashSet<String>> = vec![HashSet::new(); class_dirs.len() + 1];
        let width = digits(split.len().saturating_sub(1));
        for i in 0..split.len() {
            let (slot, folder) = match split.label(i) {
                Some(l) if (l as usize) < class_dirs.len() => {
                    (l as usize, class_dirs[l as usize].as_str())
                }
                _ => (class_dirs.len(), UNLABELLED_DIR),
            };
            if slot == class_dirs.len() && used[slot].is_empty() {
                mkdir(&split_dir.join(UNLABELLED_DIR))?;
            }
            let stem = file_stem(&split.id(i)).unwrap_or_else(|| format!("{i:0width$}"));
            let name = unique_file(&mut used[slot], &stem, format.extension());
            plan.push((s, i, PathBuf::from(&split_dirs[s]).join(folder).join(name)));
        }
    }

    let root = dir.path();
    let results: Vec<Option<Skipped>> = plan
        .par_iter()
        .map(|(s, i, rel)| -> Result<Option<Skipped>> {
            let split = &ds.splits[*s];
            let bytes = match split.source().load(*i).and_then(|img| {
                format.encode(&img).map_err(|why| DataError::Decode {
                    path: rel.clone(),
                    reason: why,
                })
            }) {
                Ok(b) => b,
                Err(e) => return Ok(Some(skipped_sample(split, *i, &e))),
            };
            let dest = root.join(rel);
            std::fs::write(&dest, bytes).map_err(|e| DataError::io(&dest, "write", e))?;
            Ok(None)
        })
        .collect::<Result<_>>()?;
    let skipped: Vec<Skipped> = results.into_iter().flatten().collect();
    let samples = plan.len() - skipped.len();
    let path = dir.commit()?;
    Ok(Written {
        path,
        samples,
        skipped,
    })
}

fn mkdir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).map_err(|e| DataError::io(p, "create folder", e))
}

/// How a sample is named in skipped lists: its path id, or `<split>/<index>` for index ids.
pub(crate) fn sample_name(split: &Split, i: usize) -> String {
    match split.id(i) {
        SampleId::Path(p) => p,
        SampleId::Index(n) => format!("{}/{n}", split.name()),
    }
}

/// A skipped-sample entry naming the sample and the error.
pub(crate) fn skipped_sample(split: &Split, i: usize, err: &DataError) -> Skipped {
    Skipped {
        path: sample_name(split, i),
        reason: err.to_string(),
    }
}

/// Loads and encodes samples `range` of `split` in parallel, in order: the encoded bytes, or the
/// skipped-sample entry of a sample that fails to load or encode.
pub(crate) fn encode_range(
    split: &Split,
    range: std::ops::Range<usize>,
    format: ImageFormat,
) -> Vec<(usize, std::result::Result<Vec<u8>, Skipped>)> {
    range
        .into_par_iter()
        .map(|i| {
            let r = split.source().load(i).and_then(|img| {
                format.encode(&img).map_err(|reason| DataError::Decode {
                    path: format!("{}/{i}", split.name()).into(),
                    reason,
                })
            });
            (i, r.map_err(|e| skipped_sample(split, i, &e)))
        })
        .collect()
}

fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// The file stem of a path id (last component, extension dropped), sanitised; `None` for index
/// ids or when nothing usable is left.
fn file_stem(id: &SampleId) -> Option<String> {
    let SampleId::Path(p) = id else { return None };
    let last = p.rsplit(['/', '\\']).next()?;
    let stem = Path::new(last).file_stem()?.to_string_lossy();
    let s = safe_component(&stem);
    (s != "_").then_some(s)
}

/// `stem.ext`, or `stem-1.ext`, `stem-2.ext`... whichever is not in `used` (case-insensitively).
fn unique_file(used: &mut HashSet<String>, stem: &str, ext: &str) -> String {
    let mut k = 0usize;
    loop {
        let name = if k == 0 {
            format!("{stem}.{ext}")
        } else {
            format!("{stem}-{k}.{ext}")
        };
        if used.insert(name.to_lowercase()) {
            return name;
        }
        k += 1;
    }
}

/// One file-name component: characters not allowed in file names become `_`, a leading dot
/// (hidden file) gets a `_` in front, and an empty name becomes `_`.
pub(crate) fn safe_component(s: &str) -> String {
    let mut out: String = s
        .trim()
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if out.is_empty() {
        out.push('_');
    } else if out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

/// Sanitised names, unique case-insensitively and never equal to one of `reserved`.
pub(crate) fn unique_names<'a>(
    names: impl Iterator<Item = &'a str>,
    reserved: &[&str],
) -> Vec<String> {
    let mut used: HashSet<String> = reserved.iter().map(|r| r.to_lowercase()).collect();
    names
        .map(|n| {
            let base = safe_component(n);
            let mut name = base.clone();
            let mut k = 2;
            while !used.insert(name.to_lowercase()) {
                name = format!("{base}_{k}");
                k += 1;
            }
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        let got = unique_names(
            ["T-shirt/top", "a", "A", "", ".git", "_unlabelled", "x:y"].into_iter(),
            &[UNLABELLED_DIR],
        );
        assert_eq!(
            got,
            [
                "T-shirt_top",
                "a",
                "A_2",
                "_",
                "_.git",
                "_unlabelled_2",
                "x_y"
            ]
        );
        let mut used = HashSet::new();
        assert_eq!(unique_file(&mut used, "x", "png"), "x.png");
        assert_eq!(unique_file(&mut used, "X", "png"), "X-1.png");
        assert_eq!(
            file_stem(&SampleId::Path("train/cat/../a.b.jpg".into())).as_deref(),
            Some("a.b")
        );
        assert_eq!(file_stem(&SampleId::Index(3)), None);
        assert_eq!(digits(0), 1);
        assert_eq!(digits(9999), 4);
        assert_eq!(digits(10000), 5);
    }
}
