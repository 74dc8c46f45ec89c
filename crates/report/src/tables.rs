//! The CSV exports: `findings.csv` (one row per sample and finding) and `features.csv` (one row
//! per sample), written with the `csv` crate so commas, quotes and newlines in names and details
//! are quoted properly.

use std::fmt::Write as _;
use std::io::Write;

use dlscope_analyze::{DatasetMeta, FeatureTable, Finding};
use dlscope_data::SampleId;

/// Columns of `findings.csv`, in order. `partner_split` / `partner_id` name the closest other
/// sample of a pairwise finding (duplicates, conflicts, leaks) and are empty otherwise.
pub const FINDINGS_COLUMNS: [&str; 8] = [
    "kind",
    "split",
    "id",
    "group",
    "score",
    "detail",
    "partner_split",
    "partner_id",
];

/// Columns of `features.csv`, in order (see docs/report.md for their meaning).
pub const FEATURES_COLUMNS: [&str; 31] = [
    "split",
    "index",
    "id",
    "label",
    "class",
    "width",
    "height",
    "channels",
    "decode_scale",
    "file_bytes",
    "file_format",
    "file_hash",
    "mean_0",
    "mean_1",
    "mean_2",
    "mean_3",
    "std_0",
    "std_1",
    "std_2",
    "std_3",
    "brightness",
    "contrast",
    "grey_p05",
    "grey_p99",
    "entropy",
    "sharpness",
    "chroma",
    "range",
    "pixel_hash",
    "phash",
    "error",
];

/// A score as written to CSV: rounded to 6 decimals, shortest form (`1`, `0.84375`).
pub fn format_score(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let r = (x * 1e6).round() / 1e6;
    // -0 prints as "-0"; keep zero plain.
    if r == 0.0 {
        "0".into()
    } else {
        r.to_string()
    }
}

/// Writes `findings.csv`: a header and one row per finding, in the order given.
pub fn write_findings_csv(w: &mut dyn Write, findings: &[Finding]) -> csv::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(FINDINGS_COLUMNS)?;
    let mut buf = String::new();
    for f in findings {
        out.write_field(f.kind.as_str())?;
        out.write_field(&f.split)?;
        buf.clear();
        let _ = write!(buf, "{}", f.id);
        out.write_field(&buf)?;
        buf.clear();
        if let Some(g) = f.group {
            let _ = write!(buf, "{g}");
        }
        out.write_field(&buf)?;
        out.write_field(format_score(f.score))?;
        out.write_field(&f.detail)?;
        buf.clear();
        match &f.partner {
            Some(p) => {
                out.write_field(&p.split)?;
                let _ = write!(buf, "{}", p.id);
            }
            None => out.write_field("")?,
        }
        out.write_field(&buf)?;
        out.write_record(None::<&[u8]>)?;
    }
    out.flush()?;
    Ok(())
}

