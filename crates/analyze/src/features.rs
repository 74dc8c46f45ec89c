//! The per-sample feature table: one small row of numbers and hashes per sample, kept for the
//! whole dataset (no decoded image is kept).

use serde::{Deserialize, Serialize};

/// Container format of a file-backed sample, sniffed from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Jpeg,
    Png,
    Bmp,
    Gif,
    Webp,
    Tiff,
    /// Not one of the above (the decoder's error says more).
    Other,
}

impl FileFormat {
    /// Recognises the format by its magic number.
    pub fn sniff(b: &[u8]) -> Self {
        match b {
            [0xFF, 0xD8, 0xFF, ..] => FileFormat::Jpeg,
            [0x89, b'P', b'N', b'G', ..] => FileFormat::Png,
            [b'B', b'M', ..] => FileFormat::Bmp,
            [b'G', b'I', b'F', b'8', ..] => FileFormat::Gif,
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => FileFormat::Webp,
            [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => FileFormat::Tiff,
            _ => FileFormat::Other,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            FileFormat::Jpeg => "jpeg",
            FileFormat::Png => "png",
            FileFormat::Bmp => "bmp",
            FileFormat::Gif => "gif",
            FileFormat::Webp => "webp",
            FileFormat::Tiff => "tiff",
            FileFormat::Other => "other",
        }
    }
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is known about the file of a file-backed sample (folders, manifests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// File size in bytes.
    pub bytes: u64,
    pub format: FileFormat,
    /// XXH3-64 of the file's bytes.
    pub hash: u64,
}

/// Features of one decoded image. Grey means ITU-R BT.601 luma, `(77 R + 150 G + 29 B) / 256`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageFeatures {
    /// Original size (from the header when the image was decoded at reduced scale).
    pub width: u32,
    pub height: u32,
    /// 1 (grey), 3 (RGB) or 4 (RGBA).
    pub channels: u8,
    /// 1 for a full decode; 2, 4 or 8 when a JPEG was decoded at that fraction of its size.
    pub decode_scale: u8,
    /// Per-channel mean of the pixel values (0..=255); entries past `channels` are 0.
    pub mean: [f32; 4],
    /// Per-channel standard deviation; entries past `channels` are 0.
    pub std: [f32; 4],
    /// Mean grey level.
    pub brightness: f32,
    /// Standard deviation of grey (RMS contrast, in grey levels).
    pub contrast: f32,
    /// 99th percentile of grey: low for dark images.
    pub grey_p99: u8,
    /// 5th percentile of grey: high for light images.
    pub grey_p05: u8,
    /// Shannon entropy of the grey histogram, in bits (0..=8).
    pub entropy: f32,
    /// Sharpness: standard deviation of the 4-neighbour Laplacian divided by the standard
    /// deviation of the image, both on a grey copy fitted within 64 x 64 (0 for flat images).
    /// Dimensionless and contrast-free, so images of different sizes and contrasts compare.
    pub sharpness: f32,
    /// Mean per-pixel spread between colour channels (max - min of R, G, B); 0 for grey images.
    pub chroma: f32,
    /// Largest max - min of any colour channel (alpha excluded): 0 for a single-value image.
    pub range: u8,
    /// XXH3-64 of the decoded pixel bytes (of the reduced decode when `decode_scale > 1`).
    /// Exact duplicates share this, the shape and the decode scale.
    pub pixel_hash: u64,
    /// 64-bit perceptual hash (see [`crate::phash`]).
    pub phash: u64,
    /// The 64 low-frequency DCT coefficients behind `phash` (same order as its bits, row by
    /// row), scaled so the largest magnitude is 127: a brightness- and contrast-free summary of
    /// the image's layout at about 16 x 16 detail. It verifies near duplicates and is the
    /// outlier feature space.
    pub dct: [[i8; 8]; 8],
    /// For small images (both sides at most [`crate::shiftkey::MAX_SIDE`], full decode): the
    /// hashes of the image shifted by up to 2 pixels and its grey pixels, for finding shifted
    /// copies ([`crate::shiftkey`]). `None` for larger images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<crate::shiftkey::ShiftKey>,
}

/// One row of the feature table. Rows are ordered by (split, index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleRow {
    /// Position of the split in [`crate::DatasetMeta::splits`].
    pub split: u16,
    /// Position of the sample within its split.
    pub index: u64,
    pub label: Option<u32>,
    /// For file-backed samples, even when they cannot be decoded.
    pub file: Option<FileInfo>,
    /// `None` when the sample could not be decoded.
    pub image: Option<ImageFeatures>,
    /// The decoder's reason when the sample could not be decoded.
    pub error: Option<String>,
}

impl SampleRow {
    /// Row key: (split, index).
    pub fn key(&self) -> (u16, u64) {
        (self.split, self.index)
    }
}

/// All rows of an analysis (or of one shard), ordered by (split, index).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureTable {
    pub rows: Vec<SampleRow>,
}

impl FeatureTable {
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// The row of sample `index` of split `split`, by binary search.
    pub fn row(&self, split: u16, index: u64) -> Option<&SampleRow> {
        self.rows
            .binary_search_by_key(&(split, index), SampleRow::key)
            .ok()
            .map(|i| &self.rows[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats_by_content() {
        assert_eq!(
            FileFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            FileFormat::Jpeg
        );
        assert_eq!(FileFormat::sniff(b"\x89PNG\r\n"), FileFormat::Png);
        assert_eq!(FileFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "), FileFormat::Webp);
        assert_eq!(FileFormat::sniff(b"GIF89a"), FileFormat::Gif);
        assert_eq!(FileFormat::sniff(b"II*\0"), FileFormat::Tiff);
        assert_eq!(FileFormat::sniff(b"hello"), FileFormat::Other);
        assert_eq!(FileFormat::sniff(b""), FileFormat::Other);
    }
}
