//! Shard outputs: a `--shard i/N` run writes `shard-i-of-N.json.gz` (its [`ShardResult`]:
//! profile counts and feature rows, gzip-compressed JSON) and its own `features.csv`; a merge
//! reads the shard files back from their folders.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use dlscope_analyze::{Shard, ShardResult};
use dlscope_data::Dataset;

use crate::error::{ReportError, Result};
use crate::tables::write_features_csv;

/// Name of the file a shard result is stored in: `shard-2-of-8.json.gz` (or
/// `shard-2+5-of-8.json.gz` for a result that already merges several shards).
pub fn shard_file_name(shards: &[Shard]) -> String {
    let count = shards.first().map_or(1, |s| s.count);
    let idx: Vec<String> = shards.iter().map(|s| s.index.to_string()).collect();
    format!("shard-{}-of-{count}.json.gz", idx.join("+"))
}

/// Writes a shard's outputs into `dir`: the shard file and `features.csv` of its rows.
/// Returns the files written.
pub fn write_shard(dir: &Path, result: &ShardResult, dataset: &Dataset) -> Result<Vec<PathBuf>> {
    let shard_path = dir.join(shard_file_name(&result.shards));
    dlscope_data::io::write_atomic(&shard_path, |w| {
        let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
        serde_json::to_writer(&mut gz, result)?;
        gz.finish()?.flush()
    })?;
    let features = dir.join("features.csv");
    let id_of = |s: u16, i: u64| crate::sample_id(dataset, s, i);
    dlscope_data::io::write_atomic(&features, |w| {
        write_features_csv(w, &result.dataset, &result.features, &id_of).map_err(Into::into)
    })?;
    Ok(vec![shard_path, features])
}

/// Reads one shard file (gzip or plain JSON).
pub fn read_shard(path: &Path) -> Result<ShardResult> {
    let bytes = dlscope_data::io::open_maybe_gz(path)?;
    serde_json::from_reader(BufReader::new(&bytes[..])).map_err(|source| ReportError::Json {
        path: path.to_path_buf(),
        what: "dlscope shard result",
        source,
    })
}

/// The shard files named by `paths`: a file is taken as it is; a folder contributes every
/// `shard-*.json.gz` (or `.json`) inside it, and must hold at least one.
pub fn find_shard_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            if !p.exists() {
                return Err(ReportError::NoShards {
                    path: p.clone(),
                    why: "does not exist".into(),
                });
            }
            out.push(p.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| ReportError::io(p, "list", e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|f| {
                f.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with("shard-") && (n.ends_with(".json.gz") || n.ends_with(".json"))
                })
            })
            .collect();
        if found.is_empty() {
            return Err(ReportError::NoShards {
                path: p.clone(),
                why:
                    "holds no shard-*.json.gz file (is it the output of `dlscope analyze --shard`?)"
                        .into(),
            });
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Reads and merges the shard files found under `paths` (see [`find_shard_files`]).
pub fn read_and_merge(paths: &[PathBuf]) -> Result<ShardResult> {
    let files = find_shard_files(paths)?;
    let shards = files
        .iter()
        .map(|f| read_shard(f))
        .collect::<Result<Vec<_>>>()?;
    Ok(dlscope_analyze::merge(shards)?)
}
