//! Feature detection on aarch64: at run time via `is_aarch64_feature_detected!` (HWCAP on Linux,
//! `std` only), or from the ID registers (`from_id_registers`, any build: bare metal at EL1 or
//! higher, or Linux user space, which emulates the reads).
use crate::cpu::{CpuFeatures, Feature};

/// The running CPU's features, as the OS reports them (HWCAP on Linux).
#[cfg(feature = "std")]
pub fn detect() -> CpuFeatures {
    let found = [
        (
            Feature::Neon,
            std::arch::is_aarch64_feature_detected!("neon"),
        ),
        (
            Feature::Dotprod,
            std::arch::is_aarch64_feature_detected!("dotprod"),
        ),
        (
            Feature::I8mm,
            std::arch::is_aarch64_feature_detected!("i8mm"),
        ),
        (
            Feature::Fp16,
            std::arch::is_aarch64_feature_detected!("fp16"),
        ),
        (Feature::Sve, std::arch::is_aarch64_feature_detected!("sve")),
        (
            Feature::Sve2,
            std::arch::is_aarch64_feature_detected!("sve2"),
        ),
    ];
    found
        .into_iter()
        .filter(|&(_, present)| present)
        // SAFETY: each feature was just detected on this CPU by the kernel's HWCAP report.
        .fold(CpuFeatures::none(), |f, (feature, _)| unsafe {
            f.with(feature)
        })
}

/// The four ID registers the kernels' features are read from (Arm ARM, D24.2 / D19.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct IdRegisters {
    /// `ID_AA64ISAR0_EL1`: DP (dot product), bits `[47:44]`.
    pub isar0: u64,
    /// `ID_AA64ISAR1_EL1`: I8MM, bits `[55:52]`.
    pub isar1: u64,
    /// `ID_AA64PFR0_EL1`: FP `[19:16]`, AdvSIMD `[23:20]`, SVE `[35:32]`.
    pub pfr0: u64,
    /// `ID_AA64ZFR0_EL1` (read only when SVE is implemented): SVEver, bits `[3:0]`.
    pub zfr0: u64,
}

/// The 4-bit ID field at `shift`.
const fn field(reg: u64, shift: u32) -> u64 {
    (reg >> shift) & 0xf
}

/// The features the ID registers `regs` describe, with the same implications Rust's HWCAP
/// detection applies: NEON needs FP and AdvSIMD; FP16 needs both fields at "with half
/// precision"; dotprod, i8mm and SVE need NEON; SVE2 needs SVE.
pub(crate) const fn decode(regs: IdRegisters) -> [(Feature, bool); 6] {
    // FP and AdvSIMD are signed fields: 0xF means "not implemented", 0 "implemented", 1 "with
    // half-precision arithmetic".
    let fp = field(regs.pfr0, 16);
    let asimd = field(regs.pfr0, 20);
    let neon = fp != 0xf && asimd != 0xf;
    let fp16 = neon && fp == 1 && asimd == 1;
    // The others are unsigned: 0 means "not implemented", larger values add instructions.
    let dotprod = neon && field(regs.isar0, 44) >= 1;
    let i8mm = neon && field(regs.isar1, 52) >= 1;
    let sve = neon && field(regs.pfr0, 32) >= 1;
    let sve2 = sve && field(regs.zfr0, 0) >= 1;
    [
        (Feature::Neon, neon),
        (Feature::Dotprod, dotprod),
        (Feature::I8mm, i8mm),
        (Feature::Fp16, fp16),
        (Feature::Sve, sve),
        (Feature::Sve2, sve2),
    ]
}

/// Reads the ID registers.
///
/// # Safety
/// `mrs` of an `ID_AA64*_EL1` register must not trap fatally: the code runs at EL1 or higher,
/// or at EL0 under an OS that emulates the reads (Linux since 4.11, `HWCAP_CPUID`).
pub(crate) unsafe fn read_id_registers() -> IdRegisters {
    let (isar0, isar1, pfr0): (u64, u64, u64);
    // SAFETY: the caller guarantees that reading these ID registers is allowed (EL1+) or
    // emulated (Linux at EL0). `mrs` only reads a system register: no memory, stack or flags.
    unsafe {
        core::arch::asm!(
            "mrs {isar0}, ID_AA64ISAR0_EL1",
            "mrs {isar1}, ID_AA64ISAR1_EL1",
            "mrs {pfr0}, ID_AA64PFR0_EL1",
            isar0 = out(reg) isar0,
            isar1 = out(reg) isar1,
            pfr0 = out(reg) pfr0,
            options(nomem, nostack, preserves_flags)
        );
    }
    let mut zfr0 = 0;
    if field(pfr0, 32) >= 1 {
        // ID_AA64ZFR0_EL1 by its encoding (op0 3, op1 0, CRn 0, CRm 4, op2 4): the name needs
        // the assembler's SVE feature. Reserved (reads as zero) without SVE, so only read here.
        // SAFETY: as above; this ID register exists because SVE is implemented.
        unsafe {
            core::arch::asm!(
                "mrs {zfr0}, S3_0_C0_C4_4",
                zfr0 = out(reg) zfr0,
                options(nomem, nostack, preserves_flags)
            );
        }
    }
    IdRegisters {
        isar0,
        isar1,
        pfr0,
        zfr0,
    }
}

