//! Unit tests of the picture preprocessing: resampling conserves ink, placement centres by
//! mass, measurement reads the polarity, levels, box and centre of training images.

use super::resample::{place, resample};
use super::*;

/// A `[h, w]` image of `bg` with a filled rectangle of `ink` over rows `ys` and columns `xs`.
fn rect(
    h: usize,
    w: usize,
    ys: std::ops::Range<usize>,
    xs: std::ops::Range<usize>,
    bg: f32,
    ink: f32,
) -> Vec<f32> {
    let mut v = vec![bg; h * w];
    for y in ys {
        for x in xs.clone() {
            v[y * w + x] = ink;
        }
    }
    v
}

#[test]
fn area_averaging_conserves_ink_and_halves_a_checkerboard_to_gray() {
    // A 4x4 checkerboard at scale 0.5 is 2x2 of 0.5 each (each pixel averages two inked of four).
    let board: Vec<f32> = (0..16).map(|i| ((i / 4 + i % 4) % 2) as f32).collect();
    assert_eq!(resample(&board, [4, 4], [2, 2], 0.5, [0.0, 0.0]), vec![0.5; 4]);
    // Scale 0.3 at a fractional offset: the ink total is scale² times the source's.
    let src = rect(10, 10, 2..9, 3..7, 0.0, 1.0);
    let out = resample(&src, [10, 10], [6, 6], 0.3, [1.37, 0.81]);
    let total: f32 = out.iter().sum();
    assert!((total - 0.09 * 28.0).abs() < 1e-5, "ink total {total}, expected 2.52");
    assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
    // Upsampling a single pixel by 3 at an integer offset gives a 3x3 block of full ink.
    let up = resample(&[1.0], [1, 1], [5, 5], 3.0, [1.0, 2.0]);
    assert_eq!(up.iter().filter(|&&v| v == 1.0).count(), 9);
    assert_eq!(up[5 + 2], 1.0);
    assert_eq!(up[3 * 5 + 4], 1.0);
    assert_eq!(up[4 * 5], 0.0);
}

#[test]
fn place_puts_the_centre_of_mass_on_the_target_and_fills_the_box() {
    // An L shape (its mass is off its box's centre), 30 tall and 12 wide.
    let mut l = rect(30, 12, 0..30, 0..4, 0.0, 1.0);
    for y in 26..30 {
        for x in 0..12 {
            l[y * 12 + x] = 1.0;
        }
    }
    for centre in [[13.5, 13.5], [14.0, 14.0], [12.3, 15.8]] {
        let out = place(&l, [30, 12], [28, 28], 20.0, centre);
        let com = centre_of_mass(&out, [28, 28]).unwrap();
        assert!(
            (com[0] - centre[0]).abs() < 1e-3 && (com[1] - centre[1]).abs() < 1e-3,
            "{com:?} vs {centre:?}"
        );
        // 30 rows become 20: the ink's rows span 20 pixels, or 21 when the offset is fractional.
        let rows: Vec<usize> = (0..28).filter(|y| (0..28).any(|x| out[y * 28 + x] > 0.0)).collect();
        let span = rows.last().unwrap() - rows[0] + 1;
        assert!(span == 20 || span == 21, "the ink spans {span} rows");
    }
    // A target the drawing cannot reach keeps it inside the canvas.
    let out = place(&l, [30, 12], [28, 28], 20.0, [0.0, 0.0]);
    let total: f32 = out.iter().sum();
    let expected = l.iter().sum::<f32>() * (20.0f32 / 30.0).powi(2);
    assert!((total - expected).abs() < 1e-3, "ink was cut off: {total} of {expected}");
}

#[test]
fn measure_reads_polarity_levels_box_and_centre() {
    // Bright on dark (MNIST-like): two images of a 20-tall bar, mass centred on (14, 14).
    let mut rows = rect(28, 28, 4..24, 12..17, 0.0, 255.0);
    rows.extend(rect(28, 28, 4..24, 11..18, 0.0, 255.0));
    let s = ImageStats::measure(&rows, 784, [28, 28]).unwrap();
    assert_eq!((s.background, s.ink, s.box_side, s.centre), (0.0, 255.0, 20.0, [13.5, 14.0]));
    assert!(s.bright_ink());
    // Dark on light, in [0, 1]: the levels are read as the data holds them (0.9, 0.1).
    let dark = rect(10, 10, 2..6, 3..5, 0.9, 0.1);
    let s = ImageStats::measure(&dark, 100, [10, 10]).unwrap();
    assert_eq!((s.background, s.ink, s.box_side, s.centre), (0.9, 0.1, 4.0, [3.5, 3.5]));
    assert!(!s.bright_ink());
    assert_eq!(s.check([10, 10]), Ok(()));
    // Blank images have no polarity; shapes that are not pictures are not measured.
    assert_eq!(ImageStats::measure(&[0.0; 100], 100, [10, 10]), None);
    assert_eq!(ImageStats::measure(&dark[..4], 4, [2, 2]), None);
}

