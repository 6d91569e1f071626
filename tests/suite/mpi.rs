//! `bp-par train` under `mpirun` (feature `mpi`; CI installs Open MPI): models byte-identical
//! to one process for any number of ranks and threads, checkpoints that move between the two,
//! and the failures a job must survive without hanging. Each launch runs under `timeout`.

use super::harness::{Dir, Run, repo_file};
use std::process::{Command, Stdio};
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

/// `mpirun -np 2 bp-par ARGS`, to be spawned (stdout discarded), with [`mpirun`]'s settings.
fn mpirun_command(dir: &Dir, args: &[String]) -> Command {
    let mut c = Command::new("mpirun");
    c.args(["-np", "2", env!("CARGO_BIN_EXE_bp-par")]).args(args).current_dir(dir.dir.path());
    for (k, v) in MPI_ENV {
        c.env(k, v);
    }
    c.stdin(Stdio::null()).stdout(Stdio::null());
    c
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
            let said = format!("{np} MPI ranks of {threads} thread");
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
    let bin = env!("CARGO_BIN_EXE_bp-par");
    // Rank 0 reads a good file and would wait for rank 1 in the first exchange.
    let launch =
        ["-np", "1", bin, "train", &digits, "--epochs", "50", ":", "-np", "1", bin, "train", "broken.csv"];
    let (run, took) = mpirun(&dir, &launch);
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
    use std::io::{BufRead, BufReader, Read};
    let dir = Dir::new();
    std::fs::create_dir(dir.path("cks")).unwrap();
    // Rank 0 writes a checkpoint after every epoch; its folder goes away after epoch 1's line.
    let mut args = train_args("m.st", "12");
    let hidden = args.iter().position(|a| a == "--hidden").unwrap() + 1;
    args[hidden] = "1024".into();
    args.extend(["--checkpoint", "cks/ck.st", "--checkpoint-every", "1"].iter().map(ToString::to_string));
    let t = Instant::now();
    let mut child = mpirun_command(&dir, &args).stderr(Stdio::piped()).spawn().expect("run mpirun");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (mut said, mut line) = (String::new(), String::new());
    while stderr.read_line(&mut line).unwrap() > 0 {
        said += &line;
        if line.starts_with("epoch   1/12") {
            // Moved away at once (a removal could race with a write in progress).
            std::fs::rename(dir.path("cks"), dir.path("gone")).unwrap();
            break;
        }
        line.clear();
    }
    stderr.read_to_string(&mut said).unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "{said}");
    assert!(said.contains("error (rank 0 of 2)") && said.contains("cks"), "{said}");
    assert!(t.elapsed() < Duration::from_secs(60), "took {:?}", t.elapsed());
}

#[test]
fn ranks_that_would_train_different_things_are_refused_before_any_step() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let bin = env!("CARGO_BIN_EXE_bp-par");
    let launch = [
        "-np", "1", bin, "train", &digits, "--epochs", "1", ":", "-np", "1", bin, "train", &digits,
        "--epochs", "1", "--lr", "0.3",
    ];
    let (run, _) = mpirun(&dir, &launch);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("rank 1 and rank 0 differ in --lr"), "{}", run.stderr);
    assert!(!run.stderr.contains("epoch   1/1"), "trained before refusing: {}", run.stderr);
    // A different seed is named as such (not as the different validation rows it leads to).
    let launch = [
        "-np", "1", bin, "train", &digits, "--epochs", "1", ":", "-np", "1", bin, "train", &digits,
        "--epochs", "1", "--seed", "2",
    ];
    let (run, _) = mpirun(&dir, &launch);
    assert!(run.stderr.contains("differ in --seed"), "{}", run.stderr);
    // A usage error, or another command, on one rank: said once by it, and no rank waits.
    for other in [&["train", &digits, "--epochs", "x"][..], &["eval", "--model", "m.st", &digits][..]] {
        let mut launch = vec!["-np", "1", bin, "train", &digits, "--epochs", "1", ":", "-np", "1", bin];
        launch.extend(other);
        let (run, took) = mpirun(&dir, &launch);
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
    use std::io::{BufRead, BufReader, Read};
    let dir = Dir::new();
    // Long enough to be caught in the middle: 12 epochs of a wider network (~0.2 s each).
    let mut args = train_args("whole.st", "12");
    let hidden = args.iter().position(|a| a == "--hidden").unwrap() + 1;
    args[hidden] = "1024".into();
    args.extend(["--checkpoint", "ck.st"].iter().map(ToString::to_string));
    dir.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let whole = read(&dir, "whole.st");
    let with_out = |out: &str| {
        let mut a = args.clone();
        let at = a.iter().position(|w| w == "whole.st").unwrap();
        a[at] = out.to_string();
        a
    };
    let mut child =
        mpirun_command(&dir, &with_out("stopped.st")).stderr(Stdio::piped()).spawn().expect("run mpirun");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (mut said, mut line) = (String::new(), String::new());
    // After epoch 2's line, SIGTERM to mpirun (it passes it on to the ranks).
    while stderr.read_line(&mut line).unwrap() > 0 {
        said += &line;
        if line.starts_with("epoch   2/12") {
            Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
            break;
        }
        line.clear();
    }
    stderr.read_to_string(&mut said).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "mpirun did not end after SIGTERM:\n{said}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(said.contains("interrupted by SIGTERM") && said.contains("mpirun -np 2 bp-par train"), "{said}");
    assert_eq!(said.matches("interrupted by SIGTERM").count(), 1, "{said}");
    // One process continues the run to the same bytes.
    let mut resume = with_out("resumed.st");
    resume.extend(["--resume".to_string(), "ck.st".to_string()]);
    dir.run(&resume.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    assert!(read(&dir, "resumed.st") == whole, "the resumed run differs from the uninterrupted one");
}

#[test]
fn only_rank_0s_outputs_count_and_a_bad_thread_count_on_one_rank_is_said_once() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    let bin = env!("CARGO_BIN_EXE_bp-par");
    // Rank 1's output paths are never checked nor written (its folder does not exist).
    let launch = [
        "-np",
        "1",
        bin,
        "train",
        &digits,
        "--epochs",
        "1",
        "--shard-size",
        "32",
        "-o",
        "m.st",
        ":",
        "-np",
        "1",
        bin,
        "train",
        &digits,
        "--epochs",
        "1",
        "--shard-size",
        "32",
        "-o",
        "nowhere/m.st",
        "--metrics",
        "nowhere/m.csv",
    ];
    let (run, _) = mpirun(&dir, &launch);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.path("m.st").exists() && !dir.path("nowhere").exists());
    // --threads 0 on rank 1: said once by it, every rank exits with its code, no MPI_Abort.
    let launch = [
        "-np",
        "1",
        bin,
        "train",
        &digits,
        "--epochs",
        "1",
        ":",
        "-np",
        "1",
        bin,
        "train",
        &digits,
        "--epochs",
        "1",
        "--threads",
        "0",
    ];
    let (run, took) = mpirun(&dir, &launch);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stderr.matches("rank 1 of 2").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("--threads") && !run.stderr.contains("MPI_ABORT"), "{}", run.stderr);
    assert!(took < Duration::from_secs(30), "took {took:?}");
}
