//! `dlscope classify --model vgg16 [--weights FILE] IMAGE|FOLDER... [--top 3] [--json]`:
//! ImageNet predictions printed as Keras' `decode_predictions` lines (`1. tabby: 62.31%`), or
//! written to CSV/JSON in batch mode over folders or a dataset, with the throughput.

use std::path::PathBuf;

use anyhow::{bail, Context};
use dlscope_vision::classify::{self, Classification};
use dlscope_vision::inputs::{collect_images, Source};
use dlscope_vision::models::{self, BurnDevice, Classifier, Engine, ModelInfo};
use dlscope_vision::preprocess::{Normalize, Preprocess, Resize};
use dlscope_vision::resample::Filter;
use dlscope_vision::weights::find_weights;

use super::common::{open_dataset, progress_bar};

/// Options shared by `classify` and `embed`: weights, preprocessing, engine, threads.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// Weights file: .safetensors or PyTorch .pth state dict with torchvision, timm or
    /// lukemelas names. Default: $DLSCOPE_MODELS/<model>.safetensors (or .pth; $DLSCOPE_MODELS
    /// defaults to the user cache's dlscope/models).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// When no weights file is found, download the model's pinned file (checked against its
    /// SHA-256) into $DLSCOPE_MODELS. Mirrors: $DLSCOPE_MODELS_MIRROR (comma-separated base
    /// URLs) instead of the pinned ones.
    #[arg(long, conflicts_with = "weights")]
    pub download: bool,
    /// Normalisation (default: the model's): caffe (BGR, mean subtraction, Keras VGG16),
    /// torch (/255, ImageNet mean/std), tf ([-1, 1]), lite ((x-127)/128).
    #[arg(long, value_enum)]
    pub preprocess: Option<NormArg>,
    /// Resizing (default: the model's): stretch (Keras load_img target_size), shorter-crop
    /// (torchvision Resize(256) + CenterCrop(224)), central-crop (TF EfficientNet eval crop).
    #[arg(long, value_enum)]
    pub resize: Option<ResizeArg>,
    /// Interpolation, with Pillow's arithmetic (default: the model's; Keras uses nearest).
    #[arg(long, value_enum)]
    pub interpolation: Option<FilterArg>,
    /// Input size in pixels (square; default 224).
    #[arg(long)]
    pub size: Option<usize>,
    /// Keras' VGG16 pipeline: stretch to size with nearest, caffe normalisation. For weights
    /// converted from Keras/Caffe; torchvision and timm weights want the default.
    #[arg(long, conflicts_with_all = ["preprocess", "resize", "interpolation"])]
    pub keras: bool,
    /// Images per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Worker threads (default: RAYON_NUM_THREADS or all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// cpu: dlscope's CPU engine (fast); burn: the burn module on burn's default device.
    #[arg(long, value_enum, default_value_t = EngineArg::Cpu)]
    pub engine: EngineArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum NormArg {
    Caffe,
    Torch,
    Tf,
    Lite,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ResizeArg {
    Stretch,
    ShorterCrop,
    CentralCrop,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FilterArg {
    Nearest,
    Bilinear,
    Bicubic,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EngineArg {
    Cpu,
    Burn,
}

impl ModelArgs {
    /// The model's preprocessing with the overrides applied.
    pub fn preprocess(&self, info: &ModelInfo) -> anyhow::Result<Preprocess> {
        let mut p = info.preprocess;
        if let Some(s) = self.size {
            if s == 0 {
                bail!("--size must be at least 1");
            }
            if let Resize::ShorterCrop { shorter } = p.resize {
                p.resize = Resize::ShorterCrop {
                    shorter: (shorter as usize * s / p.size) as u32,
                };
            }
            p.size = s;
        }
        if self.keras {
            p.resize = Resize::Stretch;
            p.filter = Filter::Nearest;
            p.normalize = Normalize::Caffe;
        }
        if let Some(n) = self.preprocess {
            p.normalize = match n {
                NormArg::Caffe => Normalize::Caffe,
                NormArg::Torch => Normalize::Torch,
                NormArg::Tf => Normalize::Tf,
                NormArg::Lite => Normalize::Lite,
            };
        }
        if let Some(r) = self.resize {
            p.resize = match r {
                ResizeArg::Stretch => Resize::Stretch,
                ResizeArg::ShorterCrop => Resize::ShorterCrop {
                    shorter: (p.size * 256 / 224) as u32,
                },
                ResizeArg::CentralCrop => Resize::CentralCrop { padding: 32 },
            };
        }
        if let Some(f) = self.interpolation {
            p.filter = match f {
                FilterArg::Nearest => Filter::Nearest,
                FilterArg::Bilinear => Filter::Bilinear,
                FilterArg::Bicubic => Filter::Bicubic,
            };
        }
        Ok(p)
    }

    fn engine_name(&self) -> &'static str {
        match self.engine {
            EngineArg::Cpu => "cpu",
            EngineArg::Burn => "burn",
        }
    }

    /// Finds the weights and loads the model on the chosen engine.
    pub fn load(&self, info: &'static ModelInfo) -> anyhow::Result<Box<dyn Classifier>> {
        let path = if self.download {
            find_downloading(info)?
        } else {
            find_weights(info.name, self.weights.as_deref(), None)?
        };
        let engine = match self.engine {
            EngineArg::Cpu => Engine::Cpu,
            EngineArg::Burn => Engine::Burn(BurnDevice::default()),
        };
        models::load(info, &path, &engine)
            .with_context(|| format!("cannot load {} from {}", info.name, path.display()))
    }
}

/// Finds the weights, downloading the pinned file when they are not there (progress on stderr).
#[cfg(feature = "download")]
fn find_downloading(info: &ModelInfo) -> anyhow::Result<PathBuf> {
    use dlscope_data::download::Progress;
    use dlscope_vision::download::Downloader;
    let mut bar: Option<indicatif::ProgressBar> = None;
    let dl = Downloader::new(Box::new(move |p| match p {
        Progress::Start {
            file, done, total, ..
        } => {
            let b = super::common::bytes_bar(total, file);
            b.set_position(done);
            bar = Some(b);
        }
        Progress::Advance { done, .. } => {
            if let Some(b) = &bar {
                b.set_position(done);
            }
        }
        Progress::Verifying { file } => {
            if let Some(b) = &bar {
                b.set_message(format!("checking {file}"));
            }
        }
        Progress::Retry { url, reason, .. } => eprintln!("warning: {url}: {reason}"),
        Progress::Done { file, path, reused } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            if !reused {
                eprintln!("{file}: downloaded and verified -> {}", path.display());
            }
        }
    }));
    Ok(find_weights(info.name, None, Some(&dl))?)
}

#[cfg(not(feature = "download"))]
fn find_downloading(_info: &ModelInfo) -> anyhow::Result<PathBuf> {
    bail!("--download: dlscope was built without the `download` feature")
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model: vgg11, vgg13, vgg16, vgg19, efficientnet-lite0 (see --list-models).
    #[arg(long, required_unless_present = "list_models")]
    pub model: Option<String>,
    /// Image files or folders (walked recursively for image files); a single argument that is
    /// no path is opened as a dataset (catalog name or `idx:`/`folder:`... spec).
    pub images: Vec<PathBuf>,
    /// Classify a dataset (catalog name or path) instead of image files.
    #[arg(long, conflicts_with = "images")]
    pub dataset: Option<String>,
    /// With --dataset: only this split (default: all).
    #[arg(long, requires = "dataset")]
    pub split: Option<String>,
    /// Predictions per image.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Print one JSON object per image: {"file", "predictions": [{rank, index, wnid, label,
    /// probability}]}.
    #[arg(long)]
    pub json: bool,
    /// Also write all predictions to this file, atomically: .json (array), .jsonl (one object
    /// per image: file, index, wnid, label, probability, top-k predictions) or CSV (anything
    /// else: file,rank,index,wnid,label,probability per prediction).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// List the models and their default preprocessing, then exit.
    #[arg(long)]
    pub list_models: bool,
    #[command(flatten)]
    pub model_args: ModelArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.list_models {
        for m in models::REGISTRY {
            println!(
                "{:<20} {}\n{:<20} default preprocessing: {}",
                m.name, m.summary, "", m.preprocess
            );
        }
        return Ok(());
    }
    let name = args.model.as_deref().unwrap_or_default();
    let info = models::find(name)?;
    let pre = args.model_args.preprocess(info)?;
    let opts = classify::Options {
        top: args.top,
        batch_size: args.model_args.batch_size,
        preprocess: pre,
    };
    if let Some(path) = &args.out {
        let inputs: Vec<&std::path::Path> = args.images.iter().map(PathBuf::as_path).collect();
        dlscope_data::io::refuse_input_overlap(path, &inputs)?;
    }
    let model = args.model_args.load(info)?;
    let out = dlscope_vision::cpu::with_threads(args.model_args.threads, || {
        classify_all(&args, model.as_ref(), &opts)
    })??;

    for f in &out.failures {
        eprintln!("error: {}: {}", f.file, f.error);
    }
    if args.json {
        for r in &out.results {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        let many = out.results.len() + out.failures.len() > 1;
        for r in &out.results {
            if many {
                println!("{}", r.file);
            }
            for p in &r.predictions {
                println!("{p}");
            }
        }
    }
    if let Some(path) = &args.out {
        classify::write(&out.results, path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "{} predictions of {} images -> {}",
            out.results
                .iter()
                .map(|r| r.predictions.len())
                .sum::<usize>(),
            out.results.len(),
            path.display()
        );
    }
    eprintln!(
        "{}: {} images in {:.2} s, {:.2} images/s ({:.2} images/s in the network), {} failed [{} engine, {} names, {}]",
        info.name,
        out.results.len(),
        out.seconds,
        out.images_per_second(),
        out.network_images_per_second(),
        out.failures.len(),
        args.model_args.engine_name(),
        model.naming(),
        pre
    );
    if out.results.is_empty() {
        bail!("no image could be classified");
    }
    Ok(())
}

fn classify_all(
    args: &Args,
    model: &dyn Classifier,
    opts: &classify::Options,
) -> anyhow::Result<Classification> {
    // One argument that is not a path: a dataset spec (catalog name, `idx:...`).
    let positional_dataset = match args.images.as_slice() {
        [one] if args.dataset.is_none() && !one.exists() => one.to_str(),
        _ => None,
    };
    if let Some(spec) = args.dataset.as_deref().or(positional_dataset) {
        let ds = match open_dataset(spec) {
            Err(e) if positional_dataset.is_some() => {
                return Err(e.context(format!(
                    "{spec} is neither an image file, a folder nor a dataset"
                )))
            }
            r => r?,
        };
        let splits: Vec<_> = match &args.split {
            Some(s) => vec![ds.split(s)?],
            None => ds.splits.iter().collect(),
        };
        let total: usize = splits.iter().map(|s| s.len()).sum();
        let pb = progress_bar(total as u64, "classifying");
        let mut all: Option<Classification> = None;
        let mut base = 0u64;
        for split in &splits {
            let mut part = classify::run(model, &Source::Split(split), opts, &mut |d| {
                pb.set_position(base + d as u64)
            })?;
            base += split.len() as u64;
            if splits.len() > 1 {
                for r in &mut part.results {
                    r.file = format!("{}/{}", split.name(), r.file);
                }
            }
            all = Some(match all {
                None => part,
                Some(mut a) => {
                    a.results.extend(part.results);
                    a.failures.extend(part.failures);
                    a.seconds += part.seconds;
                    a.network_seconds += part.network_seconds;
                    a
                }
            });
        }
        pb.finish_and_clear();
        return all.context("the dataset has no split");
    }
    if args.images.is_empty() {
        bail!("give image files or folders, or --dataset");
    }
    let (files, missing) = collect_images(&args.images);
    let pb = progress_bar(files.len() as u64, "classifying");
    if files.len() <= opts.batch_size {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut out = classify::run(model, &Source::Files(files), opts, &mut |d| {
        pb.set_position(d as u64)
    })?;
    pb.finish_and_clear();
    out.failures.extend(missing);
    Ok(out)
}
