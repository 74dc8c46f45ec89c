//! Area-average resampling (box filter with exact pixel coverage), separable, into caller-owned
//! buffers so the per-sample path allocates nothing once its scratch has grown.

/// Resampling weights along one axis: output pixel `j` is `sum(w * src[start_j + k])`.
#[derive(Debug, Default)]
pub(crate) struct Axis {
    starts: Vec<u32>,
    lens: Vec<u32>,
    /// `lens[j]` weights per output pixel, flattened, each output's weights summing to 1.
    weights: Vec<f32>,
}

impl Axis {
    /// The weights of resampling `n_in` samples to `n_out` as a dense `n_out x n_in` matrix
    /// (row-major), the same as [`Axis::build`] applies.
    pub(crate) fn dense(n_in: usize, n_out: usize) -> Vec<f32> {
        let mut a = Axis::default();
        a.build(n_in, n_out);
        let mut m = vec![0f32; n_out * n_in];
        let mut wi = 0usize;
        for j in 0..n_out {
            let (start, len) = (a.starts[j] as usize, a.lens[j] as usize);
            for k in 0..len {
                m[j * n_in + start + k] = a.weights[wi + k];
            }
            wi += len;
        }
        m
    }

    /// Weights for resampling `n_in` samples to `n_out` by area coverage. Upsampling gives each
    /// output the input pixel(s) it overlaps (a box, no ringing).
    pub(crate) fn build(&mut self, n_in: usize, n_out: usize) {
        self.starts.clear();
        self.lens.clear();
        self.weights.clear();
        let scale = n_in as f64 / n_out as f64;
        for j in 0..n_out {
            let lo = j as f64 * scale;
            let hi = ((j + 1) as f64 * scale).min(n_in as f64);
            let first = (lo.floor() as usize).min(n_in - 1);
            let last = ((hi.ceil() as usize).max(first + 1)).min(n_in);
            self.starts.push(first as u32);
            self.lens.push((last - first) as u32);
            let mut sum = 0.0f64;
            let base = self.weights.len();
            for i in first..last {
                let overlap = (hi.min((i + 1) as f64) - lo.max(i as f64)).max(0.0);
                self.weights.push(overlap as f32);
                sum += overlap;
            }
            let inv = if sum > 0.0 { 1.0 / sum } else { 0.0 };
            for w in &mut self.weights[base..] {
                *w = (*w as f64 * inv) as f32;
            }
            if sum <= 0.0 {
                // Degenerate (cannot happen for n_in >= 1); fall back to the first pixel.
                self.weights[base] = 1.0;
            }
        }
    }
}

/// Reusable buffers of one resampling.
#[derive(Debug, Default)]
pub(crate) struct Resampler {
    x: Axis,
    y: Axis,
    tmp: Vec<f32>,
    /// Integer column sums of the inner rows of one output row ([`Resampler::resize_u8`]).
    sums: Vec<u16>,
}

/// Most `u8` rows a `u16` column sum holds without overflow.
const U16_ROWS: usize = (u16::MAX / u8::MAX as u16) as usize;

/// Pixel types that resample as f32.
pub(crate) trait Px: Copy {
    fn f(self) -> f32;
}
impl Px for u8 {
    #[inline(always)]
    fn f(self) -> f32 {
        self as f32
    }
}
impl Px for f32 {
    #[inline(always)]
    fn f(self) -> f32 {
        self
    }
}

impl Resampler {
    /// Resamples `src` (`h` rows of `w` pixels of `c` interleaved channels) to `ow x oh`,
    /// writing `oh * ow * c` values into `out` (resized to fit).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn resize<T: Px>(
        &mut self,
        src: &[T],
        w: usize,
        h: usize,
        c: usize,
        ow: usize,
        oh: usize,
        out: &mut Vec<f32>,
    ) {
        debug_assert_eq!(src.len(), w * h * c);
        self.x.build(w, ow);
        self.y.build(h, oh);
        // Horizontal pass: h rows of ow pixels.
        self.tmp.clear();
        self.tmp.resize(h * ow * c, 0.0);
        for y in 0..h {
            let row = &src[y * w * c..(y + 1) * w * c];
            let dst = &mut self.tmp[y * ow * c..(y + 1) * ow * c];
            let mut wi = 0usize;
            for j in 0..ow {
                let start = self.x.starts[j] as usize;
                let len = self.x.lens[j] as usize;
                let ws = &self.x.weights[wi..wi + len];
                wi += len;
                for ch in 0..c {
                    let mut acc = 0.0f32;
                    for (k, &wt) in ws.iter().enumerate() {
                        acc += wt * row[(start + k) * c + ch].f();
                    }
                    dst[j * c + ch] = acc;
                }
            }
        }
        // Vertical pass: oh rows, each a weighted sum of tmp rows.
        out.clear();
        out.resize(oh * ow * c, 0.0);
        let stride = ow * c;
        let mut wi = 0usize;
        for i in 0..oh {
            let start = self.y.starts[i] as usize;
            let len = self.y.lens[i] as usize;
            let dst = &mut out[i * stride..(i + 1) * stride];
            for k in 0..len {
                let wt = self.y.weights[wi + k];
                let srow = &self.tmp[(start + k) * stride..(start + k + 1) * stride];
                for (d, s) in dst.iter_mut().zip(srow) {
                    *d += wt * s;
                }
            }
            wi += len;
        }
    }
}

