//! CPU features and kernel tiers.
//!
//! A [`Tier`] is one family of kernel implementations (scalar reference, AVX2, NEON, SVE, ...).
//! [`CpuFeatures`] records what the CPU can run; it comes from runtime detection
//! ([`CpuFeatures::detect`], `std` only), from the compile-time target features
//! ([`CpuFeatures::from_target_features`], for `no_std` firmware), from the aarch64 ID registers
//! (`CpuFeatures::from_id_registers`, for `no_std` firmware at EL1), or from the caller, who may
//! know better (a board-support package, a test that wants to restrict the tiers).
//! [`CpuFeatures::supports`] says whether a tier can run; [`crate::kernels::Kernels`] turns a
//! tier into a table of function pointers.
//!
//! This file holds compile-time facts only and names nothing above it: the run-time detection
//! (`CpuFeatures::detect`, `CpuFeatures::from_id_registers`) is implemented next to the
//! detection code in [`crate::arch`].
// `const fn`s cannot use iterators: the indexed loops below run over the arrays' own lengths.
#![allow(clippy::indexing_slicing)]

/// One family of kernel implementations. Every tier has the same function signatures as the
/// scalar reference; see [`crate::kernels::Kernels`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Tier {
    /// Portable scalar Rust: the ground truth every other tier is tested against.
    Scalar,
    /// x86_64 AVX2 + FMA + F16C.
    Avx2,
    /// x86_64 AVX2 + FMA + F16C + AVX-VNNI (256-bit VEX `vpdpbusd`: Intel clients from Alder
    /// Lake, which have no AVX-512): the AVX2 kernels, with `vpdpbusd` in the Q4_0 / Q4_1
    /// multi-column products.
    AvxVnni,
    /// x86_64 AVX-512 F/BW/VL + VNNI.
    Avx512,
    /// aarch64 Advanced SIMD (baseline on aarch64).
    Neon,
    /// aarch64 NEON + the dot-product extension (`sdot`).
    NeonDotprod,
    /// aarch64 NEON + dotprod + int8 matrix multiply (`smmla`).
    NeonI8mm,
    /// aarch64 Scalable Vector Extension, vector-length agnostic.
    Sve,
}

impl Tier {
    /// Every tier, in order of preference from worst to best within an architecture.
    pub const ALL: [Tier; 8] = [
        Tier::Scalar,
        Tier::Avx2,
        Tier::AvxVnni,
        Tier::Avx512,
        Tier::Neon,
        Tier::NeonDotprod,
        Tier::NeonI8mm,
        Tier::Sve,
    ];

    /// The tier's short name, as used by `PHI3_REQUIRE_TIERS` and in benchmark ids:
    /// `scalar`, `avx2`, `avx-vnni`, `avx512`, `neon`, `neon-dotprod`, `neon-i8mm`, `sve`.
    pub const fn name(self) -> &'static str {
        match self {
            Tier::Scalar => "scalar",
            Tier::Avx2 => "avx2",
            Tier::AvxVnni => "avx-vnni",
            Tier::Avx512 => "avx512",
            Tier::Neon => "neon",
            Tier::NeonDotprod => "neon-dotprod",
            Tier::NeonI8mm => "neon-i8mm",
            Tier::Sve => "sve",
        }
    }

    /// The tier named `name` (ASCII case-insensitive; `_` may stand for `-`), or `None`.
    ///
    /// ```
    /// use phi3_kernels::cpu::Tier;
    /// assert_eq!(Tier::from_name("neon_dotprod"), Some(Tier::NeonDotprod));
    /// assert_eq!(Tier::from_name("SVE"), Some(Tier::Sve));
    /// assert_eq!(Tier::from_name("mmx"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Tier> {
        let name = name.trim().as_bytes();
        Tier::ALL.into_iter().find(|t| {
            let want = t.name().as_bytes();
            want.len() == name.len()
                && want.iter().zip(name).all(|(&a, &b)| {
                    let b = if b == b'_' {
                        b'-'
                    } else {
                        b.to_ascii_lowercase()
                    };
                    a == b
                })
        })
    }
}

impl core::fmt::Display for Tier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether kernels of `tier` are compiled into this build for this target architecture.
pub const fn tier_compiled(tier: Tier) -> bool {
    match tier {
        Tier::Scalar => true,
        // Not on soft-float x86_64 targets (`x86_64-unknown-none`), where SSE is off.
        Tier::Avx2 | Tier::AvxVnni | Tier::Avx512 => {
            cfg!(all(target_arch = "x86_64", target_feature = "sse2"))
        }
        Tier::Neon | Tier::NeonDotprod | Tier::NeonI8mm | Tier::Sve => {
            cfg!(target_arch = "aarch64")
        }
    }
}

