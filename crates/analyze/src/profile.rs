//! The dataset profile. [`ProfileAccum`] holds only integer counts and sums, so shards merge
//! into exactly the whole; [`Profile`] is what it means (class balance, normalisation
//! constants, histograms, sizes, mean images).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::features::{FileFormat, SampleRow};
use crate::measure::MeanImageSpec;

/// Per-split integer accumulators.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitAccum {
    pub samples: u64,
    pub unreadable: u64,
    /// Samples decoded at reduced scale.
    pub reduced: u64,
    /// Samples per class index (length = number of classes).
    pub class_counts: Vec<u64>,
    /// Samples without a label (or with one outside the class list).
    pub unlabelled: u64,
    /// Pixel-value histograms by channel count of the images (1, 3, 4): `channels * 256`
    /// counts, channel after channel. Reduced decodes count each pixel `scale^2` times.
    pub histograms: BTreeMap<u8, Vec<u64>>,
    /// Images per (width, height, channels).
    #[serde(with = "shape_map")]
    pub shapes: ShapeCounts,
    /// Files per container format (file-backed samples).
    pub formats: BTreeMap<FileFormat, u64>,
    /// Bytes of all files (file-backed samples).
    pub file_bytes: u64,
}

/// Images per (width, height, channels).
pub type ShapeCounts = BTreeMap<(u32, u32, u8), u64>;

/// Sums of the per-class mean images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanImageAccum {
    pub spec: MeanImageSpec,
    /// Per class: images added, and the per-pixel sums (empty until the first image).
    pub counts: Vec<u64>,
    pub sums: Vec<Vec<u64>>,
}

/// Everything the profile needs, as integers that add up across shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileAccum {
    pub splits: Vec<SplitAccum>,
    pub mean_images: MeanImageAccum,
}

impl ProfileAccum {
    pub(crate) fn new(n_splits: usize, n_classes: usize, spec: MeanImageSpec) -> Self {
        ProfileAccum {
            splits: (0..n_splits)
                .map(|_| SplitAccum {
                    class_counts: vec![0; n_classes],
                    ..SplitAccum::default()
                })
                .collect(),
            mean_images: MeanImageAccum {
                spec,
                counts: vec![0; n_classes],
                sums: vec![Vec::new(); n_classes],
            },
        }
    }

    /// Counts one row (everything but the pixel histograms and mean images).
    pub(crate) fn add_row(&mut self, row: &SampleRow) {
        let a = &mut self.splits[row.split as usize];
        a.samples += 1;
        match row.label {
            Some(l) if (l as usize) < a.class_counts.len() => a.class_counts[l as usize] += 1,
            _ => a.unlabelled += 1,
        }
        if let Some(f) = &row.file {
            *a.formats.entry(f.format).or_default() += 1;
            a.file_bytes += f.bytes;
        }
        match &row.image {
            Some(img) => {
                *a.shapes
                    .entry((img.width, img.height, img.channels))
                    .or_default() += 1;
                if img.decode_scale > 1 {
                    a.reduced += 1;
                }
            }
            None => a.unreadable += 1,
        }
    }

    /// Adds one image's mean-image pixels to its class.
    pub(crate) fn add_mean_image(&mut self, label: u32, pixels: &[u8]) {
        let m = &mut self.mean_images;
        let Some(count) = m.counts.get_mut(label as usize) else {
            return;
        };
        *count += 1;
        let sums = &mut m.sums[label as usize];
        if sums.is_empty() {
            sums.resize(pixels.len(), 0);
        }
        for (s, &p) in sums.iter_mut().zip(pixels) {
            *s += u64::from(p);
        }
    }

