//! Bad inputs: missing or wrong weights files name the file and the first tensor that does not
//! fit; unreadable files are refused with the reason.

use dlscope_vision::models::{self, Engine};
use dlscope_vision::weights::find_weights;
use dlscope_vision::VisionError;

use super::util::{imagenet, rewrite_safetensors, write_safetensors};

fn load_err(model: &str, path: &std::path::Path) -> VisionError {
    match models::load(models::find(model).unwrap(), path, &Engine::Cpu) {
        Ok(_) => panic!("{} loaded as {model}", path.display()),
        Err(e) => e,
    }
}

#[test]
fn a_missing_tensor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lite0_incomplete.safetensors");
    rewrite_safetensors(&imagenet("efficientnet_lite0.safetensors"), &p, |n| {
        (n != "_blocks.3._bn1.running_var").then(|| n.to_string())
    });
    let e = load_err("efficientnet-lite0", &p);
    assert!(
        matches!(&e, VisionError::MissingTensor { name, .. } if name == "_blocks.3._bn1.running_var"),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("lite0_incomplete.safetensors") && msg.contains("246 of 247"),
        "{msg}"
    );
}

#[test]
fn a_wrong_shape_is_named_with_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("vgg16.safetensors");
    let tensors = vec![
        ("features.0.weight".to_string(), vec![64, 3, 5, 5]),
        ("features.0.bias".to_string(), vec![64]),
    ];
    write_safetensors(&p, &tensors, |i, w| {
        let n: usize = tensors[i].1.iter().product();
        w.write_all(&vec![0u8; n * 4])
    });
    let e = load_err("vgg16", &p);
    match &e {
        VisionError::TensorShape {
            name,
            expected,
            got,
            ..
        } => {
            assert_eq!(name, "features.0.weight");
            assert_eq!(
                (expected.as_slice(), got.as_slice()),
                (&[64, 3, 3, 3][..], &[64, 3, 5, 5][..])
            );
        }
        _ => panic!("expected a shape error, got {e}"),
    }
}

#[test]
fn another_models_file_names_the_first_tensor_and_what_the_file_holds() {
    let e = load_err("vgg16", &imagenet("efficientnet_lite0.safetensors"));
    assert!(
        matches!(&e, VisionError::MissingTensor { name, .. } if name == "features.0.weight"),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("none of the 32 tensors") && msg.contains("_blocks.0."),
        "{msg}"
    );
}

#[test]
fn unreadable_or_absent_weight_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("weights.safetensors");
    std::fs::write(&text, b"this is not a weights file").unwrap();
    let e = load_err("vgg16", &text);
    assert!(matches!(e, VisionError::WeightsFormat { .. }), "{e}");
    assert!(e.to_string().contains("weights.safetensors"));

    let missing = dir.path().join("nope.safetensors");
    let e = load_err("vgg16", &missing);
    assert!(e.to_string().contains("nope.safetensors"), "{e}");
    let e = find_weights("vgg16", Some(&missing), None).unwrap_err();
    assert!(matches!(e, VisionError::WeightsNotFound { .. }), "{e}");
    assert_eq!(find_weights("vgg16", Some(&text), None).unwrap(), text);
    assert!(models::find("resnet-9000")
        .unwrap_err()
        .to_string()
        .contains("vgg16"));
}
