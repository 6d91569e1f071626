//! Weight initialisation schemes ([`Init`]) and [`Network::init_with`], which draws a
//! network's starting parameters from a seeded RNG (the only source of randomness).
//!
//! Each layer's weight is drawn in row-major order from one ChaCha8 stream, layer after
//! layer; biases are 0 except for [`Init::NormalFanIn`], whose biases are drawn right after
//! its layer's weights. The He schemes are for the hidden layers (whose units are ReLU-like):
//! the output layer, whose units are the loss's softmax or sigmoid, keeps Glorot's scale of
//! the same shape (uniform or normal), as today's default does.
//!
//! | scheme | weights | biases |
//! |---|---|---|
//! | `glorot-uniform` | U(−ε, ε), ε = sqrt(6/(n_in+n_out)) | 0 |
//! | `he-uniform` | hidden: U(−ε, ε), ε = sqrt(6/n_in); output: Glorot-uniform | 0 |
//! | `glorot-normal` | N(0, 2/(n_in+n_out)) | 0 |
//! | `he-normal` | hidden: N(0, 2/n_in); output: Glorot-normal | 0 |
//! | `normal:SIGMA` | N(0, σ²) | 0 |
//! | `normal-fan-in` | N(0, 1/n_in) (Nielsen, ch. 3) | N(0, 1) |
//! | `uniform:R` | U(−R, R) | 0 |
//!
//! ```
//! use bp_par::network::{Arch, Init, Network};
//! use bp_par::{activation::Activation, loss::Loss};
//! let arch = Arch::new(vec![4, 3, 2], Activation::Sigmoid, Loss::Bce).unwrap();
//! let init: Init = "uniform:0.12".parse().unwrap();
//! assert_eq!(init.to_string(), "uniform:0.12");
//! let net = Network::<f32>::init_with(arch, init, 7);
//! assert!(net.params().iter().all(|w| w.abs() < 0.12));
//! ```

use super::{Arch, Network};
use crate::activation::Activation;
use crate::scalar::Scalar;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::fmt;
use std::str::FromStr;

/// How a network's starting weights (and biases) are drawn; see the module docs for the
/// formulas.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// U(−ε, ε), ε = sqrt(6/(n_in+n_out)) (Glorot & Bengio 2010); biases 0.
    GlorotUniform,
    /// U(−ε, ε), ε = sqrt(6/n_in) on hidden layers (He et al. 2015), Glorot-uniform on the
    /// output layer; biases 0.
    HeUniform,
    /// N(0, 2/(n_in+n_out)); biases 0.
    GlorotNormal,
    /// N(0, 2/n_in) on hidden layers, Glorot-normal on the output layer; biases 0.
    HeNormal,
    /// N(0, σ²) with the given σ > 0; biases 0.
    Normal(f64),
    /// Weights N(0, 1/n_in), biases N(0, 1): Nielsen's *Neural Networks and Deep Learning*,
    /// chapter 3.
    NormalFanIn,
    /// U(−R, R) with the given R > 0 (the classic libraries' and ex4's ε_init = 0.12); biases 0.
    Uniform(f64),
}

impl Init {
    /// The default for a hidden activation: He-uniform for ReLU, Glorot-uniform otherwise
    /// (what [`Network::init`] draws).
    pub fn default_for(activation: Activation) -> Init {
        if activation == Activation::Relu { Init::HeUniform } else { Init::GlorotUniform }
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Init::GlorotUniform => f.write_str("glorot-uniform"),
            Init::HeUniform => f.write_str("he-uniform"),
            Init::GlorotNormal => f.write_str("glorot-normal"),
            Init::HeNormal => f.write_str("he-normal"),
            Init::Normal(sigma) => write!(f, "normal:{sigma}"),
            Init::NormalFanIn => f.write_str("normal-fan-in"),
            Init::Uniform(r) => write!(f, "uniform:{r}"),
        }
    }
}

/// The names [`Init`] parses, for messages.
const EXPECTED: &str =
    "glorot-uniform, he-uniform, glorot-normal, he-normal, normal:SIGMA, normal-fan-in or uniform:R";

impl FromStr for Init {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let positive = |what: &str, v: &str| match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
            _ => Err(format!("{what} in {s:?} must be a positive number, got {v:?}")),
        };
        match s.split_once(':') {
            None => match s {
                "glorot-uniform" => Ok(Init::GlorotUniform),
                "he-uniform" => Ok(Init::HeUniform),
                "glorot-normal" => Ok(Init::GlorotNormal),
                "he-normal" => Ok(Init::HeNormal),
                "normal-fan-in" => Ok(Init::NormalFanIn),
                "normal" | "uniform" => Err(format!("{s:?} needs its scale, e.g. {s}:0.1")),
                _ => Err(format!("unknown initialisation {s:?} (expected {EXPECTED})")),
            },
            Some(("normal", v)) => positive("SIGMA", v).map(Init::Normal),
            Some(("uniform", v)) => positive("R", v).map(Init::Uniform),
            Some(_) => Err(format!("unknown initialisation {s:?} (expected {EXPECTED})")),
        }
    }
}

