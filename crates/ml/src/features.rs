//! Which features a method runs on: raw pixels scaled to `[0, 1]`, their first principal
//! components, or the rows of an embeddings file written by `dlscope embed` (optionally
//! followed by PCA).
//!
//! Syntax (`--features`): `pixels`, `pca` (= `pca:50`), `pca:N`, `embeddings:FILE`,
//! `embeddings:FILE,pca:N`.

use std::path::PathBuf;
use std::str::FromStr;

use dlscope_data::embeddings::Embeddings;
use dlscope_data::Split;

use crate::error::{MlError, Result};
use crate::matrix::Matrix;
use crate::pca::{Pca, PcaParams};

/// Feature space for clustering and reduction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSpec {
    /// Every pixel channel `/ 255`.
    Pixels,
    /// The first `n` principal components of the scaled pixels.
    Pca(usize),
    /// The rows of an embeddings file (`dlscope embed`), lined up with the samples by their
    /// split and id; then its first `pca` principal components when given.
    Embeddings { path: PathBuf, pca: Option<usize> },
}

const EXPECTED: &str = "expected pixels, pca, pca:N, embeddings:FILE or embeddings:FILE,pca:N \
                        with N >= 1";

fn parse_pca(s: &str) -> Option<usize> {
    match s {
        "pca" => Some(50),
        _ => s
            .strip_prefix("pca:")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n > 0),
    }
}

impl FromStr for FeatureSpec {
    type Err = MlError;
    /// `pixels`, `pca` (50 components), `pca:N`, `embeddings:FILE` or `embeddings:FILE,pca:N`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || MlError::param("features", s, EXPECTED);
        if s == "pixels" {
            return Ok(FeatureSpec::Pixels);
        }
        if let Some(rest) = s.strip_prefix("embeddings:") {
            // A trailing `,pca...` is the projection; any other comma belongs to the path.
            let (file, pca) = match rest.rsplit_once(',') {
                Some((file, tail)) if tail.starts_with("pca") => {
                    (file, Some(parse_pca(tail).ok_or_else(bad)?))
                }
                _ => (rest, None),
            };
            if file.is_empty() {
                return Err(bad());
            }
            return Ok(FeatureSpec::Embeddings {
                path: PathBuf::from(file),
                pca,
            });
        }
        parse_pca(s).map(FeatureSpec::Pca).ok_or_else(bad)
    }
}

