//! Getting a dataset split into the shape a model takes: one contiguous `u8` buffer at the
//! model's input size (images of other sizes are resized), with labels checked against the
//! class list.

use dlscope_data::{DataError, Dense, Shape, Split};
use rayon::prelude::*;

use crate::error::{NnError, Result};
use crate::preprocess;

/// Loads `split` at `target` size (or its own size when `None`).
///
/// Images of another height or width are resized bilinearly. A split whose images all have
/// another channel count than `target` is refused ([`NnError::ChannelMismatch`]); in a split of
/// mixed images, those that differ from the first are converted to its channel count.
pub fn load_split(split: &Split, target: Option<Shape>) -> Result<Dense> {
    if split.is_empty() {
        return Err(NnError::EmptyData {
            split: split.name().to_string(),
            task: "load",
        });
    }
    let dense = match split.to_dense() {
        Ok(d) => Some(d),
        Err(DataError::ShapeMismatch { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    match dense {
        Some(d) => {
            let target = target.unwrap_or(d.shape);
            check_channels(split.name(), d.shape, target)?;
            Ok(resize_dense(d, target))
        }
        None => {
            // Mixed sizes: decode each sample and bring it to one shape.
            let first = split.get(0)?.image.shape();
            let target = target.unwrap_or(first);
            check_channels(split.name(), first, target)?;
            let per = target.len();
            let mut pixels = vec![0u8; per * split.len()];
            pixels
                .par_chunks_mut(per)
                .enumerate()
                .try_for_each(|(i, dst)| -> Result<()> {
                    let sample = split.get(i)?;
                    dst.copy_from_slice(&preprocess::conform(&sample.image, target));
                    Ok(())
                })?;
            Ok(Dense {
                shape: target,
                pixels,
                labels: split
                    .labels()
                    .into_iter()
                    .map(|l| l.unwrap_or(u32::MAX))
                    .collect(),
            })
        }
    }
}

fn check_channels(split: &str, got: Shape, target: Shape) -> Result<()> {
    if got.channels != target.channels {
        return Err(NnError::ChannelMismatch {
            split: split.to_string(),
            expected: target.channels,
            got: got.channels,
            expected_shape: target.to_string(),
            got_shape: got.to_string(),
        });
    }
    Ok(())
}

/// Resizes every sample of `d` to `target`'s height and width (no-op when they match).
pub fn resize_dense(d: Dense, target: Shape) -> Dense {
    if d.shape == target {
        return d;
    }
    let (from, per_in, per_out) = (d.shape, d.shape.len(), target.len());
    let mut pixels = vec![0u8; per_out * d.len()];
    pixels
        .par_chunks_mut(per_out.max(1))
        .zip(d.pixels.par_chunks(per_in.max(1)))
        .for_each(|(dst, src)| {
            let c =
                preprocess::convert_channels(src, from.channels as usize, target.channels as usize);
            let shape = Shape::new(from.height, from.width, target.channels);
            dst.copy_from_slice(&preprocess::resize(
                &c,
                shape,
                target.height as usize,
                target.width as usize,
            ));
        });
    Dense {
        shape: target,
        pixels,
        labels: d.labels,
    }
}

/// Checks that every label indexes a class (unlabelled samples fail too).
pub fn check_labels(split: &str, labels: &[u32], classes: usize) -> Result<()> {
    match labels.iter().position(|&l| l as usize >= classes) {
        Some(record) => Err(NnError::BadLabel {
            split: split.to_string(),
            record,
            label: labels[record],
            classes,
        }),
        None => Ok(()),
    }
}

/// Checks that a dataset's classes are the model's (same names, same order).
pub fn check_classes(model: &[String], data: &[String]) -> Result<()> {
    if model != data {
        return Err(NnError::ClassMismatch {
            model: model.join(", "),
            model_count: model.len(),
            data: data.join(", "),
            data_count: data.len(),
        });
    }
    Ok(())
}
