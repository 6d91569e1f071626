//! The backward pass of a [`Network`]: every layer's deltas and the gradient of the summed
//! loss, optionally with the optimiser's update fused in block by block.

use super::blocks::{input_block, unit_block};
use super::{Arch, Buffers, Network};
use crate::activation::Activation;
use crate::gemm::{Accum, MatMut, MatRef, gemm, gemm_gathered, product};
use crate::scalar::Scalar;
use crate::split::Split;
use std::ops::Range;

/// The parameters a backward pass reads, or reads and then updates block by block.
pub(crate) enum Params<'a, T> {
    /// The parameters, only read (the gradient is the pass's only result).
    Read(&'a [T]),
    /// `update(range, is_weight, params, state, grad)` runs on every block of parameters once
    /// its gradient is complete and no task reads its old values any more: the first layer's
    /// blocks on the thread that just computed their gradient, while it is in cache; layer
    /// l+1's blocks during layer l's phase (after the input deltas that read them). `state` is
    /// the block's slice of a buffer in the parameters' layout with `stride` values per
    /// parameter (the velocities, 1; Adam's interleaved moments, 2).
    Update { params: &'a mut [T], state: &'a mut [T], stride: usize, update: &'a UpdateFn<'a, T> },
}

/// The first layer's input rows, as a backward pass reads them.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a, T> {
    /// `rows x n_in`, row-major.
    Rows(&'a [T]),
    /// The rows listed of a data set's features (`n_in` each, row-major), read where they lie
    /// ([`gemm_gathered`]): the trainer's mini-batch without its copy. (Not for a network
    /// without hidden layers, whose forward pass reads the copy.)
    Gathered(&'a [T], &'a [usize]),
}

impl<'a, T> From<&'a [T]> for Input<'a, T> {
    fn from(rows: &'a [T]) -> Self {
        Input::Rows(rows)
    }
}

/// The per-block update of [`Params::Update`].
pub(crate) type UpdateFn<'a, T> = dyn Fn(Range<usize>, bool, &mut [T], &mut [T], &[T]) + Sync + 'a;

impl<T: Scalar> Network<T> {
    /// Backward pass after [`Network::forward`] on the same `x` and `rows`, on the calling thread:
    /// `grad ← Σ_rows ∂loss/∂params` (overwritten, same layout as `params`).
    ///
    /// # Panics
    /// As [`Network::forward`], and when `grad` is not [`super::Arch::n_params`] long.
    pub fn backward(&self, x: &[T], rows: usize, y: &[T], buf: &mut Buffers<T>, grad: &mut [T]) {
        let n_out = self.arch.n_out();
        assert!(y.len() >= rows * n_out, "backward: y has {} values for {rows} rows", y.len());
        let l = self.arch.n_layers() - 1;
        let (a, d) = (&buf.acts[l][..rows * n_out], &mut buf.deltas[l][..rows * n_out]);
        let (loss, output) = (self.arch.loss, self.arch.output());
        for ((dr, ar), yr) in d.chunks_exact_mut(n_out).zip(a.chunks_exact(n_out)).zip(y.chunks_exact(n_out))
        {
            loss.delta_row(output, ar, yr, dr);
        }
        // (The deltas below the output layer are computed here, from these.)
        buf.fused = false;
        backward_from_deltas(
            &self.arch,
            Params::Read(&self.params),
            x.into(),
            rows,
            buf,
            grad,
            Split::serial(),
        );
    }
}

