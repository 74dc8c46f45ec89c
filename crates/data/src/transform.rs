//! Per-sample transformations applied while a dataset is written out: resizing, channel
//! conversion and padding, plus views that keep, drop or relabel samples without copying them.
//!
//! ```no_run
//! use dlscope_data::transform::{self, ChannelMode, Resize, Transform};
//! let ds = dlscope_data::open("fashion-mnist").unwrap();
//! let t = Transform { resize: Some(Resize::Exact { width: 32, height: 32 }),
//!                     channels: ChannelMode::Rgb, pad: None };
//! let rgb32 = transform::map(ds, t); // lazy: images are transformed when loaded
//! assert_eq!(rgb32.split("train").unwrap().get(0).unwrap().image.shape().channels, 3);
//! ```
//!
//! Views are lazy: the inner split keeps decoding on demand and each load applies the change,
//! so writing a transformed copy of a large folder never holds it in memory.

use std::sync::Arc;

use fast_image_resize as fr;

use crate::dataset::{Dataset, SampleId, SampleSource, Split};
use crate::error::{DataError, Result};
use crate::image::{Image, Shape};

/// How to resize images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resize {
    /// To exactly `width x height` (aspect ratio not kept).
    Exact { width: u32, height: u32 },
    /// Shorter side to `n` pixels, the other side scaled to keep the aspect ratio (rounded).
    Shorter(u32),
}

impl Resize {
    /// The output size (width, height) for an input of `w x h`.
    pub fn target(&self, w: u32, h: u32) -> (u32, u32) {
        match *self {
            Resize::Exact { width, height } => (width, height),
            Resize::Shorter(n) => {
                let (w64, h64, n64) = (w.max(1) as u64, h.max(1) as u64, n as u64);
                if w <= h {
                    (n, ((h64 * n64 + w64 / 2) / w64).max(1) as u32)
                } else {
                    (((w64 * n64 + h64 / 2) / h64).max(1) as u32, n)
                }
            }
        }
    }
}

impl std::str::FromStr for Resize {
    type Err = String;
    /// `WxH` (e.g. `32x32`) or `shorter:N`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("'{s}' is not a size: use WxH (e.g. 32x32) or shorter:N");
        let positive = |t: &str| t.trim().parse::<u32>().ok().filter(|v| *v > 0);
        if let Some(n) = s.strip_prefix("shorter:") {
            return positive(n).map(Resize::Shorter).ok_or_else(bad);
        }
        let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        match (positive(w), positive(h)) {
            (Some(width), Some(height)) => Ok(Resize::Exact { width, height }),
            _ => Err(bad()),
        }
    }
}

/// Channel conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelMode {
    /// Keep the channels each image has.
    #[default]
    Keep,
    /// To one grey channel (ITU-R BT.601 luma; alpha dropped).
    Gray,
    /// To three RGB channels (grey replicated; alpha dropped).
    Rgb,
}

/// What to do to every image, in this order: channel conversion, resize, pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Transform {
    pub resize: Option<Resize>,
    pub channels: ChannelMode,
    /// Pad (centred, with zeros) to `width x height`; an image larger than that is refused.
    pub pad: Option<(u32, u32)>,
}

impl Transform {
    /// True when it changes nothing.
    pub fn is_identity(&self) -> bool {
        self.resize.is_none() && self.channels == ChannelMode::Keep && self.pad.is_none()
    }

    /// Applies the transformation to one image; the error says what could not be done.
    pub fn apply(&self, img: Image) -> std::result::Result<Image, String> {
        let mut img = convert_channels(img, self.channels);
        if let Some(r) = self.resize {
            let (w, h) = r.target(img.width, img.height);
            img = resize(&img, w, h)?;
        }
        if let Some((w, h)) = self.pad {
            img = pad(&img, w, h)?;
        }
        Ok(img)
    }
}

/// Converts `img` to `mode`'s channel count.
pub fn convert_channels(img: Image, mode: ChannelMode) -> Image {
    let c = img.channels as usize;
    match (mode, img.channels) {
        (ChannelMode::Keep, _) | (ChannelMode::Gray, 1) | (ChannelMode::Rgb, 3) => img,
        (ChannelMode::Gray, _) => {
            let data = img
                .data
                .chunks_exact(c)
                .map(|p| {
                    let y = 299 * p[0] as u32 + 587 * p[1] as u32 + 114 * p[2] as u32;
                    ((y + 500) / 1000) as u8
                })
                .collect();
            Image {
                channels: 1,
                data,
                ..img
            }
        }
        (ChannelMode::Rgb, _) => {
            let data = img
                .data
                .chunks_exact(c)
                .flat_map(|p| {
                    if c == 1 {
                        [p[0]; 3]
                    } else {
                        [p[0], p[1], p[2]]
                    }
                })
                .collect();
            Image {
                channels: 3,
                data,
                ..img
            }
        }
    }
}

