//! Thread-count independence: bit-identical parameters and model files for 1 to 16 threads.

use super::harness::{Dir, repo_file};
use bp_par::activation::Activation;
use bp_par::data::Dataset;
use bp_par::loss::Loss;
use bp_par::network::{Arch, Buffers, Network};
use bp_par::train::{Silent, TrainConfig, Trainer};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn synthetic(n: usize, d: usize, k: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let features: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.random_range(0..k as u32)).collect();
    Dataset::classes(&features, d, &labels, Some(k)).unwrap().with_name("synthetic")
}

fn trained(threads: usize, data: &Dataset, cfg: &TrainConfig, act: Activation, loss: Loss) -> Vec<u32> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let arch = Arch::new(vec![data.n_features(), 72, 40, data.n_outputs()], act, loss).unwrap();
        let mut net = Network::<f32>::init(arch, cfg.seed);
        // A team of exactly `threads` threads, even beyond the cores (Trainer::new caps it at
        // one per core): every cut and every dealing of shards really runs.
        let mut trainer = Trainer::with_team(&mut net, data, cfg.clone(), threads).unwrap();
        assert_eq!(trainer.team_size(), threads);
        // With shards of 16 rows or more the cut must really split the layers at these sizes;
        // several shards on as few threads run side by side (shard-parallel steps).
        let tasks = trainer.phase_tasks(trainer.team_size());
        let split = |name: &str| tasks.iter().any(|(n, t)| n == name && *t > 1);
        if threads > 1 && tasks[0].0 == "shards" {
            assert!(split("shards"), "{threads} threads: {tasks:?}");
        } else if threads > 1 && cfg.shard.min(cfg.batch) >= 16 {
            assert!(split("forward 1") && split("backward 1"), "{threads} threads: {tasks:?}");
        }
        trainer.run(data, None, &mut Silent).unwrap();
        net.params().iter().map(|p| p.to_bits()).collect()
    })
}

#[test]
fn parallel_equals_serial_bit_for_bit() {
    // 203 rows: batches of 64 leave a short last batch of 11, of 200 one of 3; shards of 16
    // and 7 make several shards (reduced in the tree) with short ones.
    let data = synthetic(203, 40, 5, 4);
    for (batch, shard) in [(64, 256), (200, 256), (64, 16), (37, 7), (5, 1)] {
        let cfg = TrainConfig {
            epochs: 2,
            batch,
            shard,
            lr: 0.05,
            momentum: 0.9,
            l2: 0.3,
            seed: 11,
            shuffle: true,
            ..TrainConfig::default()
        };
        for act in Activation::ALL {
            for loss in Loss::ALL {
                let one = trained(1, &data, &cfg, act, loss);
                for threads in [2, 3, 4, 8, 16] {
                    assert!(
                        one == trained(threads, &data, &cfg, act, loss),
                        "batch {batch} shard {shard} {act}/{loss}: {threads} threads differ from 1"
                    );
                }
            }
        }
    }
}

