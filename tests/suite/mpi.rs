//! `bp-par train` under `mpirun` (feature `mpi`; CI installs Open MPI): models byte-identical
//! to one process for any number of ranks and threads, checkpoints that move between the two,
//! and the failures a job must survive without hanging. Each launch runs under `timeout`.

use super::harness::{Dir, Run, repo_file};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The training command shared by the comparisons: the shipped digits (4000 training rows),
/// batches of 300 (a short last batch of 100), shards of 7 rows (43 shards a batch: no rank
/// owns a power of two of them), L2 and momentum on.
fn train_args(out: &str, epochs: &str) -> Vec<String> {
    let digits = repo_file("datasets/digits.csv");
    let args = ["train", &digits, "--epochs", epochs, "--batch", "300", "--shard-size", "7", "--l2", "1"];
    let mut v: Vec<String> = args.iter().map(ToString::to_string).collect();
    v.extend(["--momentum", "0.9", "--hidden", "32", "-o", out].iter().map(ToString::to_string));
    v
}

/// Open MPI's settings for a container and a 2-core machine.
const MPI_ENV: [(&str, &str); 4] = [
    ("OMPI_ALLOW_RUN_AS_ROOT", "1"),
    ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1"),
    ("OMPI_MCA_rmaps_base_oversubscribe", "1"),
    ("OMPI_MCA_btl_vader_single_copy_mechanism", "none"),
];

/// `mpirun` with the settings a container and a 2-core machine need: root allowed,
/// oversubscription (4 ranks on 2 cores), no single-copy shared memory (ptrace is often
/// blocked in containers), under a 120 s timeout.
fn mpirun(dir: &Dir, launch: &[&str]) -> (Run, Duration) {
    let t = Instant::now();
    let out = Command::new("timeout")
        .args(["120", "mpirun"])
        .args(launch)
        .current_dir(dir.dir.path())
        .envs(MPI_ENV)
        .stdin(Stdio::null())
        .output()
        .expect("run mpirun (Open MPI's mpirun must be installed for the mpi feature's tests)");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_ne!(run.code, 124, "mpirun timed out (a hang)\nstderr:\n{}", run.stderr);
    (run, t.elapsed())
}

/// Runs `mpirun -np 2 bp-par ARGS`, and when a line of its stderr starts with `at`, calls
/// `then` with mpirun's process id. Returns all it said, whether it succeeded, and how long it
/// took. A watchdog kills mpirun after 120 s (`timeout` would not do: signalled, it signals
/// the ranks' whole process group, and a rank's second signal exits without saving).
fn two_ranks_until(dir: &Dir, args: &[String], at: &str, then: impl FnOnce(u32)) -> (String, bool, Duration) {
    use std::io::{BufRead, BufReader, Read};
    let t = Instant::now();
    let mut child = Command::new("mpirun")
        .args(["-np", "2", env!("CARGO_BIN_EXE_bp-par")])
        .args(args)
        .current_dir(dir.dir.path())
        .envs(MPI_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mpirun");
    let (pid, done) = (child.id(), Arc::new(AtomicBool::new(false)));
    let watching = Arc::clone(&done);
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(120);
        while !watching.load(Ordering::Relaxed) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(100));
        }
        if !watching.load(Ordering::Relaxed) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (mut said, mut line) = (String::new(), String::new());
    while stderr.read_line(&mut line).unwrap() > 0 {
        said += &line;
        if line.starts_with(at) {
            then(pid);
            break;
        }
        line.clear();
    }
    stderr.read_to_string(&mut said).unwrap();
    let status = child.wait().unwrap();
    done.store(true, Ordering::Relaxed);
    assert!(t.elapsed() < Duration::from_secs(120), "mpirun was killed after 120 s (a hang):\n{said}");
    (said, status.success(), t.elapsed())
}

/// The arguments of a run long enough to be caught in the middle: [`train_args`] for 12
/// epochs of a wider network (~0.2 s each), and `extra`.
fn slow_args(out: &str, extra: &[&str]) -> Vec<String> {
    let mut args = train_args(out, "12");
    let hidden = args.iter().position(|a| a == "--hidden").unwrap() + 1;
    args[hidden] = "1024".into();
    args.extend(extra.iter().map(ToString::to_string));
    args
}

/// `mpirun -np 1 bp-par RANK0 : -np 1 bp-par RANK1`: an MPMD launch, each rank with its own
/// arguments (how a test makes the ranks differ).
fn two_ranks(dir: &Dir, rank0: &[&str], rank1: &[&str]) -> (Run, Duration) {
    let bin = env!("CARGO_BIN_EXE_bp-par");
    let mut launch = vec!["-np", "1", bin];
    launch.extend(rank0);
    launch.extend([":", "-np", "1", bin]);
    launch.extend(rank1);
    mpirun(dir, &launch)
}

/// `mpirun -np N bp-par ARGS`.
fn on_ranks(dir: &Dir, np: usize, args: &[String]) -> Run {
    let np = np.to_string();
    let mut launch = vec!["-np", &np, env!("CARGO_BIN_EXE_bp-par")];
    launch.extend(args.iter().map(String::as_str));
    mpirun(dir, &launch).0
}

