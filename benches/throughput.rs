//! Criterion benches in the units that matter: a shard's forward and backward passes (FLOP/s,
//! shown as elements/s), one training step per thread count and an MNIST epoch (samples/s), CSV
//! parsing (bytes/s). `cargo bench` runs them; `bp-par bench` is the sweeping counterpart.

use bp_par::activation::Activation;
use bp_par::data::image::ImageStats;
use bp_par::data::synthetic;
use bp_par::data::{self, LoadOptions, Normalization, NormalizeMode};
use bp_par::loss::Loss;
use bp_par::network::{Arch, Buffers, Network};
use bp_par::train::{TrainConfig, Trainer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write;
use std::path::Path;

/// The passes of a 784-128-10 shard of 64 rows through the public API, serially: forward
/// (with the loss) and forward + backward (the weight gradients), in multiply-adds per second
/// (shown as elements/s: 2 per multiply-add).
fn passes(c: &mut Criterion) {
    let mut g = c.benchmark_group("passes 784-128-10, 64 rows");
    let s = 64;
    let arch = Arch::new(vec![784, 128, 10], Activation::Sigmoid, Loss::Xent).unwrap();
    let net = Network::<f32>::init(arch.clone(), 1);
    let x: Vec<f32> = (0..s * 784).map(|i| (i % 256) as f32 / 255.0).collect();
    let y: Vec<f32> = (0..s * 10).map(|i| if i % 10 == (i / 10) % 10 { 1.0 } else { 0.0 }).collect();
    let mut buf = Buffers::new(&arch, s);
    let mut grad = vec![0.0f32; arch.n_params()];
    let fwd = 2 * s * (784 * 128 + 128 * 10);
    g.throughput(Throughput::Elements(fwd as u64));
    g.bench_function("forward", |b| b.iter(|| net.forward(&x, s, Some(&y), &mut buf)));
    // Backward: the weight gradients (as much as forward) and the last layer's input deltas.
    g.throughput(Throughput::Elements((2 * fwd + 2 * s * 128 * 10) as u64));
    g.bench_function("forward + backward", |b| {
        b.iter(|| {
            net.forward(&x, s, Some(&y), &mut buf);
            net.backward(&x, s, &y, &mut buf, &mut grad)
        })
    });
    g.finish();
}

/// One mini-batch of 64 (784-128-10 sigmoid, one shard) at 1 and 2 threads; the trainer (and
/// its team) is built inside the pool whose size it takes.
fn train_step(c: &mut Criterion) {
    let data = synthetic(4096, 784, 10, 1);
    let arch = Arch::new(vec![784, 128, 10], Activation::Sigmoid, Loss::Xent).unwrap();
    let mut g = c.benchmark_group("train step 784-128-10 batch 64");
    g.throughput(Throughput::Elements(64));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut net = Network::<f32>::init(arch.clone(), 1);
        let cfg = TrainConfig { batch: 64, ..TrainConfig::default() };
        let threads = bp_par::Threads::new(threads).unwrap();
        let mut trainer = pool.install(|| Trainer::with_threads(&mut net, &data, cfg, threads).unwrap());
        g.bench_function(format!("{threads} threads"), |b| {
            b.iter(|| pool.install(|| trainer.steps(&data, 1).unwrap()))
        });
    }
    g.finish();
}

/// A whole epoch of the shipped MNIST training set (60,000 samples) on all cores.
fn mnist_epoch(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/mnist/train-images-idx3-ubyte.gz");
    let mut data = data::load(&path, &LoadOptions::default()).unwrap();
    let norm = Normalization::fit(NormalizeMode::Auto, data.features(), 784);
    data.normalize(&norm).unwrap();
    let arch = Arch::new(vec![784, 128, 10], Activation::Sigmoid, Loss::Xent).unwrap();
    let mut net = Network::<f32>::init(arch, 1);
    let cfg = TrainConfig { batch: 64, ..TrainConfig::default() };
    let mut trainer = Trainer::new(&mut net, &data, cfg).unwrap();
    let mut g = c.benchmark_group("mnist epoch");
    g.sample_size(10);
    g.throughput(Throughput::Elements(60_000));
    g.bench_function("784-128-10 sigmoid batch 64", |b| {
        b.iter(|| trainer.steps(&data, 60_000usize.div_ceil(64)).unwrap())
    });
    g.finish();
}

/// The image statistics a fit measures on MNIST's 60,000 raw training images before its
/// first batch (`ImageStats::measure`), on 1 and 2 threads.
fn image_stats(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/mnist/train-images-idx3-ubyte.gz");
    let data = data::load(&path, &LoadOptions::default()).unwrap();
    let mut g = c.benchmark_group("image stats");
    g.sample_size(10);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        g.bench_function(format!("MNIST train, {threads} threads"), |b| {
            b.iter(|| pool.install(|| ImageStats::measure(data.features(), 784, [28, 28]).unwrap()))
        });
    }
    g.finish();
}

/// Parsing MNIST-like CSV text (10,000 rows of a label and 784 pixels).
fn csv_parse(c: &mut Criterion) {
    let mut text = String::from("label");
    for i in 0..784 {
        let _ = write!(text, ",p{i}");
    }
    text.push('\n');
    for r in 0..10_000usize {
        let _ = write!(text, "{}", r % 10);
        for i in 0..784usize {
            let v = if (i + r) % 5 == 0 { (i * 7 + r) % 256 } else { 0 };
            let _ = write!(text, ",{v}");
        }
        text.push('\n');
    }
    let mut g = c.benchmark_group("csv");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parse 10k MNIST-like rows", |b| {
        b.iter(|| data::parse_csv(Path::new("bench.csv"), text.as_bytes(), &LoadOptions::default()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, passes, train_step, mnist_epoch, image_stats, csv_parse);
criterion_main!(benches);
