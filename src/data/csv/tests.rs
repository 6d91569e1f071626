//! Tests of the CSV reader: dialects, layouts, line numbers in errors, the number parser.

use super::rows::parse_number;
use super::*;
use crate::data::LabelCol;

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
    assert_eq!(err, "t.csv:30001:2: column 2 (\"x\"): expected a number, found \"oops\"");
}

#[test]
fn bad_inputs_name_line_and_column() {
    let first = || LoadOptions { label_col: LabelCol::First, ..Default::default() };
    let cases: &[(&str, LoadOptions, &str)] = &[
        ("", LoadOptions::default(), "t.csv: is empty"),
        ("label,x\n", LoadOptions::default(), "no data rows"),
        ("1,2,3\n1,2\n", LoadOptions::default(), "t.csv:2: expected 3 fields like the first row, found 2"),
        ("1,2\n1,nan\n", LoadOptions::default(), "t.csv:2:2: column 2: expected a finite number, found nan"),
        ("1,2\n1,inf\n", LoadOptions::default(), "expected a finite number, found inf"),
        ("1.5,2\n", first(), "t.csv:1:1: column 1: expected a class label"),
        ("-1,2\n", first(), "expected a class label"),
        // Guessed (no header, no `label_col`): checked, and refused when it is no label.
        ("1.5,2\n", LoadOptions::default(), "data row 1 (line 1) holds 1.5, not a whole number"),
        (
            "label,x\n3,2\n",
            LoadOptions { classes: Some(3), ..Default::default() },
            "t.csv:2:1: column 1 (\"label\"): label 3 is out of range for `classes` 3 (expected 0..2)",
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
    assert!(err.to_string().starts_with("t.csv:5:2: "), "{err}");
    let err = parse_str("\n\nlabel,a,b\n0,1,2\n\n1,x,3\n", &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("t.csv:6:2: "), "{err}");
    let err = parse_str("0,1,2\r\n1,2,1e39\r\n", &LoadOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.csv:2:3: column 3: expected a finite number within the f32 range (±3.4e38), found 1e39"
    );
    // Quoted fields go through the csv crate, with the same line numbers.
    let err = parse_str("\"label\",\"a\"\n\n1,\"2\"\n0,\"z\"\n", &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("t.csv:4:2: "), "{err}");
    let d = parse_str("\"label\",\"a\"\n1,\"2.5\"\n", &LoadOptions::default()).unwrap();
    assert_eq!(d.features, vec![2.5]);
    let err = parse_str("a;b;c\n1;2;3\n", &LoadOptions::default()).unwrap_err();
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