    /// Adds another accumulator of the same dataset (a shard) into this one.
    pub fn merge(&mut self, other: &ProfileAccum) {
        for (a, b) in self.splits.iter_mut().zip(&other.splits) {
            a.samples += b.samples;
            a.unreadable += b.unreadable;
            a.reduced += b.reduced;
            a.unlabelled += b.unlabelled;
            a.file_bytes += b.file_bytes;
            for (x, y) in a.class_counts.iter_mut().zip(&b.class_counts) {
                *x += y;
            }
            add_hists(&mut a.histograms, &b.histograms);
            for (k, v) in &b.shapes {
                *a.shapes.entry(*k).or_default() += v;
            }
            for (k, v) in &b.formats {
                *a.formats.entry(*k).or_default() += v;
            }
        }
        let (m, o) = (&mut self.mean_images, &other.mean_images);
        for (c, (count, sums)) in o.counts.iter().zip(&o.sums).enumerate() {
            m.counts[c] += count;
            if sums.is_empty() {
                continue;
            }
            if m.sums[c].is_empty() {
                m.sums[c] = sums.clone();
            } else {
                for (x, y) in m.sums[c].iter_mut().zip(sums) {
                    *x += y;
                }
            }
        }
    }
}

pub(crate) fn add_hists(a: &mut BTreeMap<u8, Vec<u64>>, b: &BTreeMap<u8, Vec<u64>>) {
    for (c, h) in b {
        let dst = a.entry(*c).or_insert_with(|| vec![0; h.len()]);
        for (x, y) in dst.iter_mut().zip(h) {
            *x += y;
        }
    }
}

mod shape_map {

    use serde::{Deserialize, Deserializer, Serializer};

    use super::ShapeCounts;

    pub fn serialize<S: Serializer>(m: &ShapeCounts, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter().map(|(&(w, h, c), &n)| (w, h, c, n)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ShapeCounts, D::Error> {
        let v: Vec<(u32, u32, u8, u64)> = Vec::deserialize(d)?;
        Ok(v.into_iter().map(|(w, h, c, n)| ((w, h, c), n)).collect())
    }
}

/// The profile of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub splits: Vec<SplitProfile>,
    /// Mean image of each class over all splits, at `spec` size.
    pub mean_images: Vec<MeanImage>,
}

/// What one split holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitProfile {
    pub name: String,
    pub samples: u64,
    pub unreadable: u64,
    /// Samples decoded at reduced scale (large JPEGs).
    pub reduced_decodes: u64,
    /// Samples per class (indexed like the dataset's class list).
    pub class_counts: Vec<u64>,
    pub unlabelled: u64,
    /// Largest over smallest class count among classes present in the split; `None` with
    /// fewer than two classes present.
    pub imbalance_ratio: Option<f64>,
    /// Classes of the dataset with no sample in this split.
    pub empty_classes: Vec<u32>,
    /// Normalisation constants over every pixel of every readable image.
    pub pixels: PixelStats,
    pub sizes: SizeStats,
    /// Files per container format (file-backed datasets).
    pub formats: BTreeMap<FileFormat, u64>,
    pub file_bytes: u64,
}

/// Per-channel pixel statistics, exact over all pixels (integer sums). In a dataset with any
/// colour image, grey images count as R = G = B and alpha is ignored (as when images are
/// converted to RGB for training); otherwise there is one grey channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PixelStats {
    /// 1 (grey) or 3 (RGB).
    pub channels: u8,
    /// Pixels counted (per channel).
    pub pixels: u64,
    /// Per-channel mean and standard deviation of values scaled to 0..=1 (value / 255): the
    /// constants for `Normalize(mean, std)`.
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// 256-bin histogram per channel.
    pub histogram: Vec<Vec<u64>>,
}

/// Image size distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeStats {
    /// Number of distinct (width, height, channels).
    pub distinct: u64,
    /// The most common shapes, most frequent first (at most 20).
    pub common: Vec<ShapeCount>,
    pub width: Spread,
    pub height: Spread,
    /// Counts of log2(width / height) in bins of 1/4 from -3 to 3 (outside values go to the
    /// end bins).
    pub aspect_histogram: Vec<AspectBin>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShapeCount {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub count: u64,
}

