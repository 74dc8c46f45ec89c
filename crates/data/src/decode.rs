//! Decoding one image file into an [`Image`], shared by the folder and manifest readers.
//!
//! The format is guessed from the content, never from the file name. Dimensions are checked
//! against [`MAX_PIXELS`] right after the header is read and before any pixel buffer is
//! allocated, so a small file claiming 100000 x 100000 pixels is refused cheaply. Every failure
//! is a [`DataError::Decode`] (or [`DataError::Io`] when the file cannot be read) naming the file.
//!
//! ```no_run
//! let img = dlscope_data::decode::decode_file("cat.jpg".as_ref()).unwrap();
//! println!("{}", img.shape());
//! ```

use std::io::{Cursor, Read};
use std::path::Path;

use crate::error::{DataError, Result};
use crate::image::Image;

/// Largest image area (width x height) that is decoded: 2^28 = 268,435,456 pixels, e.g.
/// 16384 x 16384. Larger headers are refused before allocating (decompression bombs).
pub const MAX_PIXELS: u64 = 1 << 28;

/// Most bytes a decoder may allocate for one image, output buffer included: 1 GiB
/// (2^28 RGBA pixels at 8 bits). Passed to the `image` crate as `Limits::max_alloc`.
pub const MAX_ALLOC: u64 = 1 << 30;

/// Largest image file that is read: 1 GiB. Bigger files are refused without reading them.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads and decodes one image file.
pub fn decode_file(path: &Path) -> Result<Image> {
    decode_bytes(path, &read_file(path)?)
}

/// Reads one image file's bytes, refusing files over [`MAX_FILE_BYTES`] without reading them.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| DataError::io(path, "stat", e))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(decode_err(
            path,
            format!(
                "file is {len} bytes, over the limit of {MAX_FILE_BYTES} (decode::MAX_FILE_BYTES)"
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, "read", e))?;
    Ok(bytes)
}

/// Decodes an image held in memory; `path` only names it in errors.
pub fn decode_bytes(path: &Path, bytes: &[u8]) -> Result<Image> {
    if bytes.is_empty() {
        return Err(decode_err(path, "empty file (0 bytes)".into()));
    }
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| decode_err(path, e.to_string()))?;
    let format = match reader.format() {
        Some(f) => f,
        None => {
            let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            return Err(decode_err(
                path,
                format!(
                    "not a recognised image format (file starts with {})",
                    head.join(" ")
                ),
            ));
        }
    };
    if format == image::ImageFormat::Jpeg {
        // The JPEG decoder fills missing data with grey instead of failing; catch truncation here.
        jpeg_complete(bytes).map_err(|why| decode_err(path, why))?;
    }
    // A decoder bug must not take the whole run down: turn a panic into this sample's error.
    let decoded = std::panic::catch_unwind(|| decode_limited(reader));
    match decoded {
        Ok(Ok(img)) => Ok(Image::from_dynamic(img)),
        Ok(Err(why)) => Err(decode_err(path, why)),
        Err(_) => Err(decode_err(path, format!("the {format:?} decoder panicked"))),
    }
}

fn decode_limited(
    mut reader: image::ImageReader<Cursor<&[u8]>>,
) -> std::result::Result<image::DynamicImage, String> {
    use image::ImageDecoder;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    let area = u64::from(w) * u64::from(h);
    if area > MAX_PIXELS {
        return Err(format!(
            "image is {w}x{h} = {area} pixels, over the limit of {MAX_PIXELS} (decode::MAX_PIXELS)"
        ));
    }
    if area == 0 {
        return Err(format!("image is {w}x{h}: it has no pixels"));
    }
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(format!(
            "decoding needs {} bytes, over the limit of {MAX_ALLOC} (decode::MAX_ALLOC)",
            decoder.total_bytes()
        ));
    }
    image::DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())
}

fn decode_err(path: &Path, reason: String) -> DataError {
    DataError::Decode {
        path: path.to_path_buf(),
        reason,
    }
}

/// Walks the JPEG marker structure from SOI to EOI and fails if the data ends first
/// (a truncated file). Bytes after EOI are allowed (some cameras append data there).
/// [`decode_bytes`] runs this on every JPEG; it is public for callers that decode JPEGs with
/// another decoder (e.g. at reduced scale).
pub fn jpeg_complete(b: &[u8]) -> std::result::Result<(), String> {
    let truncated = |at: usize| {
        Err(format!(
            "truncated JPEG: data ends at byte {} before the end-of-image marker",
            at.min(b.len())
        ))
    };
    if b.len() < 4 || b[0] != 0xFF || b[1] != 0xD8 {
        return Err("missing JPEG start-of-image marker".into());
    }
    let mut i = 2;
    loop {
        // Expect a marker: one or more 0xFF fill bytes then the marker code.
        if i >= b.len() {
            return truncated(i);
        }
        if b[i] != 0xFF {
            return Err(format!(
                "corrupt JPEG: expected a marker at byte {i}, found {:02x}",
                b[i]
            ));
        }
        while i < b.len() && b[i] == 0xFF {
            i += 1;
        }
        let Some(&code) = b.get(i) else {
            return truncated(i);
        };
        i += 1;
        match code {
            0xD9 => return Ok(()),
            // Markers without a length field.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(len) = b
            .get(i..i + 2)
            .map(|s| usize::from(s[0]) << 8 | usize::from(s[1]))
        else {
            return truncated(i);
        };
        if len < 2 {
            return Err(format!("corrupt JPEG: segment length {len} at byte {i}"));
        }
        i += len;
        if i > b.len() {
            return truncated(i);
        }
        if code == 0xDA {
            // Entropy-coded data follows start-of-scan: it ends at the first 0xFF that is
            // neither a stuffed 0x00 nor a restart marker.
            loop {
                let Some(off) = b[i..].iter().position(|&x| x == 0xFF) else {
                    return truncated(b.len());
                };
                i += off;
                match b.get(i + 1) {
                    None => return truncated(b.len()),
                    Some(0x00) | Some(0xD0..=0xD7) => i += 2,
                    Some(0xFF) => i += 1,
                    Some(_) => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_structure_check() {
        // SOI, APP0 of length 4, SOS of length 3 (+1 data byte), data with stuffing, EOI.
        let ok = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0xFF, 0xDA, 0x00, 0x03, 0x01, 0x12,
            0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0xFF, 0xD9, 0x99,
        ];
        assert_eq!(jpeg_complete(&ok), Ok(()));
        for cut in 2..ok.len() - 2 {
            assert!(jpeg_complete(&ok[..cut]).is_err(), "cut at {cut} accepted");
        }
        assert!(jpeg_complete(b"not a jpeg").is_err());
    }

    #[test]
    fn refuses_empty_and_unknown() {
        let p = Path::new("x.png");
        let e = decode_bytes(p, b"").unwrap_err().to_string();
        assert!(e.contains("x.png") && e.contains("empty"), "{e}");
        let e = decode_bytes(p, b"hello, world").unwrap_err().to_string();
        assert!(e.contains("not a recognised image format"), "{e}");
    }
}