/// Resizes with a Lanczos3 convolution (fast_image_resize); same size returns a copy.
pub fn resize(img: &Image, width: u32, height: u32) -> std::result::Result<Image, String> {
    if width == 0 || height == 0 {
        return Err(format!("cannot resize to {width}x{height}"));
    }
    if (img.width, img.height) == (width, height) {
        return Ok(img.clone());
    }
    if img.width == 0 || img.height == 0 {
        return Err("cannot resize an empty image".into());
    }
    let pt = match img.channels {
        1 => fr::PixelType::U8,
        3 => fr::PixelType::U8x3,
        _ => fr::PixelType::U8x4,
    };
    let src = fr::images::Image::from_vec_u8(img.width, img.height, img.data.clone(), pt)
        .map_err(|e| format!("resize: {e}"))?;
    let mut dst = fr::images::Image::new(width, height, pt);
    fr::Resizer::new()
        .resize(&src, &mut dst, None)
        .map_err(|e| format!("resize to {width}x{height}: {e}"))?;
    Image::new(width, height, img.channels, dst.into_vec())
        .ok_or_else(|| "resize produced a buffer of the wrong size".to_string())
}

/// Pads `img` with zeros, centred, to `width x height`.
pub fn pad(img: &Image, width: u32, height: u32) -> std::result::Result<Image, String> {
    if img.width > width || img.height > height {
        return Err(format!(
            "image is {}x{} (WxH), larger than the pad size {width}x{height}; resize first",
            img.width, img.height
        ));
    }
    let c = img.channels as usize;
    let (x0, y0) = (
        ((width - img.width) / 2) as usize,
        ((height - img.height) / 2) as usize,
    );
    let mut data = vec![0u8; width as usize * height as usize * c];
    let row = img.width as usize * c;
    for y in 0..img.height as usize {
        let dst = ((y + y0) * width as usize + x0) * c;
        data[dst..dst + row].copy_from_slice(&img.data[y * row..(y + 1) * row]);
    }
    Ok(Image {
        width,
        height,
        channels: img.channels,
        data,
    })
}

/// A split seen through a list of kept indices, optional new labels and a transformation.
struct View {
    inner: Arc<Split>,
    /// Position in the view -> index in `inner`.
    indices: Vec<usize>,
    /// New labels by view position (`None` = keep the inner label).
    labels: Option<Vec<Option<u32>>>,
    transform: Transform,
    shape: Option<Shape>,
}

impl SampleSource for View {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn label(&self, i: usize) -> Option<u32> {
        match &self.labels {
            Some(l) => l[i],
            None => self.inner.label(self.indices[i]),
        }
    }
    fn id(&self, i: usize) -> SampleId {
        self.inner.id(self.indices[i])
    }
    fn load(&self, i: usize) -> Result<Image> {
        let j = self.indices[i];
        let img = self.inner.source().load(j)?;
        if self.transform.is_identity() {
            return Ok(img);
        }
        self.transform
            .apply(img)
            .map_err(|reason| DataError::Decode {
                path: self
                    .inner
                    .path(j)
                    .unwrap_or_else(|| format!("{}/{}", self.inner.name(), j).into()),
                reason,
            })
    }
    fn fixed_shape(&self) -> Option<Shape> {
        self.shape
    }
    fn path(&self, i: usize) -> Option<std::path::PathBuf> {
        // A transformed sample no longer is its file: writers must encode it.
        if self.transform.is_identity() {
            self.inner.path(self.indices[i])
        } else {
            None
        }
    }
}

/// What to keep of one split: indices into it, in the order to write them, and optionally a new
/// label for each kept sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keep {
    pub split: String,
    pub indices: Vec<usize>,
    pub labels: Option<Vec<Option<u32>>>,
}

