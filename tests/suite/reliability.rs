//! Never lose a run: checkpoints and exact resume, signals, kills during saves, divergence.

use super::harness::{Dir, repo_file};
use bp_par::activation::Activation;
use bp_par::loss::Loss;
use bp_par::network::{Arch, Network};
use bp_par::train::{Silent, TrainConfig, Trainer};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::Duration;

/// The small, fast configuration these tests train (on the shipped digits).
/// (A constant rate: these runs are extended with `--epochs`, which a cosine schedule, the
/// default, would follow anew from where it stopped.)
const SMALL: [&str; 8] =
    ["--hidden", "16", "--batch", "50", "--shard-size", "16", "--lr-schedule", "constant"];

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
        // (The checkpoint's rate was chosen from the data: 80 mini-batches of 50 an epoch.)
        run.stderr.contains("--batch 64 (the checkpoint has 50), --lr 0.2 (the checkpoint has 0.16)"),
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

/// Starts `bp-par train` on the shipped digits with the small configuration and `extra`.
fn spawn_train(dir: &Dir, extra: &[&str]) -> Running {
    let mut args = SMALL.to_vec();
    args.extend_from_slice(extra);
    Running::start(dir, &args)
}

/// A `bp-par train DIGITS ARGS` running in the background, its stderr read line by line: the
/// log lines (one per epoch without `-q`, stderr being a pipe) tell how far training has got.
struct Running {
    child: Child,
    stderr: BufReader<ChildStderr>,
    /// Everything read from stderr so far.
    log: String,
    /// Set when the run has been waited for; until then a watchdog kills it after
    /// [`WATCHDOG`], so a broken signal handler fails the test instead of hanging it.
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The longest a background run may take before its watchdog kills it (SIGKILL: the tests'
/// exit-code checks then fail).
const WATCHDOG: Duration = Duration::from_secs(120);

impl Drop for Running {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.child.kill();
    }
}

impl Running {
    fn start(dir: &Dir, args: &[&str]) -> Self {
        let digits = repo_file("datasets/digits.csv");
        let mut child = Command::new(env!("CARGO_BIN_EXE_bp-par"))
            .args(["train", digits.as_str()])
            .args(args)
            .current_dir(dir.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (pid, flag) = (child.id().to_string(), std::sync::Arc::clone(&done));
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while start.elapsed() < WATCHDOG {
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        });
        Running { child, stderr, log: String::new(), done }
    }

    /// Reads stderr up to and including the first line `until` accepts; panics if bp-par
    /// ends before printing one.
    fn wait_for(&mut self, until: impl Fn(&str) -> bool) {
        loop {
            let mut line = String::new();
            if self.stderr.read_line(&mut line).unwrap() == 0 {
                panic!("bp-par ended before the awaited line: {}", self.log);
            }
            self.log += &line;
            if until(&line) {
                return;
            }
        }
    }

    /// Sends `sig` (`-INT`, `-TERM`) with kill(1).
    fn signal(&self, sig: &str) {
        Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap();
    }

