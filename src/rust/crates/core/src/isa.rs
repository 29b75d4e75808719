//! The vector instruction set (ISA) of the core's kernels, chosen at run time.
//!
//! The package is built for the x86-64 baseline (SSE2), so that one binary runs on
//! every x86 server. Hot element-wise kernels are compiled a second and third time
//! with AVX2+FMA and AVX-512 enabled (`#[target_feature]`) and picked here, once per
//! call, from what the CPU reports. The `gemm` crate dispatches its matrix kernels
//! the same way on its own (with its `x86-v4` feature: AVX-512 where available).
//!
//! `INNSIGHT_ISA` (environment, read once) or [`set_cap`] (the R option
//! `innsight.isa`) caps the choice, e.g. `avx2` on an AVX-512 machine, so that the
//! paths can be compared on one machine. The cap applies to the core's own kernels;
//! gemm's choice cannot be capped from outside the crate.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// The instruction-set levels the kernels are compiled for, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// The x86-64 baseline (SSE2), or any non-x86 target.
    Baseline = 0,
    /// AVX2 with FMA (x86-64-v3).
    Avx2 = 1,
    /// AVX-512 F (x86-64-v4).
    Avx512 = 2,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Baseline => "baseline",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    pub fn from_name(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "baseline" | "sse2" | "scalar" => Some(Isa::Baseline),
            "avx2" | "x86-64-v3" => Some(Isa::Avx2),
            "avx512" | "avx512f" | "x86-64-v4" => Some(Isa::Avx512),
            _ => None,
        }
    }

    fn from_u8(v: u8) -> Isa {
        match v {
            0 => Isa::Baseline,
            1 => Isa::Avx2,
            _ => Isa::Avx512,
        }
    }
}

/// The widest level this CPU supports.
pub fn detected() -> Isa {
    static D: OnceLock<Isa> = OnceLock::new();
    *D.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Baseline
    })
}

const NO_CAP: u8 = u8::MAX;
static CAP: AtomicU8 = AtomicU8::new(NO_CAP);
static ENV_CAP: OnceLock<Option<Isa>> = OnceLock::new();

/// The cap from `INNSIGHT_ISA`, if set to a known level.
fn env_cap() -> Option<Isa> {
    *ENV_CAP.get_or_init(|| std::env::var("INNSIGHT_ISA").ok().and_then(|v| Isa::from_name(&v)))
}

/// Cap the level (`None`: no cap beyond `INNSIGHT_ISA`).
pub fn set_cap(cap: Option<Isa>) {
    CAP.store(cap.map_or(NO_CAP, |c| c as u8), Ordering::Relaxed);
}

/// The level the kernels run with now: the detected one, capped.
pub fn active() -> Isa {
    let mut isa = detected();
    let cap = CAP.load(Ordering::Relaxed);
    if cap != NO_CAP {
        isa = isa.min(Isa::from_u8(cap));
    } else if let Some(c) = env_cap() {
        isa = isa.min(c);
    }
    isa
}

/// The levels this CPU can run, narrowest first (for tests comparing the paths).
pub fn available() -> Vec<Isa> {
    [Isa::Baseline, Isa::Avx2, Isa::Avx512].into_iter().filter(|&i| i <= detected()).collect()
}

/// Define `$name` as an element-wise kernel compiled for every level and dispatched
/// by [`active`]. The body is written once, for plain slices; the compiler
/// vectorises it at each level's width.
#[macro_export]
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident<$t:ident: $bound:path>($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name<$t: $bound>($($arg: $ty),*) {
            #[inline(always)]
            fn body<$t: $bound>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<$t: $bound>($($arg: $ty),*) { body($($arg),*) }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            unsafe fn avx512<$t: $bound>($($arg: $ty),*) { body($($arg),*) }
            match $crate::isa::active() {
                // SAFETY: `active()` never exceeds what the CPU reports.
                #[cfg(target_arch = "x86_64")]
                $crate::isa::Isa::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                $crate::isa::Isa::Avx2 => unsafe { avx2($($arg),*) },
                _ => body($($arg),*),
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_cap_lowers_the_level() {
        for i in [Isa::Baseline, Isa::Avx2, Isa::Avx512] {
            assert_eq!(Isa::from_name(i.name()), Some(i));
        }
        assert_eq!(Isa::from_name("AVX512F"), Some(Isa::Avx512));
        assert_eq!(Isa::from_name("neon"), None);
        set_cap(Some(Isa::Baseline));
        assert_eq!(active(), Isa::Baseline);
        set_cap(None);
        assert!(active() <= detected());
        assert_eq!(available().last().copied(), Some(detected()));
    }
}