/// The backward pass from the output deltas in `buf` (left there by
/// [`Network::forward_with`] with [`super::Deltas::Backward`], or by [`Network::backward`]):
/// every layer's deltas, and `grad ← Σ_rows ∂loss/∂params` (overwritten). One parallel phase
/// per layer, from the top; the phase of layer l has three kinds of tasks:
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
///
/// After a training forward pass (`Buffers::fused`), the deltas of the layer under the output
/// layer are there already (its forward phase computed them by samples, the same chain per
/// element as the input-delta tasks), so the output layer has no phase of its own: its
/// gradient blocks, each updating its own rows as the first layer's do, join the phase of the
/// layer under it in place of the update blocks. One synchronised phase fewer per step, the
/// same bits: each product keeps the routine it had (a hidden layer's gradient stays with
/// matrixmultiply, whose sums over more than 256 rows are not the kernel's chains).
pub(crate) fn backward_from_deltas<T: Scalar>(
    arch: &Arch,
    mut params: Params<'_, T>,
    x: Input<'_, T>,
    rows: usize,
    buf: &mut Buffers<T>,
    grad: &mut [T],
    split: Split<'_>,
) {
    assert_eq!(grad.len(), arch.n_params(), "backward: gradient buffer has the wrong size");
    let n_layers = arch.n_layers();
    // After a training forward pass the layer under the output layer has its deltas already
    // (`Buffers::fused`): the output layer's gradient, with its update, joins that layer's phase.
    let fused = buf.fused && n_layers > 1;
    for l in (0..n_layers - usize::from(fused)).rev() {
        let joined = fused && l + 2 == n_layers;
        let shape = Shape::new(arch, l, rows, split, joined);
        let (n_in, n_out) = (shape.n_in, shape.n_out);
        let (grad_l, grad_up) = grad.split_at_mut(shape.br.end);
        // (Joined, the gradient above this layer is the output layer's, computed in this phase.)
        let (grad_top, grad_up): (Option<&mut [T]>, &[T]) =
            if joined { (Some(grad_up), &[]) } else { (None, grad_up) };
        let (gw, gb) = grad_l[shape.wr.start..].split_at_mut(n_in * n_out);
        let (lower, upper) = buf.deltas.split_at_mut(l);
        let d_store = &upper[0][..rows * n_out];
        let a_store: &[T] = if l == 0 { &[] } else { &buf.acts[l - 1][..n_in * rows] };
        let update: Option<&UpdateFn<'_, T>> = match &params {
            Params::Update { update, .. } => Some(*update),
            Params::Read(_) => None,
        };
        let (weights, owned, owned_up) = split_params(&mut params, &shape);
        let phase = Phase {
            // D_lᵀ (n_out, rows)
            d_t: if shape.sample_major {
                MatRef::row_major(d_store, rows, n_out).t()
            } else {
                MatRef::row_major(d_store, n_out, rows)
            },
            // A_{l-1} (rows, n_in)
            a: match (l, x) {
                (0, Input::Rows(x)) => First::View(MatRef::row_major(&x[..rows * n_in], rows, n_in)),
                (0, Input::Gathered(data, picked)) => {
                    assert_eq!(picked.len(), rows, "backward: {} rows gathered for {rows}", picked.len());
                    let n_data = data.len() / n_in.max(1);
                    First::Gathered(MatRef::row_major(&data[..n_data * n_in], n_data, n_in), picked)
                }
                _ => First::View(MatRef::row_major(a_store, n_in, rows).t()),
            },
            d_store,
            a_store,
            weights,
            grad_up,
            update,
            activation: arch.activation,
            shape,
        };
        let dp = (l > 0).then(|| &mut lower[l - 1][..n_in * rows]);
        let Some(grad_top) = grad_top else {
            split.for_each(tasks(&phase.shape, gw, gb, dp, owned, owned_up), |task| phase.run(task));
            continue;
        };
        // The output layer's gradient blocks, each updating its own rows (the blocks this
        // phase would otherwise update), read its deltas and its input as the forward pass
        // left them, sample-major; after this layer's tasks, which keep their threads.
        let top = Shape::new(arch, l + 1, rows, split, false);
        let (gw_top, gb_top) = grad_top[..top.br.end - top.wr.start].split_at_mut(top.n_in * top.n_out);
        let top = Phase {
            d_store: &upper[1][..rows * top.n_out],
            d_t: MatRef::row_major(&upper[1][..rows * top.n_out], rows, top.n_out).t(),
            a: First::View(MatRef::row_major(&buf.a_rows[..rows * top.n_in], rows, top.n_in)),
            a_store: &[],
            weights: &[],
            grad_up: &[],
            update,
            activation: arch.activation,
            shape: top,
        };
        let here = tasks(&phase.shape, gw, gb, dp, owned, None).map(|t| (&phase, t));
        let above = tasks(&top.shape, gw_top, gb_top, None, owned_up, None).map(|t| (&top, t));
        split.for_each(here.chain(above), |(phase, task)| phase.run(task));
    }
}

