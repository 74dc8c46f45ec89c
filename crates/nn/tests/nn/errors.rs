//! Bad input gives typed errors and leaves nothing half-written.

use dlscope_data::{Dense, Shape};
use dlscope_nn::checkpoint::{Provenance, RunMetrics, RunWriter};
use dlscope_nn::data::{check_classes, resize_dense};
use dlscope_nn::optim::Sgd;
use dlscope_nn::{Arch, Engine, NnError, OptimizerConfig, TrainConfig, Trainer};

use crate::util::{names, tiny};

#[test]
fn empty_data_and_bad_labels_are_refused() {
    let empty = Dense {
        shape: Shape::new(4, 4, 1),
        pixels: Vec::new(),
        labels: Vec::new(),
    };
    let err = Trainer::new(&TrainConfig::default(), names(3), "train", &empty).unwrap_err();
    assert!(matches!(err, NnError::EmptyData { .. }), "{err}");

    let mut data = tiny(Shape::new(4, 4, 1), 20, 3, 1);
    data.labels[13] = 7;
    let mut t = Trainer::new(&TrainConfig::default(), names(3), "train", &data).unwrap();
    let err = t
        .fit("train", &data, 1, &Engine::Cpu, 1, &mut |_| {})
        .unwrap_err();
    match err {
        NnError::BadLabel { record, label, .. } => assert_eq!((record, label), (13, 7)),
        other => panic!("{other}"),
    }
    // Evaluating on data of another size than the model takes is refused...
    let other = tiny(Shape::new(5, 4, 1), 4, 3, 2);
    assert!(t.model.evaluate("test", &other, &Engine::Cpu, 1).is_err());
    // ...until it is resized to the model's input.
    let resized = resize_dense(other, t.model.spec.input);
    assert_eq!(
        t.model
            .evaluate("test", &resized, &Engine::Cpu, 1)
            .unwrap()
            .samples,
        4
    );
}

#[test]
fn class_mismatch_is_reported_with_both_lists() {
    let err = check_classes(&names(3), &names(4)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("3 classes") && msg.contains("class3"), "{msg}");
    assert!(check_classes(&names(3), &names(3)).is_ok());
}

#[test]
fn diverging_training_stops_with_a_clear_error_and_writes_nothing() {
    let data = tiny(Shape::new(8, 8, 1), 300, 4, 3);
    let config = TrainConfig {
        optimizer: OptimizerConfig::Sgd(Sgd {
            learning_rate: 1e30,
            momentum: 0.0,
            nesterov: false,
        }),
        batch_size: 32,
        ..TrainConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // The run folder is claimed before training, as the CLI does.
    let writer = RunWriter::create(&out).unwrap();
    let mut t = Trainer::new(&config, names(4), "train", &data).unwrap();
    let err = t
        .fit("train", &data, 3, &Engine::Cpu, 1, &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(err, NnError::NonFiniteLoss { epoch: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("lower the learning rate"));
    drop(writer);
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn unwritable_or_existing_output_folders_fail_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    // A folder cannot be created under a regular file.
    assert!(RunWriter::create(&file.join("run")).is_err());
    // An existing path is never overwritten.
    assert!(RunWriter::create(&file).is_err());
    // Replacing needs an existing run folder.
    assert!(RunWriter::replace(dir.path()).is_err());
    let data = tiny(Shape::new(8, 8, 1), 40, 2, 3);
    let t = Trainer::new(&TrainConfig::default(), names(2), "train", &data).unwrap();
    let writer = RunWriter::create(&dir.path().join("ok")).unwrap();
    writer
        .finish(&t, &Provenance::default(), &RunMetrics::default())
        .unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn impossible_models_and_settings_are_typed_errors() {
    let data = tiny(Shape::new(5, 5, 1), 10, 2, 3);
    let cnn = TrainConfig {
        arch: Arch::cnn(),
        ..TrainConfig::default()
    };
    assert!(matches!(
        Trainer::new(&cnn, names(2), "train", &data),
        Err(NnError::BadModel(_))
    ));
    let zero_batch = TrainConfig {
        batch_size: 0,
        ..TrainConfig::default()
    };
    assert!(matches!(
        Trainer::new(&zero_batch, names(2), "train", &data),
        Err(NnError::BadSetting {
            name: "batch_size",
            ..
        })
    ));
    let all_validation = TrainConfig {
        validation_split: 1.0,
        ..TrainConfig::default()
    };
    assert!(matches!(
        Trainer::new(&all_validation, names(2), "train", &data),
        Err(NnError::BadSetting {
            name: "validation_split",
            ..
        })
    ));
}