/// How one layer's parameters are drawn.
enum Draw {
    /// U(−r, r) weights, biases 0.
    Uniform(f64),
    /// N(0, σ²) weights; biases N(0, 1) when the flag is set, else 0.
    Normal(f64, bool),
}

impl Init {
    /// The draw for a layer of `n_in` inputs and `n_out` units; `hidden`: its units are hidden
    /// units (not the output layer's).
    fn draw(self, n_in: usize, n_out: usize, hidden: bool) -> Draw {
        let (fan_in, fan_sum) = (n_in as f64, (n_in + n_out) as f64);
        match self {
            Init::HeUniform if hidden => Draw::Uniform((6.0 / fan_in).sqrt()),
            Init::GlorotUniform | Init::HeUniform => Draw::Uniform((6.0 / fan_sum).sqrt()),
            Init::HeNormal if hidden => Draw::Normal((2.0 / fan_in).sqrt(), false),
            Init::GlorotNormal | Init::HeNormal => Draw::Normal((2.0 / fan_sum).sqrt(), false),
            Init::Normal(sigma) => Draw::Normal(sigma, false),
            Init::NormalFanIn => Draw::Normal((1.0 / fan_in).sqrt(), true),
            Init::Uniform(r) => Draw::Uniform(r),
        }
    }
}

impl<T: Scalar> Network<T> {
    /// Random initialisation of `arch` by `init` from `seed`, the only source of randomness
    /// (see the module docs of [`Init`] for the order of the draws).
    pub fn init_with(arch: Arch, init: Init, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = vec![T::zero(); arch.n_params()];
        for l in 0..arch.n_layers() {
            let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
            match init.draw(n_in, n_out, l + 1 < arch.n_layers()) {
                Draw::Uniform(r) => {
                    for w in &mut params[arch.weight_range(l)] {
                        *w = T::of(rng.random_range(-r..r));
                    }
                }
                Draw::Normal(sigma, with_biases) => {
                    let mut normal = |scale: f64| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        T::of(z * scale)
                    };
                    params[arch.weight_range(l)].iter_mut().for_each(|w| *w = normal(sigma));
                    if with_biases {
                        params[arch.bias_range(l)].iter_mut().for_each(|b| *b = normal(1.0));
                    }
                }
            }
        }
        Network { arch, params }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Loss;

