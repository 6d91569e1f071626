//! A multilayer perceptron: its architecture, one flat parameter buffer, and batched
//! forward and backward passes as GEMMs into caller-owned buffers, cut into blocks over
//! their output dimension so that several threads can share one pass.
//!
//! Layout of the flat buffer (the same for gradients and velocities): for every layer in
//! order, its weight `W_l` (`n_out x n_in`, row-major: PyTorch's `Linear`, and the model
//! file's layout), then its bias `b_l` (`n_out`). A block of units is a contiguous run of rows.
//! Hidden activations and deltas are stored feature-major (`n_units x rows`, see [`Buffers`]),
//! so a block of units is a contiguous run there too. For `rows` samples stacked as rows of `X`:
//! ```text
//! forward:  Z_lᵀ = W_l A_{l-1}ᵀ + b_l ;  A_l = f_l(Z_l)        (A_0 = X; by blocks of units)
//! deltas:   D_L from the loss ;  D_{l-1}ᵀ = (W_lᵀ D_lᵀ) ⊙ f'(A_{l-1}ᵀ)   (by blocks of inputs)
//! gradient: gW_l = D_lᵀ A_{l-1} ;  gb_l = Σ_rows D_l              (by blocks of units)
//! ```
//! The first layer's input gradient is never computed. Every output element of every block
//! is one dot product in matrixmultiply's fixed k order, so how the blocks are cut and which
//! thread runs them never changes a bit (see the crate-internal `split` module).
//!
//! ```
//! use bp_par::network::{Arch, Buffers, Network};
//! use bp_par::{activation::Activation, loss::Loss};
//! let arch = Arch::new(vec![2, 3, 2], Activation::Sigmoid, Loss::Mse).unwrap();
//! let net = Network::<f64>::init(arch, 1);
//! let mut buf = Buffers::new(&net.arch, 1);
//! net.forward(&[5.0, 10.0], 1, None, &mut buf);
//! assert_eq!(buf.output(1).len(), 2);
//! ```

use crate::activation::Activation;
use crate::gemm::{Accum, MatMut, MatRef, Scalar, gemm};
use crate::loss::Loss;
use crate::split::{GEMM_ALIGN, Split};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::ops::Range;

/// The most parameters a network may have: 2³¹ (8 GiB of f32 per copy).
pub const MAX_PARAMS: usize = 1 << 31;

/// Layer sizes (input first, output last), the hidden activation and the loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    sizes: Vec<usize>,
    pub activation: Activation,
    pub loss: Loss,
    /// Start of each layer's weight in the flat buffer, plus the total at the end.
    offsets: Vec<usize>,
}

impl Arch {
    /// Checks that there are at least two sizes and none is zero.
    pub fn new(sizes: Vec<usize>, activation: Activation, loss: Loss) -> Result<Self, String> {
        if sizes.len() < 2 {
            return Err("a network needs at least an input and an output size".into());
        }
        if let Some(i) = sizes.iter().position(|&s| s == 0) {
            return Err(format!("layer size {i} is zero"));
        }
        let mut offsets = vec![0usize];
        for w in sizes.windows(2) {
            let last = *offsets.last().unwrap_or(&0);
            let next =
                w[1].checked_mul(w[0]).and_then(|p| p.checked_add(w[1])).and_then(|p| p.checked_add(last));
            match next {
                Some(n) if n <= MAX_PARAMS => offsets.push(n),
                _ => {
                    return Err(format!(
                        "layers {sizes:?} would have more than {MAX_PARAMS} parameters (the limit, 8 GiB of f32)"
                    ));
                }
            }
        }
        Ok(Arch { sizes, activation, loss, offsets })
    }

    /// All layer sizes, input first.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }
    /// Number of weight layers.
    pub fn n_layers(&self) -> usize {
        self.sizes.len() - 1
    }
    pub fn n_in(&self) -> usize {
        self.sizes[0]
    }
    pub fn n_out(&self) -> usize {
        self.sizes[self.sizes.len() - 1]
    }
    /// Total number of parameters (weights and biases).
    pub fn n_params(&self) -> usize {
        self.offsets[self.n_layers()]
    }
    /// Range of layer `l`'s weight (`n_out x n_in`) in the flat buffer.
    pub fn weight_range(&self, l: usize) -> Range<usize> {
        let start = self.offsets[l];
        start..start + self.sizes[l + 1] * self.sizes[l]
    }
    /// Range of layer `l`'s bias in the flat buffer.
    pub fn bias_range(&self, l: usize) -> Range<usize> {
        self.weight_range(l).end..self.offsets[l + 1]
    }
    /// The activation applied by layer `l`'s units, by name (the output's comes from the loss).
    pub fn layer_activation(&self, l: usize) -> &'static str {
        if l + 1 == self.n_layers() { self.loss.output_activation() } else { self.activation.name() }
    }
}

