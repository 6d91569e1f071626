//! The front door: fit a classifier on the shipped 5,000 20x20 digits and predict raw rows.
//! The model keeps the normalisation it was trained with and applies it to whatever it is
//! given; nothing is normalised by hand.
//!
//! `cargo run --release --example train_digits` (prints the held-out accuracy and predictions).

use bp_par::data::{self, Dataset, LoadOptions};
use bp_par::{Threads, fit::Mlp};

fn main() -> bp_par::Result<()> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/digits.csv");
    let (train, test) = data::load(&path, &LoadOptions::default())?.split(0.2, 1)?;
    let mlp = Mlp::new().hidden(&[64]).epochs(15).lr(0.05).threads(Threads::new(2)?);
    let model = mlp.fit(&train)?;
    let e = model.evaluate(&test)?;
    println!("held-out accuracy {:.2}% on {} digits", 100.0 * e.accuracy().unwrap_or(0.0), e.n_samples);

    // Three raw rows of pixels, as a program would have them: no labels, no normalisation.
    let rows: Vec<f32> = (0..3).flat_map(|i| test.row(i).to_vec()).collect();
    let predicted = model.predict(&Dataset::from_rows(&rows, test.n_features())?)?;
    println!("predicted {predicted:?}, true {:?}", &test.labels().unwrap_or_default()[..3]);
    Ok(())
}
