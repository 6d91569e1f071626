//! Tests of the CSV reader: dialects, layouts, line numbers in errors, the number parser.

use super::rows::parse_number;
use super::*;
use crate::data::{ClassNames, Delimiter, LabelCol, Missing, Targets};

fn parse_str(s: &str, opts: &LoadOptions) -> Result<Dataset> {
    parse(Path::new("t.csv"), s.as_bytes(), opts)
}

#[test]
fn header_bom_crlf_and_trailing_blank_lines() {
    let d = parse_str("\u{feff}a,label,b\r\n1,2,3\r\n4, 0 ,6\r\n\r\n\n", &LoadOptions::default()).unwrap();
    assert_eq!(d.n_features, 2);
    assert_eq!(d.features, vec![1.0, 3.0, 4.0, 6.0]);
    assert_eq!(d.targets, Targets::Classes { labels: vec![2, 0], n_classes: 3 });
}

#[test]
fn no_header_label_first_or_last_and_targets() {
    let d = parse_str("1,0.5,0.25\n0,1,2\n", &LoadOptions::default()).unwrap();
    assert_eq!(d.labels(), Some(&[1, 0][..]));
    let opts = LoadOptions { label_col: LabelCol::Last, ..Default::default() };
    let d = parse_str("0.5,0.25,1\n1,2,0\n", &opts).unwrap();
    assert_eq!(d.features, vec![0.5, 0.25, 1.0, 2.0]);
    let opts = LoadOptions { targets: Some(2), ..Default::default() };
    let d = parse_str("5,10,0.01,0.99\n", &opts).unwrap();
    assert_eq!(d.targets, Targets::Values { values: vec![0.01, 0.99], n_outputs: 2 });
}

#[test]
fn chunks_keep_line_numbers() {
    // Many rows so the file splits into several chunks; the bad one is at line 30001.
    let mut s = String::from("label,x\n");
    for i in 0..40_000 {
        if i == 29_999 {
            s.push_str("1,oops\n");
        } else {
            s.push_str("1,0.123456789\n");
        }
    }
    let chunks = line_chunks(s.as_bytes(), 4096);
    assert!(chunks.len() > 10 && chunks.iter().all(|c| c.ends_with(b"\n")));
    let err = parse_str(&s, &LoadOptions::default()).unwrap_err().to_string();
    assert_eq!(err, "t.csv:30001: column 1 (\"x\", 0-based): expected a number, found \"oops\"");
}

#[test]
fn bad_inputs_name_line_and_column() {
    let first = || LoadOptions { label_col: LabelCol::First, ..Default::default() };
    let cases: &[(&str, LoadOptions, &str)] = &[
        ("", LoadOptions::default(), "t.csv: is empty"),
        ("label,x\n", LoadOptions::default(), "no data rows"),
        ("1,2,3\n1,2\n", LoadOptions::default(), "t.csv:2: expected 3 fields like the first row, found 2"),
        ("1,2\n1,nan\n", LoadOptions::default(), "t.csv:2: column 1 (0-based): missing value (\"nan\")"),
        ("1,2\n1,inf\n", LoadOptions::default(), "expected a finite number, found inf"),
        ("1.5,2\n", first(), "t.csv:1: column 0 (0-based): expected a class label"),
        ("-1,2\n", first(), "expected a class label"),
        // Guessed (no header, no `label_col`): checked, and refused when it is no label.
        ("1.5,2\n", LoadOptions::default(), "data row 1 (line 1) holds 1.5, not a whole number"),
        (
            "label,x\n3,2\n",
            LoadOptions { classes: Some(3), ..Default::default() },
            "t.csv:2: column 0 (\"label\", 0-based): label 3 is out of range for `classes` 3 (expected 0..2)",
        ),
        (
            "a,b\n1,2\n",
            LoadOptions { label_col: LabelCol::Name("z".into()), ..Default::default() },
            "no column named \"z\"",
        ),
        ("1,2\n", LoadOptions { targets: Some(2), ..Default::default() }, "`targets` 2 needs"),
    ];
    for (text, opts, want) in cases {
        let err = parse_str(text, opts).unwrap_err().to_string();
        assert!(err.contains(want), "{text:?}: got {err:?}, want {want:?}");
    }
}

