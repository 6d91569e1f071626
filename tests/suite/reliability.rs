//! Never lose a run: checkpoints and exact resume, signals, kills during saves, divergence.

use super::harness::{Dir, repo_file};
use bp_par::activation::Activation;
use bp_par::loss::Loss;
use bp_par::network::{Arch, Network};
use bp_par::train::{Silent, TrainConfig, Trainer};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The small, fast configuration these tests train (on the shipped digits).
const SMALL: [&str; 6] = ["--hidden", "16", "--batch", "50", "--shard-size", "16"];

fn train(dir: &Dir, extra: &[&str]) -> super::harness::Run {
    let digits = repo_file("datasets/digits.csv");
    let mut args = vec!["train", digits.as_str(), "-q"];
    args.extend_from_slice(&SMALL);
    args.extend_from_slice(extra);
    dir.run(&args)
}

fn same_file(dir: &Dir, a: &str, b: &str) -> bool {
    std::fs::read(dir.path(a)).unwrap() == std::fs::read(dir.path(b)).unwrap()
}

#[test]
fn resuming_at_an_epoch_boundary_and_extending_the_run_is_exact() {
    let dir = Dir::new();
    for threads in ["1", "2"] {
        train(&dir, &["--epochs", "4", "--threads", threads, "--save", "straight.st"]).ok();
        train(&dir, &["--epochs", "2", "--threads", threads, "--checkpoint", "ck.st"]).ok();
        // The checkpoint is also a model: eval accepts it.
        dir.run(&["eval", "-m", "ck.st", &repo_file("datasets/digits.csv"), "-q"]).ok();
        train(&dir, &["--resume", "ck.st", "--epochs", "4", "--threads", threads, "--save", "resumed.st"])
            .ok();
        assert!(same_file(&dir, "straight.st", "resumed.st"), "{threads} threads: resumed model differs");
    }
    // Resuming on 1 thread what 2 threads started.
    train(&dir, &["--epochs", "2", "--threads", "2", "--checkpoint", "ck2.st"]).ok();
    train(&dir, &["--resume", "ck2.st", "--epochs", "4", "--threads", "1", "--save", "mixed.st"]).ok();
    assert!(same_file(&dir, "straight.st", "mixed.st"));
}

#[test]
fn resuming_with_other_data_or_options_is_refused() {
    let dir = Dir::new();
    train(&dir, &["--epochs", "1", "--checkpoint", "ck.st"]).ok();
    let digits = repo_file("datasets/digits.csv");
    let run = dir.run(&["train", &digits, "--resume", "ck.st", "--batch", "64", "--lr", "0.2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--batch 64 (the checkpoint has 50), --lr 0.2 (the checkpoint has 0.1)"),
        "{}",
        run.stderr
    );
    let run = dir.run(&["train", &digits, "--resume", "ck.st", "--epochs", "4", "--hidden", "32"]);
    assert!(run.stderr.contains("--hidden 32 (the checkpoint has 16)"), "{}", run.stderr);
    // Other data: the first 4,000 digits only.
    let text = std::fs::read_to_string(&digits).unwrap();
    let part: String = text.lines().take(4001).map(|l| format!("{l}\n")).collect();
    dir.write("part.csv", part);
    let mut args = vec!["train", "part.csv", "-q", "--resume", "ck.st"];
    args.extend_from_slice(&SMALL);
    let run = dir.run(&args);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("part.csv: is not the checkpoint's training data"), "{}", run.stderr);
    // A plain model is not a checkpoint.
    train(&dir, &["--epochs", "1", "--save", "m.st"]).ok();
    let run = train(&dir, &["--resume", "m.st"]);
    assert!(run.stderr.contains("m.st: is a model, not a checkpoint"), "{}", run.stderr);
}

/// Starts `bp-par train` in the background with stderr captured.
/// Starts `bp-par train` on the shipped digits with the small configuration and `extra`.
fn spawn_train(dir: &Dir, extra: &[&str]) -> std::process::Child {
    let mut args = SMALL.to_vec();
    args.extend_from_slice(extra);
    spawn_on_digits(dir, &args)
}