impl CpuFeatures {
    /// The features the CPU's ID registers report (aarch64 only; no `std` needed): NEON from
    /// `ID_AA64PFR0_EL1` (FP and AdvSIMD; FP16 when both say half precision), dotprod from
    /// `ID_AA64ISAR0_EL1.DP` (bits 47:44), i8mm from `ID_AA64ISAR1_EL1.I8MM` (bits 55:52), SVE
    /// from `ID_AA64PFR0_EL1.SVE` (bits 35:32) and SVE2 from `ID_AA64ZFR0_EL1.SVEver`, with the
    /// implications [`CpuFeatures::detect`] applies (dotprod, i8mm and SVE need NEON). On Linux
    /// it equals [`CpuFeatures::detect`] (the kernel's emulated reads and its HWCAP agree).
    ///
    /// This is for bare-metal and RTOS firmware, where `detect` only knows the compile-time
    /// target features; `std` programs should call `detect`.
    ///
    /// # Safety
    /// - Reading `ID_AA64*_EL1` with `mrs` must be allowed: the code runs at EL1 or higher
    ///   (bare metal, a kernel, a hypervisor), or at EL0 under an OS that emulates the reads
    ///   (Linux since 4.11, which reports `HWCAP_CPUID`). Elsewhere (other OSes' user space)
    ///   the instruction traps and the process is typically killed (`SIGILL`).
    /// - As for [`CpuFeatures::with`], the features must be usable when kernels run: at EL1 the
    ///   firmware must have enabled FP/SIMD (`CPACR_EL1.FPEN`) and, if SVE is implemented, SVE
    ///   (`CPACR_EL1.ZEN`, and `CPTR_EL2` / `CPTR_EL3` above it). The registers describe what
    ///   the CPU implements, not what is enabled; a hypervisor that hides features
    ///   (`HCR_EL2.TID3`) is believed.
    pub unsafe fn from_id_registers() -> Self {
        // SAFETY: forwarded from the caller.
        unsafe { from_id_registers() }
    }
}

/// The features the ID registers report; see [`CpuFeatures::from_id_registers`].
///
/// # Safety
/// As [`CpuFeatures::from_id_registers`].
unsafe fn from_id_registers() -> CpuFeatures {
    // SAFETY: forwarded from the caller.
    let regs = unsafe { read_id_registers() };
    let mut features = CpuFeatures::none();
    for (feature, present) in decode(regs) {
        if present {
            // SAFETY: the CPU's own ID registers report `feature`; that the OS or firmware has
            // enabled it (CPACR_EL1) is the caller's guarantee.
            features = unsafe { features.with(feature) };
        }
    }
    features
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which of neon, dotprod, i8mm, fp16, sve, sve2 `regs` report.
    fn present(regs: IdRegisters) -> [bool; 6] {
        decode(regs).map(|(_, on)| on)
    }

    #[test]
    fn decodes_known_cpus() {
        // Cortex-A57 (Armv8.0): FP and AdvSIMD, nothing else.
        let a57 = IdRegisters {
            isar0: 0x0000_0000_0001_1120,
            isar1: 0,
            pfr0: 0x0000_0000_0000_2222,
            zfr0: 0,
        };
        assert_eq!(present(a57), [true, false, false, false, false, false]);
        // Cortex-A76 (Armv8.2): + dotprod (DP = 1) and FP16 (FP = AdvSIMD = 1).
        let a76 = IdRegisters {
            isar0: 0x0000_1000_1021_1120,
            isar1: 0x0000_0000_0010_0001,
            pfr0: 0x1100_0000_1011_2222,
            zfr0: 0,
        };
        assert_eq!(present(a76), [true, true, false, true, false, false]);
        // Neoverse V1: + i8mm, SVE; SVE2 only with SVEver >= 1.
        let v1 = IdRegisters {
            isar0: 0x1011_1110_1021_1120,
            isar1: 0x0011_1000_0110_1021,
            pfr0: 0x1101_0001_1011_1112,
            zfr0: 0,
        };
        assert_eq!(present(v1), [true, true, true, true, true, false]);
        let sve2 = IdRegisters { zfr0: 1, ..v1 };
        assert_eq!(present(sve2), [true; 6]);
        // No AdvSIMD (0xF): nothing at all, whatever the other fields say.
        let no_simd = IdRegisters {
            pfr0: v1.pfr0 | 0xf << 20,
            ..v1
        };
        assert_eq!(present(no_simd), [false; 6]);
    }
}
