//! One mini-batch: gather, forward, loss, backward, reduce and update, run layer-parallel
//! (the shards one after another, each pass split over the team) or shard-parallel (whole
//! shards side by side, then the reduction and update by parameter chunks). Both give the
//! same bits.

use super::TrainConfig;
use super::Trainer;
pub(super) use super::clip::ClipBuffers;
use super::clip::clipped_update;
use super::tree::{TREE_BLOCK, tree_sum};
use crate::data::{Dataset, Targets};
use crate::gemm::{MatMut, transpose_rows};
use crate::network::{Arch, Buffers, Deltas, Input, Network, Params, argmax, backward_from_deltas};
use crate::optim::Rule;
use crate::split::Split;
use std::ops::Range;
use std::time::Instant;

/// One shard's working memory: gathered rows, their targets, activations and deltas, and the
/// shard's summed loss and correct count.
pub(super) struct Workspace {
    /// The rows gathered, `rows x d` (not written when [`Workspace::gathers`]).
    pub(super) x: Vec<f32>,
    /// Whether the first layer's gradient reads the rows where they lie in the data set
    /// ([`crate::gemm::gemm_gathered`]) rather than a copy in `x`: with the crate's product
    /// kernels, and hidden layers (the output layer's forward pass reads the copy).
    pub(super) gathers: bool,
    y: Vec<f32>,
    pub(super) buf: Buffers<f32>,
    pub(super) loss: f64,
    correct: usize,
    /// The weight of each class (`class_weight`); empty: unweighted.
    class_weight: Vec<f32>,
}

impl Workspace {
    pub(super) fn new(arch: &Arch, rows: usize) -> Self {
        let (d, k) = (arch.n_in(), arch.n_out());
        let gathers = arch.n_layers() > 1 && crate::gemm::gathers_rows();
        Workspace {
            x: if gathers { Vec::new() } else { vec![0.0; rows * d] },
            gathers,
            y: vec![0.0; rows * k],
            buf: Buffers::new(arch, rows),
            loss: 0.0,
            correct: 0,
            class_weight: Vec::new(),
        }
    }

    /// The workspace with each sample's loss and output delta weighted by its class's weight.
    pub(super) fn weighted(self, class_weight: Option<&[f32]>) -> Self {
        Workspace { class_weight: class_weight.map(<[f32]>::to_vec).unwrap_or_default(), ..self }
    }

    /// Gathers `rows`, runs the forward pass (with output deltas) and counts the correct
    /// predictions, cut by `split`. Returns the rows' summed loss (each row's weighted by its
    /// class's weight when the workspace is [`Workspace::weighted`]).
    pub(super) fn forward(
        &mut self,
        net: &Network<f32>,
        data: &Dataset,
        rows: &[usize],
        split: Split<'_>,
    ) -> f64 {
        let (d, k, n) = (data.n_features, net.arch.n_out(), rows.len());
        let input_t = self.buf.input_t_blocks(d, n, split);
        let x_rows = if self.gathers { None } else { Some(&mut self.x[..n * d]) };
        gather(data, rows, (x_rows, &mut self.y, k), input_t, split);
        let (x, y) = (if self.gathers { &[][..] } else { &self.x[..n * d] }, Some(&self.y[..n * k]));
        // Each row's loss and deltas weighted by its class's weight, if weighted.
        let (cw, labels) = (&self.class_weight, data.labels().unwrap_or_default());
        let class_weight = |i: usize| cw[labels[rows[i]] as usize];
        let weight =
            (!cw.is_empty() && !labels.is_empty()).then_some(&class_weight as &(dyn Fn(usize) -> f32 + Sync));
        self.loss = net.forward_with(x, n, y, &mut self.buf, split, Deltas::Backward(weight), true);
        self.correct = match &data.targets {
            Targets::Classes { labels, .. } => {
                let out = self.buf.output(n).chunks_exact(k);
                out.zip(rows).filter(|(o, r)| argmax(o) == labels[**r] as usize).count()
            }
            _ => 0,
        };
        self.loss
    }
}

