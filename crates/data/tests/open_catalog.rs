//! `open`: prefixes, format detection on tiny generated datasets, catalog resolution with
//! injected roots, the real Fashion-MNIST copy, and the hints of `NotFound`.

use std::io::Write;
use std::path::{Path, PathBuf};

use dlscope_data::catalog::{self, FileCheck, Roots};
use dlscope_data::open::{detect, open_with};
use dlscope_data::{DataError, Format};

const MNIST_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn idx_images(n: u32, h: u32, w: u32, fill: u8) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [n, h, w] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend((0..n * h * w).map(|i| fill.wrapping_add(i as u8)));
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

/// An MNIST-style folder: `train_n` + `test_n` 4x4 images, labels cycling 0..9. With `gz`
/// the files carry the published `.gz` names.
fn write_idx_dir(dir: &Path, train_n: u32, test_n: u32, fill: u8, gz: bool) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let labels = |n: u32| (0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>();
    let contents = [
        idx_images(train_n, 4, 4, fill),
        idx_labels(&labels(train_n)),
        idx_images(test_n, 4, 4, fill),
        idx_labels(&labels(test_n)),
    ];
    for (name, data) in MNIST_NAMES.iter().zip(contents) {
        if gz {
            std::fs::write(dir.join(format!("{name}.gz")), gzip(&data)).expect("write");
        } else {
            std::fs::write(dir.join(name), data).expect("write");
        }
    }
}

/// CIFAR-10 batch bytes: `n` records of a label and 3072 pixels.
fn cifar10_batch(n: usize, first_label: u8) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push((first_label as usize + i) as u8 % 10);
        v.extend((0..3072).map(|p| (p + i) as u8));
    }
    v
}

fn write_cifar10_dir(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for b in 1..=5 {
        std::fs::write(dir.join(format!("data_batch_{b}.bin")), cifar10_batch(2, b))
            .expect("write");
    }
    std::fs::write(dir.join("test_batch.bin"), cifar10_batch(3, 0)).expect("write");
}

/// A `cifar-10-binary.tar.gz` with the official folder name inside.
fn write_cifar10_tgz(path: &Path) {
    let file = std::fs::File::create(path).expect("create");
    let enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(enc);
    let mut add = |name: String, data: Vec<u8>| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(
            &mut h,
            format!("cifar-10-batches-bin/{name}"),
            data.as_slice(),
        )
        .expect("append");
    };
    for b in 1..=5 {
        add(format!("data_batch_{b}.bin"), cifar10_batch(2, b));
    }
    add("test_batch.bin".into(), cifar10_batch(3, 0));
    tar.into_inner().expect("tar").finish().expect("gz");
}

fn write_png(path: &Path, shade: u8) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    image::GrayImage::from_raw(4, 4, vec![shade; 16])
        .expect("image")
        .save(path)
        .expect("save png");
}

/// `root/{cat,dog}/{0,1}.png`.
fn write_folder(root: &Path) {
    for (c, class) in ["cat", "dog"].iter().enumerate() {
        for i in 0..2 {
            write_png(
                &root.join(class).join(format!("{i}.png")),
                (c * 100 + i) as u8,
            );
        }
    }
}

/// Three images and a manifest naming them, at `csv`.
fn write_manifest(csv: &Path) {
    let dir = csv.parent().expect("parent");
    for i in 0..3 {
        write_png(&dir.join("imgs").join(format!("{i}.png")), i * 50);
    }
    std::fs::write(
        csv,
        "path,label\nimgs/0.png,cat\nimgs/1.png,dog\nimgs/2.png,cat\n",
    )
    .expect("csv");
}

fn roots(data: Option<&Path>, system: &[&Path]) -> Roots {
    Roots {
        data: data.map(Path::to_path_buf),
        cache: None,
        system: system.iter().map(|p| p.to_path_buf()).collect(),
    }
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 temp path").to_string()
}

fn no_roots() -> Roots {
    roots(None, &[])
}