/// Per-call working memory for up to `capacity` samples: every layer's outputs and deltas.
///
/// Hidden layers are stored **feature-major**, `n_units x rows` (a row per unit, each sample a
/// column): a block of units, the unit of parallel work, is then a contiguous run of memory.
/// The output layer is stored sample-major, `rows x n_out`, as callers read it.
#[derive(Clone, Debug)]
pub struct Buffers<T> {
    capacity: usize,
    /// `acts[l]`: layer l's outputs.
    acts: Vec<Vec<T>>,
    /// `deltas[l]`: ∂loss/∂Z_l, in the layout of `acts[l]`.
    deltas: Vec<Vec<T>>,
    /// Each row's loss, summed in row order after a parallel forward.
    row_loss: Vec<f64>,
}

impl<T: Scalar> Buffers<T> {
    pub fn new(arch: &Arch, capacity: usize) -> Self {
        let acts: Vec<Vec<T>> = arch.sizes[1..].iter().map(|&s| vec![T::zero(); capacity * s]).collect();
        Buffers { capacity, deltas: acts.clone(), acts, row_loss: vec![0.0; capacity] }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The network outputs (probabilities for classifiers) of the last forward, `rows x n_out`.
    pub fn output(&self, rows: usize) -> &[T] {
        let out = &self.acts[self.acts.len() - 1];
        &out[..rows * (out.len() / self.capacity.max(1))]
    }

    /// Layer `l`'s outputs of the last forward: `rows x n_out` for the output layer, and
    /// feature-major `n_units x rows` (unit u of sample s at `u * rows + s`) for hidden layers.
    pub fn activations(&self, l: usize, rows: usize) -> &[T] {
        let a = &self.acts[l];
        &a[..rows * (a.len() / self.capacity.max(1))]
    }
}

/// The parameters a backward pass reads, or reads and then updates block by block.
pub(crate) enum Params<'a, T> {
    Read(&'a [T]),
    /// `update(range, is_weight, params, state, grad)` runs on every block of parameters once
    /// its gradient is complete and no task reads its old values any more: the first layer's
    /// blocks on the thread that just computed their gradient, while it is in cache; layer
    /// l+1's blocks during layer l's phase (after the input deltas that read them). `state` is
    /// the block's slice of a buffer in the parameters' layout (the velocities).
    Update {
        params: &'a mut [T],
        state: &'a mut [T],
        update: &'a UpdateFn<'a, T>,
    },
}

/// The per-block update of [`Params::Update`].
pub(crate) type UpdateFn<'a, T> = dyn Fn(Range<usize>, bool, &mut [T], &mut [T], &[T]) + Sync + 'a;

/// Units per block of layer `n_in -> n_out`'s forward (hidden layers) and weight gradient.
fn unit_block(split: Split<'_>, n_in: usize, n_out: usize, rows: usize) -> usize {
    split.block_len(n_out, n_in * rows, GEMM_ALIGN)
}

/// Input units per block of the layer's input deltas.
fn input_block(split: Split<'_>, n_in: usize, n_out: usize, rows: usize) -> usize {
    split.block_len(n_in, n_out * rows, GEMM_ALIGN)
}

/// Samples per block of the output layer's forward.
fn sample_block(split: Split<'_>, n_in: usize, n_out: usize, rows: usize) -> usize {
    split.block_len(rows, n_in * n_out, 1)
}

/// The parallel phases of one training step on `rows` samples and their task counts, as
/// [`Network::forward_with`] and the backward pass cut them for `split`.
pub fn phase_tasks(arch: &Arch, rows: usize, split: Split<'_>) -> Vec<(String, usize)> {
    let (n_layers, sizes) = (arch.n_layers(), &arch.sizes);
    let blocks = |n: usize, len: usize| n.div_ceil(len).max(1);
    let mut phases = Vec::new();
    for l in 0..n_layers {
        let (n_in, n_out) = (sizes[l], sizes[l + 1]);
        let tasks = if l + 1 < n_layers {
            blocks(n_out, unit_block(split, n_in, n_out, rows))
        } else {
            blocks(rows, sample_block(split, n_in, n_out, rows))
        };
        phases.push((format!("forward {}", l + 1), tasks));
    }
    for l in (0..n_layers).rev() {
        let (n_in, n_out) = (sizes[l], sizes[l + 1]);
        // Gradient blocks, input-delta blocks, and the update blocks of the layer above.
        let mut tasks = blocks(n_out, unit_block(split, n_in, n_out, rows));
        if l > 0 {
            tasks += blocks(n_in, input_block(split, n_in, n_out, rows));
        }
        if l + 1 < n_layers {
            tasks += blocks(sizes[l + 2], unit_block(split, n_out, sizes[l + 2], rows));
        }
        phases.push((format!("backward {}", l + 1), tasks));
    }
    phases
}

/// An architecture with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Network<T> {
    pub arch: Arch,
    /// The flat parameter buffer; see the module docs for its layout.
    pub params: Vec<T>,
}

