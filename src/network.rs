//! A multilayer perceptron: its architecture, one flat parameter buffer, and batched
//! forward and backward passes as GEMMs into caller-owned buffers.
//!
//! Layout of the flat buffer (the same for gradients and velocities): for every layer in
//! order, its weight stored **transposed**, `Wt_l = W_lᵀ` (`n_in x n_out`, row-major), then
//! its bias `b_l` (`n_out`). Model files hold the usual `W_l` (`n_out x n_in`, PyTorch's
//! `Linear`); [`Network::from_layers`] and [`Network::weight`] convert. Transposed, every
//! hot GEMM reads its operands contiguously, and a block of input features is a contiguous
//! block of rows, which lets the trainer update parameter blocks in parallel.
//! For `rows` samples stacked as rows of `X`:
//! ```text
//! forward:  Z_l = A_{l-1} Wt_l + b_l ;  A_l = f_l(Z_l)            (A_0 = X)
//! deltas:   D_L from the loss ;  D_{l-1} = (D_l Wt_lᵀ) ⊙ f'(A_{l-1})
//! gradient: gWt_l = A_{l-1}ᵀ D_l ;  gb_l = colsum(D_l)
//! ```
//! The first layer's input gradient is never computed.
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
#[derive(Clone, Debug)]
pub struct Buffers<T> {
    capacity: usize,
    /// `acts[l]` holds layer l's outputs, `capacity x sizes[l+1]`.
    acts: Vec<Vec<T>>,
    /// `deltas[l]` holds ∂loss/∂Z_l, `capacity x sizes[l+1]`.
    deltas: Vec<Vec<T>>,
}

