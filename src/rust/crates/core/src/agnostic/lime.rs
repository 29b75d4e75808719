//! LIME (Ribeiro et al. 2016): a weighted linear surrogate fitted to the model's
//! outputs on perturbed copies of the instance.
//!
//! The interpretable representation is the coalition mask `z` (group on = taken from
//! the instance). A sample's weight is the exponential kernel `exp(−d² / w²)` of its
//! cosine distance to the instance, `d = 1 − cos(z, 1) = 1 − √(|z| / p)` (as the
//! `lime` image explainer and Captum measure it; `d = 1` for the empty mask). The
//! surrogate is a ridge regression with intercept, fitted exactly like scikit-learn's
//! `Ridge(alpha = λ)` with sample weights (weighted centring, unpenalised intercept).
//! With `n_features = K`, the K groups of largest absolute coefficient are kept and the
//! surrogate is refitted on them (`lime`'s "highest weights" selection).

use super::coalitions::Coalitions;
use super::solve::Spd;
use crate::error::{Error, Result};

/// Kernel weight of every sample.
pub fn kernel_weights(coal: &Coalitions, width: f64) -> Vec<f64> {
    let p = coal.p as f64;
    (0..coal.len())
        .map(|c| {
            let on = coal.mask(c).iter().filter(|&&b| b).count() as f64;
            let d = 1.0 - (on / p).sqrt();
            (-(d * d) / (width * width)).exp()
        })
        .collect()
}

/// Weighted ridge regression of `y` on the columns `cols` of the masks; returns their
/// coefficients.
fn ridge(coal: &Coalitions, y: &[f64], w: &[f64], lambda: f64, cols: &[usize]) -> Result<Vec<f64>> {
    let q = cols.len();
    let sw: f64 = w.iter().sum();
    if !(sw > 0.0) {
        return Err(Error::Argument("every LIME sample has kernel weight 0: increase `kernel_width`".into()));
    }
    let x = |c: usize, k: usize| if coal.mask(c)[cols[k]] { 1.0 } else { 0.0 };
    let x_mean: Vec<f64> = (0..q).map(|k| (0..coal.len()).map(|c| w[c] * x(c, k)).sum::<f64>() / sw).collect();
    let y_mean = (0..coal.len()).map(|c| w[c] * y[c]).sum::<f64>() / sw;
    let mut a = vec![0.0; q * q];
    let mut b = vec![0.0; q];
    let mut xc = vec![0.0; q];
    for c in 0..coal.len() {
        for k in 0..q {
            xc[k] = x(c, k) - x_mean[k];
        }
        let yc = y[c] - y_mean;
        for i in 0..q {
            b[i] += w[c] * xc[i] * yc;
            for j in 0..q {
                a[i * q + j] += w[c] * xc[i] * xc[j];
            }
        }
    }
    for i in 0..q {
        a[i * q + i] += lambda;
    }
    Ok(Spd::new(&a, q, "the LIME regression")?.solve(&b))
}

/// The surrogate's coefficient for every group (0 for groups not selected).
pub fn fit(coal: &Coalitions, y: &[f64], w: &[f64], lambda: f64, n_features: Option<usize>) -> Result<Vec<f64>> {
    let p = coal.p;
    let all: Vec<usize> = (0..p).collect();
    let coef = ridge(coal, y, w, lambda, &all)?;
    let Some(k) = n_features.filter(|&k| k < p) else { return Ok(coef) };
    let mut order = all;
    order.sort_by(|&i, &j| coef[j].abs().total_cmp(&coef[i].abs()).then(i.cmp(&j)));
    let mut keep = order[..k].to_vec();
    keep.sort_unstable();
    let refit = ridge(coal, y, w, lambda, &keep)?;
    let mut out = vec![0.0; p];
    for (g, c) in keep.into_iter().zip(refit) {
        out[g] = c;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::coalitions::bernoulli_masks;
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn recovers_a_linear_function_of_the_mask_without_penalty() {
        let coal = bernoulli_masks(6, 300, &mut Rng::new(2));
        let beta = [1.0, -2.0, 0.5, 0.0, 3.0, -1.0];
        let y: Vec<f64> = (0..coal.len())
            .map(|c| 0.7 + coal.mask(c).iter().zip(beta).map(|(&b, w)| if b { w } else { 0.0 }).sum::<f64>())
            .collect();
        let w = kernel_weights(&coal, 0.75);
        let got = fit(&coal, &y, &w, 0.0, None).unwrap();
        for (g, e) in got.iter().zip(beta) {
            assert!((g - e).abs() < 1e-9);
        }
        // selection keeps the two largest effects and refits them
        let two = fit(&coal, &y, &w, 0.0, Some(2)).unwrap();
        assert_eq!(two.iter().filter(|&&c| c != 0.0).count(), 2);
        assert!(two[4] != 0.0 && two[1] != 0.0);
    }

    #[test]
    fn kernel_is_one_at_the_instance_and_smallest_for_the_empty_mask() {
        let coal = Coalitions::from_rows(4, &[vec![1, 1, 1, 1], vec![1, 0, 1, 0], vec![0, 0, 0, 0]]).unwrap();
        let w = kernel_weights(&coal, 0.25);
        assert_eq!(w[0], 1.0);
        let d: f64 = 1.0 - 0.5f64.sqrt();
        assert!((w[1] - (-(d * d) / 0.0625).exp()).abs() < 1e-15);
        assert!((w[2] - (-16.0f64).exp()).abs() < 1e-20);
    }
}
