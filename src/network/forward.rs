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
        self.forward_with(x, rows, y, buf, Split::serial(), false, false)
    }

    /// [`Network::forward`] cut for `split`; with `output_delta` (and `y`), also the output
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
        output_delta: bool,
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
        // Output layer, by blocks of samples: Z (rows, n_out) = A_{L-1} (rows, n_in) · Wᵀ.
        let l = n_layers - 1;
        let (n_in, n_out) = (arch.sizes[l], arch.n_out());
        let (hidden, out) = buf.acts.split_at_mut(l);
        let input = if l == 0 {
            MatRef::row_major(&x[..rows * n_in], rows, n_in)
        } else {
            MatRef::row_major(&hidden[l - 1][..n_in * rows], n_in, rows).t()
        };
        let wt = MatRef::row_major(self.layer(l).0, n_out, n_in).t(); // Wᵀ (n_in, n_out)
        let block = sample_block(split, n_in, n_out, rows);
        let z = &mut out[0][..rows * n_out];
        let d = &mut buf.deltas[l][..rows * n_out];
        let row_loss = &mut buf.row_loss[..rows];
        let blocks =
            z.chunks_mut(block * n_out).zip(d.chunks_mut(block * n_out)).zip(row_loss.chunks_mut(block));
        split.for_each(blocks.enumerate(), |(b, ((z, d), rl))| {
            self.output_rows(input, wt, b * block, y, z, output_delta.then_some(d), rl);
        });
        buf.row_loss[..rows].iter().sum()
    }

    /// The output layer on the rows `first..first + row_loss.len()` of `input` (rows, n_in):
    /// their `z = a·Wᵀ + b` (the outputs, in place; `wt` is the layer's Wᵀ), each row's loss
    /// against `y` and, with `deltas` and `y`, its output deltas.
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
    ) {
        let (arch, n) = (&self.arch, row_loss.len());
        let n_out = arch.n_out();
        let bias = self.layer(arch.n_layers() - 1).1;
        let (loss, output) = (arch.loss, arch.output());
        product(MatMut::row_major(z, n, n_out), input.sub_rows(first, n), wt);
        for (i, zr) in z.chunks_exact_mut(n_out).enumerate() {
            zr.iter_mut().zip(bias).for_each(|(z, &b)| *z += b);
            let yr = y.map(|y| &y[(first + i) * n_out..(first + i + 1) * n_out]);
            row_loss[i] = loss.forward_row(output, zr, yr);
            if let (Some(d), Some(yr)) = (deltas.as_deref_mut(), yr) {
                loss.delta_row(output, zr, yr, &mut d[i * n_out..(i + 1) * n_out]);
            }
        }
    }
}

impl<T: Scalar> Buffers<T> {
    /// Sample weights after [`Network::forward_with`] (with `output_delta`): multiplies row i's
    /// loss and output delta by `weight(i)` (its class's weight) and returns the weighted
    /// losses summed in row order. One pass over `rows x n_out` values; the backward pass then
    /// carries the weights into every gradient.
    pub(crate) fn weigh_rows(&mut self, rows: usize, weight: impl Fn(usize) -> T) -> f64 {
        let deltas = self.deltas.last_mut().expect("a network has an output layer");
        let n_out = deltas.len() / self.capacity.max(1);
        let rows_deltas = deltas[..rows * n_out].chunks_exact_mut(n_out);
        for (i, (d, l)) in rows_deltas.zip(&mut self.row_loss[..rows]).enumerate() {
            let w = weight(i);
            d.iter_mut().for_each(|d| *d = flush(*d * w));
            *l *= w.to_f64().unwrap_or(f64::NAN);
        }
        self.row_loss[..rows].iter().sum()
    }
}
