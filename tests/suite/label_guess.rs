//! The label column when nobody named it (no `--label-col`, no header name the reader knows):
//! the first column is taken only when it looks like class labels. A pixel-first file and a
//! pen-digit-like file with the label last are refused naming `--label-col last`; with it they
//! train. Also `--image-shape` and which data get a picture shape (16 features do not).

use super::harness::Dir;

/// Knuth's MMIX linear congruential generator, high bits, as a stream of values below `m`.
fn lcg(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut state = seed;
    move |m| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % m
    }
}

/// `rows` rows of `d` features below `max + 1` and a label 0..=9 last, no header.
fn label_last(rows: usize, d: usize, max: u64, seed: u64) -> String {
    let mut next = lcg(seed);
    let mut text = String::new();
    for i in 0..rows {
        let f: Vec<String> = (0..d).map(|_| next(max + 1).to_string()).collect();
        text += &format!("{},{}\n", f.join(","), i % 10);
    }
    text
}

#[test]
fn a_pixel_first_file_without_a_known_header_is_refused_naming_the_last_column() {
    let dir = Dir::new();
    // 300 rows of 64 pixels 0..255 (a header the reader does not know: `digit` is last).
    let names: Vec<String> = (0..64).map(|i| format!("px{i}")).collect();
    let text = format!("{},digit\n{}", names.join(","), label_last(300, 64, 255, 7));
    dir.write("pixels.csv", &text);
    let run = dir.run(&["train", "pixels.csv", "--epochs", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("pixels.csv: no header names the label column")
            && run.stderr.contains("would be 256 classes for 300 rows")
            && run.stderr.contains("the last column does (10 classes, 0..9): give --label-col last"),
        "{}",
        run.stderr
    );
    let run = dir.run(&["train", "pixels.csv", "--label-col", "last", "--epochs", "1", "-q"]).ok();
    assert!(run.stdout.contains("64-128-10"), "{}", run.stdout);
}

#[test]
fn a_pen_digit_like_file_is_refused_with_the_same_advice_and_has_no_image_shape() {
    let dir = Dir::new();
    // Pen digits: 16 coordinates 0..100, the label last, no header.
    dir.write("pendigits.csv", label_last(500, 16, 100, 3));
    let run = dir.run(&["train", "pendigits.csv", "--epochs", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("give --label-col last"), "{}", run.stderr);
    dir.run(&["train", "pendigits.csv", "--label-col", "last", "--epochs", "1", "-q", "--save", "pen.st"])
        .ok();
    let m = bp_par::model::load(&dir.path("pen.st")).unwrap();
    assert_eq!(m.input_shape, None, "16 features are not a 4x4 picture");
    let run = dir.run(&["show", "weights", "pen.st", "-o", "w.png"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--image-shape"), "{}", run.stderr);
    // --image-shape says what the features are, and is kept in the model.
    let args = ["train", "pendigits.csv", "--label-col", "last", "--epochs", "1", "-q"];
    dir.run(&[&args[..], &["--image-shape", "4x4", "--save", "pen4.st"]].concat()).ok();
    assert_eq!(bp_par::model::load(&dir.path("pen4.st")).unwrap().input_shape, Some([4, 4]));
    dir.run(&["show", "weights", "pen4.st", "-o", "w.png"]).ok();
    // A shape that does not fit the features is refused after loading, naming both.
    let run = dir.run(&[&args[..], &["--image-shape", "4x5"]].concat());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--image-shape 4x5 is 20 pixels, but pendigits.csv has 16 features per row"),
        "{}",
        run.stderr
    );
    // A malformed one before any data is read.
    let run = dir.run(&["train", "nosuch.csv", "--image-shape", "4by4"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--image-shape"), "{}", run.stderr);
}

#[test]
fn neither_end_column_looking_like_labels_asks_for_label_col_or_targets() {
    let dir = Dir::new();
    let mut text = String::new();
    for i in 0..40 {
        text += &format!("{}.5,{},{}.25\n", i, i * 3, i % 7);
    }
    dir.write("measures.csv", &text);
    let run = dir.run(&["train", "measures.csv", "--epochs", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("neither end column looks like class labels (first: data row 1 (line 1) holds 0.5")
            && run
                .stderr
                .contains("give --label-col (first, last, a header name or a 0-based index), or --targets K"),
        "{}",
        run.stderr
    );
}

#[test]
fn labels_first_without_a_header_still_train() {
    let dir = Dir::new();
    // The MNIST CSV layout: the label first, pixels after, no header.
    let mut next = lcg(11);
    let mut text = String::new();
    for i in 0..200 {
        let px: Vec<String> = (0..64).map(|_| next(256).to_string()).collect();
        text += &format!("{},{}\n", i % 10, px.join(","));
    }
    dir.write("mnist_like.csv", &text);
    let run = dir.run(&["train", "mnist_like.csv", "--epochs", "1", "-q"]).ok();
    assert!(run.stdout.contains("64-128-10"), "{}", run.stdout);
}
