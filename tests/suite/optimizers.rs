//! The mini-batch optimisers through the trainer and the CLI: gradient clipping against an
//! f64 reference, exact resume of Adam (and clipping) from a checkpoint mid-epoch, and the
//! optimiser flags' checks. (The update formulas are tested in src/optim.rs, determinism
//! over thread counts in determinism.rs.)

use super::harness::{Dir, repo_file};
use bp_par::activation::Activation;
use bp_par::checkpoint::{self, Checkpoint, DataIdentity};
use bp_par::data::synthetic;
use bp_par::data::{Dataset, Normalization};
use bp_par::loss::Loss;
use bp_par::model::{Model, Task};
use bp_par::network::{Arch, Buffers, Network};
use bp_par::optim::{Adam, Optimizer};
use bp_par::train::{Observer, OptimizerState, Silent, TrainConfig, Trainer};
use std::path::Path;

/// The summed gradient of all `data`'s rows at `net`'s parameters (f32, one batch).
fn full_gradient(net: &Network<f32>, data: &Dataset) -> Vec<f32> {
    let (n, d, k) = (data.n_samples(), data.n_features(), net.arch().n_out());
    let x: Vec<f32> = (0..n).flat_map(|r| data.row(r).to_vec()).collect();
    let mut y = vec![0.0f32; n * k];
    (0..n).for_each(|r| data.write_target(r, &mut y[r * k..(r + 1) * k]));
    let mut buf = Buffers::new(net.arch(), n);
    net.forward(&x[..n * d], n, Some(&y), &mut buf);
    let mut grad = vec![0.0f32; net.arch().n_params()];
    net.backward(&x, n, &y, &mut buf, &mut grad);
    grad
}

#[test]
fn a_clipped_step_equals_the_f64_reference() {
    // Logistic regression (no hidden layer), one batch of all 40 rows, plain gradient descent.
    let data = synthetic(40, 6, 3, 5);
    let arch = Arch::new(vec![6, 3], Activation::Sigmoid, Loss::Xent).unwrap();
    let (lr, l2, n) = (0.5f32, 0.2f32, 40usize);
    for clip in [0.01f32, 0.05, 1e6] {
        let cfg = TrainConfig {
            epochs: 1,
            batch: n,
            lr,
            momentum: 0.0,
            l2,
            shuffle: false,
            clip_norm: Some(clip),
            ..TrainConfig::default()
        };
        let mut net = Network::<f32>::init(arch.clone(), 3);
        let before = net.params().to_vec();
        let g = full_gradient(&net, &data);
        Trainer::new(&mut net, &data, cfg).unwrap().run(&data, None, &mut Silent).unwrap();
        // The reference: mean gradient g/n, its norm over all parameters, scaled by
        // min(1, C/norm); then w ← w − η·(ĝ + (λ/n)·w) (biases without the L2 term).
        let mean: Vec<f64> = g.iter().map(|&g| g as f64 / n as f64).collect();
        let norm = mean.iter().map(|g| g * g).sum::<f64>().sqrt();
        let c = if norm > clip as f64 { clip as f64 / norm } else { 1.0 };
        assert!(clip > 1.0 || c < 0.5, "clip {clip}: the test should clip (norm {norm})");
        let decay = l2 as f64 / n as f64;
        for i in 0..before.len() {
            let is_weight = arch.weight_range(0).contains(&i);
            let w = before[i] as f64;
            let want = w - lr as f64 * (c * mean[i] + if is_weight { decay * w } else { 0.0 });
            let got = net.params()[i] as f64;
            assert!((got - want).abs() < 1e-6 * (1.0 + want.abs()), "clip {clip} param {i}: {got} vs {want}");
        }
    }
}

#[test]
fn clipping_that_does_not_clip_gives_the_bits_of_the_fused_update() {
    // Several shards (the tree), layer-parallel and side by side: the separate reduction of a
    // clipped step sums in the same order as the fused one.
    let data = synthetic(150, 12, 4, 2);
    let arch = Arch::new(vec![12, 10, 4], Activation::Tanh, Loss::Xent).unwrap();
    for optimizer in [Optimizer::Sgd { nesterov: false }, Optimizer::Adam(Adam::default())] {
        for threads in [1, 3] {
            let run = |clip_norm| {
                let cfg = TrainConfig {
                    epochs: 2,
                    batch: 40,
                    shard: 9,
                    l2: 0.5,
                    optimizer,
                    clip_norm,
                    ..Default::default()
                };
                let mut net = Network::<f32>::init(arch.clone(), 7);
                Trainer::with_team(&mut net, &data, cfg, threads)
                    .unwrap()
                    .run(&data, None, &mut Silent)
                    .unwrap();
                net.params().iter().map(|p| p.to_bits()).collect::<Vec<_>>()
            };
            assert!(run(None) == run(Some(1e30)), "{optimizer}, {threads} threads");
        }
    }
}