/// The dataset with only the kept samples of each split (splits not named in `keep` are
/// dropped whole), relabelled where asked. Fails on an unknown split, an index past the end or a
/// label list of the wrong length.
pub fn select(ds: Dataset, keep: Vec<Keep>) -> Result<Dataset> {
    let Dataset {
        name,
        format,
        root,
        classes,
        splits,
        skipped,
    } = ds;
    let by_name: Vec<Arc<Split>> = splits.into_iter().map(Arc::new).collect();
    let mut out = Vec::new();
    for k in keep {
        let inner = by_name
            .iter()
            .find(|s| s.name() == k.split)
            .cloned()
            .ok_or_else(|| DataError::NoSuchSplit {
                split: k.split.clone(),
                available: by_name
                    .iter()
                    .map(|s| s.name().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let refuse = |why: String| DataError::Refused {
            path: root.clone(),
            why,
        };
        if let Some(&bad) = k.indices.iter().find(|&&i| i >= inner.len()) {
            return Err(refuse(format!(
                "split '{}' has {} samples; cannot keep index {bad}",
                k.split,
                inner.len()
            )));
        }
        if let Some(l) = &k.labels {
            if l.len() != k.indices.len() {
                return Err(refuse(format!(
                    "split '{}': {} labels for {} kept samples",
                    k.split,
                    l.len(),
                    k.indices.len()
                )));
            }
        }
        let shape = inner.fixed_shape();
        out.push(Split::new(
            k.split.clone(),
            Box::new(View {
                inner,
                indices: k.indices,
                labels: k.labels,
                transform: Transform::default(),
                shape,
            }),
        ));
    }
    Ok(Dataset {
        name,
        format,
        root,
        classes,
        splits: out,
        skipped,
    })
}

/// The dataset with `t` applied to every image when it is loaded.
pub fn map(ds: Dataset, t: Transform) -> Dataset {
    if t.is_identity() {
        return ds;
    }
    let splits = ds
        .splits
        .into_iter()
        .map(|s| {
            let shape = s.fixed_shape().map(|sh| fixed_after(&t, sh));
            let name = s.name().to_string();
            let n = s.len();
            Split::new(
                name,
                Box::new(View {
                    inner: Arc::new(s),
                    indices: (0..n).collect(),
                    labels: None,
                    transform: t,
                    shape,
                }),
            )
        })
        .collect();
    Dataset { splits, ..ds }
}

/// Shape after `t` of an input of shape `s`.
fn fixed_after(t: &Transform, s: Shape) -> Shape {
    let c = match t.channels {
        ChannelMode::Keep => s.channels,
        ChannelMode::Gray => 1,
        ChannelMode::Rgb => 3,
    };
    let (mut w, mut h) = (s.width, s.height);
    if let Some(r) = t.resize {
        (w, h) = r.target(w, h);
    }
    if let Some((pw, ph)) = t.pad {
        (w, h) = (pw, ph);
    }
    Shape::new(h, w, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32, c: u8) -> Image {
        let n = (w * h * c as u32) as usize;
        Image::new(w, h, c, (0..n).map(|i| (i * 7 % 251) as u8).collect()).unwrap()
    }

    #[test]
    fn sizes_parse_and_scale() {
        assert_eq!(
            "32x24".parse(),
            Ok(Resize::Exact {
                width: 32,
                height: 24
            })
        );
        assert_eq!("shorter:16".parse(), Ok(Resize::Shorter(16)));
        assert!("0x3".parse::<Resize>().is_err());
        assert!("shorter:".parse::<Resize>().is_err());
        assert_eq!(Resize::Shorter(16).target(64, 32), (32, 16));
        assert_eq!(Resize::Shorter(10).target(30, 45), (10, 15));
    }

    #[test]
    fn channels_pad_resize() {
        let g = convert_channels(img(2, 2, 1), ChannelMode::Rgb);
        assert_eq!(g.channels, 3);
        assert_eq!(&g.data[0..3], &[0, 0, 0]);
        assert_eq!(&g.data[3..6], &[7, 7, 7]);
        let back = convert_channels(g, ChannelMode::Gray);
        assert_eq!(back, img(2, 2, 1));
        let p = pad(&img(2, 2, 1), 4, 4).unwrap();
        assert_eq!(p.data[5], 0); // (1,1) <- source (0,0) = 0
        assert_eq!(p.data[6], 7); // (1,2) <- source (0,1)
        assert_eq!(p.data[0], 0);
        assert!(pad(&img(5, 2, 1), 4, 4).is_err());
        let r = resize(&img(8, 6, 3), 4, 3).unwrap();
        assert_eq!((r.width, r.height, r.channels, r.data.len()), (4, 3, 3, 36));
        // A flat image stays flat through a resize.
        let flat = Image::new(9, 9, 1, vec![77; 81]).unwrap();
        assert!(resize(&flat, 4, 5).unwrap().data.iter().all(|&v| v == 77));
    }
}