#[test]
fn detects_each_format() {
    let t = tempfile::tempdir().expect("tempdir");
    let idx = t.path().join("idx");
    write_idx_dir(&idx, 5, 3, 0, false);
    let cifar = t.path().join("cifar");
    write_cifar10_dir(&cifar);
    let tgz = t.path().join("c10.tar.gz");
    write_cifar10_tgz(&tgz);
    let folder = t.path().join("photos");
    write_folder(&folder);
    let csv = t.path().join("m").join("labels.csv");
    write_manifest(&csv);

    assert_eq!(detect(&idx).expect("idx"), Format::Idx);
    assert_eq!(detect(&cifar).expect("cifar dir"), Format::Cifar);
    assert_eq!(detect(&tgz).expect("cifar tgz"), Format::Cifar);
    assert_eq!(detect(&folder).expect("folder"), Format::Folder);
    assert_eq!(detect(&csv).expect("manifest"), Format::Manifest);

    let ds = open_with(&s(&idx), &no_roots()).expect("open idx");
    assert_eq!(ds.format, Format::Idx);
    assert_eq!(
        (
            ds.split("train").expect("train").len(),
            ds.split("test").expect("test").len()
        ),
        (5, 3)
    );

    let ds = open_with(&s(&cifar), &no_roots()).expect("open cifar dir");
    assert_eq!(ds.format, Format::Cifar);
    assert_eq!(ds.split("train").expect("train").len(), 10);
    assert_eq!(ds.split("test").expect("test").len(), 3);

    let ds = open_with(&s(&tgz), &no_roots()).expect("open cifar tgz");
    assert_eq!(ds.format, Format::Cifar);
    assert_eq!(ds.len(), 13);

    let ds = open_with(&s(&folder), &no_roots()).expect("open folder");
    assert_eq!(ds.format, Format::Folder);
    assert_eq!(ds.classes, ["cat", "dog"]);
    assert_eq!(ds.len(), 4);

    let ds = open_with(&s(&csv), &no_roots()).expect("open manifest");
    assert_eq!(ds.format, Format::Manifest);
    assert_eq!(ds.len(), 3);
}

#[test]
fn a_folder_holding_cifar_batches_and_images_is_cifar_first() {
    let t = tempfile::tempdir().expect("tempdir");
    write_cifar10_dir(t.path());
    write_png(&t.path().join("preview").join("a.png"), 1);
    assert_eq!(detect(t.path()).expect("detect"), Format::Cifar);
}

#[test]
fn prefixes_force_the_reader() {
    let t = tempfile::tempdir().expect("tempdir");
    // A manifest whose name does not say CSV: detection refuses it, the prefix reads it.
    let txt = t.path().join("labels.txt");
    write_manifest(&t.path().join("labels.csv"));
    std::fs::copy(t.path().join("labels.csv"), &txt).expect("copy");
    let err = open_with(&s(&txt), &no_roots()).expect_err("not detected");
    assert!(matches!(err, DataError::UnknownFormat { .. }), "{err}");
    let ds = open_with(&format!("manifest:{}", s(&txt)), &no_roots()).expect("manifest: prefix");
    assert_eq!((ds.format, ds.len()), (Format::Manifest, 3));

    // The same IDX folder read as IDX by prefix.
    let idx = t.path().join("digits");
    write_idx_dir(&idx, 4, 2, 9, true);
    let ds = open_with(&format!("idx:{}", s(&idx)), &no_roots()).expect("idx: prefix");
    assert_eq!((ds.format, ds.len()), (Format::Idx, 6));

    let cifar = t.path().join("c");
    write_cifar10_dir(&cifar);
    let ds = open_with(&format!("cifar:{}", s(&cifar)), &no_roots()).expect("cifar: prefix");
    assert_eq!(ds.format, Format::Cifar);

    // folder: on an image folder that also holds a CSV is still a folder.
    let photos = t.path().join("photos");
    write_folder(&photos);
    let ds = open_with(&format!("folder:{}", s(&photos)), &no_roots()).expect("folder: prefix");
    assert_eq!(ds.format, Format::Folder);

    let err =
        open_with(&format!("idx:{}", s(&t.path().join("nope"))), &no_roots()).expect_err("missing");
    assert!(matches!(err, DataError::NotFound { .. }), "{err}");
}

#[test]
fn unknown_layouts_say_why() {
    let t = tempfile::tempdir().expect("tempdir");
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let err = open_with(&s(&empty), &no_roots()).expect_err("empty folder");
    match &err {
        DataError::UnknownFormat { path, why } => {
            assert_eq!(path, &empty);
            assert!(
                why.contains("no CIFAR batch files") && why.contains("no IDX files"),
                "{why}"
            );
        }
        other => panic!("expected UnknownFormat, got {other}"),
    }
    let lone = t.path().join("train-images-idx3-ubyte");
    std::fs::write(&lone, idx_images(1, 2, 2, 0)).expect("write");
    let err = open_with(&s(&lone), &no_roots()).expect_err("one IDX file");
    assert!(err.to_string().contains("single IDX file"), "{err}");
    let blob = t.path().join("weights.bin");
    std::fs::write(&blob, b"xyz").expect("write");
    let err = open_with(&s(&blob), &no_roots()).expect_err("binary file");
    assert!(matches!(err, DataError::UnknownFormat { .. }), "{err}");
}

