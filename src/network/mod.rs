//! A multilayer perceptron: its architecture, one flat parameter buffer, and batched
//! forward and backward passes as GEMMs into caller-owned buffers, cut into blocks over
//! their output dimension so that several threads can share one pass.
//!
//! Layout of the flat buffer (the same for gradients and velocities): for every layer in
//! order, its weight `W_l` (`n_out x n_in`, row-major: PyTorch's `Linear`, and the model
//! file's layout), then its bias `b_l` (`n_out`). A block of units is a contiguous run of rows.
//! Hidden activations and deltas are stored feature-major (`n_units x rows`, see [`Buffers`]),
//! so a block of units is a contiguous run there too (but for the deltas of the last hidden
//! layer after a training forward pass, which computes them by samples: sample-major). For
//! `rows` samples stacked as rows of `X`:
//! ```text
//! forward:  Z_lᵀ = W_l A_{l-1}ᵀ + b_l ;  A_l = f_l(Z_l)        (A_0 = X; by blocks of units)
//! deltas:   D_L from the loss ;  D_{l-1}ᵀ = (W_lᵀ D_lᵀ) ⊙ f'(A_{l-1}ᵀ)   (by blocks of inputs)
//! gradient: gW_l = D_lᵀ A_{l-1} ;  gb_l = Σ_rows D_l              (by blocks of units)
//! ```
//! The first layer's input gradient is never computed. Every output element of every block
//! is one dot product in a fixed k order (a fused multiply-add chain in the crate's own
//! kernels, `gemm::product`, or matrixmultiply's order where they do not fit), so how the
//! blocks are cut and which thread runs them never changes a bit (see the crate-internal
//! `split` module). The first layer reads the input transposed (`n_in x rows`, like the
//! hidden activations), which a pass builds first or the trainer's gather writes.
//!
//! This file holds the architecture, the parameters and the buffers; the passes are in
//! `forward.rs` and `backward.rs`, the cut of each pass into blocks in `blocks.rs`, the
//! initialisation schemes ([`Init`]) in `init.rs`.
//!
//! ```
//! use bp_par::network::{Arch, Buffers, Network};
//! use bp_par::{activation::Activation, loss::Loss};
//! let arch = Arch::new(vec![2, 3, 2], Activation::Sigmoid, Loss::Mse).unwrap();
//! let net = Network::<f64>::init(arch, 1);
//! let mut buf = Buffers::new(net.arch(), 1);
//! net.forward(&[5.0, 10.0], 1, None, &mut buf);
//! assert_eq!(buf.output(1).len(), 2);
//! ```

mod backward;
mod blocks;
mod forward;
mod init;
#[cfg(test)]
mod pass_tests;
mod rows;
#[cfg(test)]
mod tests;

pub(crate) use backward::{Input, Params, backward_from_deltas};
pub(crate) use blocks::{feature_block, phase_tasks};
pub(crate) use forward::Deltas;
pub use init::Init;
pub(crate) use rows::RowNet;

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::loss::{Loss, Output};
use crate::scalar::Scalar;
use crate::split::Split;
use std::ops::Range;

/// The most parameters a network may have: 2³¹ (8 GiB of f32 per copy).
pub const MAX_PARAMS: usize = 1 << 31;

/// Layer sizes (input first, output last), the hidden activation and the loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    sizes: Vec<usize>,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The loss, which also sets the output layer's activation unless [`Arch::with_output`]
    /// chose another of its [`Loss::outputs`].
    pub loss: Loss,
    /// The output unit chosen by [`Arch::with_output`] (read through [`Arch::output`]).
    output: Output,
    /// Start of each layer's weight in the flat buffer, plus the total at the end.
    offsets: Vec<usize>,
}

impl Arch {
    /// Checks that there are at least two sizes, none is zero and the parameters fit
    /// ([`Error::Config`] otherwise).
    pub fn new(sizes: Vec<usize>, activation: Activation, loss: Loss) -> Result<Self> {
        Arch::checked(sizes, activation, loss).map_err(Error::config)
    }

    fn checked(sizes: Vec<usize>, activation: Activation, loss: Loss) -> std::result::Result<Self, String> {
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
        Ok(Arch { sizes, activation, loss, output: loss.default_output(), offsets })
    }

    /// The same architecture with the output unit `output`, which must be one the loss can
    /// train ([`Loss::outputs`]: linear outputs need `mse`); [`Error::Config`] otherwise.
    pub fn with_output(self, output: Output) -> Result<Self> {
        if !self.loss.outputs().contains(&output) {
            return Err(Error::config(format!(
                "`output` {output} needs `loss` mse; `loss` {} has {} outputs",
                self.loss,
                self.loss.default_output()
            )));
        }
        Ok(Arch { output, ..self })
    }

    /// The output layer's unit: the one [`Arch::with_output`] chose if the loss can train it,
    /// else the loss's own ([`Loss::default_output`]).
    pub fn output(&self) -> Output {
        if self.loss.outputs().contains(&self.output) { self.output } else { self.loss.default_output() }
    }

    /// All layer sizes, input first.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }
    /// Number of weight layers.
    pub fn n_layers(&self) -> usize {
        self.sizes.len() - 1
    }
    /// Number of inputs (the first size).
    pub fn n_in(&self) -> usize {
        self.sizes[0]
    }
    /// Number of outputs (the last size).
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
    /// The activation applied by layer `l`'s units, by name (the output's is [`Arch::output`]).
    pub fn layer_activation(&self, l: usize) -> &'static str {
        if l + 1 == self.n_layers() { self.output().name() } else { self.activation.name() }
    }
}

