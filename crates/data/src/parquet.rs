//! Parquet in the Hugging Face `datasets` layout: one file per split,
//! `<split>-00000-of-00001.parquet`, columns `image` (struct `{bytes: binary, path: string}`,
//! the encoded image file) and `label` (int64, null when unlabelled). Class names are stored
//! the way `datasets` does, in the `huggingface` key of the file's key-value metadata
//! (`{"info": {"features": {"label": {"names": [...], "_type": "ClassLabel"}}}}`).
//! Behind the `parquet` feature.
//!
//! ```no_run
//! use dlscope_data::{folder::ImageFormat, parquet};
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! parquet::write(&ds, "fm-parquet".as_ref(), ImageFormat::Png).unwrap();
//! let back = dlscope_data::open("fm-parquet").unwrap(); // `datasets.load_dataset("parquet", ...)` reads it too
//! assert_eq!(back.len(), ds.len());
//! ```
//!
//! Reading also takes files made by `datasets` / the Hub (snappy-compressed): the image column
//! is the first struct column with a `bytes` field, the label column the one named `label`,
//! `labels`, `fine_label` or `coarse_label` (else none: unlabelled). Split names come from the
//! file names (`train-00000-of-00003.parquet` -> `train`); a folder's `data/` subfolder is
//! looked in too. Encoded images are held in memory and decode on demand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;

use crate::dataset::{Dataset, Format, SampleId, SampleSource, Skipped, Split, Written};
use crate::decode::decode_bytes;
use crate::error::{DataError, Result};
use crate::folder::write::{encode_range, unique_names};
use crate::folder::ImageFormat;
use crate::image::Image;
use crate::io::{refuse_input_overlap, AtomicDir};

/// Samples per row group when writing.
const ROW_GROUP: usize = 1000;

const SCHEMA: &str = "message schema {
  optional group image {
    optional binary bytes;
    optional binary path (STRING);
  }
  optional int64 label;
}";

fn perr(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::BadHeader {
        path: path.to_path_buf(),
        what: format!("parquet: {e}"),
    }
}

/// Writes `ds` as the new folder `out`, one `<split>-00000-of-00001.parquet` per split, images
/// encoded as `format`. Unreadable samples are skipped and listed.
pub fn write(ds: &Dataset, out: &Path, format: ImageFormat) -> Result<Written> {
    refuse_input_overlap(out, &[&ds.root])?;
    let dir = AtomicDir::new(out)?;
    let names = unique_names(ds.splits.iter().map(Split::name), &[]);
    let hf = serde_json::json!({
        "info": {"features": {
            "image": {"_type": "Image"},
            "label": {"names": ds.classes, "_type": "ClassLabel"},
        }}
    });
    let mut samples = 0;
    let mut skipped: Vec<Skipped> = Vec::new();
    for (split, stem) in ds.splits.iter().zip(&names) {
        let path = dir.path().join(format!("{stem}-00000-of-00001.parquet"));
        let schema = Arc::new(parse_message_type(SCHEMA).map_err(|e| perr(&path, e))?);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(vec![
                KeyValue::new("huggingface".to_string(), hf.to_string()),
                KeyValue::new("dlscope.split".to_string(), split.name().to_string()),
            ]))
            .build();
        let file = std::fs::File::create(&path).map_err(|e| DataError::io(&path, "create", e))?;
        let mut w =
            SerializedFileWriter::new(file, schema, Arc::new(props)).map_err(|e| perr(&path, e))?;
        let n = split.len();
        let width = n.saturating_sub(1).to_string().len();
        for start in (0..n).step_by(ROW_GROUP) {
            let end = (start + ROW_GROUP).min(n);
            let encoded = encode_range(split, start..end, format);
            let mut bytes = Vec::new();
            let mut paths = Vec::new();
            let mut labels = Vec::new();
            let mut label_def = Vec::new();
            for (i, r) in encoded {
                match r {
                    Err(s) => skipped.push(s),
                    Ok(b) => {
                        bytes.push(ByteArray::from(b));
                        paths.push(ByteArray::from(
                            format!("{i:0width$}.{}", format.extension()).into_bytes(),
                        ));
                        match split.label(i) {
                            Some(l) => {
                                labels.push(l as i64);
                                label_def.push(1i16);
                            }
                            None => label_def.push(0),
                        }
                    }
                }
            }
            if bytes.is_empty() {
                continue;
            }
            samples += bytes.len();
            let image_def = vec![2i16; bytes.len()];
            let mut rg = w.next_row_group().map_err(|e| perr(&path, e))?;
            let mut col = 0;
            while let Some(mut c) = rg.next_column().map_err(|e| perr(&path, e))? {
                match col {
                    0 => c
                        .typed::<ByteArrayType>()
                        .write_batch(&bytes, Some(&image_def), None),
                    1 => c
                        .typed::<ByteArrayType>()
                        .write_batch(&paths, Some(&image_def), None),
                    _ => c
                        .typed::<Int64Type>()
                        .write_batch(&labels, Some(&label_def), None),
                }
                .map_err(|e| perr(&path, e))?;
                c.close().map_err(|e| perr(&path, e))?;
                col += 1;
            }
            rg.close().map_err(|e| perr(&path, e))?;
        }
        w.close().map_err(|e| perr(&path, e))?;
    }
    let path = dir.commit()?;
    Ok(Written {
        path,
        samples,
        skipped,
    })
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in [dir.to_path_buf(), dir.join("data")] {
        if let Ok(rd) = std::fs::read_dir(&d) {
            out.extend(rd.flatten().map(|e| e.path()).filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
            }));
        }
    }
    out.sort();
    out
}

