//! Hostile files, round two (issue 24): what a fuzzing campaign found accepted silently or said
//! badly, each with the file a user (or a damaged disk) would produce: stray tokens in a label
//! column, non-finite or impossible checkpoint contents, an unclosed quote, a signal in the
//! first milliseconds, `.npy`/`.npz`/PNG files their own readers refuse, and labels outside a
//! model's classes given to `predict`.

use super::harness::{Dir, repo_file};
use std::fmt::Write as _;
use std::process::{Command, Stdio};

/// 200 of the shipped digits with a header, the label of data row 58 (line 59) replaced.
fn digits_with_label(at_58: &str) -> String {
    let text = std::fs::read_to_string(repo_file("datasets/digits.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate().filter(|(i, _)| *i == 0 || i % 25 == 1).take(201) {
        let row = if i > 0 && out.lines().count() == 58 {
            let rest = line.split_once(',').unwrap().1;
            format!("{at_58},{rest}")
        } else {
            line.to_string()
        };
        let _ = writeln!(out, "{row}");
    }
    out
}

#[test]
fn a_stray_label_is_refused_naming_the_line_and_token() {
    let dir = Dir::new();
    for (token, said) in [
        ("three", "label \"three\" is not a whole number like the column's other 199 labels"),
        ("0x3", "label \"0x3\" is not a whole number"),
        ("٣", "label \"٣\" is not a whole number"),
        ("5x", "label \"5x\" is not a whole number"),
        ("\u{feff}5", "starts with a byte-order mark (U+FEFF) inside the file"),
    ] {
        dir.write("stray.csv", digits_with_label(token));
        let run = dir.run(&["train", "stray.csv", "--epochs", "1"]);
        assert_eq!(run.code, 1, "{token}: {}", run.stderr);
        assert!(
            run.stderr.contains("stray.csv:59: column 0 (\"label\", 0-based): "),
            "{token}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(said), "{token}: {}", run.stderr);
    }
    dir.write("far.csv", digits_with_label("65536"));
    let run = dir.run(&["train", "far.csv", "--epochs", "1"]);
    assert!(
        run.stderr.contains(
            "far.csv: line 59: label 65536 is far beyond the others (0..9): it would make 65537 classes"
        ),
        "{}",
        run.stderr
    );
    // A column of names throughout is still names.
    let names = digits_with_label("7").replace("\n0,", "\nzero,").replace("\n7,", "\nseven,");
    let names: String = names
        .lines()
        .map(|l| match l.split_once(',') {
            Some((lab, rest)) if lab.parse::<u32>().is_ok() => format!("n{lab},{rest}\n"),
            _ => format!("{l}\n"),
        })
        .collect();
    dir.write("names.csv", names);
    dir.run(&["train", "names.csv", "--epochs", "1", "-q"]).ok();
}

/// A checkpoint written by a real run, as bytes, with its safetensors header (JSON) parsed.
fn checkpoint(dir: &Dir) -> (Vec<u8>, serde_json::Value, usize) {
    dir.run(&["train", "--epochs", "1", "--hidden", "4", "--checkpoint", "ck.st", "-q"]).ok();
    let bytes = std::fs::read(dir.path("ck.st")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (bytes, header, 8 + n)
}

/// `bytes` with the first occurrence of `from` replaced by `to` (of the same length).
fn edit(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes.windows(from.len()).position(|w| w == from.as_bytes()).expect(from);
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

#[test]
fn checkpoints_with_impossible_contents_are_refused_naming_what() {
    let dir = Dir::new();
    let (bytes, header, start) = checkpoint(&dir);
    let resume = |name: &str| dir.run(&["train", "--epochs", "2", "--hidden", "4", "--resume", name]);
    // A NaN in the SGD velocity.
    let offsets = header["trainer.velocity.layers.0.weight"]["data_offsets"][0].as_u64().unwrap() as usize;
    let mut nan = bytes.clone();
    nan[start + offsets + 4 * 3..start + offsets + 4 * 4].copy_from_slice(&f32::NAN.to_le_bytes());
    dir.write("nan.st", nan);
    let run = resume("nan.st");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "nan.st: tensor \"trainer.velocity.layers.0.weight\" holds a non-finite value (element 3): the \
             checkpoint is damaged"
        ),
        "{}",
        run.stderr
    );
    // Running sums no run could have reached.
    let key = br#"\"correct\":"#;
    let at = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    let mut sums = bytes.clone();
    assert!(sums[at].is_ascii_digit() && sums[at] != b'9');
    sums[at] = b'9'; // 1845 correct of 4000 rows done → 9845
    dir.write("sums.st", sums);
    let run = resume("sums.st");
    assert!(run.stderr.contains("metadata field \"checkpoint.state.correct\" is 9"), "{}", run.stderr);
    assert!(run.stderr.contains("more than the 4000 rows done: the checkpoint is damaged"), "{}", run.stderr);
    // A stored setting no run could have had: the file and its field, exit 1 (not a flag).
    dir.write("momentum.st", edit(&bytes, r#"\"momentum\":0.8999"#, r#"\"momentum\":1.8999"#));
    let run = resume("momentum.st");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "momentum.st: holds an impossible setting (the file is damaged or was edited): stored momentum \
             must be in [0, 1), got 1.9"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("--momentum"), "{}", run.stderr);
}

#[test]
fn an_unclosed_quote_is_quoted_short() {
    let dir = Dir::new();
    let text = std::fs::read_to_string(repo_file("datasets/digits.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().take(150).collect();
    lines[55] = "\"";
    dir.write("quote.csv", lines.join("\n") + "\n");
    dir.run(&["train", "--epochs", "1", "--hidden", "4", "--save", "m.st", "-q"]).ok();
    for args in [&["eval", "--model", "m.st", "quote.csv"][..], &["predict", "--model", "m.st", "quote.csv"]]
    {
        let run = dir.run(args);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.lines().count() == 1 && run.stderr.len() < 400, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("quote.csv:56:"), "{}", run.stderr);
    }
}

/// A SIGTERM in the first milliseconds of `train` stops it cleanly (exit 143 with a message),
/// never kills it: sent as soon as the process catches SIGTERM (its `SigCgt` mask in
/// /proc), before it has read its data, and a few milliseconds later.
#[test]
#[cfg(target_os = "linux")]
fn a_signal_in_the_first_milliseconds_is_a_clean_stop() {
    let dir = Dir::new();
    let mnist = repo_file("datasets/mnist/train-images-idx3-ubyte.gz");
    let catches_sigterm = |pid: u32| {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let mask = status.lines().find_map(|l| l.strip_prefix("SigCgt:")).map(str::trim).unwrap_or("0");
        u64::from_str_radix(mask, 16).is_ok_and(|m| m & (1 << (15 - 1)) != 0)
    };
    for extra_ms in [0, 3] {
        let child = Command::new(env!("CARGO_BIN_EXE_bp-par"))
            .args(["train", &mnist, "--epochs", "1", "--checkpoint", "ck.st"])
            .current_dir(dir.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while !catches_sigterm(child.id()) && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
        std::thread::sleep(std::time::Duration::from_millis(extra_ms));
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(143), "+{extra_ms} ms: {stderr}");
        // Caught while the data is still being read (handlers installed first, not after it).
        let said = "interrupted by SIGTERM before training began; nothing was written";
        assert!(stderr.contains(said), "+{extra_ms} ms: {stderr}");
        assert!(!dir.path("ck.st").exists());
    }
}

/// What numpy's and Python's own readers refuse, bp-par refuses too, naming what is wrong.
#[test]
fn files_their_own_readers_refuse_are_refused() {
    let dir = Dir::new();
    // A .npy with text after its header dict.
    let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }xyz".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header.as_bytes());
    npy.extend(std::iter::repeat_n(0u8, 16));
    dir.write("x.npy", npy);
    let run = dir.run(&["train", "x.npy"]);
    assert!(run.stderr.contains("unexpected text after the header dict"), "{}", run.stderr);
    // A .npz whose end record gives its central directory 0 bytes, and one whose entry name
    // length was damaged.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        for name in ["x.npy", "y.npy"] {
            zip.start_file(name, opts).unwrap();
            std::io::Write::write_all(&mut zip, b"\x93NUMPY").unwrap();
        }
        zip.finish().unwrap();
    }
    let good = buf.into_inner();
    let end = good.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
    let mut zero = good.clone();
    zero[end + 12..end + 16].copy_from_slice(&[0; 4]);
    dir.write("zero.npz", zero);
    let run = dir.run(&["train", "zero.npz"]);
    assert!(
        run.stderr.contains("zero.npz: is a damaged .npz (zip) archive: its end record counts 2 entries"),
        "{}",
        run.stderr
    );
    let second = good.windows(4).enumerate().filter(|(_, w)| *w == b"PK\x01\x02").nth(1).unwrap().0;
    let mut name = good.clone();
    name[second + 28] -= 1;
    dir.write("name.npz", name);
    let run = dir.run(&["train", "name.npz"]);
    assert!(
        run.stderr.contains("is named \"y.np\" in the central directory but not in its local header"),
        "{}",
        run.stderr
    );
    // PNGs cut inside IEND, or with one row more data than the header's height.
    let png = |height: u32, rows: u32, cut: usize| {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            let mut h = flate2::Crc::new();
            h.update(kind);
            h.update(data);
            c.extend_from_slice(&h.sum().to_be_bytes());
            c
        };
        let mut ihdr = 28u32.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let raw: Vec<u8> = (0..rows)
            .flat_map(|y| std::iter::once(0).chain((0..28).map(move |x| (x * 9 + y * 7) as u8)))
            .collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &raw).unwrap();
        let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
        file.extend(chunk(b"IHDR", &ihdr));
        file.extend(chunk(b"IDAT", &z.finish().unwrap()));
        file.extend(chunk(b"IEND", &[]));
        file.truncate(file.len() - cut);
        file
    };
    let mnist = repo_file("datasets/mnist/train-images-idx3-ubyte.gz");
    dir.run(&[
        "train",
        &mnist,
        "--train-rows",
        "500",
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--save",
        "m.st",
        "-q",
    ])
    .ok();
    dir.write("good.png", png(28, 28, 0));
    dir.run(&["predict", "--model", "m.st", "good.png"]).ok();
    dir.write("cut.png", png(28, 28, 3));
    let run = dir.run(&["predict", "--model", "m.st", "cut.png"]);
    assert!(run.stderr.contains("cut.png: is not a readable PNG picture"), "{}", run.stderr);
    dir.write("short.png", png(27, 28, 0));
    let run = dir.run(&["predict", "--model", "m.st", "short.png"]);
    assert!(
        run.stderr.contains("its image data hold more than the 27 rows its header declares"),
        "{}",
        run.stderr
    );
}

