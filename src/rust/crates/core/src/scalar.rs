//! The sealed scalar trait: every layer and rule is generic over `f32` and `f64`
//! (innsight's `dtype = "float"` and `"double"`).

use std::fmt::{Debug, Display};
use std::iter::Sum;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point scalar the core can compute in.
pub trait Scalar:
    sealed::Sealed
    + num_traits::Float
    + num_traits::FromPrimitive
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + Debug
    + Display
    + Default
    + Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + Send
    + Sync
    + 'static
{
    /// innsight's numerical stabiliser ("stab"): 1e-6 in float, 1e-15 in double.
    const STAB: Self;
    /// Name used in messages.
    const NAME: &'static str;
    /// Lossy conversion from `f64` (exact for `f64`).
    fn of(x: f64) -> Self;
    /// Widening conversion to `f64`.
    fn as_f64(self) -> f64;
}

impl Scalar for f32 {
    const STAB: Self = 1e-6;
    const NAME: &'static str = "float";
    #[inline]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    const STAB: Self = 1e-15;
    const NAME: &'static str = "double";
    #[inline]
    fn of(x: f64) -> Self {
        x
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
}
