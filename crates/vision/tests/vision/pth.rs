//! PyTorch `.pth` checkpoints: a zip-format `torch.save(state_dict)` file written here byte by
//! byte (pickle protocol 2 + stored zip entries, as PyTorch >= 1.6 writes them) from the
//! fixture's weights loads to the same network as the safetensors copy.

use std::path::Path;

use dlscope_vision::models::{self, Engine};
use dlscope_vision::preprocess::Batch;

use super::util::{f32s, imagenet, max_abs_diff, raw_tensor};

fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *t = c;
    }
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// A zip archive of stored (uncompressed) entries.
fn zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let head = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend(sig.to_le_bytes());
            if central {
                h.extend(20u16.to_le_bytes()); // made by
            }
            h.extend(20u16.to_le_bytes()); // needed
            h.extend(0u16.to_le_bytes()); // flags
            h.extend(0u16.to_le_bytes()); // stored
            h.extend(0u16.to_le_bytes()); // time
            h.extend(0x21u16.to_le_bytes()); // 1980-01-01
            h.extend(crc.to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            if central {
                h.extend([0u8; 6]); // comment length, disk number, internal attributes
                h.extend(0u32.to_le_bytes()); // external attributes
                h.extend(offset.to_le_bytes());
            }
            h.extend(name.as_bytes());
            h
        };
        out.extend(head(0x0403_4b50, false));
        out.extend(data);
        central.extend(head(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

fn unicode(p: &mut Vec<u8>, s: &str) {
    p.push(b'X');
    p.extend((s.len() as u32).to_le_bytes());
    p.extend(s.as_bytes());
}

fn int(p: &mut Vec<u8>, v: usize) {
    p.push(b'J');
    p.extend((v as i32).to_le_bytes());
}

/// `torch.save(state_dict)`'s data.pkl for tensors (name, storage class, shape), storage i
/// named "i".
fn pickle(tensors: &[(String, &str, Vec<usize>)]) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    p.extend(b"ccollections\nOrderedDict\n)R(");
    for (i, (name, storage, shape)) in tensors.iter().enumerate() {
        unicode(&mut p, name);
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        p.push(b'(');
        unicode(&mut p, "storage");
        p.extend(format!("ctorch\n{storage}\n").as_bytes());
        unicode(&mut p, &i.to_string());
        unicode(&mut p, "cpu");
        int(&mut p, shape.iter().product());
        p.extend(b"tQ");
        int(&mut p, 0);
        p.push(b'(');
        for &d in shape {
            int(&mut p, d);
        }
        p.extend(b"t(");
        let mut stride = 1;
        let mut strides = vec![0; shape.len()];
        for (s, &d) in strides.iter_mut().zip(shape).rev() {
            *s = stride;
            stride *= d;
        }
        for s in strides {
            int(&mut p, s);
        }
        p.push(b't');
        p.push(0x89); // requires_grad = False
        p.extend(b"ccollections\nOrderedDict\n)R");
        p.extend(b"tR");
    }
    p.extend(b"u.");
    p
}

fn write_pth(src: &Path, dst: &Path) {
    let bytes = std::fs::read(src).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors = Vec::new();
    let mut entries = vec![
        ("archive/version".to_string(), b"3\n".to_vec()),
        ("archive/byteorder".to_string(), b"little".to_vec()),
    ];
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    for name in names {
        let t = st.tensor(&name).unwrap();
        entries.push((format!("archive/data/{}", tensors.len()), t.data().to_vec()));
        tensors.push((name.clone(), "FloatStorage", t.shape().to_vec()));
        if name.ends_with("running_var") {
            // PyTorch's BatchNorm also saves num_batches_tracked (int64 scalar); unused.
            let nbt = name.replace("running_var", "num_batches_tracked");
            entries.push((
                format!("archive/data/{}", tensors.len()),
                0i64.to_le_bytes().to_vec(),
            ));
            tensors.push((nbt, "LongStorage", vec![]));
        }
    }
    entries.insert(0, ("archive/data.pkl".to_string(), pickle(&tensors)));
    std::fs::write(dst, zip(&entries)).unwrap();
}

#[test]
fn a_pytorch_zip_checkpoint_loads_like_the_safetensors_copy() {
    let dir = tempfile::tempdir().unwrap();
    let pth = dir.path().join("efficientnet-lite0.pth");
    write_pth(&imagenet("efficientnet_lite0.safetensors"), &pth);
    let info = models::find("efficientnet-lite0").unwrap();
    let m = models::load(info, &pth, &Engine::Cpu).unwrap();
    let parity = imagenet("parity.safetensors");
    let input = f32s(&raw_tensor(&parity, "input").1);
    let want = f32s(&raw_tensor(&parity, "logits").1);
    let got = m.logits(&Batch::new(1, 224, 224, input).unwrap()).unwrap();
    let d = max_abs_diff(&got, &want);
    assert!(d <= 1e-3, ".pth: max |dlogit| {d}");

    // The same file as VGG16: the first tensor VGG needs is named as missing.
    let e = models::load(models::find("vgg16").unwrap(), &pth, &Engine::Cpu)
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("'features.0.weight' is missing"),
        "{e}"
    );
}