/// One instruction-set extension the kernels care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feature {
    /// x86_64 AVX2.
    Avx2,
    /// x86_64 FMA3.
    Fma,
    /// x86_64 F16C (f16 ↔ f32 conversion).
    F16c,
    /// x86_64 AVX-512 Foundation.
    Avx512f,
    /// x86_64 AVX-512 Byte/Word.
    Avx512bw,
    /// x86_64 AVX-512 Vector Length extensions.
    Avx512vl,
    /// x86_64 AVX-512 VNNI (`vpdpbusd` on 512-bit vectors).
    Avx512vnni,
    /// x86_64 AVX-VNNI (`vpdpbusd` on 256-bit vectors, VEX encoded).
    AvxVnni,
    /// aarch64 Advanced SIMD.
    Neon,
    /// aarch64 dot product (`sdot`/`udot`).
    Dotprod,
    /// aarch64 int8 matrix multiply (`smmla`).
    I8mm,
    /// aarch64 half-precision arithmetic.
    Fp16,
    /// aarch64 Scalable Vector Extension.
    Sve,
    /// aarch64 SVE2.
    Sve2,
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 14] = [
        Feature::Avx2,
        Feature::Fma,
        Feature::F16c,
        Feature::Avx512f,
        Feature::Avx512bw,
        Feature::Avx512vl,
        Feature::Avx512vnni,
        Feature::AvxVnni,
        Feature::Neon,
        Feature::Dotprod,
        Feature::I8mm,
        Feature::Fp16,
        Feature::Sve,
        Feature::Sve2,
    ];

    /// The feature's name as `target_feature` spells it (`"avx2"`, `"dotprod"`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Feature::Avx2 => "avx2",
            Feature::Fma => "fma",
            Feature::F16c => "f16c",
            Feature::Avx512f => "avx512f",
            Feature::Avx512bw => "avx512bw",
            Feature::Avx512vl => "avx512vl",
            Feature::Avx512vnni => "avx512vnni",
            Feature::AvxVnni => "avxvnni",
            Feature::Neon => "neon",
            Feature::Dotprod => "dotprod",
            Feature::I8mm => "i8mm",
            Feature::Fp16 => "fp16",
            Feature::Sve => "sve",
            Feature::Sve2 => "sve2",
        }
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The set of [`Feature`]s the CPU running this program implements. Empty means "scalar only".
///
/// Kernel tiers are chosen from this set and then run without further checks, so it must never
/// claim a feature the CPU lacks: the ways to obtain one are run-time detection
/// ([`CpuFeatures::detect`]), the compile-time target features
/// ([`CpuFeatures::from_target_features`]), the aarch64 ID registers (the `unsafe`
/// `CpuFeatures::from_id_registers`), [`CpuFeatures::none`], removing features
/// ([`CpuFeatures::without`], always safe), and the `unsafe` [`CpuFeatures::with`] for firmware
/// that knows its CPU.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CpuFeatures {
    bits: u32,
}

impl core::fmt::Debug for CpuFeatures {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut set = f.debug_set();
        for feature in Feature::ALL {
            if self.has(feature) {
                set.entry(&format_args!("{}", feature.name()));
            }
        }
        set.finish()
    }
}

impl CpuFeatures {
    /// No extensions: only the scalar tier runs.
    pub const fn none() -> Self {
        CpuFeatures { bits: 0 }
    }

    /// Whether `feature` is in the set.
    pub const fn has(&self, feature: Feature) -> bool {
        self.bits & feature.bit() != 0
    }

    /// The set with `feature` added.
    ///
    /// # Safety
    /// The CPU that runs any kernel chosen from the result must implement `feature` (and the OS
    /// must have enabled it): kernels are selected from this set and run without further checks.
    #[must_use]
    pub const unsafe fn with(self, feature: Feature) -> Self {
        CpuFeatures {
            bits: self.bits | feature.bit(),
        }
    }

    /// The set without `feature` (always safe: it only narrows what runs).
    #[must_use]
    pub const fn without(self, feature: Feature) -> Self {
        CpuFeatures {
            bits: self.bits & !feature.bit(),
        }
    }

    /// The features the crate was compiled for (`-C target-feature` / `target-cpu`), without
    /// asking the CPU. This is what `no_std` builds use unless the caller passes features in.
    pub const fn from_target_features() -> Self {
        let flags = [
            (Feature::Avx2, cfg!(target_feature = "avx2")),
            (Feature::Fma, cfg!(target_feature = "fma")),
            (Feature::F16c, cfg!(target_feature = "f16c")),
            (Feature::Avx512f, cfg!(target_feature = "avx512f")),
            (Feature::Avx512bw, cfg!(target_feature = "avx512bw")),
            (Feature::Avx512vl, cfg!(target_feature = "avx512vl")),
            (Feature::Avx512vnni, cfg!(target_feature = "avx512vnni")),
            (Feature::AvxVnni, cfg!(target_feature = "avxvnni")),
            (Feature::Neon, cfg!(target_feature = "neon")),
            (Feature::Dotprod, cfg!(target_feature = "dotprod")),
            (Feature::I8mm, cfg!(target_feature = "i8mm")),
            (Feature::Fp16, cfg!(target_feature = "fp16")),
            (Feature::Sve, cfg!(target_feature = "sve")),
            (Feature::Sve2, cfg!(target_feature = "sve2")),
        ];
        let mut bits = 0;
        let mut i = 0;
        while i < flags.len() {
            if flags[i].1 {
                bits |= flags[i].0.bit();
            }
            i += 1;
        }
        CpuFeatures { bits }
    }

