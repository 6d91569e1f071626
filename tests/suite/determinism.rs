//! Thread-count independence: bit-identical parameters for 1, 2 and 4 threads.

use super::harness::{Dir, repo_file};
use bp_par::activation::Activation;
use bp_par::data::{Dataset, Targets};
use bp_par::loss::Loss;
use bp_par::network::{Arch, Buffers, Network};
use bp_par::train::{Silent, TrainConfig, train};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn synthetic(n: usize, d: usize, k: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let features = (0..n * d).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let labels = (0..n).map(|_| rng.random_range(0..k as u32)).collect();
    Dataset {
        path: "synthetic".into(),
        n_features: d,
        features,
        targets: Targets::Classes { labels, n_classes: k },
        image_shape: None,
    }
}

fn trained(threads: usize, data: &Dataset, cfg: &TrainConfig, act: Activation, loss: Loss) -> Vec<u32> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let arch = Arch::new(vec![data.n_features, 19, 7, data.n_outputs()], act, loss).unwrap();
        let mut net = Network::<f32>::init(arch, cfg.seed);
        train(&mut net, data, None, cfg.clone(), &mut Silent).unwrap();
        net.params.iter().map(|p| p.to_bits()).collect()
    })
}

#[test]
fn parallel_equals_serial_bit_for_bit() {
    // 203 rows: batches of 37 leave a short last batch of 18; shards of 8 leave short shards.
    let data = synthetic(203, 13, 5, 4);
    for (batch, shard) in [(37, 8), (64, 16), (5, 1), (203, 64)] {
        let cfg = TrainConfig {
            epochs: 3,
            batch,
            shard,
            lr: 0.05,
            momentum: 0.9,
            l2: 0.3,
            seed: 11,
            shuffle: true,
        };
        for (act, loss) in
            [(Activation::Relu, Loss::Xent), (Activation::Sigmoid, Loss::Mse), (Activation::Tanh, Loss::Bce)]
        {
            let one = trained(1, &data, &cfg, act, loss);
            for threads in [2, 4] {
                assert!(
                    one == trained(threads, &data, &cfg, act, loss),
                    "batch {batch} shard {shard} {act}/{loss}: {threads} threads differ from 1"
                );
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
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let mut files = Vec::new();
    for threads in ["1", "2", "3"] {
        let name = format!("model-{threads}.safetensors");
        dir.run(&[
            "train",
            &digits,
            "--threads",
            threads,
            "--epochs",
            "2",
            "--hidden",
            "24,12",
            "--batch",
            "50",
            "--shard-size",
            "16",
            "--l2",
            "0.5",
            "--save",
            &name,
            "--quiet",
        ])
        .ok();
        files.push(std::fs::read(dir.path(&name)).unwrap());
    }
    assert!(files[0] == files[1] && files[1] == files[2], "model files differ between thread counts");
}
