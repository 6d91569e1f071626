//! numpy arrays read directly: a `.npy` pair found by name, a `.npz` (stored and deflated),
//! every numeric dtype in both byte orders and both memory orders, 3-D arrays as images, and
//! bad files refused with what is wrong. The files are written by a small writer here (the
//! format is a header dict and the raw elements); one test also uses numpy itself when
//! python3 has it, and skips without.

use super::harness::Dir;
use bp_par::data::{LoadOptions, Targets, load};
use std::io::Write;

/// A `.npy` file (format 1.0) of `shape` and `descr` holding the raw `data`.
fn npy(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape = if shape.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let f = if fortran { "True" } else { "False" };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
    // numpy pads the header with spaces so the data starts on a 64-byte boundary.
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(h.len() as u16).to_le_bytes());
    v.extend_from_slice(h.as_bytes());
    v.extend_from_slice(data);
    v
}

/// A zip archive of `name.npy` entries, deflated or stored.
fn npz(entries: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buf);
    let method = if deflate { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        zip.start_file(format!("{name}.npy"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    buf.into_inner()
}

/// 60 samples of 16 features in 0..=200 and 3 classes by a rule on them: (features, labels).
fn samples() -> (Vec<u8>, Vec<u8>) {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..60 {
        let row: Vec<u8> = (0..16)
            .map(|_| {
                // Knuth's MMIX linear congruential generator, high bits.
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 33) % 201) as u8
            })
            .collect();
        let s: u32 = row[..8].iter().map(|&v| v as u32).sum();
        labels.push((s * 3 / 1601) as u8);
        features.extend(row);
    }
    (features, labels)
}

/// The features as f32, for comparison.
fn as_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| b as f32).collect()
}

