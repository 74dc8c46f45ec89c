//! Splitting the pass into shards and merging their results back into one.

use std::str::FromStr;

use dlscope_data::{Dataset, Format, Shape};
use serde::{Deserialize, Serialize};

use crate::error::{AnalyzeError, Result};
use crate::features::FeatureTable;
use crate::measure::MeanImageSpec;
use crate::profile::ProfileAccum;
use crate::settings::DecodeSettings;

/// Which samples one run of the pass takes. Samples are numbered over the splits in order
/// (split 0's samples, then split 1's, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
    pub layout: ShardLayout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardLayout {
    /// Sample number `n` belongs to shard `n mod count`.
    Strided,
    /// Shard `i` takes the `i`-th of `count` contiguous, near-equal ranges.
    Contiguous,
}

impl Shard {
    /// The whole dataset as one shard.
    pub fn whole() -> Self {
        Shard {
            index: 0,
            count: 1,
            layout: ShardLayout::Strided,
        }
    }

    pub fn new(index: u32, count: u32, layout: ShardLayout) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(AnalyzeError::ShardSpec {
                spec: format!("{index}/{count}"),
                why: "index must be below count, and count at least 1".into(),
            });
        }
        Ok(Shard {
            index,
            count,
            layout,
        })
    }

    /// Whether sample number `n` of `total` belongs to this shard.
    pub fn contains(&self, n: u64, total: u64) -> bool {
        match self.layout {
            ShardLayout::Strided => n % self.count as u64 == self.index as u64,
            ShardLayout::Contiguous => {
                let (i, c, t) = (self.index as u128, self.count as u128, total as u128);
                let (lo, hi) = (i * t / c, (i + 1) * t / c);
                (lo..hi).contains(&(n as u128))
            }
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)?;
        if self.layout == ShardLayout::Contiguous {
            f.write_str(":contiguous")?;
        }
        Ok(())
    }
}

/// Parses `INDEX/COUNT` (strided) or `INDEX/COUNT:contiguous`.
impl FromStr for Shard {
    type Err = AnalyzeError;
    fn from_str(s: &str) -> Result<Self> {
        let err = |why: &str| AnalyzeError::ShardSpec {
            spec: s.to_string(),
            why: why.to_string(),
        };
        let (body, layout) = match s.split_once(':') {
            None => (s, ShardLayout::Strided),
            Some((b, "strided")) => (b, ShardLayout::Strided),
            Some((b, "contiguous")) => (b, ShardLayout::Contiguous),
            Some(_) => return Err(err("layout must be 'strided' or 'contiguous'")),
        };
        let (i, n) = body.split_once('/').ok_or_else(|| err("missing '/'"))?;
        let i: u32 = i.trim().parse().map_err(|_| err("index is not a number"))?;
        let n: u32 = n.trim().parse().map_err(|_| err("count is not a number"))?;
        Shard::new(i, n, layout)
    }
}

/// The dataset facts a feature table belongs to (checked when shards merge and when findings
/// are made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetMeta {
    pub name: String,
    pub format: Format,
    pub classes: Vec<String>,
    pub splits: Vec<SplitMeta>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitMeta {
    pub name: String,
    pub len: u64,
    pub fixed_shape: Option<Shape>,
}

impl DatasetMeta {
    pub fn of(ds: &Dataset) -> Self {
        DatasetMeta {
            name: ds.name.clone(),
            format: ds.format,
            classes: ds.classes.clone(),
            splits: ds
                .splits
                .iter()
                .map(|s| SplitMeta {
                    name: s.name().to_string(),
                    len: s.len() as u64,
                    fixed_shape: s.fixed_shape(),
                })
                .collect(),
        }
    }

    /// Samples over all splits.
    pub fn total(&self) -> u64 {
        self.splits.iter().map(|s| s.len).sum()
    }

    pub fn split_names(&self) -> Vec<String> {
        self.splits.iter().map(|s| s.name.clone()).collect()
    }
}

/// The settings that shape the per-sample features; shards must agree on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassSettings {
    pub decode: DecodeSettings,
    pub mean_image: MeanImageSpec,
}

/// What one run of the pass produced: the profile counts and feature rows of its samples.
/// Serialize it to hand it to [`merge`] in another process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardResult {
    pub dataset: DatasetMeta,
    /// The shards this result covers (one after the pass; all of them after [`merge`]).
    pub shards: Vec<Shard>,
    pub pass: PassSettings,
    pub profile: ProfileAccum,
    pub features: FeatureTable,
}

