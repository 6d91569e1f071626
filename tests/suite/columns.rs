//! A model remembers how its training file was read: the label column (by position and
//! name), the feature names and the validation split. eval, predict and show read other
//! files the same way, refuse files laid out differently, and can select the held-out rows.

use super::harness::{Dir, Run};

/// Rows of a 3-class problem: 6 "pixel" features in 0..255 and the class last, under a header.
fn rows(n: usize, seed: u64, header: &str, with_label: bool) -> String {
    let mut s = format!("{header}\n");
    let mut x = seed;
    for i in 0..n {
        let class = i % 3;
        let mut fields: Vec<String> = (0..6)
            .map(|j| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let noise = (x >> 33) % 60;
                (if j % 3 == class { 150 + noise } else { noise }).to_string()
            })
            .collect();
        if with_label {
            fields.push(class.to_string());
        }
        s += &fields.join(",");
        s.push('\n');
    }
    s
}

const HEADER: &str = "p0,p1,p2,p3,p4,p5,digit";
const FEATURES: &str = "p0,p1,p2,p3,p4,p5";

fn json(run: Run) -> serde_json::Value {
    serde_json::from_str(&run.ok().stdout).expect("JSON on stdout")
}

/// Trains a label-last model on `train.csv` (20% held out) in `dir`.
fn label_last_model(dir: &Dir) {
    dir.write("train.csv", rows(300, 1, HEADER, true));
    dir.write("test.csv", rows(90, 2, HEADER, true));
    dir.write("inputs.csv", rows(90, 2, FEATURES, false));
    let args = ["train", "--label-col", "last", "--val-split", "0.2", "--epochs", "10", "-q"];
    dir.run(&[&args[..], &["train.csv", "-o", "m.safetensors"]].concat()).ok();
}

#[test]
fn the_label_last_model_is_evaluated_without_label_col() {
    let dir = Dir::new();
    label_last_model(&dir);
    // Without --label-col eval reads the label where training found it: the same figures as
    // with the flag given again (before, the first pixel was read as a 256-class label).
    let plain = json(dir.run(&["eval", "--json", "--model", "m.safetensors", "test.csv"]));
    let given =
        json(dir.run(&["eval", "--json", "--model", "m.safetensors", "test.csv", "--label-col", "last"]));
    assert_eq!(plain["accuracy"], given["accuracy"]);
    assert_eq!(plain["loss"], given["loss"]);
    assert!(plain["accuracy"].as_f64().unwrap() > 0.9, "{plain}");
    assert_eq!(plain["confusion"].as_array().unwrap().len(), 3);

    // predict: unlabeled rows (one column fewer) and labelled rows give the same outputs, the
    // labelled ones with the true class beside the prediction.
    let unlabeled = dir.run(&["predict", "--model", "m.safetensors", "inputs.csv"]).ok().stdout;
    let labelled = dir.run(&["predict", "--model", "m.safetensors", "test.csv"]).ok().stdout;
    assert!(unlabeled.starts_with("prediction,p0,p1,p2\n"), "{unlabeled}");
    assert!(labelled.starts_with("prediction,label,p0,p1,p2\n"), "{labelled}");
    for (u, l) in unlabeled.lines().zip(labelled.lines()).skip(1) {
        let l: Vec<&str> = l.split(',').collect();
        assert_eq!(u, [&l[..1], &l[2..]].concat().join(","));
    }
    let truth: Vec<&str> = labelled.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(truth[..4], ["0", "1", "2", "0"]);
    let line = dir.run(&["predict", "--json", "--model", "m.safetensors", "test.csv"]).ok().stdout;
    let first: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(first["label"], 0);
}

#[test]
fn files_laid_out_differently_are_refused() {
    let dir = Dir::new();
    label_last_model(&dir);
    let refused = |file: &str, cmd: &str| {
        let run = dir.run(&[cmd, "--model", "m.safetensors", file]);
        assert_eq!(run.code, 1, "{cmd} {file} must fail: {}", run.stdout);
        run.stderr
    };
    // A renamed feature: the first difference is named.
    dir.write("renamed.csv", rows(30, 3, "p0,p1,p2,q3,p4,p5,digit", true));
    let e = refused("renamed.csv", "eval");
    assert!(e.contains("column 3 (0-based) is named \"q3\", but the model's feature 4 is \"p3\""), "{e}");
    // The label moved to the front: the names no longer line up.
    let moved: String = rows(30, 3, HEADER, true)
        .lines()
        .map(|l| {
            let (rest, last) = l.rsplit_once(',').unwrap();
            format!("{last},{rest}\n")
        })
        .collect();
    dir.write("moved.csv", moved);
    let e = refused("moved.csv", "predict");
    assert!(
        e.contains(
            "column 6 (0-based) is named \"p5\", but there the model's training file had its label \"digit\""
        ),
        "{e}"
    );
    // eval needs labels: a file without the label column says where the model had it.
    let e = refused("inputs.csv", "eval");
    assert!(e.contains("no label column"), "{e}");
    assert!(e.contains("label \"digit\" in column 6 (0-based)"), "{e}");
    // A file of another width names both widths.
    dir.write("wide.csv", "a,b,c,d,e,f,g,h\n1,2,3,4,5,6,7,0\n");
    let e = refused("wide.csv", "eval");
    assert!(e.contains("rows of 8 fields") && e.contains("rows of 7 fields"), "{e}");
    // A headerless file of the right width is read by position.
    let headerless: String = rows(30, 3, HEADER, true).lines().skip(1).map(|l| format!("{l}\n")).collect();
    dir.write("headerless.csv", headerless);
    json(dir.run(&["eval", "--json", "--model", "m.safetensors", "headerless.csv"]));
}