/// Min, median and max of a size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub min: u32,
    pub median: u32,
    pub max: u32,
}

/// Images whose width / height lies in `[lo, hi)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AspectBin {
    pub lo: f64,
    pub hi: f64,
    pub count: u64,
}

/// The mean of all images of one class, at the profile's mean-image size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanImage {
    pub class: u32,
    pub class_name: String,
    pub count: u64,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    /// Row-major, interleaved channels, rounded to 8 bits; empty when `count` is 0.
    pub pixels: Vec<u8>,
}

impl ProfileAccum {
    /// Turns the counts into the profile.
    pub fn finish(&self, split_names: &[String], classes: &[String]) -> Profile {
        let colour = self
            .splits
            .iter()
            .any(|s| s.histograms.keys().any(|&c| c >= 3));
        let splits = self
            .splits
            .iter()
            .zip(split_names)
            .map(|(a, name)| split_profile(a, name, colour))
            .collect();
        let m = &self.mean_images;
        let mean_images = (0..m.counts.len())
            .map(|c| MeanImage {
                class: c as u32,
                class_name: classes.get(c).cloned().unwrap_or_default(),
                count: m.counts[c],
                width: m.spec.width,
                height: m.spec.height,
                channels: m.spec.channels,
                pixels: m.sums[c]
                    .iter()
                    .map(|&s| ((s + m.counts[c] / 2) / m.counts[c].max(1)).min(255) as u8)
                    .collect(),
            })
            .collect();
        Profile {
            splits,
            mean_images,
        }
    }
}

fn split_profile(a: &SplitAccum, name: &str, colour: bool) -> SplitProfile {
    let present: Vec<u64> = a.class_counts.iter().copied().filter(|&n| n > 0).collect();
    let imbalance_ratio = (present.len() >= 2).then(|| {
        *present.iter().max().unwrap_or(&1) as f64 / *present.iter().min().unwrap_or(&1) as f64
    });
    SplitProfile {
        name: name.to_string(),
        samples: a.samples,
        unreadable: a.unreadable,
        reduced_decodes: a.reduced,
        class_counts: a.class_counts.clone(),
        unlabelled: a.unlabelled,
        imbalance_ratio,
        empty_classes: (0..a.class_counts.len() as u32)
            .filter(|&c| a.class_counts[c as usize] == 0)
            .collect(),
        pixels: pixel_stats(&a.histograms, colour),
        sizes: size_stats(&a.shapes),
        formats: a.formats.clone(),
        file_bytes: a.file_bytes,
    }
}

fn pixel_stats(hists: &BTreeMap<u8, Vec<u64>>, colour: bool) -> PixelStats {
    let channels = if colour { 3 } else { 1 };
    let mut histogram = vec![vec![0u64; 256]; channels];
    for (&c, h) in hists {
        for (ch, out) in histogram.iter_mut().enumerate() {
            // Grey feeds every output channel; colour feeds its own (alpha is skipped).
            let src = if c == 1 { 0 } else { ch };
            for (o, &v) in out.iter_mut().zip(&h[src * 256..src * 256 + 256]) {
                *o += v;
            }
        }
    }
    let mut mean = Vec::new();
    let mut std = Vec::new();
    let mut pixels = 0;
    for h in &histogram {
        let (mut n, mut s1, mut s2) = (0u128, 0u128, 0u128);
        for (v, &k) in h.iter().enumerate() {
            let (k, v) = (k as u128, v as u128);
            n += k;
            s1 += k * v;
            s2 += k * v * v;
        }
        pixels = n as u64;
        if n == 0 {
            mean.push(0.0);
            std.push(0.0);
            continue;
        }
        // var = (n s2 - s1^2) / n^2, exact in integers before the division.
        let m = s1 as f64 / n as f64;
        let var = (n * s2 - s1 * s1) as f64 / (n as f64 * n as f64);
        mean.push(m / 255.0);
        std.push(var.max(0.0).sqrt() / 255.0);
    }
    PixelStats {
        channels: channels as u8,
        pixels,
        mean,
        std,
        histogram,
    }
}