/// Per-call working memory for up to `capacity` samples: every layer's outputs and deltas.
///
/// Hidden layers are stored **feature-major**, `n_units x rows` (a row per unit, each sample a
/// column): a block of units, the unit of parallel work, is then a contiguous run of memory.
/// The output layer is stored sample-major, `rows x n_out`, as callers read it, and so are the
/// last hidden layer's deltas when a training forward pass computed them (by samples).
#[derive(Clone, Debug)]
pub struct Buffers<T> {
    capacity: usize,
    /// `acts[l]`: layer l's outputs.
    acts: Vec<Vec<T>>,
    /// `deltas[l]`: ∂loss/∂Z_l, in the layout of `acts[l]` (sample-major for the last hidden
    /// layer when `fused`).
    deltas: Vec<Vec<T>>,
    /// Each row's loss, summed in row order after a parallel forward.
    row_loss: Vec<f64>,
    /// The input transposed, `n_in x rows`, as the first hidden layer's forward reads it
    /// (empty for a network without hidden layers).
    input_t: Vec<T>,
    /// The output layer's input (the last hidden layer's outputs) sample-major, `rows x n_in`,
    /// as a training forward pass copies it (empty for a network without hidden layers).
    a_rows: Vec<T>,
    /// Whether the last forward pass left the deltas of the layer under the output layer too,
    /// sample-major (`rows x n_units`), with `a_rows`: a backward pass then starts there.
    fused: bool,
}

impl<T: Scalar> Buffers<T> {
    /// Zeroed buffers for up to `capacity` samples of `arch`.
    pub fn new(arch: &Arch, capacity: usize) -> Self {
        let acts: Vec<Vec<T>> = arch.sizes[1..].iter().map(|&s| vec![T::zero(); capacity * s]).collect();
        let hidden = arch.n_layers() > 1;
        let input_t = if hidden { vec![T::zero(); capacity * arch.n_in()] } else { Vec::new() };
        let last_hidden = arch.sizes[arch.n_layers() - 1];
        let a_rows = if hidden { vec![T::zero(); capacity * last_hidden] } else { Vec::new() };
        let row_loss = vec![0.0; capacity];
        Buffers { capacity, deltas: acts.clone(), acts, row_loss, input_t, a_rows, fused: false }
    }

    /// The blocks of the transposed input (`n_in x rows`, read by the first layer's forward) as
    /// a parallel pass fills them: `(first input feature, block of n·rows values)`, n features
    /// by `rows` samples each. None for a network without hidden layers, whose forward reads
    /// the rows as they are.
    pub(crate) fn input_t_blocks(
        &mut self,
        n_in: usize,
        rows: usize,
        split: Split<'_>,
    ) -> impl Iterator<Item = (usize, &mut [T])> + Send + use<'_, T> {
        let block = blocks::feature_block(split, n_in, rows);
        let len = if self.input_t.is_empty() { 0 } else { n_in * rows };
        // (No rows: no blocks, and no chunks of length 0.)
        self.input_t[..len]
            .chunks_mut((block * rows).max(1))
            .enumerate()
            .map(move |(b, dst)| (b * block, dst))
    }

    /// The most samples a pass may use these buffers for.
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

/// An architecture with its parameters: always [`Arch::n_params`] of them (the constructors
/// check it; [`Network::params_mut`] changes values, never the count).
#[derive(Clone, Debug, PartialEq)]
pub struct Network<T> {
    /// The layer sizes, activation and loss.
    pub(crate) arch: Arch,
    /// The flat parameter buffer; see the module docs for its layout.
    pub(crate) params: Vec<T>,
}

impl<T: Scalar> Network<T> {
    /// Random initialisation from `seed` (the only source of randomness) by the default
    /// scheme of the hidden activation ([`Init::default_for`]): weights U(−ε, ε) with
    /// Glorot's ε = sqrt(6/(n_in+n_out)), or He's ε = sqrt(6/n_in) for layers feeding ReLU
    /// units; biases 0. [`Network::init_with`] takes another scheme.
    pub fn init(arch: Arch, seed: u64) -> Self {
        let init = Init::default_for(arch.activation);
        Self::init_with(arch, init, seed)
    }

    /// A network of `arch` with the flat parameter vector `params` (the layout of the module
    /// docs: each layer's weight, then its bias).
    ///
    /// # Errors
    /// [`Error::Config`] when `params` is not [`Arch::n_params`] long.
    pub fn from_params(arch: Arch, params: Vec<T>) -> Result<Self> {
        if params.len() != arch.n_params() {
            return Err(Error::config(format!(
                "layers {:?} take {} parameters, got {}",
                arch.sizes(),
                arch.n_params(),
                params.len()
            )));
        }
        Ok(Network { arch, params })
    }

    /// The layer sizes, activation and loss.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// The flat parameter vector ([`Arch::n_params`] long; layout in the module docs).
    pub fn params(&self) -> &[T] {
        &self.params
    }

    /// The parameters, to change in place (their number is fixed).
    pub fn params_mut(&mut self) -> &mut [T] {
        &mut self.params
    }

    /// Builds a network from per-layer `(weight, bias)` in the usual layout: weight
    /// `n_out x n_in` row-major (PyTorch's `Linear`), bias `n_out`.
    pub fn from_layers(arch: Arch, layers: &[(Vec<T>, Vec<T>)]) -> Result<Self> {
        Network::checked_layers(arch, layers).map_err(Error::config)
    }

    fn checked_layers(arch: Arch, layers: &[(Vec<T>, Vec<T>)]) -> std::result::Result<Self, String> {
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
