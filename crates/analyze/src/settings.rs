//! What the pass computes and where the findings draw their lines: [`Settings`], [`Thresholds`].

use serde::{Deserialize, Serialize};

use crate::error::{AnalyzeError, Result};
use crate::findings::EmbeddingsInfo;

/// Everything that steers one analysis. `Default` is what `dlscope analyze` uses.
///
/// Only [`Settings::decode`] and [`Settings::mean_image_side`] change the per-sample features
/// (the pass); everything else is applied afterwards to the feature table, so findings can be
/// recomputed with other thresholds without decoding the dataset again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub decode: DecodeSettings,
    /// Side of the per-class mean images when the dataset has no fixed shape (or a fixed shape
    /// larger than 64 x 64): they are computed at `mean_image_side` x `mean_image_side`.
    /// Fixed-shape datasets up to 64 x 64 (MNIST, CIFAR) use their native size.
    pub mean_image_side: u32,
    /// The split that test/validation samples are checked against for leaks. `None`: the split
    /// named `train`, else the first split whose name starts with `train`; without one, no
    /// leak findings are made.
    pub train_split: Option<String>,
    /// Samples per parallel block; progress is reported after each block. `0`: chosen from the
    /// dataset size (between 256 and 4096).
    pub block_size: usize,
    pub thresholds: Thresholds,
    /// The per-sample embeddings the findings used (source and dimension), filled in by
    /// [`crate::finish_embedded`]; `None`: pixel features only. Ignored on input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<EmbeddingsInfo>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            decode: DecodeSettings::default(),
            mean_image_side: 32,
            train_split: None,
            block_size: 0,
            thresholds: Thresholds::default(),
            embeddings: None,
        }
    }
}

/// How samples are decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecodeSettings {
    /// JPEG files whose shorter side is at least four times this are decoded at reduced scale
    /// (1/4 or 1/8, by DCT scaling in the decoder), keeping the shorter side at least this
    /// long (1/2 scale measured slower than a full decode with the default decoder). Such samples report their original width and height; their pixel statistics are
    /// those of the reduced decode (means are unaffected, standard deviations and histograms
    /// lose some fine detail), weighted by the original pixel count. `None`: always decode at
    /// full size.
    pub jpeg_min_side: Option<u32>,
}

impl Default for DecodeSettings {
    fn default() -> Self {
        DecodeSettings {
            jpeg_min_side: Some(128),
        }
    }
}