/// The sizes, parameter ranges and block lengths of layer l's backward phase.
struct Shape {
    /// The layer's index (0: the first layer, which needs no input deltas).
    l: usize,
    n_in: usize,
    n_out: usize,
    rows: usize,
    /// Whether its deltas are stored sample-major (`rows x n_out`): the output layer's, and
    /// those a training forward pass left for the layer under it.
    sample_major: bool,
    /// Whether its deltas came from the forward pass (the layer under the output layer).
    joined: bool,
    /// Layer l's weight and bias ranges in the flat buffer.
    wr: Range<usize>,
    br: Range<usize>,
    /// Units per gradient block, input units per input-delta block.
    unit_block: usize,
    input_block: usize,
    /// The blocks of layer l+1 whose update waits for this phase (the blocks of its gradient):
    /// its weight and bias ranges and its units per block. None for the output layer.
    up: Option<(Range<usize>, Range<usize>, usize)>,
}

impl Shape {
    /// Layer l's shape; `joined`: its deltas came from the forward pass (sample-major).
    fn new(arch: &Arch, l: usize, rows: usize, split: Split<'_>, joined: bool) -> Self {
        let sizes = &arch.sizes;
        let (n_in, n_out) = (sizes[l], sizes[l + 1]);
        let top = l + 1 == arch.n_layers();
        let up = (!top).then(|| {
            let block = unit_block(split, sizes[l + 1], sizes[l + 2], rows);
            (arch.weight_range(l + 1), arch.bias_range(l + 1), block)
        });
        Shape {
            l,
            n_in,
            n_out,
            rows,
            sample_major: top || joined,
            joined,
            wr: arch.weight_range(l),
            br: arch.bias_range(l),
            unit_block: unit_block(split, n_in, n_out, rows),
            input_block: input_block(split, n_in, n_out, rows),
            up,
        }
    }
}

/// The rows of one block of a layer's weight and bias, with the same rows of the optimiser state.
type Owned<'s, T> = ((&'s mut [T], &'s mut [T]), (&'s mut [T], &'s mut [T]));

/// A layer's weight, bias and their optimiser state cut into the [`Owned`] blocks of its units.
type OwnedBlocks<'s, T> = std::iter::Zip<
    std::iter::Zip<std::slice::ChunksMut<'s, T>, std::slice::ChunksMut<'s, T>>,
    std::iter::Zip<std::slice::ChunksMut<'s, T>, std::slice::ChunksMut<'s, T>>,
>;

/// `(weight, bias)` of the parameters and of the state (`stride` values per parameter), cut
/// into blocks of `block` units of `n_in` weights each.
fn owned_blocks<'s, T>(
    (pw, pb): (&'s mut [T], &'s mut [T]),
    (sw, sb): (&'s mut [T], &'s mut [T]),
    block: usize,
    n_in: usize,
    stride: usize,
) -> OwnedBlocks<'s, T> {
    pw.chunks_mut(block * n_in)
        .zip(pb.chunks_mut(block))
        .zip(sw.chunks_mut(block * n_in * stride).zip(sb.chunks_mut(block * stride)))
}

