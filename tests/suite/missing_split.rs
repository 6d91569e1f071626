//! `--missing mean` with a validation split: the fill values are the training rows' means,
//! not the whole file's (the held-out rows must not leak into them), they are the ones stored
//! in the model, and `eval --split validation` still finds the held-out rows (the split's
//! fingerprint is of the file as filled with the stored means).

use super::harness::Dir;
use bp_par::data::{LoadOptions, Missing, load};

/// 40 rows of two classes: `a` is small except in 4 rows of 1000 (one of which is held out
/// for most seeds), and missing in 3 rows; `b` numbers the rows.
fn csv() -> String {
    let mut s = String::from("label,a,b\n");
    for r in 0..40 {
        let a = match r {
            3 | 17 | 30 => String::new(),
            5 | 11 | 22 | 36 => "1000".into(),
            _ => format!("{}", r % 7),
        };
        s += &format!("{},{a},{r}\n", r % 2);
    }
    s
}

/// The mean of column `col` over `rows` of `features` (2 per row), missing values skipped.
fn mean(features: &[f32], rows: &[usize], col: usize) -> f32 {
    let v: Vec<f64> = rows.iter().map(|&r| features[2 * r + col] as f64).filter(|x| !x.is_nan()).collect();
    (v.iter().sum::<f64>() / v.len() as f64) as f32
}

#[test]
fn missing_means_are_the_training_rows_means() {
    let dir = Dir::new();
    let data = dir.write("gaps.csv", csv());
    let args = ["train", "gaps.csv", "--missing", "mean", "--val-split", "0.25", "--seed", "3"];
    dir.run(&[&args[..], &["--hidden", "4", "--epochs", "2", "-q", "--save", "m.st"]].concat()).ok();
    let model = bp_par::model::load(&dir.path("m.st")).unwrap();
    let fill = model.schema.missing_fill.clone().expect("the model stores the fill values");

    // Which rows trained: the same split, drawn by the library from the file's rows (column b
    // numbers them).
    let raw = load(&data, &LoadOptions { missing: Missing::Keep, ..LoadOptions::default() }).unwrap();
    let (train, held) = raw.split(0.25, 3).unwrap();
    let numbers = |d: &bp_par::data::Dataset| -> Vec<usize> {
        (0..d.n_samples()).map(|i| d.row(i)[1] as usize).collect()
    };
    let (train_rows, held_rows) = (numbers(&train), numbers(&held));
    assert_eq!((train_rows.len(), held_rows.len()), (30, 10));
    let expected = [mean(raw.features(), &train_rows, 0), mean(raw.features(), &train_rows, 1)];
    assert_eq!(fill, expected, "the stored fill values are the training rows' means");
    // The held-out rows change the mean, so the test tells the two apart.
    let all: Vec<usize> = (0..40).collect();
    assert_ne!(fill[0], mean(raw.features(), &all, 0), "the whole file's mean of a");

    // eval --split validation reads the file with the stored means and finds the same rows.
    let run = dir.run(&["eval", "-m", "m.st", "gaps.csv", "--missing", "mean", "--split", "validation"]).ok();
    assert!(run.stdout.contains("m.st on gaps.csv: 10 samples"), "{}", run.stdout);
}
