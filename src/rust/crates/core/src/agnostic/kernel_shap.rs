//! KernelSHAP (Lundberg & Lee 2017): Shapley values as the solution of a weighted
//! least-squares problem over coalitions, with the efficiency constraint
//! `Σ φ = f(x) − E f(ref)` imposed exactly (a Lagrange multiplier).
//!
//! With `A = Σ w z zᵀ` and `b = Σ w z (v(z) − v(∅))` the solution is
//! `φ = A⁻¹ (b − 1 λ)`, `λ = (1ᵀA⁻¹b − Δ) / (1ᵀA⁻¹1)`, `Δ = v(full) − v(∅)`. On all
//! `2^p − 2` coalitions with the Shapley kernel weights it is the exact Shapley value;
//! on coalitions sampled from the kernel (weights 1) it is the usual estimator.

use super::coalitions::Coalitions;
use super::solve::Spd;
use crate::error::Result;
use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

/// `A = Σ_c w_c z_c z_cᵀ` (row-major `p × p`); the common scale of the weights cancels.
fn gram(coal: &Coalitions) -> Vec<f64> {
    let p = coal.p;
    let mut a = vec![0.0; p * p];
    for c in 0..coal.len() {
        let (m, w) = (coal.mask(c), coal.weights[c]);
        for i in (0..p).filter(|&i| m[i]) {
            for j in (0..p).filter(|&j| m[j]) {
                a[i * p + j] += w;
            }
        }
    }
    a
}

/// Shapley values `[n, p, S]` from the coalition values `v` `[n, M, S]` (mean model
/// output with the coalition's groups from the instance, the rest from the references),
/// `v_empty` `[S]` (mean output on the references) and `v_full` `[n, S]` (output on
/// the instances).
pub fn solve(coal: &Coalitions, v: ArrayView3<f64>, v_empty: &[f64], v_full: ArrayView2<f64>) -> Result<Array3<f64>> {
    let (n, s_out) = (v_full.nrows(), v_full.ncols());
    let p = coal.p;
    let mut phi = Array3::zeros((n, p, s_out));
    if p == 1 {
        // one group takes the whole difference
        for i in 0..n {
            for s in 0..s_out {
                phi[[i, 0, s]] = v_full[[i, s]] - v_empty[s];
            }
        }
        return Ok(phi);
    }
    let a = Spd::new(&gram(coal), p, "the KernelSHAP design matrix")?;
    let a_inv_one = a.solve(&vec![1.0; p]);
    let one_a_inv_one: f64 = a_inv_one.iter().sum();
    let mut b = vec![0.0; p];
    for i in 0..n {
        for s in 0..s_out {
            b.fill(0.0);
            for c in 0..coal.len() {
                let r = coal.weights[c] * (v[[i, c, s]] - v_empty[s]);
                for (g, &on) in coal.mask(c).iter().enumerate() {
                    if on {
                        b[g] += r;
                    }
                }
            }
            let a_inv_b = a.solve(&b);
            let delta = v_full[[i, s]] - v_empty[s];
            let lambda = (a_inv_b.iter().sum::<f64>() - delta) / one_a_inv_one;
            for g in 0..p {
                phi[[i, g, s]] = a_inv_b[g] - lambda * a_inv_one[g];
            }
        }
    }
    Ok(phi)
}

/// `v_full − v_empty` per instance and output: what the values sum to.
pub fn goal(v_empty: &[f64], v_full: ArrayView2<f64>) -> Array2<f64> {
    let mut g = v_full.to_owned();
    for mut row in g.rows_mut() {
        for (x, e) in row.iter_mut().zip(v_empty) {
            *x -= e;
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::super::coalitions::{all_coalitions, paired_sample};
    use super::*;
    use crate::rng::Rng;

    /// Brute-force Shapley values of a set function over p players.
    fn brute_force(p: usize, v: &dyn Fn(usize) -> f64) -> Vec<f64> {
        let fact = |k: usize| (1..=k).map(|x| x as f64).product::<f64>();
        (0..p)
            .map(|i| {
                (0..1usize << p)
                    .filter(|s| s >> i & 1 == 0)
                    .map(|s| {
                        let k = s.count_ones() as usize;
                        fact(k) * fact(p - k - 1) / fact(p) * (v(s | 1 << i) - v(s))
                    })
                    .sum()
            })
            .collect()
    }

    fn values(coal: &Coalitions, f: &dyn Fn(usize) -> f64) -> Array3<f64> {
        let bits = |c: usize| coal.mask(c).iter().enumerate().map(|(g, &b)| (b as usize) << g).sum::<usize>();
        Array3::from_shape_fn((1, coal.len(), 1), |(_, c, _)| f(bits(c)))
    }

    #[test]
    fn exact_enumeration_gives_the_shapley_values_of_a_nonlinear_game() {
        let p = 5;
        // interactions of all orders
        let v = |s: usize| {
            let on = |g: usize| (s >> g & 1) as f64;
            1.0 + 2.0 * on(0) - on(1) + 3.0 * on(0) * on(2) + (on(1) * on(3) * on(4)).sin() * 4.0 + 0.5 * s.count_ones() as f64 * on(4)
        };
        let coal = all_coalitions(p);
        let vals = values(&coal, &v);
        let full = Array2::from_elem((1, 1), v((1 << p) - 1));
        let phi = solve(&coal, vals.view(), &[v(0)], full.view()).unwrap();
        for (g, want) in brute_force(p, &v).iter().enumerate() {
            assert!((phi[[0, g, 0]] - want).abs() < 1e-12, "group {g}: {} vs {want}", phi[[0, g, 0]]);
        }
    }

    #[test]
    fn sampled_coalitions_are_exact_for_additive_games_and_efficient_always() {
        let p = 12;
        let w: Vec<f64> = (0..p).map(|g| g as f64 - 4.5).collect();
        let additive = |s: usize| (0..p).map(|g| if s >> g & 1 == 1 { w[g] } else { 0.0 }).sum::<f64>();
        let coal = paired_sample(p, 200, &mut Rng::new(11));
        let vals = values(&coal, &additive);
        let full = Array2::from_elem((1, 1), additive((1 << p) - 1));
        let phi = solve(&coal, vals.view(), &[0.0], full.view()).unwrap();
        for g in 0..p {
            assert!((phi[[0, g, 0]] - w[g]).abs() < 1e-9);
        }
        let game = |s: usize| ((s as f64) * 0.001).sin() * s.count_ones() as f64;
        let vals = values(&coal, &game);
        let full = Array2::from_elem((1, 1), game((1 << p) - 1));
        let phi = solve(&coal, vals.view(), &[game(0)], full.view()).unwrap();
        let total: f64 = (0..p).map(|g| phi[[0, g, 0]]).sum();
        assert!((total - (game((1 << p) - 1) - game(0))).abs() < 1e-10);
    }
}
