//! Timings of dlscope-ml on all of Fashion-MNIST (70,000 x 784 pixels / 255), one JSON object
//! per line, the same cases and parameters as `bench/sklearn_ml.py`:
//!
//! ```text
//! cargo bench -p dlscope-ml --bench ml_bench                # every case
//! cargo bench -p dlscope-ml --bench ml_bench -- kmeans pca  # only these
//! ```
//!
//! Cases: `kmeans` (k = 10, one k-means++ init, Lloyd), `kmeans_seeds` (the same for seeds
//! 0-4: mean time and inertia), `minibatch` (k = 10, batch 1024),
//! `pca_exact` and `pca_randomized` (50 components), and on the first 10,000 rows projected on
//! 50 components: `ward` (10 clusters), `dbscan` (eps 3.0, min_samples 10) and `hdbscan`
//! (min_cluster_size 25). Each line has the wall time in seconds and the quality numbers.

use std::time::Instant;

use dlscope_ml::density::{Dbscan, DbscanParams, Hdbscan, HdbscanParams};
use dlscope_ml::hierarchical::{Agglomerative, AgglomerativeParams, Linkage};
use dlscope_ml::kmeans::{KMeans, KMeansParams};
use dlscope_ml::metrics::{adjusted_rand_index, normalized_mutual_info};
use dlscope_ml::minibatch::{MiniBatchKMeans, MiniBatchParams};
use dlscope_ml::pca::{Pca, PcaParams, PcaSolver};
use dlscope_ml::Matrix;
use serde_json::json;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let on = |name: &str| wanted.is_empty() || wanted.iter().any(|w| name.starts_with(w.as_str()));
    let ds = match dlscope_data::open("fashion-mnist") {
        Ok(ds) => ds,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for split in ["train", "test"] {
        let d = ds
            .split(split)
            .and_then(|s| s.to_dense())
            .expect("readable split");
        pixels.extend_from_slice(&d.pixels);
        labels.extend_from_slice(&d.labels);
    }
    let t = Instant::now();
    let x = Matrix::from_pixels(&pixels, 784).expect("784-byte images");
    let load = t.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"case": "to_f32", "seconds": load, "rows": x.rows, "cols": x.cols})
    );

    if on("kmeans") {
        let t = Instant::now();
        let km = KMeans::fit(x.view(), &KMeansParams::new(10).seed(0)).expect("k-means");
        let s = t.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({"case": "kmeans", "seconds": s, "iterations": km.iterations,
                   "inertia": km.inertia, "ari": adjusted_rand_index(&labels, &km.labels).unwrap_or(f64::NAN),
                   "nmi": normalized_mutual_info(&labels, &km.labels).unwrap_or(f64::NAN)})
        );
    }
    if on("kmeans_seeds") {
        // One init each for seeds 0-4: mean time and inertia, so the comparison with
        // scikit-learn does not hang on one seed's luck.
        let (mut secs, mut inertia, mut iters) = (Vec::new(), Vec::new(), 0usize);
        for seed in 0..5 {
            let t = Instant::now();
            let km = KMeans::fit(x.view(), &KMeansParams::new(10).seed(seed)).expect("k-means");
            secs.push(t.elapsed().as_secs_f64());
            inertia.push(km.inertia);
            iters += km.iterations;
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let min = inertia.iter().copied().fold(f64::INFINITY, f64::min);
        let max = inertia.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "{}",
            json!({"case": "kmeans_seeds", "seconds": mean(&secs), "inertia": mean(&inertia),
                   "inertia_min": min, "inertia_max": max, "iterations": iters as f64 / 5.0})
        );
    }
    if on("minibatch") {
        let t = Instant::now();
        let km =
            MiniBatchKMeans::fit(x.view(), &MiniBatchParams::new(10).seed(0)).expect("mini-batch");
        let s = t.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({"case": "minibatch", "seconds": s, "steps": km.steps, "inertia": km.inertia,
                   "ari": adjusted_rand_index(&labels, &km.labels).unwrap_or(f64::NAN)})
        );
    }
    let mut pca50 = None;
    for (name, solver) in [
        ("pca_exact", PcaSolver::Exact),
        ("pca_randomized", PcaSolver::randomized()),
    ] {
        if !on(name) && !(name == "pca_exact" && (on("ward") || on("dbscan") || on("hdbscan"))) {
            continue;
        }
        let t = Instant::now();
        let p = Pca::fit(x.view(), &PcaParams::new(50).solver(solver).seed(0)).expect("PCA");
        let s = t.elapsed().as_secs_f64();
        let ratio: f64 = p.explained_variance_ratio.iter().sum();
        if on(name) {
            println!(
                "{}",
                json!({"case": name, "seconds": s, "explained_variance_ratio_sum": ratio,
                       "first_ratios": &p.explained_variance_ratio[..5]})
            );
        }
        if pca50.is_none() {
            pca50 = Some(p);
        }
    }
    let Some(p) = pca50 else { return };
    let sub = Matrix::new(x.data[..10_000 * 784].to_vec(), 10_000, 784).expect("subset");
    let z = p.transform(sub.view()).expect("transform");
    let lab10k = &labels[..10_000];
    if on("ward") {
        let t = Instant::now();
        let a = Agglomerative::fit(z.view(), &AgglomerativeParams::new(10, Linkage::Ward))
            .expect("ward");
        let s = t.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({"case": "ward", "seconds": s, "ari": adjusted_rand_index(lab10k, &a.labels).unwrap_or(f64::NAN)})
        );
    }
    if on("dbscan") {
        let t = Instant::now();
        let db = Dbscan::fit(z.view(), &DbscanParams::new(3.0, 10)).expect("dbscan");
        let s = t.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({"case": "dbscan", "seconds": s, "clusters": db.n_clusters, "noise": db.n_noise})
        );
    }
    if on("hdbscan") {
        let t = Instant::now();
        let hd = Hdbscan::fit(z.view(), &HdbscanParams::new(25)).expect("hdbscan");
        let s = t.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({"case": "hdbscan", "seconds": s, "clusters": hd.n_clusters, "noise": hd.n_noise,
                   "ari": adjusted_rand_index(lab10k, &hd.labels).unwrap_or(f64::NAN)})
        );
    }
}
