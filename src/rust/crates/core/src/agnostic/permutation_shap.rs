//! Permutation sampling of Shapley values (Štrumbelj & Kononenko 2014): along a random
//! order of the groups, each group is credited with the change of the value when it
//! joins. Every permutation's credits sum to `v(full) − v(∅)`, so efficiency holds
//! exactly for any number of permutations.

use ndarray::{Array3, ArrayView2, ArrayView3};

/// Shapley value estimates `[n, p, S]`. `v` `[n, M, S]` holds the values of the
/// permutations' prefixes in the order of [`super::coalitions::permutation_chains`].
pub fn estimate(perms: &[Vec<usize>], v: ArrayView3<f64>, v_empty: &[f64], v_full: ArrayView2<f64>) -> Array3<f64> {
    let (n, s_out) = (v_full.nrows(), v_full.ncols());
    let p = perms.first().map_or(1, Vec::len);
    let mut phi = Array3::zeros((n, p, s_out));
    let scale = 1.0 / perms.len().max(1) as f64;
    for i in 0..n {
        for s in 0..s_out {
            for (k, perm) in perms.iter().enumerate() {
                let mut before = v_empty[s];
                for (j, &g) in perm.iter().enumerate() {
                    let after = if j + 1 == p { v_full[[i, s]] } else { v[[i, k * (p - 1) + j, s]] };
                    phi[[i, g, s]] += scale * (after - before);
                    before = after;
                }
            }
        }
    }
    phi
}