impl Workspace {
    /// Forward and backward over `rows` with the parameters only read (the full-batch
    /// objective's shards): `grad ← Σ_rows ∂loss/∂params` (overwritten). Returns the rows'
    /// summed loss; [`Workspace::correct`] counts their correct predictions.
    pub(super) fn gradient(
        &mut self,
        net: &Network<f32>,
        data: &Dataset,
        rows: &[usize],
        grad: &mut [f32],
        split: Split<'_>,
    ) -> f64 {
        let loss = self.forward(net, data, rows, split);
        let params = Params::Read(&net.params);
        let x = first_input(&self.x, self.gathers, data, rows);
        backward_from_deltas(&net.arch, params, x, rows.len(), &mut self.buf, grad, split);
        loss
    }

    /// Correct predictions of the last rows passed forward.
    pub(super) fn correct(&self) -> usize {
        self.correct
    }
}

/// The first layer's input of `rows` for the backward pass: the rows gathered into `x`, or
/// (`gathers`) where they lie in `data`.
pub(super) fn first_input<'s>(
    x: &'s [f32],
    gathers: bool,
    data: &'s Dataset,
    rows: &'s [usize],
) -> Input<'s, f32> {
    if gathers {
        Input::Gathered(&data.features, rows)
    } else {
        Input::Rows(&x[..rows.len() * data.n_features])
    }
}

/// Parameters per task of the separate reduction + update (shard-parallel steps).
pub(super) const UPDATE_CHUNK: usize = 4096;

/// Copies the rows `rows` of `data` (into `x`, unless None) and their targets into `y` (`k` targets per row),
/// and transposes them into `input_t`'s blocks (`(first feature, n features x rows)`, see
/// [`crate::network::Buffers::input_t_blocks`]), straight from the data set: one parallel phase
/// of blocks of rows and blocks of features.
pub(super) fn gather<'b>(
    data: &Dataset,
    rows: &[usize],
    (x, y, k): (Option<&mut [f32]>, &mut [f32], usize),
    input_t: impl Iterator<Item = (usize, &'b mut [f32])> + Send,
    split: Split<'_>,
) {
    let (d, n) = (data.n_features, rows.len());
    /// One task of the gather.
    enum Part<'p> {
        Rows(Option<&'p mut [f32]>, &'p mut [f32], &'p [usize]),
        Features(usize, &'p mut [f32]),
    }
    let block = gather_block(split, n, d, k);
    let x_blocks = x.into_iter().flat_map(|x| x[..n * d].chunks_mut(block * d).map(Some));
    let x_blocks = x_blocks.chain(std::iter::repeat_with(|| None));
    let blocks = y[..n * k].chunks_mut(block * k).zip(rows.chunks(block)).zip(x_blocks);
    let parts = blocks.map(|((y, rows), x)| Part::Rows(x, y, rows));
    let parts = parts.chain(input_t.map(|(first, dst)| Part::Features(first, dst)));
    split.for_each(parts, |part| match part {
        Part::Rows(mut x, y, rows) => {
            for (i, (&r, y)) in rows.iter().zip(y.chunks_exact_mut(k)).enumerate() {
                if let Some(x) = &mut x {
                    x[i * d..(i + 1) * d].copy_from_slice(data.row(r));
                }
                data.write_target(r, y);
            }
        }
        Part::Features(first, dst) => {
            let features = dst.len() / n;
            transpose_rows(MatMut::row_major(dst, features, n), |i| &data.row(rows[i])[first..]);
        }
    });
}

/// Rows per block of [`gather`]: a row read from memory costs about as much per value as 8
/// multiply-adds in cache.
pub(super) fn gather_block(split: Split<'_>, rows: usize, d: usize, k: usize) -> usize {
    split.block_len(rows, 8 * (d + k), 1)
}

/// Runs whole shards side by side, each on one thread: forward and backward of the rows of
/// each `((workspace, gradient), rows)` into its gradient (overwritten).
pub(super) fn whole_shards<'w, I>(net: &Network<f32>, data: &Dataset, shards: I, split: Split<'_>)
where
    I: Iterator<Item = ((&'w mut Workspace, &'w mut Vec<f32>), &'w [usize])> + Send,
{
    split.for_each(shards, |((work, grad), rows)| {
        let n = rows.len();
        work.forward(net, data, rows, Split::serial());
        let x = first_input(&work.x, work.gathers, data, rows);
        backward_from_deltas(
            &net.arch,
            Params::Read(&net.params),
            x,
            n,
            &mut work.buf,
            grad,
            Split::serial(),
        );
    });
}

/// Whether `n_shards` shards run side by side on a team of `team` threads (each thread whole
/// shards) rather than one after another with each pass split over the threads.
pub(super) fn shards_side_by_side(n_shards: usize, team: usize) -> bool {
    team > 1 && n_shards >= team
}

/// The reduction fused with the optimiser's update for the parameters `w` (flat indices from
/// `start`), state `state` (`stride` values per parameter): each element's gradient is the
/// sum of `n` shard gradients in the fixed tree order, `leaf(s, range)` giving shard s's
/// gradient over a flat range.
#[allow(clippy::too_many_arguments)]
pub(super) fn reduce_and_step<'g>(
    leaf: &dyn Fn(usize, Range<usize>) -> &'g [f32],
    n: usize,
    start: usize,
    w: &mut [f32],
    state: &mut [f32],
    (rule, stride): (Rule, usize),
    scale: f32,
    decay: f32,
) {
    if n == 1 {
        return rule.apply(w, state, leaf(0, start..start + w.len()), scale, decay);
    }
    let mut sum = [0.0f32; TREE_BLOCK];
    for (i, (w, st)) in w.chunks_mut(TREE_BLOCK).zip(state.chunks_mut(TREE_BLOCK * stride)).enumerate() {
        let from = start + i * TREE_BLOCK;
        let sum = &mut sum[..w.len()];
        tree_sum(&|s| leaf(s, from..from + w.len()), 0, n, sum);
        rule.apply(w, st, sum, scale, decay);
    }
}

