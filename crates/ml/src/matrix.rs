//! Row-major `f32` feature matrices: a borrowed view ([`MatRef`]) that every method takes, and an
//! owned [`Matrix`] for results (PCA projections, centroids) and for pixels scaled to `[0, 1]`.

use rayon::prelude::*;

use crate::error::{MlError, Result};

/// A borrowed `rows x cols` row-major matrix: sample `i` is `data[i * cols..(i + 1) * cols]`.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatRef<'a> {
    /// Wraps `data`, checking that it holds exactly `rows * cols` values.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        let expected = rows.checked_mul(cols).ok_or_else(|| {
            MlError::param("rows x cols", format!("{rows} x {cols}"), "overflows usize")
        })?;
        if data.len() != expected {
            return Err(MlError::BadShape {
                what: "feature matrix",
                rows,
                cols,
                expected,
                got: data.len(),
            });
        }
        Ok(MatRef { data, rows, cols })
    }
    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }
    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
    /// Fails on the first NaN or infinite value, naming its row and column.
    pub fn check_finite(&self, what: &'static str) -> Result<()> {
        let bad = self
            .data
            .par_chunks(self.cols.max(1) * 1024)
            .enumerate()
            .find_map_first(|(c, chunk)| {
                chunk
                    .iter()
                    .position(|v| !v.is_finite())
                    .map(|p| (c * self.cols.max(1) * 1024 + p, chunk[p]))
            });
        match bad {
            Some((at, value)) => Err(MlError::NotFinite {
                what,
                row: at / self.cols.max(1),
                col: at % self.cols.max(1),
                value,
            }),
            None => Ok(()),
        }
    }
    /// Per-column mean and variance (population, ddof = 0), accumulated in `f64`.
    pub fn column_mean_var(&self) -> (Vec<f64>, Vec<f64>) {
        let d = self.cols;
        if self.rows == 0 {
            return (vec![0.0; d], vec![0.0; d]);
        }
        let block = 1024;
        let sums = self
            .data
            .par_chunks(block * d.max(1))
            .map(|chunk| {
                let mut s = vec![0.0f64; d];
                for row in chunk.chunks_exact(d.max(1)) {
                    for (a, &v) in s.iter_mut().zip(row) {
                        *a += v as f64;
                    }
                }
                s
            })
            .reduce(|| vec![0.0; d], add_vecs);
        let n = self.rows as f64;
        let mean: Vec<f64> = sums.iter().map(|s| s / n).collect();
        // Second pass on centred values: no cancellation.
        let sq = self
            .data
            .par_chunks(block * d.max(1))
            .map(|chunk| {
                let mut s = vec![0.0f64; d];
                for row in chunk.chunks_exact(d.max(1)) {
                    for ((a, &v), m) in s.iter_mut().zip(row).zip(&mean) {
                        let c = v as f64 - m;
                        *a += c * c;
                    }
                }
                s
            })
            .reduce(|| vec![0.0; d], add_vecs);
        let var = sq.iter().map(|s| s / n).collect();
        (mean, var)
    }
    /// Copies the rows `idx` (in that order) into a new matrix.
    pub fn select_rows(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            data,
            rows: idx.len(),
            cols: self.cols,
        }
    }
}

fn add_vecs(mut a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

/// An owned row-major `f32` matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub data: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
}

impl Matrix {
    /// Wraps `data`, checking its length.
    pub fn new(data: Vec<f32>, rows: usize, cols: usize) -> Result<Self> {
        MatRef::new(&data, rows, cols)?;
        Ok(Matrix { data, rows, cols })
    }
    /// A matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            data: vec![0.0; rows * cols],
            rows,
            cols,
        }
    }
    /// Pixels (`n` images of `per_image` bytes each, e.g. [`dlscope_data::Dense::pixels`]) as
    /// features scaled to `[0, 1]` (`/ 255`).
    pub fn from_pixels(pixels: &[u8], per_image: usize) -> Result<Self> {
        if per_image == 0 || pixels.len() % per_image != 0 {
            return Err(MlError::param(
                "per_image",
                per_image,
                format!(
                    "the pixel buffer has {} bytes, not a multiple of the image size",
                    pixels.len()
                ),
            ));
        }
        let mut data = vec![0.0f32; pixels.len()];
        data.par_chunks_mut(1 << 16)
            .zip(pixels.par_chunks(1 << 16))
            .for_each(|(dst, src)| {
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = s as f32 / 255.0;
                }
            });
        Ok(Matrix {
            rows: pixels.len() / per_image,
            cols: per_image,
            data,
        })
    }
    pub fn view(&self) -> MatRef<'_> {
        MatRef {
            data: &self.data,
            rows: self.rows,
            cols: self.cols,
        }
    }
    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_checked() {
        let v = vec![0.0f32; 6];
        assert!(MatRef::new(&v, 2, 3).is_ok());
        assert!(matches!(
            MatRef::new(&v, 4, 2),
            Err(MlError::BadShape { expected: 8, .. })
        ));
    }

    #[test]
    fn non_finite_is_located() {
        let mut v = vec![0.0f32; 12];
        v[7] = f32::NAN;
        let m = MatRef::new(&v, 4, 3).unwrap();
        match m.check_finite("x") {
            Err(MlError::NotFinite { row, col, .. }) => assert_eq!((row, col), (2, 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mean_var_match_hand_values() {
        let v = [1.0f32, 10.0, 3.0, 10.0, 5.0, 40.0];
        let m = MatRef::new(&v, 3, 2).unwrap();
        let (mean, var) = m.column_mean_var();
        assert_eq!(mean, vec![3.0, 20.0]);
        assert!((var[0] - 8.0 / 3.0).abs() < 1e-12);
        assert!((var[1] - 200.0).abs() < 1e-9);
    }

    #[test]
    fn pixels_scale_to_unit() {
        let m = Matrix::from_pixels(&[0, 255, 51, 102], 2).unwrap();
        assert_eq!((m.rows, m.cols), (2, 2));
        assert_eq!(m.data, vec![0.0, 1.0, 0.2, 0.4]);
        assert!(Matrix::from_pixels(&[1, 2, 3], 2).is_err());
    }
}
