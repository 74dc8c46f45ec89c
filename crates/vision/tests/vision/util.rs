//! Fixture paths and small helpers shared by the tests.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `shared/fixtures/<rel>` at the project root.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures"
    ))
    .join(rel)
}

pub fn imagenet(rel: &str) -> PathBuf {
    fixture(&format!("imagenet/{rel}"))
}

/// A tensor of `parity.safetensors` (or any safetensors file) as raw bytes with its shape.
pub fn raw_tensor(path: &Path, name: &str) -> (Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor(name).unwrap();
    (t.shape().to_vec(), t.data().to_vec())
}

pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Writes a safetensors file tensor by tensor (header first, then each tensor's bytes from
/// `fill`), without holding the whole file in memory.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(String, Vec<usize>)],
    mut fill: impl FnMut(usize, &mut dyn Write) -> std::io::Result<()>,
) {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, shape) in tensors {
        let n: usize = shape.iter().product::<usize>() * 4;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}),
        );
        offset += n;
    }
    let mut h = serde_json::to_vec(&header).unwrap();
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    w.write_all(&(h.len() as u64).to_le_bytes()).unwrap();
    w.write_all(&h).unwrap();
    for i in 0..tensors.len() {
        fill(i, &mut w).unwrap();
    }
    w.flush().unwrap();
}

/// Copies a safetensors file, renaming tensors with `rename` (dropping those it maps to None).
pub fn rewrite_safetensors(src: &Path, dst: &Path, rename: impl Fn(&str) -> Option<String>) {
    let bytes = std::fs::read(src).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: HashMap<String, safetensors::tensor::TensorView> = HashMap::new();
    for (name, view) in st.tensors() {
        if let Some(n) = rename(&name) {
            out.insert(n, view);
        }
    }
    safetensors::serialize_to_file(out, None, dst).unwrap();
}
