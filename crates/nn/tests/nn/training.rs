//! Training learns, reports progress, and is reproducible.

use dlscope_nn::{Arch, Engine, Event, OptimizerConfig, TrainConfig, Trainer};

use crate::util::{fashion, subset};

#[test]
fn mlp_learns_fashion_mnist_in_one_epoch() {
    let f = fashion();
    let mut trainer = Trainer::new(
        &TrainConfig::default(),
        f.classes.clone(),
        "train",
        &f.train,
    )
    .unwrap();
    let mut batches = 0;
    let mut last_batch = None;
    let mut ends = Vec::new();
    trainer
        .fit("train", &f.train, 1, &Engine::Cpu, 2, &mut |e| match e {
            Event::Batch {
                batch,
                batches: total,
                accuracy,
                ..
            } => {
                batches += 1;
                last_batch = Some((*batch, *total, *accuracy));
            }
            Event::EpochEnd(r) => ends.push(r.clone()),
            _ => {}
        })
        .unwrap();
    // 60,000 / 128 = 468 full batches + one of 96: the partial batch is kept.
    assert_eq!(batches, 469);
    let (b, total, running_acc) = last_batch.unwrap();
    assert_eq!((b, total), (469, 469));
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0].accuracy, running_acc);
    assert!(
        ends[0].accuracy > 0.75,
        "train accuracy {}",
        ends[0].accuracy
    );
    let eval = trainer
        .model
        .evaluate("test", &f.test, &Engine::Cpu, 2)
        .unwrap();
    // Keras reaches ~0.83-0.85 after one epoch; chance is 0.10.
    assert!(eval.accuracy > 0.78, "test accuracy {}", eval.accuracy);
    assert_eq!(eval.samples, 10_000);
    assert_eq!(eval.confusion.iter().flatten().sum::<u64>(), 10_000);
    assert!(eval.loss < 0.7, "test loss {}", eval.loss);
    // Trousers are the easy class of Fashion-MNIST, shirts the hard one.
    let f1 = |name: &str| eval.per_class.iter().find(|c| c.class == name).unwrap().f1;
    assert!(
        f1("Trouser") > 0.9 && f1("Trouser") > f1("Shirt"),
        "{eval:?}"
    );
}

#[test]
fn cnn_learns_on_a_subset() {
    let f = fashion();
    let train = subset(&f.train, 0, 6000);
    let test = subset(&f.test, 0, 2000);
    let config = TrainConfig {
        arch: Arch::cnn(),
        optimizer: OptimizerConfig::by_name("adam").unwrap(),
        seed: 5,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(&config, f.classes.clone(), "train", &train).unwrap();
    trainer
        .fit("train", &train, 1, &Engine::Cpu, 2, &mut |_| {})
        .unwrap();
    let eval = trainer
        .model
        .evaluate("test", &test, &Engine::Cpu, 2)
        .unwrap();
    assert!(eval.accuracy > 0.65, "CNN test accuracy {}", eval.accuracy);
}

#[test]
fn same_seed_gives_identical_weights_and_losses() {
    let f = fashion();
    let data = subset(&f.train, 10_000, 3000);
    let run = |seed: u64| {
        let config = TrainConfig {
            seed,
            validation_split: 0.2,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(&config, f.classes.clone(), "train", &data).unwrap();
        t.fit("train", &data, 2, &Engine::Cpu, 2, &mut |_| {})
            .unwrap();
        t
    };
    let (a, b, c) = (run(11), run(11), run(12));
    assert_eq!(a.model.params, b.model.params);
    let losses = |t: &Trainer| {
        t.history
            .iter()
            .map(|r| (r.loss, r.val_loss))
            .collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_ne!(a.model.params, c.model.params);
    // The validation part is held out: 600 samples, reported every epoch.
    assert!(a.history.iter().all(|r| r.val_accuracy.is_some()));
}

#[test]
fn cnn_training_is_reproducible_too() {
    let f = fashion();
    let data = subset(&f.train, 20_000, 600);
    let run = || {
        let config = TrainConfig {
            arch: Arch::cnn(),
            seed: 4,
            batch_size: 64,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(&config, f.classes.clone(), "train", &data).unwrap();
        t.fit("train", &data, 1, &Engine::Cpu, 2, &mut |_| {})
            .unwrap();
        t.model.params
    };
    assert_eq!(run(), run());
}