impl ShardResult {
    /// Whether every sample of the dataset is in the table.
    pub fn is_complete(&self) -> bool {
        self.features.len() as u64 == self.dataset.total()
    }
}

/// Merges shard results of one dataset into one result, checking that they were made with the
/// same pass settings and that together they cover every sample exactly once. The merged
/// profile counts and feature table are exactly those of a whole-dataset pass.
pub fn merge(shards: Vec<ShardResult>) -> Result<ShardResult> {
    let mut it = shards.into_iter();
    let Some(mut out) = it.next() else {
        return Err(AnalyzeError::ShardMismatch {
            shard: "-".into(),
            why: "no shard results to merge".into(),
        });
    };
    let mut rows = std::mem::take(&mut out.features.rows);
    for s in it {
        let name = s
            .shards
            .iter()
            .map(Shard::to_string)
            .collect::<Vec<_>>()
            .join(",");
        if s.dataset != out.dataset {
            return Err(AnalyzeError::ShardMismatch {
                shard: name,
                why: "computed on a different dataset (name, classes or split sizes differ)".into(),
            });
        }
        if s.pass != out.pass {
            return Err(AnalyzeError::ShardMismatch {
                shard: name,
                why: "computed with different decode or mean-image settings".into(),
            });
        }
        out.profile.merge(&s.profile);
        out.shards.extend(s.shards);
        rows.extend(s.features.rows);
    }
    rows.sort_unstable_by_key(|r| r.key());
    check_coverage(&out.dataset, &rows)?;
    out.features.rows = rows;
    out.shards.sort_by_key(|s| (s.count, s.index));
    Ok(out)
}

/// Rows must be sorted; fails on a duplicate or (when all samples should be there) a gap.
fn check_coverage(meta: &DatasetMeta, rows: &[crate::SampleRow]) -> Result<()> {
    for w in rows.windows(2) {
        if w[0].key() == w[1].key() {
            return Err(AnalyzeError::ShardCoverage {
                split: split_name(meta, w[0].split),
                index: w[0].index,
                why: "is in more than one shard (were the same shards merged twice?)",
            });
        }
    }
    let mut expected = meta
        .splits
        .iter()
        .enumerate()
        .flat_map(|(s, m)| (0..m.len).map(move |i| (s as u16, i)));
    for r in rows {
        match expected.next() {
            Some(k) if k == r.key() => {}
            Some((s, i)) => {
                return Err(AnalyzeError::ShardCoverage {
                    split: split_name(meta, s),
                    index: i,
                    why: "is in none of the shards (is one missing?)",
                })
            }
            None => {
                return Err(AnalyzeError::ShardCoverage {
                    split: split_name(meta, r.split),
                    index: r.index,
                    why: "is not in the dataset",
                })
            }
        }
    }
    if let Some((s, i)) = expected.next() {
        return Err(AnalyzeError::ShardCoverage {
            split: split_name(meta, s),
            index: i,
            why: "is in none of the shards (is one missing?)",
        });
    }
    Ok(())
}

fn split_name(meta: &DatasetMeta, s: u16) -> String {
    meta.splits
        .get(s as usize)
        .map(|m| m.name.clone())
        .unwrap_or_else(|| format!("#{s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_samples() {
        for layout in [ShardLayout::Strided, ShardLayout::Contiguous] {
            for count in 1..6u32 {
                let total = 23u64;
                for n in 0..total {
                    let owners = (0..count)
                        .filter(|&i| Shard::new(i, count, layout).unwrap().contains(n, total))
                        .count();
                    assert_eq!(owners, 1, "{layout:?} {count} {n}");
                }
            }
        }
    }

    #[test]
    fn parses_specs() {
        let s: Shard = "2/5".parse().unwrap();
        assert_eq!((s.index, s.count, s.layout), (2, 5, ShardLayout::Strided));
        let s: Shard = "0/3:contiguous".parse().unwrap();
        assert_eq!(s.layout, ShardLayout::Contiguous);
        assert_eq!(s.to_string(), "0/3:contiguous");
        for bad in ["5/5", "1/0", "x/2", "1-2", "1/2:weird"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
