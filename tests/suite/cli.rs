//! Every command through the real binary, on the shipped data and on small files.

use super::harness::{Dir, repo_file};
use flate2::{Compression, write::GzEncoder};
use std::io::Write;

#[test]
fn default_training_on_the_shipped_digits_generalises() {
    // No data argument: the built-in datasets/digits.csv, 20% stratified validation split.
    let dir = Dir::new();
    let run = dir
        .run(&["train", "--epochs", "8", "--json", "--save", "digits.safetensors", "--metrics", "m.csv"])
        .ok();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let val = out["held_out_acc"].as_f64().unwrap();
    assert!(val > 0.90, "held-out accuracy {val}");
    assert_eq!(out["held_out_samples"], 1000);
    assert!(run.stderr.contains("seed 1"), "the seed is printed: {}", run.stderr);
    // One plain progress line per epoch on a non-terminal stderr.
    assert_eq!(run.stderr.lines().filter(|l| l.starts_with("epoch ")).count(), 8);
    let metrics = std::fs::read_to_string(dir.path("m.csv")).unwrap();
    let mut lines = metrics.lines();
    assert_eq!(lines.next(), Some("epoch,loss,train_acc,test_loss,test_acc,lr,seconds,samples_per_s"));
    assert_eq!(lines.count(), 8);

    // eval on the whole file: accuracy, loss, L2 term and a confusion matrix.
    let digits = repo_file("datasets/digits.csv");
    let run = dir.run(&["eval", "--model", "digits.safetensors", &digits, "--l2", "1"]).ok();
    assert!(run.stdout.contains("accuracy "), "{}", run.stdout);
    assert!(run.stdout.contains("l2 term "), "{}", run.stdout);
    assert!(run.stdout.contains("confusion matrix"), "{}", run.stdout);
    let run = dir.run(&["eval", "--model", "digits.safetensors", &digits, "--json"]).ok();
    let e: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(e["samples"], 5000);
    let confusion = e["confusion"].as_array().unwrap();
    let total: u64 = confusion.iter().flat_map(|r| r.as_array().unwrap()).map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total, 5000);
    assert!(e["accuracy"].as_f64().unwrap() > 0.9);

    // predict: a header and one row per input, probabilities summing to 1.
    dir.run(&["predict", "--model", "digits.safetensors", &digits, "-o", "pred.csv", "-q"]).ok();
    let pred = std::fs::read_to_string(dir.path("pred.csv")).unwrap();
    let mut lines = pred.lines();
    assert!(lines.next().unwrap().starts_with("prediction,label,p0,p1,"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 5000);
    let p: Vec<f64> = rows[0].split(',').skip(2).map(|v| v.parse().unwrap()).collect();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5);
}

