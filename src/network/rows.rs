//! Inference by rows ([`RowNet`]): [`Network::forward`]'s outputs and losses, with the same
//! bits, for blocks of samples read where they lie. Every layer's weights are transposed once
//! beforehand, so each layer is `Z (rows, n_out) = A (rows, n_in) · Wᵀ` with no block's input
//! transposed (the forward pass transposes each block's input, about a fifth of the products'
//! time when evaluating a data set). Each element is the same fused multiply-add chain over
//! the layer's inputs in order as the forward pass's ([`gemm_rows`]' kernels, whichever
//! operand is which), its bias added after and its activation applied by the same function.

use super::Network;
use crate::gemm::{MatMut, MatRef, gemm_rows};
use crate::scalar::Scalar;

/// A network ready for inference by rows: its weights transposed, once for all the blocks.
pub(crate) struct RowNet<'n, T> {
    net: &'n Network<T>,
    /// Each layer's weights transposed, `n_in x n_out`.
    wt: Vec<Vec<T>>,
}

/// The memory of one block's pass by rows (one per thread).
pub(crate) struct RowBuffers<T> {
    /// Each layer's outputs, sample-major: `capacity x n_out`.
    acts: Vec<Vec<T>>,
    row_loss: Vec<f64>,
    capacity: usize,
}

impl<'n, T: Scalar> RowNet<'n, T> {
    /// `net` ready for inference by rows; `None` where the products would not run on the
    /// crate's kernels (f32 on AVX-512F or AVX2 + FMA), whose chains give the forward pass's
    /// bits in either orientation, and for a network without hidden layers, whose forward
    /// pass multiplies the rows by matrixmultiply (not the kernel's chains beyond 256
    /// inputs): there [`Network::forward`] serves.
    pub(crate) fn new(net: &'n Network<T>) -> Option<Self> {
        if T::as_f32(&[]).is_none() || !crate::gemm::gathers_rows() || net.arch.n_layers() < 2 {
            return None;
        }
        let arch = &net.arch;
        let wt = (0..arch.n_layers())
            .map(|l| {
                let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
                let w = net.layer(l).0;
                (0..n_in).flat_map(|i| (0..n_out).map(move |o| w[o * n_in + i])).collect()
            })
            .collect();
        Some(RowNet { net, wt })
    }

    /// Memory for passes of up to `capacity` rows.
    pub(crate) fn buffers(&self, capacity: usize) -> RowBuffers<T> {
        let acts = self.net.arch.sizes[1..].iter().map(|&s| vec![T::zero(); capacity * s]).collect();
        RowBuffers { acts, row_loss: vec![0.0; capacity], capacity }
    }

    /// [`Network::forward`] of `rows` samples (`x`: rows x n_in, `y`: rows x n_out targets or
    /// None) in `buf`: the summed loss (0 without `y`); the outputs are then
    /// [`RowBuffers::output`].
    ///
    /// # Panics
    /// When `rows` is above `buf`'s capacity or `x` or `y` is too short for it.
    pub(crate) fn forward(&self, x: &[T], rows: usize, y: Option<&[T]>, buf: &mut RowBuffers<T>) -> f64 {
        let arch = &self.net.arch;
        assert!(rows <= buf.capacity, "forward: {rows} rows exceed the capacity {}", buf.capacity);
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
            let (done, rest) = buf.acts.split_at_mut(l);
            let input = if l == 0 { &x[..rows * n_in] } else { &done[l - 1][..rows * n_in] };
            let z = &mut rest[0][..rows * n_out];
            gemm_rows(
                MatMut::row_major(z, rows, n_out),
                MatRef::row_major(input, rows, n_in),
                MatRef::row_major(&self.wt[l], n_in, n_out),
            );
            let bias = self.net.layer(l).1;
            z.chunks_exact_mut(n_out).for_each(|zr| arch.activation.bias_activate_row(zr, bias));
        }
        let l = n_layers - 1;
        let (n_in, n_out) = (arch.sizes[l], arch.n_out());
        let (hidden, out) = buf.acts.split_at_mut(l);
        let input = MatRef::row_major(&hidden[l - 1][..rows * n_in], rows, n_in);
        let wt = MatRef::row_major(&self.wt[l], n_in, n_out);
        let row_loss = &mut buf.row_loss[..rows];
        self.net.output_rows(input, wt, 0, y, &mut out[0][..rows * n_out], None, row_loss, None);
        row_loss.iter().sum()
    }
}

impl<T> RowBuffers<T> {
    /// The outputs (probabilities for classifiers) of the last [`RowNet::forward`] in these
    /// buffers, `rows x n_out`.
    pub(crate) fn output(&self, rows: usize) -> &[T] {
        let out = &self.acts[self.acts.len() - 1];
        &out[..rows * (out.len() / self.capacity.max(1))]
    }
}
