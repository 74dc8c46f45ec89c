//! Image-folder and CSV-manifest readers and writers, on tiny datasets built in a temp dir.

#[path = "util/folder_fixtures.rs"]
mod fixtures;

use std::path::Path;

use dlscope_data::folder::{self, ImageFormat};
use dlscope_data::{manifest, DataError, Dataset, Format, Image, SampleId, Split};
use fixtures::*;
use image::ImageFormat as F;
use rayon::iter::ParallelIterator;

fn ids(split: &Split) -> Vec<String> {
    (0..split.len()).map(|i| split.id(i).to_string()).collect()
}

fn load(split: &Split, i: usize) -> Image {
    split.get(i).expect("sample loads").image
}

fn decode_err(split: &Split, i: usize) -> String {
    match split.get(i) {
        Err(e @ DataError::Decode { .. }) => e.to_string(),
        Err(e) => panic!("sample {i} failed, but not as Decode: {e}"),
        Ok(_) => panic!("sample {i} ({}) decoded but should not", split.id(i)),
    }
}

/// train/{cat,dog}, val/{bird,cat}, test/ loose, in every supported format.
fn split_folder(root: &Path) {
    save(&root.join("train/cat/b.png"), &pattern(5, 4, 3, 1), F::Png);
    save(&root.join("train/cat/a.PNG"), &pattern(3, 2, 1, 2), F::Png);
    save(
        &root.join("train/cat/sub/deep/c.png"),
        &pattern(2, 2, 4, 3),
        F::Png,
    );
    save(&root.join("train/dog/x.jpg"), &pattern(8, 8, 3, 4), F::Jpeg);
    save(
        &root.join("train/dog/y.JPEG"),
        &pattern(9, 7, 3, 5),
        F::Jpeg,
    );
    save(&root.join("train/dog/z.bmp"), &pattern(6, 3, 3, 6), F::Bmp);
    save(&root.join("val/bird/g.gif"), &pattern(4, 4, 3, 7), F::Gif);
    save(&root.join("val/bird/t.tif"), &pattern(3, 5, 3, 8), F::Tiff);
    save(&root.join("val/bird/u.TIFF"), &pattern(2, 3, 1, 9), F::Tiff);
    save(&root.join("val/cat/w.webp"), &pattern(7, 5, 4, 10), F::WebP);
    save(&root.join("test/q.png"), &pattern(4, 4, 3, 11), F::Png);
    save(&root.join("test/p.png"), &pattern(4, 4, 3, 12), F::Png);
    write(&root.join("train/cat/notes.txt"), b"not an image");
    write(&root.join("train/cat/.DS_Store"), b"hidden");
    save(
        &root.join("train/.hidden/h.png"),
        &pattern(2, 2, 3, 13),
        F::Png,
    );
    write(&root.join("README.md"), b"readme");
}