#[test]
fn unknown_name_lists_the_catalog() {
    let err = open_with("imagenet-22k", &no_roots()).expect_err("unknown");
    match err {
        DataError::NotFound { name, hint } => {
            assert_eq!(name, "imagenet-22k");
            for e in catalog::entries() {
                assert!(hint.contains(e.name), "{hint}");
            }
        }
        other => panic!("expected NotFound, got {other}"),
    }
}

#[test]
fn catalog_name_not_present_says_how_to_get_it() {
    let t = tempfile::tempdir().expect("tempdir");
    let err = open_with("fashion-mnist", &roots(Some(t.path()), &[])).expect_err("absent");
    let msg = err.to_string();
    assert!(matches!(err, DataError::NotFound { .. }));
    assert!(msg.contains("dlscope fetch fashion-mnist"), "{msg}");
    assert!(
        msg.contains("apt-get install dataset-fashion-mnist"),
        "{msg}"
    );
    let msg = open_with("KMNIST", &no_roots())
        .expect_err("absent")
        .to_string();
    assert!(
        msg.contains("dlscope fetch kmnist") && !msg.contains("apt-get"),
        "{msg}"
    );

    // Half a copy is not used, and the hint says what is missing where.
    let partial = t.path().join("mnist");
    write_idx_dir(&partial, 2, 2, 0, true);
    std::fs::remove_file(partial.join("t10k-labels-idx1-ubyte.gz")).expect("rm");
    let msg = open_with("mnist", &roots(Some(t.path()), &[]))
        .expect_err("incomplete")
        .to_string();
    assert!(
        msg.contains("incomplete copy") && msg.contains("t10k-labels-idx1-ubyte.gz"),
        "{msg}"
    );
}

#[test]
fn dlscope_data_copy_wins_over_the_system_copy() {
    let user = tempfile::tempdir().expect("tempdir");
    let system = tempfile::tempdir().expect("tempdir");
    write_idx_dir(&user.path().join("mnist"), 7, 3, 1, true);
    write_idx_dir(&system.path().join("mnist"), 20, 5, 2, false);
    let r = roots(Some(user.path()), &[system.path()]);

    let entry = catalog::find("mnist").expect("in catalog");
    assert_eq!(catalog::locate(entry, &r), Some(user.path().join("mnist")));
    let ds = open_with("mnist", &r).expect("open");
    assert_eq!(ds.name, "mnist");
    assert_eq!(ds.root, user.path().join("mnist"));
    assert_eq!(ds.split("train").expect("train").len(), 7);
    assert_eq!(
        ds.classes,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
    );

    // Without the user copy the system one is found, under the same catalog name.
    let r = roots(None, &[system.path()]);
    let ds = open_with("MNIST", &r).expect("open");
    assert_eq!(ds.root, system.path().join("mnist"));
    assert_eq!(ds.split("train").expect("train").len(), 20);

    // The cache root sits between the two.
    let cache = tempfile::tempdir().expect("tempdir");
    write_idx_dir(&cache.path().join("mnist"), 11, 1, 3, true);
    let r = Roots {
        data: None,
        cache: Some(cache.path().to_path_buf()),
        system: vec![system.path().to_path_buf()],
    };
    assert_eq!(
        open_with("mnist", &r)
            .expect("open")
            .split("train")
            .expect("train")
            .len(),
        11
    );
}

#[test]
fn a_path_with_a_slash_is_never_a_catalog_name() {
    let t = tempfile::tempdir().expect("tempdir");
    let local = t.path().join("mnist");
    write_folder(&local);
    let ds = open_with(&s(&local), &no_roots()).expect("open the folder named mnist");
    assert_eq!(ds.format, Format::Folder);
}