/// `predict` says so when the file's labels lie outside the model's classes.
#[test]
fn predict_warns_of_labels_outside_the_classes() {
    let dir = Dir::new();
    dir.run(&["train", "--epochs", "1", "--hidden", "4", "--save", "m.st", "-q"]).ok();
    let text = std::fs::read_to_string(repo_file("datasets/digits.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().take(20).map(str::to_string).collect();
    for (i, label) in [(3, "100"), (5, "255"), (7, "10")] {
        let rest = lines[i].split_once(',').unwrap().1.to_string();
        lines[i] = format!("{label},{rest}");
    }
    dir.write("foreign.csv", lines.join("\n") + "\n");
    let run = dir.run(&["predict", "--model", "m.st", "foreign.csv"]).ok();
    assert!(
        run.stderr.contains("foreign.csv: 3 rows have labels outside the model's 10 classes (10, 100, 255)"),
        "{}",
        run.stderr
    );
    assert_eq!(dir.run(&["eval", "--model", "m.st", "foreign.csv"]).code, 1);
}

/// What a new user's review found: pictures that are not square train; a title or a header
/// that does not fit the rows is named as such (with any delimiter); pandas' index column is
/// said; a failed run leaves no header-only metrics file.
#[test]
fn first_lines_and_shapes_people_have() {
    let dir = Dir::new();
    // 60 pictures of 7x9: a bar on the left or on the right.
    let mut csv = String::new();
    for i in 0..60 {
        let px: Vec<String> = (0..63)
            .map(|p| {
                if (p % 9 < 4) == (i % 2 == 0) && (1..6).contains(&(p / 9)) { "200" } else { "0" }.to_string()
            })
            .collect();
        let _ = writeln!(csv, "{},{}", i % 2, px.join(","));
    }
    dir.write("bars.csv", &csv);
    dir.run(&["train", "bars.csv", "--image-shape", "7x9", "--epochs", "1", "-q"]).ok();
    // A title line, a one-word title, and the same with --delimiter comma.
    dir.write(
        "title.csv",
        format!(
            "My dataset\nlabel,{}\n{csv}",
            (0..63).map(|i| format!("p{i}")).collect::<Vec<_>>().join(",")
        ),
    );
    for extra in [&[][..], &["--delimiter", "comma"]] {
        let run = dir.run(&[&["train", "title.csv"][..], extra].concat());
        assert!(
            run.stderr.contains(
                "title.csv:1: 1 field \"My dataset\" where the next lines have 64: a summary or title line"
            ) && run.stderr.contains("--skip-rows 1"),
            "{extra:?}: {}",
            run.stderr
        );
    }
    // R's write.table header: one name fewer than the rows' fields.
    dir.write("r.csv", "a,b,c\n1,0,1,2\n2,1,2,3\n3,0,1,2\n");
    let run = dir.run(&["train", "r.csv"]);
    assert!(
        run.stderr.contains("a header of 3 names over rows of 4 fields: fix the header"),
        "{}",
        run.stderr
    );
    // pandas' to_csv with its index: an empty first name, then the columns' numbers.
    let rows: String =
        (0..40).map(|i| format!("{i},{},{},{},{},{}\n", i % 2, i % 3, i % 5, i % 7, i % 4)).collect();
    dir.write("pandas.csv", format!(",0,1,2,3,4\n{rows}"));
    let run = dir.run(&["train", "pandas.csv", "--label-col", "1", "--epochs", "1"]);
    assert!(run.stderr.contains("the column \"\" looks like a row id or index"), "{}", run.stderr);
    // A diverging run leaves no header-only metrics file behind.
    let run = dir.run(&["train", "--lr", "1000", "--hidden", "8", "--metrics", "m.csv"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!dir.path("m.csv").exists());
}