impl std::fmt::Display for FeatureSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeatureSpec::Pixels => f.write_str("pixels"),
            FeatureSpec::Pca(n) => write!(f, "pca:{n}"),
            FeatureSpec::Embeddings { path, pca } => {
                write!(f, "embeddings:{}", path.display())?;
                match pca {
                    Some(n) => write!(f, ",pca:{n}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A feature matrix and the PCA that produced it, if any.
#[derive(Debug, Clone)]
pub struct Features {
    pub matrix: Matrix,
    pub pca: Option<Pca>,
}

/// `x`, or its first `k` principal components.
fn project(x: Matrix, pca: Option<usize>, seed: u64) -> Result<Features> {
    match pca {
        None => Ok(Features {
            matrix: x,
            pca: None,
        }),
        Some(k) => {
            let k = k.min(x.rows.min(x.cols));
            let pca = Pca::fit(x.view(), &PcaParams::new(k).seed(seed))?;
            let matrix = pca.transform(x.view())?;
            Ok(Features {
                matrix,
                pca: Some(pca),
            })
        }
    }
}

/// The embeddings of the samples of `splits`, concatenated in that order (row `i` of each split
/// = its sample `i`); only the first `take` rows when given. Errors name the file and the first
/// sample without an embedding (or the row whose id the split lacks).
pub fn embeddings_matrix(
    path: &std::path::Path,
    splits: &[&Split],
    take: Option<usize>,
) -> Result<Matrix> {
    let emb = Embeddings::read(path)?;
    let mut data = Vec::new();
    for split in splits {
        data.extend(emb.for_split(split)?);
    }
    let mut rows = data.len() / emb.dim.max(1);
    if let Some(t) = take {
        rows = rows.min(t);
        data.truncate(rows * emb.dim);
    }
    Matrix::new(data, rows, emb.dim)
}

impl FeatureSpec {
    /// Whether the features are computed from the decoded pixels (`false`: read from a file).
    pub fn uses_pixels(&self) -> bool {
        !matches!(self, FeatureSpec::Embeddings { .. })
    }

    /// Features of `n` images of `per_image` bytes each. Pixel specs only: embeddings need
    /// the samples' identity, see [`FeatureSpec::compute_for`].
    pub fn compute(&self, pixels: &[u8], per_image: usize, seed: u64) -> Result<Features> {
        match self {
            FeatureSpec::Pixels => project(Matrix::from_pixels(pixels, per_image)?, None, seed),
            FeatureSpec::Pca(k) => project(Matrix::from_pixels(pixels, per_image)?, Some(*k), seed),
            FeatureSpec::Embeddings { .. } => Err(MlError::param(
                "features",
                self,
                "embeddings are matched to samples by split and id: use compute_for",
            )),
        }
    }

    /// Features of the samples of `splits`, concatenated in that order, limited to the first
    /// `take` rows when given. Pixel specs compute them from `pixels` (those same rows,
    /// `per_image` bytes each); embeddings specs read their file and ignore `pixels`.
    pub fn compute_for(
        &self,
        splits: &[&Split],
        take: Option<usize>,
        pixels: &[u8],
        per_image: usize,
        seed: u64,
    ) -> Result<Features> {
        match self {
            FeatureSpec::Embeddings { path, pca } => {
                project(embeddings_matrix(path, splits, take)?, *pca, seed)
            }
            _ => self.compute(pixels, per_image, seed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_computes() {
        assert_eq!(
            "pixels".parse::<FeatureSpec>().unwrap(),
            FeatureSpec::Pixels
        );
        assert_eq!(
            "pca:12".parse::<FeatureSpec>().unwrap(),
            FeatureSpec::Pca(12)
        );
        assert_eq!("pca".parse::<FeatureSpec>().unwrap().to_string(), "pca:50");
        assert!("pca:0".parse::<FeatureSpec>().is_err() && "raw".parse::<FeatureSpec>().is_err());
        let px: Vec<u8> = (0..40).map(|i| (i * 37 % 256) as u8).collect();
        let f = FeatureSpec::Pca(3).compute(&px, 4, 0).unwrap();
        assert_eq!((f.matrix.rows, f.matrix.cols), (10, 3));
        let p = FeatureSpec::Pixels.compute(&px, 4, 0).unwrap();
        assert_eq!(p.matrix.data[1], 37.0 / 255.0);
    }

    #[test]
    fn parses_embeddings() {
        let e = "embeddings:out/emb.safetensors"
            .parse::<FeatureSpec>()
            .unwrap();
        assert_eq!(
            e,
            FeatureSpec::Embeddings {
                path: "out/emb.safetensors".into(),
                pca: None
            }
        );
        assert!(!e.uses_pixels() && FeatureSpec::Pca(3).uses_pixels());
        let p = "embeddings:a,b.st,pca:20".parse::<FeatureSpec>().unwrap();
        assert_eq!(
            p,
            FeatureSpec::Embeddings {
                path: "a,b.st".into(),
                pca: Some(20)
            }
        );
        assert_eq!(p.to_string(), "embeddings:a,b.st,pca:20");
        assert_eq!(
            "embeddings:e.st,pca"
                .parse::<FeatureSpec>()
                .unwrap()
                .to_string(),
            "embeddings:e.st,pca:50"
        );
        let comma = "embeddings:a,b.st".parse::<FeatureSpec>().unwrap();
        assert_eq!(comma.to_string(), "embeddings:a,b.st");
        for bad in [
            "embeddings:",
            "embeddings:e.st,pca:0",
            "embeddings:e.st,pca:x",
        ] {
            assert!(bad.parse::<FeatureSpec>().is_err(), "{bad}");
        }
        // Embeddings need the samples' identity, not bare pixels.
        assert!(e.compute(&[0u8; 8], 4, 0).is_err());
    }
}
