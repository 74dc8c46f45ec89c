//! Getting one sample's pixels: file-backed samples are read once with the data layer's
//! [`dlscope_data::decode::read_file`] (its file-size limit applies; size, format and file hash
//! come from the same bytes) and decoded with [`decode_bytes`] (pixel and allocation limits,
//! truncated-JPEG detection). Large JPEGs are decoded at reduced scale after the same
//! structural check ([`jpeg_complete`]); everything else goes through the split's own decoder.

use dlscope_data::decode::{decode_bytes, jpeg_complete, read_file, MAX_PIXELS};
use dlscope_data::{DataError, Image, Split};

use crate::features::{FileFormat, FileInfo};

/// A decoded sample.
pub(crate) struct Loaded {
    pub image: Image,
    /// Size before any reduced-scale decode.
    pub width: u32,
    pub height: u32,
    /// 1, or 2/4/8 for a DCT-scaled JPEG decode.
    pub scale: u8,
}

/// Loads sample `i`: its file facts (file-backed samples) and its pixels or the reason they
/// could not be had.
pub(crate) fn load(
    split: &Split,
    i: usize,
    jpeg_min_side: Option<u32>,
) -> (Option<FileInfo>, Result<Loaded, String>) {
    let Some(path) = split.path(i) else {
        let res = split
            .source()
            .load(i)
            .map(|image| Loaded {
                width: image.width,
                height: image.height,
                image,
                scale: 1,
            })
            .map_err(|e| e.to_string());
        return (None, res);
    };
    let bytes = match read_file(&path) {
        Ok(b) => b,
        Err(e) => return (None, Err(e.to_string())),
    };
    let info = FileInfo {
        bytes: bytes.len() as u64,
        format: FileFormat::sniff(&bytes),
        hash: xxhash_rust::xxh3::xxh3_64(&bytes),
    };
    if info.format == FileFormat::Jpeg {
        if let Err(reason) = jpeg_complete(&bytes) {
            let e = DataError::Decode { path, reason };
            return (Some(info), Err(e.to_string()));
        }
        if let Some(loaded) = jpeg_min_side.and_then(|m| scaled_jpeg(&bytes, m)) {
            return (Some(info), Ok(loaded));
        }
    }
    let res = decode_bytes(&path, &bytes)
        .map(|image| Loaded {
            width: image.width,
            height: image.height,
            image,
            scale: 1,
        })
        .map_err(|e| e.to_string());
    (Some(info), res)
}

/// The reduced-scale factor for a `w x h` image: the largest of 8 and 4 that keeps the shorter
/// side at least `min_side`, or 1. Half scale is not used: measured on 500 x 375 photos
/// (`benches/jpeg_decode.rs`), `jpeg-decoder` at 1/2 is slower than the `image` crate's full
/// zune-jpeg decode (1.9 vs 1.7 ms); at 1/4 and 1/8 it is 10-20% faster, and more so as
/// images grow.
pub(crate) fn jpeg_scale(w: u32, h: u32, min_side: u32) -> u32 {
    [8, 4]
        .into_iter()
        .find(|s| w.min(h) / s >= min_side)
        .unwrap_or(1)
}

/// DCT-scaled decode of a structurally complete JPEG whose shorter side allows it. `None`
/// whenever anything is unusual (too small to scale, CMYK, 16-bit, decoder error): the caller
/// then decodes in full with the data layer's decoder, which also words the error of a broken
/// file.
fn scaled_jpeg(bytes: &[u8], min_side: u32) -> Option<Loaded> {
    let mut dec = jpeg_decoder::Decoder::new(bytes);
    dec.read_info().ok()?;
    let info = dec.info()?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let channels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => 1u8,
        jpeg_decoder::PixelFormat::RGB24 => 3,
        _ => return None,
    };
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return None;
    }
    let s = jpeg_scale(w, h, min_side);
    if s == 1 {
        return None;
    }
    let (ow, oh) = dec.scale(w.div_ceil(s) as u16, h.div_ceil(s) as u16).ok()?;
    let (ow, oh) = (u32::from(ow), u32::from(oh));
    if (ow, oh) != (w.div_ceil(s), h.div_ceil(s)) {
        return None;
    }
    let pixels = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dec.decode()))
        .ok()?
        .ok()?;
    let image = Image::new(ow, oh, channels, pixels)?;
    Some(Loaded {
        image,
        width: w,
        height: h,
        scale: s as u8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_keeps_the_short_side() {
        assert_eq!(jpeg_scale(500, 375, 128), 1);
        assert_eq!(jpeg_scale(2048, 1536, 128), 8);
        assert_eq!(jpeg_scale(640, 480, 128), 1);
        assert_eq!(jpeg_scale(28, 28, 128), 1);
        assert_eq!(jpeg_scale(1024, 512, 128), 4);
    }
}
