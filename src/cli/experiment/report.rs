//! An experiment's report: the Markdown section (setup, the table of our figures beside the
//! published ones with the `bp-par train` command of seed 1, the pictures), the same figures
//! as JSON, the pictures themselves (PNG), and the index DIR/EXPERIMENTS.md rebuilt from the
//! sections in DIR/experiments/.

use super::catalogue::{Experiment, Measure, NAMES};
use super::runner::RunResult;
use crate::cli::common::shell_quote;
use crate::cli::viz;
use bp_par::error::Result;
use bp_par::infer::{evaluate, outputs};
use bp_par::network::argmax;
use std::fmt::Write as _;
use std::path::Path;

/// How the report was made: stated in its text.
pub struct Context<'a> {
    /// The rayon pool's size.
    pub threads: usize,
    /// The CPU, in words.
    pub machine: &'a str,
    /// `--quick`: a plumbing check, not comparable with the published figures.
    pub quick: bool,
    /// `--out DIR`, where the report files are written, if any.
    pub out: Option<&'a Path>,
}

/// `bp-par experiment NAME [--quick] [--out DIR]`.
pub fn experiment_command(name: &str, quick: bool, out: Option<&Path>) -> String {
    let mut c = format!("bp-par experiment {name}");
    if quick {
        c += " --quick";
    }
    if let Some(dir) = out {
        c += &format!(" --out {}", shell_quote(&dir.display().to_string()));
    }
    c
}

/// Draws the pictures of an experiment into `dir` (from its first run's first seed); returns
/// (caption, file name) of each.
pub fn pictures(name: &str, r: &RunResult, dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let file = |what: &str| format!("{name}-{what}.png");
    let history = &r.seeds[0].history;
    viz::curves(history, &format!("{name}: {} (seed {})", r.run.label, r.seeds[0].seed))
        .save(&dir.join(file("curves")))?;
    out.push(("loss and accuracy per epoch".to_string(), file("curves")));
    if let Some(shape) = r.shape {
        let units = r.model.arch().sizes()[1].min(100);
        viz::weight_tiles(&r.model.weight(0), units, shape, &format!("{name}: first-layer weights"))?
            .save(&dir.join(file("weights")))?;
        out.push(("first-layer weights".to_string(), file("weights")));
    }
    let held = &r.held_out;
    if let Some(conf) = evaluate(&r.model, held, None)?.confusion {
        let title = format!("{name}: {:.2}% of {} correct", 100.0 * conf.accuracy(), conf.total());
        viz::confusion(&conf, None, &title)?.save(&dir.join(file("confusion")))?;
        out.push(("confusion matrix on the measured rows".to_string(), file("confusion")));
    }
    if let (Some(shape), Some(labels)) = (r.shape, held.labels()) {
        let k = r.model.arch().n_out();
        // Rows spread evenly over the measured set (the shipped digits are sorted by class).
        let n = held.n_samples();
        let rows: Vec<usize> = (0..n.min(100)).map(|i| i * n / n.min(100)).collect();
        let shown = held.subset(&rows);
        let preds: Vec<usize> = outputs(&r.model, &shown)?.chunks_exact(k).map(argmax).collect();
        // Draw the images as they were, before normalisation.
        let d = shown.n_features();
        let mut raw = shown.features().to_vec();
        r.norm.invert(&mut raw, d)?;
        let tiles: Vec<viz::Tile> = rows
            .iter()
            .enumerate()
            .map(|(j, &i)| viz::Tile {
                pixels: &raw[j * d..(j + 1) * d],
                label: Some(labels[i]),
                wrong: (preds[j] != labels[i] as usize).then_some(preds[j]),
            })
            .collect();
        let wrong = tiles.iter().filter(|t| t.wrong.is_some()).count();
        viz::digits_grid(
            &tiles,
            shape,
            None,
            &format!("{name}: 100 measured samples, {wrong} misclassified"),
        )?
        .save(&dir.join(file("digits")))?;
        out.push((
            "100 measured samples spread over the set (misclassified ones framed in red)".to_string(),
            file("digits"),
        ));
    }
    Ok(out)
}

/// One experiment's figures as JSON: per run, the published value, our mean, std and
/// per-seed values, the seconds per seed, and the command of seed 1.
pub fn json(e: &Experiment, results: &[RunResult]) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let (mean, std) = r.mean_std();
            serde_json::json!({
                "run": r.run.label,
                "published": r.run.published.map(|p| p.value),
                "source": r.run.published.map(|p| p.source),
                "mean": mean,
                "std": std,
                "seeds": r.seeds.iter().map(|s| serde_json::json!({"seed": s.seed, "value": s.value, "seconds": s.seconds})).collect::<Vec<_>>(),
                "command": r.first.command_line(),
            })
        })
        .collect();
    serde_json::json!({"experiment": e.name, "title": e.title, "runs": runs})
}