#[test]
fn folder_with_splits_classes_and_every_format() {
    let t = tmp();
    let root = t.path().join("ds");
    split_folder(&root);
    assert!(folder::looks_like(&root));
    let ds = folder::open(&root).unwrap();
    assert_eq!(ds.format, Format::Folder);
    assert_eq!(ds.split_names(), ["train", "val", "test"]);
    assert_eq!(ds.classes, ["bird", "cat", "dog"]);
    assert_eq!(ds.len(), 12);

    let train = ds.split("train").unwrap();
    assert_eq!(
        ids(train),
        [
            "train/cat/a.PNG",
            "train/cat/b.png",
            "train/cat/sub/deep/c.png",
            "train/dog/x.jpg",
            "train/dog/y.JPEG",
            "train/dog/z.bmp"
        ]
    );
    assert_eq!(
        train.labels(),
        [Some(1), Some(1), Some(1), Some(2), Some(2), Some(2)]
    );
    // Lossless formats decode to exactly the pixels written, keeping the channel count.
    assert_eq!(load(train, 0), pattern(3, 2, 1, 2));
    assert_eq!(load(train, 1), pattern(5, 4, 3, 1));
    assert_eq!(load(train, 2), pattern(2, 2, 4, 3));
    assert_eq!(load(train, 5), pattern(6, 3, 3, 6));
    // JPEG is lossy: same shape, pixels close.
    let jpg = load(train, 3);
    assert_eq!(jpg.shape(), pattern(8, 8, 3, 4).shape());
    let diff: f64 = jpg
        .data
        .iter()
        .zip(&pattern(8, 8, 3, 4).data)
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
        .sum::<f64>()
        / jpg.data.len() as f64;
    assert!(diff < 40.0, "mean JPEG error {diff}");
    assert_eq!(load(train, 4).shape(), pattern(9, 7, 3, 5).shape());
    assert_eq!(
        train.path(1).unwrap(),
        root.join("train/cat/b.png"),
        "path() joins the root"
    );

    let val = ds.split("val").unwrap();
    assert_eq!(
        ids(val),
        [
            "val/bird/g.gif",
            "val/bird/t.tif",
            "val/bird/u.TIFF",
            "val/cat/w.webp"
        ]
    );
    assert_eq!(val.labels(), [Some(0), Some(0), Some(0), Some(1)]);
    let gif = load(val, 0);
    assert_eq!(
        (gif.width, gif.height),
        (4, 4),
        "GIF decodes (palette, so not exact)"
    );
    assert_eq!(load(val, 1), pattern(3, 5, 3, 8));
    assert_eq!(load(val, 2), pattern(2, 3, 1, 9));
    assert_eq!(load(val, 3), pattern(7, 5, 4, 10));

    let test = ds.split("test").unwrap();
    assert_eq!(ids(test), ["test/p.png", "test/q.png"]);
    assert_eq!(test.labels(), [None, None]);
    assert_eq!(load(test, 0), pattern(4, 4, 3, 12));

    // Non-images are listed with the reason; hidden entries are ignored silently.
    let skipped: Vec<(&str, &str)> = ds
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("README.md", "not an image extension"),
            ("train/cat/notes.txt", "not an image extension")
        ]
    );
}

#[test]
fn folder_without_split_folders_is_one_train_split() {
    let t = tmp();
    let root = t.path();
    // "train" next to "bus" and "car" is a class, not a split.
    for (k, class) in ["bus", "car", "train"].iter().enumerate() {
        for j in 0..3u8 {
            save_png(
                &root.join(class).join(format!("{j}.png")),
                &pattern(3, 3, 3, k as u8 * 10 + j),
            );
        }
    }
    std::fs::create_dir_all(root.join("empty")).unwrap();
    save_png(&root.join("loose.png"), &pattern(2, 2, 1, 99));
    save_png(&root.join("_unlabelled/u.png"), &pattern(2, 2, 1, 98));
    let ds = folder::open(root).unwrap();
    assert_eq!(ds.split_names(), ["train"]);
    assert_eq!(
        ds.classes,
        ["bus", "car", "empty", "train"],
        "empty class folders count"
    );
    let s = ds.split("train").unwrap();
    assert_eq!(s.len(), 11);
    assert_eq!(s.id(0), SampleId::Path("_unlabelled/u.png".into()));
    assert_eq!(s.label(0), None, "_unlabelled holds unlabelled samples");
    assert_eq!(s.id(10).to_string(), "train/2.png");
    assert_eq!(s.label(10), Some(3));
    assert_eq!(s.id(7).to_string(), "loose.png");
    assert_eq!(s.label(7), None);
    assert_eq!(s.class_counts(4), (vec![3, 3, 0, 3], 2));
    assert_eq!(load(s, 7), pattern(2, 2, 1, 99));
}

#[test]
fn empty_or_missing_folder_is_an_error() {
    let t = tmp();
    std::fs::create_dir_all(t.path().join("a/b")).unwrap();
    write(&t.path().join("a/notes.txt"), b"x");
    assert!(!folder::looks_like(t.path()));
    let e = folder::open(t.path()).unwrap_err().to_string();
    assert!(e.contains("no image files found"), "{e}");
    assert!(matches!(
        folder::open(&t.path().join("nope")),
        Err(DataError::Io { .. })
    ));
}

