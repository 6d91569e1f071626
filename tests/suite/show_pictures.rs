//! `bp-par show weights|curves|confusion` on files made here: the weight tiles fill their
//! area and carry a legend, `--units` picks the units and says what was left out, the curves'
//! axes end at 0 loss and 100% accuracy, and a single confusion-matrix error is clearly
//! coloured while error-free cells stay white.

use super::harness::{Dir, Picture};

impl Picture {
    /// The pixels of rows y0..y1 that satisfy `f`, and how many there are in all.
    fn count(&self, (y0, y1): (usize, usize), f: impl Fn([u8; 3]) -> bool) -> (usize, usize) {
        let hits =
            (y0..y1).flat_map(|y| (0..self.width).map(move |x| (x, y))).filter(|&(x, y)| f(self.at(x, y)));
        (hits.count(), (y1 - y0) * self.width)
    }
}

fn blue(p: [u8; 3]) -> bool {
    p[2] as i32 - p[0] as i32 > 60
}

fn red(p: [u8; 3]) -> bool {
    p[0] as i32 - p[2] as i32 > 60
}

/// How far a colour is from gray: 0 for white, gray and black.
fn chroma(p: [u8; 3]) -> u8 {
    p.iter().max().unwrap() - p.iter().min().unwrap()
}

/// 16x16 "images" (256 pixel columns, a stroke whose place depends on the class), 3 classes.
fn images_csv() -> String {
    let mut s = String::from("label");
    for i in 0..256 {
        s += &format!(",p{i}");
    }
    s.push('\n');
    let mut seed = 7u64;
    for r in 0..60 {
        let class = r % 3;
        s += &class.to_string();
        for i in 0..256 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let stroke = (i / 16) % 3 == class;
            let v = if stroke { 200 + (seed >> 60) } else { seed >> 61 };
            s += &format!(",{v}");
        }
        s.push('\n');
    }
    s
}

#[test]
fn weight_tiles_fill_their_area_with_a_legend_and_units_are_chosen() {
    let dir = Dir::new();
    dir.write("img.csv", images_csv());
    dir.run(&[
        "train",
        "img.csv",
        "--hidden",
        "10",
        "--epochs",
        "2",
        "--val-split",
        "0",
        "-q",
        "--save",
        "m.st",
    ])
    .ok();
    let run = dir.run(&["show", "weights", "m.st", "-o", "w.png"]).ok();
    assert!(run.stdout.contains("wrote the weights of all 10 units to w.png"), "{}", run.stdout);
    let p = Picture::open(&dir.path("w.png"));
    assert!(p.width >= 300 && p.height >= 300, "{}x{}", p.width, p.height);
    // Between the title (44 px) and the legend (64 px) the tiles cover most of the picture.
    let (inked, all) = p.count((44, p.height - 64), |c| c != [255, 255, 255]);
    assert!(inked as f64 >= 0.6 * all as f64, "tiles cover {inked} of {all} pixels");
    // The legend: the scale's blues and reds below the tiles.
    let legend = (p.height - 64, p.height);
    assert!(p.count(legend, blue).0 >= 100 && p.count(legend, red).0 >= 100, "no colour legend");
    // --units: fewer than the layer has, said on stdout; a count that is not one is refused.
    let run = dir.run(&["show", "weights", "m.st", "--units", "4", "-o", "w4.png"]).ok();
    assert!(run.stdout.contains("units 1-4 of 10 (--units all draws every one)"), "{}", run.stdout);
    let w4 = Picture::open(&dir.path("w4.png"));
    assert!(w4.width * w4.height < p.width * p.height);
    let run = dir.run(&["show", "weights", "m.st", "--units", "all", "-o", "wa.png"]).ok();
    assert!(run.stdout.contains("all 10 units"), "{}", run.stdout);
    let run = dir.run(&["show", "weights", "m.st", "--units", "30", "-o", "w30.png"]).ok();
    assert!(run.stdout.contains("--units 30 asked for more than the layer has"), "{}", run.stdout);
    let run = dir.run(&["show", "weights", "m.st", "--units", "0"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("expected a number of units (1 or more) or `all`"), "{}", run.stderr);
}

#[test]
fn curves_run_from_0_loss_to_100_percent_accuracy() {
    let dir = Dir::new();
    // Accuracy reaching 100% and a loss reaching 0: the points sit on the axes' ends (an axis
    // padded past them, to 100.6% or -0.024, would leave a gap).
    dir.write(
        "m.csv",
        "epoch,loss,train_acc,test_loss,test_acc\n1,3.439,0.053,3.1,0.06\n2,1.2,0.8,1.3,0.78\n3,0.0,1.0,0.4,0.931\n",
    );
    dir.run(&["show", "curves", "m.csv", "-o", "c.png"]).ok();
    let p = Picture::open(&dir.path("c.png"));
    assert_eq!((p.width, p.height), (1000, 460));
    // Each panel is 500 px wide from y = 30: plot from y = 86 (top) to 390 (bottom), x from
    // 80 to 476 within the panel. The last epoch is the right end of the x axis.
    let near = |x0: usize, y0: usize| {
        (y0 - 3..=y0 + 3).any(|y| (x0 - 3..=x0 + 3).any(|x| blue(p.at(x, y)) && chroma(p.at(x, y)) > 60))
    };
    assert!(near(476, 390), "the train loss of 0 is not on the loss axis' 0");
    assert!(near(500 + 476, 86), "the train accuracy of 100% is not at the accuracy axis' top");
}

/// Three well-separated classes of two features.
fn clusters(wrong_row: Option<usize>) -> String {
    let mut s = String::from("label,x,y\n");
    for r in 0..90 {
        let class = r % 3;
        let (cx, cy) = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)][class];
        let jitter = (r / 3) as f64 * 0.03;
        let label = if Some(r) == wrong_row { 1 } else { class };
        s += &format!("{label},{},{}\n", cx + jitter, cy - jitter);
    }
    s
}