    /// `Network::init` as it was before the schemes existed, kept as the oracle of the
    /// defaults: the determinism and experiment results depend on these exact bits.
    fn init_before_schemes(arch: Arch, seed: u64) -> Network<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = vec![0.0f32; arch.n_params()];
        for l in 0..arch.n_layers() {
            let (n_in, n_out) = (arch.sizes[l], arch.sizes[l + 1]);
            let feeds_relu = arch.activation == Activation::Relu && l + 1 < arch.n_layers();
            let eps =
                if feeds_relu { (6.0 / n_in as f64).sqrt() } else { (6.0 / (n_in + n_out) as f64).sqrt() };
            for w in &mut params[arch.weight_range(l)] {
                *w = rng.random_range(-eps..eps) as f32;
            }
        }
        Network { arch, params }
    }

    #[test]
    fn the_defaults_draw_the_same_bits_as_before() {
        for act in Activation::ALL {
            for sizes in [vec![784, 100, 10], vec![5, 7, 3, 2], vec![9, 4]] {
                let arch = Arch::new(sizes, act, Loss::Xent).unwrap();
                for seed in [1, 2, 12345] {
                    let old = init_before_schemes(arch.clone(), seed);
                    let named = Init::default_for(act);
                    assert_eq!(Network::<f32>::init(arch.clone(), seed).params, old.params, "{act}");
                    assert_eq!(Network::<f32>::init_with(arch.clone(), named, seed).params, old.params);
                }
            }
        }
        assert_eq!(Init::default_for(Activation::Relu), Init::HeUniform);
        assert_eq!(Init::default_for(Activation::Tanh), Init::GlorotUniform);
    }

    /// Mean, variance (about the true mean 0), and largest magnitude of `v`, in f64.
    fn moments(v: &[f32]) -> (f64, f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / n;
        let max = v.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()));
        (mean, var, max)
    }

    /// Checks `v` against U(−r, r) (variance r²/3) or N(0, σ²) (no value past 6σ, about
    /// 68.3% within σ). With n draws the variance's standard error is ~sqrt(2/n)·σ² for the
    /// normal (0.5% at 784x100) and ~sqrt(0.8/n)·r²/3 for the uniform: `rel_tol` is several
    /// standard errors.
    fn assert_drawn(v: &[f32], uniform: bool, scale: f64, rel_tol: f64, what: &str) {
        let (mean, var, max) = moments(v);
        let sd = if uniform { scale / 3f64.sqrt() } else { scale };
        assert!(mean.abs() < 5.0 * sd / (v.len() as f64).sqrt(), "{what}: mean {mean} (sd {sd})");
        assert!((var / (sd * sd) - 1.0).abs() < rel_tol, "{what}: variance {var}, expected {}", sd * sd);
        if uniform {
            assert!(
                max < scale && max > scale * (1.0 - 20.0 / v.len() as f64),
                "{what}: max {max} vs {scale}"
            );
        } else {
            assert!(max < 6.0 * sd, "{what}: max {max} vs σ {sd}");
            let within = v.iter().filter(|&&x| f64::from(x).abs() < sd).count() as f64 / v.len() as f64;
            assert!((within - 0.6827).abs() < 0.02, "{what}: {within} within one σ");
        }
    }

    #[test]
    fn each_scheme_draws_from_its_formula() {
        // 784x100 hidden weights and 100x200 output weights (the He schemes' output layer
        // keeps Glorot's scale); sigmoid units (the schemes do not depend on the activation).
        let arch = Arch::new(vec![784, 100, 200], Activation::Sigmoid, Loss::Bce).unwrap();
        let (glorot_0, glorot_1) = ((6.0f64 / 884.0).sqrt(), (6.0f64 / 300.0).sqrt());
        let (gn_0, gn_1) = ((2.0f64 / 884.0).sqrt(), (2.0f64 / 300.0).sqrt());
        let cases: [(&str, bool, f64, f64); 7] = [
            ("glorot-uniform", true, glorot_0, glorot_1),
            ("he-uniform", true, (6.0f64 / 784.0).sqrt(), glorot_1),
            ("glorot-normal", false, gn_0, gn_1),
            ("he-normal", false, (2.0f64 / 784.0).sqrt(), gn_1),
            ("normal:0.3", false, 0.3, 0.3),
            ("normal-fan-in", false, (1.0f64 / 784.0).sqrt(), 0.1),
            ("uniform:0.12", true, 0.12, 0.12),
        ];
        for (name, uniform, scale_0, scale_1) in cases {
            let init: Init = name.parse().unwrap();
            assert_eq!(init.to_string(), name);
            let net = Network::<f32>::init_with(arch.clone(), init, 3);
            assert_drawn(&net.params[arch.weight_range(0)], uniform, scale_0, 0.03, name);
            assert_drawn(&net.params[arch.weight_range(1)], uniform, scale_1, 0.06, name);
            let biases: Vec<f32> = (0..2).flat_map(|l| net.params[arch.bias_range(l)].to_vec()).collect();
            if init == Init::NormalFanIn {
                // 300 draws of N(0, 1): the variance's standard error is ~0.08.
                let (mean, var, _) = moments(&biases);
                assert!(mean.abs() < 0.3 && (var - 1.0).abs() < 0.35, "biases: mean {mean}, var {var}");
            } else {
                assert!(biases.iter().all(|&b| b == 0.0), "{name}: biases must be 0");
            }
            assert_eq!(net, Network::<f32>::init_with(arch.clone(), init, 3), "{name}: seeded");
            assert_ne!(net, Network::<f32>::init_with(arch.clone(), init, 4), "{name}: seeded");
        }
    }

    #[test]
    fn bad_names_and_scales_are_refused_with_the_expected_forms() {
        for bad in
            ["gaussian", "normal", "uniform", "normal:", "normal:-1", "normal:0", "uniform:nan", "he:1"]
        {
            let err = bad.parse::<Init>().unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        assert!("glorot".parse::<Init>().unwrap_err().contains("normal:SIGMA"));
        assert!("normal:x".parse::<Init>().unwrap_err().contains("SIGMA"));
        assert!("uniform:-0.1".parse::<Init>().unwrap_err().contains("R in"));
        assert_eq!("normal:1e-2".parse::<Init>(), Ok(Init::Normal(0.01)));
        assert_eq!(Init::Uniform(0.12).to_string().parse::<Init>(), Ok(Init::Uniform(0.12)));
    }
}