fn size_stats(shapes: &ShapeCounts) -> SizeStats {
    let mut common: Vec<ShapeCount> = shapes
        .iter()
        .map(|(&(width, height, channels), &count)| ShapeCount {
            width,
            height,
            channels,
            count,
        })
        .collect();
    common.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then((a.width, a.height).cmp(&(b.width, b.height)))
    });
    common.truncate(20);
    let spread = |f: &dyn Fn(&(u32, u32, u8)) -> u32| -> Spread {
        let mut by: BTreeMap<u32, u64> = BTreeMap::new();
        for (k, &n) in shapes {
            *by.entry(f(k)).or_default() += n;
        }
        let total: u64 = by.values().sum();
        let mut cum = 0;
        let mut median = 0;
        for (&v, &n) in &by {
            cum += n;
            if cum * 2 >= total {
                median = v;
                break;
            }
        }
        Spread {
            min: by.keys().next().copied().unwrap_or(0),
            median,
            max: by.keys().next_back().copied().unwrap_or(0),
        }
    };
    let mut aspect_histogram: Vec<AspectBin> = (0..24)
        .map(|i| AspectBin {
            lo: 2f64.powf(-3.0 + i as f64 * 0.25),
            hi: 2f64.powf(-3.0 + (i + 1) as f64 * 0.25),
            count: 0,
        })
        .collect();
    for (&(w, h, _), &n) in shapes {
        let x = (w.max(1) as f64 / h.max(1) as f64).log2();
        let bin = (((x + 3.0) / 0.25).floor() as i64).clamp(0, 23) as usize;
        aspect_histogram[bin].count += n;
    }
    SizeStats {
        distinct: shapes.len() as u64,
        common,
        width: spread(&|k| k.0),
        height: spread(&|k| k.1),
        aspect_histogram,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_constants_are_exact() {
        // Grey image pixels: 0 x 2, 255 x 2 -> mean 0.5, std 0.5 (of 0..1 values).
        let mut h = vec![0u64; 256];
        h[0] = 2;
        h[255] = 2;
        let stats = pixel_stats(&BTreeMap::from([(1u8, h)]), false);
        assert_eq!(stats.channels, 1);
        assert_eq!(stats.mean, vec![0.5]);
        assert_eq!(stats.std, vec![0.5]);
        assert_eq!(stats.pixels, 4);
    }

    #[test]
    fn grey_images_count_as_rgb_in_colour_datasets() {
        let mut grey = vec![0u64; 256];
        grey[100] = 1;
        let mut rgb = vec![0u64; 3 * 256];
        rgb[200] = 1; // R = 200
        rgb[256] = 1; // G = 0
        rgb[512 + 50] = 1; // B = 50
        let stats = pixel_stats(&BTreeMap::from([(1u8, grey), (3u8, rgb)]), true);
        assert_eq!(stats.channels, 3);
        let m: Vec<f64> = stats.mean.iter().map(|v| v * 255.0).collect();
        assert_eq!(m, vec![150.0, 50.0, 75.0]);
    }

    #[test]
    fn sizes_have_medians_and_aspect_bins() {
        let shapes = BTreeMap::from([((10, 10, 1), 3), ((40, 10, 1), 1), ((20, 20, 3), 1)]);
        let s = size_stats(&shapes);
        assert_eq!(s.distinct, 3);
        assert_eq!(s.common[0].count, 3);
        assert_eq!((s.width.min, s.width.median, s.width.max), (10, 10, 40));
        let square = s
            .aspect_histogram
            .iter()
            .find(|b| b.lo <= 1.0 && 1.0 < b.hi)
            .unwrap();
        assert_eq!(square.count, 4);
        assert_eq!(s.aspect_histogram.iter().map(|b| b.count).sum::<u64>(), 5);
    }
}