#[cfg(unix)]
#[test]
fn bad_samples_fail_alone() {
    use std::os::unix::ffi::OsStrExt;
    let t = tmp();
    let root = t.path().join("ds");
    let c = root.join("c");
    let good = pattern(4, 3, 3, 1);
    let png = save_png(&c.join("good.png"), &good);
    write(&c.join("empty.png"), b"");
    write(&c.join("text.png"), b"hello, I am not a picture\n");
    write(&c.join("truncated.png"), &png[..png.len() / 2]);
    let mut jpg = std::io::Cursor::new(Vec::new());
    pattern(32, 32, 3, 2)
        .to_dynamic()
        .write_to(&mut jpg, F::Jpeg)
        .unwrap();
    let jpg = jpg.into_inner();
    write(&c.join("truncated.jpg"), &jpg[..jpg.len() * 2 / 3]);
    write(&c.join("whole.jpg"), &jpg);
    write(&c.join("huge.png"), &png_claiming(100_000, 100_000));
    write(&c.join("really-png.jpg"), &png);
    write(&c.join("<script>alert(1)</script>.png"), &png);
    let latin1 = c.join(std::ffi::OsStr::from_bytes(b"caf\xe9.png"));
    write(&latin1, &png);
    write(&c.join("locked.png"), &png);
    std::os::unix::fs::symlink("..", c.join("loop")).unwrap();
    std::os::unix::fs::symlink("missing.png", c.join("dangling.png")).unwrap();
    std::os::unix::fs::symlink(".", root.join("self")).unwrap();
    write(&c.join("locked-dir/x.png"), &png);
    let chmod = |p: &Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    chmod(&c.join("locked.png"), 0o000);
    chmod(&c.join("locked-dir"), 0o000);

    let ds = folder::open(&root).expect("listing survives bad files");
    assert_eq!(ds.classes, ["c"]);
    let s = ds.split("train").unwrap();
    let names = ids(s);
    let at = |name: &str| {
        names
            .iter()
            .position(|n| n == &format!("c/{name}"))
            .unwrap_or_else(|| panic!("{name} not listed in {names:?}"))
    };
    for name in [
        "empty.png",
        "text.png",
        "truncated.png",
        "truncated.jpg",
        "huge.png",
    ] {
        let e = decode_err(s, at(name));
        assert!(e.contains(name), "error names the file: {e}");
    }
    assert!(decode_err(s, at("empty.png")).contains("empty file"));
    assert!(decode_err(s, at("text.png")).contains("not a recognised image format"));
    assert!(decode_err(s, at("truncated.jpg")).contains("truncated JPEG"));
    let huge = decode_err(s, at("huge.png"));
    assert!(huge.contains("100000"), "{huge}");

    assert_eq!(load(s, at("good.png")), good);
    assert_eq!(
        load(s, at("really-png.jpg")),
        good,
        "format comes from content"
    );
    assert_eq!(load(s, at("<script>alert(1)</script>.png")), good);
    assert_eq!(
        load(s, at("whole.jpg")).shape(),
        pattern(32, 32, 3, 2).shape()
    );
    let odd = names
        .iter()
        .position(|n| n.starts_with("c/caf") && n != "c/café.png")
        .unwrap();
    assert_eq!(
        names[odd], "c/caf\u{FFFD}.png",
        "non-UTF-8 names listed lossily"
    );
    assert_eq!(load(s, odd), good, "and still load from the real bytes");
    assert_eq!(s.path(odd).unwrap(), latin1);

    if privileged(t.path()) {
        eprintln!("running as root: chmod 000 does not stop reads, skipping those checks");
    } else {
        let e = s.get(at("locked.png")).unwrap_err().to_string();
        assert!(e.contains("locked.png"), "{e}");
        let sk = ds.skipped.iter().find(|s| s.path == "c/locked-dir");
        assert!(
            sk.is_some_and(|s| s.reason.contains("cannot read")),
            "{:?}",
            ds.skipped
        );
    }
    chmod(&c.join("locked-dir"), 0o755);

    // Loops and dangling links are skipped with a reason, never followed forever.
    let reason = |p: &str| {
        ds.skipped
            .iter()
            .find(|s| s.path == p)
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{p} not in skipped: {:?}", ds.skipped))
    };
    assert!(reason("c/loop").contains("symlink loop"));
    assert!(reason("self").contains("symlink loop"));
    assert!(
        reason("c/dangling.png").contains("cannot"),
        "{}",
        reason("c/dangling.png")
    );
    assert!(!names.iter().any(|n| n.contains("loop")));

    // Every sample was tried; the bad ones did not disturb the rest.
    let ok = s.par_samples().filter(|(_, r)| r.is_ok()).count();
    let bad = 5 + usize::from(!privileged(t.path()));
    assert_eq!(ok + bad, s.len());
}

