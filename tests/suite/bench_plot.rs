//! `bp_par::bench::scaling_svg`, the `bench --plot` picture, on fixed rows: the whole SVG
//! against a golden file, and a few of its coordinates worked out by hand.

use bp_par::bench::{BenchRow, Spread, scaling_svg};

/// A row of `threads` for (`batch`, `shard`) with median, min and max samples/s; the fields
/// the plot does not draw are left at zero.
fn row(threads: usize, batch: usize, shard: usize, [median, min, max]: [f64; 3]) -> BenchRow {
    BenchRow {
        threads,
        batch,
        shard,
        samples_per_s: Spread { median, min, max },
        gflops: 0.0,
        peak_gflops: 0.0,
        speedup: None,
        epoch_seconds: 0.0,
        phases: Default::default(),
        team: threads,
        tasks: Vec::new(),
        tasks_at_threads: Vec::new(),
        peer: None,
        vs_peer: None,
        busiest: 0.0,
        idlest: 0.0,
    }
}

#[test]
fn the_scaling_plot_draws_every_series_and_the_linear_scaling() {
    let rows = [
        row(1, 64, 32, [100e3, 90e3, 110e3]),
        row(1, 128, 64, [120e3, 115e3, 125e3]),
        row(2, 64, 32, [190e3, 180e3, 200e3]),
        row(2, 128, 64, [230e3, 220e3, 240e3]),
        row(4, 64, 32, [300e3, 250e3, 320e3]),
        row(4, 128, 64, [400e3, 380e3, 420e3]),
    ];
    let svg = scaling_svg(&rows, "a title", "a subtitle");
    // Worked out by hand: the plot area is x 80..520 for threads 1..4, y 380..60 for 0..max_y;
    // max_y is 1.05 x the linear scaling of the best 1-thread median (4 x 120k): 504k. The
    // 4-thread point of (128, 64) is then at x 520, y 60 + (1 - 400/504) x 320 = 126.0.
    assert!(svg.contains("<circle cx=\"520.0\" cy=\"126.0\""), "{svg}");
    // The linear scaling runs from (1 thread, 120k) at y 303.8 to (4 threads, 480k) at y 75.2.
    let ideal = "<line x1=\"80\" y1=\"303.8095238095238\" x2=\"520\" y2=\"75.238";
    assert!(svg.contains(ideal), "{svg}");
    assert_eq!(svg.matches("<polyline").count(), 2);
    assert_eq!(svg.matches("<circle").count(), 6);
    // The whole picture, byte for byte: bench_scaling.svg was written by this same call to
    // scaling_svg as it was before the plot moved out of src/bench.rs (commit d06d685).
    assert_eq!(svg, include_str!("../data/bench_scaling.svg"));
}