    /// Reads the rest of stderr and waits for the exit: (exit status, all of stderr).
    fn finish(mut self) -> (ExitStatus, String) {
        self.stderr.read_to_string(&mut self.log).unwrap();
        let status = self.child.wait().unwrap();
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        (status, std::mem::take(&mut self.log))
    }
}

/// Accepts the progress line of epoch `n` or a later one (`epoch   3/100000 loss ...`).
fn epoch_line(n: usize) -> impl Fn(&str) -> bool {
    move |line| {
        let number = line.strip_prefix("epoch ").and_then(|rest| rest.split('/').next());
        number.and_then(|e| e.trim().parse::<usize>().ok()).is_some_and(|e| e >= n)
    }
}

#[test]
fn an_interrupted_run_resumes_to_the_same_model() {
    let dir = Dir::new();
    for (sig, code, name) in [("-INT", 130, "SIGINT"), ("-TERM", 143, "SIGTERM"), ("-USR1", 138, "SIGUSR1")] {
        // Far more epochs than could pass before the signal lands (an epoch takes milliseconds):
        // the run can only end by being interrupted. One thread, here and below: on a loaded
        // machine a team of two spends its time waiting for each other's time slices, and the
        // thread count is not what this test is about.
        let before = std::fs::read(dir.path("m.st")).ok();
        let mut child = spawn_train(
            &dir,
            &["--epochs", "100000", "--threads", "1", "--checkpoint", "ck.st", "--save", "m.st"],
        );
        child.wait_for(epoch_line(1));
        child.signal(sig);
        let (status, stderr) = child.finish();
        assert_eq!(status.code(), Some(code), "{stderr}");
        // The signal is acknowledged at once, saying what will happen.
        let again = if name == "SIGINT" { "Ctrl-C" } else { "the signal" };
        let ack = format!(
            "bp-par: {name}: stopping after this mini-batch, then saving a checkpoint (and the model with \
             --save); {again} again exits at once without saving"
        );
        assert!(stderr.contains(&ack), "{stderr}");
        // A stopped run never replaces an existing --save file: its model goes beside it.
        match &before {
            Some(old) => {
                assert_eq!(&std::fs::read(dir.path("m.st")).unwrap(), old, "{sig}: m.st was replaced");
                let said = "the unfinished model to m.unfinished.st (m.st is kept as it was)";
                assert!(stderr.contains(said), "{stderr}");
                assert!(dir.path("m.unfinished.st").exists());
            }
            None => assert!(
                stderr.contains("wrote the checkpoint to ck.st and the unfinished model to m.st;"),
                "{stderr}"
            ),
        }
        // The message names where the run stopped, as the checkpoint records it.
        let (_, ck) = bp_par::checkpoint::load(&dir.path("ck.st")).unwrap();
        let (epoch, batch) = (ck.state.epoch, ck.state.next_batch);
        assert!(epoch >= 1, "{stderr}");
        let position = if batch == 0 {
            format!("after epoch {epoch};")
        } else {
            format!("in epoch {} after batch {batch};", epoch + 1)
        };
        assert!(stderr.contains(&format!("interrupted by {name} {position}")), "{stderr}");
        // The printed command continues the run as it was (same options, same --save). Run with
        // --epochs lowered so that it ends one epoch after the interrupted one, it must give
        // the model of an uninterrupted run of that length.
        let command = stderr.trim_end().rsplit("continue with: ").next().unwrap();
        let mut words: Vec<&str> = command.split(' ').collect();
        assert_eq!(words[0], "bp-par", "{command}");
        assert!(command.ends_with("--resume ck.st"), "{command}");
        let epochs = (epoch + 2).to_string();
        let at = words.iter().position(|w| *w == "--epochs").unwrap_or_else(|| panic!("{command}"));
        assert_eq!(words[at + 1], "100000", "{command}");
        words[at + 1] = &epochs;
        std::fs::remove_file(dir.path("m.st")).unwrap();
        dir.run(&words[1..]).ok();
        train(&dir, &["--epochs", &epochs, "--threads", "1", "--save", "straight.st"]).ok();
        assert!(same_file(&dir, "straight.st", "m.st"), "{sig}: the resumed model differs");
    }
}

#[test]
#[cfg(target_os = "linux")] // prlimit(1)
fn killing_during_checkpoint_writes_never_leaves_a_truncated_file() {
    use std::os::unix::process::ExitStatusExt;
    let dir = Dir::new();
    // A checkpoint every epoch, one mini-batch of 50 rows an epoch: most of the time goes into
    // writing checkpoints (the 50 rows are all of one digit: --classes keeps 10 outputs). One
    // thread: a team of two is slowed down most by a loaded machine.
    let args = [
        "--threads",
        "1",
        "--hidden",
        "16",
        "--batch",
        "50",
        "--train-rows",
        "50",
        "--classes",
        "10",
        "--val-split",
        "0",
        "--epochs",
        "1000000",
        "--checkpoint",
        "ck.st",
    ];
    let others = || -> Vec<PathBuf> {
        let entries = std::fs::read_dir(dir.dir.path()).unwrap().map(|e| e.unwrap().path());
        entries.filter(|p| p.file_name().unwrap() != "ck.st").collect()
    };
    // A kill in the middle of a write, for certain: once a checkpoint exists, cap the size of
    // the files the process may write (RLIMIT_FSIZE) below a checkpoint's, so the kernel kills
    // it (SIGXFSZ) in the next checkpoint's write.
    let mut child = Running::start(&dir, &args);
    // Epoch 1's checkpoint is complete before epoch 2 starts.
    child.wait_for(epoch_line(2));
    let pid = child.child.id().to_string();
    let limited = Command::new("prlimit").args(["--pid", &pid, "--fsize=4096", "--core=0"]).status();
    assert!(limited.is_ok_and(|s| s.success()), "prlimit (util-linux) could not lower the file size limit");
    let (status, stderr) = child.finish();
    assert_eq!(status.signal(), Some(25), "killed by SIGXFSZ (25): {stderr}");
    let cut = others();
    assert_eq!(cut.len(), 1, "the cut-short temporary file: {cut:?}");
    assert_eq!(std::fs::metadata(&cut[0]).unwrap().len(), 4096);
    let (_, ck) = bp_par::checkpoint::load(&dir.path("ck.st")).expect("the previous checkpoint");
    assert!(ck.state.epoch >= 1);
    // SIGKILLs at other moments: in the middle of a write, between the write and the rename,
    // or between checkpoints. A checkpoint always exists (each round starts without one) and
    // is always complete.
    for round in 0..6u64 {
        for path in others().into_iter().chain([dir.path("ck.st")]) {
            std::fs::remove_file(path).unwrap();
        }
        let mut child = Running::start(&dir, &args);
        child.wait_for(epoch_line(2));
        std::thread::sleep(Duration::from_micros(150 * round));
        child.child.kill().unwrap();
        child.child.wait().unwrap();
        let (_, ck) = bp_par::checkpoint::load(&dir.path("ck.st")).expect("a complete checkpoint");
        assert!(ck.state.epoch >= 1);
    }
}

#[test]
fn divergence_stops_or_retries_with_half_the_learning_rate() {
    let dir = Dir::new();
    // --lr 1000 makes the loss explode (finite, but thousands of times a uniform guess's).
    let args = ["--epochs", "2", "--activation", "tanh", "--lr", "1000", "--save", "m.st"];
    let run = train(&dir, &args);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("training diverged: the loss exploded or became non-finite in epoch 1, batch"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("try a smaller learning rate than --lr 1000"), "{}", run.stderr);
    assert!(!dir.path("m.st").exists(), "no diverged model is saved");
    let mut halve = args.to_vec();
    halve.extend(["--on-divergence", "halve-lr"]);
    let digits = repo_file("datasets/digits.csv");
    let mut full = vec!["train", digits.as_str()];
    full.extend_from_slice(&SMALL);
    full.extend(halve);
    let run = dir.run(&full).ok();
    assert!(run.stderr.contains("retrying the epoch with --lr 500"), "{}", run.stderr);
    bp_par::model::load(&dir.path("m.st")).unwrap();
}

#[test]
fn a_trainer_restored_mid_epoch_continues_bit_for_bit() {
    let data = bp_par::data::synthetic(300, 12, 4, 5);
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
        ..TrainConfig::default()
    };
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut straight = Network::<f32>::init(arch.clone(), 4);
            Trainer::with_threads(&mut straight, &data, cfg.clone(), bp_par::Threads::new(threads).unwrap())
                .unwrap()
                .run(&data, None, &mut Silent)
                .unwrap();