/// The index of the report in `out` (as the user named it), built from the sections present
/// in `sections` (its `experiments/` folder).
pub fn index(out: &Path, sections: &Path) -> String {
    let all = experiment_command("all", false, Some(out));
    let one = experiment_command("NAME", false, Some(out));
    let mut s = format!(
        "# Experiments\n\nPublished handwritten-digit results reproduced with bp-par, our figures beside \
the published ones. This file is written by `{all}` (`{one}` rewrites one experiment's section \
in the `experiments/` folder beside this file, and then this index); nothing here is typed by hand.\n\n",
    );
    let mut body = String::new();
    for name in NAMES {
        let command = experiment_command(name, false, Some(out));
        match std::fs::read_to_string(sections.join(format!("{name}.md"))) {
            Ok(text) => {
                s += &format!("- [{name}](#{name}) — `{command}`\n");
                body += &format!("<a id=\"{name}\"></a>\n\n");
                // Pictures are linked relative to the index's folder.
                body += &text.replace("](", "](experiments/").replace("](experiments/http", "](http");
                body += "\n";
            }
            Err(_) => s += &format!("- {name}: not run yet (`{command}`)\n"),
        }
    }
    // How the defaults were chosen: a section written by docs/defaults/grid.py, kept beside.
    let defaults = out.join("defaults").join("defaults.md");
    if let Ok(text) = std::fs::read_to_string(&defaults) {
        s += "- [defaults](#defaults) — how `bp-par train`'s defaults were chosen (`python3 docs/defaults/grid.py`)\n";
        body += &format!(
            "<a id=\"defaults\"></a>\n\n{}\n",
            text.replace("](", "](defaults/").replace("](defaults/http", "](http")
        );
    }
    s += "\n";
    s + &body
}

/// The published figure, its source and our difference from it, as table cells.
fn comparison(r: &RunResult, mean: f64, std: f64) -> (String, String, String) {
    match r.run.published {
        Some(p) => {
            let d = mean - p.value;
            let better = if r.run.measure == Measure::HeldOutError { d < 0.0 } else { d > 0.0 };
            let word = if d.abs() <= std.max(0.05) {
                "within the seed spread"
            } else if better {
                "better"
            } else {
                "worse"
            };
            (format!("{:.2}%", p.value), p.source.to_string(), format!("{d:+.2} points ({word})"))
        }
        None => ("—".into(), "not published".into(), "—".into()),
    }
}

/// Whether a run's mean falls short of its published figure by more than the seed spread.
fn falls_short(r: &RunResult) -> bool {
    let (mean, std) = r.mean_std();
    r.run.published.is_some_and(|p| {
        let d = mean - p.value;
        d.abs() > std.max(0.05) && ((r.run.measure == Measure::HeldOutError) == (d > 0.0))
    })
}

/// The report section of one experiment, as Markdown. `pictures` are (caption, file name)
/// relative to the section.
pub fn markdown(
    e: &Experiment,
    results: &[RunResult],
    cx: &Context,
    pictures: &[(String, String)],
) -> String {
    let mut s = format!("## {}\n\n", e.title);
    if cx.quick {
        s += "**Quick mode (CI plumbing check): at most 2 epochs and 2 seeds, MNIST-sized training sets cut to their first 3,000 rows; not comparable with the published figures.**\n\n";
    }
    s += e.about;
    s += "\n\n";
    let _ = writeln!(
        s,
        "Regenerate: `{}` ({}: {}; {}; {}).\n",
        experiment_command(e.name, cx.quick, cx.out),
        bp_par::error::count(e.seeds.len(), "seed"),
        e.seeds.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        bp_par::error::count(cx.threads, "thread"),
        cx.machine
    );
    s += "| run | published | source | ours (mean ± std) | difference | wall time per seed | command (seed 1) |\n";
    s += "|---|---|---|---|---|---|---|\n";
    for r in results {
        let (mean, std) = r.mean_std();
        let secs: f64 = r.seeds.iter().map(|x| x.seconds).sum::<f64>() / r.seeds.len().max(1) as f64;
        let (published, source, diff) = comparison(r, mean, std);
        let _ = writeln!(
            s,
            "| {} | {published} | {source} | **{mean:.2}% ± {std:.2}** (n = {}) | {diff} | {secs:.1} s | `{}` |",
            r.run.label,
            r.seeds.len(),
            r.first.command_line()
        );
    }
    s += "\n";
    if results.iter().any(falls_short) && !cx.quick {
        let _ = writeln!(
            s,
            "**Where we fall short:** {}\n",
            if e.shortfall.is_empty() {
                "see the setup notes above for the differences from the original recipe."
            } else {
                e.shortfall
            }
        );
    }
    for (caption, file) in pictures {
        let _ = writeln!(s, "![{caption}]({file})\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_index_is_built_from_the_committed_sections() {
        // docs/EXPERIMENTS.md is rewritten by `bp-par experiment NAME --out docs` after each
        // section; a hand edit of either, or a change of the index's text, shows here.
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        let committed = std::fs::read_to_string(docs.join("EXPERIMENTS.md")).unwrap();
        let built = index(Path::new("docs"), &docs.join("experiments"));
        assert!(built.contains("This file is written by `bp-par experiment all --out docs`"));
        assert!(built == committed, "docs/EXPERIMENTS.md is not what `--out docs` writes:\n{built}");
    }

    #[test]
    fn commands_quote_the_report_folder() {
        assert_eq!(experiment_command("ex4", true, None), "bp-par experiment ex4 --quick");
        assert_eq!(
            experiment_command("all", false, Some(Path::new("my docs"))),
            "bp-par experiment all --out 'my docs'"
        );
    }
}
