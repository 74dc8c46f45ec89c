//! Thumbnails of flagged samples, re-loaded from the dataset and encoded as PNG data URIs.

use std::collections::HashMap;
use std::io::Cursor;

use base64::Engine as _;
use dlscope_data::Dataset;
use rayon::prelude::*;

/// A sample's picture in the report.
#[derive(Debug, Clone)]
pub enum Thumb {
    /// PNG data URI and the size to display it at (small images are scaled up by a whole
    /// factor, drawn pixelated).
    Image {
        uri: String,
        width: u32,
        height: u32,
    },
    /// Why no picture could be made.
    Missing(String),
}

/// Loads samples `(split position, index)` in parallel and makes thumbnails at most `side`
/// pixels on a side. Without a dataset every thumbnail is missing.
pub fn load(
    dataset: Option<&Dataset>,
    keys: &[(u16, u64)],
    side: u32,
) -> HashMap<(u16, u64), Thumb> {
    keys.par_iter()
        .map(|&(s, i)| {
            let thumb = match dataset {
                None => Thumb::Missing("dataset not available".into()),
                Some(ds) => match ds.splits.get(s as usize) {
                    None => Thumb::Missing(format!("no split #{s} in the dataset")),
                    Some(split) if i as usize >= split.len() => Thumb::Missing(format!(
                        "sample {i} is past the end of split '{}'",
                        split.name()
                    )),
                    Some(split) => match split.get(i as usize) {
                        Ok(sample) => make(&sample.image, side),
                        Err(e) => Thumb::Missing(e.to_string()),
                    },
                },
            };
            ((s, i), thumb)
        })
        .collect()
}

/// Downscales to fit `side` x `side` and encodes as a PNG data URI.
pub fn make(img: &dlscope_data::Image, side: u32) -> Thumb {
    if img.width == 0 || img.height == 0 {
        return Thumb::Missing("empty image".into());
    }
    let dynamic = img.to_dynamic();
    let long = img.width.max(img.height);
    let small = if long > side {
        dynamic.thumbnail(side, side)
    } else {
        dynamic
    };
    match png_data_uri(&small) {
        Ok(uri) => {
            let (w, h) = (small.width(), small.height());
            let factor = (side / w.max(h).max(1)).max(1);
            Thumb::Image {
                uri,
                width: w * factor,
                height: h * factor,
            }
        }
        Err(e) => Thumb::Missing(format!("cannot encode thumbnail: {e}")),
    }
}

/// `data:image/png;base64,...` of an image.
pub fn png_data_uri(img: &image::DynamicImage) -> Result<String, image::ImageError> {
    let mut png = Vec::new();
    img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
    let mut uri = String::with_capacity(22 + png.len() * 4 / 3 + 4);
    uri.push_str("data:image/png;base64,");
    base64::engine::general_purpose::STANDARD.encode_string(&png, &mut uri);
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_fit_the_side_and_small_ones_scale_up_for_display() {
        let big = dlscope_data::Image::new(200, 100, 3, vec![128; 200 * 100 * 3]).unwrap();
        match make(&big, 64) {
            Thumb::Image { uri, width, height } => {
                assert!(uri.starts_with("data:image/png;base64,iVBORw0KGgo"));
                assert_eq!((width, height), (64, 32));
            }
            Thumb::Missing(m) => panic!("{m}"),
        }
        let tiny = dlscope_data::Image::new(28, 28, 1, vec![0; 28 * 28]).unwrap();
        match make(&tiny, 64) {
            Thumb::Image { width, height, .. } => assert_eq!((width, height), (56, 56)),
            Thumb::Missing(m) => panic!("{m}"),
        }
    }
}