#[test]
fn quiet_prints_nothing_on_stderr_and_jsonl_metrics() {
    let dir = Dir::new();
    let run = dir
        .run(&["train", "--epochs", "1", "--hidden", "8", "-q", "--lr", "0.1", "--metrics", "m.jsonl"])
        .ok();
    assert_eq!(run.stderr, "");
    assert!(run.stdout.contains("val: loss"), "{}", run.stdout);
    let m = std::fs::read_to_string(dir.path("m.jsonl")).unwrap();
    let row: serde_json::Value = serde_json::from_str(m.lines().next().unwrap()).unwrap();
    assert_eq!(row["epoch"], 1);
    assert!(row["test_acc"].as_f64().is_some() && row["samples_per_s"].as_f64().is_some());
    // The learning rate as given (the f32's shortest decimal), not 0.10000000149011612.
    assert_eq!(row["lr"].to_string(), "0.1");
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

#[test]
fn idx_files_with_labels_found_by_name_and_test_set() {
    // 4x4 "images": class 1 has a bright left half, class 0 a bright right half.
    let n = 60u32;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let c = (i % 2) as u8;
        labels.push(c);
        for r in 0..4 {
            for col in 0..4 {
                let bright = (col < 2) == (c == 1);
                pixels.push(if bright { 200 + (r * 7 + i as usize) as u8 % 50 } else { (i as u8 * 3) % 40 });
            }
        }
    }
    let dir = Dir::new();
    dir.write("tiny-images-idx3-ubyte.gz", gz(&idx(&[n, 4, 4], &pixels)));
    dir.write("tiny-labels-idx1-ubyte", idx(&[n], &labels));
    dir.write("other-images-idx3-ubyte", idx(&[n, 4, 4], &pixels));
    dir.write("lab.idx", idx(&[n], &labels));
    let run = dir
        .run(&[
            "train",
            "tiny-images-idx3-ubyte.gz",
            "--test",
            "other-images-idx3-ubyte",
            "--test-labels",
            "lab.idx",
            "--epochs",
            "30",
            "--hidden",
            "4",
            "--batch",
            "10",
            "--save",
            "m.safetensors",
            "--json",
        ])
        .ok();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["held_out"], "test");
    assert_eq!(out["held_out_acc"], 1.0, "{}", run.stdout);
    // The model remembers the image shape and the /255 normalisation.
    let m = bp_par::model::load(&dir.path("m.safetensors")).unwrap();
    assert_eq!(m.input_shape, Some([4, 4]));
    assert_eq!(m.norm, bp_par::data::Normalization::Scale(255.0));
    // predict on IDX images without labels.
    dir.write("nolabels-images-idx3-ubyte", idx(&[n, 4, 4], &pixels));
    let run = dir.run(&["predict", "-m", "m.safetensors", "nolabels-images-idx3-ubyte", "--json"]).ok();
    assert_eq!(run.stdout.lines().count(), n as usize);
}

#[test]
fn predict_accepts_csv_without_labels_and_a_closed_pipe_is_fine() {
    let dir = Dir::new();
    dir.write("train.csv", "x1,x2,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n");
    dir.run(&[
        "train",
        "train.csv",
        "--epochs",
        "5",
        "--batch",
        "2",
        "--val-split",
        "0",
        "--hidden",
        "3",
        "--activation",
        "tanh",
        "--save",
        "m.safetensors",
        "-q",
    ])
    .ok();
    dir.write("new.csv", "0.5,0.5\n1,1\n");
    let run = dir.run(&["predict", "-m", "m.safetensors", "new.csv"]).ok();
    assert_eq!(run.stdout.lines().count(), 3, "{}", run.stdout);
}