#[test]
fn truncated_files_of_other_formats_fail() {
    let t = tmp();
    let root = t.path();
    for (name, fmt) in [("a.bmp", F::Bmp), ("a.gif", F::Gif), ("a.tif", F::Tiff)] {
        let p = root.join("full").join(name);
        save(&p, &pattern(16, 16, 3, 1), fmt);
        let bytes = std::fs::read(&p).unwrap();
        write(&root.join("cut").join(name), &bytes[..bytes.len() / 2]);
    }
    let ds = folder::open(root).unwrap();
    let s = ds.split("train").unwrap();
    for i in 0..s.len() {
        let full = s.id(i).to_string().starts_with("full/");
        assert_eq!(s.get(i).is_ok(), full, "{}", s.id(i));
    }
}

fn write_csv(path: &Path, text: &str) {
    write(path, text.as_bytes());
}

#[test]
fn manifest_paths_labels_and_splits() {
    let t = tmp();
    let dir = t.path().join("m");
    let imgs: Vec<Image> = (0..4).map(|k| pattern(3, 2, 3, k)).collect();
    save_png(&dir.join("img/a.png"), &imgs[0]);
    save_png(&dir.join("img/b.png"), &imgs[1]);
    save_png(&t.path().join("elsewhere/c.png"), &imgs[2]);
    save_png(&dir.join("d e.png"), &imgs[3]);
    let abs = t.path().join("elsewhere/c.png");
    let csv = dir.join("labels.csv");
    write_csv(
        &csv,
        &format!(
            "\u{feff}Filename, Class ,split,width\nimg/a.png,dog,train,3\nimg/b.png,cat,val,3\n\"{}\",dog,,3\n\"d e.png\",,test,3\nmissing.png,cat,test,3\n",
            abs.display()
        ),
    );
    assert!(manifest::looks_like(&csv));
    let ds = manifest::open(&csv).unwrap();
    assert_eq!(ds.format, Format::Manifest);
    assert_eq!(ds.classes, ["cat", "dog"]);
    assert_eq!(ds.split_names(), ["train", "val", "test"]);
    let train = ds.split("train").unwrap();
    assert_eq!(
        ids(train),
        ["img/a.png".to_string(), abs.display().to_string()]
    );
    assert_eq!(train.labels(), [Some(1), Some(1)]);
    assert_eq!(load(train, 0), imgs[0], "relative to the CSV's folder");
    assert_eq!(load(train, 1), imgs[2], "absolute path");
    let val = ds.split("val").unwrap();
    assert_eq!((val.label(0), load(val, 0)), (Some(0), imgs[1].clone()));
    let test = ds.split("test").unwrap();
    assert_eq!(test.label(0), None, "empty label is unlabelled");
    assert_eq!(load(test, 0), imgs[3]);
    // A missing file does not stop opening; it fails on load, naming the file.
    let e = test.get(1).unwrap_err().to_string();
    assert!(e.contains("missing.png"), "{e}");
}

#[test]
fn manifest_numeric_labels_positional_columns() {
    let t = tmp();
    for k in 0..3 {
        save_png(&t.path().join(format!("{k}.png")), &pattern(2, 2, 1, k));
    }
    let csv = t.path().join("m.csv");
    write_csv(&csv, "0.png,10\n1.png,2\n2.png,1\n\n");
    let ds = manifest::open(&csv).unwrap();
    assert_eq!(ds.classes, ["1", "2", "10"], "integers sort numerically");
    let s = ds.split("train").unwrap();
    assert_eq!(s.labels(), [Some(2), Some(1), Some(0)]);
    assert_eq!(load(s, 2), pattern(2, 2, 1, 2));

    write_csv(&csv, "path,label\n0.png,b\n1.png,a,extra\n");
    match manifest::open(&csv) {
        Err(DataError::Manifest { line, what, .. }) => {
            assert_eq!(line, 3);
            assert!(what.contains("expected 2 fields, found 3"), "{what}");
        }
        other => panic!("expected a manifest error, got {other:?}"),
    }
    write_csv(&csv, "path,label\n0.png,b\n,a\n");
    let e = manifest::open(&csv).unwrap_err().to_string();
    assert!(
        e.contains("line 3") && e.contains("empty path") && e.contains("m.csv"),
        "{e}"
    );
    write_csv(&csv, "label,split\na,train\n");
    assert!(manifest::open(&csv)
        .unwrap_err()
        .to_string()
        .contains("no path column"));
    write_csv(&csv, "path,label\n");
    assert!(manifest::open(&csv)
        .unwrap_err()
        .to_string()
        .contains("no images"));

    write_csv(&csv, "just-one-column\n");
    assert!(!manifest::looks_like(&csv));
    write_csv(&t.path().join("m.txt"), "a.png,b\n");
    assert!(!manifest::looks_like(&t.path().join("m.txt")));
}