    /// Whether kernels of `tier` can run on a CPU with these features *and* were compiled into
    /// this build (a tier of another architecture is never supported).
    pub const fn supports(&self, tier: Tier) -> bool {
        tier_compiled(tier)
            && match tier {
                Tier::Scalar => true,
                Tier::Avx2 => {
                    self.has(Feature::Avx2) && self.has(Feature::Fma) && self.has(Feature::F16c)
                }
                Tier::AvxVnni => {
                    self.has(Feature::Avx2)
                        && self.has(Feature::Fma)
                        && self.has(Feature::F16c)
                        && self.has(Feature::AvxVnni)
                }
                Tier::Avx512 => {
                    self.has(Feature::Avx2)
                        && self.has(Feature::Fma)
                        && self.has(Feature::F16c)
                        && self.has(Feature::Avx512f)
                        && self.has(Feature::Avx512bw)
                        && self.has(Feature::Avx512vl)
                        && self.has(Feature::Avx512vnni)
                }
                Tier::Neon => self.has(Feature::Neon),
                Tier::NeonDotprod => self.has(Feature::Neon) && self.has(Feature::Dotprod),
                Tier::NeonI8mm => {
                    self.has(Feature::Neon) && self.has(Feature::Dotprod) && self.has(Feature::I8mm)
                }
                Tier::Sve => self.has(Feature::Neon) && self.has(Feature::Sve),
            }
    }

    /// The best tier these features support (the last supported one in [`Tier::ALL`]).
    pub fn best_tier(&self) -> Tier {
        Tier::ALL
            .into_iter()
            .rev()
            .find(|t| self.supports(*t))
            .unwrap_or(Tier::Scalar)
    }

    /// Every tier these features support, in [`Tier::ALL`] order.
    pub fn supported_tiers(&self) -> impl Iterator<Item = Tier> + '_ {
        Tier::ALL.into_iter().filter(move |t| self.supports(*t))
    }
}

/// Why a tier list such as the value of `PHI3_REQUIRE_TIERS` cannot be satisfied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequiredTierError<'s> {
    /// A name in the list is not a tier.
    Unknown(&'s str),
    /// A named tier cannot run here (CPU lacks the features, or the build lacks the kernels).
    Unavailable(Tier),
}

impl core::fmt::Display for RequiredTierError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RequiredTierError::Unknown(name) => write!(
                f,
                "unknown tier {name:?} (known: scalar, avx2, avx-vnni, avx512, neon, neon-dotprod, neon-i8mm, sve)"
            ),
            RequiredTierError::Unavailable(tier) => write!(
                f,
                "tier `{tier}` is required but not available (CPU features or kernels missing)"
            ),
        }
    }
}

impl core::error::Error for RequiredTierError<'_> {}

/// Checks a comma-separated tier list (the format of the `PHI3_REQUIRE_TIERS` environment
/// variable that the test suite reads): every named tier must be known and supported by
/// `features`. Empty items and surrounding spaces are ignored, so `""` requires nothing.
///
/// Test suites call this first so that a run which was meant to cover, say, SVE fails loudly
/// instead of silently testing only the scalar tier.
///
/// ```
/// use phi3_kernels::cpu::{check_required_tiers, CpuFeatures, RequiredTierError, Tier};
/// let none = CpuFeatures::none();
/// assert_eq!(check_required_tiers("scalar", &none), Ok(()));
/// assert_eq!(check_required_tiers("", &none), Ok(()));
/// assert_eq!(check_required_tiers("scalar,sve", &none), Err(RequiredTierError::Unavailable(Tier::Sve)));
/// assert_eq!(check_required_tiers("avx3", &none), Err(RequiredTierError::Unknown("avx3")));
/// ```
pub fn check_required_tiers<'s>(
    list: &'s str,
    features: &CpuFeatures,
) -> Result<(), RequiredTierError<'s>> {
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let tier = Tier::from_name(name).ok_or(RequiredTierError::Unknown(name))?;
        if !features.supports(tier) {
            return Err(RequiredTierError::Unavailable(tier));
        }
    }
    Ok(())
}