impl<T: Scalar> Buffers<T> {
    pub fn new(arch: &Arch, capacity: usize) -> Self {
        let acts: Vec<Vec<T>> = arch.sizes[1..].iter().map(|&s| vec![T::zero(); capacity * s]).collect();
        Buffers { capacity, deltas: acts.clone(), acts }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The network outputs (probabilities for classifiers) of the last forward, `rows x n_out`.
    pub fn output(&self, rows: usize) -> &[T] {
        let out = &self.acts[self.acts.len() - 1];
        &out[..rows * (out.len() / self.capacity.max(1))]
    }

    /// Layer `l`'s outputs of the last forward (`rows x sizes[l+1]`).
    pub fn activations(&self, l: usize, rows: usize) -> &[T] {
        let a = &self.acts[l];
        &a[..rows * (a.len() / self.capacity.max(1))]
    }

    /// Layer `l`'s deltas ∂loss/∂Z_l of the last [`Network::deltas`] (`rows x sizes[l+1]`).
    pub fn delta(&self, l: usize, rows: usize) -> &[T] {
        let d = &self.deltas[l];
        &d[..rows * (d.len() / self.capacity.max(1))]
    }
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
            let wt = &mut params[arch.weight_range(l)];
            for o in 0..n_out {
                for i in 0..n_in {
                    wt[i * n_out + o] = w[o * n_in + i];
                }
            }
            params[arch.bias_range(l)].copy_from_slice(b);
        }
        Ok(Network { arch, params })
    }

    /// Layer `l`'s weight in the usual layout, `n_out x n_in` row-major.
    pub fn weight(&self, l: usize) -> Vec<T> {
        let (n_in, n_out) = (self.arch.sizes[l], self.arch.sizes[l + 1]);
        let wt = &self.params[self.arch.weight_range(l)];
        let mut w = vec![T::zero(); n_in * n_out];
        for i in 0..n_in {
            for o in 0..n_out {
                w[o * n_in + i] = wt[i * n_out + o];
            }
        }
        w
    }

    /// Layer `l`'s transposed weight (`n_in x n_out`) and bias (`n_out`), as stored.
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

    /// Forward pass for `rows` samples. `x`: (rows, n_in); `y`: (rows, n_out) targets or None.
    /// Fills `buf`'s activations and returns the summed loss over the rows (0 without `y`).
    pub fn forward(&self, x: &[T], rows: usize, y: Option<&[T]>, buf: &mut Buffers<T>) -> f64 {
        assert!(rows <= buf.capacity, "forward: {rows} rows exceed the buffer's {}", buf.capacity);
        let arch = &self.arch;
        let n_layers = arch.n_layers();
        for l in 0..n_layers {
            let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
            let (wt, b) = self.layer(l);
            let (done, rest) = buf.acts.split_at_mut(l);
            let input = if l == 0 { x } else { &done[l - 1][..rows * n_in] };
            let z = &mut rest[0][..rows * n_out];
            // Z (rows, n_out) = A (rows, n_in) · Wt (n_in, n_out)
            gemm(
                MatMut::row_major(z, rows, n_out),
                MatRef::row_major(input, rows, n_in),
                MatRef::row_major(wt, n_in, n_out),
                Accum::Overwrite,
            );
            if l + 1 < n_layers {
                for zr in z.chunks_exact_mut(n_out) {
                    arch.activation.bias_activate(zr, b);
                }
            }
        }
        // Output layer: bias, then loss and output activation per row.
        let n_out = arch.n_out();
        let (_, b) = self.layer(n_layers - 1);
        let z = &mut buf.acts[n_layers - 1][..rows * n_out];
        let mut loss = 0.0;
        for (i, zr) in z.chunks_exact_mut(n_out).enumerate() {
            zr.iter_mut().zip(b).for_each(|(z, &b)| *z += b);
            loss += arch.loss.forward_row(zr, y.map(|y| &y[i * n_out..(i + 1) * n_out]));
        }
        loss
    }

    /// The deltas of every layer after [`Network::forward`] on the same `rows`:
    /// `D_L` from the loss and targets `y` (rows, n_out), then `D_{l-1} = (D_l Wt_lᵀ) ⊙ f'`.
    pub fn deltas(&self, rows: usize, y: &[T], buf: &mut Buffers<T>) {
        let arch = &self.arch;
        let n_layers = arch.n_layers();
        let n_out = arch.n_out();
        {
            let a = &buf.acts[n_layers - 1][..rows * n_out];
            let d = &mut buf.deltas[n_layers - 1][..rows * n_out];
            for ((dr, ar), yr) in
                d.chunks_exact_mut(n_out).zip(a.chunks_exact(n_out)).zip(y.chunks_exact(n_out))
            {
                arch.loss.delta_row(ar, yr, dr);
            }
        }
        for l in (1..n_layers).rev() {
            let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
            let (lower, upper) = buf.deltas.split_at_mut(l);
            let d = &upper[0][..rows * n_out];
            let dp = &mut lower[l - 1][..rows * n_in];
            // D_prev (rows, n_in) = D (rows, n_out) · Wtᵀ (n_out, n_in), then ⊙ f'(A_prev).
            let (wt, _) = self.layer(l);
            gemm(
                MatMut::row_major(dp, rows, n_in),
                MatRef::row_major(d, rows, n_out),
                MatRef::row_major(wt, n_in, n_out).t(),
                Accum::Overwrite,
            );
            let a_prev = &buf.acts[l - 1][..rows * n_in];
            for (dr, ar) in dp.chunks_exact_mut(n_in).zip(a_prev.chunks_exact(n_in)) {
                arch.activation.mul_derivative(dr, ar);
            }
        }
    }

    /// Backward pass after [`Network::forward`] on the same `x` and `rows`:
    /// `grad ← Σ_rows ∂loss/∂params` (overwritten, same layout as `params`).
    pub fn backward(&self, x: &[T], rows: usize, y: &[T], buf: &mut Buffers<T>, grad: &mut [T]) {
        let arch = &self.arch;
        assert_eq!(grad.len(), arch.n_params(), "backward: gradient buffer has the wrong size");
        self.deltas(rows, y, buf);
        for l in 0..arch.n_layers() {
            let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
            let input = if l == 0 { x } else { buf.activations(l - 1, rows) };
            let d = buf.delta(l, rows);
            let (gw, gb) =
                grad[arch.weight_range(l).start..arch.bias_range(l).end].split_at_mut(n_in * n_out);
            // gWt (n_in, n_out) = Aᵀ (n_in, rows) · D (rows, n_out)
            gemm(
                MatMut::row_major(gw, n_in, n_out),
                MatRef::row_major(input, rows, n_in).t(),
                MatRef::row_major(d, rows, n_out),
                Accum::Overwrite,
            );
            // gb (n_out) = colsum(D), rows in order.
            gb.fill(T::zero());
            for dr in d.chunks_exact(n_out) {
                gb.iter_mut().zip(dr).for_each(|(g, &v)| *g += v);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(net.params, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0, 7.0, 8.0]);
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