#[test]
fn a_picture_of_either_polarity_becomes_the_models_polarity() {
    let stats = ImageStats { background: 0.0, ink: 255.0, box_side: 20.0, centre: [14.0, 14.0] };
    let dark_on_light = GrayImage { width: 60, height: 50, pixels: rect(50, 60, 5..45, 40..50, 1.0, 0.0) };
    let light_on_dark = GrayImage { width: 60, height: 50, pixels: rect(50, 60, 5..45, 40..50, 0.0, 1.0) };
    let a = stats.to_input("a.png".as_ref(), &dark_on_light, [28, 28]).unwrap();
    let b = stats.to_input("b.png".as_ref(), &light_on_dark, [28, 28]).unwrap();
    assert_eq!(a, b);
    // Background 0, ink up to 255, and the bar's mass on the centre.
    assert_eq!(a[0], 0.0);
    assert_eq!(a.iter().copied().fold(0.0, f32::max), 255.0);
    let com = centre_of_mass(&a, [28, 28]).unwrap();
    assert!((com[0] - 14.0).abs() < 1e-3 && (com[1] - 14.0).abs() < 1e-3, "{com:?}");
    // Faint noise (10% of the contrast) is not ink: the result is the same.
    let mut noisy = dark_on_light.clone();
    noisy.pixels[3] = 0.9;
    noisy.pixels[300] = 0.92;
    assert_eq!(stats.to_input("n.png".as_ref(), &noisy, [28, 28]).unwrap(), a);
    // The model's polarity decides: dark ink on a light background of 0.9.
    let paper = ImageStats { background: 0.9, ink: 0.1, ..stats };
    let c = paper.to_input("c.png".as_ref(), &light_on_dark, [28, 28]).unwrap();
    assert_eq!(c[0], 0.9);
    assert!((c.iter().copied().fold(1.0, f32::min) - 0.1).abs() < 1e-6);
}

#[test]
fn a_blank_picture_is_refused() {
    let stats = ImageStats { background: 0.0, ink: 1.0, box_side: 20.0, centre: [14.0, 14.0] };
    let mut blank = GrayImage { width: 8, height: 8, pixels: vec![0.5; 64] };
    blank.pixels[10] = 0.52;
    let e = stats.to_input("blank.png".as_ref(), &blank, [28, 28]).unwrap_err().to_string();
    assert!(e.contains("blank.png") && e.contains("has no ink"), "{e}");
    let e = stats.check([28, 28]).and(ImageStats { box_side: 30.0, ..stats }.check([28, 28])).unwrap_err();
    assert!(e.contains("box 30"), "{e}");
}

#[test]
fn statistics_need_an_input_shape() {
    let stats = ImageStats { background: 0.0, ink: 255.0, box_side: 3.0, centre: [1.75, 2.0] };
    let schema = crate::data::Schema { image: Some(stats), ..Default::default() };
    assert_eq!(schema.check_image(None), Err("needs an \"input_shape\"".to_string()));
    assert_eq!(schema.check_image(Some([4, 4])), Ok(()));
}