#[test]
fn a_closed_stdout_pipe_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    dir.run(&["train", &digits, "--epochs", "1", "--hidden", "8", "-q", "--save", "m.safetensors"]).ok();
    // 5,000 rows of probabilities overflow the pipe buffer; read one line and hang up.
    let mut child = Command::new(env!("CARGO_BIN_EXE_bp-par"))
        .args(["predict", "-m", "m.safetensors", &digits])
        .current_dir(dir.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("prediction,"));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn bench_sweeps_threads_and_writes_rows() {
    let dir = Dir::new();
    let args = [
        "bench",
        "--layers",
        "20,8,3",
        "--rows",
        "300",
        "--threads",
        "1,2",
        "--batch",
        "16,32",
        "--shard-size",
        "8",
        "--samples",
        "64",
        "--repeats",
        "2",
        "--warmup",
        "1",
        "--json",
        "-o",
        "rows.csv",
        "--plot",
        "s.svg",
    ];
    let run = dir.run(&args).ok();
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let rows = out["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for r in rows {
        let sp = &r["samples_per_s"];
        assert!(sp["min"].as_f64().unwrap() <= sp["median"].as_f64().unwrap());
        assert!(sp["median"].as_f64().unwrap() <= sp["max"].as_f64().unwrap());
        assert!(r["pct_peak"].as_f64().unwrap() > 0.0);
        // The 2-thread rows are compared with the 1-thread rows of the same batch.
        assert_eq!(r["speedup"].is_null(), r["threads"] == 1);
        // Tasks per phase, and whether the threads worked.
        let phases: Vec<&str> =
            r["tasks_per_phase"].as_array().unwrap().iter().map(|p| p["phase"].as_str().unwrap()).collect();
        // With two cores the 2-thread rows run a team of 2 (fewer cores: of 1).
        let team2 = r["team"] == 2;
        if team2 {
            assert_eq!(phases, ["shards", "reduce+update"]);
        } else {
            assert_eq!(phases, ["gather", "forward 1", "forward 2", "backward 1+2"]);
        }
        let (busiest, idlest) =
            (r["busiest_thread_pct"].as_f64().unwrap(), r["idlest_thread_pct"].as_f64().unwrap());
        // (In a run this tiny, one thread may find every task taken before it wakes.)
        assert!(busiest > 0.0 && 0.0 <= idlest && idlest <= busiest, "{busiest} {idlest}");
        // 2 or 4 shards of 8 on 2 threads run side by side; on 1 thread, one after another.
        let p = &r["phases_pct"];
        if team2 {
            assert!(p["shards"].as_f64().unwrap() > 0.0 && p["forward"].as_f64().unwrap() == 0.0, "{p}");
        } else {
            assert!(p["forward"].as_f64().unwrap() > 0.0 && p["shards"].as_f64().unwrap() == 0.0, "{p}");
        }
    }
    // 20·8·4 + 8·3·6 = 784 FLOP per sample.
    assert_eq!(out["flops_per_sample"], 784.0);
    let svg = std::fs::read_to_string(dir.path("s.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.matches("<polyline").count() == 2, "{svg}");
    assert_eq!(out["eval_samples_per_s"].as_array().unwrap().len(), 2);
    let csv = std::fs::read_to_string(dir.path("rows.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.starts_with("threads,batch,shard,samples_per_s_median"));
    let run = dir.run(&["bench", "--compare", "torch", "--samples", "1"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("the only reference kept in the repo is numpy"), "{}", run.stderr);
}

#[test]
fn init_conflicts_permissions_and_predict_ignoring_labels() {
    let dir = Dir::new();
    dir.write("a.csv", "label,x,y\n0,0,0\n1,0,1\n1,1,0\n0,1,1\n");
    dir.run(&[
        "train",
        "a.csv",
        "--val-split",
        "0",
        "--epochs",
        "2",
        "--hidden",
        "3",
        "-q",
        "--save",
        "m.safetensors",
    ])
    .ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path("m.safetensors")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    for (extra, want) in [
        (vec!["--hidden", "4"], "--hidden 4 conflicts with the --init model (2-3-2 relu/xent)"),
        (vec!["--loss", "mse"], "--loss mse conflicts with the --init model"),
        (vec!["--targets", "1"], "--targets conflicts with the --init model, a classifier"),
    ] {
        let mut args = vec!["train", "a.csv", "--init", "m.safetensors", "--val-split", "0"];
        args.extend(extra);
        let run = dir.run(&args);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(want), "{}", run.stderr);
    }
    // Continuing from the model with matching options works.
    dir.run(&["train", "a.csv", "--init", "m.safetensors", "--val-split", "0", "--hidden", "3", "-q"]).ok();
    // predict does not check labels it does not use; eval does.
    dir.write("b.csv", "label,x,y\n7,0,0\n");
    let run = dir.run(&["predict", "-m", "m.safetensors", "b.csv"]).ok();
    assert_eq!(run.stdout.lines().count(), 2);
    let run = dir.run(&["eval", "-m", "m.safetensors", "b.csv"]);
    assert!(run.stderr.contains(
        "b.csv:2: column 0 (\"label\", 0-based): label 7 is out of range for the model's class count 2"
    ));
}

/// Decodes a PNG and returns (width, height, number of distinct colours).
fn png_info(path: &std::path::Path) -> (u32, u32, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let colours: std::collections::HashSet<&[u8]> = buf[..info.buffer_size()].chunks(3).collect();
    (info.width, info.height, colours.len())
}

#[test]
fn show_draws_decodable_pictures() {
    let dir = Dir::new();
    let digits = repo_file("datasets/digits.csv");
    dir.run(&[
        "train",
        &digits,
        "--epochs",
        "2",
        "--hidden",
        "9",
        "-q",
        "--save",
        "m.st",
        "--metrics",
        "m.csv",
    ])
    .ok();
    let cases: [(&[&str], &str); 4] = [
        (&["show", "digits", &digits, "--predict", "m.st", "-o", "d.png"], "d.png"),
        (&["show", "weights", "m.st", "-o", "w.png"], "w.png"),
        (&["show", "curves", "m.csv", "-o", "c.png"], "c.png"),
        (&["show", "confusion", "m.st", &digits, "-o", "k.png"], "k.png"),
    ];
    for (args, file) in cases {
        let run = dir.run(args).ok();
        assert!(run.stdout.starts_with("wrote "), "{}", run.stdout);
        let (w, h, colours) = png_info(&dir.path(file));
        assert!(w >= 200 && h >= 150, "{file}: {w}x{h}");
        assert!(colours >= 3, "{file}: only {colours} colours");
    }
    // 10 x 10 digits of 20x20 at 4x zoom, plus margins and the title.
    assert_eq!(png_info(&dir.path("d.png")).0, 10 * (20 * 4 + 12) + 20);
    // Bad inputs: a metrics file that is not one, a model without an image shape.
    dir.write("bad.csv", "a,b\n1,2\n");
    let run = dir.run(&["show", "curves", "bad.csv"]);
    assert!(
        run.stderr.contains("bad.csv:1: expected the header written by train --metrics"),
        "{}",
        run.stderr
    );
    dir.write("xor.csv", "label,a,b\n0,0,0\n1,0,1\n1,1,0\n0,1,1\n");
    dir.run(&["train", "xor.csv", "--val-split", "0", "--epochs", "1", "-q", "--save", "x.st"]).ok();
    let run = dir.run(&["show", "weights", "x.st"]);
    assert!(run.stderr.contains("x.st: has 2 inputs with no image shape recorded"), "{}", run.stderr);
}

#[test]
fn experiments_run_in_quick_mode_and_write_their_reports() {
    let dir = Dir::new();
    let data = repo_file("datasets");
    let run = dir.run(&["experiment", "all", "--quick", "--data-dir", &data, "--out", "report", "-q"]).ok();
    // Each experiment prints its table: a row per run with the published figure beside ours.
    assert!(run.stdout.contains("| training accuracy, pixels /255 | 95.30% |"), "{}", run.stdout);
    assert!(run.stdout.contains("| test error (%) | 2.87% |"), "{}", run.stdout);
    let index = std::fs::read_to_string(dir.path("report/EXPERIMENTS.md")).unwrap();
    for name in ["ex4", "mnist-sgd", "nielsen", "lecun-300", "fashion"] {
        assert!(index.contains(&format!("- [{name}](#{name})")), "{name} missing from the index");
        let section = std::fs::read_to_string(dir.path(&format!("report/experiments/{name}.md"))).unwrap();
        assert!(section.contains("Quick mode"), "{name}");
        // Every picture the report links exists.
        for pic in ["curves", "weights", "confusion", "digits"] {
            let file = format!("{name}-{pic}.png");
            assert!(section.contains(&file), "{name}: {file} not linked");
            assert!(index.contains(&format!("experiments/{file}")), "{name}: {file} not linked in the index");
            assert!(std::fs::metadata(dir.path(&format!("report/experiments/{file}"))).unwrap().len() > 1000);
        }
    }
    // The commands in the report rerun one seed: --train-rows exists.
    assert!(index.contains("--train-rows 3000"), "{index}");
    // The report names the command that rewrites it.
    assert!(index.contains("written by `bp-par experiment all --out report`"), "{index}");
    assert!(index.contains("Regenerate: `bp-par experiment ex4 --quick --out report` (2 seeds"), "{index}");
    let run = dir.run(&["experiment", "nope"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains(
        "unknown experiment \"nope\"; expected one of ex4, mnist-sgd, nielsen, lecun-300, fashion"
    ));
}

#[test]
fn an_experiment_without_out_prints_its_report_and_writes_nothing() {
    let dir = Dir::new();
    let run = dir.run(&["experiment", "ex4", "--quick", "--data-dir", &repo_file("datasets")]).ok();
    assert!(run.stdout.contains("| training accuracy, pixels /255 | 95.30% |"), "{}", run.stdout);
    assert!(run.stdout.contains("Regenerate: `bp-par experiment ex4 --quick` (2 seeds"), "{}", run.stdout);
    // No pictures were drawn, so none is linked.
    assert!(!run.stdout.contains(".png"), "{}", run.stdout);
    assert!(
        run.stderr.contains("bp-par experiment ex4: nothing written (--out DIR writes"),
        "{}",
        run.stderr
    );
    let left: Vec<_> = std::fs::read_dir(dir.dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
    // How long it will take is said up front, and what is left after each seed.
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("bp-par experiment ex4: 10 training runs, about ")
            && first.contains("(estimated from this machine's speed)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(" left)"), "{}", run.stderr);
}

#[test]
fn json_experiments_and_output_names_are_checked() {
    let dir = Dir::new();
    let data = repo_file("datasets");
    let run =
        dir.run(&["experiment", "ex4", "--quick", "--json", "-q", "--data-dir", &data, "--out", "r"]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let runs = v[0]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 5);
    assert_eq!(runs[0]["published"], 95.3);
    assert_eq!(runs[0]["seeds"].as_array().unwrap().len(), 2);
    // A run's command trains its first seed again, to the same figure: the training accuracy
    // of the first run (full-batch cg), of the second (SGD), the held-out accuracy of the fourth.
    for (run, figure) in [(&runs[0], "train_acc"), (&runs[1], "train_acc"), (&runs[3], "held_out_acc")] {
        let command = run["command"].as_str().unwrap();
        assert!(!command.contains('\''), "{command}");
        let mut args: Vec<&str> = command.strip_prefix("bp-par ").unwrap().split(' ').collect();
        args.extend(["--json", "-q"]);
        let train: serde_json::Value = serde_json::from_str(&dir.run(&args).ok().stdout).unwrap();
        assert_eq!(run["seeds"][0]["seed"], 1);
        assert_eq!(
            train[figure].as_f64().unwrap() * 100.0,
            run["seeds"][0]["value"].as_f64().unwrap(),
            "{command}"
        );
    }
    // Pictures and plots refuse names of another format.
    let run = dir.run(&["show", "curves", "m.csv", "-o", "c.jpg"]);
    assert!(run.stderr.contains("show writes PNG pictures; give a .png name"), "{}", run.stderr);
    let run = dir.run(&["bench", "--plot", "p.png", "--samples", "1"]);
    assert!(run.stderr.contains("the plot is SVG; give a .svg name"), "{}", run.stderr);
    let run = dir.run(&["bench", "-o", "no/dir/x.csv", "--samples", "1"]);
    assert!(run.stderr.contains("the folder no/dir does not exist"), "{}", run.stderr);
    // A model applied to data of another width: the width is the error, not the labels.
    dir.write("iris.csv", "label,a,b,c,d,e\n0,1,2,3,4,5\n2,1,2,3,4,5\n1,5,4,3,2,1\n");
    dir.run(&["train", "iris.csv", "--val-split", "0", "--epochs", "1", "-q", "-o", "iris.st"]).ok();
    let run = dir.run(&["show", "confusion", "iris.st", &repo_file("datasets/digits.csv")]);
    assert!(
        run.stderr.contains("has rows of 401 fields, but the model expects 5 features"),
        "{}",
        run.stderr
    );
}

/// A build without the `mpi` feature started by an MPI launcher as one of several ranks (the
/// launcher's variables, set here by hand) refuses: each rank would train alone and write the
/// same files. Rank 0 says why; the others exit quietly.
#[cfg(not(feature = "mpi"))]
#[test]
fn a_build_without_mpi_started_as_one_of_several_ranks_refuses() {
    let dir = Dir::new();
    for (rank, says) in [("0", true), ("1", false)] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bp-par"))
            .args(["train", "--epochs", "1", "-o", "m.safetensors"])
            .current_dir(dir.dir.path())
            .env("OMPI_COMM_WORLD_SIZE", "2")
            .env("OMPI_COMM_WORLD_RANK", rank)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(
            stderr.contains("built without MPI") && stderr.contains("--features mpi"),
            says,
            "{stderr}"
        );
        assert!(!dir.path("m.safetensors").exists());
    }
}
