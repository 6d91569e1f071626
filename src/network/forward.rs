//! The forward pass of a [`Network`]: every layer's outputs into [`Buffers`], the loss of
//! each row, and (for training) the output deltas the backward pass starts from.

use super::blocks::{sample_block, unit_block};
use super::{Buffers, Network};
use crate::gemm::{MatMut, MatRef, gemm_rows, product, transpose_rows};
use crate::scalar::{Scalar, flush};
use crate::split::Split;

impl<T: Scalar> Network<T> {
    /// Forward pass for `rows` samples on the calling thread. `x`: (rows, n_in); `y`:
    /// (rows, n_out) targets or None. Fills `buf`'s activations and returns the summed loss
    /// over the rows (0 without `y`).
    ///
    /// # Panics
    /// When the buffers' lengths do not fit: `x` shorter than `rows · n_in`, `y` shorter than
    /// `rows · n_out`, or `rows` above `buf`'s capacity ([`Buffers::new`] for this network).
    /// These are the caller's sizes, never the data's values; the front door
    /// ([`crate::model::Model::outputs`]) sizes them itself.
    pub fn forward(&self, x: &[T], rows: usize, y: Option<&[T]>, buf: &mut Buffers<T>) -> f64 {
        self.forward_with(x, rows, y, buf, Split::serial(), Deltas::None, false)
    }