/// Starts `bp-par train DIGITS ARGS` in the background, stderr captured.
fn spawn_on_digits(dir: &Dir, args: &[&str]) -> std::process::Child {
    let digits = repo_file("datasets/digits.csv");
    Command::new(env!("CARGO_BIN_EXE_bp-par"))
        .args(["train", digits.as_str()])
        .args(args)
        .current_dir(dir.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &std::process::Child, sig: &str) {
    Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap();
}

#[test]
fn an_interrupted_run_resumes_to_the_same_model() {
    let dir = Dir::new();
    train(&dir, &["--epochs", "150", "--save", "straight.st"]).ok();
    for (sig, code) in [("-INT", 130), ("-TERM", 143)] {
        let child = spawn_train(&dir, &["--epochs", "150", "--checkpoint", "ck.st", "--save", "m.st"]);
        std::thread::sleep(Duration::from_millis(400));
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(0) {
            // The machine was fast enough to finish first: nothing was interrupted.
            assert!(same_file(&dir, "straight.st", "m.st"));
            continue;
        }
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains("wrote the checkpoint to ck.st and the model to m.st"), "{stderr}");
        // The printed command continues the run as it was (same options, same --save).
        let command = stderr.trim_end().rsplit("continue with: ").next().unwrap();
        let words: Vec<&str> = command.split(' ').collect();
        assert_eq!(words[0], "bp-par", "{command}");
        assert!(command.ends_with("--resume ck.st"), "{command}");
        std::fs::remove_file(dir.path("m.st")).unwrap();
        dir.run(&words[1..]).ok();
        assert!(same_file(&dir, "straight.st", "m.st"), "{sig}: the resumed model differs");
    }
}

#[test]
fn killing_during_checkpoint_writes_never_leaves_a_truncated_file() {
    let dir = Dir::new();
    for round in 0..8u64 {
        // A checkpoint every epoch, an epoch every few milliseconds.
        let mut child =
            spawn_train(&dir, &["--epochs", "100000", "--checkpoint", "ck.st", "--val-split", "0"]);
        std::thread::sleep(Duration::from_millis(150 + 37 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if dir.path("ck.st").exists() {
            bp_par::checkpoint::load(&dir.path("ck.st")).expect("a complete checkpoint");
        }
    }
}

#[test]
fn divergence_stops_or_retries_with_half_the_learning_rate() {
    let dir = Dir::new();
    let args = ["--epochs", "2", "--activation", "tanh", "--lr", "1e38", "--save", "m.st"];
    let run = train(&dir, &args);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("training diverged: the loss or the weights became non-finite in epoch 1, batch"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("try a smaller learning rate than --lr 1e38"), "{}", run.stderr);
    assert!(!dir.path("m.st").exists(), "no diverged model is saved");
    let mut halve = args.to_vec();
    halve.extend(["--on-divergence", "halve-lr"]);
    let digits = repo_file("datasets/digits.csv");
    let mut full = vec!["train", digits.as_str()];
    full.extend_from_slice(&SMALL);
    full.extend(halve);
    let run = dir.run(&full).ok();
    assert!(run.stderr.contains("retrying the epoch with --lr 5e37"), "{}", run.stderr);
    bp_par::model::load(&dir.path("m.st")).unwrap();
}

#[test]
fn a_trainer_restored_mid_epoch_continues_bit_for_bit() {
    let data = bp_par::bench::synthetic(300, 12, 4, 5);
    let arch = Arch::new(vec![12, 9, 4], Activation::Sigmoid, Loss::Bce).unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        batch: 32,
        shard: 8,
        lr: 0.3,
        momentum: 0.9,
        l2: 0.1,
        seed: 4,
        shuffle: true,
    };
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut straight = Network::<f32>::init(arch.clone(), 4);
            Trainer::new(&mut straight, &data, cfg.clone()).unwrap().run(&data, None, &mut Silent).unwrap();

            // Stop after 1 epoch and 4 batches, keep only the weights and the state.
            let mut first = Network::<f32>::init(arch.clone(), 4);
            let state = {
                let mut t = Trainer::new(&mut first, &data, cfg.clone()).unwrap();
                t.run_epoch(&data, None, &mut Silent).unwrap();
                // An observer that asks to stop after the 4th mini-batch.
                struct StopAfter(usize);
                impl bp_par::train::Observer for StopAfter {
                    fn stop_requested(&mut self) -> bool {
                        self.0 -= 1;
                        self.0 == 0
                    }
                }
                let stopped = t.run_epoch(&data, None, &mut StopAfter(4)).unwrap();
                assert!(stopped.is_none());
                assert_eq!((t.epochs_done(), t.batches_done()), (1, 4));
                t.state()
            };
            let mut resumed = Network::<f32>::from_layers(
                arch.clone(),
                &(0..2).map(|l| (first.weight(l), first.layer(l).1.to_vec())).collect::<Vec<_>>(),
            )
            .unwrap();
            let mut t = Trainer::new(&mut resumed, &data, cfg.clone()).unwrap();
            t.restore(state).unwrap();
            t.run(&data, None, &mut Silent).unwrap();
            let bits = |n: &Network<f32>| n.params.iter().map(|p| p.to_bits()).collect::<Vec<_>>();
            assert!(bits(&straight) == bits(&resumed), "{threads} threads");
        });
    }
}

