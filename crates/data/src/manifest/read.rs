//! Reading a CSV manifest `path,label[,split]` into a [`Dataset`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::dataset::{Dataset, Format, Split};
use crate::error::{DataError, Result};
use crate::folder::source::{bytes_path, split_order, FileSource, PathList, NO_LABEL};

/// Header names recognised for each column (compared case-insensitively).
pub const PATH_COLUMNS: [&str; 8] = [
    "path",
    "file",
    "filename",
    "file_name",
    "filepath",
    "file_path",
    "image",
    "image_path",
];
pub const LABEL_COLUMNS: [&str; 5] = ["label", "class", "class_name", "category", "target"];
pub const SPLIT_COLUMNS: [&str; 2] = ["split", "subset"];

/// Which field holds what.
#[derive(Debug, Clone, Copy)]
struct Columns {
    path: usize,
    label: Option<usize>,
    split: Option<usize>,
    count: usize,
}

/// One split being collected: paths, and labels as interned class-name ids.
struct Part {
    name: String,
    paths: PathList,
    labels: Vec<u32>,
}

fn is_one_of(field: &[u8], names: &[&str]) -> bool {
    std::str::from_utf8(field).is_ok_and(|f| names.iter().any(|n| n.eq_ignore_ascii_case(f)))
}

/// Reads the first record as a header if it names a known column, else as positional data.
fn columns(first: &csv::ByteRecord, csv: &Path) -> Result<(Columns, bool)> {
    let find = |names: &[&str]| first.iter().position(|f| is_one_of(f, names));
    let (path, label, split) = (
        find(&PATH_COLUMNS),
        find(&LABEL_COLUMNS),
        find(&SPLIT_COLUMNS),
    );
    let count = first.len();
    if path.is_none() && label.is_none() && split.is_none() {
        let cols = Columns {
            path: 0,
            label: (count > 1).then_some(1),
            split: (count > 2).then_some(2),
            count,
        };
        return Ok((cols, false));
    }
    let path = path.ok_or_else(|| DataError::Manifest {
        path: csv.to_path_buf(),
        line: 1,
        what: format!(
            "the header has no path column (name one of: {})",
            PATH_COLUMNS.join(", ")
        ),
    })?;
    Ok((
        Columns {
            path,
            label,
            split,
            count,
        },
        true,
    ))
}

/// Parses the manifest at `csv` (see the module docs for the rules).
pub(crate) fn read(csv: &Path) -> Result<Dataset> {
    let file = std::fs::File::open(csv).map_err(|e| DataError::io(csv, "open", e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::new(file));
    let bad = |line: u64, what: String| DataError::Manifest {
        path: csv.to_path_buf(),
        line,
        what,
    };
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        match e.into_kind() {
            csv::ErrorKind::Io(io) => DataError::io(csv, "read", io),
            kind => bad(line, format!("{kind:?}")),
        }
    };

    let mut rec = csv::ByteRecord::new();
    let mut cols: Option<Columns> = None;
    let mut parts: Vec<Part> = Vec::new();
    let mut part_of: HashMap<String, usize> = HashMap::new();
    let mut class_ids: HashMap<String, u32> = HashMap::new();
    let mut class_names: Vec<String> = Vec::new();
    while rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        let line = rec.position().map_or(0, |p| p.line());
        let c = match cols {
            Some(c) => c,
            None => {
                strip_bom(&mut rec);
                let (c, header) = columns(&rec, csv)?;
                cols = Some(c);
                if header {
                    continue;
                }
                c
            }
        };
        if rec.len() != c.count {
            return Err(bad(
                line,
                format!("expected {} fields, found {}", c.count, rec.len()),
            ));
        }
        let path = &rec[c.path];
        if path.is_empty() {
            return Err(bad(line, "empty path".into()));
        }
        let text = |col: Option<usize>, what: &str| -> Result<&str> {
            match col {
                Some(k) => std::str::from_utf8(&rec[k])
                    .map_err(|_| bad(line, format!("{what} is not valid UTF-8"))),
                None => Ok(""),
            }
        };
        let label = text(c.label, "label")?;
        let split = match text(c.split, "split")? {
            "" => "train",
            s => s,
        };
        let label = if label.is_empty() {
            NO_LABEL
        } else if let Some(&id) = class_ids.get(label) {
            id
        } else {
            let id = class_names.len() as u32;
            class_ids.insert(label.to_string(), id);
            class_names.push(label.to_string());
            id
        };
        let k = match part_of.get(split) {
            Some(&k) => k,
            None => {
                part_of.insert(split.to_string(), parts.len());
                parts.push(Part {
                    name: split.to_string(),
                    paths: PathList::default(),
                    labels: Vec::new(),
                });
                parts.len() - 1
            }
        };
        parts[k].paths.push(&bytes_path(path));
        parts[k].labels.push(label);
    }
    if parts.is_empty() {
        return Err(bad(1, "the manifest lists no images".into()));
    }

    // Class list: sorted unique names, numerically when every name is an integer.
    let mut order: Vec<u32> = (0..class_names.len() as u32).collect();
    let numeric: Option<Vec<i128>> = class_names.iter().map(|n| n.parse().ok()).collect();
    match &numeric {
        Some(v) => order.sort_by(|&a, &b| {
            (v[a as usize], &class_names[a as usize])
                .cmp(&(v[b as usize], &class_names[b as usize]))
        }),
        None => order.sort_by(|&a, &b| class_names[a as usize].cmp(&class_names[b as usize])),
    }
    let mut new_id = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        new_id[old as usize] = new as u32;
    }
    let classes: Vec<String> = order
        .iter()
        .map(|&o| class_names[o as usize].clone())
        .collect();

    let parent = match csv.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let base = std::path::absolute(parent).map_err(|e| DataError::io(parent, "resolve", e))?;
    let base = Arc::new(base);
    parts.sort_by(|a, b| split_order(&a.name, &b.name));
    let splits = parts
        .into_iter()
        .map(|p| {
            let labels = p
                .labels
                .iter()
                .map(|&l| if l == NO_LABEL { l } else { new_id[l as usize] })
                .collect();
            Split::new(
                p.name,
                Box::new(FileSource::new(base.clone(), p.paths, labels)),
            )
        })
        .collect();
    Ok(Dataset {
        name: csv.display().to_string(),
        format: Format::Manifest,
        root: csv.to_path_buf(),
        classes,
        splits,
        skipped: Vec::new(),
    })
}

fn strip_bom(rec: &mut csv::ByteRecord) {
    if rec.get(0).is_some_and(|f| f.starts_with(b"\xEF\xBB\xBF")) {
        let fields: Vec<Vec<u8>> = rec
            .iter()
            .enumerate()
            .map(|(k, f)| if k == 0 { f[3..].to_vec() } else { f.to_vec() })
            .collect();
        let pos = rec.position().cloned();
        *rec = csv::ByteRecord::from(fields);
        rec.set_position(pos);
    }
}

/// Whether the first line of `path` (a `.csv` file) has at least two fields.
pub(crate) fn looks_like(path: &Path) -> bool {
    let is_csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv || !path.is_file() {
        return false;
    }
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::Read::take(file, 64 * 1024));
    let mut rec = csv::ByteRecord::new();
    matches!(rdr.read_byte_record(&mut rec), Ok(true)) && rec.len() >= 2
}
