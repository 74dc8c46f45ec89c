//! From a decoded image to the network's input tensor: colour conversion, resizing (with
//! Pillow's arithmetic, see [`crate::resample`]) and normalisation, as the Python pipelines do.
//!
//! Resizing ([`Resize`]):
//! * `stretch`: Keras' `image.load_img(path, target_size=(224, 224))`: the whole image resized
//!   to 224 x 224 without keeping the aspect ratio. Keras' default interpolation is `nearest`
//!   (`load_img(..., interpolation='nearest')`, passed to Pillow's `Image.resize`).
//! * `shorter-crop`: torchvision's `Resize(256)` + `CenterCrop(224)` (the transforms of
//!   torchvision's ImageNet weights, bilinear with antialiasing on PIL images): shorter side to
//!   256 (longer side `int(256 * long / short)`), then the centred 224 x 224 window at
//!   `round((h - 224) / 2)`, Python rounding (half to even).
//! * `central-crop`: the TF EfficientNet eval pipeline (what the EfficientNet-Lite0 fixtures
//!   use): the centred square of side `floor(224 / (224 + 32) * min(h, w))` at
//!   `top = (h - c + 1) div 2`, `left = (w - c + 1) div 2`, then resized to 224 x 224
//!   (bicubic).
//!
//! Normalisation ([`Normalize`]), applied to the u8 RGB values `x` as float32:
//! * `caffe` (Keras VGG16/ResNet50 `preprocess_input`): RGB -> BGR, then minus
//!   103.939, 116.779, 123.68 (B, G, R); no scaling.
//! * `torch`: `x / 255`, minus mean (0.485, 0.456, 0.406), divided by std (0.229, 0.224, 0.225).
//! * `tf`: `x / 127.5 - 1`, range [-1, 1].
//! * `lite`: `(x - 127) / 128`, EfficientNet-Lite's TF eval pipeline (`MEAN_RGB = 127`,
//!   `STDDEV_RGB = 128`).
//!
//! ```
//! use dlscope_vision::preprocess::{Normalize, Preprocess, Resize};
//! use dlscope_vision::resample::Filter;
//! let keras = Preprocess { size: 224, resize: Resize::Stretch, filter: Filter::Nearest, normalize: Normalize::Caffe };
//! let img = dlscope_data::Image::new(2, 2, 3, vec![255; 12]).unwrap();
//! let x = keras.batch(&[keras.crop(&img)]);
//! assert_eq!(x.data.len(), 3 * 224 * 224);
//! assert!((x.data[0] - (255.0 - 103.939)).abs() < 1e-4); // channel 0 is blue
//! ```

use dlscope_data::Image;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, VisionError};
use crate::resample::{resize, Filter, Pixels};

/// How pixel values become network inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    Caffe,
    Torch,
    Tf,
    Lite,
}

const CAFFE_MEAN_BGR: [f32; 3] = [103.939, 116.779, 123.68];
const TORCH_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const TORCH_STD: [f32; 3] = [0.229, 0.224, 0.225];

impl Normalize {
    pub const ALL: [Normalize; 4] = [
        Normalize::Caffe,
        Normalize::Torch,
        Normalize::Tf,
        Normalize::Lite,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Normalize::Caffe => "caffe",
            Normalize::Torch => "torch",
            Normalize::Tf => "tf",
            Normalize::Lite => "lite",
        }
    }

    pub fn parse(s: &str) -> Option<Normalize> {
        Normalize::ALL
            .into_iter()
            .find(|n| n.as_str().eq_ignore_ascii_case(s))
    }

    /// Input channel `ch` (in the order the network reads them) from an RGB pixel.
    #[inline]
    fn channel(&self, rgb: &[u8], ch: usize) -> f32 {
        match self {
            Normalize::Caffe => f32::from(rgb[2 - ch]) - CAFFE_MEAN_BGR[ch],
            Normalize::Torch => (f32::from(rgb[ch]) / 255.0 - TORCH_MEAN[ch]) / TORCH_STD[ch],
            Normalize::Tf => f32::from(rgb[ch]) / 127.5 - 1.0,
            Normalize::Lite => (f32::from(rgb[ch]) - 127.0) / 128.0,
        }
    }
}