#[test]
fn line_numbers_count_blank_lines_and_crlf() {
    let err = parse_str("label,a,b\r\n0,1,2\r\n\r\n\r\n1,x,3\r\n", &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("t.csv:5: column 1 (\"a\", 0-based): "), "{err}");
    let err = parse_str("\n\nlabel,a,b\n0,1,2\n\n1,x,3\n", &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("t.csv:6: column 1 (\"a\", 0-based): "), "{err}");
    let err = parse_str("0,1,2\r\n1,2,1e39\r\n", &LoadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:2: column 2 (0-based): expected a finite number within the f32 range (±3.4e38), found 1e39"
    );
    // Quoted fields go through the csv crate, with the same line numbers.
    let err = parse_str("\"label\",\"a\"\n\n1,\"2\"\n0,\"z\"\n", &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("t.csv:4: column 1 (\"a\", 0-based): "), "{err}");
    let d = parse_str("\"label\",\"a\"\n1,\"2.5\"\n", &LoadOptions::default()).unwrap();
    assert_eq!(d.features, vec![2.5]);
    let err = parse_str("a|b|c\n1|2|3\n", &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("single column"), "{err}");
}

#[test]
fn integer_fast_path_agrees_with_the_standard_parser() {
    for text in ["0", "007", "255", "123456789", "1234567890", "4294967295", "1e3", " 12 ", "-5", "3.25"] {
        let want = text.trim().parse::<f64>().unwrap();
        assert_eq!(parse_number(text.as_bytes()), Some(want), "{text:?}");
    }
    assert_eq!(parse_number(b""), None);
    assert_eq!(parse_number(b"12a"), None);
}

#[test]
fn unlabeled_input_of_the_model_width() {
    let opts = LoadOptions { unlabeled_width: Some(2), ..Default::default() };
    let d = parse_str("1,2\n3,4\n", &opts).unwrap();
    assert_eq!(d.targets, Targets::None);
    assert_eq!(d.n_samples(), 2);
}

#[test]
fn a_guessed_label_column_is_checked() {
    // Labels first, every class present: taken.
    let d = parse_str("0,7,9\n1,8,200\n2,9,3\n0,1,1\n", &LoadOptions::default()).unwrap();
    assert_eq!(d.labels(), Some(&[0, 1, 2, 0][..]));
    assert_eq!(d.features, vec![7.0, 9.0, 8.0, 200.0, 9.0, 3.0, 1.0, 1.0]);
    assert_eq!(d.schema.label.map(|l| l.index), Some(0));
    // A constant first column (a corner pixel) with the labels last: refused, naming the last.
    let err = parse_str("0,5,1\n0,6,0\n0,7,1\n0,8,0\n", &LoadOptions::default()).unwrap_err().to_string();
    assert!(
        err.contains("every row holds 0; the last column does (2 classes, 0..1): give `label_col` last"),
        "{err}"
    );
    // A class missing from 0..max (value 2 of 0..3 never occurs).
    let err = parse_str("0,1\n1,0\n3,1\n3,0\n", &LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("class 2 of 0..3 would have 0 rows"), "{err}");
    // Named by the header, or given: not guessed, not checked.
    let d = parse_str("a,y\n0.5,3\n0.25,0\n", &LoadOptions::default()).unwrap();
    assert_eq!(d.labels(), Some(&[3, 0][..]));
    let opts = LoadOptions { label_col: LabelCol::Last, ..Default::default() };
    assert!(parse_str("0,5,1\n0,6,0\n", &opts).is_ok());
}

fn with(f: impl FnOnce(&mut LoadOptions)) -> LoadOptions {
    let mut o = LoadOptions::default();
    f(&mut o);
    o
}

#[test]
fn separators_are_detected() {
    // USPS zip.train: leading spaces, label first, values in [-1, 1].
    let first = with(|o| o.label_col = LabelCol::First);
    let d = parse_str(" 6.0000 -1.0000 0.5\n 5 1 -0.25  \n", &first).unwrap();
    assert_eq!((d.n_features, d.labels()), (2, Some(&[6, 5][..])));
    assert_eq!(d.features, vec![-1.0, 0.5, 1.0, -0.25]);
    // European CSV: semicolons, decimal commas, a header.
    let d = parse_str("a;b;label\n1,5;2;0\n-0,25;3,0;1\n", &LoadOptions::default()).unwrap();
    assert_eq!(d.features, vec![1.5, 2.0, -0.25, 3.0]);
    // TSV with an empty (missing) field: tab, not whitespace.
    let err = parse_str("label\tx\ty\n0\t\t1\n1\t2\t3\n", &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("t.csv:2: column 1 (\"x\", 0-based): missing value"), "{err}");
    // Commas with spaces after them: commas (more numbers), not whitespace.
    let d = parse_str("1, 2, 3\n0, 4, 5\n", &LoadOptions::default()).unwrap();
    assert_eq!(d.features, vec![2.0, 3.0, 4.0, 5.0]);
    // A given separator is used as is.
    let d = parse_str("1|2|3\n", &with(|o| o.delimiter = Delimiter::Char(b'|'))).unwrap();
    assert_eq!(d.features, vec![2.0, 3.0]);
    let err = parse_str("1,2,3\n", &with(|o| o.delimiter = Delimiter::Char(b';'))).unwrap_err();
    assert!(err.to_string().contains("single column when split on semicolon"), "{err}");
    // Two readings that fit equally well are refused, not guessed.
    let err = parse_str("a b c,d\ne f g,h\n", &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().contains("give `delimiter`"), "{err}");
}