/// What layer l's phase reads of the parameters, and the blocks it updates: the weight the
/// input deltas read (not needed, so empty, when the first layer updates its own blocks), the
/// first layer's own blocks, and layer l+1's blocks. No blocks with [`Params::Read`].
#[allow(clippy::type_complexity)]
fn split_params<'p, T>(
    params: &'p mut Params<'_, T>,
    s: &Shape,
) -> (&'p [T], Option<OwnedBlocks<'p, T>>, Option<OwnedBlocks<'p, T>>) {
    let (wr, br, n_weights) = (&s.wr, &s.br, s.n_in * s.n_out);
    match params {
        Params::Read(p) => (&p[wr.clone()], None, None),
        Params::Update { params, state, stride, .. } => {
            let k = *stride;
            let (p_lo, p_hi) = params.split_at_mut(br.end);
            let (s_lo, s_hi) = state.split_at_mut(br.end * k);
            let (pw, pb) = p_lo[wr.start..].split_at_mut(n_weights);
            let (sw, sb) = s_lo[wr.start * k..].split_at_mut(n_weights * k);
            let owned_up = s.up.as_ref().map(|(wr1, br1, ub)| {
                // Layer l+1's inputs are this layer's n_out units.
                let (pw1, pb1) = p_hi[..br1.end - br.end].split_at_mut(wr1.len());
                let (sw1, sb1) = s_hi[..(br1.end - br.end) * k].split_at_mut(wr1.len() * k);
                owned_blocks((pw1, pb1), (sw1, sb1), *ub, s.n_out, k)
            });
            if s.l == 0 {
                (&[][..], Some(owned_blocks((pw, pb), (sw, sb), s.unit_block, s.n_in, k)), owned_up)
            } else {
                (&*pw, None, owned_up)
            }
        }
    }
}

/// One task of a backward layer phase (see [`backward_from_deltas`]).
enum Task<'s, T> {
    /// Gradient of block `b` of the layer's units (with the first layer's update: their rows).
    Grad { b: usize, gw: &'s mut [T], gb: &'s mut [T], own: Option<Owned<'s, T>> },
    /// Input deltas of block `b` of the layer's input units.
    Delta { b: usize, dp: &'s mut [T] },
    /// The update of block `b` of the next layer's units.
    Update { b: usize, own: Owned<'s, T> },
}

/// Layer l's tasks, in the order gradient blocks, input-delta blocks (into `dp`, the deltas of
/// layer l−1, none for the first layer), update blocks of layer l+1.
fn tasks<'s, T: Scalar>(
    s: &Shape,
    gw: &'s mut [T],
    gb: &'s mut [T],
    dp: Option<&'s mut [T]>,
    owned: Option<OwnedBlocks<'s, T>>,
    owned_up: Option<OwnedBlocks<'s, T>>,
) -> impl Iterator<Item = Task<'s, T>> + Send {
    let grads = gw.chunks_mut(s.unit_block * s.n_in).zip(gb.chunks_mut(s.unit_block)).enumerate();
    let grads = grads.zip(owned.into_iter().flatten().map(Some).chain(std::iter::repeat_with(|| None)));
    let delta_len = (s.input_block * s.rows).max(1);
    let deltas = dp.into_iter().flat_map(move |dp| dp.chunks_mut(delta_len)).enumerate();
    let updates = owned_up.into_iter().flatten().enumerate();
    grads
        .map(|((b, (gw, gb)), own)| Task::Grad { b, gw, gb, own })
        .chain(deltas.map(|(b, dp)| Task::Delta { b, dp }))
        .chain(updates.map(|(b, own)| Task::Update { b, own }))
}

/// A layer's input as the gradient's product reads it: a view, or rows gathered from a data set.
enum First<'a, T> {
    View(MatRef<'a, T>),
    Gathered(MatRef<'a, T>, &'a [usize]),
}

/// What every task of layer l's phase reads.
struct Phase<'a, T> {
    shape: Shape,
    /// D_l as stored: `rows x n_out` for the output layer and the layer a training forward
    /// pass left deltas for, `n_out x rows` below.
    d_store: &'a [T],
    /// D_lᵀ (n_out, rows), a view of `d_store`.
    d_t: MatRef<'a, T>,
    /// A_{l-1} (rows, n_in): `x` or its gathered rows, or a view of `a_store`.
    a: First<'a, T>,
    /// A_{l-1} as stored, `n_in x rows` (empty for the first layer, whose input is `x`).
    a_store: &'a [T],
    /// W_l (`n_out x n_in`) as the input deltas read it.
    weights: &'a [T],
    /// The gradient of the layers above this one (layer l+1's first), complete by now.
    grad_up: &'a [T],
    /// The per-block update of [`Params::Update`] (None with [`Params::Read`]).
    update: Option<&'a UpdateFn<'a, T>>,
    /// The hidden activation, whose derivative the input deltas take.
    activation: Activation,
}

