//! A Parquet dataset laid out the way Hugging Face `datasets` writes it (made here with the
//! parquet crate directly, not with dlscope's writer) reads with the right pixels, labels,
//! class names and splits.

use std::path::Path;
use std::sync::Arc;

use dlscope_data::{Format, Image};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

fn png(img: &Image) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.to_dynamic()
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn img(seed: u8) -> Image {
    let data = (0..4 * 3 * 3)
        .map(|i| (i as u8).wrapping_mul(seed))
        .collect();
    Image::new(4, 3, 3, data).unwrap()
}

/// One HF-style file: `img` struct {bytes, path (null)}, `label` int64, `huggingface` metadata
/// (no dlscope keys), snappy, one row group per sample pair.
fn hf_file(path: &Path, images: &[Image], labels: &[i64], names: &[&str]) {
    let schema = "message hf {
      optional group img { optional binary bytes; optional binary path (STRING); }
      optional int64 label;
    }";
    let hf = serde_json::json!({"info": {"features": {
        "img": {"_type": "Image"},
        "label": {"names": names, "_type": "ClassLabel"}}}});
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "huggingface".to_string(),
            hf.to_string(),
        )]))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(
        file,
        Arc::new(parse_message_type(schema).unwrap()),
        Arc::new(props),
    )
    .unwrap();
    for (ims, ls) in images.chunks(2).zip(labels.chunks(2)) {
        let bytes: Vec<ByteArray> = ims.iter().map(|i| ByteArray::from(png(i))).collect();
        let mut rg = w.next_row_group().unwrap();
        let mut col = 0;
        while let Some(mut c) = rg.next_column().unwrap() {
            match col {
                0 => c
                    .typed::<ByteArrayType>()
                    .write_batch(&bytes, Some(&vec![2; bytes.len()]), None)
                    .unwrap(),
                // path: struct present, path null
                1 => c
                    .typed::<ByteArrayType>()
                    .write_batch(&[], Some(&vec![1; bytes.len()]), None)
                    .unwrap(),
                _ => c
                    .typed::<Int64Type>()
                    .write_batch(ls, Some(&vec![1; ls.len()]), None)
                    .unwrap(),
            };
            c.close().unwrap();
            col += 1;
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
}

#[test]
fn hugging_face_layout_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cifar-like");
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let names = ["airplane", "automobile", "bird"];
    let train: Vec<Image> = (1..=5).map(img).collect();
    let test: Vec<Image> = (11..=13).map(img).collect();
    hf_file(
        &data.join("train-00000-of-00002.parquet"),
        &train[..3],
        &[2, 0, 1],
        &names,
    );
    hf_file(
        &data.join("train-00001-of-00002.parquet"),
        &train[3..],
        &[1, 1],
        &names,
    );
    hf_file(
        &data.join("test-00000-of-00001.parquet"),
        &test,
        &[0, 2, 2],
        &names,
    );
    std::fs::write(root.join("README.md"), "dataset card").unwrap();

    let ds = dlscope_data::open(root.to_str().unwrap()).expect("opens");
    assert_eq!(ds.format, Format::Parquet);
    assert_eq!(ds.classes, names);
    assert_eq!(ds.split_names(), vec!["train", "test"]);
    let tr = ds.split("train").unwrap();
    assert_eq!(
        tr.labels(),
        vec![Some(2), Some(0), Some(1), Some(1), Some(1)]
    );
    for (i, want) in train.iter().enumerate() {
        assert_eq!(&tr.get(i).unwrap().image, want, "train {i}");
    }
    let te = ds.split("test").unwrap();
    assert_eq!(te.labels(), vec![Some(0), Some(2), Some(2)]);
    assert_eq!(te.get(2).unwrap().image, test[2]);
    // A single file opens as one split too.
    let one =
        dlscope_data::open(data.join("test-00000-of-00001.parquet").to_str().unwrap()).unwrap();
    assert_eq!((one.split_names(), one.len()), (vec!["test"], 3));
}