#[test]
fn whitespace_files_split_into_chunks_keep_line_numbers() {
    let mut s = String::new();
    for i in 0..30_000 {
        s.push_str(if i == 20_000 { "  1 0.5 x\n" } else { "  1   0.5\t0.25 \n" });
    }
    let err = parse_str(&s, &LoadOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "t.csv:20001: column 2 (0-based): expected a number, found \"x\"");
}

#[test]
fn missing_values_are_refused_filled_or_dropped() {
    let text = "label,a,b\n0,1,NA\n1,?,4\n0,3,8\n";
    let err = parse_str(text, &LoadOptions::default()).unwrap_err().to_string();
    assert_eq!(
        err,
        "t.csv:2: column 2 (\"b\", 0-based): missing value (\"NA\"); the file has 2 missing values: \
         give `missing` mean, zero or drop to fill them or drop their rows"
    );
    // Means over the rows that have the value: a (1+3)/2 = 2, b (4+8)/2 = 6.
    let d = parse_str(text, &with(|o| o.missing = Missing::Mean)).unwrap();
    assert_eq!(d.features, vec![1.0, 6.0, 2.0, 4.0, 3.0, 8.0]);
    assert_eq!(d.schema.missing_fill, Some(vec![2.0, 6.0]));
    let d = parse_str(text, &with(|o| o.missing = Missing::Zero)).unwrap();
    assert_eq!(d.features, vec![1.0, 0.0, 0.0, 4.0, 3.0, 8.0]);
    let d = parse_str(text, &with(|o| o.missing = Missing::Drop)).unwrap();
    assert_eq!((d.features.to_vec(), d.labels()), (vec![3.0, 8.0], Some(&[0][..])));
    assert_eq!(d.schema.missing_fill, None);
    // A model's stored values, not the file's means.
    let d = parse_str(text, &with(|o| o.missing = Missing::Fill(vec![-1.0, -2.0]))).unwrap();
    assert_eq!(d.features, vec![1.0, -2.0, -1.0, 4.0, 3.0, 8.0]);
    // A missing label: dropped under drop, an error under mean.
    let text = "label,a\n0,1\n,2\n1,3\n";
    let d = parse_str(text, &with(|o| o.missing = Missing::Drop)).unwrap();
    assert_eq!(d.labels(), Some(&[0, 1][..]));
    let err = parse_str(text, &with(|o| o.missing = Missing::Mean)).unwrap_err().to_string();
    assert!(
        err.starts_with("t.csv:3: column 0 (\"label\", 0-based): the label or target is missing"),
        "{err}"
    );
    // A column with no value has no mean.
    let err = parse_str("label,a,b\n0,NA,1\n1,NA,2\n", &with(|o| o.missing = Missing::Mean)).unwrap_err();
    assert!(err.to_string().contains("column 1 (\"a\", 0-based) has no values"), "{err}");
    // A first row with a missing value is not a header.
    let d = parse_str("0,,1\n1,2,3\n", &with(|o| o.missing = Missing::Zero)).unwrap();
    assert_eq!(d.n_samples(), 2);
}

