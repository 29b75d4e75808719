//! Which vector instruction sets the kernels run with here (for the benchmark's
//! report and for bug reports).

use extendr_api::prelude::*;
use innsight_core::isa;

/// The kernels' instruction sets: `cpu` (the widest the CPU supports), `kernels`
/// (what the core's own kernels use, after the `INNSIGHT_ISA` cap or
/// `kernel_isa_cap()`) and `gemm` (the matrix kernels, capped the same way).
/// @noRd
#[extendr]
fn kernel_isa() -> Robj {
    let cpu = isa::detected().name();
    let gemm = match isa::active() {
        isa::Isa::Avx512 => "avx512",
        isa::Isa::Avx2 => "avx2",
        isa::Isa::Baseline => "scalar",
    };
    let mut r = Robj::from(vec![cpu, isa::active().name(), gemm]);
    let _ = r.set_attrib("names", vec!["cpu", "kernels", "gemm"]);
    r
}

/// Cap the kernels' instruction set for this process (`""` removes the cap;
/// `INNSIGHT_ISA` still applies then). For tests that compare the AVX-512, AVX2
/// and baseline paths on one machine. Returns the level now active.
/// @noRd
#[extendr]
fn kernel_isa_cap(level: &str) -> extendr_api::Result<String> {
    if level.is_empty() {
        isa::set_cap(None);
    } else {
        let cap = isa::Isa::from_name(level)
            .ok_or_else(|| Error::Other(format!("unknown instruction set '{level}' (baseline, avx2, avx512)")))?;
        isa::set_cap(Some(cap));
    }
    Ok(isa::active().name().to_string())
}

extendr_module! {
    mod isa;
    fn kernel_isa;
    fn kernel_isa_cap;
}