impl<T: Scalar> Phase<'_, T> {
    /// Runs one task of the phase.
    fn run(&self, task: Task<'_, T>) {
        match task {
            Task::Grad { b, gw, gb, own } => self.gradient(b, gw, gb, own),
            Task::Delta { b, dp } => self.input_deltas(b, dp),
            Task::Update { b, own } => self.update_up(b, own),
        }
    }

    /// gW[u] (n, n_in) = D_lᵀ[u] (n, rows) · A_{l-1} (rows, n_in) ;  gb[u] = Σ_s D_l[s, u],
    /// s in order; then, for the first layer, the update of these rows.
    fn gradient(&self, b: usize, gw: &mut [T], gb: &mut [T], own: Option<Owned<'_, T>>) {
        let s = &self.shape;
        let (first, n, rows, n_out) = (b * s.unit_block, gb.len(), s.rows, s.n_out);
        let gw_block = MatMut::row_major(gw, n, s.n_in);
        match &self.a {
            // A hidden layer's gradient: matrixmultiply, as `product` chooses for these
            // operands stored feature-major, whatever the deltas' layout (its sums over more
            // than 256 rows are not the kernel's chains).
            First::View(a) if s.l > 0 && s.joined => {
                gemm(gw_block, self.d_t.sub_rows(first, n), *a, Accum::Overwrite)
            }
            First::View(a) => product(gw_block, self.d_t.sub_rows(first, n), *a),
            First::Gathered(data, picked) => {
                gemm_gathered(gw_block, self.d_t.sub_rows(first, n), *data, picked)
            }
        }
        let d_store = self.d_store;
        for (j, g) in gb.iter_mut().enumerate() {
            let o = first + j;
            *g = if s.sample_major {
                (0..rows).fold(T::zero(), |acc, r| acc + d_store[r * n_out + o])
            } else {
                d_store[o * rows..(o + 1) * rows].iter().fold(T::zero(), |acc, &v| acc + v)
            };
        }
        if let (Some(((w, bias), (sw, sb))), Some(update)) = (own, self.update) {
            let start = s.wr.start + first * s.n_in;
            update(start..start + w.len(), true, w, sw, gw);
            update(s.br.start + first..s.br.start + first + n, false, bias, sb, gb);
        }
    }

    /// D_{l-1}ᵀ[i] (n, rows) = W_l[:, i]ᵀ (n, n_out) · D_lᵀ (n_out, rows) ⊙ f'(A_{l-1}ᵀ[i]).
    fn input_deltas(&self, b: usize, dp: &mut [T]) {
        let s = &self.shape;
        let (first, n) = (b * s.input_block, dp.len() / s.rows);
        let w = MatRef::row_major(self.weights, s.n_out, s.n_in).t().sub_rows(first, n);
        product(MatMut::row_major(dp, n, s.rows), w, self.d_t);
        self.activation.mul_derivative(dp, &self.a_store[first * s.rows..(first + n) * s.rows]);
    }

    /// The update of block `b` of layer l+1's units, from its complete gradient.
    fn update_up(&self, b: usize, ((w, bias), (sw, sb)): Owned<'_, T>) {
        let (Some((wr1, br1, ub)), Some(update)) = (&self.shape.up, self.update) else { return };
        // Layer l+1's inputs are this layer's n_out units; `grad_up` starts where layer l ends.
        let (n_in1, base) = (self.shape.n_out, self.shape.br.end);
        let first = b * ub;
        let start = wr1.start + first * n_in1;
        let g = &self.grad_up[start - base..start - base + w.len()];
        update(start..start + w.len(), true, w, sw, g);
        let bstart = br1.start + first;
        let gbias = &self.grad_up[bstart - base..bstart - base + bias.len()];
        update(bstart..bstart + bias.len(), false, bias, sb, gbias);
    }
}