#[test]
fn folder_write_png_round_trip() {
    let t = tmp();
    let root = t.path().join("in");
    split_folder(&root);
    save_png(&root.join("train/_unlabelled/u.png"), &pattern(3, 3, 3, 50));
    write(&root.join("train/dog/broken.png"), b"garbage");
    let ds = folder::open(&root).unwrap();
    let out = t.path().join("out");
    let w = folder::write(&ds, &out, ImageFormat::Png).unwrap();
    assert_eq!(w.path, out);
    assert_eq!(w.samples, ds.len() - 1);
    assert_eq!(w.skipped.len(), 1);
    assert_eq!(w.skipped[0].path, "train/dog/broken.png");
    assert!(w.skipped[0].reason.contains("cannot decode"));
    assert!(
        out.join("train/bird").is_dir(),
        "every class exists in every split"
    );

    let back = folder::open(&out).unwrap();
    assert_eq!(back.classes, ds.classes);
    assert_eq!(back.split_names(), ds.split_names());
    for split in &ds.splits {
        let copy = back.split(split.name()).unwrap();
        let kept: Vec<usize> = (0..split.len()).filter(|&i| split.get(i).is_ok()).collect();
        assert_eq!(copy.len(), kept.len());
        for (j, &i) in kept.iter().enumerate() {
            assert_eq!(copy.label(j), split.label(i), "{}", split.id(i));
            assert_eq!(
                load(copy, j),
                load(split, i),
                "{} vs {}",
                split.id(i),
                copy.id(j)
            );
        }
    }
    let train = back.split("train").unwrap();
    assert_eq!(train.id(0).to_string(), "train/_unlabelled/u.png");
    assert!(
        ids(train).contains(&"train/cat/c.png".to_string()),
        "nested file keeps its stem"
    );

    // Existing output, output inside the input, input inside the output: all refused.
    assert!(matches!(
        folder::write(&ds, &out, ImageFormat::Png),
        Err(DataError::Refused { .. })
    ));
    let inside = root.join("train/copy");
    assert!(matches!(
        folder::write(&ds, &inside, ImageFormat::Png),
        Err(DataError::Refused { .. })
    ));
    assert!(!inside.exists());
    assert!(matches!(
        folder::write(&ds, t.path(), ImageFormat::Png),
        Err(DataError::Refused { .. })
    ));
    let bad_q = ImageFormat::Jpeg { quality: 0 };
    assert!(folder::write(&ds, &t.path().join("q"), bad_q).is_err());
}

#[test]
fn folder_write_jpeg_and_unique_names_from_memory() {
    let t = tmp();
    let (imgs, labels) = fashion_mnist(120);
    let mut images: Vec<Option<Image>> = imgs.into_iter().map(Some).collect();
    images[7] = None;
    let mut rgba = Image::new(4, 4, 4, vec![200; 64]).unwrap();
    rgba.data[3] = 0;
    images.push(Some(rgba));
    let mut labels: Vec<Option<u32>> = labels.iter().map(|&l| Some(u32::from(l))).collect();
    labels.push(None);
    let classes: Vec<String> = (0..10).map(|k| format!("class{k}")).collect();
    let ds = Dataset {
        name: "mem".into(),
        format: Format::Idx,
        root: t.path().join("mem.idx"),
        classes: classes.clone(),
        splits: vec![Split::new("train", Box::new(Memory { images, labels }))],
        skipped: vec![],
    };
    let out = t.path().join("jpg");
    let w = folder::write(&ds, &out, ImageFormat::Jpeg { quality: 95 }).unwrap();
    assert_eq!((w.samples, w.skipped.len()), (120, 1));
    assert_eq!(w.skipped[0].path, "train/7");
    let rgba_out = out.join("train/_unlabelled/120.jpg");
    let back = dlscope_data::decode::decode_file(&rgba_out).unwrap();
    assert_eq!(back.channels, 3, "alpha dropped for JPEG");
    let back = folder::open(&out).unwrap();
    assert_eq!(back.classes, classes);
    let s = back.split("train").unwrap();
    assert_eq!(s.len(), 120);
    let (counts, unl) = s.class_counts(10);
    assert_eq!(unl, 1);
    assert_eq!(counts.iter().sum::<u64>(), 119);
    let first = ds.splits[0].get(0).unwrap();
    let name = format!("train/class{}/000.jpg", first.label.unwrap());
    let j = ids(s).iter().position(|n| n == &name).unwrap();
    let copy = load(s, j);
    assert_eq!(copy.shape(), first.image.shape());
    let err: f64 = copy
        .data
        .iter()
        .zip(&first.image.data)
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
        .sum::<f64>()
        / 784.0;
    assert!(err < 6.0, "quality 95 JPEG mean error {err}");
}

