//! Which features a method runs on: raw pixels scaled to `[0, 1]`, or their first principal
//! components.

use std::str::FromStr;

use crate::error::{MlError, Result};
use crate::matrix::Matrix;
use crate::pca::{Pca, PcaParams};

/// Feature space for clustering and reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureSpec {
    /// Every pixel channel `/ 255`.
    Pixels,
    /// The first `n` principal components of the scaled pixels.
    Pca(usize),
}

impl FromStr for FeatureSpec {
    type Err = MlError;
    /// `pixels`, `pca` (50 components) or `pca:N`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pixels" => Ok(FeatureSpec::Pixels),
            "pca" => Ok(FeatureSpec::Pca(50)),
            _ => match s.strip_prefix("pca:").map(str::parse::<usize>) {
                Some(Ok(n)) if n > 0 => Ok(FeatureSpec::Pca(n)),
                _ => Err(MlError::param(
                    "features",
                    s,
                    "expected pixels, pca or pca:N with N >= 1",
                )),
            },
        }
    }
}

impl std::fmt::Display for FeatureSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeatureSpec::Pixels => f.write_str("pixels"),
            FeatureSpec::Pca(n) => write!(f, "pca:{n}"),
        }
    }
}

/// A feature matrix and the PCA that produced it, if any.
#[derive(Debug, Clone)]
pub struct Features {
    pub matrix: Matrix,
    pub pca: Option<Pca>,
}

impl FeatureSpec {
    /// Features of `n` images of `per_image` bytes each.
    pub fn compute(&self, pixels: &[u8], per_image: usize, seed: u64) -> Result<Features> {
        let x = Matrix::from_pixels(pixels, per_image)?;
        match *self {
            FeatureSpec::Pixels => Ok(Features {
                matrix: x,
                pca: None,
            }),
            FeatureSpec::Pca(k) => {
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
}
