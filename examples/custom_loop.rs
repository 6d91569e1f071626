//! Drive the [`Trainer`] yourself: your own progress line, early stopping on the validation
//! loss (patience 3, keeping the best weights), and a time limit through the observer's stop
//! request, which the trainer polls after every mini-batch.
//!
//! `cargo run --release --example custom_loop`

use bp_par::activation::Activation;
use bp_par::data::{self, LoadOptions, Normalization, NormalizeMode};
use bp_par::infer::evaluate;
use bp_par::loss::Loss;
use bp_par::network::{Arch, Network};
use bp_par::train::{EpochMetrics, Observer, TrainConfig, Trainer};
use std::path::Path;
use std::time::{Duration, Instant};

/// Prints one line per epoch and asks to stop once the time is up.
struct Progress {
    deadline: Instant,
}

impl Observer for Progress {
    fn epoch_end(&mut self, m: &EpochMetrics) {
        let val = m.test_loss.map_or(String::new(), |l| format!(", validation loss {l:.4}"));
        println!("epoch {:>2}: loss {:.4}{val} ({:.0} samples/s)", m.epoch, m.loss, m.samples_per_s);
    }

    fn stop_requested(&mut self) -> bool {
        Instant::now() >= self.deadline
    }
}

fn main() -> bp_par::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/digits.csv");
    let (mut train, mut val) = data::load(&path, &LoadOptions::default())?.split(0.2, 7)?;
    let norm = Normalization::fit(NormalizeMode::Zscore, train.features(), train.n_features());
    train.normalize(&norm)?;
    val.normalize(&norm)?;

    let arch = Arch::new(vec![train.n_features(), 100, 10], Activation::Tanh, Loss::Xent)?;
    let mut net = Network::init(arch, 7);
    let cfg = TrainConfig { epochs: 100, batch: 32, lr: 0.02, l2: 1.0, seed: 7, ..TrainConfig::default() };
    let mut trainer = Trainer::new(&mut net, &train, cfg)?;
    let mut progress = Progress { deadline: Instant::now() + Duration::from_secs(60) };

    let (mut best, mut best_params, mut since_best) = (f64::INFINITY, trainer.net().params().to_vec(), 0);
    while trainer.epochs_done() < trainer.config().epochs {
        let Some(m) = trainer.run_epoch(&train, Some(&val), &mut progress)? else {
            println!("time limit reached in epoch {}", trainer.epochs_done() + 1);
            break;
        };
        let val_loss = m.test_loss.expect("validation data given");
        if val_loss < best {
            (best, best_params, since_best) = (val_loss, trainer.net().params().to_vec(), 0);
        } else {
            since_best += 1;
            if since_best == 3 {
                println!("no improvement for 3 epochs: stopping after epoch {}", m.epoch);
                break;
            }
        }
    }
    drop(trainer);
    net.params_mut().copy_from_slice(&best_params);
    let e = evaluate(&net, &val, None)?;
    println!("best validation loss {best:.4}; accuracy {:.2}%", 100.0 * e.accuracy().unwrap_or(0.0));
    Ok(())
}
