//! 2x2 max pooling with stride 2 (odd edges dropped, as Keras' `valid`) on channels-last samples.

use rayon::prelude::*;

/// Shapes of one pooling layer.
#[derive(Debug, Clone, Copy)]
pub struct PoolDims {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl PoolDims {
    pub fn out_height(&self) -> usize {
        self.height / 2
    }
    pub fn out_width(&self) -> usize {
        self.width / 2
    }
    pub fn in_len(&self) -> usize {
        self.height * self.width * self.channels
    }
    pub fn out_len(&self) -> usize {
        self.out_height() * self.out_width() * self.channels
    }
}

/// `y` = window maxima; `arg` records which of the four inputs won (first on ties).
pub fn forward(d: &PoolDims, batch: usize, x: &[f32], y: &mut [f32], arg: &mut [u8]) {
    let (il, ol) = (d.in_len(), d.out_len());
    let (ow, c, w) = (d.out_width(), d.channels, d.width);
    x[..batch * il]
        .par_chunks(il)
        .zip(y[..batch * ol].par_chunks_mut(ol))
        .zip(arg[..batch * ol].par_chunks_mut(ol))
        .for_each(|((xs, ys), args)| {
            for oy in 0..d.out_height() {
                for ox in 0..ow {
                    let base = (oy * ow + ox) * c;
                    let r0 = ((2 * oy) * w + 2 * ox) * c;
                    let r1 = r0 + w * c;
                    let taps = [r0, r0 + c, r1, r1 + c];
                    for ch in 0..c {
                        let mut best = xs[taps[0] + ch];
                        let mut which = 0u8;
                        for (k, &tap) in taps.iter().enumerate().skip(1) {
                            let v = xs[tap + ch];
                            if v > best {
                                best = v;
                                which = k as u8;
                            }
                        }
                        ys[base + ch] = best;
                        args[base + ch] = which;
                    }
                }
            }
        });
}

/// Routes each output gradient to the input that won its window; other inputs get zero.
pub fn backward(d: &PoolDims, batch: usize, dy: &[f32], arg: &[u8], dx: &mut [f32]) {
    let (il, ol) = (d.in_len(), d.out_len());
    let (ow, c, w) = (d.out_width(), d.channels, d.width);
    dx[..batch * il]
        .par_chunks_mut(il)
        .zip(dy[..batch * ol].par_chunks(ol))
        .zip(arg[..batch * ol].par_chunks(ol))
        .for_each(|((dxs, dys), args)| {
            dxs.fill(0.0);
            for oy in 0..d.out_height() {
                for ox in 0..ow {
                    let base = (oy * ow + ox) * c;
                    let r0 = ((2 * oy) * w + 2 * ox) * c;
                    let r1 = r0 + w * c;
                    let taps = [r0, r0 + c, r1, r1 + c];
                    for ch in 0..c {
                        dxs[taps[args[base + ch] as usize] + ch] = dys[base + ch];
                    }
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_window_maxima_and_routes_gradients_back() {
        // One 4x5x1 sample: the odd last column is dropped.
        let d = PoolDims {
            height: 4,
            width: 5,
            channels: 1,
        };
        #[rustfmt::skip]
        let x = [
            1., 2., 0., 9., 7.,
            4., 3., 5., 1., 7.,
            0., 0., 8., 6., 7.,
            -1., 2., 6., 9., 7.,
        ];
        let (mut y, mut arg) = ([0.0; 4], [0u8; 4]);
        forward(&d, 1, &x, &mut y, &mut arg);
        assert_eq!(y, [4., 9., 2., 9.]);
        let mut dx = [1.0; 20];
        backward(&d, 1, &[10., 20., 30., 40.], &arg, &mut dx);
        let mut want = [0.0; 20];
        want[5] = 10.;
        want[3] = 20.;
        want[16] = 30.;
        want[18] = 40.;
        assert_eq!(dx, want);
    }
}