/// Asks to stop after the n-th mini-batch.
struct StopAfter(usize);
impl Observer for StopAfter {
    fn stop_requested(&mut self) -> bool {
        self.0 -= 1;
        self.0 == 0
    }
}

#[test]
fn adam_resumed_mid_epoch_from_a_checkpoint_continues_bit_for_bit() {
    let data = synthetic(300, 12, 4, 5);
    let arch = Arch::new(vec![12, 9, 4], Activation::Sigmoid, Loss::Bce).unwrap();
    let adamw = Adam { beta1: 0.8, beta2: 0.99, eps: 1e-7, decoupled_decay: true };
    let configs = [(Optimizer::Adam(Adam::default()), None), (Optimizer::Adam(adamw), Some(0.05))];
    for (optimizer, clip_norm) in configs {
        let cfg = TrainConfig {
            epochs: 3,
            batch: 32,
            shard: 8,
            lr: 0.01,
            l2: 0.1,
            seed: 4,
            optimizer,
            clip_norm,
            ..TrainConfig::default()
        };
        for threads in [1, 2] {
            let mut straight = Network::<f32>::init(arch.clone(), 4);
            let mut t = Trainer::with_team(&mut straight, &data, cfg.clone(), threads).unwrap();
            t.run(&data, None, &mut Silent).unwrap();

            // Stop after 1 epoch and 4 batches; write a checkpoint and read it back.
            let mut first = Network::<f32>::init(arch.clone(), 4);
            let mut t = Trainer::with_team(&mut first, &data, cfg.clone(), threads).unwrap();
            t.run_epoch(&data, None, &mut Silent).unwrap();
            assert!(t.run_epoch(&data, None, &mut StopAfter(4)).unwrap().is_none());
            let state = t.state();
            let OptimizerState::Adam { t: steps, m, v } = &state.optimizer else {
                panic!("{:?}", state.optimizer)
            };
            assert_eq!(*steps, 10 + 4, "steps: 10 batches of 32 in 300 rows, then 4");
            assert!(m.iter().any(|&m| m != 0.0) && v.iter().all(|&v| v >= 0.0));
            let model =
                Model::new(first.clone(), Normalization::None, Task::Classify, None, Default::default())
                    .unwrap();
            let data_id = DataIdentity {
                path: "s".into(),
                n_samples: 300,
                n_features: 12,
                fingerprint: 1,
                val_split: 0.0,
            };
            let ck = Checkpoint {
                config: cfg.clone(),
                state,
                data: data_id,
                lr_given: cfg.lr,
                rollback: None,
                run: bp_par::train::RunState::new(cfg.lr),
                full_batch: None,
            };
            let bytes = checkpoint::to_bytes(model.view(), &ck).unwrap();
            let (mut model, back) = checkpoint::from_bytes(Path::new("ck"), &bytes).unwrap();
            assert_eq!(back, ck);

            let mut t = Trainer::with_team(&mut model.net, &data, back.config, threads).unwrap();
            t.restore(back.state).unwrap();
            t.run(&data, None, &mut Silent).unwrap();
            let bits = |n: &Network<f32>| n.params().iter().map(|p| p.to_bits()).collect::<Vec<_>>();
            assert!(bits(&straight) == bits(&model.net), "{optimizer} clip {clip_norm:?}, {threads} threads");
        }
    }
}

#[test]
fn a_checkpoint_of_one_optimizer_does_not_restore_into_another() {
    let data = synthetic(20, 3, 2, 1);
    let arch = Arch::new(vec![3, 2], Activation::Sigmoid, Loss::Xent).unwrap();
    let mut net = Network::<f32>::init(arch, 1);
    let cfg = TrainConfig { batch: 5, ..TrainConfig::default() };
    let state = Trainer::new(&mut net.clone(), &data, cfg.clone()).unwrap().state();
    let adam = TrainConfig { optimizer: Optimizer::Adam(Adam::default()), ..cfg };
    let err = Trainer::new(&mut net, &data, adam).unwrap().restore(state).unwrap_err();
    assert!(err.to_string().contains("optimizer adam"), "{err}");
}