#[test]
fn a_signal_during_one_batch_epochs_stops_at_the_epoch_boundary() {
    let dir = Dir::new();
    // Full-batch training: every epoch is a single mini-batch.
    let child = spawn_on_digits(
        &dir,
        &[
            "--hidden",
            "16",
            "--batch",
            "4000",
            "--epochs",
            "100000",
            "-q",
            "--checkpoint",
            "ck.st",
            "--checkpoint-every",
            "1000",
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT after epoch "), "{stderr}");
    let (_, ck) = bp_par::checkpoint::load(&dir.path("ck.st")).unwrap();
    assert_eq!(ck.state.next_batch, 0);
}

#[test]
fn resume_appends_metrics_and_save_must_differ_from_checkpoint() {
    let dir = Dir::new();
    train(&dir, &["--epochs", "2", "--checkpoint", "ck.st", "--metrics", "m.csv"]).ok();
    train(&dir, &["--resume", "ck.st", "--epochs", "3", "--metrics", "m.csv"]).ok();
    let m = std::fs::read_to_string(dir.path("m.csv")).unwrap();
    let epochs: Vec<&str> = m.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(epochs, ["1", "2", "3"], "{m}");
    let run = train(&dir, &["--epochs", "1", "--checkpoint", "x.st", "--save", "x.st"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--save and --checkpoint both name x.st"), "{}", run.stderr);
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let dir = Dir::new();
    // One mini-batch of all 5,000 digits through 8,000 hidden units: ~100 GFLOP, a third of a
    // second or more. Both signals land inside the first batch: the first arms the immediate
    // exit, the second takes it, so no checkpoint is ever written. (Without the immediate
    // exit the batch would finish and the graceful path would write one.)
    let args = [
        "--hidden",
        "8000",
        "--batch",
        "5000",
        "--shard-size",
        "5000",
        "--val-split",
        "0",
        "--epochs",
        "10",
        "--checkpoint",
        "ck.st",
    ];
    let mut child = spawn_on_digits(&dir, &args);
    // Wait for the log line printed once the handlers are set, just before training starts.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    while !log.contains("bp-par: seed") {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() == 0 {
            panic!("bp-par ended before training: {log}");
        }
        log += &line;
    }
    std::thread::sleep(Duration::from_millis(20));
    signal(&child, "-INT");
    // Far enough apart that the kernel does not merge the two signals into one.
    std::thread::sleep(Duration::from_millis(100));
    signal(&child, "-INT");
    let status = child.wait().unwrap();
    std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
    assert_eq!(status.code(), Some(130), "{log}");
    assert!(!log.contains("wrote the checkpoint"), "the second signal must not wait for the save: {log}");
    assert!(!dir.path("ck.st").exists());
}

#[test]
fn lowering_epochs_below_a_finished_checkpoint_names_what_it_completed() {
    let dir = Dir::new();
    train(&dir, &["--epochs", "2", "--checkpoint", "ck.st"]).ok();
    let run = train(&dir, &["--epochs", "1", "--resume", "ck.st"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "--epochs 1 (the checkpoint has completed 2 epochs) differs from the checkpoint; leave it out"
        ),
        "{}",
        run.stderr
    );
}