fn read(dir: &Dir, name: &str) -> Vec<u8> {
    std::fs::read(dir.path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The result lines on stdout (without the timing line).
fn results(run: &Run) -> Vec<String> {
    let timing = ["trained ", "model saved", "exchange between ranks"];
    run.stdout.lines().filter(|l| !timing.iter().any(|t| l.starts_with(t))).map(String::from).collect()
}

#[test]
fn models_on_1_to_4_ranks_and_any_threads_are_byte_identical_to_one_process() {
    let dir = Dir::new();
    let mut args = train_args("alone.st", "2");
    args.extend(["--metrics".to_string(), "alone.csv".to_string()]);
    let alone = dir.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let want = read(&dir, "alone.st");
    for (np, threads) in [(1, 1), (2, 1), (2, 2), (3, 1), (4, 1)] {
        let name = format!("np{np}t{threads}.st");
        let metrics = format!("np{np}t{threads}.csv");
        let mut args = train_args(&name, "2");
        args.extend(
            ["--threads", &threads.to_string(), "--metrics", &metrics].iter().map(ToString::to_string),
        );
        let run = on_ranks(&dir, np, &args).ok();
        let what = format!("{np} ranks of {threads} threads");
        assert!(read(&dir, &name) == want, "{what}: the model differs from one process's");
        assert_eq!(results(&run), results(&alone), "{what}: the reported figures differ");
        assert_eq!(untimed(&dir, &metrics), untimed(&dir, "alone.csv"), "{what}: the metrics differ");
        if np > 1 {
            // (Each rank's team has at most its share of the cores: the line says so.)
            let said = format!("{np} MPI ranks of ");
            assert!(run.stderr.contains(&said), "{np} ranks: {}", run.stderr);
            // Rank 0 alone reports: one settings line, one result block.
            assert_eq!(run.stderr.matches("bp-par: seed 1").count(), 1, "{}", run.stderr);
            assert_eq!(run.stdout.matches("train: loss").count(), 1, "{}", run.stdout);
            assert!(run.stdout.contains("exchange between ranks: "), "{}", run.stdout);
        }
    }
}

/// A metrics file's rows without the time columns (the last two: seconds, samples per second).
fn untimed(dir: &Dir, name: &str) -> Vec<String> {
    let text = String::from_utf8(read(dir, name)).unwrap();
    text.lines().map(|l| l.rsplitn(3, ',').nth(2).unwrap_or(l).to_string()).collect()
}

#[test]
fn a_checkpoint_moves_between_two_ranks_and_one_process_byte_for_byte() {
    let dir = Dir::new();
    dir.run(&train_args("whole.st", "2").iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let whole = read(&dir, "whole.st");
    let with_ck = |out: &str, epochs: &str, ck: &str| {
        let mut a = train_args(out, epochs);
        a.extend(["--checkpoint", ck, "--checkpoint-every", "1"].iter().map(ToString::to_string));
        a
    };
    // Epoch 1 on two ranks, epoch 2 on one process.
    on_ranks(&dir, 2, &with_ck("half.st", "1", "ranks.ck")).ok();
    let mut resume = with_ck("from_ranks.st", "2", "ranks.ck");
    resume.extend(["--resume".to_string(), "ranks.ck".to_string()]);
    dir.run(&resume.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    assert!(read(&dir, "from_ranks.st") == whole, "resumed on one process from a 2-rank checkpoint: differs");
    // Epoch 1 on one process, epoch 2 on two ranks.
    dir.run(&with_ck("half.st", "1", "alone.ck").iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let mut resume = with_ck("from_alone.st", "2", "alone.ck");
    resume.extend(["--resume".to_string(), "alone.ck".to_string()]);
    on_ranks(&dir, 2, &resume).ok();
    assert!(
        read(&dir, "from_alone.st") == whole,
        "resumed on 2 ranks from a one-process checkpoint: differs"
    );
}

#[test]
fn a_setup_error_on_one_rank_is_said_by_it_and_every_rank_exits() {
    let dir = Dir::new();
    dir.write("broken.csv", "label,a,b\n1,2,3\n2,x,4\n");
    let digits = repo_file("datasets/digits.csv");
    // Rank 0 reads a good file and would wait for rank 1 in the first exchange.
    let (run, took) = two_ranks(&dir, &["train", &digits, "--epochs", "50"], &["train", "broken.csv"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("error (rank 1 of 2)") && run.stderr.contains("broken.csv"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("bp-par: error").count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("MPI_ABORT"), "{}", run.stderr);
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn an_error_on_rank_0_in_the_middle_of_a_run_ends_the_whole_job_with_its_message() {
    let dir = Dir::new();
    std::fs::create_dir(dir.path("cks")).unwrap();
    // Rank 0 writes a checkpoint after every epoch; its folder goes away after epoch 1's line
    // (moved at once: a removal could race with a write in progress).
    let args = slow_args("m.st", &["--checkpoint", "cks/ck.st", "--checkpoint-every", "1"]);
    let away = || std::fs::rename(dir.path("cks"), dir.path("gone")).unwrap();
    let (said, ok, took) = two_ranks_until(&dir, &args, "epoch   1/12", |_| away());
    assert!(!ok, "{said}");
    assert!(said.contains("error (rank 0 of 2)") && said.contains("cks"), "{said}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn ranks_that_would_train_different_things_are_refused_before_any_step() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let one_epoch = ["train", &digits, "--epochs", "1"];
    let (run, _) = two_ranks(&dir, &one_epoch, &[&one_epoch[..], &["--lr", "0.3"]].concat());
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("rank 1 and rank 0 differ in --lr"), "{}", run.stderr);
    assert!(!run.stderr.contains("epoch   1/1"), "trained before refusing: {}", run.stderr);
    // A different seed is named as such (not as the different validation rows it leads to).
    let (run, _) = two_ranks(&dir, &one_epoch, &[&one_epoch[..], &["--seed", "2"]].concat());
    assert!(run.stderr.contains("differ in --seed"), "{}", run.stderr);
    // A usage error, or another command, on one rank: said once by it, and no rank waits.
    for other in [&["train", &digits, "--epochs", "x"][..], &["eval", "--model", "m.st", &digits][..]] {
        let (run, took) = two_ranks(&dir, &one_epoch, other);
        assert_ne!(run.code, 0);
        assert_eq!(run.stderr.matches("rank 1 of 2").count(), 1, "{other:?}: {}", run.stderr);
        assert!(!run.stderr.contains("MPI_ABORT"), "{other:?}: {}", run.stderr);
        assert!(took < Duration::from_secs(30), "{other:?} took {took:?}");
    }
}

#[test]
fn settings_that_ranks_cannot_share_are_refused_with_the_fix() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let args: Vec<String> =
        ["train", &digits, "--batch", "32", "--shard-size", "16"].iter().map(ToString::to_string).collect();
    let run = on_ranks(&dir, 4, &args);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("4 ranks") && run.stderr.contains("--shard-size"), "{}", run.stderr);
    assert!(!run.stderr.contains("bp-par: seed"), "refused only after the run's first lines: {}", run.stderr);
    let args: Vec<String> =
        ["train", &digits, "--optimizer", "lbfgs"].iter().map(ToString::to_string).collect();
    let run = on_ranks(&dir, 2, &args);
    assert!(run.code != 0 && run.stderr.contains("run on one machine"), "{}", run.stderr);
    // Commands other than train: refused once, by rank 0, without MPI_Abort.
    let args: Vec<String> = ["eval", "--model", "m.st", &digits].iter().map(ToString::to_string).collect();
    let run = on_ranks(&dir, 2, &args);
    assert_ne!(run.code, 0);
    assert_eq!(run.stderr.matches("only `train` runs across MPI ranks").count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("MPI_ABORT"), "{}", run.stderr);
}

#[test]
fn sigterm_on_mpirun_stops_every_rank_with_a_checkpoint_that_resumes_byte_for_byte() {
    let dir = Dir::new();
    let run = |out: &str, extra: &[&str]| slow_args(out, &[&["--checkpoint", "ck.st"], extra].concat());
    dir.run(&run("whole.st", &[]).iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let whole = read(&dir, "whole.st");
    // After epoch 2's line, SIGTERM to mpirun (it passes it on to the ranks).
    let term = |pid: u32| {
        Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    };
    let (said, _, _) = two_ranks_until(&dir, &run("stopped.st", &[]), "epoch   2/12", term);
    assert!(said.contains("interrupted by SIGTERM") && said.contains("mpirun -np 2 bp-par train"), "{said}");
    assert_eq!(said.matches("interrupted by SIGTERM").count(), 1, "{said}");
    // One process continues the run to the same bytes.
    dir.run(&run("resumed.st", &["--resume", "ck.st"]).iter().map(String::as_str).collect::<Vec<_>>()).ok();
    assert!(read(&dir, "resumed.st") == whole, "the resumed run differs from the uninterrupted one");
}

#[test]
fn only_rank_0s_outputs_count_and_a_bad_thread_count_on_one_rank_is_said_once() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let one_epoch = ["train", &digits, "--epochs", "1", "--shard-size", "32"];
    // Rank 1's output paths are never checked nor written (its folder does not exist).
    let elsewhere = [&one_epoch[..], &["-o", "nowhere/m.st", "--metrics", "nowhere/m.csv"]].concat();
    let (run, _) = two_ranks(&dir, &[&one_epoch[..], &["-o", "m.st"]].concat(), &elsewhere);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.path("m.st").exists() && !dir.path("nowhere").exists());
    // --threads 0 on rank 1: said once by it, every rank exits with its code, no MPI_Abort.
    let (run, took) = two_ranks(&dir, &one_epoch, &[&one_epoch[..], &["--threads", "0"]].concat());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.matches("rank 1 of 2").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("--threads") && !run.stderr.contains("MPI_ABORT"), "{}", run.stderr);
    assert!(took < Duration::from_secs(30), "took {took:?}");
}