/// `train-00000-of-00003.parquet` -> `train`; `test.parquet` -> `test`.
fn split_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.split_once('-') {
        Some((s, _)) if !s.is_empty() => s.to_string(),
        _ => stem,
    }
}

/// Reads a `.parquet` file (one split) or a folder of them (see the module docs).
pub fn open(path: &Path) -> Result<Dataset> {
    let files = if path.is_file() {
        vec![path.to_path_buf()]
    } else {
        parquet_files(path)
    };
    if files.is_empty() {
        return Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            why: "no .parquet file in the folder or its data/ subfolder".into(),
        });
    }
    let mut by_split: BTreeMap<String, ParquetSource> = BTreeMap::new();
    let mut classes: Option<Vec<String>> = None;
    let mut skipped = Vec::new();
    for f in files {
        let (split, names) = read_file(&f, &mut by_split, &mut skipped)?;
        if classes.is_none() {
            classes = names;
        }
        let _ = split;
    }
    let max = by_split
        .values()
        .flat_map(|s| s.labels.iter().flatten())
        .max()
        .copied();
    let classes = classes
        .unwrap_or_else(|| max.map_or_else(Vec::new, |m| (0..=m).map(|c| c.to_string()).collect()));
    if let Some(m) = max.filter(|&m| m as usize >= classes.len()) {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            record: 0,
            label: m as u64,
            classes: classes.len(),
        });
    }
    let mut splits: Vec<Split> = by_split
        .into_iter()
        .map(|(n, s)| Split::new(n, Box::new(s)))
        .collect();
    splits.sort_by_key(|s| match s.name() {
        "train" => 0,
        "test" => 2,
        _ => 1,
    });
    Ok(Dataset {
        name: path.display().to_string(),
        format: Format::Parquet,
        root: path.to_path_buf(),
        classes,
        splits,
        skipped,
    })
}

