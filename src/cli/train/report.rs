//! `train`'s results on stdout: the final figures of the trained model on the training and
//! held-out rows, and on the test file reported beside a validation split (a full pass with
//! the final weights, those `--save` writes), as text or JSON.

use super::load::Prepared;
use super::plan::Plan;
use crate::cli::common::emit;
use bp_par::error::{Result, count};
use bp_par::infer::{Evaluation, evaluate};
use bp_par::train::{EpochMetrics, PhaseTimes, StopReason};
use serde_json::json;

/// Evaluates the trained model and prints the results, with why the run stopped.
pub fn report(
    plan: &Plan,
    p: &Prepared,
    history: &[EpochMetrics],
    train_s: f64,
    reason: Option<&StopReason>,
    times: Option<&PhaseTimes>,
) -> Result<()> {
    let s = &p.session;
    let (cfg, net, train) = (s.mlp().config(), &s.model().net, s.train());
    let l2 = (cfg.l2 > 0.0).then_some((cfg.l2 as f64, train.n_samples()));
    let final_train = evaluate(net, train, l2)?;
    let final_held = s.held_out().map(|h| evaluate(net, h, None)).transpose()?;
    let final_test = s.test().map(|t| evaluate(net, t, None)).transpose()?;
    let mean_epoch_s = history.iter().map(|m| m.seconds).sum::<f64>() / history.len().max(1) as f64 + 0.0;
    if plan.json {
        let mut out = json!({
            "layers": net.arch().sizes(),
            "seed": cfg.seed,
            "threads": plan.threads,
            "ranks": plan.ranks.0,
            "epochs": cfg.epochs,
            "train_samples": train.n_samples(),
            "train_loss": final_train.loss + final_train.l2_term,
            "train_acc": final_train.accuracy(),
            "held_out": plan.held_out_name(),
            "held_out_samples": final_held.as_ref().map(|e| e.n_samples),
            "held_out_loss": final_held.as_ref().map(|e| e.loss),
            "held_out_acc": final_held.as_ref().and_then(|e| e.accuracy()),
            "seconds": train_s,
            "mean_epoch_seconds": mean_epoch_s,
            "model": plan.save.as_ref().map(|p| p.display().to_string()),
            "stop": reason.map(|r| json!({ "rule": r.rule(), "epoch": r.epoch(), "reason": r.to_string() })),
        });
        if let Some(t) = times {
            out["exchange_seconds"] = json!(t.exchange);
            out["step_seconds"] = json!(t.steps);
            out["steps"] = json!(t.batches);
            out["bytes_sent_per_step"] = json!(bytes_per_step(plan, net, train.n_samples()));
        }
        // Beside a validation split (the `held_out_*` figures), the test file's.
        if let Some(e) = &final_test {
            out["test_samples"] = json!(e.n_samples);
            out["test_loss"] = json!(e.loss);
            out["test_acc"] = json!(e.accuracy());
        }
        return emit(&format!("{out}\n"));
    }
    let threads = match plan.ranks.0 {
        1 => count(plan.threads, "thread"),
        n => format!("{n} MPI ranks of {}", count(plan.threads, "thread")),
    };
    let mut s = format!(
        "trained {} in {:.2}s ({:.3}s per epoch, {threads}, seed {})\n",
        net.arch().sizes().iter().map(ToString::to_string).collect::<Vec<_>>().join("-"),
        train_s,
        mean_epoch_s,
        cfg.seed
    );
    if let Some(t) = times {
        s += &format!(
            "exchange between ranks: {:.3}s of {:.3}s in {} steps ({:.0}%), {} sent per step by the busiest rank\n",
            t.exchange,
            t.steps,
            t.batches,
            100.0 * t.exchange / t.steps.max(1e-9),
            bp_par::sys::human_bytes(bytes_per_step(plan, net, train.n_samples()))
        );
    }
    s += &line("train", &final_train, final_train.loss + final_train.l2_term);
    if let Some(e) = &final_held {
        s += &line(plan.held_out_name(), e, e.loss);
    }
    if let Some(e) = &final_test {
        s += &line("test", e, e.loss);
    }
    if let Some(r) = reason {
        s += &format!("stopped: {r}\n");
    }
    if let Some(p) = &plan.save {
        s += &format!("model saved to {}\n", p.display());
    }
    emit(&s)
}

/// Bytes the busiest rank sends in a full mini-batch's exchange.
fn bytes_per_step(plan: &Plan, net: &bp_par::network::Network<f32>, n_samples: usize) -> u64 {
    let (_, shards) = bp_par::train::shards_per_batch(plan.cfg.batch, plan.cfg.shard, n_samples);
    let sent = bp_par::distributed::bytes_sent_per_step(net.arch().n_params(), shards, plan.ranks.0);
    sent.into_iter().max().unwrap_or(0)
}

/// "NAME: loss L  accuracy A%  (N samples)".
fn line(name: &str, e: &Evaluation, loss: f64) -> String {
    let mut s = format!("{name}: loss {loss:.4}");
    if let Some(a) = e.accuracy() {
        s += &format!("  accuracy {:.2}%", 100.0 * a);
    }
    s + &format!("  ({})\n", bp_par::error::count(e.n_samples, "sample"))
}
