//! Reading images from files for prediction.

use std::path::Path;

use dlscope_data::Image;

use crate::error::{NnError, Result};

/// Decodes an image file (PNG, JPEG, WebP, BMP, GIF, TIFF) into 8-bit grey, RGB or RGBA.
pub fn load_image(path: &Path) -> Result<Image> {
    let img = image::ImageReader::open(path)
        .map_err(|e| NnError::io(path, "open", e))?
        .with_guessed_format()
        .map_err(|e| NnError::io(path, "read", e))?
        .decode()
        .map_err(|e| NnError::Image {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(Image::from_dynamic(img))
}
