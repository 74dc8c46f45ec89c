//! Prints the feature distributions behind the default thresholds, per kind of injected
//! sample (`cargo test -p dlscope-analyze --test analyze calibrate -- --ignored --nocapture`).
//! Not a check: the checks are in `injected.rs`.

use std::collections::BTreeMap;

use dlscope_analyze::{analyze, phash::hamming, FindingKind, Settings};

use crate::injected::{build, file_name};

fn quantiles(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "-".into();
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    format!(
        "min {:8.3} p5 {:8.3} p50 {:8.3} p95 {:8.3} max {:8.3}",
        q(0.0),
        q(0.05),
        q(0.5),
        q(0.95),
        q(1.0)
    )
}

#[test]
#[ignore = "prints calibration data; run by hand"]
fn calibrate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("ds");
    let Some(truth) = build(&root) else { return };
    let ds = dlscope_data::folder::open(&root).expect("opens");
    let mut s = Settings::default();
    s.thresholds.outlier_z = -1e9;
    let a = analyze(&ds, &s, &|_| {}).expect("analysis");
    let name_of = |r: &dlscope_analyze::SampleRow| {
        file_name(&ds.splits[r.split as usize].id(r.index as usize))
    };
    let mut by_origin: BTreeMap<String, Vec<&dlscope_analyze::ImageFeatures>> = BTreeMap::new();
    let mut by_name = BTreeMap::new();
    for r in &a.features.rows {
        let n = name_of(r);
        if let Some(f) = &r.image {
            by_origin
                .entry(truth.origin[&n].clone())
                .or_default()
                .push(f);
            by_name.insert(n, f);
        }
    }
    type Get = fn(&dlscope_analyze::ImageFeatures) -> f64;
    let feats: [(&str, Get); 6] = [
        ("sharpness", |f| f.sharpness as f64),
        ("entropy", |f| f.entropy as f64),
        ("grey_p99", |f| f.grey_p99 as f64),
        ("grey_p05", |f| f.grey_p05 as f64),
        ("chroma", |f| f.chroma as f64),
        ("contrast", |f| f.contrast as f64),
    ];
    for (fname, get) in feats {
        println!("== {fname}");
        for (o, fs) in &by_origin {
            println!("{o:>9}: {}", quantiles(fs.iter().map(|f| get(f)).collect()));
        }
    }
    for n in ["ood_0000.png", "sparse_0000.png", "b0000.png"] {
        if let Some(f) = by_name.get(n) {
            println!(
                "{n}: dct {:?} phash {:016x} contrast {}",
                f.dct, f.phash, f.contrast
            );
        }
    }
    println!("== pHash distance copy -> base");
    let mut dists: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (n, f) in &by_name {
        let Some((kind, rest)) = n.split_once('_') else {
            continue;
        };
        let idx = &rest[..4];
        let base = by_name
            .iter()
            .find(|(b, _)| b.starts_with(&format!("b{idx}")))
            .map(|(_, f)| *f);
        if let Some(b) = base {
            dists
                .entry(kind.to_string())
                .or_default()
                .push(hamming(f.phash, b.phash) as f64);
        }
    }
    for (k, v) in dists {
        println!("{k:>9}: {}", quantiles(v));
    }
    println!("== nearest other base, pHash distance");
    let is_base =
        |n: &str| n.starts_with('b') && n.as_bytes().get(1).is_some_and(u8::is_ascii_digit);
    let bases: Vec<_> = by_name.iter().filter(|(n, _)| is_base(n)).collect();
    let nn: Vec<f64> = bases
        .iter()
        .map(|(n, f)| {
            bases
                .iter()
                .filter(|(m, _)| m != n)
                .map(|(_, g)| hamming(f.phash, g.phash))
                .min()
                .unwrap_or(64) as f64
        })
        .collect();
    println!("     base: {}", quantiles(nn.clone()));
    for t in 4..=14 {
        println!(
            "  bases with another base within {t}: {}",
            nn.iter().filter(|&&d| d <= t as f64).count()
        );
    }
    println!("== outlier robust z");
    let mut z: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for f in a.findings.iter().filter(|f| f.kind == FindingKind::Outlier) {
        let n = file_name(&f.id);
        z.entry(truth.origin[&n].clone()).or_default().push(f.score);
    }
    for (o, v) in z {
        println!("{o:>9}: {}", quantiles(v));
    }
    let names: Vec<&String> = by_name.keys().collect();
    let fs: Vec<&dlscope_analyze::ImageFeatures> = by_name.values().copied().collect();
    let dctv = |f: &dlscope_analyze::ImageFeatures| -> Vec<f64> {
        let v: Vec<f64> = f.dct.iter().flatten().map(|&c| c as f64).collect();
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-9);
        v.iter().map(|x| x / n).collect()
    };
    let dv: Vec<Vec<f64>> = fs.iter().map(|f| dctv(f)).collect();
    let mut rms = vec![0f64; 64];
    for v in &dv {
        for (r, x) in rms.iter_mut().zip(v) {
            *r += x * x;
        }
    }
    for r in &mut rms {
        *r = (*r / dv.len() as f64).sqrt().max(1e-9);
    }
    let alpha: f64 = std::env::var("ALPHA")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1.0);
    let wv: Vec<Vec<f64>> = dv
        .iter()
        .map(|v| {
            let w: Vec<f64> = v.iter().zip(&rms).map(|(x, r)| x / r.powf(alpha)).collect();
            let n = w.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-9);
            w.iter().map(|x| x / n).collect()
        })
        .collect();
    let stat = |f: &dlscope_analyze::ImageFeatures| -> Vec<f64> {
        vec![
            f.brightness as f64,
            f.contrast as f64,
            f.entropy as f64,
            (f.sharpness as f64 + 0.05).ln(),
            f.chroma as f64,
        ]
    };
    let raw: Vec<Vec<f64>> = fs.iter().map(|f| stat(f)).collect();
    let mut zs: Vec<Vec<f64>> = vec![Vec::new(); fs.len()];
    for d in 0..raw[0].len() {
        let mut col: Vec<f64> = raw.iter().map(|r| r[d]).collect();
        col.sort_by(f64::total_cmp);
        let med = col[col.len() / 2];
        let mut dev: Vec<f64> = col.iter().map(|x| (x - med).abs()).collect();
        dev.sort_by(f64::total_cmp);
        let mad = (1.4826 * dev[dev.len() / 2]).max(1e-6);
        for (i, r) in raw.iter().enumerate() {
            zs[i].push(((r[d] - med) / mad).clamp(-8.0, 8.0));
        }
    }
    for (k, wt) in [
        (3usize, 0.0),
        (5, 0.0),
        (10, 0.0),
        (5, 0.05),
        (5, 0.1),
        (5, 0.2),
    ] {
        let feat: Vec<Vec<f64>> = (0..fs.len())
            .map(|i| {
                let mut v = dv[i].clone();
                v.extend(zs[i].iter().map(|x| x * wt));
                v
            })
            .collect();
        let scores: Vec<f64> = (0..fs.len())
            .map(|i| {
                let mut d: Vec<f64> = (0..fs.len())
                    .filter(|&j| j != i)
                    .map(|j| {
                        feat[i]
                            .iter()
                            .zip(&feat[j])
                            .map(|(a, b)| (a - b).powi(2))
                            .sum::<f64>()
                            .sqrt()
                    })
                    .collect();
                d.sort_by(f64::total_cmp);
                d[..k].iter().sum::<f64>() / k as f64
            })
            .collect();
        let mut sorted = scores.clone();
        sorted.sort_by(f64::total_cmp);
        let med = sorted[sorted.len() / 2];
        let mut dev: Vec<f64> = scores.iter().map(|s| (s - med).abs()).collect();
        dev.sort_by(f64::total_cmp);
        let mad = 1.4826 * dev[dev.len() / 2];
        let mut zz: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for (i, s) in scores.iter().enumerate() {
            let o = truth.origin[names[i]].as_str();
            let cat = match o {
                "ood" => "ood",
                "base" | "exact" | "shift" | "bright" | "noise" | "jpeg" | "leak" | "conflict" => {
                    "genuine"
                }
                _ => "other",
            };
            zz.entry(cat).or_default().push((s - med) / mad);
        }
        println!("== outlier variant k {k} stats weight {wt}");
        for (o, v) in zz {
            println!("{o:>9}: {}", quantiles(v));
        }
    }
    for (label, vecs) in [("dct", &dv), ("whitened dct", &wv)] {
        println!("== {label} distance for pairs within pHash 12");
        let mut pair_d: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for i in 0..fs.len() {
            for j in i + 1..fs.len() {
                if hamming(fs[i].phash, fs[j].phash) > 12 {
                    continue;
                }
                let (a, b) = (names[i], names[j]);
                let key = |n: &str| {
                    n.split('_')
                        .nth(1)
                        .map(|r| r[..4].to_string())
                        .unwrap_or_else(|| n[1..5].to_string())
                };
                let cat = if is_base(a) && is_base(b) {
                    "base-base".to_string()
                } else if key(a) == key(b) {
                    format!("copy {}", truth.origin[a].clone() + "/" + &truth.origin[b])
                } else {
                    "unrelated".to_string()
                };
                let d = vecs[i]
                    .iter()
                    .zip(&vecs[j])
                    .map(|(x, y)| (x - y).powi(2))
                    .sum::<f64>()
                    .sqrt();
                pair_d.entry(cat).or_default().push(d);
            }
        }
        for (c, v) in pair_d {
            println!("{c:>20}: n {:4} {}", v.len(), quantiles(v));
        }
    }
    // Closest base pairs, side by side, for a look.
    if let Ok(out) = std::env::var("CALIBRATE_PAIRS") {
        let mut pairs: Vec<(u32, f64, usize, usize)> = Vec::new();
        for i in 0..fs.len() {
            for j in i + 1..fs.len() {
                if is_base(names[i]) && is_base(names[j]) {
                    let d = wv[i]
                        .iter()
                        .zip(&wv[j])
                        .map(|(x, y)| (x - y).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    pairs.push((hamming(fs[i].phash, fs[j].phash), d, i, j));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let find = |n: &str| {
            walk(&root)
                .into_iter()
                .find(|p| p.ends_with(n))
                .expect("file")
        };
        let mut canvas = image::RgbImage::new(200, 100 * 8);
        for (k, &(h, d, i, j)) in pairs.iter().take(8).enumerate() {
            println!(
                "pair {k}: {} {} phash {h} whitened dct {d:.2}",
                names[i], names[j]
            );
            for (c, n) in [names[i], names[j]].into_iter().enumerate() {
                let img = image::open(find(n)).expect("open").to_rgb8();
                let img =
                    image::imageops::resize(&img, 96, 96, image::imageops::FilterType::Triangle);
                image::imageops::overlay(&mut canvas, &img, c as i64 * 100, k as i64 * 100);
            }
        }
        canvas.save(out).expect("save");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Fashion-MNIST at its native 28 x 28: edited copies against the nearest genuine image.
#[test]
#[ignore = "prints calibration data; run by hand"]
fn calibrate_native() {
    use crate::util::*;
    use image::{DynamicImage, GrayImage};
    use rand::Rng;
    let Some(fm) = fashion() else { return };
    let train = fm.split("train").expect("train");
    let n = 6000;
    let mut rng = rng(5);
    let mut imgs: Vec<Result<dlscope_data::Image, String>> = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let s = train.get(i * 10).expect("decodes");
        imgs.push(Ok(s.image));
        labels.push(s.label);
    }
    let kinds = ["shift", "bright", "noise", "jpeg"];
    for k in 0..400 {
        let base = imgs[k].clone().expect("ok");
        let g = GrayImage::from_raw(28, 28, base.data.clone()).expect("28");
        let rgb = DynamicImage::ImageLuma8(g).to_rgb8();
        let edited = match kinds[k % 4] {
            "shift" => shift(&rgb, 1, 0),
            "bright" => map_px(&rgb, |v| v + 20.0),
            "noise" => noise(&rgb, 5.0, &mut rng),
            _ => {
                let q = rng.random_range(40..=70);
                image::load_from_memory(&jpeg_bytes(&rgb, q))
                    .expect("jpeg")
                    .to_rgb8()
            }
        };
        let grey = DynamicImage::ImageRgb8(edited).to_luma8();
        imgs.push(Ok(
            dlscope_data::Image::new(28, 28, 1, grey.into_raw()).expect("img")
        ));
        labels.push(labels[k]);
    }
    let ds = mem_dataset(
        10,
        vec![(
            "train",
            MemSource {
                images: imgs,
                labels,
            },
        )],
    );
    let a = dlscope_analyze::analyze(&ds, &Settings::default(), &|_| {}).expect("analysis");
    let f: Vec<&dlscope_analyze::ImageFeatures> = a
        .features
        .rows
        .iter()
        .map(|r| r.image.as_ref().expect("ok"))
        .collect();
    let unit = |x: &dlscope_analyze::ImageFeatures| -> Vec<f64> {
        let v: Vec<f64> = x.dct.iter().flatten().map(|&c| c as f64).collect();
        let nn = v.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-9);
        v.into_iter().map(|a| a / nn).collect()
    };
    let u: Vec<Vec<f64>> = f.iter().map(|x| unit(x)).collect();
    let mut w = vec![0f64; 64];
    for v in &u[..n] {
        for (a, b) in w.iter_mut().zip(v) {
            *a += b * b;
        }
    }
    for alpha in [0.0, 0.25, 0.5, 1.0] {
        println!("== alpha {alpha}");
        let w: Vec<f64> = w
            .iter()
            .map(|m| (n as f64 / m.max(1e-12)).powf(0.5 * alpha))
            .collect();
        let wu: Vec<Vec<f64>> = u
            .iter()
            .map(|v| {
                let x: Vec<f64> = v.iter().zip(&w).map(|(a, b)| a * b).collect();
                let nn = x.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-9);
                x.into_iter().map(|a| a / nn).collect()
            })
            .collect();
        let dist = |i: usize, j: usize| {
            wu[i]
                .iter()
                .zip(&wu[j])
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        for (k, name) in kinds.iter().enumerate() {
            let pairs: Vec<(f64, f64)> = (0..100)
                .map(|m| {
                    let c = n + k + 4 * m;
                    let b = k + 4 * m;
                    (hamming(f[c].phash, f[b].phash) as f64, dist(c, b))
                })
                .collect();
            println!(
                "{name:>8} copies: phash {} | dct {}",
                quantiles(pairs.iter().map(|p| p.0).collect()),
                quantiles(pairs.iter().map(|p| p.1).collect())
            );
        }
        // Genuine: nearest other original among pHash candidates.
        let mut nn_d = Vec::new();
        let mut within = [0usize; 8];
        let cuts = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5];
        for i in 0..n {
            let mut best = f64::INFINITY;
            for j in 0..n {
                if i != j && hamming(f[i].phash, f[j].phash) <= 10 {
                    best = best.min(dist(i, j));
                }
            }
            for (c, cut) in cuts.iter().enumerate() {
                within[c] += (best <= *cut) as usize;
            }
            if best.is_finite() {
                nn_d.push(best);
            }
        }
        println!(
            "genuine nearest (pHash<=10): n {} {}",
            nn_d.len(),
            quantiles(nn_d)
        );
        for (c, cut) in cuts.iter().enumerate() {
            println!(
                "  originals with another within dct {cut}: {} of {n}",
                within[c]
            );
        }
    }
}