/// The update of a step once its gradients are summed or in hand: `grads` (the shards' gradients,
/// summed over the fixed tree; or one, the ranks' reduced gradient, used as it is) clipped to
/// the norm when the run clips (`clip`: its buffers and the norm), else the sum fused with the
/// optimiser's step in parallel over parameter chunks. The one choice between the two for the
/// shard-parallel step, the ranks' step and the layer-parallel step's clipping (unclipped, the
/// layer-parallel step fuses the sum into the backward pass instead).
#[allow(clippy::too_many_arguments)]
pub(super) fn update_from(
    clip: Option<(&mut super::clip::ClipBuffers, f32)>,
    grads: &[Vec<f32>],
    segments: &[(Range<usize>, f32)],
    (params, state): (&mut [f32], &mut [f32]),
    rule: (Rule, usize),
    scale: f32,
    split: Split<'_>,
) {
    if let Some((clip, max_norm)) = clip {
        return clipped_update(clip, grads, segments, (params, state), rule, scale, max_norm, split);
    }
    let n = grads.len();
    let leaf = |s: usize, r: Range<usize>| &grads[s][r];
    let chunks = update_chunks(params, state, rule.1);
    split.for_each(chunks, |(c, ws)| {
        for_segments(segments, c, ws, rule.1, |a, w, st, decay| {
            reduce_and_step(&leaf, n, a, w, st, rule, scale, decay);
        });
    });
}

/// The update rule of the next optimiser step of `cfg`, with its state stride; counts the
/// step in `steps`.
pub(super) fn next_rule(cfg: &TrainConfig, steps: &mut u64) -> (Rule, usize) {
    *steps += 1;
    (Rule::new(&cfg.optimizer, cfg.lr, cfg.momentum, *steps), cfg.optimizer.state_per_param())
}