impl std::fmt::Display for Normalize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an image of any size becomes `size` x `size` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resize {
    /// Resize the whole image to size x size (Keras `load_img(target_size=...)`).
    Stretch,
    /// Shorter side to `shorter`, then the centred size x size window (torchvision).
    ShorterCrop { shorter: u32 },
    /// Centred square of `size / (size + padding)` of the shorter side, then resize (TF).
    CentralCrop { padding: u32 },
}

impl Resize {
    /// Parses `stretch`, `shorter-crop` (shorter side 256/224 of the input size) or
    /// `central-crop` (crop padding 32).
    pub fn parse(s: &str, size: usize) -> Option<Resize> {
        match s.to_ascii_lowercase().as_str() {
            "stretch" | "keras" => Some(Resize::Stretch),
            "shorter-crop" | "torchvision" => Some(Resize::ShorterCrop {
                shorter: (size as u64 * 256 / 224) as u32,
            }),
            "central-crop" | "tf" => Some(Resize::CentralCrop { padding: 32 }),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Resize::Stretch => "stretch",
            Resize::ShorterCrop { .. } => "shorter-crop",
            Resize::CentralCrop { .. } => "central-crop",
        }
    }
}

/// A full preprocessing recipe: resize policy, filter, normalisation, square input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Preprocess {
    pub size: usize,
    pub resize: Resize,
    pub filter: Filter,
    pub normalize: Normalize,
}

/// A batch of network inputs: NCHW float32, 3 channels, in the network's channel order.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub n: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Batch {
    /// Checks that `data` holds `n * 3 * height * width` values.
    pub fn new(n: usize, height: usize, width: usize, data: Vec<f32>) -> Result<Batch> {
        if data.len() != n * 3 * height * width {
            return Err(VisionError::Invalid(format!(
                "input batch has {} values but {n}x3x{height}x{width} needs {}",
                data.len(),
                n * 3 * height * width
            )));
        }
        Ok(Batch {
            n,
            height,
            width,
            data,
        })
    }

    /// Values of image `i` (3 x H x W).
    pub fn image(&self, i: usize) -> &[f32] {
        let per = 3 * self.height * self.width;
        &self.data[i * per..(i + 1) * per]
    }
}

