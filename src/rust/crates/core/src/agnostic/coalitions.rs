//! Coalitions: binary vectors over `p` feature groups, drawn or enumerated for the
//! three methods, each with the weight it gets in the method's regression.

use crate::error::{Error, Result};
use crate::rng::Rng;

/// `M` coalitions over `p` groups (row-major `M × p` masks) with a weight each.
#[derive(Debug, Clone)]
pub struct Coalitions {
    pub p: usize,
    pub masks: Vec<bool>,
    pub weights: Vec<f64>,
}

impl Coalitions {
    fn with_capacity(p: usize, m: usize) -> Coalitions {
        Coalitions { p, masks: Vec::with_capacity(m * p), weights: Vec::with_capacity(m) }
    }

    /// Number of coalitions.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Mask of coalition `c`.
    pub fn mask(&self, c: usize) -> &[bool] {
        &self.masks[c * self.p..(c + 1) * self.p]
    }

    fn push(&mut self, mask: &[bool], weight: f64) {
        self.masks.extend_from_slice(mask);
        self.weights.push(weight);
    }

    /// Coalitions given by the caller (rows of 0/1), all with weight 1.
    pub fn from_rows(p: usize, rows: &[Vec<u8>]) -> Result<Coalitions> {
        let mut c = Coalitions::with_capacity(p, rows.len());
        for (i, r) in rows.iter().enumerate() {
            if r.len() != p || r.iter().any(|&v| v > 1) {
                return Err(Error::Argument(format!("mask {} must be {p} values of 0 or 1", i + 1)));
            }
            c.push(&r.iter().map(|&v| v == 1).collect::<Vec<_>>(), 1.0);
        }
        Ok(c)
    }
}

/// `ln C(n, k)`, exact enough for the weights (sums of logs of small integers).
fn ln_binomial(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k).map(|i| ((n - i) as f64).ln() - ((i + 1) as f64).ln()).sum()
}

/// The Shapley kernel weight of one coalition of size `s` over `p` groups
/// (Lundberg & Lee 2017): `(p − 1) / (C(p, s) s (p − s))`, for `0 < s < p`.
pub fn shapley_kernel(p: usize, s: usize) -> f64 {
    (p - 1) as f64 / (ln_binomial(p, s).exp() * (s * (p - s)) as f64)
}

/// Largest `p` whose `2^p − 2` coalitions are ever enumerated.
pub const MAX_EXACT_GROUPS: usize = 24;

/// Every coalition except the empty and the full one, with its Shapley kernel weight:
/// the regression on them gives the exact Shapley values.
pub fn all_coalitions(p: usize) -> Coalitions {
    assert!(p <= MAX_EXACT_GROUPS);
    let n = (1usize << p) - 2;
    let mut c = Coalitions::with_capacity(p, n);
    let mut mask = vec![false; p];
    for bits in 1..(1usize << p) - 1 {
        for (g, m) in mask.iter_mut().enumerate() {
            *m = bits >> g & 1 == 1;
        }
        c.push(&mask, shapley_kernel(p, bits.count_ones() as usize));
    }
    c
}

/// A uniform integer in `0..n`.
fn below(rng: &mut Rng, n: usize) -> usize {
    ((rng.uniform() * n as f64) as usize).min(n - 1)
}

/// A uniformly random subset of size `s` of `0..p`, as a mask (partial Fisher–Yates).
fn random_subset(rng: &mut Rng, p: usize, s: usize, order: &mut [usize], mask: &mut [bool]) {
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    mask.fill(false);
    for i in 0..s {
        let j = i + below(rng, p - i);
        order.swap(i, j);
        mask[order[i]] = true;
    }
}

