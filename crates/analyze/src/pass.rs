//! The streaming pass: every selected sample is decoded once, in parallel blocks, reduced to a
//! feature row plus integer profile counts, and dropped.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dlscope_data::{Dataset, Split};
use rayon::prelude::*;

use crate::error::Result;
use crate::features::{FeatureTable, SampleRow};
use crate::load::load;
use crate::measure::{measure, MeanImageSpec, Scratch};
use crate::profile::{add_hists, ProfileAccum};
use crate::settings::Settings;
use crate::shard::{DatasetMeta, PassSettings, Shard, ShardResult};

/// Stage of an analysis, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Decoding samples and computing their features (`done` counts samples).
    Features,
    /// Building findings from the feature table (`done` counts finished steps).
    Findings,
}

/// Where a running analysis stands; passed to the progress callback after each block, so a
/// caller can draw a bar with rate (`done / elapsed`) and ETA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub stage: Stage,
    pub done: u64,
    pub total: u64,
    /// Samples so far that could not be decoded.
    pub unreadable: u64,
    /// File bytes read so far (file-backed samples).
    pub bytes: u64,
    /// Time since the stage started.
    pub elapsed: Duration,
}

/// Pixel histograms by channel count (see [`crate::profile::SplitAccum::histograms`]).
type Hists = BTreeMap<u8, Vec<u64>>;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The mean-image size for a dataset: the native shape when every split shares one fixed
/// shape of at most 64 x 64, otherwise `side x side` RGB (grey when the fixed shape is grey).
pub fn mean_image_spec(ds: &Dataset, settings: &Settings) -> MeanImageSpec {
    let shapes: Vec<_> = ds.splits.iter().map(Split::fixed_shape).collect();
    let side = settings.mean_image_side;
    match shapes.first() {
        Some(Some(s)) if shapes.iter().all(|x| x == &Some(*s)) => {
            let channels = if s.channels == 1 { 1 } else { 3 };
            if s.width <= 64 && s.height <= 64 {
                MeanImageSpec {
                    width: s.width,
                    height: s.height,
                    channels,
                }
            } else {
                MeanImageSpec {
                    width: side,
                    height: side,
                    channels,
                }
            }
        }
        _ => MeanImageSpec {
            width: side,
            height: side,
            channels: 3,
        },
    }
}

/// Runs the pass over the samples of `shard` (use [`Shard::whole`] for all of them).
pub fn analyze_shard(
    dataset: &Dataset,
    settings: &Settings,
    shard: Shard,
    progress: &dyn Fn(Progress),
) -> Result<ShardResult> {
    settings.validate()?;
    let meta = DatasetMeta::of(dataset);
    let spec = mean_image_spec(dataset, settings);
    let total_all = meta.total();
    let mut selected: Vec<Vec<usize>> = Vec::with_capacity(dataset.splits.len());
    let mut offset = 0u64;
    for s in &dataset.splits {
        let n = s.len();
        selected.push(
            (0..n)
                .filter(|&i| shard.contains(offset + i as u64, total_all))
                .collect(),
        );
        offset += n as u64;
    }
    let total: u64 = selected.iter().map(|v| v.len() as u64).sum();
    let block = match settings.block_size {
        0 => (total as usize / 100).clamp(256, 4096),
        b => b,
    };

    let mut profile = ProfileAccum::new(dataset.splits.len(), dataset.classes.len(), spec);
    let mut rows: Vec<SampleRow> = Vec::with_capacity(total as usize);
    let start = Instant::now();
    let mut state = Progress {
        stage: Stage::Features,
        done: 0,
        total,
        unreadable: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
    };
    progress(state);
    let mut means = Vec::new();
    for (si, (split, idx)) in dataset.splits.iter().zip(&selected).enumerate() {
        for chunk in idx.chunks(block) {
            means.clear();
            means.resize(chunk.len() * spec.len(), 0u8);
            let parts: Vec<(Vec<SampleRow>, Hists)> = chunk
                .par_iter()
                .zip(means.par_chunks_mut(spec.len()))
                .with_min_len(4)
                .fold(
                    || (Vec::new(), BTreeMap::new()),
                    |(mut rows, mut hists), (&i, mean_out)| {
                        rows.push(sample_row(
                            split, si as u16, i, settings, &spec, mean_out, &mut hists,
                        ));
                        (rows, hists)
                    },
                )
                .collect();
            let first = rows.len();
            for (part, hists) in parts {
                rows.extend(part);
                add_hists(&mut profile.splits[si].histograms, &hists);
            }
            rows[first..].sort_unstable_by_key(SampleRow::key);
            for (row, mean_px) in rows[first..].iter().zip(means.chunks(spec.len())) {
                profile.add_row(row);
                if let (Some(_), Some(label)) = (&row.image, row.label) {
                    profile.add_mean_image(label, mean_px);
                }
                state.unreadable += row.image.is_none() as u64;
                state.bytes += row.file.map_or(0, |f| f.bytes);
            }
            state.done += chunk.len() as u64;
            state.elapsed = start.elapsed();
            progress(state);
        }
    }
    Ok(ShardResult {
        dataset: meta,
        shards: vec![shard],
        pass: PassSettings {
            decode: settings.decode.clone(),
            mean_image: spec,
        },
        profile,
        features: FeatureTable { rows },
    })
}

/// Decodes and measures one sample; its pixel histograms go into `hists`.
#[allow(clippy::too_many_arguments)]
fn sample_row(
    split: &Split,
    si: u16,
    i: usize,
    settings: &Settings,
    spec: &MeanImageSpec,
    mean_out: &mut [u8],
    hists: &mut Hists,
) -> SampleRow {
    // Decode outside the scratch borrow: the JPEG decoder may run other rayon tasks (other
    // samples) on this thread while it waits.
    let (file, loaded) = load(split, i, settings.decode.jpeg_min_side);
    let mut row = SampleRow {
        split: si,
        index: i as u64,
        label: split.label(i),
        file,
        image: None,
        error: None,
    };
    match loaded {
        Ok(l) => {
            let f = SCRATCH.with_borrow_mut(|s| {
                let f = measure(&l.image, l.width, l.height, l.scale, spec, mean_out, s);
                let c = l.image.channels as usize;
                let weight = u64::from(l.scale) * u64::from(l.scale);
                let h = hists
                    .entry(l.image.channels)
                    .or_insert_with(|| vec![0; c * 256]);
                for (ch, hist) in s.hist.iter().take(c).enumerate() {
                    for (dst, &k) in h[ch * 256..ch * 256 + 256].iter_mut().zip(hist) {
                        *dst += u64::from(k) * weight;
                    }
                }
                f
            });
            row.image = Some(f);
        }
        Err(reason) => row.error = Some(reason),
    }
    row
}
