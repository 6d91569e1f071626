//! The `bench --plot` picture: training samples/s against threads as a self-contained SVG
//! line chart, one line per (batch, shard) with min-max bars, and the linear scaling of the
//! best 1-thread point. Plain text, no drawing crate.

use super::BenchRow;
use std::fmt::Write;

/// Picture width and height, in pixels.
const W: f64 = 720.0;
const H: f64 = 440.0;
/// Margins around the plot area (the right one holds the legend).
const LEFT: f64 = 80.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 60.0;
/// Line colours, one per (batch, shard), reused after the eighth.
const COLORS: [&str; 8] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// A line chart of samples/s against threads, one line per (batch, shard), with the ideal
/// linear scaling of the first line's 1-thread point, as a self-contained SVG.
pub fn scaling_svg(rows: &[BenchRow], title: &str, subtitle: &str) -> String {
    let max_t = rows.iter().map(|r| r.threads).max().unwrap_or(1) as f64;
    let mut series: Vec<(usize, usize)> = rows.iter().map(|r| (r.batch, r.shard)).collect();
    series.sort_unstable();
    series.dedup();
    let base = rows.iter().filter(|r| r.threads == 1).map(|r| r.samples_per_s.median).fold(0.0, f64::max);
    let max_y = rows.iter().map(|r| r.samples_per_s.max).fold(base * max_t, f64::max).max(1.0) * 1.05;
    let frame = Frame { max_t, max_y };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{0}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{title}</text>\n\
         <text x=\"{0}\" y=\"40\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555\">{subtitle}</text>\n",
        W / 2.0
    );
    frame.axes(&mut s, rows);
    // Ideal scaling from the best 1-thread point.
    let _ = writeln!(
        s,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"gray\" stroke-dasharray=\"5,4\"/>",
        frame.x(1.0),
        frame.y(base),
        frame.x(max_t),
        frame.y(base * max_t)
    );
    for (i, &(batch, shard)) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let mut points: Vec<&BenchRow> =
            rows.iter().filter(|r| r.batch == batch && r.shard == shard).collect();
        points.sort_by_key(|r| r.threads);
        frame.line(&mut s, &points, c);
        legend(
            &mut s,
            i,
            &format!("stroke=\"{c}\" stroke-width=\"2\""),
            &format!("batch {batch}, shard {shard}"),
        );
    }
    legend(&mut s, series.len(), "stroke=\"gray\" stroke-dasharray=\"5,4\"", "linear scaling");
    s.push_str("</svg>\n");
    s
}

/// The data ranges: threads 1..=`max_t` across, samples/s 0..=`max_y` up.
struct Frame {
    max_t: f64,
    max_y: f64,
}

impl Frame {
    /// The picture x of `t` threads.
    fn x(&self, t: f64) -> f64 {
        LEFT + (t - 1.0) / (self.max_t - 1.0).max(1.0) * (W - LEFT - RIGHT)
    }

    /// The picture y of `v` samples/s.
    fn y(&self, v: f64) -> f64 {
        TOP + (1.0 - v / self.max_y) * (H - TOP - BOTTOM)
    }

    /// The axes, the horizontal grid with its samples/s ticks, the thread counts of `rows`
    /// under the x axis, and the two axis titles.
    fn axes(&self, s: &mut String, rows: &[BenchRow]) {
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>",
            H - BOTTOM,
            W - RIGHT,
            H - BOTTOM
        );
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"black\"/>",
            H - BOTTOM
        );
        for i in 0..=5 {
            let v = self.max_y * i as f64 / 5.0;
            let _ = writeln!(
                s,
                "<line x1=\"{LEFT}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#ddd\"/><text x=\"{2}\" y=\"{3}\" text-anchor=\"end\">{4:.0}k</text>",
                self.y(v),
                W - RIGHT,
                LEFT - 6.0,
                self.y(v) + 4.0,
                v / 1e3
            );
        }
        let mut threads: Vec<usize> = rows.iter().map(|r| r.threads).collect();
        threads.sort_unstable();
        threads.dedup();
        for t in &threads {
            let _ = writeln!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{t}</text>",
                self.x(*t as f64),
                H - BOTTOM + 18.0
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">threads</text>",
            (LEFT + W - RIGHT) / 2.0,
            H - 15.0
        );
        let _ = writeln!(
            s,
            "<text x=\"20\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 20 {0})\">training samples/s (median, bars: min-max)</text>",
            (TOP + H - BOTTOM) / 2.0
        );
    }

    /// One (batch, shard)'s medians as a polyline in colour `c`, each with a dot and a min-max bar;
    /// `points` sorted by threads.
    fn line(&self, s: &mut String, points: &[&BenchRow], c: &str) {
        let path: Vec<String> = points
            .iter()
            .map(|r| format!("{:.1},{:.1}", self.x(r.threads as f64), self.y(r.samples_per_s.median)))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>",
            path.join(" ")
        );
        for r in points {
            let (px, sp) = (self.x(r.threads as f64), r.samples_per_s);
            let _ = writeln!(
                s,
                "<circle cx=\"{px:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{c}\"/><line x1=\"{px:.1}\" y1=\"{:.1}\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"{c}\"/>",
                self.y(sp.median),
                self.y(sp.min),
                self.y(sp.max)
            );
        }
    }
}

/// Legend entry `i` in the right margin: a short line drawn with the SVG attributes `style`,
/// then `label`.
fn legend(s: &mut String, i: usize, style: &str, label: &str) {
    let ly = TOP + 10.0 + 20.0 * i as f64;
    let _ = writeln!(
        s,
        "<line x1=\"{0}\" y1=\"{ly}\" x2=\"{1}\" y2=\"{ly}\" {style}/><text x=\"{2}\" y=\"{3}\">{label}</text>",
        W - RIGHT + 15.0,
        W - RIGHT + 40.0,
        W - RIGHT + 46.0,
        ly + 4.0
    );
}
