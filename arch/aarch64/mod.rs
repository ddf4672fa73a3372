//! aarch64: feature detection, SVE helpers and the NEON (+dotprod, +i8mm) and SVE tiers.
pub mod detect;
pub mod neon;
pub mod sve;

/// The SVE vector length in bits (`rdvl`), or `None` when `features` lack SVE.
///
/// Kernels never need this (they are vector-length agnostic); tests and benchmarks use it to
/// prove which vector length actually ran (e.g. under `qemu-aarch64 -cpu max,sve512=on`).
pub fn sve_vector_bits(features: &crate::cpu::CpuFeatures) -> Option<usize> {
    if !features.has(crate::cpu::Feature::Sve) {
        return None;
    }
    // SAFETY: the caller's `features` say the CPU has SVE, which is all `rdvl` needs.
    Some(unsafe { sve_vector_bytes() } * 8)
}

/// `rdvl x, #1`: the SVE vector length in bytes.
///
/// # Safety
/// The CPU must implement SVE.
#[target_feature(enable = "sve")]
unsafe fn sve_vector_bytes() -> usize {
    let bytes: u64;
    // SAFETY: `rdvl` only reads the vector-length register; SVE is enabled by the target feature
    // and guaranteed by the caller. It touches no memory, stack or flags.
    unsafe {
        core::arch::asm!(
            "rdvl {bytes}, #1",
            bytes = out(reg) bytes,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    bytes as usize
}