/// Where each finding kind draws its line. Grey levels are 0..=255 (ITU-R BT.601 luma of the
/// decoded pixels); "robust z" means distance from the dataset median in units of
/// 1.4826 x MAD (median absolute deviation), i.e. standard deviations for normal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Near duplicates: largest Hamming distance between 64-bit perceptual hashes (the hash's
    /// bits are balanced, so distances are even); pairs within it are candidates for the DCT
    /// check below. Measured: +-20 brightness, noise, JPEG q40-70 re-encodes (with resizing),
    /// darkened, lightened, blurred, grey and shrunken copies stay within 10 bits of their
    /// original; so do 1-pixel shifts of images 96 px and larger (a 1-pixel shift of a 28 x 28
    /// image moves it by 3.6% and changes up to 22 bits: for images up to 32 px the shifted-copy
    /// search below finds those). The search
    /// cost grows quickly with this: keep it at most 10 for millions of images.
    pub near_duplicate_distance: u32,
    /// Near duplicates: largest distance between the two images' unit-length DCT vectors,
    /// whitened by the dataset's per-coefficient spread (0 = same layout, about 1.4 =
    /// unrelated). Measured: brightness, noise and JPEG edits stay below 0.17 even at 28 x 28,
    /// 1-pixel shifts of 96-160 px images below 0.22; different colourised Fashion-MNIST items
    /// whose hashes are within 12 bits start at 0.32, and at this default about 1% of the
    /// native Fashion-MNIST images get a near duplicate (5% at 0.25, 15% at 0.3).
    pub near_duplicate_dct: f32,
    /// Shifted copies of small images (both sides at most [`crate::shiftkey::MAX_SIDE`] px):
    /// largest Hamming distance between an image's hash shifted by up to 2 px and another
    /// image's plain hash for the pair to be a candidate (0 turns the search off).
    pub shift_distance: u32,
    /// Shifted copies: smallest pixel correlation at the matching shift that confirms a
    /// candidate (uncovered edge pixels count as 0). Measured on 10,000 Fashion-MNIST test
    /// images plus 400 copies shifted by 1-2 px (`tests/analyze/shifts.rs`): 397 copies found
    /// at 0.97-0.993 (396 at 0.996); clean images newly flagged: 91 at 0.97, 27 at 0.98, 8 at
    /// 0.985, none from 0.99.
    pub shift_min_correlation: f64,
    /// Near duplicates: images whose grey standard deviation is below this are left out of
    /// perceptual matching (their hash is noise); exact duplicates still find them.
    pub near_duplicate_min_contrast: f32,
    /// Dark: the 99th percentile of grey is below this. Measured: images scaled to 20% of
    /// their brightness at most 46, genuine images 93 and up.
    pub dark: f32,
    /// Light: the 5th percentile of grey is above this. Measured: images faded to 20% contrast
    /// towards white 207 and up, genuine images at most 194.
    pub light: f32,
    /// Blurry: the sharpness score (std of the Laplacian over std of the image, on a grey copy
    /// at most 64 px on a side) is below this. Measured: genuine images 0.21 and up, copies
    /// blurred with a Gaussian of 1/30 of their side at most 0.17.
    pub blurry: f32,
    /// Blurry: images whose grey standard deviation is below this are not judged for blur.
    pub blurry_min_contrast: f32,
    /// Low information: Shannon entropy of the grey histogram (bits, 0..=8) is below this.
    /// Measured: a flat image with a few dots 0.05-0.14 bits; two-colour patterns 1 bit;
    /// photos and garments 3.2 bits and up (darkened/lightened copies included).
    pub low_information: f32,
    /// Constant: the spread (max - min over all channels) is at most this.
    pub constant_range: u8,
    /// Grayscale: mean per-pixel channel spread (max - min of R, G, B) below this marks a
    /// colour-stored image as grey.
    pub grayscale_chroma: f32,
    /// Grayscale is only reported when at least this fraction of readable images is colour.
    pub grayscale_min_colour_fraction: f64,
    /// Odd size: log2(width x height) is more than `odd_size_z` robust z from the median...
    pub odd_size_z: f64,
    /// ...and more than this many log2 units (2.0 = 4x the area) away from it.
    pub odd_size_min_log2: f64,
    /// Odd aspect ratio: log2(width / height) is more than `odd_aspect_z` robust z from the
    /// median...
    pub odd_aspect_z: f64,
    /// ...and more than this many log2 units (1.0 = twice as stretched) away from it.
    pub odd_aspect_min_log2: f64,
    /// Outliers: neighbours averaged for the k-nearest-neighbour distance.
    pub outlier_k: usize,
    /// Outliers: flagged when the kNN distance is more than this robust z above the median.
    /// Measured (k = 10): genuine images and their edited copies at most 4.06, out-of-
    /// distribution scenes 4.2 and up (the score saturates near 5 for unrelated layouts); on
    /// Fashion-MNIST this flags about 1% of the images.
    pub outlier_z: f64,
    /// Outliers: reference samples the distances are taken to (a seeded random subset when the
    /// dataset is larger; all samples otherwise).
    pub outlier_reference: usize,
    /// Seed of that subset (and of the embeddings' SimHash hyperplanes).
    pub seed: u64,
    /// Near duplicates by embeddings (when the analysis has them): smallest cosine between two
    /// samples' embeddings (see [`crate::findings::embedded`]). Measured with EfficientNet-Lite0
    /// on the six fixture photos and 5 edited copies of each (crop to 70-85% of the area,
    /// brightness x0.8-1.2, channel tints x0.9-1.1, offset +-15, JPEG q60-85): copies of one
    /// photo 0.74-0.98 (5th percentile 0.79), different photos -0.1-0.45; recall 0.99 at 0.75
    /// (0.93 at 0.8, 0.46 at 0.9) with no false pair. Lighter edits (re-encodes, colour
    /// changes without crops) stay above 0.9. The SimHash search's Hamming radius grows as
    /// this falls (21 bits at 0.9, 28 at 0.75, 30 at 0.7), and with it the candidates to check;
    /// raise it for millions of images. It must be at least 0.7.
    pub embedding_near_cosine: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            near_duplicate_distance: 10,
            near_duplicate_dct: 0.2,
            near_duplicate_min_contrast: 2.0,
            shift_distance: 4,
            shift_min_correlation: 0.99,
            dark: 60.0,
            light: 200.0,
            blurry: 0.18,
            blurry_min_contrast: 4.0,
            low_information: 0.5,
            constant_range: 1,
            grayscale_chroma: 2.0,
            grayscale_min_colour_fraction: 0.5,
            odd_size_z: 4.0,
            odd_size_min_log2: 2.0,
            odd_aspect_z: 5.0,
            odd_aspect_min_log2: 1.0,
            outlier_k: 10,
            outlier_z: 4.0,
            outlier_reference: 2048,
            seed: 0,
            embedding_near_cosine: 0.75,
        }
    }
}