/// Reads one file's rows into the source of its split; returns the split and the class names
/// found in its metadata.
fn read_file(
    path: &Path,
    by_split: &mut BTreeMap<String, ParquetSource>,
    skipped: &mut Vec<Skipped>,
) -> Result<(String, Option<Vec<String>>)> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, "open", e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| perr(path, e))?;
    let meta = reader.metadata().file_metadata();
    let kv: BTreeMap<String, String> = meta
        .key_value_metadata()
        .map(|v| {
            v.iter()
                .filter_map(|k| Some((k.key.clone(), k.value.clone()?)))
                .collect()
        })
        .unwrap_or_default();
    let split = kv
        .get("dlscope.split")
        .cloned()
        .unwrap_or_else(|| split_of(path));
    let schema = meta.schema_descr();
    let root = schema.root_schema();
    let fields = root.get_fields();
    let image_col = fields
        .iter()
        .find(|f| {
            f.is_group()
                && f.get_fields()
                    .iter()
                    .any(|c| c.name() == "bytes" && c.is_primitive())
        })
        .map(|f| f.name().to_string())
        .ok_or_else(|| {
            perr(
                path,
                "no struct column with a 'bytes' field (the image column)",
            )
        })?;
    let label_col = ["label", "labels", "fine_label", "coarse_label"]
        .into_iter()
        .find(|n| fields.iter().any(|f| f.name() == *n && f.is_primitive()))
        .map(str::to_string);
    let classes = kv
        .get("huggingface")
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .and_then(|v| {
            let features = v.pointer("/info/features").or_else(|| v.get("features"))?;
            let col = label_col.as_deref()?;
            let names = features.get(col)?.get("names")?.as_array()?;
            names
                .iter()
                .map(|n| n.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
        });
    let src = by_split
        .entry(split.clone())
        .or_insert_with(|| ParquetSource {
            files: Vec::new(),
            images: Vec::new(),
            labels: Vec::new(),
            names: Vec::new(),
        });
    let file_no = src.files.len() as u32;
    src.files.push(path.to_path_buf());
    let rows = reader.get_row_iter(None).map_err(|e| perr(path, e))?;
    for (r, row) in rows.enumerate() {
        let row = row.map_err(|e| perr(path, format!("row {r}: {e}")))?;
        let mut bytes: Option<Vec<u8>> = None;
        let mut name: Option<String> = None;
        let mut label: Option<u32> = None;
        for (col, field) in row.get_column_iter() {
            if *col == image_col {
                if let Field::Group(g) = field {
                    for (k, v) in g.get_column_iter() {
                        match (k.as_str(), v) {
                            ("bytes", Field::Bytes(b)) => bytes = Some(b.data().to_vec()),
                            ("path", Field::Str(s)) => name = Some(s.clone()),
                            _ => {}
                        }
                    }
                }
            } else if Some(col) == label_col.as_ref() {
                label = match field {
                    Field::Long(v) => u32::try_from(*v).ok(),
                    Field::Int(v) => u32::try_from(*v).ok(),
                    Field::Short(v) => u32::try_from(*v).ok(),
                    Field::Byte(v) => u32::try_from(*v).ok(),
                    Field::ULong(v) => u32::try_from(*v).ok(),
                    Field::UInt(v) => Some(*v),
                    _ => None,
                };
            }
        }
        match bytes {
            Some(b) => {
                src.images.push(b);
                src.labels.push(label);
                src.names.push((file_no, r as u64, name));
            }
            None => skipped.push(Skipped {
                path: format!("{}:row {r}", path.display()),
                reason: "the image has no bytes (null)".into(),
            }),
        }
    }
    Ok((split, classes))
}

struct ParquetSource {
    files: Vec<PathBuf>,
    images: Vec<Vec<u8>>,
    labels: Vec<Option<u32>>,
    /// (file, row, image path column).
    names: Vec<(u32, u64, Option<String>)>,
}

impl SampleSource for ParquetSource {
    fn len(&self) -> usize {
        self.images.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        self.labels[i]
    }
    fn id(&self, i: usize) -> SampleId {
        match &self.names[i].2 {
            Some(p) if !p.is_empty() => SampleId::Path(p.clone()),
            _ => SampleId::Index(i as u64),
        }
    }
    fn load(&self, i: usize) -> Result<Image> {
        let (f, row, _) = &self.names[i];
        let name = format!("{}:row {row}", self.files[*f as usize].display());
        decode_bytes(Path::new(&name), &self.images[i])
    }
}