impl<T: Scalar> Network<T> {
    /// Random initialisation from `seed` (the only source of randomness): weights
    /// U(−ε, ε) with Glorot's ε = sqrt(6/(n_in+n_out)), or He's ε = sqrt(6/n_in) for layers
    /// feeding ReLU units; biases 0.
    pub fn init(arch: Arch, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = vec![T::zero(); arch.n_params()];
        for l in 0..arch.n_layers() {
            let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
            let feeds_relu = arch.activation == Activation::Relu && l + 1 < arch.n_layers();
            let eps =
                if feeds_relu { (6.0 / n_in as f64).sqrt() } else { (6.0 / (n_in + n_out) as f64).sqrt() };
            for w in &mut params[arch.weight_range(l)] {
                *w = T::of(rng.random_range(-eps..eps));
            }
        }
        Network { arch, params }
    }

    /// Builds a network from per-layer `(weight, bias)` in the usual layout: weight
    /// `n_out x n_in` row-major (PyTorch's `Linear`), bias `n_out`.
    pub fn from_layers(arch: Arch, layers: &[(Vec<T>, Vec<T>)]) -> Result<Self, String> {
        if layers.len() != arch.n_layers() {
            return Err(format!("expected {} layers, got {}", arch.n_layers(), layers.len()));
        }
        let mut params = vec![T::zero(); arch.n_params()];
        for (l, (w, b)) in layers.iter().enumerate() {
            let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
            if w.len() != n_out * n_in || b.len() != n_out {
                return Err(format!(
                    "layer {l} needs a {n_out}x{n_in} weight and {n_out} biases, got {} and {}",
                    w.len(),
                    b.len()
                ));
            }
            params[arch.weight_range(l)].copy_from_slice(w);
            params[arch.bias_range(l)].copy_from_slice(b);
        }
        Ok(Network { arch, params })
    }

    /// A copy of layer `l`'s weight, `n_out x n_in` row-major.
    pub fn weight(&self, l: usize) -> Vec<T> {
        self.params[self.arch.weight_range(l)].to_vec()
    }

    /// Layer `l`'s weight (`n_out x n_in`, row-major) and bias (`n_out`), as stored.
    pub fn layer(&self, l: usize) -> (&[T], &[T]) {
        (&self.params[self.arch.weight_range(l)], &self.params[self.arch.bias_range(l)])
    }

    /// ½·ΣW² over all weights (biases excluded), the L2 penalty before its λ/n factor.
    pub fn half_sum_sq_weights(&self) -> f64 {
        (0..self.arch.n_layers())
            .map(|l| {
                self.params[self.arch.weight_range(l)]
                    .iter()
                    .map(|&w| {
                        let w = w.to_f64().unwrap_or(f64::NAN);
                        w * w
                    })
                    .sum::<f64>()
            })
            .sum::<f64>()
            * 0.5
    }

    /// Forward pass for `rows` samples on the calling thread. `x`: (rows, n_in); `y`:
    /// (rows, n_out) targets or None. Fills `buf`'s activations and returns the summed loss
    /// over the rows (0 without `y`).
    pub fn forward(&self, x: &[T], rows: usize, y: Option<&[T]>, buf: &mut Buffers<T>) -> f64 {
        self.forward_with(x, rows, y, buf, Split::serial(), false)
    }