#[test]
fn catalog_cifar10_gets_its_class_names_from_a_folder_or_the_archive() {
    let t = tempfile::tempdir().expect("tempdir");
    write_cifar10_dir(&t.path().join("cifar10").join("cifar-10-batches-bin"));
    let ds = open_with("cifar10", &roots(Some(t.path()), &[])).expect("open unpacked");
    assert_eq!(ds.name, "cifar10");
    assert_eq!(ds.classes[0], "airplane");
    assert_eq!(ds.classes[9], "truck");
    assert_eq!(ds.split("train").expect("train").len(), 10);

    let t = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(t.path().join("cifar10")).expect("mkdir");
    write_cifar10_tgz(&t.path().join("cifar10").join("cifar-10-binary.tar.gz"));
    let ds = open_with("cifar-10", &roots(None, &[t.path()])).expect("open archive");
    assert_eq!(ds.name, "cifar10");
    assert_eq!(ds.classes.len(), 10);
    assert_eq!(ds.split("test").expect("test").len(), 3);
}

#[test]
fn status_lists_local_and_incomplete_copies() {
    let t = tempfile::tempdir().expect("tempdir");
    write_idx_dir(&t.path().join("kmnist"), 2, 2, 0, false);
    write_idx_dir(&t.path().join("mnist"), 2, 2, 0, true);
    std::fs::remove_file(t.path().join("mnist").join("train-images-idx3-ubyte.gz")).expect("rm");
    let st = catalog::status(&roots(Some(t.path()), &[]));
    let get = |n: &str| st.iter().find(|s| s.name == n).expect("listed");
    assert_eq!(get("kmnist").local, Some(t.path().join("kmnist")));
    assert_eq!(get("mnist").local, None);
    assert_eq!(get("mnist").incomplete, vec![t.path().join("mnist")]);
    assert_eq!(get("cifar10").local, None);
    assert_eq!(get("cifar100").classes, 100);
    assert_eq!(get("fashion-mnist").samples, 70_000);
    assert_eq!(st.len(), catalog::entries().len());
}

const DEBIAN_FMNIST: &str = "/usr/share/datasets/fashion-mnist";

fn debian_roots() -> Option<Roots> {
    let p = PathBuf::from(DEBIAN_FMNIST);
    if !p.is_dir() {
        eprintln!(
            "skipping: {DEBIAN_FMNIST} is not installed (apt-get install dataset-fashion-mnist)"
        );
        return None;
    }
    Some(roots(None, &[Path::new("/usr/share/datasets")]))
}

#[test]
fn fashion_mnist_is_found_in_the_debian_folder() {
    let Some(r) = debian_roots() else { return };
    let ds = open_with("fashion-mnist", &r).expect("open fashion-mnist");
    assert_eq!(ds.name, "fashion-mnist");
    assert_eq!(ds.format, Format::Idx);
    assert_eq!(ds.root, Path::new(DEBIAN_FMNIST));
    assert_eq!(
        ds.classes,
        [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot"
        ]
    );
    let train = ds.split("train").expect("train");
    let test = ds.split("test").expect("test");
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
    assert_eq!(train.class_counts(10), (vec![6000; 10], 0));
    assert_eq!(test.class_counts(10), (vec![1000; 10], 0));
    let st = catalog::status(&r);
    let fm = st
        .iter()
        .find(|s| s.name == "fashion-mnist")
        .expect("listed");
    assert_eq!(fm.local.as_deref(), Some(Path::new(DEBIAN_FMNIST)));
}

#[test]
fn debian_fashion_mnist_files_match_the_pinned_checksums() {
    if debian_roots().is_none() {
        return;
    }
    let entry = catalog::find("fashion-mnist").expect("in catalog");
    let checks = catalog::verify(entry, Path::new(DEBIAN_FMNIST)).expect("verify");
    assert_eq!(checks.len(), 4);
    for (file, check) in checks {
        assert!(
            matches!(check, FileCheck::KnownCopy { origin } if origin.contains("dataset-fashion-mnist")),
            "{file}: {check:?}"
        );
    }
    // A copy with one byte changed is a mismatch.
    let t = tempfile::tempdir().expect("tempdir");
    let mut bytes =
        std::fs::read(Path::new(DEBIAN_FMNIST).join("t10k-labels-idx1-ubyte.gz")).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let p = t.path().join("t10k-labels-idx1-ubyte.gz");
    std::fs::write(&p, &bytes).expect("write");
    let spec = entry
        .files
        .iter()
        .find(|f| f.name == "t10k-labels-idx1-ubyte.gz")
        .expect("spec");
    assert!(matches!(
        catalog::check_file(spec, &p).expect("check"),
        FileCheck::Mismatch { .. }
    ));
}