    /// [`Network::forward`] cut for `split`; with [`Deltas::Backward`] (and `y`), also the
    /// deltas a backward pass starts from. Parallel over blocks of each layer's units (rows of
    /// `Zᵀ`), the output layer over blocks of samples. The first phase transposes `x` into
    /// `buf` for the first layer, unless `transposed` says that a gather already did
    /// ([`Buffers::input_t_blocks`]); with hidden layers, `x` is then not read.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward_with(
        &self,
        x: &[T],
        rows: usize,
        y: Option<&[T]>,
        buf: &mut Buffers<T>,
        split: Split<'_>,
        deltas: Deltas<'_, T>,
        transposed: bool,
    ) -> f64 {
        let arch = &self.arch;
        assert!(rows <= buf.capacity, "forward: {rows} rows exceed the buffer's {}", buf.capacity);
        // (With hidden layers and the input transposed already, `x` is not read: it may be empty.)
        let reads_x = !transposed || arch.n_layers() == 1;
        assert!(
            !reads_x || x.len() >= rows * arch.n_in(),
            "forward: x has {} values for {rows} rows",
            x.len()
        );
        if let Some(y) = y {
            assert!(y.len() >= rows * arch.n_out(), "forward: y has {} values for {rows} rows", y.len());
        }
        buf.fused = false;
        if rows == 0 {
            return 0.0;
        }
        let n_layers = arch.n_layers();
        if !transposed {
            let n_in = arch.n_in();
            let blocks = buf.input_t_blocks(n_in, rows, split);
            split.for_each(blocks, |(first, dst)| {
                let n = dst.len() / rows;
                transpose_rows(MatMut::row_major(dst, n, rows), |i| &x[i * n_in + first..]);
            });
        }
        for l in 0..n_layers - 1 {
            let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
            let (w, bias) = self.layer(l);
            let (done, rest) = buf.acts.split_at_mut(l);
            // A_{l-1}ᵀ (n_in, rows)
            let input = if l == 0 { &buf.input_t[..n_in * rows] } else { &done[l - 1][..n_in * rows] };
            let input = MatRef::row_major(input, n_in, rows);
            let w = MatRef::row_major(w, n_out, n_in);
            let block = unit_block(split, n_in, n_out, rows);
            let act = arch.activation;
            split.for_each(rest[0][..n_out * rows].chunks_mut(block * rows).enumerate(), |(b, z)| {
                let (first, units) = (b * block, z.len() / rows);
                // Zᵀ[units] (units, rows) = W[units] (units, n_in) · A_{l-1}ᵀ (n_in, rows)
                gemm_rows(MatMut::row_major(z, units, rows), w.sub_rows(first, units), input);
                for (zr, &b) in z.chunks_exact_mut(rows).zip(&bias[first..first + units]) {
                    act.bias_activate_unit(zr, b);
                }
            });
        }
        self.output_layer(x, rows, y, buf, split, deltas)
    }

    /// The output layer of [`Network::forward_with`], by blocks of samples: Z (rows, n_out) =
    /// A_{L-1} (rows, n_in) · Wᵀ, the rows' losses (summed, returned) and, with
    /// [`Deltas::Backward`], their deltas.
    fn output_layer(
        &self,
        x: &[T],
        rows: usize,
        y: Option<&[T]>,
        buf: &mut Buffers<T>,
        split: Split<'_>,
        deltas: Deltas<'_, T>,
    ) -> f64 {
        let arch = &self.arch;
        let n_layers = arch.n_layers();
        let l = n_layers - 1;
        let (n_in, n_out) = (arch.sizes[l], arch.n_out());
        let (weight, backward) = match deltas {
            Deltas::None => (None, false),
            Deltas::Backward(weight) => (weight, true),
        };
        // With hidden layers and targets for a backward pass, each block of samples also
        // computes its rows of the deltas of the layer below (sample-major), from its rows of
        // the layer's input copied sample-major: the backward pass then starts one layer lower.
        buf.fused = backward && l > 0 && y.is_some();
        let w = self.layer(l).0;
        let wt = MatRef::row_major(w, n_out, n_in).t(); // Wᵀ (n_in, n_out)
        let block = sample_block(split, n_in, n_out, rows);
        let (hidden, out) = buf.acts.split_at_mut(l);
        let (below, top) = buf.deltas.split_at_mut(l);
        let (z, d) = (&mut out[0][..rows * n_out], &mut top[0][..rows * n_out]);
        let row_loss = &mut buf.row_loss[..rows];
        let blocks =
            z.chunks_mut(block * n_out).zip(d.chunks_mut(block * n_out)).zip(row_loss.chunks_mut(block));
        if buf.fused {
            let a_t = &hidden[l - 1][..n_in * rows];
            let a_rows = buf.a_rows[..rows * n_in].chunks_mut(block * n_in);
            let d_below = below[l - 1][..rows * n_in].chunks_mut(block * n_in);
            let act = arch.activation;
            split.for_each(blocks.zip(a_rows.zip(d_below)).enumerate(), |(b, (((z, d), rl), (a, db)))| {
                let (first, n) = (b * block, rl.len());
                // A_{L-1}[samples] (n, n_in)
                transpose_rows(MatMut::row_major(a, n, n_in), |u| &a_t[u * rows + first..]);
                // (The product reads the layer's output as the unfused pass does: the same
                // kernel's chains at any width.)
                let input = MatRef::row_major(a_t, n_in, rows).t().sub_rows(first, n);
                self.output_rows(input, wt, first, y, z, Some(&mut *d), rl, weight);
                // D_{L-1}[samples] (n, n_in) = D_L[samples] (n, n_out) · W_L (n_out, n_in) ⊙ f'(A_{L-1}[samples])
                let d = MatRef::row_major(d, n, n_out);
                gemm_rows(MatMut::row_major(db, n, n_in), d, MatRef::row_major(w, n_out, n_in));
                act.mul_derivative(db, a);
            });
        } else {
            let input = if l == 0 {
                MatRef::row_major(&x[..rows * n_in], rows, n_in)
            } else {
                MatRef::row_major(&hidden[l - 1][..n_in * rows], n_in, rows).t()
            };
            split.for_each(blocks.enumerate(), |(b, ((z, d), rl))| {
                let (first, n) = (b * block, rl.len());
                let d = backward.then_some(d);
                self.output_rows(input.sub_rows(first, n), wt, first, y, z, d, rl, weight);
            });
        }
        buf.row_loss[..rows].iter().sum()
    }

    /// The output layer on the block of rows `first..first + n` (`input`: their n x n_in
    /// values): their `z = a·Wᵀ + b` (the outputs, in place; `wt` is the layer's Wᵀ), each
    /// row's loss against its targets in `y` (all rows') and, with `deltas` and `y`, its output
    /// deltas; each row's loss and deltas multiplied by `weight(row)` when given.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn output_rows(
        &self,
        input: MatRef<'_, T>,
        wt: MatRef<'_, T>,
        first: usize,
        y: Option<&[T]>,
        z: &mut [T],
        mut deltas: Option<&mut [T]>,
        row_loss: &mut [f64],
        weight: Option<&(dyn Fn(usize) -> T + Sync)>,
    ) {
        let (arch, n) = (&self.arch, row_loss.len());
        let n_out = arch.n_out();
        let bias = self.layer(arch.n_layers() - 1).1;
        let (loss, output) = (arch.loss, arch.output());
        product(MatMut::row_major(z, n, n_out), input, wt);
        for (i, zr) in z.chunks_exact_mut(n_out).enumerate() {
            zr.iter_mut().zip(bias).for_each(|(z, &b)| *z += b);
            let yr = y.map(|y| &y[(first + i) * n_out..(first + i + 1) * n_out]);
            row_loss[i] = loss.forward_row(output, zr, yr);
            if let (Some(d), Some(yr)) = (deltas.as_deref_mut(), yr) {
                let d = &mut d[i * n_out..(i + 1) * n_out];
                loss.delta_row(output, zr, yr, d);
                if let Some(w) = weight.map(|w| w(first + i)) {
                    // A sample's weight (its class's), carried by its deltas into every gradient.
                    d.iter_mut().for_each(|d| *d = flush(*d * w));
                    row_loss[i] *= w.to_f64().unwrap_or(f64::NAN);
                }
            }
        }
    }
}

/// What [`Network::forward_with`] leaves for a backward pass.
#[derive(Clone, Copy)]
pub(crate) enum Deltas<'a, T> {
    /// Nothing: the outputs and each row's loss.
    None,
    /// The output deltas (with targets), each row's loss and deltas multiplied by
    /// `weight(row)` when given; with hidden layers, also the deltas of the layer below.
    Backward(Option<&'a (dyn Fn(usize) -> T + Sync)>),
}