#[test]
fn split_validation_reads_exactly_the_held_out_rows() {
    let dir = Dir::new();
    dir.write("train.csv", rows(300, 1, HEADER, true));
    let args = ["train", "--label-col", "last", "--val-split", "0.2", "--epochs", "3", "--json"];
    let trained = json(dir.run(&[&args[..], &["train.csv", "-o", "m.safetensors"]].concat()));
    let eval = |split: &str| {
        json(dir.run(&["eval", "--json", "--model", "m.safetensors", "train.csv", "--split", split]))
    };
    let (val, fit) = (eval("validation"), eval("training"));
    assert_eq!(val["samples"], trained["held_out_samples"]);
    assert_eq!(val["accuracy"], trained["held_out_acc"]);
    assert_eq!(fit["samples"], 240);
    // The whole file: the figures mix both, and a note on stderr says so.
    let all = dir.run(&["eval", "--model", "m.safetensors", "train.csv"]).ok();
    assert!(all.stderr.contains("--split validation reads only the 60 held-out rows"), "{}", all.stderr);
    // Other rows, or a model without a split, are refused.
    dir.write("other.csv", rows(300, 9, HEADER, true));
    let run = dir.run(&["eval", "--model", "m.safetensors", "other.csv", "--split", "validation"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is not the data the model was trained on"), "{}", run.stderr);
    let args = ["train", "--label-col", "last", "--val-split", "0", "--epochs", "1", "-q", "train.csv"];
    dir.run(&[&args[..], &["-o", "all.safetensors"]].concat()).ok();
    let run = dir.run(&["eval", "--model", "all.safetensors", "train.csv", "--split", "validation"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("was not trained with --val-split"), "{}", run.stderr);
    // show confusion takes the same rows.
    dir.run(&["show", "confusion", "m.safetensors", "train.csv", "--split", "validation", "-o", "c.png"])
        .ok();
}

#[test]
fn predict_carries_kept_columns_through() {
    let dir = Dir::new();
    label_last_model(&dir);
    // The test file with an id in front and a free-text note (with a comma) at the end.
    let with_ids: String = rows(90, 2, HEADER, true)
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 0 { format!("id,{l},note\n") } else { format!("r{i},{l},\"x, {i}\"\n") })
        .collect();
    dir.write("ids.csv", with_ids);
    let plain = dir.run(&["predict", "--model", "m.safetensors", "test.csv"]).ok().stdout;
    let kept = dir.run(&["predict", "-m", "m.safetensors", "ids.csv", "--keep-cols", "id,note"]).ok().stdout;
    let mut lines = kept.lines();
    assert_eq!(lines.next(), Some("id,note,prediction,label,p0,p1,p2"));
    // The same predictions as without the extra columns, each after its id and note.
    for ((i, k), p) in lines.enumerate().zip(plain.lines().skip(1)) {
        assert_eq!(k, format!("r{},\"x, {}\",{p}", i + 1, i + 1));
    }
    let json = dir.run(&["predict", "-m", "m.safetensors", "ids.csv", "--keep-cols", "0,8", "--json"]).ok();
    let first: serde_json::Value = serde_json::from_str(json.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["kept"], serde_json::json!({"id": "r1", "note": "x, 1"}));
    // Without --keep-cols the extra columns are an error, not features; a wrong name is named.
    let run = dir.run(&["predict", "-m", "m.safetensors", "ids.csv"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let run = dir.run(&["predict", "-m", "m.safetensors", "ids.csv", "--keep-cols", "idx"]);
    assert!(run.stderr.contains("--keep-cols: no column named \"idx\""), "{}", run.stderr);
    assert!(run.stderr.contains("the closest are \"id\""), "{}", run.stderr);
}

#[test]
fn held_out_predictions_keep_file_order_and_id_columns_are_flagged() {
    let dir = Dir::new();
    label_last_model(&dir);
    // predict --split validation: the held-out rows in the file's order (a subsequence of
    // the predictions for every row), so they can be matched back to the file.
    let all = dir.run(&["predict", "-m", "m.safetensors", "train.csv"]).ok().stdout;
    let val = dir.run(&["predict", "-m", "m.safetensors", "train.csv", "--split", "validation"]).ok().stdout;
    let mut rest = all.lines().skip(1);
    let held: Vec<&str> = val.lines().skip(1).collect();
    assert_eq!(held.len(), 60);
    for line in &held {
        assert!(rest.any(|l| l == *line), "{line} is out of file order");
    }
    // A feature column named like a row id is read as one, with a warning.
    let with_id: String = rows(30, 4, HEADER, true)
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 0 { format!("id,{l}\n") } else { format!("{i},{l}\n") })
        .collect();
    dir.write("ids.csv", with_id);
    let run =
        dir.run(&["train", "ids.csv", "--label-col", "last", "--epochs", "1", "-o", "i.safetensors"]).ok();
    assert!(run.stderr.contains("the column \"id\" looks like a row id or index"), "{}", run.stderr);
}

#[test]
fn review_findings_stay_fixed() {
    let dir = Dir::new();
    // A guessed first column of unique names (row ids) is not a label of 40 classes.
    let ids: String = (0..40).map(|i| format!("img_{i:03},{},{}\n", i % 7, i % 2)).collect();
    dir.write("ids.csv", ids);
    let run = dir.run(&["train", "ids.csv", "--epochs", "1"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("the first column's names do not look like class labels"), "{}", run.stderr);
    // --classes beyond the labels, then --split validation on the same file: the same rows.
    dir.write("train.csv", rows(300, 1, HEADER, true));
    let args = ["train", "train.csv", "--label-col", "last", "--classes", "5", "--epochs", "2", "--json"];
    let trained = json(dir.run(&[&args[..], &["-o", "c5.safetensors"]].concat()));
    let val =
        json(dir.run(&["eval", "--json", "-m", "c5.safetensors", "train.csv", "--split", "validation"]));
    assert_eq!(val["accuracy"], trained["held_out_acc"]);
    // --missing mean with --val-split and --test: the test file's gaps take the training means.
    let gappy = |seed| -> String {
        let text = rows(120, seed, HEADER, true);
        let gap = |(i, l): (usize, &str)| match i {
            2..5 => format!(",{}\n", l.split_once(',').unwrap().1),
            _ => format!("{l}\n"),
        };
        text.lines().enumerate().map(gap).collect()
    };
    dir.write("gaps.csv", gappy(5));
    dir.write("gaps_test.csv", gappy(6));
    let args = ["train", "gaps.csv", "--label-col", "last", "--missing", "mean", "--val-split", "0.2"];
    let run = json(
        dir.run(&[&args[..], &["--test", "gaps_test.csv", "--epochs", "2", "--json", "-o", "g.st"]].concat()),
    );
    assert_eq!(run["test_samples"], 120);
}

#[test]
fn an_id_column_kept_out_of_training_is_kept_out_everywhere() {
    let dir = Dir::new();
    let with_id = |n, seed| -> String {
        let text = rows(n, seed, HEADER, true);
        let line = |(i, l): (usize, &str)| if i == 0 { format!("id,{l}\n") } else { format!("r{i},{l}\n") };
        text.lines().enumerate().map(line).collect()
    };
    dir.write("train.csv", with_id(300, 1));
    dir.write("test.csv", with_id(90, 2));
    dir.write("plain.csv", rows(90, 2, HEADER, true));
    // Without a named label, a guess with kept columns is refused.
    let run = dir.run(&["train", "train.csv", "--keep-cols", "id", "--epochs", "1"]);
    assert!(
        run.stderr.contains("with --keep-cols, name the label column with --label-col"),
        "{}",
        run.stderr
    );
    let args =
        ["train", "train.csv", "--keep-cols", "id", "--label-col", "digit", "--epochs", "10", "--json"];
    let trained = json(dir.run(&[&args[..], &["-o", "m.safetensors"]].concat()));
    let model = bp_par::model::load(&dir.path("m.safetensors")).unwrap();
    assert_eq!(model.net.arch().n_in(), 6, "the id is not a feature");
    assert_eq!(model.schema.kept_cols, Some(vec!["id".to_string()]));
    assert_eq!(model.schema.label.as_ref().map(|l| l.index), Some(6));
    // eval leaves the id out without being told, with or without the column in the file.
    let e = json(dir.run(&["eval", "--json", "-m", "m.safetensors", "test.csv"]));
    let plain = json(dir.run(&["eval", "--json", "-m", "m.safetensors", "plain.csv"]));
    assert_eq!(e["accuracy"], plain["accuracy"]);
    assert!(e["accuracy"].as_f64().unwrap() > 0.9, "{e}");
    // predict writes it in front; --split validation finds the held-out rows.
    let p = dir.run(&["predict", "-m", "m.safetensors", "test.csv"]).ok().stdout;
    assert!(p.starts_with("id,prediction,label,p0,p1,p2\nr1,"), "{p}");
    let v = json(dir.run(&["eval", "--json", "-m", "m.safetensors", "train.csv", "--split", "validation"]));
    assert_eq!(v["accuracy"], trained["held_out_acc"]);
}
