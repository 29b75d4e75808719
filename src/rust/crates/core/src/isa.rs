//! The vector instruction set (ISA) of the core's kernels, chosen at run time.
//!
//! The package is built for the x86-64 baseline (SSE2), so that one binary runs on
//! every x86 server; kernels compiled for wider instruction sets are picked at run
//! time from what the CPU reports. The `gemm` crate does this for its matrix
//! kernels on its own (with its `x86-v4` feature: AVX-512 where available); the
//! core's own element-wise kernels are not multiversioned yet (issue 14), so today
//! this module detects and reports.
//!
//! `INNSIGHT_ISA` (environment, read once) or [`set_cap`] caps the level, e.g.
//! `avx2` on an AVX-512 machine, so that paths can be compared on one machine. The
//! cap applies to the core's own kernels; gemm's choice cannot be capped from
//! outside the crate.

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