#[test]
fn optimizer_flags_are_checked_before_the_data_is_read() {
    let dir = Dir::new();
    // A data file that does not exist: every error below comes from the plan.
    for (args, want) in [
        (&["--beta1", "0.5"][..], "--beta1 does not apply to --optimizer sgd"),
        (&["--decoupled-decay"], "--decoupled-decay does not apply to --optimizer sgd"),
        (&["--optimizer", "adam", "--momentum", "0.5"], "--momentum does not apply to --optimizer adam"),
        (&["--optimizer", "adam", "--nesterov"], "--nesterov does not apply to --optimizer adam"),
        (&["--optimizer", "adam", "--beta1", "1"], "--beta1 must be in [0, 1), got 1"),
        (&["--optimizer", "adam", "--beta2", "-0.1"], "--beta2 must be in [0, 1), got -0.1"),
        (&["--optimizer", "adam", "--eps", "0"], "--eps must be a positive number, got 0"),
        (&["--clip-norm", "0"], "--clip-norm must be a positive number, got 0"),
        (&["--optimizer", "rmsprop"], "invalid value 'rmsprop' for '--optimizer <sgd|adam|cg|lbfgs|rprop>'"),
    ] {
        let mut all = vec!["train", "missing.csv"];
        all.extend(args);
        let run = dir.run(&all);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
    let help = dir.run(&["train", "--help"]).ok().stdout;
    for want in [
        "--optimizer <sgd|adam|cg|lbfgs|rprop>",
        "[default: sgd]",
        "--nesterov",
        "--beta1 <β1>",
        "[default: 0.999]",
    ] {
        assert!(help.contains(want), "{want}: {help}");
    }
    assert!(
        help.contains("--eps <ε>") && help.contains("[default: 1e-8]") && help.contains("--clip-norm <C>"),
        "{help}"
    );
}

#[test]
fn adam_runs_show_it_and_resume_refuses_another_optimizer() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let base = ["train", &digits, "--hidden", "16", "--train-rows", "600", "--threads", "2"];
    let mut args = base.to_vec();
    args.extend([
        "--epochs",
        "1",
        "--optimizer",
        "adam",
        "--lr",
        "0.005",
        "--clip-norm",
        "2",
        "--checkpoint",
        "ck.st",
    ]);
    let run = dir.run(&args).ok();
    assert!(
        run.stderr.contains("optimizer adam (beta1 0.9, beta2 0.999, eps 1e-8), lr 0.005, clip-norm 2, l2 0"),
        "{}",
        run.stderr
    );
    let mut again = base.to_vec();
    again.extend(["--resume", "ck.st", "--epochs", "2", "--optimizer", "sgd", "--beta2", "0.9"]);
    let run = dir.run(&again);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--optimizer sgd (the checkpoint has adam), --beta2 0.9 (the checkpoint has 0.999)"),
        "{}",
        run.stderr
    );
    let mut resume = base.to_vec();
    resume.extend(["--resume", "ck.st", "--epochs", "2", "--save", "m.st"]);
    let run = dir.run(&resume).ok();
    assert!(run.stderr.contains("optimizer adam"), "{}", run.stderr);
}

#[test]
fn adam_defaults_to_its_customary_rate_and_a_typed_one_wins() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let base = ["train", digits.as_str(), "--hidden", "8", "--epochs", "1", "-j", "1"];
    let adam = dir.run(&[&base[..], &["--optimizer", "adam"]].concat()).ok();
    assert!(adam.stderr.contains("eps 1e-8), lr 0.001,"), "{}", adam.stderr);
    let sgd = dir.run(&base).ok();
    // SGD's: chosen from the data (4,000 training rows: 63 mini-batches of 64), cosine-decayed.
    assert!(sgd.stderr.contains("optimizer sgd, lr 0.18,"), "{}", sgd.stderr);
    assert!(sgd.stderr.contains("lr 0.18 chosen for 63 mini-batches an epoch"), "{}", sgd.stderr);
    // Decayed along a cosine in runs of 5 epochs or more (shorter ones keep their rate).
    assert!(!sgd.stderr.contains("--lr-schedule"), "{}", sgd.stderr);
    let five = dir.run(&["train", digits.as_str(), "--hidden", "8", "--epochs", "5", "-j", "1"]).ok();
    assert!(five.stderr.contains("--lr-schedule cosine --lr-min 0"), "{}", five.stderr);
    assert!(!adam.stderr.contains("--lr-schedule"), "{}", adam.stderr);
    let typed = dir.run(&[&base[..], &["--optimizer", "adam", "--lr", "0.02"]].concat()).ok();
    assert!(typed.stderr.contains("eps 1e-8), lr 0.02,"), "{}", typed.stderr);
}