#[test]
fn manifest_write_round_trips() {
    let t = tmp();
    // File-backed: the CSV points at the original files by absolute path.
    let root = t.path().join("in");
    split_folder(&root);
    let ds = folder::open(&root).unwrap();
    let out = t.path().join("man");
    let w = manifest::write(&ds, &out).unwrap();
    assert_eq!((w.samples, w.skipped.len()), (ds.len(), 0));
    assert!(
        !out.join("images").exists(),
        "file-backed samples are not copied"
    );
    let csv = out.join(manifest::MANIFEST_FILE);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("path,label,split\n"), "{text}");
    assert!(text.contains(&format!(
        "{},bird,val",
        root.join("val/bird/g.gif").display()
    )));
    let back = manifest::open(&csv).unwrap();
    assert_eq!(back.classes, ds.classes);
    assert_eq!(back.split_names(), ds.split_names());
    for split in &ds.splits {
        let copy = back.split(split.name()).unwrap();
        assert_eq!(copy.labels(), split.labels());
        for i in 0..split.len() {
            assert_eq!(copy.path(i), split.path(i));
            assert_eq!(load(copy, i), load(split, i));
        }
    }

    // In-memory: PNGs are written under images/<split>/ and referenced relatively.
    let (imgs, labels) = fashion_mnist(200);
    let mut images: Vec<Option<Image>> = imgs.into_iter().map(Some).collect();
    images[3] = None;
    let mut labels: Vec<Option<u32>> = labels.iter().map(|&l| Some(u32::from(l))).collect();
    labels[5] = None;
    let mem = Dataset {
        name: "mem".into(),
        format: Format::Idx,
        root: t.path().join("mem.idx"),
        classes: (0..10).map(|k| k.to_string()).collect(),
        splits: vec![
            Split::new(
                "train",
                Box::new(Memory {
                    images: images[..150].to_vec(),
                    labels: labels[..150].to_vec(),
                }),
            ),
            Split::new(
                "test",
                Box::new(Memory {
                    images: images[150..].to_vec(),
                    labels: labels[150..].to_vec(),
                }),
            ),
        ],
        skipped: vec![],
    };
    let out = t.path().join("mem-man");
    let w = manifest::write(&mem, &out).unwrap();
    assert_eq!((w.samples, w.skipped.len()), (199, 1));
    assert_eq!(w.skipped[0].path, "train/3");
    assert!(out.join("images/train/000.png").is_file());
    assert!(out.join("images/test/49.png").is_file());
    let back = manifest::open(&out.join(manifest::MANIFEST_FILE)).unwrap();
    assert_eq!(back.classes, mem.classes, "0..9 read back in numeric order");
    for split in &mem.splits {
        let copy = back.split(split.name()).unwrap();
        let kept: Vec<usize> = (0..split.len()).filter(|&i| split.get(i).is_ok()).collect();
        assert_eq!(copy.len(), kept.len());
        for (j, &i) in kept.iter().enumerate() {
            assert_eq!(copy.label(j), split.label(i));
            assert_eq!(load(copy, j), load(split, i));
        }
    }
    assert!(matches!(
        manifest::write(&mem, &out),
        Err(DataError::Refused { .. })
    ));
    assert!(matches!(
        manifest::write(&ds, &root.join("x")),
        Err(DataError::Refused { .. })
    ));
}
