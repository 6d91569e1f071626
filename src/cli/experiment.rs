//! `bp-par experiment NAME`: run a published experiment, print its table, write its report
//! section and pictures, and regenerate the report index.

use super::args::ExperimentArgs;
use super::common::emit;
use super::viz;
use bp_par::error::{Error, Result};
use bp_par::experiment::{self, DataCache, NAMES, RunResult};
use bp_par::infer::{evaluate, outputs};
use bp_par::network::argmax;
use std::path::{Path, PathBuf};

/// The pictures of an experiment (from its first run's first seed); returns (caption, file).
fn pictures(name: &str, r: &RunResult, dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let file = |what: &str| format!("{name}-{what}.png");
    let history = &r.seeds[0].history;
    viz::curves(history, &format!("{name}: {} (seed {})", r.spec.label, r.seeds[0].seed))
        .save(&dir.join(file("curves")))?;
    out.push(("loss and accuracy per epoch".to_string(), file("curves")));
    if let Some(shape) = r.shape {
        let units = r.model.arch.sizes()[1].min(100);
        viz::weight_tiles(&r.model.weight(0), units, shape, &format!("{name}: first-layer weights"))?
            .save(&dir.join(file("weights")))?;
        out.push(("first-layer weights".to_string(), file("weights")));
    }
    if let Some(held) = &r.held_out {
        if let Some(conf) = evaluate(&r.model, held, None).confusion {
            let title = format!("{name}: {:.2}% of {} correct", 100.0 * conf.accuracy(), conf.total());
            viz::confusion(&conf, &title)?.save(&dir.join(file("confusion")))?;
            out.push(("confusion matrix on the measured rows".to_string(), file("confusion")));
        }
        if let (Some(shape), Some(labels)) = (r.shape, held.labels()) {
            let k = r.model.arch.n_out();
            // Rows spread evenly over the measured set (the shipped digits are sorted by class).
            let n = held.n_samples();
            let rows: Vec<usize> = (0..n.min(100)).map(|i| i * n / n.min(100)).collect();
            let mut shown = held.subset(&rows);
            let preds: Vec<usize> = outputs(&r.model, &shown).chunks_exact(k).map(argmax).collect();
            // Draw the images as they were, before normalisation.
            r.norm.invert(&mut shown.features, shown.n_features);
            let tiles: Vec<viz::Tile> = rows
                .iter()
                .enumerate()
                .map(|(j, &i)| viz::Tile {
                    pixels: shown.row(j),
                    label: Some(labels[i]),
                    wrong: (preds[j] != labels[i] as usize).then_some(preds[j]),
                })
                .collect();
            let wrong = tiles.iter().filter(|t| t.wrong.is_some()).count();
            viz::digits_grid(&tiles, shape, &format!("{name}: 100 measured samples, {wrong} misclassified"))?
                .save(&dir.join(file("digits")))?;
            out.push((
                "100 measured samples spread over the set (misclassified ones framed in red)".to_string(),
                file("digits"),
            ));
        }
    }
    Ok(out)
}

/// One experiment's figures as JSON: per run, the published value, our mean, std and
/// per-seed values, the seconds per seed, and the command of seed 1.
fn report_json(e: &experiment::Experiment, results: &[RunResult], cache: &DataCache) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let (mean, std) = r.mean_std();
            serde_json::json!({
                "run": r.spec.label,
                "published": r.spec.published.map(|p| p.0),
                "source": r.spec.published.map(|p| p.1),
                "mean": mean,
                "std": std,
                "seeds": r.seeds.iter().map(|s| serde_json::json!({"seed": s.seed, "value": s.value, "seconds": s.seconds})).collect::<Vec<_>>(),
                "command": experiment::command(&r.spec, cache, e.seeds[0]),
            })
        })
        .collect();
    serde_json::json!({"experiment": e.name, "title": e.title, "runs": runs})
}

/// Rebuilds DIR/EXPERIMENTS.md from the sections present in DIR/experiments/.
fn write_index(out: &Path) -> Result<()> {
    let mut s = String::from(
        "# Experiments\n\nPublished handwritten-digit results reproduced with bp-par, our figures beside \
the published ones. This file is written by `bp-par experiment NAME` (each run rewrites its own section \
in the `experiments/` folder beside this file, and then this index); nothing here is typed by hand.\n\n",
    );
    let mut sections = String::new();
    for name in NAMES {
        let p = out.join("experiments").join(format!("{name}.md"));
        match std::fs::read_to_string(&p) {
            Ok(text) => {
                s += &format!("- [{name}](#{name}) — `bp-par experiment {name}`\n");
                sections += &format!("<a id=\"{name}\"></a>\n\n");
                // Pictures are linked relative to docs/.
                sections += &text.replace("](", "](experiments/").replace("](experiments/http", "](http");
                sections += "\n";
            }
            Err(_) => s += &format!("- {name}: not run yet (`bp-par experiment {name}`)\n"),
        }
    }
    s += "\n";
    s += &sections;
    bp_par::write_atomic(&out.join("EXPERIMENTS.md"), s.as_bytes())
}

pub fn run(args: &ExperimentArgs, threads: usize) -> Result<()> {
    let names: Vec<&str> = if args.name == "all" { NAMES.to_vec() } else { vec![args.name.as_str()] };
    let specs = names.iter().map(|n| experiment::get(n, args.quick)).collect::<Result<Vec<_>>>()?;
    let out = match (&args.out, args.quick) {
        (Some(o), _) => o.clone(),
        (None, false) => PathBuf::from("docs"),
        (None, true) => std::env::temp_dir().join("bp-par-quick"),
    };
    let dir = out.join("experiments");
    let mut json_out = Vec::new();
    let machine = bp_par::sys::machine_description();
    let mut cache = DataCache::new(&args.data_dir);
    for e in specs {
        if !args.common.quiet {
            eprintln!(
                "bp-par experiment {}: {} run(s) x {} seed(s) on {threads} thread(s)",
                e.name,
                e.runs.len(),
                e.seeds.len()
            );
        }
        let quiet = args.common.quiet;
        let results = experiment::run(&e, &mut cache, |label, seed, value| {
            if !quiet {
                eprintln!("  {label}, seed {seed}: {value:.2}%");
            }
        })?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "create the report folder", e))?;
        let pics = pictures(e.name, &results[0], &dir)?;
        let md = experiment::markdown(&e, &results, &cache, threads, &machine, &pics, args.quick);
        let section = dir.join(format!("{}.md", e.name));
        bp_par::write_atomic(&section, md.as_bytes())?;
        write_index(&out)?;
        if args.common.json {
            json_out.push(report_json(&e, &results, &cache));
        } else {
            emit(&md)?;
        }
        if !args.common.quiet {
            eprintln!(
                "bp-par experiment {}: wrote {} and {}",
                e.name,
                section.display(),
                out.join("EXPERIMENTS.md").display()
            );
        }
    }
    if args.common.json {
        emit(&format!("{}\n", serde_json::Value::Array(json_out)))?;
    }
    Ok(())
}
