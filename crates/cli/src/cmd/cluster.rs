//! `dlscope cluster DATASET --method M --k N --features F --out DIR [--json]`: cluster every
//! sample, score against the labels, write `assignments.csv`, `summary.json` and the page
//! `cluster.html` (thumbnails per cluster, 2-D PCA map, dendrogram for agglomerative).

use std::path::PathBuf;

use anyhow::{bail, Context};
use dlscope_flows::cluster_page::{write_cluster_page, PageOptions};
use dlscope_ml::features::FeatureSpec;
use dlscope_ml::hierarchical::Linkage;
use dlscope_ml::pipeline::{cluster, write_cluster, ClusterConfig, Method};

use super::common::open_dataset;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// Lloyd k-means with k-means++ seeding.
    Kmeans,
    /// Mini-batch k-means (faster on large data, slightly worse inertia).
    Minibatch,
    /// Hierarchical clustering (see --linkage); above 20,000 rows on 2,000 k-means prototypes.
    Agglomerative,
    /// DBSCAN (needs --eps; noise = -1).
    Dbscan,
    /// HDBSCAN (see --min-cluster-size; noise = -1).
    Hdbscan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinkageArg {
    Ward,
    Average,
    Complete,
    Single,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path (see `dlscope info --help`).
    pub dataset: String,
    #[arg(long, value_enum, default_value = "kmeans")]
    pub method: MethodArg,
    /// Number of clusters (k-means, mini-batch, agglomerative).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// `pixels` (every pixel / 255), `pca:N`, `embeddings:FILE` (rows written by `dlscope
    /// embed`, matched to the samples by split and id) or `embeddings:FILE,pca:N`. Default:
    /// pixels for the k-means methods, pca:50 for the others.
    #[arg(long)]
    pub features: Option<String>,
    /// New output folder for assignments.csv, summary.json and cluster.html.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only these splits (repeatable); default all, concatenated.
    #[arg(long = "split")]
    pub splits: Vec<String>,
    #[arg(long, value_enum, default_value = "ward")]
    pub linkage: LinkageArg,
    /// DBSCAN neighbourhood radius, in feature units.
    #[arg(long)]
    pub eps: Option<f64>,
    /// DBSCAN: neighbours (itself included) that make a core point. HDBSCAN: neighbours for
    /// the core distance (default: --min-cluster-size).
    #[arg(long)]
    pub min_samples: Option<usize>,
    /// HDBSCAN: smallest cluster.
    #[arg(long, default_value_t = 5)]
    pub min_cluster_size: usize,
    /// k-means initialisations (the best inertia wins).
    #[arg(long, default_value_t = 1)]
    pub n_init: usize,
    /// Rows sampled for the silhouette score (0 = skip it); capped so that it takes a second
    /// or two (about 5,000 rows on 784 pixels, 20,000 on 50 components).
    #[arg(long, default_value_t = 10_000)]
    pub silhouette_sample: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Thumbnails per cluster in cluster.html (nearest the centre).
    #[arg(long, default_value_t = 8)]
    pub thumbs: usize,
    /// Points drawn on the 2-D map of cluster.html (a seeded sample above this).
    #[arg(long, default_value_t = 5000)]
    pub map_points: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let method = match args.method {
        MethodArg::Kmeans => Method::KMeans {
            n_init: args.n_init,
        },
        MethodArg::Minibatch => Method::MiniBatchKMeans,
        MethodArg::Agglomerative => Method::Agglomerative {
            linkage: match args.linkage {
                LinkageArg::Ward => Linkage::Ward,
                LinkageArg::Average => Linkage::Average,
                LinkageArg::Complete => Linkage::Complete,
                LinkageArg::Single => Linkage::Single,
            },
        },
        MethodArg::Dbscan => {
            let Some(eps) = args.eps else {
                bail!("--method dbscan needs --eps (neighbourhood radius in feature units)");
            };
            Method::Dbscan {
                eps,
                min_samples: args.min_samples.unwrap_or(5),
            }
        }
        MethodArg::Hdbscan => Method::Hdbscan {
            min_cluster_size: args.min_cluster_size,
            min_samples: args.min_samples,
        },
    };
    let default_features = match args.method {
        MethodArg::Kmeans | MethodArg::Minibatch => "pixels",
        _ => "pca:50",
    };
    let features: FeatureSpec = args
        .features
        .as_deref()
        .unwrap_or(default_features)
        .parse()?;
    if args.out.exists() {
        bail!(
            "{}: already exists; choose a new output folder",
            args.out.display()
        );
    }
    let cfg = ClusterConfig {
        method,
        k: args.k,
        features,
        splits: (!args.splits.is_empty()).then(|| args.splits.clone()),
        seed: args.seed,
        silhouette_sample: args.silhouette_sample,
    };
    let ds = open_dataset(&args.dataset)?;
    let out = cluster(&ds, &cfg).with_context(|| format!("clustering {}", ds.name))?;
    let dir = write_cluster(&out, &args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let page = dir.join("cluster.html");
    let opts = PageOptions {
        per_cluster: args.thumbs,
        map_points: args.map_points,
        seed: args.seed,
        ..PageOptions::default()
    };
    write_cluster_page(&ds, &out, cfg.splits.as_deref(), &opts, &page)
        .with_context(|| format!("writing {}", page.display()))?;
    let s = &out.summary;
    if args.json {
        println!("{}", serde_json::to_string_pretty(s)?);
    } else {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        println!(
            "{}: {} on {} samples ({}), {} clusters, {} noise",
            s.dataset, s.method, s.samples, s.features, s.clusters, s.noise
        );
        println!(
            "  inertia {:.1}  ARI {}  NMI {}  purity {}  silhouette {}",
            s.inertia,
            opt(s.ari),
            opt(s.nmi),
            opt(s.purity),
            opt(s.silhouette)
        );
        println!(
            "  {:.2} s (load {:.2}, features {:.2}, fit {:.2}){}",
            s.seconds,
            s.load_seconds,
            s.feature_seconds,
            s.fit_seconds,
            s.iterations
                .map_or(String::new(), |i| format!(", {i} iterations"))
        );
        println!("  wrote {}", dir.display());
    }
    Ok(())
}
