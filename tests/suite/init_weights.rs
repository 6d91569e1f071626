//! `train --init-weights`: the default is today's scheme (bit for bit), each scheme changes
//! the model, and bad names or scales, or the flag beside `--init` / `--resume`, are refused
//! before any data is read.

use super::harness::Dir;

/// Trains a small network on a 4-row file and returns the saved model's bytes.
fn train(dir: &Dir, name: &str, extra: &[&str]) -> Vec<u8> {
    let mut args =
        vec!["train", "a.csv", "--val-split", "0", "--epochs", "2", "--hidden", "5", "-q", "--save", name];
    args.extend(extra);
    dir.run(&args).ok();
    std::fs::read(dir.path(name)).unwrap()
}

#[test]
fn the_default_is_the_activations_scheme_and_others_change_the_model() {
    let dir = Dir::new();
    dir.write("a.csv", "label,x,y\n0,0,0\n1,0,1\n1,1,0\n0,1,1\n");
    let relu = train(&dir, "relu.safetensors", &[]);
    assert_eq!(relu, train(&dir, "he.safetensors", &["--init-weights", "he-uniform"]));
    let tanh = train(&dir, "tanh.safetensors", &["--activation", "tanh"]);
    let glorot = ["--activation", "tanh", "--init-weights", "glorot-uniform"];
    assert_eq!(tanh, train(&dir, "glorot.safetensors", &glorot));
    let mut seen = vec![relu, tanh];
    for scheme in
        ["glorot-normal", "he-normal", "normal:0.5", "normal-fan-in", "uniform:0.12", "glorot-uniform"]
    {
        let model = train(&dir, "m.safetensors", &["--init-weights", scheme]);
        assert!(!seen.contains(&model), "{scheme} trained the same model as another scheme");
        seen.push(model);
    }
}

#[test]
fn bad_schemes_and_conflicting_flags_are_usage_errors() {
    let dir = Dir::new();
    dir.write("a.csv", "label,x,y\n0,0,0\n1,0,1\n1,1,0\n0,1,1\n");
    for (value, want) in [
        ("xavier", "unknown initialisation \"xavier\" (expected glorot-uniform, he-uniform"),
        ("normal", "\"normal\" needs its scale, e.g. normal:0.1"),
        ("uniform:0", "R in \"uniform:0\" must be a positive number"),
        ("normal:-2", "SIGMA in \"normal:-2\" must be a positive number"),
    ] {
        let run = dir.run(&["train", "a.csv", "--init-weights", value]);
        assert_eq!(run.code, 2, "{value}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{value}: {}", run.stderr);
    }
    for other in ["--init", "--resume"] {
        // The file need not exist: the conflict is found before anything is read.
        let run = dir.run(&["train", "a.csv", "--init-weights", "he-normal", other, "m.safetensors"]);
        assert_eq!(run.code, 2, "{other}: {}", run.stderr);
        assert!(run.stderr.contains("cannot be used with"), "{other}: {}", run.stderr);
    }
    let help = dir.run(&["train", "--help"]).ok();
    assert!(help.stdout.contains("--init-weights <SCHEME>"), "{}", help.stdout);
    assert!(help.stdout.contains("[default: he-uniform for relu, glorot-uniform for sigmoid and tanh]"));
}
