//! `dlscope convert DATASET --to FORMAT OUT`: write a dataset in another format (idx, folder,
//! manifest, tensors, webdataset, parquet), optionally resized, channel-converted, padded or
//! re-encoded; prints size before/after and the mean pixel error the encoding introduced.
//! `--to tensors --normalize` writes x as f32 `(v/255 - mean_c) / std_c` with the train split's
//! per-channel statistics (or those of `--normalize-stats normalization.json`).

use std::path::PathBuf;

use anyhow::{bail, Context};
use dlscope_data::convert::{convert, Normalize, Options, Target};
use dlscope_data::folder::ImageFormat;
use dlscope_data::tensors::{ChannelNorm, Labels};
use dlscope_data::transform::{ChannelMode, Resize, Transform};

use super::common::open_dataset;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ToArg {
    /// IDX files (MNIST layout; --gzip to compress).
    Idx,
    /// Class folders of image files (see --image-format).
    Folder,
    /// CSV manifest (file-backed samples referenced in place; others written as PNG).
    Manifest,
    /// One safetensors file per split: x u8 [N,H,W,C], y i64 (or one-hot f32 with --onehot).
    Tensors,
    /// WebDataset .tar shards ({key}.png + {key}.cls).
    Webdataset,
    /// Parquet, Hugging Face datasets layout (image{bytes,path}, label).
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageArg {
    Png,
    Jpeg,
    /// Lossless WebP.
    Webp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChannelsArg {
    Keep,
    Gray,
    Rgb,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catalog name or path (see `dlscope info --help`).
    pub dataset: String,
    #[arg(long, value_enum)]
    pub to: ToArg,
    /// New output folder (must not exist).
    pub out: PathBuf,
    /// Resize every image: WxH (e.g. 32x32) or shorter:N.
    #[arg(long)]
    pub resize: Option<String>,
    /// Convert channels: gray or rgb.
    #[arg(long, value_enum, default_value = "keep")]
    pub channels: ChannelsArg,
    /// Pad (centred, zeros) to WxH after any resize.
    #[arg(long)]
    pub pad: Option<String>,
    /// Image encoding for folder, webdataset and parquet outputs.
    #[arg(long, value_enum, default_value = "png")]
    pub image_format: ImageArg,
    /// JPEG quality, 1-100.
    #[arg(long, default_value_t = 90)]
    pub quality: u8,
    /// IDX output: gzip the files.
    #[arg(long)]
    pub gzip: bool,
    /// Tensors output: one-hot f32 labels instead of i64 indices.
    #[arg(long)]
    pub onehot: bool,
    /// Tensors output: write x as normalised f32 `(v/255 - mean_c) / std_c`, with the
    /// per-channel mean and std of the train split (the first split when there is no train),
    /// recorded in the files' metadata; dlscope reads such files back as the original pixels.
    #[arg(long)]
    pub normalize: bool,
    /// Tensors output: normalise with the train entry of this normalization.json (written by
    /// `dlscope clean --stats`) instead of computing the statistics; implies --normalize.
    #[arg(long)]
    pub normalize_stats: Option<PathBuf>,
    /// WebDataset output: samples per shard.
    #[arg(long, default_value_t = dlscope_data::webdataset::DEFAULT_SHARD_SIZE)]
    pub shard_size: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The validated options of `args`.
pub fn options(args: &Args) -> anyhow::Result<Options> {
    if !(1..=100).contains(&args.quality) {
        bail!("--quality must be 1-100, not {}", args.quality);
    }
    let image = match args.image_format {
        ImageArg::Png => ImageFormat::Png,
        ImageArg::Jpeg => ImageFormat::Jpeg {
            quality: args.quality,
        },
        ImageArg::Webp => ImageFormat::Webp,
    };
    let target = match args.to {
        ToArg::Idx => Target::Idx { gzip: args.gzip },
        ToArg::Folder => Target::Folder(image),
        ToArg::Manifest => Target::Manifest,
        ToArg::Tensors => Target::Tensors(if args.onehot {
            Labels::OneHot
        } else {
            Labels::Index
        }),
        ToArg::Webdataset => Target::WebDataset {
            format: image,
            shard_size: args.shard_size.max(1),
        },
        ToArg::Parquet => Target::Parquet { format: image },
    };
    if args.image_format != ImageArg::Png && target.image_format().is_none() {
        bail!("--image-format applies to folder, webdataset and parquet outputs only");
    }
    let resize = match &args.resize {
        Some(s) => Some(s.parse::<Resize>().map_err(anyhow::Error::msg)?),
        None => None,
    };
    let pad = match &args.pad {
        Some(s) => match s.parse::<Resize>().map_err(anyhow::Error::msg)? {
            Resize::Exact { width, height } => Some((width, height)),
            Resize::Shorter(_) => bail!("--pad needs WxH, not '{s}'"),
        },
        None => None,
    };
    let channels = match args.channels {
        ChannelsArg::Keep => ChannelMode::Keep,
        ChannelsArg::Gray => ChannelMode::Gray,
        ChannelsArg::Rgb => ChannelMode::Rgb,
    };
    let normalize = match &args.normalize_stats {
        Some(p) => Some(Normalize::Given(
            ChannelNorm::from_stats_file(p).with_context(|| "--normalize-stats")?,
        )),
        None if args.normalize => Some(Normalize::TrainSplit),
        None => None,
    };
    if normalize.is_some() && args.to != ToArg::Tensors {
        bail!("--normalize and --normalize-stats apply to --to tensors only");
    }
    let mut opts = Options::new(target);
    opts.normalize = normalize;
    opts.transform = Transform {
        resize,
        channels,
        pad,
    };
    Ok(opts)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = options(&args)?;
    let ds = open_dataset(&args.dataset)?;
    let n = ds.len();
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(format!("converting {n} samples"));
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let r = convert(ds, &args.out, &opts)
        .with_context(|| format!("converting {} to {}", args.dataset, args.out.display()));
    pb.finish_and_clear();
    let r = r?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    for p in &r.removed_stale {
        println!(
            "removed {} (left by an interrupted earlier run)",
            p.display()
        );
    }
    println!(
        "wrote {} ({} of {n} samples)",
        r.written.path.display(),
        r.written.samples
    );
    let ratio = r.bytes_after as f64 / r.bytes_before.max(1) as f64;
    println!(
        "size: {} -> {} bytes ({:.1}% of the input)",
        r.bytes_before,
        r.bytes_after,
        ratio * 100.0
    );
    if let (Some(mean), Some(max)) = (r.mean_abs_error, r.max_abs_error) {
        println!("encoding error: mean {mean:.3}, max {max} (absolute, 0-255 per channel value)");
    }
    if let Some(n) = &r.normalization {
        println!(
            "normalised x = (v/255 - mean) / std per channel, mean {:?}, std {:?} (from {})",
            n.mean, n.std, n.source
        );
    }
    if !r.written.skipped.is_empty() {
        println!("{} samples could not be written:", r.written.skipped.len());
        for s in r.written.skipped.iter().take(10) {
            println!("  {}: {}", s.path, s.reason);
        }
    }
    Ok(())
}
