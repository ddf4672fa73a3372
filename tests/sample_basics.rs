//! Sampler semantics: greedy ties, top-k / top-p / min-p, repetition penalty, seeded
//! determinism, NaN handling, scratch checks.

use phi3_kernels::sample::{greedy, Rng, SampleError, Sampler, SamplerConfig};

fn cfg(temperature: f32, top_k: usize, top_p: f32, min_p: f32) -> SamplerConfig {
    SamplerConfig {
        temperature,
        top_k,
        top_p,
        min_p,
        repeat_penalty: 1.0,
        seed: 7,
    }
}

/// Draws `n` tokens and returns how often each id came up.
fn histogram(c: SamplerConfig, logits: &[f32], n: usize) -> Vec<usize> {
    let mut s = Sampler::new(c).unwrap();
    let mut ids = vec![0u32; logits.len()];
    let mut work = vec![0f32; logits.len()];
    let mut h = vec![0usize; logits.len()];
    for _ in 0..n {
        h[s.sample(logits, &[], &mut ids, &mut work).unwrap() as usize] += 1;
    }
    h
}

#[test]
fn greedy_takes_the_lowest_id_on_ties_and_skips_nan() {
    assert_eq!(greedy(&[1.0, 3.0, 3.0, 2.0]), Ok(1));
    assert_eq!(greedy(&[f32::NAN, 0.5, f32::NAN, 0.5]), Ok(1));
    assert_eq!(greedy(&[f32::NEG_INFINITY; 3]), Ok(0));
    assert_eq!(greedy(&[f32::NAN; 4]), Err(SampleError::AllNaN));
    assert_eq!(greedy(&[]), Err(SampleError::Empty));
    let mut s = Sampler::new(SamplerConfig::greedy()).unwrap();
    let (mut ids, mut work) = ([0u32; 4], [0f32; 4]);
    assert_eq!(
        s.sample(&[0.0, 2.0, 2.0, 1.0], &[], &mut ids, &mut work),
        Ok(1)
    );
}

#[test]
fn all_nan_is_an_error_in_every_mode() {
    let logits = [f32::NAN; 8];
    let (mut ids, mut work) = ([0u32; 8], [0f32; 8]);
    for c in [
        SamplerConfig::greedy(),
        SamplerConfig::default(),
        cfg(1.0, 0, 1.0, 0.0),
    ] {
        let mut s = Sampler::new(c).unwrap();
        assert_eq!(
            s.sample(&logits, &[1, 2], &mut ids, &mut work),
            Err(SampleError::AllNaN)
        );
    }
}

#[test]
fn nan_and_neg_inf_logits_are_never_drawn() {
    let logits = [f32::NAN, 0.0, f32::NEG_INFINITY, 0.0];
    let h = histogram(cfg(1.0, 0, 1.0, 0.0), &logits, 2000);
    assert_eq!(h[0] + h[2], 0);
    assert!(h[1] > 800 && h[3] > 800, "{h:?}");
}

#[test]
fn top_k_keeps_exactly_k() {
    let logits = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5];
    let h = histogram(cfg(1.0, 2, 1.0, 0.0), &logits, 2000);
    assert_eq!(h[..4].iter().sum::<usize>(), 0, "{h:?}");
    assert!(h[4] > 0 && h[5] > 0);
    // k = 1 is greedy.
    let h = histogram(cfg(5.0, 1, 1.0, 0.0), &logits, 100);
    assert_eq!(h[5], 100);
}

#[test]
fn top_p_keeps_the_shortest_prefix_reaching_p() {
    // Probabilities 0.5, 0.25, 0.125, 0.125 (logits are log2-spaced).
    let ln2 = core::f32::consts::LN_2;
    let logits = [3.0 * ln2, 2.0 * ln2, ln2, ln2];
    // p = 0.5: only the first token.
    let h = histogram(cfg(1.0, 0, 0.5, 0.0), &logits, 500);
    assert_eq!(h, vec![500, 0, 0, 0]);
    // p = 0.7: the first two (0.5 + 0.25 = 0.75 ≥ 0.7), in ratio 2:1.
    let h = histogram(cfg(1.0, 0, 0.7, 0.0), &logits, 6000);
    assert_eq!(h[2] + h[3], 0, "{h:?}");
    let ratio = h[0] as f64 / h[1] as f64;
    assert!((1.8..2.2).contains(&ratio), "{h:?}");
}

