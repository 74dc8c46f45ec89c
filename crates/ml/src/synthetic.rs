//! Seeded synthetic data for tests and benchmarks: Gaussian blobs with known labels.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::matrix::Matrix;

/// A standard normal draw (Box-Muller).
pub fn normal(rng: &mut impl Rng) -> f64 {
    loop {
        let u: f64 = rng.random();
        if u > 0.0 {
            let v: f64 = rng.random();
            return (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        }
    }
}

/// `per_cluster` points around each row of `centers` (`k x d`), isotropic normal noise with
/// standard deviation `std`; rows are interleaved (point `i` belongs to blob `i % k`).
/// Returns the points and their blob index.
pub fn blobs(centers: &Matrix, per_cluster: usize, std: f64, seed: u64) -> (Matrix, Vec<u32>) {
    let (k, d) = (centers.rows, centers.cols);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut data = Vec::with_capacity(k * per_cluster * d);
    let mut labels = Vec::with_capacity(k * per_cluster);
    for _ in 0..per_cluster {
        for j in 0..k {
            for &c in centers.row(j) {
                data.push((c as f64 + std * normal(&mut rng)) as f32);
            }
            labels.push(j as u32);
        }
    }
    (
        Matrix {
            data,
            rows: k * per_cluster,
            cols: d,
        },
        labels,
    )
}

/// `k` centres in `d` dimensions drawn uniformly from `[-scale, scale]^d`.
pub fn random_centers(k: usize, d: usize, scale: f64, seed: u64) -> Matrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let data = (0..k * d)
        .map(|_| (rng.random::<f64>() * 2.0 - 1.0) as f32 * scale as f32)
        .collect();
    Matrix {
        data,
        rows: k,
        cols: d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_has_unit_moments() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let v: Vec<f64> = (0..200_000).map(|_| normal(&mut rng)).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.01, "{var}");
    }

    #[test]
    fn blobs_are_seeded_and_labelled() {
        let c = random_centers(3, 4, 10.0, 7);
        let (a, la) = blobs(&c, 5, 0.1, 3);
        let (b, _) = blobs(&c, 5, 0.1, 3);
        assert_eq!(a, b);
        assert_eq!((a.rows, a.cols), (15, 4));
        assert_eq!(&la[..4], &[0, 1, 2, 0]);
        // Point 4 is near centre 1.
        let dist: f32 = a
            .row(4)
            .iter()
            .zip(c.row(1))
            .map(|(x, y)| (x - y).abs())
            .sum();
        assert!(dist < 2.0);
    }
}