impl Settings {
    /// Checks that every value is usable (positive sizes, thresholds in range).
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, why: &str| {
            Err(AnalyzeError::Settings {
                what: what.to_string(),
                why: why.to_string(),
            })
        };
        let t = &self.thresholds;
        if self.mean_image_side == 0 || self.mean_image_side > 256 {
            return bad("mean_image_side", "must be between 1 and 256");
        }
        if self.decode.jpeg_min_side == Some(0) {
            return bad("decode.jpeg_min_side", "must be at least 1 (or unset)");
        }
        if t.near_duplicate_distance > 32 {
            return bad(
                "near_duplicate_distance",
                "must be at most 32 of 64 hash bits (beyond that unrelated images match)",
            );
        }
        if t.shift_distance > 16 {
            return bad("shift_distance", "must be at most 16 of 64 hash bits");
        }
        if t.shift_min_correlation.is_nan() || t.shift_min_correlation > 1.0 {
            return bad("shift_min_correlation", "must be a number at most 1");
        }
        if !(0.7..=1.0).contains(&t.embedding_near_cosine) {
            return bad(
                "embedding_near_cosine",
                "must be between 0.7 and 1 (below 0.7 the SimHash search needs more than 32 bits)",
            );
        }
        if t.outlier_k == 0 {
            return bad("outlier_k", "must be at least 1");
        }
        if t.outlier_reference < 2 {
            return bad("outlier_reference", "must be at least 2");
        }
        if !(0.0..=1.0).contains(&t.grayscale_min_colour_fraction) {
            return bad("grayscale_min_colour_fraction", "must be between 0 and 1");
        }
        let finite = [
            t.near_duplicate_min_contrast as f64,
            t.near_duplicate_dct as f64,
            t.dark as f64,
            t.light as f64,
            t.blurry as f64,
            t.blurry_min_contrast as f64,
            t.low_information as f64,
            t.grayscale_chroma as f64,
            t.odd_size_z,
            t.odd_size_min_log2,
            t.odd_aspect_z,
            t.odd_aspect_min_log2,
            t.outlier_z,
        ];
        if finite.iter().any(|v| !v.is_finite()) {
            return bad("thresholds", "must be finite numbers");
        }
        Ok(())
    }
}