#[test]
fn min_p_drops_tokens_below_the_relative_floor() {
    // Relative probabilities 1, 0.5, 0.09: min_p 0.1 keeps the first two.
    let logits = [0.0, (0.5f32).ln(), (0.09f32).ln()];
    let h = histogram(cfg(1.0, 0, 1.0, 0.1), &logits, 3000);
    assert_eq!(h[2], 0, "{h:?}");
    assert!(h[1] > 700, "{h:?}");
    // With min_p off the third token shows up.
    let h = histogram(cfg(1.0, 0, 1.0, 0.0), &logits, 3000);
    assert!(h[2] > 50, "{h:?}");
}

#[test]
fn temperature_sharpens_and_flattens() {
    let logits = [0.0, 1.0];
    let cold = histogram(cfg(0.25, 0, 1.0, 0.0), &logits, 4000);
    let hot = histogram(cfg(4.0, 0, 1.0, 0.0), &logits, 4000);
    // p(1) = sigmoid(1 / T): 0.982 cold, 0.562 hot.
    assert!(cold[1] > 3800, "{cold:?}");
    assert!((2000..2500).contains(&hot[1]), "{hot:?}");
}

#[test]
fn repetition_penalty_applies_once_per_distinct_token() {
    let logits = [2.0, 1.9, -1.0];
    let (mut ids, mut work) = ([0u32; 3], [0f32; 3]);
    let mut c = SamplerConfig::greedy();
    c.repeat_penalty = 1.1;
    let mut s = Sampler::new(c).unwrap();
    // 2.0 / 1.1 = 1.82 < 1.9: token 1 wins; repeating token 0 in the window changes nothing more.
    assert_eq!(s.sample(&logits, &[0, 0, 0, 0], &mut ids, &mut work), Ok(1));
    assert_eq!(work[0], 2.0 / 1.1);
    // Negative logits are multiplied; out-of-range ids are ignored.
    assert_eq!(s.sample(&logits, &[2, 99], &mut ids, &mut work), Ok(0));
    assert_eq!(work[2], -1.1);
    assert_eq!(
        logits,
        [2.0, 1.9, -1.0],
        "the caller's logits are untouched"
    );
}

#[test]
fn same_seed_same_tokens() {
    let logits: Vec<f32> = (0..1000)
        .map(|i| ((i * 7919) % 1000) as f32 / 100.0)
        .collect();
    let run = |seed| {
        let c = SamplerConfig {
            seed,
            temperature: 1.5,
            ..SamplerConfig::default()
        };
        let mut s = Sampler::new(c).unwrap();
        let (mut ids, mut work) = (vec![0u32; 1000], vec![0f32; 1000]);
        (0..64)
            .map(|_| s.sample(&logits, &[], &mut ids, &mut work).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
    let mut a = Rng::new(1);
    let mut b = Rng::new(1);
    for _ in 0..100 {
        let x = a.next_f64();
        assert!((0.0..1.0).contains(&x));
        assert_eq!(x, b.next_f64());
    }
}

#[test]
fn bad_config_and_scratch_are_errors() {
    for (c, what) in [
        (cfg(f32::NAN, 0, 1.0, 0.0), "temperature"),
        (cfg(1.0, 0, 0.0, 0.0), "top_p"),
        (cfg(1.0, 0, 1.5, 0.0), "top_p"),
        (cfg(1.0, 0, 1.0, -0.1), "min_p"),
    ] {
        assert_eq!(Sampler::new(c), Err(SampleError::InvalidConfig(what)));
    }
    let c = SamplerConfig {
        repeat_penalty: 0.0,
        ..SamplerConfig::default()
    };
    assert_eq!(
        Sampler::new(c),
        Err(SampleError::InvalidConfig("repeat_penalty"))
    );
    let mut s = Sampler::new(SamplerConfig::default()).unwrap();
    let (mut ids, mut work) = ([0u32; 2], [0f32; 3]);
    assert_eq!(
        s.sample(&[0.0; 3], &[], &mut ids, &mut work),
        Err(SampleError::ScratchTooSmall { needed: 3, got: 2 })
    );
    assert_eq!(
        s.sample(&[], &[], &mut ids, &mut work),
        Err(SampleError::Empty)
    );
}

#[test]
fn positive_infinity_wins() {
    let mut s = Sampler::new(cfg(1.0, 0, 1.0, 0.0)).unwrap();
    let (mut ids, mut work) = ([0u32; 4], [0f32; 4]);
    let logits = [0.0, f32::INFINITY, 1.0, f32::INFINITY];
    assert_eq!(s.sample(&logits, &[], &mut ids, &mut work), Ok(1));
}
