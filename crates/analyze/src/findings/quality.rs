//! Image-quality findings: dark, light, blurry, low information, constant, grayscale, odd size
//! and odd aspect ratio. The first six compare a sample's own features with fixed thresholds;
//! the last two compare its size with the dataset's distribution (median and MAD).

use super::{median_mad, FindingKind, Raw};
use crate::features::SampleRow;
use crate::settings::Thresholds;

pub(crate) fn find(rows: &[SampleRow], t: &Thresholds) -> Vec<Raw> {
    let readable: Vec<usize> = (0..rows.len())
        .filter(|&r| rows[r].image.is_some())
        .collect();
    let feat = |r: usize| rows[r].image.as_ref();
    let is_constant = |r: usize| feat(r).is_some_and(|f| f.range <= t.constant_range);
    let is_grey =
        |r: usize| feat(r).is_some_and(|f| f.channels == 1 || f.chroma < t.grayscale_chroma);
    let colour_fraction = if readable.is_empty() {
        0.0
    } else {
        readable.iter().filter(|&&r| !is_grey(r)).count() as f64 / readable.len() as f64
    };
    let colour_dataset =
        colour_fraction >= t.grayscale_min_colour_fraction && colour_fraction > 0.0;

    let log_area: Vec<f64> = readable
        .iter()
        .filter_map(|&r| feat(r).map(|f| ((f.width as f64) * (f.height as f64)).max(1.0).log2()))
        .collect();
    let log_aspect: Vec<f64> = readable
        .iter()
        .filter_map(|&r| feat(r).map(|f| (f.width.max(1) as f64 / f.height.max(1) as f64).log2()))
        .collect();
    let (area_med, area_mad) = median_mad(&log_area);
    let (asp_med, asp_mad) = median_mad(&log_aspect);
    let area_limit = (t.odd_size_z * area_mad).max(t.odd_size_min_log2);
    let asp_limit = (t.odd_aspect_z * asp_mad).max(t.odd_aspect_min_log2);
    let median_area = 2f64.powf(area_med);
    let median_aspect = 2f64.powf(asp_med);

    let mut out = Vec::new();
    let mut push = |kind, row, score: f64, detail: String| {
        out.push(Raw {
            kind,
            row,
            group: None,
            score,
            detail,
            partner: None,
        })
    };
    for (k, &r) in readable.iter().enumerate() {
        let Some(f) = feat(r) else { continue };
        let constant = is_constant(r);
        if constant {
            push(
                FindingKind::Constant,
                r,
                1.0,
                format!(
                    "every pixel is the same value (channel spread {}; mean {:.0})",
                    f.range, f.brightness
                ),
            );
        }
        if (f.grey_p99 as f32) < t.dark {
            push(
                FindingKind::Dark,
                r,
                1.0 - f.grey_p99 as f64 / 255.0,
                format!(
                    "99% of pixels are at grey level {} or darker (threshold {})",
                    f.grey_p99, t.dark
                ),
            );
        }
        if (f.grey_p05 as f32) > t.light {
            push(
                FindingKind::Light,
                r,
                f.grey_p05 as f64 / 255.0,
                format!(
                    "95% of pixels are at grey level {} or lighter (threshold {})",
                    f.grey_p05, t.light
                ),
            );
        }
        if !constant {
            if f.contrast >= t.blurry_min_contrast && f.sharpness < t.blurry {
                push(
                    FindingKind::Blurry,
                    r,
                    1.0 - (f.sharpness / t.blurry) as f64,
                    format!("sharpness {:.3} (threshold {})", f.sharpness, t.blurry),
                );
            }
            if f.entropy < t.low_information {
                push(
                    FindingKind::LowInformation,
                    r,
                    1.0 - f.entropy as f64 / 8.0,
                    format!(
                        "grey entropy {:.2} bits (threshold {})",
                        f.entropy, t.low_information
                    ),
                );
            }
            if colour_dataset && is_grey(r) {
                let detail = if f.channels == 1 {
                    format!(
                        "single-channel image in a dataset that is {:.0}% colour",
                        100.0 * colour_fraction
                    )
                } else {
                    format!(
                        "colour channels agree (mean spread {:.2}, threshold {}) in a dataset that is {:.0}% colour",
                        f.chroma,
                        t.grayscale_chroma,
                        100.0 * colour_fraction
                    )
                };
                push(
                    FindingKind::Grayscale,
                    r,
                    1.0 - (f.chroma / t.grayscale_chroma).min(1.0) as f64,
                    detail,
                );
            }
        }
        let da = log_area[k] - area_med;
        if da.abs() > area_limit {
            push(
                FindingKind::OddSize,
                r,
                da.abs(),
                format!(
                    "{}x{} is {:.2}x the median area ({:.0} px)",
                    f.width,
                    f.height,
                    2f64.powf(da),
                    median_area
                ),
            );
        }
        let dr = log_aspect[k] - asp_med;
        if dr.abs() > asp_limit {
            push(
                FindingKind::OddAspectRatio,
                r,
                dr.abs(),
                format!(
                    "aspect ratio {:.2} (width/height) against a median of {:.2}",
                    f.width as f64 / f.height.max(1) as f64,
                    median_aspect
                ),
            );
        }
    }
    out
}