/// The update chunks of the shard-parallel step and of clipping: `(chunk index, weights,
/// state)` over [`UPDATE_CHUNK`] parameters each.
pub(super) fn update_chunks<'p>(
    params: &'p mut [f32],
    state: &'p mut [f32],
    stride: usize,
) -> impl Iterator<Item = (usize, (&'p mut [f32], &'p mut [f32]))> + Send {
    params.chunks_mut(UPDATE_CHUNK).zip(state.chunks_mut(UPDATE_CHUNK * stride)).enumerate()
}

/// Runs `f(range, state, decay)` on each part of the chunk `c` (weights `w`, state `st`)
/// that lies in one of `segments` (the range's flat indices, its weights and state).
pub(super) fn for_segments(
    segments: &[(Range<usize>, f32)],
    c: usize,
    (w, st): (&mut [f32], &mut [f32]),
    stride: usize,
    mut f: impl FnMut(usize, &mut [f32], &mut [f32], f32),
) {
    let (lo, hi) = (c * UPDATE_CHUNK, c * UPDATE_CHUNK + w.len());
    for (range, decay) in segments.iter().filter(|(r, _)| r.start < hi && r.end > lo) {
        let (a, b) = (range.start.max(lo), range.end.min(hi));
        f(a, &mut w[a - lo..b - lo], &mut st[(a - lo) * stride..(b - lo) * stride], *decay);
    }
}