impl Resampler {
    /// [`Resampler::resize`] for `u8` pixels, vertical axis first, for large downscales: the
    /// input rows an output row fully covers share one weight, so they are summed as integers
    /// (vectorised, exact) and weighted once; only the two partly covered rows are weighted
    /// per pixel. The horizontal pass then runs on `oh` rows instead of `h`. The result equals
    /// [`Resampler::resize`] up to `f32` rounding; an unchanged size is copied exactly.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn resize_u8(
        &mut self,
        src: &[u8],
        w: usize,
        h: usize,
        c: usize,
        ow: usize,
        oh: usize,
        out: &mut Vec<f32>,
    ) {
        debug_assert_eq!(src.len(), w * h * c);
        out.clear();
        if (ow, oh) == (w, h) {
            out.extend(src.iter().map(|&v| f32::from(v)));
            return;
        }
        self.x.build(w, ow);
        self.y.build(h, oh);
        let stride = w * c;
        // Vertical pass: oh rows of w pixels.
        self.tmp.clear();
        self.tmp.resize(oh * stride, 0.0);
        self.sums.resize(stride, 0);
        let mut wi = 0usize;
        for (i, dst) in self.tmp.chunks_exact_mut(stride).enumerate() {
            let start = self.y.starts[i] as usize;
            let len = self.y.lens[i] as usize;
            let ws = &self.y.weights[wi..wi + len];
            wi += len;
            let rows = &src[start * stride..(start + len) * stride];
            let mut row = rows.chunks_exact(stride);
            // Partly covered first and last rows (or the only ones).
            let edges = [Some(0), (len >= 2).then_some(len - 1)];
            for k in edges.into_iter().flatten() {
                let wt = ws[k];
                for (d, &p) in dst.iter_mut().zip(&rows[k * stride..(k + 1) * stride]) {
                    *d += wt * f32::from(p);
                }
            }
            if len < 3 {
                continue;
            }
            // Fully covered inner rows: equal weights, summed as integers.
            let inner = ws[1];
            row.next();
            let mut left = len - 2;
            while left > 0 {
                let take = left.min(U16_ROWS);
                self.sums.fill(0);
                for r in row.by_ref().take(take) {
                    for (a, &p) in self.sums.iter_mut().zip(r) {
                        *a += u16::from(p);
                    }
                }
                for (d, &a) in dst.iter_mut().zip(&self.sums) {
                    *d += inner * f32::from(a);
                }
                left -= take;
            }
        }
        // Horizontal pass on the oh rows.
        out.resize(oh * ow * c, 0.0);
        match c {
            1 => horizontal::<1>(&self.tmp, stride, &self.x, out),
            3 => horizontal::<3>(&self.tmp, stride, &self.x, out),
            _ => {
                for (row, dst) in self
                    .tmp
                    .chunks_exact(stride)
                    .zip(out.chunks_exact_mut(ow * c))
                {
                    let mut wi = 0usize;
                    for (j, px) in dst.chunks_exact_mut(c).enumerate() {
                        let start = self.x.starts[j] as usize;
                        let len = self.x.lens[j] as usize;
                        for (k, &wt) in self.x.weights[wi..wi + len].iter().enumerate() {
                            for (o, &v) in px.iter_mut().zip(&row[(start + k) * c..]) {
                                *o += wt * v;
                            }
                        }
                        wi += len;
                    }
                }
            }
        }
    }
}