/// Any dlscope image as 8-bit RGB, as Pillow's `convert("RGB")` does: grey is copied to the
/// three channels, alpha is dropped (not composited).
pub fn to_rgb(img: &Image) -> Pixels {
    let (w, h) = (img.width as usize, img.height as usize);
    let data = match img.channels {
        3 => img.data.clone(),
        1 => img.data.iter().flat_map(|&v| [v, v, v]).collect(),
        _ => img
            .data
            .chunks_exact(img.channels as usize)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    Pixels {
        width: w,
        height: h,
        channels: 3,
        data,
    }
}

/// Python's `round(x / 2)` for an integer `x`: halves go to the even neighbour.
fn half_round_even(x: usize) -> usize {
    let q = x / 2;
    if x % 2 == 1 && q % 2 == 1 {
        q + 1
    } else {
        q
    }
}

impl Preprocess {
    /// The size x size RGB crop the network sees, before normalisation.
    pub fn crop(&self, img: &Image) -> Pixels {
        self.crop_rgb(&to_rgb(img))
    }

    /// [`Preprocess::crop`] for an image already in RGB.
    pub fn crop_rgb(&self, rgb: &Pixels) -> Pixels {
        let s = self.size;
        let (w, h) = (rgb.width, rgb.height);
        match self.resize {
            Resize::Stretch => resize(rgb, s, s, self.filter),
            Resize::ShorterCrop { shorter } => {
                let shorter = shorter as usize;
                let (short, long) = if w <= h { (w, h) } else { (h, w) };
                let new_long = if short == 0 {
                    0
                } else {
                    ((shorter * long) as f64 / short as f64) as usize
                };
                let (nw, nh) = if w <= h {
                    (shorter, new_long)
                } else {
                    (new_long, shorter)
                };
                let r = resize(rgb, nw, nh, self.filter);
                if nw < s || nh < s {
                    // Only when `shorter` < size: stretch what is there instead of padding.
                    return resize(&r, s, s, self.filter);
                }
                let top = half_round_even(nh - s);
                let left = half_round_even(nw - s);
                r.crop(left, top, s, s)
            }
            Resize::CentralCrop { padding } => {
                let frac = s as f64 / (s + padding as usize) as f64;
                let c = (frac * w.min(h) as f64) as usize;
                let top = (h - c).div_ceil(2);
                let left = (w - c).div_ceil(2);
                resize(&rgb.crop(left, top, c, c), s, s, self.filter)
            }
        }
    }

    /// Normalised NCHW batch from crops made by [`Preprocess::crop`] (each size x size x 3).
    pub fn batch(&self, crops: &[Pixels]) -> Batch {
        let s = self.size;
        let plane = s * s;
        let mut data = vec![0f32; crops.len() * 3 * plane];
        data.par_chunks_mut(3 * plane)
            .zip(crops.par_iter())
            .for_each(|(dst, crop)| {
                for (p, rgb) in crop.data.chunks_exact(3).take(plane).enumerate() {
                    for ch in 0..3 {
                        dst[ch * plane + p] = self.normalize.channel(rgb, ch);
                    }
                }
            });
        Batch {
            n: crops.len(),
            height: s,
            width: s,
            data,
        }
    }
}

impl std::fmt::Display for Preprocess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self.resize {
            Resize::Stretch => "stretch".to_string(),
            Resize::ShorterCrop { shorter } => format!("shorter side {shorter}, centre crop"),
            Resize::CentralCrop { padding } => format!("central crop (padding {padding})"),
        };
        write!(
            f,
            "{how} to {s}x{s} ({}), {} normalisation",
            self.filter,
            self.normalize,
            s = self.size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_rounding_of_the_crop_offset() {
        assert_eq!(half_round_even(3), 2); // round(1.5) = 2
        assert_eq!(half_round_even(5), 2); // round(2.5) = 2
        assert_eq!(half_round_even(7), 4); // round(3.5) = 4
        assert_eq!(half_round_even(4), 2);
    }

    #[test]
    fn normalisations_match_their_formulas() {
        let rgb = [10u8, 20, 30];
        assert_eq!(Normalize::Caffe.channel(&rgb, 0), 30.0 - 103.939);
        assert_eq!(Normalize::Caffe.channel(&rgb, 2), 10.0 - 123.68);
        assert_eq!(Normalize::Tf.channel(&[255, 0, 0], 0), 1.0);
        assert_eq!(Normalize::Tf.channel(&[255, 0, 0], 1), -1.0);
        assert_eq!(Normalize::Lite.channel(&[127, 255, 0], 1), 1.0);
        let t = Normalize::Torch.channel(&[255, 0, 0], 0);
        assert!((t - (1.0 - 0.485) / 0.229).abs() < 1e-6);
    }

    #[test]
    fn shorter_crop_sizes_like_torchvision() {
        let p = Preprocess {
            size: 224,
            resize: Resize::ShorterCrop { shorter: 256 },
            filter: Filter::Bilinear,
            normalize: Normalize::Torch,
        };
        let img = Image::new(320, 213, 3, vec![7; 320 * 213 * 3]).unwrap();
        let c = p.crop(&img);
        assert_eq!((c.width, c.height), (224, 224));
        assert!(c.data.iter().all(|&v| v == 7));
        let grey = Image::new(3, 2, 1, vec![1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(&to_rgb(&grey).data[..6], &[1, 1, 1, 2, 2, 2]);
    }
}