#[test]
fn class_names_map_in_sorted_order() {
    // No header: the first row's label is a name, not a header.
    let text = "5.1,3.5,setosa\n6.3,2.9,virginica\n5.9,3.0,versicolor\n5.0,3.4,setosa\n";
    let d = parse_str(text, &with(|o| o.label_col = LabelCol::Last)).unwrap();
    assert_eq!(d.targets, Targets::Classes { labels: vec![0, 2, 1, 0], n_classes: 3 });
    let names = vec!["setosa".to_string(), "versicolor".into(), "virginica".into()];
    assert_eq!(d.schema.class_names, Some(names.clone()));
    assert_eq!(d.schema.label.as_ref().map(|l| l.index), Some(2));
    // A model's names: its order, and an unknown name is an error naming it and the line.
    let known = with(|o| {
        o.label_col = LabelCol::Last;
        o.class_names = ClassNames::Names(vec!["virginica".into(), "setosa".into(), "versicolor".into()]);
    });
    assert_eq!(parse_str(text, &known).unwrap().labels(), Some(&[1, 0, 2, 1][..]));
    let err = parse_str("1,2,setosa\n1,2,dog\n", &known).unwrap_err().to_string();
    assert!(
        err.starts_with("t.csv:2: column 2 (0-based): label \"dog\" is not one of the model's 3 classes"),
        "{err}"
    );
    // A model of numbered classes refuses names.
    let numbers = with(|o| o.class_names = ClassNames::Numbers);
    let err = parse_str("cat,1\ndog,2\n", &numbers).unwrap_err().to_string();
    assert!(err.contains("expected a class label (an integer"), "{err}");
    // Names found late in a file of many chunks are still all read.
    let mut s = String::from("label,x\n");
    for i in 0..60_000 {
        s.push_str(if i < 50_000 { "dog,0.123456789\n" } else { "cat,0.5\n" });
    }
    let d = parse_str(&s, &LoadOptions::default()).unwrap();
    assert_eq!(d.schema.class_names, Some(vec!["cat".to_string(), "dog".into()]));
    assert_eq!(d.labels().map(|l| (l[0], l[59_999])), Some((1, 0)));
    // Numbers with a stray name are refused, naming the stray one (not read as two classes).
    let mixed = s.replacen("dog", "7", 50_000);
    let err = parse_str(&mixed, &LoadOptions::default()).unwrap_err().to_string();
    assert!(
        err.contains("t.csv:50002: column 0 (\"label\", 0-based): label \"cat\" is not a whole number"),
        "{err}"
    );
}

#[test]
fn one_hot_label_columns() {
    // Semeion: whitespace, features then a one-hot label, trailing spaces.
    let text = "0.0000 1.0000 0.0000 0 1 0 \n1.0000 1.0000 0.0000 1 0 0 \n";
    let d = parse_str(text, &with(|o| o.one_hot = Some(3))).unwrap();
    assert_eq!(d.targets, Targets::Classes { labels: vec![1, 0], n_classes: 3 });
    assert_eq!((d.n_features, d.schema.one_hot, d.schema.label.clone()), (3, Some(3), None));
    let err = parse_str("1 0 1 1\n", &with(|o| o.one_hot = Some(2))).unwrap_err().to_string();
    assert_eq!(
        err,
        "t.csv:1: the `one_hot` label (columns 3-4) should hold exactly one 1 and 0s, found 1s in columns 3, 4"
    );
    let err = parse_str("1 0 0 0\n", &with(|o| o.one_hot = Some(2))).unwrap_err().to_string();
    assert!(err.ends_with("found no 1"), "{err}");
    let err = parse_str("1 0 0.5 0\n", &with(|o| o.one_hot = Some(2))).unwrap_err().to_string();
    assert!(err.starts_with("t.csv:1: column 2 (0-based): expected 0 or 1"), "{err}");
    let err = parse_str("1 0 1\n", &with(|o| (o.one_hot, o.classes) = (Some(2), Some(3)))).unwrap_err();
    assert!(err.to_string().contains("`classes` 3 disagrees with `one_hot` 2"), "{err}");
    // A model's unlabeled inputs: as many columns as it has features.
    let d = parse_str("1 0 1\n", &with(|o| (o.one_hot, o.unlabeled_width) = (Some(2), Some(3)))).unwrap();
    assert_eq!((d.n_features, d.targets), (3, Targets::None));
}

#[test]
fn a_guess_refuses_a_one_hot_tail_and_two_label_like_ends() {
    // Semeion without `one_hot`: binary pixels, then a one-hot class of 3 (the first pixel
    // would pass as a 2-class label).
    let rows = ["1,0,1,0,1,0", "0,1,1,1,0,0", "1,1,0,0,0,1", "0,0,1,0,1,0", "1,0,0,1,0,0", "0,1,0,0,0,1"];
    let text = rows.join("\n") + "\n";
    let err = parse_str(&text, &LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("the last 3 columns hold a single 1 and 0s on every row"), "{err}");
    assert!(err.contains("give `one_hot` 3"), "{err}");
    let d = parse_str(&text, &with(|o| o.one_hot = Some(3))).unwrap();
    assert_eq!(d.labels(), Some(&[1, 0, 2, 1, 0, 2][..]));
    // A small count first and the class last: both could be labels, so neither is taken.
    let text = "0,5.5,2\n1,6.5,0\n2,7.5,1\n0,5.0,2\n1,6.0,0\n2,7.0,1\n";
    let err = parse_str(text, &LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("both end columns look like class labels"), "{err}");
    assert!(parse_str(text, &with(|o| o.label_col = LabelCol::Last)).is_ok());
}

#[test]
fn two_label_like_columns_are_not_guessed_between() {
    let text = "0,1\n1,0\n2,1\n0,0\n1,1\n2,0\n";
    let err = parse_str(text, &LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("both end columns look like class labels"), "{err}");
}
