//! The tier-selection mechanism: tiers by name, and `PHI3_REQUIRE_TIERS` failing a run whose
//! required tier is missing. `scripts/test` runs this with `--nocapture` and reads the
//! `tiers exercised:` line for its summary.

mod common;

use phi3_kernels::cpu::{check_required_tiers, CpuFeatures, Feature, RequiredTierError, Tier};
use phi3_kernels::kernels::Kernels;

#[test]
fn required_tiers_are_available_and_reported() {
    let tiers = common::tiers_under_test();
    assert!(tiers.iter().any(|(t, _)| *t == Tier::Scalar));
    for (tier, kernels) in &tiers {
        assert_eq!(
            kernels.tier, *tier,
            "Kernels::for_tier({tier}) returned another tier"
        );
    }
    let names: Vec<&str> = tiers.iter().map(|(t, _)| t.name()).collect();
    #[cfg(target_arch = "aarch64")]
    let vector = match phi3_kernels::arch::aarch64::sve_vector_bits(&CpuFeatures::detect()) {
        Some(bits) => format!(", SVE vector length {bits} bits"),
        None => ", no SVE".to_string(),
    };
    #[cfg(not(target_arch = "aarch64"))]
    let vector = String::new();
    println!(
        "tiers exercised: {} (target {}{vector}; features {:?})",
        names.join(","),
        std::env::consts::ARCH,
        CpuFeatures::detect()
    );
}

#[test]
fn every_tier_name_round_trips() {
    for tier in Tier::ALL {
        assert_eq!(Tier::from_name(tier.name()), Some(tier));
        assert_eq!(
            Tier::from_name(&tier.name().to_uppercase().replace('-', "_")),
            Some(tier)
        );
    }
    assert_eq!(Tier::from_name(""), None);
    assert_eq!(Tier::from_name("neon-"), None);
}

#[test]
fn a_missing_required_tier_is_an_error() {
    let none = CpuFeatures::none();
    assert_eq!(check_required_tiers(" scalar , ", &none), Ok(()));
    assert_eq!(
        check_required_tiers("neon,sve", &none),
        Err(RequiredTierError::Unavailable(Tier::Neon))
    );
    assert_eq!(
        check_required_tiers("scalar,avx512", &none),
        Err(RequiredTierError::Unavailable(Tier::Avx512))
    );
    assert_eq!(
        check_required_tiers("avx_vnni", &none),
        Err(RequiredTierError::Unavailable(Tier::AvxVnni))
    );
    assert_eq!(
        check_required_tiers("scalar,sse9", &none),
        Err(RequiredTierError::Unknown("sse9"))
    );
}

#[test]
fn tiers_of_another_architecture_are_never_available() {
    // SAFETY: this set claims features the CPU may lack, but it is only asked `supports` /
    // `for_tier` for tiers of another architecture, which must say no; no kernel ever runs.
    let all = Feature::ALL
        .into_iter()
        .fold(CpuFeatures::none(), |f, feature| unsafe { f.with(feature) });
    let other: &[Tier] = if cfg!(target_arch = "x86_64") {
        &[Tier::Neon, Tier::NeonDotprod, Tier::NeonI8mm, Tier::Sve]
    } else if cfg!(target_arch = "aarch64") {
        &[Tier::Avx2, Tier::AvxVnni, Tier::Avx512]
    } else {
        &[
            Tier::Avx2,
            Tier::AvxVnni,
            Tier::Avx512,
            Tier::Neon,
            Tier::Sve,
        ]
    };
    for tier in other {
        assert!(
            !all.supports(*tier),
            "{tier} claims support on {}",
            std::env::consts::ARCH
        );
        assert!(Kernels::for_tier(*tier, &all).is_none());
    }
}

#[test]
fn scalar_is_always_available_and_best_falls_back_to_it() {
    let none = CpuFeatures::none();
    assert!(none.supports(Tier::Scalar));
    assert_eq!(none.best_tier(), Tier::Scalar);
    assert_eq!(Kernels::best(&none).tier, Tier::Scalar);
    assert!(CpuFeatures::detect().supports(Kernels::detect().tier));
}

/// `scripts/test` sets `PHI3_EXPECT_SVE_BITS` for each qemu run: prove that the run really had
/// SVE at that vector length (so "tested at 2048 bits" cannot silently mean 128).
#[test]
fn sve_vector_length_is_the_one_requested() {
    let Ok(want) = std::env::var("PHI3_EXPECT_SVE_BITS") else {
        return;
    };
    let want: usize = want
        .parse()
        .expect("PHI3_EXPECT_SVE_BITS must be a number of bits");
    #[cfg(target_arch = "aarch64")]
    {
        let features = CpuFeatures::detect();
        let got = phi3_kernels::arch::aarch64::sve_vector_bits(&features);
        assert_eq!(got, Some(want), "SVE vector length (features {features:?})");
        println!("sve vector length: {want} bits");
    }
    #[cfg(not(target_arch = "aarch64"))]
    panic!("PHI3_EXPECT_SVE_BITS={want} set on a non-aarch64 target");
}

/// The ID-register reading that `no_std` firmware uses agrees with the OS's HWCAP report. Linux
/// (and qemu-user, which models it) emulates `mrs` of the ID registers at EL0; `scripts/test`
/// runs this under `-cpu max` (SVE), `-cpu max,sve=off` and `-cpu cortex-a57` (NEON only).
/// Linux only: other systems (macOS) do not emulate the reads, and the process would die with
/// `SIGILL`.
#[cfg(all(target_arch = "aarch64", target_os = "linux"))]
#[test]
fn id_registers_agree_with_runtime_detection() {
    // SAFETY: a Linux process: the kernel (or qemu-user) emulates reads of the ID registers at
    // EL0, and every feature it reports there it has also enabled for this process.
    let from_regs = unsafe { CpuFeatures::from_id_registers() };
    let detected = CpuFeatures::detect();
    println!("ID registers: {from_regs:?}; HWCAP: {detected:?}");
    assert_eq!(from_regs, detected);
    assert_eq!(from_regs.best_tier(), detected.best_tier());
    if let Ok(want) = std::env::var("PHI3_EXPECT_BEST_TIER") {
        assert_eq!(from_regs.best_tier().name(), want);
    }
}
