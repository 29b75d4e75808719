//! The vector instruction set (ISA) of the core's kernels, chosen at run time.
//!
//! The package is built for the x86-64 baseline (SSE2), so that one binary runs on
//! every x86 server; kernels compiled for wider instruction sets are picked at run
//! time from what the CPU reports. The `gemm` crate does this for its matrix
//! kernels on its own (with its `x86-v4` feature: AVX-512 where available); the
//! core's own kernels go through [`dispatch`].
//!
//! `INNSIGHT_ISA` (environment, read once) or [`set_cap`] caps the level, e.g.
//! `avx2` on an AVX-512 machine, so that paths can be compared on one machine. The
//! cap applies to the core's own kernels and to the matrix products (a capped
//! product calls the narrower gemm kernels directly, `gemm_path`).

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

/// Run `f` with the level capped at `cap`, then restore the previous cap. Callers
/// are serialised by a lock, so that tests comparing paths do not see each other's
/// caps (the cap itself is process-wide: rayon's workers must see it too).
pub fn with_cap<R>(cap: Isa, f: impl FnOnce() -> R) -> R {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    struct Restore(u8);
    impl Drop for Restore {
        fn drop(&mut self) {
            CAP.store(self.0, Ordering::Relaxed);
        }
    }
    let _restore = Restore(CAP.load(Ordering::Relaxed));
    set_cap(Some(cap));
    f()
}

/// Call `f` compiled for the active level: `f` (a closure around a kernel's loops,
/// with the kernel `#[inline(always)]`) is inlined into a trampoline that carries the
/// level's target features, so that the compiler vectorises the same source at
/// AVX-512, AVX2 or baseline width. Call it inside each thread's share of the work,
/// not around a rayon loop (the worker threads would run baseline code).
#[inline(always)]
pub fn dispatch<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        match active() {
            // SAFETY: `active()` never exceeds what the CPU reports.
            Isa::Avx512 => return unsafe { on_avx512(f) },
            Isa::Avx2 => return unsafe { on_avx2(f) },
            Isa::Baseline => {}
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
unsafe fn on_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
unsafe fn on_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Define a kernel `fn name<T: Scalar>(args) -> R { body }` compiled three times, for
/// AVX-512, AVX2 and the baseline, and called in the version of the active level.
/// Unlike [`dispatch`], closures inside the body inherit the version's target
/// features, so loops written as iterator chains are vectorised at full width too.
/// Call it per thread's share of the work (inside a rayon loop, not around one).
#[macro_export]
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis unsafe fn $name:ident<$T:ident: Scalar>($($a:ident: $t:ty),* $(,)?) $(-> $r:ty)? $body:block) => {
        $(#[$m])* $vis unsafe fn $name<$T: Scalar>($($a: $t),*) $(-> $r)? {
            $crate::multiversion!(@versions $T ($($a: $t),*) ($($r)?) $body);
            $crate::multiversion!(@call $T ($($a),*))
        }
    };
    ($(#[$m:meta])* $vis:vis fn $name:ident<$T:ident: Scalar>($($a:ident: $t:ty),* $(,)?) $(-> $r:ty)? $body:block) => {
        $(#[$m])* $vis fn $name<$T: Scalar>($($a: $t),*) $(-> $r)? {
            $crate::multiversion!(@versions $T ($($a: $t),*) ($($r)?) $body);
            // SAFETY: `active()` never exceeds what the CPU reports, and the body is
            // safe code.
            unsafe { $crate::multiversion!(@call $T ($($a),*)) }
        }
    };
    (@call $T:ident ($($a:ident),*)) => {
        match $crate::isa::active() {
            #[cfg(target_arch = "x86_64")]
            $crate::isa::Isa::Avx512 => v4::<$T>($($a),*),
            #[cfg(target_arch = "x86_64")]
            $crate::isa::Isa::Avx2 => v3::<$T>($($a),*),
            _ => v1::<$T>($($a),*),
        }
    };
    (@versions $T:ident ($($a:ident: $t:ty),*) ($($r:ty)?) $body:block) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
        unsafe fn v4<$T: Scalar>($($a: $t),*) $(-> $r)? $body
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
        unsafe fn v3<$T: Scalar>($($a: $t),*) $(-> $r)? $body
        #[allow(unused_unsafe)]
        unsafe fn v1<$T: Scalar>($($a: $t),*) $(-> $r)? $body
    };
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
        with_cap(Isa::Baseline, || assert_eq!(active(), Isa::Baseline));
        assert!(active() <= detected());
        for i in available() {
            assert_eq!(with_cap(i, || dispatch(active)), i);
        }
        assert_eq!(available().last().copied(), Some(detected()));
    }
}