    /// [`Network::forward`] cut for `split`; with `output_delta` (and `y`), also the output
    /// deltas a backward pass starts from. Parallel over blocks of each layer's units (rows of
    /// `Zᵀ`), the output layer over blocks of samples.
    pub fn forward_with(
        &self,
        x: &[T],
        rows: usize,
        y: Option<&[T]>,
        buf: &mut Buffers<T>,
        split: Split<'_>,
        output_delta: bool,
    ) -> f64 {
        let arch = &self.arch;
        assert!(rows <= buf.capacity, "forward: {rows} rows exceed the buffer's {}", buf.capacity);
        assert!(x.len() >= rows * arch.n_in(), "forward: x has {} values for {rows} rows", x.len());
        if let Some(y) = y {
            assert!(y.len() >= rows * arch.n_out(), "forward: y has {} values for {rows} rows", y.len());
        }
        if rows == 0 {
            return 0.0;
        }
        let n_layers = arch.n_layers();
        for l in 0..n_layers - 1 {
            let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
            let (w, bias) = self.layer(l);
            let (done, rest) = buf.acts.split_at_mut(l);
            // A_{l-1}ᵀ (n_in, rows)
            let input = if l == 0 {
                MatRef::row_major(&x[..rows * n_in], rows, n_in).t()
            } else {
                MatRef::row_major(&done[l - 1][..n_in * rows], n_in, rows)
            };
            let w = MatRef::row_major(w, n_out, n_in);
            let block = unit_block(split, n_in, n_out, rows);
            let act = arch.activation;
            split.for_each(rest[0][..n_out * rows].chunks_mut(block * rows).enumerate(), |(b, z)| {
                let (first, units) = (b * block, z.len() / rows);
                // Zᵀ[units] (units, rows) = W[units] (units, n_in) · A_{l-1}ᵀ (n_in, rows)
                gemm(MatMut::row_major(z, units, rows), w.sub_rows(first, units), input, Accum::Overwrite);
                for (zr, &b) in z.chunks_exact_mut(rows).zip(&bias[first..first + units]) {
                    act.bias_activate_unit(zr, b);
                }
            });
        }
        // Output layer, by blocks of samples: Z (rows, n_out) = A_{L-1} (rows, n_in) · Wᵀ.
        let l = n_layers - 1;
        let (n_in, n_out) = (arch.sizes[l], arch.n_out());
        let (w, bias) = self.layer(l);
        let (hidden, out) = buf.acts.split_at_mut(l);
        let input = if l == 0 {
            MatRef::row_major(&x[..rows * n_in], rows, n_in)
        } else {
            MatRef::row_major(&hidden[l - 1][..n_in * rows], n_in, rows).t()
        };
        let wt = MatRef::row_major(w, n_out, n_in).t(); // Wᵀ (n_in, n_out)
        let block = sample_block(split, n_in, n_out, rows);
        let loss = arch.loss;
        let z = &mut out[0][..rows * n_out];
        let d = &mut buf.deltas[l][..rows * n_out];
        let row_loss = &mut buf.row_loss[..rows];
        let task = |b: usize, z: &mut [T], d: &mut [T], row_loss: &mut [f64]| {
            let (first, n) = (b * block, row_loss.len());
            gemm(MatMut::row_major(z, n, n_out), input.sub_rows(first, n), wt, Accum::Overwrite);
            for (i, zr) in z.chunks_exact_mut(n_out).enumerate() {
                zr.iter_mut().zip(bias).for_each(|(z, &b)| *z += b);
                let yr = y.map(|y| &y[(first + i) * n_out..(first + i + 1) * n_out]);
                row_loss[i] = loss.forward_row(zr, yr);
                if let (true, Some(yr)) = (output_delta, yr) {
                    loss.delta_row(zr, yr, &mut d[i * n_out..(i + 1) * n_out]);
                }
            }
        };
        let blocks =
            z.chunks_mut(block * n_out).zip(d.chunks_mut(block * n_out)).zip(row_loss.chunks_mut(block));
        split.for_each(blocks.enumerate(), |(b, ((z, d), rl))| task(b, z, d, rl));
        buf.row_loss[..rows].iter().sum()
    }

