//! Forward-pass timing of one model on both engines (images/s), for profiling.
//!
//!     cargo run --release -p dlscope-vision --example forward_bench -- \
//!         efficientnet-lite0 shared/fixtures/imagenet/efficientnet_lite0.safetensors \
//!         --threads 2 --batch 8 --iters 10
//!     cargo run --release -p dlscope-vision --example forward_bench -- vgg16 --threads 2
//!
//! Without a weights file, VGG weights are made up (deterministic values with torchvision
//! names, written once to a temp file): the speed does not depend on the values. The input is
//! a constant-free synthetic batch. Each engine runs one warm-up pass, then `--iters` timed
//! passes; the median is printed, with the mean CPU time per image over all threads (a proxy
//! that stays meaningful on a busy machine: compare it across builds, not against wall time).
//! Nothing else should run on the machine meanwhile.

mod common;

use std::io::Write;
use std::time::Instant;

use dlscope_vision::cpu::with_threads;
use dlscope_vision::models::{self, BurnDevice, Engine};
use dlscope_vision::preprocess::Batch;

use common::{arg, cpu_seconds};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = args.first().cloned().unwrap_or_else(|| "vgg16".into());
    let info = models::find(&model)?;
    let threads = arg(&args, "--threads", 2);
    let batch = arg(&args, "--batch", 1);
    let iters = arg(&args, "--iters", 5);
    let only = args
        .iter()
        .position(|a| a == "--engine")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let tmp = tempfile::tempdir()?;
    let weights = match args.get(1).filter(|a| !a.starts_with("--")) {
        Some(p) => p.into(),
        None => {
            let p = tmp.path().join(format!("{}.safetensors", info.name));
            write_made_up(&p, &(info.specs)())?;
            p
        }
    };
    let s = info.preprocess.size;
    let data: Vec<f32> = (0..batch * 3 * s * s)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
        .collect();
    let x = Batch::new(batch, s, s, data)?;
    for engine in [Engine::Cpu, Engine::Burn(BurnDevice::flex())] {
        if only.as_deref().is_some_and(|o| o != engine.name()) {
            continue;
        }
        let m = models::load(info, &weights, &engine)?;
        let (times, cpu) = with_threads(
            Some(threads),
            || -> Result<(Vec<f64>, f64), dlscope_vision::VisionError> {
                m.logits(&x)?;
                let mut t = Vec::new();
                let c0 = cpu_seconds();
                for _ in 0..iters {
                    let t0 = Instant::now();
                    m.logits(&x)?;
                    t.push(t0.elapsed().as_secs_f64());
                }
                Ok((t, cpu_seconds() - c0))
            },
        )??;
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        let med = sorted[sorted.len() / 2];
        println!(
            "{} {} engine, {threads} threads, batch {batch}: {:.1} ms/batch, {:.3} s/image, {:.2} images/s; CPU {:.1} ms/image",
            info.name,
            engine.name(),
            med * 1e3,
            med / batch as f64,
            batch as f64 / med,
            cpu / (iters.max(1) * batch) as f64 * 1e3
        );
    }
    Ok(())
}

/// A safetensors file with every tensor the model needs, filled with small deterministic
/// values (positive running variances).
fn write_made_up(
    path: &std::path::Path,
    specs: &[dlscope_vision::weights::TensorSpec],
) -> std::io::Result<()> {
    let mut header = serde_json::Map::new();
    let mut off = 0usize;
    for t in specs {
        let n = t.shape.iter().product::<usize>() * 4;
        header.insert(
            t.name.clone(),
            serde_json::json!({"dtype": "F32", "shape": t.shape, "data_offsets": [off, off + n]}),
        );
        off += n;
    }
    let mut h = serde_json::to_vec(&header)?;
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    w.write_all(&(h.len() as u64).to_le_bytes())?;
    w.write_all(&h)?;
    for t in specs {
        let n: usize = t.shape.iter().product();
        let fan_in: usize = t.shape[1..].iter().product::<usize>().max(1);
        let scale = (1.0 / fan_in as f32).sqrt();
        let var = t.name.ends_with("running_var");
        let bytes: Vec<u8> = (0..n)
            .flat_map(|i| {
                let u = (i * 2654435761 % 4096) as f32 / 4096.0 - 0.5;
                let v = if var { 1.0 + u.abs() } else { u * scale };
                v.to_le_bytes()
            })
            .collect();
        w.write_all(&bytes)?;
    }
    w.flush()
}
