//! `train --normalize none|scale|zscore|auto`: what the saved model stores, that `eval`
//! re-applies it (same accuracy on the same rows as train reported), and bad values.

use super::harness::Dir;
use bp_par::data::Normalization;

/// 120 rows of 3 pixel-like features (integers 0..=250, the largest exactly 250) and 3
/// classes from a rule on the features, every 7th label changed so that no network fits all.
fn pixel_rows() -> (String, Vec<[f64; 3]>) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        // Knuth's MMIX linear congruential generator, high bits.
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % 251
    };
    let mut text = String::from("label,a,b,c\n");
    let mut rows = Vec::new();
    for i in 0..120 {
        let x = [next(), next(), if i == 0 { 250 } else { next() }];
        let rule = if x[0] + x[1] > 300 {
            2
        } else if x[2] > 125 {
            1
        } else {
            0
        };
        let label = if i % 7 == 3 { (rule + 1) % 3 } else { rule };
        text += &format!("{label},{},{},{}\n", x[0], x[1], x[2]);
        rows.push(x.map(|v| v as f64));
    }
    (text, rows)
}

/// Trains on `data` with `--normalize mode`, checks that `eval` of the saved model on the same
/// rows reports the training accuracy and loss, and returns the model's normalisation.
fn train_and_eval(dir: &Dir, data: &str, mode: &str) -> Normalization {
    let model = format!("{mode}.st");
    let args = ["train", data, "--normalize", mode, "--val-split", "0", "--hidden", "8", "--epochs", "20"];
    // Raw features up to 250 need a small rate: at 0.1 the loss explodes (a divergence).
    let lr: &[&str] = if mode == "none" { &["--lr", "0.0005"] } else { &[] };
    // One thread: a loaded machine slows a team of two down most (see reliability.rs).
    let run = dir
        .run(
            &[&args[..], &["--batch", "16", "--threads", "1", "--json", "-q", "--save", &model], lr].concat(),
        )
        .ok();
    let trained: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let run = dir.run(&["eval", "-m", &model, data, "--json"]).ok();
    let evaluated: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let acc = trained["train_acc"].as_f64().unwrap();
    assert_eq!(evaluated["accuracy"].as_f64(), Some(acc), "--normalize {mode}: eval differs from train");
    // The loss too: an accuracy can survive inputs left unnormalised, the loss cannot.
    let loss = trained["train_loss"].as_f64().unwrap();
    assert_eq!(
        evaluated["loss"].as_f64(),
        Some(loss),
        "--normalize {mode}: eval's loss differs from train's"
    );
    bp_par::model::load(&dir.path(&model)).unwrap().norm
}

#[test]
fn each_normalisation_is_stored_in_the_model_and_reapplied_by_eval() {
    let dir = Dir::new();
    let (text, rows) = pixel_rows();
    dir.write("pixels.csv", text);
    assert_eq!(train_and_eval(&dir, "pixels.csv", "none"), Normalization::None);
    // scale: the largest absolute value of the training rows.
    assert_eq!(train_and_eval(&dir, "pixels.csv", "scale"), Normalization::Scale(250.0));
    // auto: integers in 0..=255 above 16 are pixels, divided by 255.
    assert_eq!(train_and_eval(&dir, "pixels.csv", "auto"), Normalization::Scale(255.0));
    // zscore: per column, the mean and the population standard deviation of the rows.
    let Normalization::ZScore { mean, std } = train_and_eval(&dir, "pixels.csv", "zscore") else {
        panic!("--normalize zscore stored another normalisation")
    };
    let n = rows.len() as f64;
    for j in 0..3 {
        let m = rows.iter().map(|r| r[j]).sum::<f64>() / n;
        let s = (rows.iter().map(|r| (r[j] - m).powi(2)).sum::<f64>() / n).sqrt();
        assert!((f64::from(mean[j]) - m).abs() <= 1e-6 * m, "column {j}: mean {} against {m}", mean[j]);
        assert!((f64::from(std[j]) - s).abs() <= 1e-6 * s, "column {j}: std {} against {s}", std[j]);
    }
    // auto standardises data that is not pixels (it would stay badly scaled otherwise) ...
    dir.write("fractions.csv", "label,a,b\n0,0.5,1.25\n1,2.5,0.75\n0,0.25,1.5\n1,3.0,0.5\n");
    assert!(matches!(train_and_eval(&dir, "fractions.csv", "auto"), Normalization::ZScore { .. }));
    // ... and leaves data already within [-1, 1] as it is.
    dir.write("unit.csv", "label,a,b\n0,0.5,-0.25\n1,-1,0.75\n0,0.25,1\n1,0,0.5\n");
    assert_eq!(train_and_eval(&dir, "unit.csv", "auto"), Normalization::None);
}

#[test]
fn an_unknown_normalisation_is_a_usage_error_naming_the_valid_ones() {
    let dir = Dir::new();
    dir.write("a.csv", "label,x\n0,1\n1,2\n");
    let run = dir.run(&["train", "a.csv", "--normalize", "minmax"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("\"minmax\" (expected auto, none, scale or zscore)"), "{}", run.stderr);
}

/// Values near f32's limit (found by a new-user test): z-scores computed in f64 stay finite,
/// so training works; a row far outside the model's range gets an error naming it from
/// `eval`, `predict` and a held-out evaluation, never a NaN scored as a prediction.
#[test]
fn extreme_values_train_under_zscore_and_never_score_as_predictions() {
    let dir = Dir::new();
    let mut text = String::from("label,a,b\n");
    for i in 0..200 {
        let huge = if i % 10 < 7 { "3.4e38" } else { "-3.4e38" };
        text += &format!("{},{},{huge}\n", i % 2, (i % 7) as f32 / 7.0 - 0.5 + (i % 2) as f32);
    }
    dir.write("huge.csv", &text);
    let args = ["train", "huge.csv", "--normalize", "zscore", "--hidden", "5", "--epochs", "3", "-q"];
    dir.run(&[&args[..], &["--save", "z.st"]].concat()).ok();
    // A model of ordinary values, and a file whose first row is far beyond them.
    dir.write("plain.csv", "label,a,b\n0,0.1,0.2\n1,0.9,0.8\n0,0.2,0.1\n1,0.8,0.9\n");
    dir.run(&[
        "train",
        "plain.csv",
        "--val-split",
        "0",
        "--hidden",
        "5",
        "--epochs",
        "2",
        "-q",
        "--save",
        "p.st",
    ])
    .ok();
    dir.write("far.csv", "label,a,b\n0,3e38,0\n1,0.9,0.8\n");
    for cmd in ["eval", "predict"] {
        let run = dir.run(&[cmd, "-m", "p.st", "far.csv"]);
        assert_eq!(run.code, 1, "{cmd}: {} {}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("far.csv: sample 1 of 2 gives outputs that are not finite"),
            "{}",
            run.stderr
        );
    }
    // Held out: the same row as `--test` while training.
    let run =
        dir.run(&["train", "plain.csv", "--val-split", "0", "--test", "far.csv", "--epochs", "1", "-q"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("held-out sample 1 of 2 gives outputs that are not finite"),
        "{}",
        run.stderr
    );
}