    /// Backward pass after [`Network::forward`] on the same `x` and `rows`, on the calling thread:
    /// `grad ← Σ_rows ∂loss/∂params` (overwritten, same layout as `params`).
    pub fn backward(&self, x: &[T], rows: usize, y: &[T], buf: &mut Buffers<T>, grad: &mut [T]) {
        let n_out = self.arch.n_out();
        assert!(y.len() >= rows * n_out, "backward: y has {} values for {rows} rows", y.len());
        let l = self.arch.n_layers() - 1;
        let (a, d) = (&buf.acts[l][..rows * n_out], &mut buf.deltas[l][..rows * n_out]);
        for ((dr, ar), yr) in d.chunks_exact_mut(n_out).zip(a.chunks_exact(n_out)).zip(y.chunks_exact(n_out))
        {
            self.arch.loss.delta_row(ar, yr, dr);
        }
        backward_from_deltas(&self.arch, Params::Read(&self.params), x, rows, buf, grad, Split::serial());
    }
}

/// The backward pass from the output deltas in `buf` (left there by
/// [`Network::forward_with`] with `output_delta`, or by [`Network::backward`]): every layer's
/// deltas, and `grad ← Σ_rows ∂loss/∂params` (overwritten). One parallel phase per layer, from
/// the top; the phase of layer l has three kinds of tasks:
/// ```text
/// gradient, by blocks u of layer l's units (the blocks of its forward):
///     gW_l[u] (bu, n_in) = D_lᵀ[u] (bu, rows) · A_{l-1} (rows, n_in) ;  gb_l[u] = Σ_rows D_lᵀ[u]
/// input deltas (l > 0), by blocks i of its input units:
///     D_{l-1}ᵀ[i] (bi, rows) = W_l[:, i]ᵀ (bi, n_out) · D_lᵀ (n_out, rows) ⊙ f'(A_{l-1}ᵀ[i])
/// with Params::Update, the update of layer l+1's blocks, whose weights nobody reads any more
/// ```
/// The first layer needs no input deltas, so its gradient blocks update their own weights at
/// once: with a static assignment of blocks to threads, each thread then reads and writes only
/// its own rows of the largest weight matrix, in the forward and the backward alike.
pub(crate) fn backward_from_deltas<T: Scalar>(
    arch: &Arch,
    mut params: Params<'_, T>,
    x: &[T],
    rows: usize,
    buf: &mut Buffers<T>,
    grad: &mut [T],
    split: Split<'_>,
) {
    assert_eq!(grad.len(), arch.n_params(), "backward: gradient buffer has the wrong size");
    let n_layers = arch.n_layers();
    let sizes = &arch.sizes;
    for l in (0..n_layers).rev() {
        let (n_in, n_out) = (sizes[l], sizes[l + 1]);
        let top = l + 1 == n_layers;
        let (wr, br) = (arch.weight_range(l), arch.bias_range(l));
        let (grad_l, grad_up) = grad.split_at_mut(br.end);
        let (gw, gb) = grad_l[wr.start..].split_at_mut(n_in * n_out);
        let (lower, upper) = buf.deltas.split_at_mut(l);
        let d_store = &upper[0][..rows * n_out];
        // D_lᵀ (n_out, rows)
        let d_t = if top {
            MatRef::row_major(d_store, rows, n_out).t()
        } else {
            MatRef::row_major(d_store, n_out, rows)
        };
        let a_store: &[T] = if l == 0 { &[] } else { &buf.acts[l - 1][..n_in * rows] };
        // A_{l-1} (rows, n_in)
        let a = if l == 0 {
            MatRef::row_major(&x[..rows * n_in], rows, n_in)
        } else {
            MatRef::row_major(a_store, n_in, rows).t()
        };
        let act = arch.activation;
        let unit_block = unit_block(split, n_in, n_out, rows);
        let input_block = input_block(split, n_in, n_out, rows);
        // The blocks of layer l+1 whose update waits for this phase (the blocks of its gradient).
        let up = (!top).then(|| {
            let block = self::unit_block(split, sizes[l + 1], sizes[l + 2], rows);
            (arch.weight_range(l + 1), arch.bias_range(l + 1), block)
        });
        let grad_up: &[T] = grad_up;

        let update: Option<&UpdateFn<'_, T>> = match &params {
            Params::Update { update, .. } => Some(*update),
            Params::Read(_) => None,
        };
        let (weights, mut owned, mut owned_up): (&[T], _, _) = match &mut params {
            Params::Read(p) => (&p[wr.clone()], None, None),
            Params::Update { params, state, .. } => {
                let (p_lo, p_hi) = params.split_at_mut(br.end);
                let (s_lo, s_hi) = state.split_at_mut(br.end);
                let (pw, pb) = p_lo[wr.start..].split_at_mut(n_in * n_out);
                let (sw, sb) = s_lo[wr.start..].split_at_mut(n_in * n_out);
                let owned_up = up.as_ref().map(|(wr1, br1, ub)| {
                    let n_in1 = sizes[l + 1];
                    let (pw1, pb1) = p_hi[..br1.end - br.end].split_at_mut(wr1.len());
                    let (sw1, sb1) = s_hi[..br1.end - br.end].split_at_mut(wr1.len());
                    pw1.chunks_mut(ub * n_in1)
                        .zip(pb1.chunks_mut(*ub))
                        .zip(sw1.chunks_mut(ub * n_in1).zip(sb1.chunks_mut(*ub)))
                });
                if l == 0 {
                    let own = pw
                        .chunks_mut(unit_block * n_in)
                        .zip(pb.chunks_mut(unit_block))
                        .zip(sw.chunks_mut(unit_block * n_in).zip(sb.chunks_mut(unit_block)));
                    (&[][..], Some(own), owned_up)
                } else {
                    (&*pw, None, owned_up)
                }
            }
        };

        let grads = gw.chunks_mut(unit_block * n_in).zip(gb.chunks_mut(unit_block)).enumerate();
        let grads =
            grads.zip(owned.take().into_iter().flatten().map(Some).chain(std::iter::repeat_with(|| None)));
        let deltas = (l > 0)
            .then(|| &mut lower[l - 1][..n_in * rows])
            .into_iter()
            .flat_map(|dp| dp.chunks_mut((input_block * rows).max(1)))
            .enumerate();
        let updates = owned_up.take().into_iter().flatten().enumerate();
        let tasks = grads
            .map(|((b, (gw, gb)), own)| Task::Grad { b, gw, gb, own })
            .chain(deltas.map(|(b, dp)| Task::Delta { b, dp }))
            .chain(updates.map(|(b, own)| Task::Update { b, own }));

        split.for_each(tasks, |task| match task {
            Task::Grad { b, gw, gb, own } => {
                let (first, n) = (b * unit_block, gb.len());
                // gW[u] (n, n_in) = D_lᵀ[u] (n, rows) · A_{l-1} (rows, n_in)
                gemm(MatMut::row_major(gw, n, n_in), d_t.sub_rows(first, n), a, Accum::Overwrite);
                // gb[u] = Σ_s D_l[s, u], s in order.
                for (j, g) in gb.iter_mut().enumerate() {
                    let o = first + j;
                    *g = if top {
                        (0..rows).fold(T::zero(), |acc, s| acc + d_store[s * n_out + o])
                    } else {
                        d_store[o * rows..(o + 1) * rows].iter().fold(T::zero(), |acc, &v| acc + v)
                    };
                }
                if let (Some(((w, bias), (sw, sb))), Some(update)) = (own, update) {
                    let start = wr.start + first * n_in;
                    update(start..start + w.len(), true, w, sw, gw);
                    update(br.start + first..br.start + first + n, false, bias, sb, gb);
                }
            }
            Task::Delta { b, dp } => {
                let (first, n) = (b * input_block, dp.len() / rows);
                // D_{l-1}ᵀ[i] (n, rows) = W_l[:, i]ᵀ (n, n_out) · D_lᵀ (n_out, rows)
                let w = MatRef::row_major(weights, n_out, n_in).t().sub_rows(first, n);
                gemm(MatMut::row_major(dp, n, rows), w, d_t, Accum::Overwrite);
                act.mul_derivative(dp, &a_store[first * rows..(first + n) * rows]);
            }
            Task::Update { b, own: ((w, bias), (sw, sb)) } => {
                let (Some((wr1, br1, ub)), Some(update)) = (&up, update) else { return };
                let n_in1 = sizes[l + 1];
                let first = b * ub;
                let start = wr1.start + first * n_in1;
                let g = &grad_up[start - br.end..start - br.end + w.len()];
                update(start..start + w.len(), true, w, sw, g);
                let bstart = br1.start + first;
                let gbias = &grad_up[bstart - br.end..bstart - br.end + bias.len()];
                update(bstart..bstart + bias.len(), false, bias, sb, gbias);
            }
        });
    }
}

