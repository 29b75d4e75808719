//! Which vector instruction sets the kernels run with here (for the benchmark's
//! report and for bug reports).

use extendr_api::prelude::*;
use innsight_core::isa;

/// The kernels' instruction sets: `cpu` (the widest the CPU supports), `kernels`
/// (what the core's own kernels use, after the `INNSIGHT_ISA` cap) and `gemm` (what
/// the gemm crate's matrix kernels pick: it is built with its AVX-512 kernels and
/// dispatches on its own, ignoring the cap).
/// @noRd
#[extendr]
fn kernel_isa() -> Robj {
    let cpu = isa::detected().name();
    let gemm = match isa::detected() {
        isa::Isa::Avx512 => "avx512",
        isa::Isa::Avx2 => "avx2",
        isa::Isa::Baseline => "scalar",
    };
    let mut r = Robj::from(vec![cpu, isa::active().name(), gemm]);
    let _ = r.set_attrib("names", vec!["cpu", "kernels", "gemm"]);
    r
}

extendr_module! {
    mod isa;
    fn kernel_isa;
}