/// Writes `features.csv`: a header and one row per row of `table`. `id_of(split, index)` names
/// samples as findings do (index, or path relative to the dataset root).
pub fn write_features_csv(
    w: &mut dyn Write,
    meta: &DatasetMeta,
    table: &FeatureTable,
    id_of: &dyn Fn(u16, u64) -> SampleId,
) -> csv::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(FEATURES_COLUMNS)?;
    let mut b = String::new();
    for row in &table.rows {
        let split = meta
            .splits
            .get(row.split as usize)
            .map_or("", |s| s.name.as_str());
        // Every field goes through `b`: cleared, filled, written.
        let mut field = |out: &mut csv::Writer<&mut dyn Write>,
                         fill: &dyn Fn(&mut String)|
         -> csv::Result<()> {
            b.clear();
            fill(&mut b);
            out.write_field(&b)
        };
        field(&mut out, &|b| b.push_str(split))?;
        field(&mut out, &|b| push(b, row.index))?;
        field(&mut out, &|b| push(b, id_of(row.split, row.index)))?;
        field(&mut out, &|b| {
            if let Some(l) = row.label {
                push(b, l)
            }
        })?;
        field(&mut out, &|b| {
            if let Some(c) = row.label.and_then(|l| meta.classes.get(l as usize)) {
                b.push_str(c)
            }
        })?;
        let img = row.image.as_ref();
        field(&mut out, &|b| opt(b, img.map(|f| f.width)))?;
        field(&mut out, &|b| opt(b, img.map(|f| f.height)))?;
        field(&mut out, &|b| opt(b, img.map(|f| f.channels)))?;
        field(&mut out, &|b| opt(b, img.map(|f| f.decode_scale)))?;
        field(&mut out, &|b| opt(b, row.file.map(|f| f.bytes)))?;
        field(&mut out, &|b| opt(b, row.file.map(|f| f.format)))?;
        field(&mut out, &|b| {
            if let Some(f) = row.file {
                let _ = write!(b, "{:016x}", f.hash);
            }
        })?;
        for stat in [0usize, 1] {
            for ch in 0..4usize {
                field(&mut out, &|b| {
                    if let Some(f) = img.filter(|f| ch < f.channels as usize) {
                        let v = if stat == 0 { f.mean[ch] } else { f.std[ch] };
                        float(b, v);
                    }
                })?;
            }
        }
        field(&mut out, &|b| {
            img.into_iter().for_each(|f| float(b, f.brightness))
        })?;
        field(&mut out, &|b| {
            img.into_iter().for_each(|f| float(b, f.contrast))
        })?;
        field(&mut out, &|b| opt(b, img.map(|f| f.grey_p05)))?;
        field(&mut out, &|b| opt(b, img.map(|f| f.grey_p99)))?;
        field(&mut out, &|b| {
            img.into_iter().for_each(|f| float(b, f.entropy))
        })?;
        field(&mut out, &|b| {
            img.into_iter().for_each(|f| float(b, f.sharpness))
        })?;
        field(&mut out, &|b| {
            img.into_iter().for_each(|f| float(b, f.chroma))
        })?;
        field(&mut out, &|b| opt(b, img.map(|f| f.range)))?;
        field(&mut out, &|b| {
            if let Some(f) = img {
                let _ = write!(b, "{:016x}", f.pixel_hash);
            }
        })?;
        field(&mut out, &|b| {
            if let Some(f) = img {
                let _ = write!(b, "{:016x}", f.phash);
            }
        })?;
        field(&mut out, &|b| {
            if let Some(e) = &row.error {
                b.push_str(e)
            }
        })?;
        out.write_record(None::<&[u8]>)?;
    }
    out.flush()?;
    Ok(())
}

fn push(b: &mut String, v: impl std::fmt::Display) {
    let _ = write!(b, "{v}");
}

fn opt(b: &mut String, v: Option<impl std::fmt::Display>) {
    if let Some(v) = v {
        push(b, v);
    }
}

/// Floats with 4 decimals, trailing zeros kept off (`12.5`, `0.3528`).
fn float(b: &mut String, v: f32) {
    let start = b.len();
    let _ = write!(b, "{:.4}", v);
    while b.len() > start && b.ends_with('0') {
        b.pop();
    }
    if b.ends_with('.') {
        b.pop();
    }
    if &b[start..] == "-0" {
        b.truncate(start);
        b.push('0');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_floats_are_short() {
        assert_eq!(format_score(1.0), "1");
        assert_eq!(format_score(0.84375), "0.84375");
        assert_eq!(format_score(7.123456789), "7.123457");
        assert_eq!(format_score(-0.0000001), "0");
        let mut b = String::new();
        float(&mut b, 12.5);
        b.push(' ');
        float(&mut b, 0.0);
        b.push(' ');
        float(&mut b, -0.00001);
        b.push(' ');
        float(&mut b, 0.35284);
        assert_eq!(b, "12.5 0 0 0.3528");
    }
}
