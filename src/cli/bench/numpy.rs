//! `bench --compare numpy`: the numpy reference (benches/peers/numpy_mlp.py, built into the
//! binary) run as one server process per (threads, batch), each timing one repetition per
//! request, so that its repetitions alternate with ours under the same machine load.

use crate::cli::args::BenchArgs;
use bp_par::error::{Error, Result};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The numpy reference implementation, built in so `--compare numpy` works from any folder.
const NUMPY_PEER: &str = include_str!("../../../benches/peers/numpy_mlp.py");

/// The numpy reference processes, one per (threads, batch), each serving one timed
/// repetition per request (`numpy_mlp.py --serve`), so that its repetitions alternate with ours.
pub(super) struct NumpyPeers<'a> {
    python: &'a Path,
    args: &'a BenchArgs,
    layers: String,
    dir: tempfile::TempDir,
    running: Vec<((usize, usize), Server)>,
}

/// One running `numpy_mlp.py --serve` and its pipes.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl<'a> NumpyPeers<'a> {
    /// Writes the script into a temporary folder; starts no process yet.
    pub(super) fn new(python: &'a Path, args: &'a BenchArgs, layers: &[usize]) -> Result<Self> {
        let dir =
            tempfile::tempdir().map_err(|e| Error::io(Path::new("."), "create a temporary folder in", e))?;
        let script = dir.path().join("numpy_mlp.py");
        std::fs::write(&script, NUMPY_PEER).map_err(|e| Error::io(&script, "write", e))?;
        let layers = layers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        Ok(NumpyPeers { python, args, layers, dir, running: Vec::new() })
    }

    fn failed(&self, what: &str) -> Error {
        Error::other(format!(
            "the numpy reference failed ({what}); is numpy installed for {}?",
            self.python.display()
        ))
    }

    /// One timed repetition of the numpy reference at `threads` BLAS threads and `batch`.
    pub(super) fn time(&mut self, threads: usize, batch: usize) -> Result<f64> {
        let i = match self.running.iter().position(|(k, _)| *k == (threads, batch)) {
            Some(i) => i,
            None => self.start(threads, batch)?,
        };
        let server = &mut self.running[i].1;
        let asked = server.stdin.as_mut().is_some_and(|i| writeln!(i, "run").and_then(|_| i.flush()).is_ok());
        let rate = read_json(&mut server.stdout).and_then(|v| v["samples_per_s"].as_f64());
        // OpenBLAS's threads keep spinning for a while after their last GEMM (up to 2^28
        // cycles): let them go idle before our next repetition starts.
        std::thread::sleep(std::time::Duration::from_millis(300));
        match (asked, rate) {
            (true, Some(r)) if r > 0.0 => Ok(r),
            _ => Err(self.failed("it stopped answering")),
        }
    }

    /// Starts the server for (`threads`, `batch`) and returns its index in `running`.
    fn start(&mut self, threads: usize, batch: usize) -> Result<usize> {
        let a = self.args;
        let mut child = Command::new(self.python)
            .arg(self.dir.path().join("numpy_mlp.py"))
            .args(["--layers", &self.layers])
            .args(["--activation", a.activation.name()])
            .args(["--batch", &batch.to_string()])
            .args(["--samples", &a.samples.to_string()])
            .args(["--data", &a.rows.to_string()])
            .args(["--warmup", &a.warmup.to_string()])
            .args(["--threads", &threads.to_string()])
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::io(self.python, "run the Python interpreter", e))?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let Some(stdout) = stdout else { return Err(self.failed("no output pipe")) };
        let mut server = Server { child, stdin, stdout: BufReader::new(stdout) };
        let ready = read_json(&mut server.stdout).ok_or_else(|| self.failed("it did not start"))?;
        if ready["ready"] != json!(true) {
            return Err(self.failed("it did not start"));
        }
        self.running.push(((threads, batch), server));
        Ok(self.running.len() - 1)
    }
}

impl Drop for NumpyPeers<'_> {
    fn drop(&mut self) {
        for (_, mut s) in self.running.drain(..) {
            drop(s.stdin.take()); // end of input: the server returns
            let _ = s.child.wait();
        }
    }
}

/// One line of JSON, or None at the end of the output or on a line that is not JSON.
fn read_json(r: &mut impl BufRead) -> Option<Value> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    serde_json::from_str(&line).ok()
}
