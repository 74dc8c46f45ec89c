//! On real data: the first 10,000 Fashion-MNIST training images (pixels / 255), read through
//! `dlscope_data::open`.

use dlscope_ml::kmeans::{KMeans, KMeansParams};
use dlscope_ml::metrics::{adjusted_rand_index, normalized_mutual_info};
use dlscope_ml::pca::{Pca, PcaParams, PcaSolver};
use dlscope_ml::Matrix;

fn first_10k() -> (Matrix, Vec<u32>) {
    let ds = dlscope_data::open("fashion-mnist").expect("Fashion-MNIST (see `dlscope datasets`)");
    let dense = ds.split("train").unwrap().to_dense().unwrap();
    let x = Matrix::from_pixels(&dense.pixels[..10_000 * 784], 784).unwrap();
    (x, dense.labels[..10_000].to_vec())
}

#[test]
fn kmeans_on_fashion_mnist() {
    let (x, labels) = first_10k();
    let km = KMeans::fit(x.view(), &KMeansParams::new(10).seed(0)).unwrap();
    let ari = adjusted_rand_index(&labels, &km.labels).unwrap();
    let nmi = normalized_mutual_info(&labels, &km.labels).unwrap();
    assert!((0.3..0.6).contains(&ari), "ARI {ari}");
    assert!((0.4..0.7).contains(&nmi), "NMI {nmi}");
    assert!(
        km.converged && km.iterations > 5,
        "{} iterations",
        km.iterations
    );
    let h = &km.inertia_history;
    assert_eq!(h.len(), km.iterations);
    for w in h.windows(2) {
        assert!(
            w[1] <= w[0] * (1.0 + 1e-9),
            "inertia went up: {} -> {}",
            w[0],
            w[1]
        );
    }
    assert!(h[0] > *h.last().unwrap() * 1.01);
    // About 32 squared units per image (scikit-learn on all 70,000: 2,223,801 in total).
    let per = km.inertia / 10_000.0;
    assert!((25.0..40.0).contains(&per), "inertia per image {per}");
}

#[test]
fn pca_on_fashion_mnist() {
    let (x, _) = first_10k();
    let exact = Pca::fit(x.view(), &PcaParams::new(50).solver(PcaSolver::Exact)).unwrap();
    let rnd = Pca::fit(
        x.view(),
        &PcaParams::new(50).solver(PcaSolver::randomized()),
    )
    .unwrap();
    let total: f64 = exact.explained_variance_ratio.iter().sum();
    // Fashion-MNIST: the first component explains ~29 %, 50 components ~86 %.
    assert!((0.8..0.92).contains(&total), "{total}");
    assert!((0.25..0.33).contains(&exact.explained_variance_ratio[0]));
    let rtotal: f64 = rnd.explained_variance_ratio.iter().sum();
    assert!((total - rtotal).abs() < 5e-4, "{total} vs {rtotal}");
    for j in 0..10 {
        let (a, b) = (
            exact.explained_variance_ratio[j],
            rnd.explained_variance_ratio[j],
        );
        assert!((a - b).abs() < 1e-4, "component {j}: {a} vs {b}");
    }
}