#[test]
fn a_npy_pair_in_every_dtype_loads_the_same_and_trains() {
    let dir = Dir::new();
    let (x, y) = samples();
    let (n, d) = (60, 16);
    let want = as_f32(&x);
    let want_labels: Vec<u32> = y.iter().map(|&l| l as u32).collect();
    let le = |f: fn(u8) -> Vec<u8>| x.iter().flat_map(|&v| f(v)).collect::<Vec<u8>>();
    let encodings: Vec<(&str, bool, Vec<u8>)> = vec![
        ("|u1", false, x.clone()),
        ("<f4", false, le(|v| (v as f32).to_le_bytes().to_vec())),
        (">f4", false, le(|v| (v as f32).to_be_bytes().to_vec())),
        ("<f8", false, le(|v| (v as f64).to_le_bytes().to_vec())),
        (">f8", false, le(|v| (v as f64).to_be_bytes().to_vec())),
        ("<i2", false, le(|v| (v as i16).to_le_bytes().to_vec())),
        (">i4", false, le(|v| (v as i32).to_be_bytes().to_vec())),
        ("<u8", false, le(|v| (v as u64).to_le_bytes().to_vec())),
        // Fortran order: column by column.
        ("|u1", true, (0..d).flat_map(|j| (0..n).map(move |i| (i, j))).map(|(i, j)| x[i * d + j]).collect()),
    ];
    // The labels as int64, numpy's default integer.
    let labels: Vec<u8> = y.iter().flat_map(|&l| (l as i64).to_le_bytes()).collect();
    dir.write("y_train.npy", npy("<i8", false, &[n], &labels));
    for (descr, fortran, data) in &encodings {
        let x_path = dir.write("X_train.npy", npy(descr, *fortran, &[n, d], data));
        let set = load(&x_path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{descr}: {e}"));
        assert_eq!(set.features(), want, "{descr} fortran={fortran}");
        assert_eq!(*set.targets(), Targets::Classes { labels: want_labels.clone(), n_classes: 3 }, "{descr}");
        assert_eq!(set.image_shape(), None, "16 features are not an image");
    }
    let run =
        dir.run(&["train", "X_train.npy", "--epochs", "2", "--hidden", "8", "-q", "--save", "m.st"]).ok();
    assert!(run.stdout.contains("16-8-3"), "{}", run.stdout);
    // predict takes a features file without labels (no sibling by name).
    std::fs::copy(dir.path("X_train.npy"), dir.path("inputs.npy")).unwrap();
    let run = dir.run(&["predict", "-m", "m.st", "inputs.npy"]).ok();
    assert_eq!(run.stdout.lines().count(), 1 + n, "{}", run.stdout);
    // train does not, and says where labels are looked for.
    let run = dir.run(&["train", "inputs.npy", "--epochs", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("inputs.npy: has no labels") && run.stderr.contains("--labels"),
        "{}",
        run.stderr
    );
    // --labels names the labels file.
    dir.run(&["train", "inputs.npy", "--labels", "y_train.npy", "--epochs", "1", "-q"]).ok();
}

#[test]
fn a_npz_stored_or_deflated_and_3d_images() {
    let dir = Dir::new();
    let (x, y) = samples();
    let labels: Vec<u8> = y.iter().flat_map(|&l| (l as i32).to_le_bytes()).collect();
    for deflate in [false, true] {
        // 60 images of 4x4: the 3-D shape is the image shape.
        let bytes = npz(
            &[("x", npy("|u1", false, &[60, 4, 4], &x)), ("y", npy("<i4", false, &[60], &labels))],
            deflate,
        );
        let p = dir.write("d.npz", bytes);
        let set = load(&p, &LoadOptions::default()).unwrap();
        assert_eq!((set.n_features(), set.image_shape()), (16, Some([4, 4])), "deflate={deflate}");
        assert_eq!(set.features(), as_f32(&x));
        assert_eq!(set.labels().map(<[u32]>::len), Some(60));
    }
    dir.run(&["train", "d.npz", "--epochs", "1", "--hidden", "4", "-q", "--save", "m.st"]).ok();
    let m = bp_par::model::load(&dir.path("m.st")).unwrap();
    assert_eq!(m.input_shape, Some([4, 4]), "a 3-D array's image shape is kept in the model");
    // Real-valued targets with --targets: a 2-D float array.
    let t: Vec<u8> = (0..120).flat_map(|i| ((i % 10) as f64 / 10.0).to_le_bytes()).collect();
    let bytes =
        npz(&[("data", npy("|u1", false, &[60, 16], &x)), ("labels", npy("<f8", false, &[60, 2], &t))], true);
    dir.write("reg.npz", bytes);
    let run = dir.run(&["train", "reg.npz", "--targets", "2", "--loss", "mse", "--epochs", "1", "-q"]).ok();
    assert_eq!(run.code, 0);
    let run = dir.run(&["train", "reg.npz", "--targets", "3", "--loss", "mse", "--epochs", "1"]);
    assert!(
        run.stderr.contains("reg.npz[labels]: has shape (60, 2): --targets 3 expects 60 x 3"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_arrays_are_refused_with_what_is_wrong() {
    let dir = Dir::new();
    let (x, y) = samples();
    dir.write("y.npy", npy("|u1", false, &[60], &y));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "x.npy",
            npy("|u1", false, &[60, 16], &x[..900]),
            "x.npy: is truncated: its header declares shape (60, 16) of |u1 (960 bytes of data) but it holds 900 bytes",
        ),
        (
            "x.npy",
            npy("<U3", false, &[60, 16], &[0; 60 * 16 * 12]),
            "x.npy: has dtype \"<U3\" (unicode strings); bp-par reads arrays of floats",
        ),
        ("x.npy", npy("|O", false, &[60, 16], &[0; 60 * 16 * 8]), "(Python objects)"),
        (
            "x.npy",
            npy("|u1", false, &[960], &x),
            "x.npy: holds an array of shape (960,); expected features as samples x features",
        ),
        (
            "x.npy",
            npy("<f4", false, &[1, 2], &[0, 0, 0xc0, 0x7f, 0, 0, 0, 0]),
            "x.npy: element [0, 0] is NaN",
        ),
        ("x.npy", npy("|u1", false, &[30, 32], &x), "y.npy: has shape (60,) but"),
        ("x.npy", b"\x93NUMPY\x01\x00\xff".to_vec(), "x.npy: is truncated: it ends inside its .npy header"),
        ("bad.npz", b"PK\x03\x04 not really a zip".to_vec(), "bad.npz: is not a readable .npz (zip) archive"),
        (
            "k.npz",
            npz(&[("a", npy("|u1", false, &[60, 16], &x)), ("b", npy("|u1", false, &[60], &y))], false),
            "k.npz: holds the arrays \"a\", \"b\"; expected features and labels under one of the key pairs",
        ),
        (
            "two.npz",
            npz(
                &[
                    ("x_train", npy("|u1", false, &[60, 16], &x)),
                    ("y_train", npy("|u1", false, &[60], &y)),
                    ("x_test", npy("|u1", false, &[60, 16], &x)),
                    ("y_test", npy("|u1", false, &[60], &y)),
                ],
                true,
            ),
            "two.npz: holds several feature/label pairs (x_train/y_train, x_test/y_test)",
        ),
    ];
    for (name, bytes, want) in cases {
        dir.write(name, bytes);
        let run = dir.run(&["train", name, "--epochs", "1"]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{name}: got {}, want {want:?}", run.stderr);
    }
    // Labels that are not whole numbers, and --label-col, which is for CSV.
    dir.write("x.npy", npy("|u1", false, &[60, 16], &x));
    let half: Vec<u8> = (0..60).flat_map(|i| (i as f32 / 2.0).to_le_bytes()).collect();
    dir.write("y.npy", npy("<f4", false, &[60], &half));
    let run = dir.run(&["train", "x.npy", "--epochs", "1"]);
    assert!(run.stderr.contains("y.npy: element [1] is 0.5; expected a class label"), "{}", run.stderr);
    let run = dir.run(&["train", "x.npy", "--label-col", "last", "--epochs", "1"]);
    assert!(
        run.stderr.contains("--label-col applies to CSV files, but x.npy is a numpy array"),
        "{}",
        run.stderr
    );
}

#[test]
#[ignore = "needs python3 with numpy: --ignored runs it (.ci/run does)"]
fn files_numpy_itself_writes() {
    super::python_reference::require_python();
    let dir = Dir::new();
    let script = "import numpy as np\n\
        r = np.random.default_rng(1)\n\
        x = r.integers(0, 256, size=(50, 8, 8)).astype(np.uint8)\n\
        y = (x[:, 0, 0] > 127).astype(np.int64)\n\
        np.savez_compressed('mnist_like.npz', x_train=x, y_train=y)\n\
        np.save('X.npy', np.asfortranarray(x.reshape(50, 64).astype('>f8')))\n\
        np.save('y.npy', y)\n";
    let out = std::process::Command::new("python3").args(["-c", script]).current_dir(dir.dir.path()).output();
    if !out.as_ref().is_ok_and(|o| o.status.success()) {
        let why = out.map_or_else(|e| e.to_string(), |o| String::from_utf8_lossy(&o.stderr).into_owned());
        panic!("python3 with numpy failed: {why}");
    }
    let a = load(&dir.path("mnist_like.npz"), &LoadOptions::default()).unwrap();
    let b = load(&dir.path("X.npy"), &LoadOptions::default()).unwrap();
    assert_eq!((a.n_samples(), a.n_features(), a.image_shape()), (50, 64, Some([8, 8])));
    assert_eq!(
        a.features(),
        b.features(),
        "the same pixels through npz (u8, deflated) and npy (f8 big-endian, Fortran)"
    );
    assert_eq!(a.targets(), b.targets());
    assert_eq!(b.image_shape(), Some([8, 8]), "64 features are a plausible 8x8 image");
}
