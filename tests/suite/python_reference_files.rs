//! python/predict.py against `bp-par predict` on the files people have: a label column of
//! class names (one with a comma and a quote, so the header's `p_NAME` is quoted), a
//! Semeion-like whitespace file with a one-hot label, a file with every kind of missing value
//! under `--missing mean` (filled with the model's stored means, or 0 with `--missing zero`),
//! a European semicolon file with decimal commas (detected, given, gzipped), a tab file, and
//! numpy `.npy` (with its `y` file beside it) and `.npz` arrays written by numpy, and an id
//! column kept out of training (`--keep-cols id`) and written in front. Every value,
//! class and true label must agree, and a missing value the model has no fill for is refused
//! by both.
//!
//! Needs python3 with numpy and safetensors (see `python_reference`).

use super::harness::Dir;
use super::python_reference::{Case, join, reference, require_python, rows, run_cases};
use std::io::Write;
use std::process::Command;

/// Three class names; the third has a comma and a quote.
const NAMES: [&str; 3] = ["setosa", "versicolor", "odd, \"quoted\""];

/// `text` as a CSV field (quoted when it holds a comma or a quote).
fn field(text: &str) -> String {
    if text.contains([',', '"']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// The missing-value spellings bp-par knows, in mixed case.
const MISSING: [&str; 7] = ["", "NA", "n/a", "NaN", "null", "?", "Nan"];

/// Writes the files (90 rows each, the features and labels of `python_reference::rows`).
fn write_files(dir: &Dir) {
    let header = "f0,f1,f2,f3,f4";
    let mut names = format!("{header},species\n");
    let mut one_hot = String::new();
    let mut missing = format!("label,{header}\n");
    let mut missing_tab = String::new();
    let mut semicolon = format!("label;{}\n", header.replace(',', ";"));
    let mut features = String::new();
    let mut ids = format!("id,label,{header}\n");
    for (i, (x, label, _, _)) in rows().iter().enumerate() {
        let xs = join(x);
        features += &format!("{xs}\n");
        ids += &format!("row {i},{label},{xs}\n");
        names += &format!("{xs},{}\n", field(NAMES[*label]));
        // Semeion writes its pixels as `1.0000` and its one-hot label as `0 1 0`.
        let pixels: Vec<String> = x.iter().map(|v| format!("{v:.4}")).collect();
        let hot: Vec<&str> = (0..3).map(|c| if c == *label { "1" } else { "0" }).collect();
        one_hot += &format!("{} {} \n", pixels.join(" "), hot.join(" "));
        let mut cells: Vec<String> = x.iter().map(ToString::to_string).collect();
        if i % 5 == 1 {
            cells[i % 4] = MISSING[i % MISSING.len()].to_string();
        }
        missing += &format!("{label},{}\n", cells.join(","));
        missing_tab += &format!("{}\n", cells.join("\t"));
        let decimal: Vec<String> = x.iter().map(|v| format!("{:.2}", v / 7.0).replace('.', ",")).collect();
        semicolon += &format!("{label};{}\n", decimal.join(";"));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(semicolon.as_bytes()).unwrap();
    dir.write("semicolon.csv.gz", gz.finish().unwrap());
    for (name, text) in [
        ("names.csv", names),
        ("semeion.data", one_hot),
        ("missing.csv", missing),
        ("missing.tsv", missing_tab),
        ("semicolon.csv", semicolon),
        ("features.csv", features),
        ("ids.csv", ids),
    ] {
        dir.write(name, text);
    }
    // The arrays as numpy writes them: x_test.npy with y_test.npy beside it, and a .npz.
    let labels: Vec<String> = rows().iter().map(|r| r.1.to_string()).collect();
    let script = format!(
        "import numpy as np\nx = np.loadtxt('features.csv', delimiter=',', dtype=np.float32)\n\
         y = np.array([{}], dtype=np.int64)\nnp.save('x_test.npy', x)\nnp.save('y_test.npy', y)\n\
         np.save('pixels.npy', x.astype(np.uint8))\nnp.savez_compressed('test.npz', x=x.astype(np.float64), y=y)\n\
         import struct\n\
         open('rows-images-idx3-ubyte', 'wb').write(b'\\0\\0\\x08\\x02' + struct.pack('>II', *x.shape) + x.astype(np.uint8).tobytes())\n\
         open('rows-labels-idx1-ubyte', 'wb').write(b'\\0\\0\\x08\\x01' + struct.pack('>I', len(y)) + y.astype('u1').tobytes())\n\
         t = np.column_stack([y, x]).astype(object)\n\
         body = ''.join(','.join([str(int(r[0]))] + [repr(float(v)) for v in r[1:]]) + '\\n' for r in t)\n\
         open('pandas.csv', 'w').write(','.join(str(i) for i in range(6)) + '\\n' + body)\n\
         open('summary.csv', 'w').write('90,5,a,b,c\\n' + ''.join(l[l.index(',') + 1:].rstrip() + ',' + l[:l.index(',')] + '\\n' for l in body.splitlines()))\n",
        labels.join(",")
    );
    let out = Command::new("python3").args(["-c", &script]).current_dir(dir.dir.path()).output().unwrap();
    assert!(out.status.success(), "numpy: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
#[ignore = "needs python3 with numpy and safetensors: --ignored runs it (.ci/run does)"]
fn the_numpy_reference_reads_the_files_people_have_as_bp_par_does() {
    require_python();
    let dir = Dir::new();
    write_files(&dir);
    let cases: &[Case] = &[
        (
            "class-names",
            "names.csv",
            &["--label-col", "species", "--normalize", "zscore"],
            &[("names.csv", &[]), ("features.csv", &[])],
        ),
        (
            "one-hot",
            "semeion.data",
            &["--one-hot", "3", "--activation", "tanh"],
            &[("semeion.data", &[]), ("features.csv", &[])],
        ),
        (
            "missing-mean",
            "missing.csv",
            &["--missing", "mean", "--normalize", "zscore"],
            &[
                ("missing.csv", &[]),
                ("missing.csv", &["--missing", "zero"]),
                ("missing.tsv", &[]),
                ("missing.tsv", &["--delimiter", "tab", "--missing", "mean"]),
            ],
        ),
        (
            "semicolon",
            "semicolon.csv",
            &["--normalize", "scale"],
            &[
                ("semicolon.csv", &[]),
                ("semicolon.csv", &["--delimiter", "semicolon"]),
                ("semicolon.csv.gz", &[]),
            ],
        ),
        (
            "kept-id",
            "ids.csv",
            &["--keep-cols", "id", "--normalize", "zscore"],
            &[("ids.csv", &[]), ("features.csv", &[])],
        ),
        (
            "arrays",
            "x_test.npy",
            &["--activation", "relu", "--normalize", "zscore"],
            &[
                ("x_test.npy", &[]),
                ("pixels.npy", &[]),
                ("test.npz", &[]),
                ("features.csv", &[]),
                ("rows-images-idx3-ubyte", &[]),
            ],
        ),
        // pandas' header of column numbers is a header, not a row.
        ("pandas", "pandas.csv", &["--normalize", "zscore"], &[("pandas.csv", &[]), ("features.csv", &[])]),
        // scikit-learn's summary first line, skipped.
        (
            "summary",
            "summary.csv",
            &["--skip-rows", "1", "--label-col", "last", "--normalize", "zscore"],
            &[("summary.csv", &["--skip-rows", "1"])],
        ),
    ];
    assert_eq!(run_cases(&dir, cases), 90 * 21);
}

#[test]
#[ignore = "needs python3 with numpy and safetensors: --ignored runs it (.ci/run does)"]
fn a_missing_value_without_a_stored_fill_is_refused_by_both() {
    require_python();
    let dir = Dir::new();
    write_files(&dir);
    dir.run(&[
        "train",
        "semicolon.csv",
        "--epochs",
        "1",
        "--val-split",
        "0",
        "--save",
        "m.safetensors",
        "-q",
    ])
    .ok();
    let rs = dir.run(&["predict", "--model", "m.safetensors", "missing.tsv"]);
    assert_ne!(rs.code, 0, "bp-par predicted with missing values and no fill");
    assert!(rs.stderr.contains("missing value"), "{}", rs.stderr);
    let py = reference(&dir, &["m.safetensors", "missing.tsv"]);
    let said = String::from_utf8_lossy(&py.stderr);
    assert!(!py.status.success(), "python predicted with missing values and no fill");
    assert!(said.contains("missing value") && said.contains("data row 2"), "{said}");
}
