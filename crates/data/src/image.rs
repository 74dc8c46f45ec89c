//! In-memory images: 8-bit, row-major, interleaved channels (H x W x C).

use serde::{Deserialize, Serialize};

/// An 8-bit image stored row-major with interleaved channels (H x W x C), C in {1, 3, 4}.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

/// Shape of an image as (height, width, channels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shape {
    pub height: u32,
    pub width: u32,
    pub channels: u8,
}

impl Shape {
    pub fn new(height: u32, width: u32, channels: u8) -> Self {
        Shape {
            height,
            width,
            channels,
        }
    }
    /// Number of bytes of one image of this shape.
    pub fn len(&self) -> usize {
        self.height as usize * self.width as usize * self.channels as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}

impl Image {
    /// Builds an image, checking that `data` has exactly `height * width * channels` bytes.
    pub fn new(width: u32, height: u32, channels: u8, data: Vec<u8>) -> Option<Self> {
        let img = Image {
            width,
            height,
            channels,
            data,
        };
        (img.shape().len() == img.data.len() && matches!(channels, 1 | 3 | 4)).then_some(img)
    }

    pub fn shape(&self) -> Shape {
        Shape::new(self.height, self.width, self.channels)
    }

    /// Converts any `image` crate image into 8-bit L, RGB or RGBA, keeping the channel count
    /// (grayscale stays 1 channel, grey+alpha becomes RGBA, 16-bit and float are scaled to 8 bits).
    pub fn from_dynamic(img: image::DynamicImage) -> Self {
        use image::DynamicImage as D;
        let (w, h) = (img.width(), img.height());
        match img {
            D::ImageLuma8(b) => Image::raw(w, h, 1, b.into_raw()),
            D::ImageLuma16(_) => Image::raw(w, h, 1, img.to_luma8().into_raw()),
            D::ImageRgb8(b) => Image::raw(w, h, 3, b.into_raw()),
            D::ImageLumaA8(_)
            | D::ImageLumaA16(_)
            | D::ImageRgba8(_)
            | D::ImageRgba16(_)
            | D::ImageRgba32F(_) => Image::raw(w, h, 4, img.to_rgba8().into_raw()),
            _ => Image::raw(w, h, 3, img.to_rgb8().into_raw()),
        }
    }

    fn raw(width: u32, height: u32, channels: u8, data: Vec<u8>) -> Self {
        Image {
            width,
            height,
            channels,
            data,
        }
    }

    /// Converts to an `image` crate buffer (for encoding or resizing).
    pub fn to_dynamic(&self) -> image::DynamicImage {
        use image::{DynamicImage as D, ImageBuffer};
        let (w, h, d) = (self.width, self.height, self.data.clone());
        match self.channels {
            1 => D::ImageLuma8(ImageBuffer::from_raw(w, h, d).expect("checked shape")),
            4 => D::ImageRgba8(ImageBuffer::from_raw(w, h, d).expect("checked shape")),
            _ => D::ImageRgb8(ImageBuffer::from_raw(w, h, d).expect("checked shape")),
        }
    }
}
