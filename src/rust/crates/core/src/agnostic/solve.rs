//! Small dense symmetric positive definite solves (the `p × p` normal equations of
//! KernelSHAP and LIME, with `p` the number of feature groups).

use crate::error::{Error, Result};

/// The Cholesky factor `L` (row-major `p × p`, lower triangle) of a symmetric positive
/// definite matrix, or `None` if the matrix is not positive definite.
fn cholesky(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * p + i] = s.sqrt();
            } else {
                l[i * p + j] = s / l[j * p + j];
            }
        }
    }
    Some(l)
}

/// A factorised symmetric positive definite matrix.
pub struct Spd {
    l: Vec<f64>,
    p: usize,
}

impl Spd {
    /// Factorise `a` (row-major `p × p`). A matrix that is singular in floating point
    /// (e.g. too few coalitions for the number of groups) is an error naming `what`.
    pub fn new(a: &[f64], p: usize, what: &str) -> Result<Spd> {
        cholesky(a, p).map(|l| Spd { l, p }).ok_or_else(|| {
            Error::Argument(format!("{what} is singular: too few samples for {p} feature groups (draw more samples or use larger groups)"))
        })
    }

    /// Solve `A x = b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let (l, p) = (&self.l, self.p);
        let mut y = b.to_vec();
        for i in 0..p {
            let mut s = y[i];
            for k in 0..i {
                s -= l[i * p + k] * y[k];
            }
            y[i] = s / l[i * p + i];
        }
        for i in (0..p).rev() {
            let mut s = y[i];
            for k in i + 1..p {
                s -= l[k * p + i] * y[k];
            }
            y[i] = s / l[i * p + i];
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system() {
        let a = [4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let x = [1.0, -2.0, 0.5];
        let b: Vec<f64> = (0..3).map(|i| (0..3).map(|j| a[i * 3 + j] * x[j]).sum()).collect();
        let got = Spd::new(&a, 3, "A").unwrap().solve(&b);
        for (g, e) in got.iter().zip(x) {
            assert!((g - e).abs() < 1e-12);
        }
    }

    #[test]
    fn singular_matrix_is_an_argument_error() {
        let a = [1.0, 1.0, 1.0, 1.0];
        assert!(matches!(Spd::new(&a, 2, "the design"), Err(Error::Argument(_))));
    }
}
