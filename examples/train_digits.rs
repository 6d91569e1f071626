//! Train a classifier on the shipped 5,000 20x20 digits with library calls only: load,
//! hold out a validation fifth, normalise, train, evaluate, save.
//!
//! `cargo run --release --example train_digits` (prints the validation accuracy).

use bp_par::activation::Activation;
use bp_par::data::{self, LoadOptions, Normalization, NormalizeMode};
use bp_par::infer::evaluate;
use bp_par::loss::Loss;
use bp_par::model::{self, Model, Task};
use bp_par::network::{Arch, Network};
use bp_par::train::{Silent, TrainConfig, Trainer};
use std::path::Path;

fn main() -> bp_par::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/digits.csv");
    let all = data::load(&path, &LoadOptions::default())?;
    let (mut train, mut val) = all.split(0.2, 1)?;
    let norm = Normalization::fit(NormalizeMode::Auto, &train.features, train.n_features);
    norm.apply(&mut train.features, train.n_features);
    norm.apply(&mut val.features, val.n_features);

    let arch = Arch::new(vec![train.n_features, 64, train.n_outputs()], Activation::Relu, Loss::Xent)?;
    let mut net = Network::init(arch, 1);
    let cfg = TrainConfig { epochs: 15, batch: 64, lr: 0.05, ..TrainConfig::default() };
    let history = Trainer::new(&mut net, &train, cfg)?.run(&train, Some(&val), &mut Silent)?;

    let last = history.last().expect("15 epochs");
    let e = evaluate(&net, &val, None);
    println!("epoch {}: training loss {:.4}", last.epoch, last.loss);
    println!("validation accuracy {:.2}% on {} digits", 100.0 * e.accuracy().unwrap_or(0.0), e.n_samples);

    let out = std::env::temp_dir().join("bp-par-digits.safetensors");
    model::save(
        &out,
        &Model {
            net,
            norm,
            task: Task::Classify,
            input_shape: train.image_shape,
            schema: train.schema.clone(),
        },
    )?;
    println!("model saved to {}", out.display());
    Ok(())
}