/// `m` coalitions (rounded up to an even number) drawn from the Shapley kernel in
/// complementary pairs (the antithetic sampling of Covert & Lee 2021): a size `s`
/// with probability proportional to `1 / (s (p − s))`, a uniform subset of that size,
/// and its complement. Sampling from the kernel makes every weight 1.
pub fn paired_sample(p: usize, m: usize, rng: &mut Rng) -> Coalitions {
    let pairs = m.div_ceil(2);
    let mut c = Coalitions::with_capacity(p, 2 * pairs);
    if p < 2 {
        return c;
    }
    let size_weight: Vec<f64> = (1..p).map(|s| 1.0 / (s * (p - s)) as f64).collect();
    let total: f64 = size_weight.iter().sum();
    let (mut order, mut mask) = (vec![0usize; p], vec![false; p]);
    for _ in 0..pairs {
        let mut u = rng.uniform() * total;
        let mut s = p - 1;
        for (k, w) in size_weight.iter().enumerate() {
            if u < *w {
                s = k + 1;
                break;
            }
            u -= w;
        }
        random_subset(rng, p, s, &mut order, &mut mask);
        c.push(&mask, 1.0);
        let complement: Vec<bool> = mask.iter().map(|&b| !b).collect();
        c.push(&complement, 1.0);
    }
    c
}

/// A uniformly random permutation of `0..p`.
fn random_permutation(rng: &mut Rng, p: usize) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..p).collect();
    for i in (1..p).rev() {
        perm.swap(i, below(rng, i + 1));
    }
    perm
}

/// `n` permutations (rounded up to an even number: each drawn one is followed by its
/// reverse, the antithetic pairing of Mitchell et al. 2022), and for each the `p − 1`
/// proper non-empty prefixes as coalitions, permutation-major.
pub fn permutation_chains(p: usize, n: usize, rng: &mut Rng) -> (Vec<Vec<usize>>, Coalitions) {
    let mut perms = Vec::with_capacity(n + 1);
    for _ in 0..n.div_ceil(2) {
        let perm = random_permutation(rng, p);
        let mut rev = perm.clone();
        rev.reverse();
        perms.push(perm);
        perms.push(rev);
    }
    let mut c = Coalitions::with_capacity(p, perms.len() * p.saturating_sub(1));
    let mut mask = vec![false; p];
    for perm in &perms {
        mask.fill(false);
        for &g in &perm[..p.saturating_sub(1)] {
            mask[g] = true;
            c.push(&mask, 1.0);
        }
    }
    (perms, c)
}

/// LIME's samples: the instance itself (all groups on) first, then `m − 1` masks with
/// every group on with probability 1/2. Weights are set by the kernel later.
pub fn bernoulli_masks(p: usize, m: usize, rng: &mut Rng) -> Coalitions {
    let mut c = Coalitions::with_capacity(p, m);
    let mut mask = vec![true; p];
    if m > 0 {
        c.push(&mask, 1.0);
    }
    for _ in 1..m {
        for b in mask.iter_mut() {
            *b = rng.uniform() < 0.5;
        }
        c.push(&mask, 1.0);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_weights_of_all_sizes_sum_like_the_closed_form() {
        // Σ_s C(p,s) π(s) = (p − 1) Σ_s 1/(s(p − s))
        let p = 7;
        let c = all_coalitions(p);
        assert_eq!(c.len(), (1 << p) - 2);
        let got: f64 = c.weights.iter().sum();
        let want: f64 = (1..p).map(|s| (p - 1) as f64 / (s * (p - s)) as f64).sum();
        assert!((got - want).abs() < 1e-12 * want);
    }

    #[test]
    fn paired_samples_come_with_their_complements() {
        let mut rng = Rng::new(3);
        let c = paired_sample(6, 9, &mut rng);
        assert_eq!(c.len(), 10);
        for k in (0..c.len()).step_by(2) {
            let (a, b) = (c.mask(k), c.mask(k + 1));
            assert!(a.iter().zip(b).all(|(x, y)| x != y));
            let s = a.iter().filter(|&&x| x).count();
            assert!(s > 0 && s < 6);
        }
    }

    #[test]
    fn permutation_prefixes_grow_by_one_group() {
        let mut rng = Rng::new(5);
        let (perms, c) = permutation_chains(4, 3, &mut rng);
        assert_eq!(perms.len(), 4);
        assert_eq!(perms[1], perms[0].iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(c.len(), 4 * 3);
        for (k, perm) in perms.iter().enumerate() {
            for j in 0..3 {
                let m = c.mask(k * 3 + j);
                assert_eq!(m.iter().filter(|&&x| x).count(), j + 1);
                assert!(m[perm[j]]);
            }
        }
    }
}