/// Horizontal area resampling of rows of `stride` values (`C` interleaved channels).
fn horizontal<const C: usize>(src: &[f32], stride: usize, x: &Axis, out: &mut [f32]) {
    let ow = x.starts.len();
    for (row, dst) in src.chunks_exact(stride).zip(out.chunks_exact_mut(ow * C)) {
        let mut wi = 0usize;
        for (j, px) in dst.chunks_exact_mut(C).enumerate() {
            let start = x.starts[j] as usize;
            let len = x.lens[j] as usize;
            let taps = &row[start * C..(start + len) * C];
            let mut acc = [0f32; C];
            for (wt, v) in x.weights[wi..wi + len].iter().zip(taps.chunks_exact(C)) {
                for (a, &x) in acc.iter_mut().zip(v) {
                    *a += wt * x;
                }
            }
            px.copy_from_slice(&acc);
            wi += len;
        }
    }
}

/// The size that fits `w x h` within `max x max` keeping the aspect ratio (never upscaling;
/// each side at least 1).
pub(crate) fn fit_within(w: usize, h: usize, max: usize) -> (usize, usize) {
    if w <= max && h <= max {
        return (w, h);
    }
    let s = max as f64 / w.max(h) as f64;
    (
        ((w as f64 * s).round() as usize).clamp(1, max),
        ((h as f64 * s).round() as usize).clamp(1, max),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downscale_averages_blocks_exactly() {
        // 4x2 grey -> 2x1: each output is the mean of a 2x2 block.
        let src: Vec<u8> = vec![0, 10, 100, 200, 20, 30, 0, 100];
        let mut r = Resampler::default();
        let mut out = Vec::new();
        r.resize(&src, 4, 2, 1, 2, 1, &mut out);
        assert_eq!(out.len(), 2);
        assert!((out[0] - 15.0).abs() < 1e-4, "{out:?}");
        assert!((out[1] - 100.0).abs() < 1e-4, "{out:?}");
    }

    #[test]
    fn fractional_downscale_keeps_the_mean_and_constant_images() {
        let (w, h) = (28, 28);
        let src: Vec<u8> = (0..w * h).map(|i| (i * 7 % 256) as u8).collect();
        let mean_in = src.iter().map(|&v| v as f64).sum::<f64>() / src.len() as f64;
        let mut r = Resampler::default();
        let mut out = Vec::new();
        r.resize(&src, w, h, 1, 8, 8, &mut out);
        let mean_out = out.iter().map(|&v| v as f64).sum::<f64>() / out.len() as f64;
        assert!((mean_in - mean_out).abs() < 1e-2, "{mean_in} vs {mean_out}");
        let flat = vec![77u8; 3 * 13 * 9];
        r.resize(&flat, 13, 9, 3, 32, 32, &mut out);
        assert!(out.iter().all(|&v| (v - 77.0).abs() < 1e-3));
    }

    #[test]
    fn channels_stay_separate() {
        let src: Vec<u8> = (0..6 * 6).flat_map(|_| [255u8, 0, 9]).collect();
        let mut r = Resampler::default();
        let mut out = Vec::new();
        r.resize(&src, 6, 6, 3, 4, 4, &mut out);
        for px in out.chunks(3) {
            assert!(
                (px[0] - 255.0).abs() < 1e-3 && px[1].abs() < 1e-3 && (px[2] - 9.0).abs() < 1e-3
            );
        }
    }

    #[test]
    fn u8_resize_matches_the_plain_one() {
        let mut r = Resampler::default();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for &(w, h, c, ow, oh) in &[
            (500, 375, 3, 32, 32),
            (500, 375, 1, 64, 48),
            (375, 500, 1, 48, 64),
            (29, 31, 3, 64, 50),
            (28, 28, 1, 28, 28),
            (1000, 3, 1, 7, 1),
            (40, 700, 1, 5, 2),
            (17, 9, 4, 6, 4),
        ] {
            let src: Vec<u8> = (0..w * h * c)
                .map(|i| ((i * 37 + i / 7 * 11) % 256) as u8)
                .collect();
            r.resize(&src, w, h, c, ow, oh, &mut a);
            r.resize_u8(&src, w, h, c, ow, oh, &mut b);
            assert_eq!(b.len(), ow * oh * c);
            let worst = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-3, "{w}x{h}x{c} -> {ow}x{oh}: off by {worst}");
        }
        // More inner rows than a u16 column sum holds at once.
        let src = vec![255u8; 3 * 600];
        r.resize_u8(&src, 3, 600, 1, 3, 1, &mut b);
        assert!(b.iter().all(|&v| (v - 255.0).abs() < 1e-2), "{b:?}");
    }

    #[test]
    fn fit_within_keeps_aspect() {
        assert_eq!(fit_within(28, 28, 64), (28, 28));
        assert_eq!(fit_within(500, 375, 64), (64, 48));
        assert_eq!(fit_within(10, 1000, 64), (1, 64));
    }
}
