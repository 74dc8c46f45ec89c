//! Per-layer CPU-time profile of VGG16's convolutions on the CPU engine: the layer as built
//! (Winograd F(2x2, 3x3) where it applies), the same layer forced to im2col, and a raw `gemm`
//! call of the im2col product's M x K x N in the same process (the ceiling for im2col).
//!
//!     RAYON_NUM_THREADS=1 cargo run --release -p dlscope-vision --example layer_profile -- \
//!         [--threads 1] [--reps 3] [--batch 1]
//!
//! The measure is CPU time (the sum of every thread's `/proc/self/task/*/schedstat` run time),
//! not wall time, so it stays meaningful while other processes share the cores: a layer that
//! takes 40 ms of CPU takes 40 ms whether the machine is busy or not (caches aside). With one
//! thread, GFLOP/s = 2*M*K*N / CPU time. Linux only.

mod common;

use std::time::Instant;

use dlscope_vision::cpu::{self, pool, Act, Activation, Algorithm, Conv2d, Padding};

use common::{arg, cpu_seconds};

/// Mean (cpu seconds, wall seconds) per run over `reps` runs of `f` after one warm-up (the
/// CPU clock here can tick in milliseconds, so the runs are timed together).
fn measure(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let (c0, w0) = (cpu_seconds(), Instant::now());
    for _ in 0..reps {
        f();
    }
    let r = reps.max(1) as f64;
    ((cpu_seconds() - c0) / r, w0.elapsed().as_secs_f64() / r)
}

fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 2654435761 + seed * 40503) % 4096) as f32 / 40960.0 - 0.05)
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let threads = arg(&args, "--threads", 1);
    let reps = arg(&args, "--reps", 10);
    let n = arg(&args, "--batch", 1);
    let cfg: &[usize] = &[
        64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
    ];
    cpu::with_threads(
        Some(threads),
        || -> Result<(), dlscope_vision::VisionError> {
            let (mut h, mut cin) = (224usize, 3usize);
            let mut x = Act::new(n, h, h, cin, values(n * h * h * cin, 1))?;
            let (mut tot_conv, mut tot_im2col, mut tot_gemm) = (0.0, 0.0, 0.0);
            let (mut tot_pool, mut flops) = (0.0, 0.0);
            println!(
                "{:<8} {:>6} {:>5} {:>4} {:>4} {:>8} {:>8} {:>7} {:>8} {:>7} {:>8} {:>7} {:>7}",
                "layer",
                "M",
                "K",
                "N",
                "alg",
                "cpu ms",
                "wall ms",
                "GF/s*",
                "im2col",
                "GF/s",
                "gemm ms",
                "GF/s",
                "speedup"
            );
            for (i, &v) in cfg.iter().enumerate() {
                if v == 0 {
                    let (c, w) = measure(reps, || {
                        std::hint::black_box(pool::max_pool(&x, 2, 2));
                    });
                    tot_pool += c;
                    println!("pool{i:<4} {:>32.2} {:>8.2}", c * 1e3, w * 1e3);
                    x = pool::max_pool(&x, 2, 2);
                    h /= 2;
                    continue;
                }
                let w = values(v * cin * 9, 2 + i);
                let b = values(v, 3 + i);
                let conv = Conv2d::new(
                    &w,
                    v,
                    cin,
                    3,
                    Some(&b),
                    None,
                    1,
                    Padding::Symmetric(1),
                    Activation::Relu,
                )?;
                let (m, k, nn) = (n * h * h, 9 * cin, v);
                let f = 2.0 * (m * k * nn) as f64;
                let (c, wall) = measure(reps, || {
                    std::hint::black_box(conv.forward(&x, None));
                });
                let mut plain = conv.clone();
                plain.set_algorithm(Algorithm::Im2col);
                let (ci, _) = measure(reps, || {
                    std::hint::black_box(plain.forward(&x, None));
                });
                drop(plain);
                // The ceiling: one gemm of the same shape, operands already laid out.
                let a = values(m * k, 4);
                let bm = values(k * nn, 5);
                let mut d = vec![0f32; m * nn];
                let par = if threads > 1 {
                    gemm::Parallelism::Rayon(threads)
                } else {
                    gemm::Parallelism::None
                };
                let (g, _) = measure(reps, || unsafe {
                    gemm::gemm(
                        m,
                        nn,
                        k,
                        d.as_mut_ptr(),
                        1,
                        nn as isize,
                        false,
                        a.as_ptr(),
                        1,
                        k as isize,
                        bm.as_ptr(),
                        1,
                        nn as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        par,
                    );
                });
                tot_conv += c;
                tot_im2col += ci;
                tot_gemm += g;
                flops += f;
                let alg = match conv.algorithm() {
                    Algorithm::Winograd => "wino",
                    Algorithm::Im2col => "i2c",
                };
                println!(
                "conv{i:<4} {m:>6} {k:>5} {nn:>4} {alg:>4} {:>8.2} {:>8.2} {:>7.1} {:>8.2} {:>7.1} {:>8.2} {:>7.1} {:>7.2}",
                c * 1e3,
                wall * 1e3,
                f / c * 1e-9,
                ci * 1e3,
                f / ci * 1e-9,
                g * 1e3,
                f / g * 1e-9,
                ci / c
            );
                x = conv.forward(&x, None);
                cin = v;
            }
            println!(
            "total: convs {:.1} ms CPU ({:.1} GFLOP/s*), forced im2col {:.1} ms ({:.1} GFLOP/s), gemm ceiling {:.1} ms ({:.1} GFLOP/s), pools {:.1} ms; {threads} thread(s), batch {n}\n* direct-convolution FLOPs over the time taken (Winograd does 2.25x fewer)",
            tot_conv * 1e3,
            flops / tot_conv * 1e-9,
            tot_im2col * 1e3,
            flops / tot_im2col * 1e-9,
            tot_gemm * 1e3,
            flops / tot_gemm * 1e-9,
            tot_pool * 1e3
        );
            Ok(())
        },
    )??;
    Ok(())
}