#[test]
fn batched_gradient_equals_the_sum_of_per_sample_gradients() {
    // The slow, obviously-correct reference: backprop one sample at a time (f64).
    let arch = Arch::new(vec![6, 5, 4, 3], Activation::Tanh, Loss::Xent).unwrap();
    let net = Network::<f64>::init(arch.clone(), 2);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let rows = 9;
    let x: Vec<f64> = (0..rows * 6).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut y = vec![0.0; rows * 3];
    for r in 0..rows {
        y[r * 3 + r % 3] = 1.0;
    }
    let mut buf = Buffers::new(&arch, rows);
    net.forward(&x, rows, Some(&y), &mut buf);
    let mut batched = vec![f64::NAN; arch.n_params()];
    net.backward(&x, rows, &y, &mut buf, &mut batched);

    let mut summed = vec![0.0; arch.n_params()];
    let mut one = Buffers::new(&arch, 1);
    let mut g = vec![0.0; arch.n_params()];
    for r in 0..rows {
        net.forward(&x[r * 6..(r + 1) * 6], 1, Some(&y[r * 3..(r + 1) * 3]), &mut one);
        net.backward(&x[r * 6..(r + 1) * 6], 1, &y[r * 3..(r + 1) * 3], &mut one, &mut g);
        summed.iter_mut().zip(&g).for_each(|(s, v)| *s += v);
    }
    for (a, b) in batched.iter().zip(&summed) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn model_files_are_byte_identical_for_any_thread_count() {
    // The shipped digits (400 inputs), 3,990 training rows: batches of 64 and of 200 both end
    // short. Each activation with a different loss, L2 on, the default shard size.
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    for (batch, act, loss) in [("64", "relu", "xent"), ("200", "sigmoid", "mse"), ("64", "tanh", "bce")] {
        let mut files = Vec::new();
        for threads in ["1", "2", "3", "4", "8", "16"] {
            let name = format!("model-{batch}-{act}-{threads}.safetensors");
            dir.run(&[
                "train",
                &digits,
                "--threads",
                threads,
                "--epochs",
                "2",
                "--hidden",
                "64,32",
                "--batch",
                batch,
                "--activation",
                act,
                "--loss",
                loss,
                "--train-rows",
                "3990",
                "--l2",
                "0.5",
                "--save",
                &name,
                "--quiet",
            ])
            .ok();
            files.push((threads, std::fs::read(dir.path(&name)).unwrap()));
        }
        for (threads, f) in &files[1..] {
            assert!(
                *f == files[0].1,
                "batch {batch} {act}/{loss}: the model of {threads} threads differs from 1"
            );
        }
    }
}

#[test]
fn adam_nesterov_and_clipping_are_bit_identical_for_any_thread_count() {
    use bp_par::optim::{Adam, Optimizer};
    let data = synthetic(203, 40, 5, 4);
    let adam = Optimizer::Adam(Adam::default());
    let adamw = Optimizer::Adam(Adam { beta1: 0.8, beta2: 0.99, eps: 1e-6, decoupled_decay: true });
    let nesterov = Optimizer::Sgd { nesterov: true };
    // Clipping at 0.05 clips most steps (the mean gradient's norm is about 0.1 to 1 here).
    for (optimizer, clip_norm) in
        [(adam, None), (adamw, Some(0.05)), (nesterov, Some(0.05)), (adam, Some(0.05))]
    {
        // One shard per batch (layer-parallel, fused update), several (the tree), shards side by
        // side, and a short last batch.
        for (batch, shard) in [(64, 256), (64, 16), (37, 7)] {
            let cfg = TrainConfig {
                epochs: 2,
                batch,
                shard,
                lr: 0.01,
                l2: 0.3,
                seed: 11,
                optimizer,
                clip_norm,
                ..TrainConfig::default()
            };
            let one = trained(1, &data, &cfg, Activation::Tanh, Loss::Xent);
            for threads in [2, 3, 5] {
                assert!(
                    one == trained(threads, &data, &cfg, Activation::Tanh, Loss::Xent),
                    "{optimizer} clip {clip_norm:?} batch {batch} shard {shard}: {threads} threads differ from 1"
                );
            }
        }
    }
}

#[test]
fn adam_model_files_are_byte_identical_for_threads_1_2_3() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    for extra in
        [&["--optimizer", "adam", "--lr", "0.001"][..], &["--optimizer", "adam", "--clip-norm", "0.5"]]
    {
        let mut files = Vec::new();
        for threads in ["1", "2", "3"] {
            let name = format!("model-{}-{threads}.safetensors", extra.len());
            let mut args = vec![
                "train",
                &digits,
                "--threads",
                threads,
                "--epochs",
                "2",
                "--hidden",
                "64,32",
                "--l2",
                "0.5",
            ];
            args.extend(["--batch", "200", "--shard-size", "64", "--save", &name, "--quiet"]);
            args.extend(extra);
            dir.run(&args).ok();
            files.push((threads, std::fs::read(dir.path(&name)).unwrap()));
        }
        for (threads, f) in &files[1..] {
            assert!(*f == files[0].1, "{extra:?}: the model of {threads} threads differs from 1");
        }
    }
}
