//! A model applied to raw rows: the rows checked against the model's inputs (width, feature
//! names, class names), its missing-value fills and normalisation applied to a copy, the
//! network run on the model's threads, and rows whose outputs are not finite refused.

use super::{Model, Task};
use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::infer::{self, Evaluation};
use crate::network::argmax;

impl Model {
    /// The network's outputs for every row of `data` (raw, as read or built), `n x n_out`
    /// row-major: class probabilities for a classifier, predicted values for a regression.
    ///
    /// # Errors
    /// [`Error::Data`] for rows the model cannot read (see [`Model::predict`]).
    pub fn outputs(&self, data: &Dataset) -> Result<Vec<f32>> {
        let x = self.inputs(data, false)?;
        let out = self.threads.install(|| infer::outputs(&self.net, &x))??;
        infer::check_outputs(&out, self.net.arch.n_out(), &x)?;
        Ok(out)
    }

    /// Class probabilities for every row of `data`, `n x n_classes` row-major.
    ///
    /// # Errors
    /// [`Error::Model`] for a regression model, and as [`Model::predict`].
    pub fn predict_proba(&self, data: &Dataset) -> Result<Vec<f32>> {
        self.classifier("predict_proba")?;
        self.outputs(data)
    }

    /// The predicted class of every row of `data` (raw, as read or built): an index into
    /// [`Model::class_names`] when the classes have names.
    ///
    /// The rows must be as wide as the model's inputs (and named alike when both have feature
    /// names), not normalised already ([`Dataset::normalized`]: the model normalises them
    /// itself); a missing value (NaN) is filled as in training when the model keeps fills.
    ///
    /// # Errors
    /// [`Error::Model`] for a regression model; [`Error::Data`] for rows the model cannot
    /// read, naming the first difference, or a row whose outputs are not finite.
    pub fn predict(&self, data: &Dataset) -> Result<Vec<u32>> {
        self.classifier("predict")?;
        let k = self.net.arch.n_out();
        Ok(self.outputs(data)?.chunks_exact(k).map(|row| argmax(row) as u32).collect())
    }

    /// The class names, in class order, when the training labels were names.
    pub fn class_names(&self) -> Option<&[String]> {
        self.schema.class_names.as_deref()
    }

    /// Loss, accuracy and confusion matrix (classifiers) or RMSE, MAE and R² (regression) of
    /// the model on `data` (raw, with its labels or targets).
    ///
    /// # Errors
    /// As [`Model::predict`], and for labels beyond the model's classes, class names it does
    /// not know, targets of another width, or no targets.
    pub fn evaluate(&self, data: &Dataset) -> Result<Evaluation> {
        let x = self.inputs(data, true)?;
        let e = self.threads.install(|| infer::evaluate(&self.net, &x, None))??;
        e.check_finite(&x, "")?;
        Ok(e)
    }

    /// Refuses a regression model for `what`.
    fn classifier(&self, what: &str) -> Result<()> {
        match self.task {
            Task::Classify => Ok(()),
            Task::Regress => Err(Error::model(
                "(model)".as_ref(),
                format!("predicts real values, not classes: use outputs() instead of {what}()"),
            )),
        }
    }

    /// `data` as the network's inputs: checked against the model, its class names mapped to
    /// the model's, missing values filled with the model's fills, normalised (a copy).
    fn inputs(&self, data: &Dataset, with_targets: bool) -> Result<Dataset> {
        let n_in = self.net.arch.n_in();
        let bad = |m: String| Err(Error::data(data.path(), m));
        if data.is_normalized() {
            return bad("is normalised already: a model takes raw rows and normalises them itself".into());
        }
        if data.n_features() != n_in {
            return bad(format!("has {} features per row, but the model takes {n_in}", data.n_features()));
        }
        if let (Some(ours), Some(theirs)) = (&self.schema.feature_names, &data.schema().feature_names)
            && let Some(j) = ours.iter().zip(theirs).position(|(a, b)| a != b)
        {
            return bad(format!(
                "feature {j} is named {:?}, but the model's feature {j} is {:?}",
                theirs[j], ours[j]
            ));
        }
        if with_targets {
            self.check_targets(data)?;
        }
        let mut x = data.clone();
        if with_targets {
            self.map_class_names(&mut x)?;
        }
        if let Some((row, j)) = x.first_missing() {
            match &self.schema.missing_fill {
                Some(fill) => x.fill_missing(fill)?,
                None => {
                    return bad(format!(
                        "row {row}, feature {j} is missing (NaN), and the model was trained without \
                         missing values (it keeps no fill values)"
                    ));
                }
            }
        }
        x.normalize(&self.norm)?;
        Ok(x)
    }

    /// Refuses targets of the other kind than the model's (class labels for a regression model,
    /// real values for a classifier): its figures would mean nothing. (No rows or no targets are
    /// the evaluation's own check.)
    fn check_targets(&self, data: &Dataset) -> Result<()> {
        let bad = |m: &str| Err(Error::data(data.path(), m));
        match (self.task, data.targets()) {
            (Task::Regress, Targets::Classes { .. }) => {
                bad("has class labels, but the model predicts real values (a regression model)")
            }
            (Task::Classify, Targets::Values { .. }) => {
                bad("has real-valued targets, but the model is a classifier (it predicts classes)")
            }
            _ => Ok(()),
        }
    }

    /// Maps the labels of data with class names onto the model's classes.
    fn map_class_names(&self, x: &mut Dataset) -> Result<()> {
        let Some(theirs) = x.schema.class_names.clone() else { return Ok(()) };
        let Some(ours) = &self.schema.class_names else {
            return Err(Error::data(
                &x.path,
                "has named classes, but the model's classes are numbered (it was trained on numeric labels)",
            ));
        };
        if let Targets::Classes { labels, n_classes } = &mut x.targets {
            let map: Vec<u32> = theirs
                .iter()
                .map(|name| {
                    ours.iter().position(|o| o == name).map(|i| i as u32).ok_or_else(|| {
                        Error::data(&x.path, format!("has the class {name:?}, which the model does not know"))
                    })
                })
                .collect::<Result<_>>()?;
            // (Labels index the data's own names: a Dataset's labels are below its class count.)
            labels.iter_mut().for_each(|l| *l = map.get(*l as usize).copied().unwrap_or(u32::MAX));
            if labels.contains(&u32::MAX) {
                return Err(Error::data(&x.path, "has labels beyond its own class names"));
            }
            *n_classes = ours.len();
        }
        x.schema.class_names = Some(ours.clone());
        Ok(())
    }
}