            // Stop after 1 epoch and 4 batches, keep only the weights and the state.
            let mut first = Network::<f32>::init(arch.clone(), 4);
            let state = {
                let mut t = Trainer::with_threads(
                    &mut first,
                    &data,
                    cfg.clone(),
                    bp_par::Threads::new(threads).unwrap(),
                )
                .unwrap();
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
            let mut t = Trainer::with_threads(
                &mut resumed,
                &data,
                cfg.clone(),
                bp_par::Threads::new(threads).unwrap(),
            )
            .unwrap();
            t.restore(state).unwrap();
            t.run(&data, None, &mut Silent).unwrap();
            let bits = |n: &Network<f32>| n.params().iter().map(|p| p.to_bits()).collect::<Vec<_>>();
            assert!(bits(&straight) == bits(&resumed), "{threads} threads");
        });
    }
}

#[test]
fn a_signal_during_one_batch_epochs_stops_at_the_epoch_boundary() {
    let dir = Dir::new();
    // Full-batch training: every epoch is a single mini-batch.
    let mut child = Running::start(
        &dir,
        &[
            "--hidden",
            "16",
            "--batch",
            "4000",
            "--threads",
            "1",
            "--epochs",
            "100000",
            "--checkpoint",
            "ck.st",
            "--checkpoint-every",
            "1000",
        ],
    );
    child.wait_for(epoch_line(1));
    child.signal("-INT");
    let (status, stderr) = child.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
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
    // One mini-batch of all 5,000 digits through 8,000 hidden units: ~100 GFLOP. Both signals
    // land inside the first batch: the first arms the immediate exit, the second takes it, so
    // no checkpoint is ever written. (Without the immediate exit the batch would finish and the
    // graceful path would write one.) The second signal is sent as soon as the first is
    // acknowledged, not after a fixed delay, so the window a fast machine could finish the
    // batch in is the millisecond or so of a line read and a kill(1), not a guess at its speed.
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
    let mut child = Running::start(&dir, &args);
    // Wait for the log line printed once the handlers are set, just before training starts.
    child.wait_for(|line| line.starts_with("bp-par: seed"));
    child.signal("-INT");
    // The acknowledgment comes from the watcher thread once the first signal is handled, so
    // the second cannot be merged with it.
    child.wait_for(|line| line.starts_with("bp-par: SIGINT: stopping after this mini-batch"));
    child.signal("-INT");
    let (status, log) = child.finish();
    assert_eq!(status.code(), Some(130), "{log}");
    // Both signals are acknowledged: the first says what happens, the second that it exits.
    assert!(log.contains("bp-par: SIGINT: stopping after this mini-batch"), "{log}");
    assert!(log.contains("bp-par: SIGINT again: exiting now without saving (exit code 130)"), "{log}");
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

#[test]
fn an_exploding_loss_is_a_divergence_and_does_not_overwrite_the_model() {
    let dir = Dir::new();
    train(&dir, &["--epochs", "1", "--threads", "1", "--save", "good.st"]).ok();
    let good = std::fs::read(dir.path("good.st")).unwrap();
    // --lr 1000 keeps the loss finite (6.9e12 once) but useless: it must stop as diverged.
    let run = train(&dir, &["--epochs", "3", "--lr", "1000", "--threads", "1", "--save", "good.st"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("the loss exploded or became non-finite in epoch 1"), "{}", run.stderr);
    assert_eq!(std::fs::read(dir.path("good.st")).unwrap(), good, "the good model was overwritten");
}