#[test]
fn a_single_confusion_error_is_clearly_coloured() {
    let dir = Dir::new();
    dir.write("train.csv", clusters(None));
    // Row 0 is a class-0 point labelled 1: the model says 0, so cell (true 1, predicted 0) holds 1.
    dir.write("test.csv", clusters(Some(0)));
    dir.run(&[
        "train",
        "train.csv",
        "--hidden",
        "8",
        "--epochs",
        "40",
        "--val-split",
        "0",
        "-q",
        "--save",
        "m.st",
    ])
    .ok();
    let run = dir.run(&["eval", "-m", "m.st", "train.csv"]).ok();
    assert!(run.stdout.contains("100.00%"), "the model must separate the clusters: {}", run.stdout);
    dir.run(&["show", "confusion", "m.st", "test.csv", "-o", "k.png"]).ok();
    let p = Picture::open(&dir.path("k.png"));
    // 3 classes: cells of 60 px from (90, 70); sample a cell near its top-left corner, away
    // from the count written in its middle.
    let cell = |t: usize, pred: usize| p.at(90 + pred * 60 + 6, 70 + t * 60 + 6);
    let error = cell(1, 0);
    assert!(chroma(error) >= 80 && red(error), "one error in 30 rows drew {error:?}");
    assert_eq!(cell(2, 0), [255, 255, 255], "an empty cell is white");
    assert!(blue(cell(0, 0)) && chroma(cell(0, 0)) >= 80, "{:?}", cell(0, 0));
    // Both legends below the matrix.
    let legend = (70 + 3 * 60 + 10, p.height);
    assert!(p.count(legend, blue).0 >= 100 && p.count(legend, red).0 >= 100, "no legends");
}

/// A regression run's metrics (no accuracies; a loss falling 1000-fold): one panel of loss
/// across the whole width, on a log scale whose decades hold the first and last epochs at the
/// top and bottom, where a linear scale would flatten all but the first epochs.
#[test]
fn regression_curves_are_the_loss_on_a_log_scale() {
    let dir = Dir::new();
    let mut text = "epoch,loss,train_acc,test_loss,test_acc\n".to_string();
    for e in 1..=30 {
        let loss = 10f64.powf(1.0 - 3.0 * (e - 1) as f64 / 29.0);
        text += &format!("{e},{loss},,{},\n", loss * 1.1);
    }
    dir.write("m.csv", text);
    dir.run(&["show", "curves", "m.csv", "-o", "c.png"]).ok();
    let p = Picture::open(&dir.path("c.png"));
    let near = |x0: usize, y0: usize| {
        (y0 - 3..=y0 + 3).any(|y| (x0 - 3..=x0 + 3).any(|x| blue(p.at(x, y)) && chroma(p.at(x, y)) > 60))
    };
    // One panel, 1000 px wide: epochs 0..30 along x from 80 to 976; the loss (held-out up to
    // 11) by decades from 100 (y 86) down to 0.01 (y 390), 76 px a decade.
    assert!(near(110, 162), "the first epoch's loss of 10 is not a decade below the top");
    assert!(near(976, 390), "the last epoch's loss of 0.01 is not at the bottom right");
    // Epoch 15's loss, 10^−0.448, is 1.552 decades above the bottom.
    assert!(near(528, 272), "epoch 15's loss of 0.36 is not where a log scale puts it");
}