/// The rows of one block of a layer's weight and bias, with the same rows of the optimiser state.
type Owned<'s, T> = ((&'s mut [T], &'s mut [T]), (&'s mut [T], &'s mut [T]));

/// One task of a backward layer phase (see [`backward_from_deltas`]).
enum Task<'s, T> {
    /// Gradient of block `b` of the layer's units (with the first layer's update: their rows).
    Grad { b: usize, gw: &'s mut [T], gb: &'s mut [T], own: Option<Owned<'s, T>> },
    /// Input deltas of block `b` of the layer's input units.
    Delta { b: usize, dp: &'s mut [T] },
    /// The update of block `b` of the next layer's units.
    Update { b: usize, own: Owned<'s, T> },
}

/// Index of the largest value (the first on ties); 0 for an empty row.
pub fn argmax<T: PartialOrd + Copy>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::team::Team;

    fn bits<T: Scalar>(v: &[T]) -> Vec<u64> {
        v.iter().map(|x| x.to_f64().unwrap_or(f64::NAN).to_bits()).collect()
    }

    /// Every blocked GEMM the trainer runs (forward by units and by samples, weight gradients
    /// and input deltas by input units, with and without the fused update) gives the bits of
    /// the unblocked pass, at edge sizes (1, 7, 31, 33, 127, 129 units and rows, blocks of 8
    /// and ragged last blocks) and for any number of blocks.
    #[test]
    fn blocked_passes_equal_the_unblocked_pass_bit_for_bit() {
        let sizes = [1usize, 7, 31, 33, 127, 129];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let teams: Vec<Team> = (0..=16).map(|t| Team::new(t.clamp(1, 4))).collect();
        let mut cases = 0;
        for (i, &w) in sizes.iter().enumerate() {
            let other = sizes[(i + 2) % sizes.len()];
            for (arch_sizes, act, loss) in [
                (vec![other, w, 9], Activation::Sigmoid, Loss::Xent),
                (vec![w, other, w, 3], Activation::Relu, Loss::Mse),
                (vec![w, 33, w], Activation::Tanh, Loss::Bce),
                (vec![w, w], Activation::Tanh, Loss::Xent),
            ] {
                for rows in [1usize, 7, 33, 64] {
                    let arch = Arch::new(arch_sizes.clone(), act, loss).unwrap();
                    let (n_in, n_out) = (arch.n_in(), arch.n_out());
                    let net = Network::<f32>::init(arch.clone(), rng.random());
                    let x: Vec<f32> = (0..rows * n_in).map(|_| rng.random_range(-2.0..2.0)).collect();
                    let mut y = vec![0.0f32; rows * n_out];
                    for r in 0..rows {
                        y[r * n_out + rng.random_range(0..n_out)] = 1.0;
                    }
                    let run = |split: Split<'_>| {
                        let mut buf = Buffers::new(&arch, rows);
                        buf.acts.iter_mut().chain(buf.deltas.iter_mut()).for_each(|a| a.fill(f32::NAN));
                        let loss = net.forward_with(&x, rows, Some(&y), &mut buf, split, true);
                        let mut grad = vec![f32::NAN; arch.n_params()];
                        let mut params = net.params.clone();
                        let mut state = vec![0.5f32; arch.n_params()];
                        let update =
                            |r: Range<usize>, is_w: bool, p: &mut [f32], s: &mut [f32], g: &[f32]| {
                                assert_eq!(p.len(), r.len());
                                for ((p, s), g) in p.iter_mut().zip(s.iter_mut()).zip(g) {
                                    *s = 0.9 * *s - 0.1 * g;
                                    *p += if is_w { *s } else { 2.0 * *s };
                                }
                            };
                        let mut plain = vec![f32::NAN; arch.n_params()];
                        let mut buf2 = buf.clone();
                        backward_from_deltas(
                            &arch,
                            Params::Read(&net.params),
                            &x,
                            rows,
                            &mut buf2,
                            &mut plain,
                            split,
                        );
                        let p = Params::Update { params: &mut params, state: &mut state, update: &update };
                        backward_from_deltas(&arch, p, &x, rows, &mut buf, &mut grad, split);
                        assert_eq!(bits(&plain), bits(&grad), "read and update passes differ");
                        (
                            loss.to_bits(),
                            bits(&buf.acts.concat()),
                            bits(&buf.deltas.concat()),
                            bits(&grad),
                            bits(&params),
                        )
                    };
                    let serial = run(Split::serial());
                    for (threads, team) in teams.iter().enumerate().skip(2) {
                        // Cut for `threads` threads, run on a team of up to 4 (oversubscribed).
                        let split = Split { min_work: 1, threads, ..Split::team(team) };
                        let blocked = run(split);
                        let ctx = format!("{arch_sizes:?} {act}/{loss} rows {rows} threads {threads}");
                        assert!(serial.0 == blocked.0, "loss: {ctx}");
                        assert!(serial.1 == blocked.1, "activations: {ctx}");
                        assert!(serial.2 == blocked.2, "deltas: {ctx}");
                        assert!(serial.3 == blocked.3, "gradient: {ctx}");
                        assert!(serial.4 == blocked.4, "updated parameters: {ctx}");
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 6 * 4 * 4 * 15);
    }

    #[test]
    fn a_backward_pass_over_no_rows_gives_a_zero_gradient() {
        let arch = Arch::new(vec![2, 3, 2], Activation::Tanh, Loss::Xent).unwrap();
        let net = Network::<f64>::init(arch.clone(), 1);
        let mut buf = Buffers::new(&arch, 4);
        assert_eq!(net.forward(&[], 0, Some(&[]), &mut buf), 0.0);
        let mut grad = vec![f64::NAN; arch.n_params()];
        net.backward(&[], 0, &[], &mut buf, &mut grad);
        assert!(grad.iter().all(|&g| g == 0.0), "{grad:?}");
    }

    #[test]
    fn the_default_cut_of_the_reference_network_busies_16_threads() {
        let arch = Arch::new(vec![784, 128, 10], Activation::Sigmoid, Loss::Xent).unwrap();
        let phases = phase_tasks(&arch, 64, Split::threads(16));
        let get = |name: &str| phases.iter().find(|(n, _)| n == name).map(|p| p.1).unwrap();
        // The phases of the 128-unit layer: 16 tasks or more. (The 10-unit output layer's
        // 82k multiply-adds make a few tasks of at least MIN_TASK_WORK.)
        assert!(get("forward 1") >= 16 && get("backward 1") >= 16, "{phases:?}");
        assert!(get("forward 2") >= 2 && get("backward 2") >= 2, "{phases:?}");
        assert_eq!(phase_tasks(&arch, 64, Split::threads(1)).iter().map(|p| p.1).max(), Some(2));
    }

    #[test]
    fn layout_and_ranges() {
        let arch = Arch::new(vec![4, 3, 2], Activation::Relu, Loss::Xent).unwrap();
        assert_eq!(arch.n_params(), 4 * 3 + 3 + 3 * 2 + 2);
        assert_eq!(arch.weight_range(0), 0..12);
        assert_eq!(arch.bias_range(0), 12..15);
        assert_eq!(arch.weight_range(1), 15..21);
        assert_eq!(arch.bias_range(1), 21..23);
        assert!(Arch::new(vec![4], Activation::Relu, Loss::Xent).is_err());
        assert!(Arch::new(vec![4, 0, 2], Activation::Relu, Loss::Xent).is_err());
        assert!(Arch::new(vec![400, 100_000_000, 10], Activation::Relu, Loss::Xent).is_err());
        assert!(Arch::new(vec![4, usize::MAX, 2], Activation::Relu, Loss::Xent).is_err());
    }

    #[test]
    fn from_layers_and_weight_round_trip_the_usual_layout() {
        let arch = Arch::new(vec![3, 2], Activation::Relu, Loss::Mse).unwrap();
        let w = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 x 3
        let net = Network::from_layers(arch, &[(w.clone(), vec![7.0, 8.0])]).unwrap();
        assert_eq!(net.params, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(net.weight(0), w);
    }

    #[test]
    fn init_is_seeded_and_biases_are_zero() {
        let arch = Arch::new(vec![5, 4, 3], Activation::Tanh, Loss::Xent).unwrap();
        let a = Network::<f32>::init(arch.clone(), 9);
        assert_eq!(a, Network::<f32>::init(arch.clone(), 9));
        assert_ne!(a, Network::<f32>::init(arch.clone(), 10));
        assert!(a.params[arch.bias_range(0)].iter().all(|&b| b == 0.0));
        let eps = (6.0f32 / 9.0).sqrt();
        assert!(a.params[arch.weight_range(0)].iter().all(|&w| w.abs() <= eps));
    }
}