#[test]
fn the_median_is_the_middle_of_the_sorted_values_bit_for_bit() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let specials = [0.0f32, -0.0, 1.0, -1.0, f32::MIN_POSITIVE, -f32::MAX, f32::MAX, 255.0, 1e-30];
    for n in [1usize, 2, 3, 4, 7, 100, 1001, 4096] {
        for trial in 0..20 {
            let v: Vec<f32> = (0..n)
                .map(|_| match trial % 3 {
                    0 => specials[rng.random_range(0..specials.len())],
                    1 => rng.random_range(-1.0e6f32..1.0e6),
                    _ => rng.random_range(0u8..4) as f32 - 1.5,
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by(f32::total_cmp);
            let expected = sorted[(n - 1) / 2];
            assert_eq!(super::median(&v).map(f32::to_bits), Some(expected.to_bits()), "{v:?}");
        }
    }
    assert_eq!(super::median(&[]), None);
}

/// The measurement as first written: one image after another, sorted medians, a division
/// per pixel (the reference the faster one must match bit for bit).
fn measured_one_by_one(features: &[f32], d: usize, [h, w]: [usize; 2]) -> Option<ImageStats> {
    let median = |v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v.get(v.len().checked_sub(1)? / 2).copied()
    };
    let images: Vec<&[f32]> = features.chunks_exact(d).collect();
    let is_border = |i: usize| i / w == 0 || i / w == h - 1 || i.is_multiple_of(w) || i % w == w - 1;
    let (mut border_px, mut bright, mut dark) = (Vec::new(), 0, 0);
    for img in &images {
        let edge: Vec<f32> = (0..d).filter(|&i| is_border(i)).map(|i| img[i]).collect();
        let edge_mean = edge.iter().map(|&v| v as f64).sum::<f64>() / edge.len() as f64;
        let mean = img.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
        bright += (mean > edge_mean) as usize;
        dark += (mean < edge_mean) as usize;
        border_px.extend(edge);
    }
    if bright == dark {
        return None;
    }
    let background = median(&mut border_px)?;
    let fold = if bright > dark { f32::max } else { f32::min };
    let ink = median(&mut images.iter().map(|img| img.iter().copied().fold(background, fold)).collect())?;
    let range = ink as f64 - background as f64;
    let (mut sides, mut centres) = (Vec::new(), Vec::new());
    for img in &images {
        let amount: Vec<f32> = img.iter().map(|&v| ((v as f64 - background as f64) / range) as f32).collect();
        let inked: Vec<usize> = (0..d).filter(|&i| amount[i] as f64 >= INK_THRESHOLD).collect();
        if inked.is_empty() {
            continue;
        }
        let (ys, xs): (Vec<usize>, Vec<usize>) = inked.iter().map(|&i| (i / w, i % w)).unzip();
        let side = |v: &[usize]| v.iter().max().unwrap() - v.iter().min().unwrap() + 1;
        sides.push(side(&ys).max(side(&xs)) as f32);
        let (mut sum, mut sy, mut sx) = (0.0f64, 0.0f64, 0.0f64);
        for (i, &a) in amount.iter().enumerate() {
            let v = a.max(0.0) as f64;
            (sum, sy, sx) = (sum + v, sy + v * (i / w) as f64, sx + v * (i % w) as f64);
        }
        centres.extend((sum > 0.0).then(|| [sy / sum, sx / sum]));
    }
    let n = centres.len().max(1) as f64;
    let mean_of =
        |k: usize| (centres.iter().map(|c: &[f64; 2]| c[k]).sum::<f64>() / n * 1000.0).round() / 1000.0;
    Some(ImageStats {
        background: tidy(background),
        ink: tidy(ink),
        box_side: median(&mut sides)? as f64,
        centre: [mean_of(0), mean_of(1)],
    })
}

/// Shapes: rows read through bit masks (10 and 64 wide), rows too wide for them (70), and
/// images so tall that their centres' sums may not be exact in units (1000 x 10), which take
/// the in-order sums.
#[test]
fn the_parallel_measurement_gives_the_figures_of_one_image_after_another() {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for (h, w, kinds) in [(12, 10, 0..7), (12, 64, 0..7), (11, 70, 0..7), (1000, 10, 0..1)] {
        measured_alike(&mut rng, [h, w], kinds);
    }
}

/// Random pictures of `shape` for each of `kinds`, measured in parallel and one by one.
fn measured_alike(rng: &mut rand_chacha::ChaCha8Rng, [h, w]: [usize; 2], kinds: std::ops::Range<usize>) {
    use rand::RngExt;
    for kind in kinds {
        let n = 301;
        let mut x = Vec::with_capacity(n * h * w);
        for _ in 0..n {
            let (t, l) = (rng.random_range(0..6), rng.random_range(0..5));
            let (bh, bw) = (rng.random_range(1..6), rng.random_range(1..5));
            let img = rect(h, w, t..t + bh, l..l + bw, 0.0, 1.0);
            x.extend(img.into_iter().map(|v| match kind {
                // Whole pixels 0..255, dark ink on white, noisy floats, and values with -0.0.
                0 => (v * rng.random_range(100.0f32..256.0)).floor(),
                1 => 255.0 - v * 200.0,
                // Whole levels with −0.0 in the background, and dark on a mid-grey of 128.
                4 if v == 0.0 && rng.random_range(0..3) != 0 => -0.0,
                4 => (v * rng.random_range(1.0f32..255.9)).floor(),
                5 => 128.0 - (v * rng.random_range(30.0f32..128.9)).floor(),
                2 => v * 0.7 + rng.random_range(-0.01f32..0.01),
                // Whole levels with noise in the background, under and above the ink's level.
                6 if v == 0.0 => rng.random_range(0..40) as f32,
                6 => rng.random_range(30..256) as f32,
                _ => {
                    if v == 0.0 {
                        -0.0
                    } else {
                        v * rng.random_range(0.5f32..1.5)
                    }
                }
            }));
        }
        let expected = measured_one_by_one(&x, h * w, [h, w]);
        assert!(expected.is_some(), "kind {kind}, {h} x {w}");
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let got = pool.install(|| ImageStats::measure(&x, h * w, [h, w]));
            assert_eq!(
                format!("{got:?}"),
                format!("{expected:?}"),
                "kind {kind}, {h} x {w}, {threads} threads"
            );
        }
    }
}
