//! `predict` and `show input` on pictures: a hand-drawn-like digit as a PNG (dark strokes,
//! off-centre on a larger white RGB canvas, and the same as gray+alpha on a transparent
//! one), made into the row a model trained on 16x16 bright-on-dark digits expects.

use super::harness::Dir;
use bp_par::data::image::{INK_THRESHOLD, centre_of_mass};

const SIDE: usize = 16;

/// A 16x16 training digit, bright (255) on black: a "1" (class 0) or a "7" (class 1),
/// shifted by (dy, dx) and drawn `thick` pixels wide.
fn digit(class: usize, dy: i64, dx: i64, thick: i64) -> Vec<u8> {
    let mut px = vec![0u8; SIDE * SIDE];
    let mut ink = |y: i64, x: i64| {
        let (y, x) = (y + dy, x + dx);
        if (0..SIDE as i64).contains(&y) && (0..SIDE as i64).contains(&x) {
            px[y as usize * SIDE + x as usize] = 255;
        }
    };
    for y in 2..13 {
        for t in 0..thick {
            if class == 0 {
                ink(y, 7 + t);
            } else {
                // The 7's stem: from the top right (2, 11) down to (12, 6).
                ink(y, 11 - (y - 2) / 2 + t);
            }
        }
    }
    if class == 1 {
        for x in 4..12 {
            ink(2, x);
            ink(3, x);
        }
    } else {
        ink(3, 6);
        ink(4, 5);
    }
    px
}

/// The training CSV (label first, then pixel0..pixel255) with both digits at nine shifts
/// and two thicknesses.
fn training_csv() -> String {
    let mut text = String::from("label");
    for i in 0..SIDE * SIDE {
        text += &format!(",pixel{i}");
    }
    text.push('\n');
    for dy in -1..=1 {
        for dx in -1..=1 {
            for thick in 2..=3 {
                for class in 0..2 {
                    let px: Vec<String> = digit(class, dy, dx, thick).iter().map(u8::to_string).collect();
                    text += &format!("{class},{}\n", px.join(","));
                }
            }
        }
    }
    text
}

/// A PNG of `w x h` pixels of `color` type, each pixel's samples from `pixel(x, y)`.
fn png(w: u32, h: u32, color: png::ColorType, pixel: impl Fn(u32, u32) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    let pixel = &pixel;
    let data: Vec<u8> = (0..h).flat_map(|y| (0..w).flat_map(move |x| pixel(x, y))).collect();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    out
}

/// Whether (x, y) of a 120x90 picture is on a thick hand-drawn "1", off-centre to the right:
/// a stem 12 pixels wide and 60 tall, with a flag at its top left.
fn on_the_one(x: u32, y: u32) -> bool {
    let stem = (80..92).contains(&x) && (12..72).contains(&y);
    let flag = (70..80).contains(&x) && (12 + (x - 70) / 2..20 + (x - 70) / 2).contains(&(y + 8 - (x - 70)));
    stem || flag
}

/// The model's raw input rows written by `predict --save-inputs` (header then rows).
fn rows(text: &str) -> Vec<Vec<f32>> {
    text.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect()
}

