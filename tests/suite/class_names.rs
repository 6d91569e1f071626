//! Pictures in the model's language: a model trained on a file of string labels (`setosa`,
//! `versicolor`, `virginica`) has its confusion matrix's axes and its digits grid's captions
//! written with those names (long column names run upwards, so the margin above the matrix
//! grows), where a model of numbered classes gets numbers.

use super::harness::{Dir, Picture};

impl Picture {
    /// The black pixels in columns x0..x1 of rows y0..y1.
    fn black(&self, (x0, x1): (usize, usize), (y0, y1): (usize, usize)) -> usize {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| self.at(x, y) == [0, 0, 0])
            .count()
    }
}

const IRIS: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// 8x8 "images" (64 pixel columns, a stroke whose rows depend on the class), 3 classes, the
/// label first: by name (`IRIS`) when `named`, else by number.
fn images_csv(named: bool) -> String {
    let mut s = String::from("label");
    for i in 0..64 {
        s += &format!(",p{i}");
    }
    s.push('\n');
    let mut seed = 11u64;
    for r in 0..90 {
        let class = r % 3;
        s += &if named { IRIS[class].to_string() } else { class.to_string() };
        for i in 0..64 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let stroke = (i / 8) % 3 == class;
            let v = if stroke { 200 + (seed >> 60) } else { seed >> 61 };
            s += &format!(",{v}");
        }
        s.push('\n');
    }
    s
}

/// Trains on `data` (written from `csv`) and saves the model as `model`.
fn train(dir: &Dir, data: &str, csv: String, model: &str) {
    dir.write(data, csv);
    let args = ["train", data, "--hidden", "12", "--epochs", "30", "--val-split", "0", "-q", "--save", model];
    dir.run(&args).ok();
}

#[test]
fn confusion_matrix_axes_carry_the_class_names() {
    let dir = Dir::new();
    train(&dir, "named.csv", images_csv(true), "named.st");
    train(&dir, "numbered.csv", images_csv(false), "numbered.st");
    let run = dir.run(&["eval", "-m", "named.st", "named.csv"]).ok();
    assert!(run.stdout.contains("100.00%"), "the model must tell the strokes apart: {}", run.stdout);
    dir.run(&["show", "confusion", "named.st", "named.csv", "-o", "named.png"]).ok();
    dir.run(&["show", "confusion", "numbered.st", "numbered.csv", "-o", "numbered.png"]).ok();
    let (named, numbered) = (Picture::open(&dir.path("named.png")), Picture::open(&dir.path("numbered.png")));
    // Numbered: 3 cells of 60 px from (90, 70). Named: "versicolor" (10 characters, 80 px) is
    // wider than a 60 px column, so the column names run upwards over 80 px (the matrix moves
    // down 72 px, to y = 142) and the row names need a margin of 80 + 34 px (x = 114).
    assert_eq!(named.height, numbered.height + 72, "the names' room above the matrix");
    let (left, top) = (114, 142);
    let blue = |p: [u8; 3]| p[2] as i32 - p[0] as i32 > 60;
    for t in 0..3 {
        let cell = named.at(left + t * 60 + 6, top + t * 60 + 6);
        assert!(blue(cell), "diagonal cell {t} at its place is {cell:?}");
    }
    // Each column's name is written upwards above its column, ending 8 px above the matrix;
    // "versicolor" is the tallest (80 px), "setosa" 48 px.
    for (j, name) in IRIS.iter().enumerate() {
        let cx = left + j * 60 + 30;
        let ink = named.black((cx - 4, cx + 4), (top - 8 - 8 * name.len(), top - 8));
        assert!(ink >= 8 * name.len(), "the name {name:?} over column {j}: {ink} black pixels");
        let above = named.black((cx - 4, cx + 4), (top - 8 - 8 * name.len() - 6, top - 8 - 8 * name.len()));
        assert_eq!(above, 0, "{name:?} runs past its own length");
    }
    // The row names, right-aligned against the matrix: "versicolor" fills 80 px to its left.
    let ink = named.black((left - 90, left - 10), (top + 86, top + 94));
    assert!(ink >= 80, "the row name versicolor: {ink} black pixels");
    assert!(named.black((0, 16), (0, named.height)) > 0, "the 'true class' label");
}

#[test]
fn digits_grid_captions_carry_the_class_names() {
    let dir = Dir::new();
    train(&dir, "named.csv", images_csv(true), "named.st");
    train(&dir, "numbered.csv", images_csv(false), "numbered.st");
    let args = |m: &'static str, d: &'static str, o: &'static str| {
        ["show", "digits", d, "--predict", m, "--seed", "3", "-o", o]
    };
    dir.run(&args("named.st", "named.csv", "named.png")).ok();
    dir.run(&args("numbered.st", "numbered.csv", "numbered.png")).ok();
    // The pixels are the same (same rows, chosen by the same seed from 90 rows) and only the
    // captions differ: "setosa", "versicolor", "virginica" are 6-10 glyphs where "0", "1" and
    // "2" are one, so the named grid holds far more black text.
    let (named, numbered) = (Picture::open(&dir.path("named.png")), Picture::open(&dir.path("numbered.png")));
    assert_eq!((named.width, named.height), (numbered.width, numbered.height));
    let all = |p: &Picture| p.black((0, p.width), (30, p.height));
    assert!(
        all(&named) > all(&numbered) + 90 * 5 * 10,
        "named captions: {} black pixels, numbered: {}",
        all(&named),
        all(&numbered)
    );
    // Without a model the file's own names are used.
    dir.run(&["show", "digits", "named.csv", "--seed", "3", "-o", "plain.png"]).ok();
    dir.run(&["show", "digits", "numbered.csv", "--seed", "3", "-o", "plain_numbered.png"]).ok();
    let plain = Picture::open(&dir.path("plain.png"));
    let plain_numbered = Picture::open(&dir.path("plain_numbered.png"));
    assert!(all(&plain) > all(&plain_numbered) + 90 * 5 * 10, "the file's own names are not written");
}