impl Trainer<'_> {
    /// One mini-batch. Returns the summed loss and correct count of the batch; on a non-finite
    /// loss nothing is updated. Two ways to run it, with the same bits (every shard's sums are
    /// cut-independent, see [`crate::split`]):
    /// - **layer-parallel** (fewer shards than the team has threads; the default's one shard
    ///   per batch of up to 128):
    ///   the shards one after another, each pass split over the threads; the last shard's
    ///   backward sums each finished gradient block over the shards in the fixed tree order and
    ///   applies the momentum update to it at once;
    /// - **shard-parallel** (at least as many shards as the team has threads): each thread runs whole
    ///   shards on its own workspace (two synchronisations per batch, every GEMM whole), then
    ///   the tree reduction and update run in parallel over parameter chunks.
    pub(super) fn step(&mut self, data: &Dataset, batch: &[usize]) -> (f64, usize) {
        if self.ranks.is_some() {
            return self.step_on_ranks(data, batch);
        }
        let n_sh = batch.len().div_ceil(self.cfg.shard);
        // (The workspaces were made for a full batch, whose shards run side by side if these do.)
        if shards_side_by_side(n_sh, self.team.size()) {
            self.step_by_shards(data, batch)
        } else {
            self.step_by_layers(data, batch)
        }
    }

    fn step_by_layers(&mut self, data: &Dataset, batch: &[usize]) -> (f64, usize) {
        let t_step = Instant::now();
        let shard = self.cfg.shard;
        let n_sh = batch.len().div_ceil(shard);
        let split = Split { busy: Some(&self.busy), ..Split::team(&self.team) };
        let (mut loss, mut correct) = (0.0, 0);
        let mut last_rows: &[usize] = &[];
        let work = &mut self.work[0];
        for (s, rows) in batch.chunks(shard).enumerate() {
            let n = rows.len();
            let t1 = Instant::now();
            loss += work.forward(self.net, data, rows, split);
            correct += work.correct;
            let t2 = Instant::now();
            self.time.forward += (t2 - t1).as_secs_f64();
            if s + 1 < n_sh {
                let grad = &mut self.grads[s];
                let params = Params::Read(&self.net.params);
                let x = first_input(&work.x, work.gathers, data, rows);
                backward_from_deltas(&self.net.arch, params, x, n, &mut work.buf, grad, split);
                self.time.backward += t2.elapsed().as_secs_f64();
            }
            last_rows = rows;
        }
        self.time.batches += 1;
        if super::diverged::exploded(self.know_nothing, loss, batch.len()) {
            self.time.steps += t_step.elapsed().as_secs_f64();
            return (loss, correct);
        }
        let t2 = Instant::now();
        let rule = next_rule(&self.cfg, &mut self.opt_steps);
        if let Some(clip) = self.clip.as_mut().zip(self.cfg.clip_norm) {
            // Clipping needs the whole gradient's norm first: the last shard's backward only
            // fills its gradient, and the update follows (the same choice as the other steps).
            let (grad, x) = (&mut self.grads[n_sh - 1], first_input(&work.x, work.gathers, data, last_rows));
            let params = Params::Read(&self.net.params);
            backward_from_deltas(&self.net.arch, params, x, last_rows.len(), &mut work.buf, grad, split);
            let ws = (&mut self.net.params[..], &mut self.opt_state[..]);
            let scale = 1.0 / batch.len() as f32;
            update_from(Some(clip), &self.grads[..n_sh], &self.segments, ws, rule, scale, split);
            self.time.backward += t2.elapsed().as_secs_f64();
            self.time.steps += t_step.elapsed().as_secs_f64();
            return (loss, correct);
        }
        let (scale, decay) = (1.0 / batch.len() as f32, self.cfg.l2 / self.n_train as f32);
        let (done, last) = self.grads.split_at_mut(n_sh - 1);
        let done: &[Vec<f32>] = done;
        // `g` is the last shard's gradient over `range`, the others' are in `done`.
        let update = |range: Range<usize>, is_weight: bool, w: &mut [f32], v: &mut [f32], g: &[f32]| {
            let leaf = |s: usize, r: Range<usize>| {
                if s < done.len() { &done[s][r] } else { &g[r.start - range.start..r.end - range.start] }
            };
            reduce_and_step(&leaf, n_sh, range.start, w, v, rule, scale, if is_weight { decay } else { 0.0 });
        };
        let x = first_input(&work.x, work.gathers, data, last_rows);
        let (params, state, stride) = (&mut self.net.params, &mut self.opt_state, rule.1);
        let params = Params::Update { params, state, stride, update: &update };
        backward_from_deltas(&self.net.arch, params, x, last_rows.len(), &mut work.buf, &mut last[0], split);
        self.time.backward += t2.elapsed().as_secs_f64();
        self.time.steps += t_step.elapsed().as_secs_f64();
        (loss, correct)
    }

    fn step_by_shards(&mut self, data: &Dataset, batch: &[usize]) -> (f64, usize) {
        let t_step = Instant::now();
        let shard = self.cfg.shard;
        let n_sh = batch.len().div_ceil(shard);
        let split = Split { busy: Some(&self.busy), ..Split::team(&self.team) };
        let shards = self.work[..n_sh].iter_mut().zip(self.grads[..n_sh].iter_mut()).zip(batch.chunks(shard));
        whole_shards(self.net, data, shards, split);
        let loss: f64 = self.work[..n_sh].iter().map(|w| w.loss).sum();
        let correct = self.work[..n_sh].iter().map(|w| w.correct).sum();
        let t1 = Instant::now();
        self.time.shards += (t1 - t_step).as_secs_f64();
        self.time.batches += 1;
        if super::diverged::exploded(self.know_nothing, loss, batch.len()) {
            self.time.steps += t_step.elapsed().as_secs_f64();
            return (loss, correct);
        }
        let rule = next_rule(&self.cfg, &mut self.opt_steps);
        let scale = 1.0 / batch.len() as f32;
        // Each element's sum runs over the same tree as in the layer-parallel step.
        let clip = self.clip.as_mut().zip(self.cfg.clip_norm);
        let ws = (&mut self.net.params[..], &mut self.opt_state[..]);
        update_from(clip, &self.grads[..n_sh], &self.segments, ws, rule, scale, split);
        self.time.update += t1.elapsed().as_secs_f64();
        self.time.steps += t_step.elapsed().as_secs_f64();
        (loss, correct)
    }
}