#[test]
fn a_drawn_digit_becomes_a_row_like_the_training_images_and_predicts_like_it() {
    let dir = Dir::new();
    dir.write("digits.csv", training_csv());
    let train = ["train", "digits.csv", "--hidden", "16", "--epochs", "40", "--batch", "8", "-q"];
    dir.run(&[&train[..], &["--save", "m.safetensors"]].concat()).ok();
    let model = bp_par::model::load(&dir.path("m.safetensors")).unwrap();
    assert_eq!(model.input_shape, Some([SIDE, SIDE]));
    let stats = model.schema.image.clone().expect("an image model stores its images' statistics");
    // Bright ink (255) on black (0), as drawn; the digits' rows span 11 pixels.
    assert_eq!((stats.background, stats.ink, stats.box_side), (0.0, 255.0, 11.0));

    // The same "1" as dark-on-white RGB and as gray+alpha on a transparent background, and
    // a file that is not a picture (ignored in a folder).
    std::fs::create_dir(dir.path("pics")).unwrap();
    let rgb =
        png(
            120,
            90,
            png::ColorType::Rgb,
            |x, y| if on_the_one(x, y) { vec![20, 20, 20] } else { vec![255; 3] },
        );
    dir.write("pics/a_rgb.png", &rgb);
    let ga =
        png(120, 90, png::ColorType::GrayscaleAlpha, |x, y| vec![20, if on_the_one(x, y) { 255 } else { 0 }]);
    dir.write("pics/b_gray_alpha.png", &ga);
    dir.write("pics/notes.txt", "not a picture");

    let run =
        dir.run(&["predict", "-m", "m.safetensors", "pics/a_rgb.png", "--save-inputs", "seen.csv"]).ok();
    let seen_csv = std::fs::read_to_string(dir.path("seen.csv")).unwrap();
    let seen = rows(&seen_csv);
    assert_eq!(seen.len(), 1);
    let row = &seen[0];
    // Polarity and levels: the model's (background 0, ink up to 255), not the picture's.
    assert_eq!(row[0], 0.0);
    assert_eq!(row.iter().copied().fold(0.0, f32::max), 255.0);
    // The ink's bounding box: the 60-pixel-tall stroke fills the training digits' 11 rows
    // (12 when its edges fall between pixels).
    let inked: Vec<usize> = (0..SIDE * SIDE).filter(|&i| row[i] as f64 >= INK_THRESHOLD * 255.0).collect();
    let ys: Vec<usize> = inked.iter().map(|i| i / SIDE).collect();
    let span = ys.iter().max().unwrap() - ys.iter().min().unwrap() + 1;
    assert!(span == 11 || span == 12, "the ink spans {span} rows:\n{seen_csv}");
    // The centre of mass is where the training images' was.
    let com = centre_of_mass(row, [SIDE, SIDE]).unwrap();
    for k in 0..2 {
        assert!(
            (com[k] - stats.centre[k]).abs() < 0.5,
            "centre of mass {com:?}, training images' {:?}",
            stats.centre
        );
    }
    // The model reads it as a "1" (class 0).
    let line = run.stdout.lines().nth(1).unwrap().to_string();
    assert!(run.stdout.starts_with("file,prediction,p0,p1\n"), "{}", run.stdout);
    assert!(line.starts_with("a_rgb.png,0,"), "{line}");

    // predict on the CSV of that row gives exactly the same outputs.
    let from_csv = dir.run(&["predict", "-m", "m.safetensors", "seen.csv"]).ok();
    let csv_line = from_csv.stdout.lines().nth(1).unwrap();
    assert_eq!(line.strip_prefix("a_rgb.png,").unwrap(), csv_line);
    // Options for rows of data are refused for a picture, not ignored.
    let run = dir.run(&["predict", "-m", "m.safetensors", "pics/a_rgb.png", "--split", "validation"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--split is for rows of data"), "{}", run.stderr);

    // A folder: one row per .png, by name, with the file first; the two pictures are one row.
    let run = dir.run(&["predict", "-m", "m.safetensors", "pics", "--json"]).ok();
    let lines: Vec<serde_json::Value> =
        run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert_eq!(lines[0]["file"], "a_rgb.png");
    assert_eq!(lines[1]["file"], "b_gray_alpha.png");
    assert_eq!(lines[0]["probabilities"], lines[1]["probabilities"]);
    assert_eq!(lines[1]["prediction"], 0);

    // show input draws what the model saw, and checks its output folder first.
    let run =
        dir.run(&["show", "input", "-m", "m.safetensors", "pics/b_gray_alpha.png", "-o", "seen.png"]).ok();
    assert!(run.stdout.contains("seen.png"), "{}", run.stdout);
    let drawn = png::Decoder::new(std::io::Cursor::new(std::fs::read(dir.path("seen.png")).unwrap()));
    assert!(drawn.read_info().unwrap().info().width > 280);
    let run =
        dir.run(&["show", "input", "-m", "m.safetensors", "pics/b_gray_alpha.png", "-o", "no/seen.png"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("the folder no does not exist"), "{}", run.stderr);
}

#[test]
fn pictures_are_refused_by_models_without_an_image_shape_and_other_formats_are_named() {
    let dir = Dir::new();
    std::fs::create_dir(dir.path("pics")).unwrap();
    std::fs::create_dir(dir.path("empty")).unwrap();
    dir.write("empty/readme.txt", "no pictures here");
    dir.write(
        "pics/a.png",
        png(30, 30, png::ColorType::Grayscale, |x, _| vec![if x == 15 { 0 } else { 255 }]),
    );
    // A model of three measurements has no picture shape.
    let mut csv = String::from("label,a,b,c\n");
    for i in 0..20 {
        csv += &format!("{},{},{},{}\n", i % 2, i, 20 - i, i % 3);
    }
    dir.write("table.csv", csv);
    dir.run(&["train", "table.csv", "--hidden", "4", "--epochs", "2", "-q", "--save", "t.safetensors"]).ok();
    let run = dir.run(&["predict", "-m", "t.safetensors", "pics/a.png"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("t.safetensors: has 3 inputs with no image shape recorded"),
        "{}",
        run.stderr
    );
    let run = dir.run(&["predict", "-m", "t.safetensors", "table.csv", "--save-inputs", "x.csv"]);
    assert!(run.stderr.contains("--save-inputs x.csv: writes the rows made from pictures"), "{}", run.stderr);

    // Files that are not PNG pictures, with an image model.
    let mut digits = String::from("label");
    (0..64).for_each(|i| digits += &format!(",p{i}"));
    digits.push('\n');
    for i in 0..20 {
        let px: Vec<&str> = (0..64)
            .map(|p| if p % 8 == 3 + i % 2 && (1..7).contains(&(p / 8)) { "255" } else { "0" })
            .collect();
        digits += &format!("{},{}\n", i % 2, px.join(","));
    }
    dir.write("digits.csv", digits);
    dir.run(&["train", "digits.csv", "--hidden", "4", "--epochs", "2", "-q", "--save", "m.safetensors"]).ok();
    dir.write("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00");
    let run = dir.run(&["predict", "-m", "m.safetensors", "photo.jpg"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("photo.jpg: is a JPEG picture; bp-par reads PNG pictures only"),
        "{}",
        run.stderr
    );
    dir.write("fake.png", "1,2,3\n");
    let run = dir.run(&["predict", "-m", "m.safetensors", "fake.png"]);
    assert!(run.stderr.contains("fake.png: is not a PNG picture"), "{}", run.stderr);
    let run = dir.run(&["predict", "-m", "m.safetensors", "empty"]);
    assert!(run.stderr.contains("is a folder without .png files"), "{}", run.stderr);
    // A blank picture has nothing to read.
    dir.write("blank.png", png(10, 10, png::ColorType::Rgb, |_, _| vec![250, 250, 250]));
    let run = dir.run(&["predict", "-m", "m.safetensors", "blank.png"]);
    assert!(run.stderr.contains("blank.png: has no ink"), "{}", run.stderr);
    // Output folders are checked before any work.
    let run = dir.run(&["predict", "-m", "m.safetensors", "pics", "-o", "nowhere/p.csv"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("-o nowhere/p.csv: the folder nowhere does not exist"), "{}", run.stderr);
}
