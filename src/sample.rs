//! Choosing the next token from logits: greedy, temperature, top-k, top-p, min-p, repetition
//! penalty, with a seeded RNG — no allocation (the caller lends two vocabulary-sized scratch
//! slices).
//!
//! # The chain (llama.cpp's default order)
//!
//! 1. **Repetition penalty** over the caller's window of recent tokens: each distinct token in
//!    it has its logit divided by `repeat_penalty` when positive, multiplied when negative
//!    (1.0 = off). Ids outside the vocabulary are ignored.
//! 2. **Greedy** when `temperature <= 0`: the largest logit; ties go to the lowest id; NaN
//!    logits are skipped.
//! 3. Candidates: every id whose logit is neither NaN nor −∞, ordered by logit (descending),
//!    then id. **top-k** (`0` = off) keeps the k best (a selection, then a sort of those k;
//!    with top-k off every candidate is sorted: O(n log n)).
//! 4. **top-p** (`1.0` = off): softmax over the candidates, keep the shortest prefix whose
//!    probability reaches `top_p`.
//! 5. **min-p** (`0.0` = off): keep tokens with probability ≥ `min_p` × the best one's, i.e.
//!    logit ≥ best + ln(min_p) (independent of normalisation).
//! 6. **Temperature**: softmax of logit / T over what is left, and one draw from the RNG
//!    (xoshiro256**, seeded through splitmix64): walk the sorted candidates until the running
//!    sum passes u·total.
//!
//! Every filter keeps at least one token. All-NaN logits are [`SampleError::AllNaN`]; a +∞
//! logit wins outright (lowest id among them); all −∞ falls back to greedy (lowest id).
//! The same seed, logits and window always give the same token.

use core::cmp::Ordering;
use core::fmt;

/// Why a sampler could not be built or could not choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SampleError {
    /// No logits.
    Empty,
    /// Every logit is NaN.
    AllNaN,
    /// A scratch slice is shorter than the logits.
    ScratchTooSmall {
        /// Entries needed (the number of logits).
        needed: usize,
        /// Entries given.
        got: usize,
    },
    /// A configuration value is out of range (the field's name).
    InvalidConfig(&'static str),
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SampleError::Empty => f.write_str("no logits to sample from"),
            SampleError::AllNaN => f.write_str("every logit is NaN"),
            SampleError::ScratchTooSmall { needed, got } => {
                write!(f, "sampler scratch has {got} entries, needs {needed}")
            }
            SampleError::InvalidConfig(what) => {
                write!(f, "sampler setting `{what}` is out of range")
            }
        }
    }
}

impl core::error::Error for SampleError {}

/// Sampling settings. `Default` is llama.cpp's: temperature 0.8, top-k 40, top-p 0.95,
/// min-p 0.05, no repetition penalty, seed 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerConfig {
    /// Softmax temperature; `<= 0` means greedy.
    pub temperature: f32,
    /// Keep the k most likely tokens (`0` = off).
    pub top_k: usize,
    /// Nucleus mass in (0, 1] (`1.0` = off).
    pub top_p: f32,
    /// Relative probability floor in [0, 1] (`0.0` = off).
    pub min_p: f32,
    /// Repetition penalty > 0 (`1.0` = off).
    pub repeat_penalty: f32,
    /// RNG seed.
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            seed: 0,
        }
    }
}

impl SamplerConfig {
    /// Greedy decoding (temperature 0, no penalty).
    pub fn greedy() -> Self {
        SamplerConfig {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repeat_penalty: 1.0,
            seed: 0,
        }
    }
}

/// xoshiro256** (Blackman & Vigna), seeded with splitmix64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole state derives from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The index of the largest non-NaN value (ties: lowest index).
pub fn greedy(logits: &[f32]) -> Result<u32, SampleError> {
    if logits.is_empty() {
        return Err(SampleError::Empty);
    }
    let mut best: Option<(usize, f32)> = None;
    for (i, &l) in logits.iter().enumerate() {
        if l.is_nan() {
            continue;
        }
        match best {
            Some((_, b)) if l <= b => {}
            _ => best = Some((i, l)),
        }
    }
    best.map(|(i, _)| i as u32).ok_or(SampleError::AllNaN)
}

/// A configured sampler with its RNG state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampler {
    cfg: SamplerConfig,
    rng: Rng,
}

impl Sampler {
    /// Checks the settings and seeds the RNG.
    pub fn new(cfg: SamplerConfig) -> Result<Self, SampleError> {
        if cfg.temperature.is_nan() || cfg.temperature == f32::INFINITY {
            return Err(SampleError::InvalidConfig("temperature"));
        }
        if !(cfg.top_p > 0.0 && cfg.top_p <= 1.0) {
            return Err(SampleError::InvalidConfig("top_p"));
        }
        if !(0.0..=1.0).contains(&cfg.min_p) {
            return Err(SampleError::InvalidConfig("min_p"));
        }
        if !(cfg.repeat_penalty > 0.0 && cfg.repeat_penalty.is_finite()) {
            return Err(SampleError::InvalidConfig("repeat_penalty"));
        }
        Ok(Sampler {
            cfg,
            rng: Rng::new(cfg.seed),
        })
    }

    /// The settings.
    pub fn config(&self) -> &SamplerConfig {
        &self.cfg
    }

    /// Chooses a token.
    ///
    /// `recent` is the repetition-penalty window (the caller decides its length); `ids` and
    /// `work` are scratch with at least `logits.len()` entries (their contents are
    /// overwritten; `logits` is not modified).
    pub fn sample(
        &mut self,
        logits: &[f32],
        recent: &[u32],
        ids: &mut [u32],
        work: &mut [f32],
    ) -> Result<u32, SampleError> {
        let n = logits.len();
        if n == 0 {
            return Err(SampleError::Empty);
        }
        for got in [ids.len(), work.len()] {
            if got < n {
                return Err(SampleError::ScratchTooSmall { needed: n, got });
            }
        }
        let (Some(ids), Some(work)) = (ids.get_mut(..n), work.get_mut(..n)) else {
            return Err(SampleError::ScratchTooSmall { needed: n, got: 0 });
        };
        work.copy_from_slice(logits);

        // 1. Repetition penalty, once per distinct token (ids marks the ones done).
        if self.cfg.repeat_penalty != 1.0 {
            ids.fill(0);
            for &t in recent {
                let t = t as usize;
                if let (Some(mark), Some(l)) = (ids.get_mut(t), work.get_mut(t)) {
                    if *mark == 0 {
                        *mark = 1;
                        *l = if *l > 0.0 {
                            *l / self.cfg.repeat_penalty
                        } else {
                            *l * self.cfg.repeat_penalty
                        };
                    }
                }
            }
        }

        // 2. Greedy.
        let best = greedy(work)?;
        let best_logit = work.get(best as usize).copied().unwrap_or(f32::NAN);
        if self.cfg.temperature <= 0.0 || !best_logit.is_finite() {
            return Ok(best);
        }

        // 3. Candidates, top-k, sort.
        let mut count = 0usize;
        for (i, &l) in work.iter().enumerate() {
            if !l.is_nan() && l != f32::NEG_INFINITY {
                if let Some(slot) = ids.get_mut(count) {
                    *slot = i as u32;
                }
                count += 1;
            }
        }
        let logit = |id: u32| work.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY);
        let order = |a: &u32, b: &u32| -> Ordering {
            logit(*b)
                .partial_cmp(&logit(*a))
                .unwrap_or(Ordering::Equal)
                .then(a.cmp(b))
        };
        let mut cands = ids.get_mut(..count).unwrap_or(&mut []);
        let k = self.cfg.top_k;
        if k > 0 && k < cands.len() {
            cands.select_nth_unstable_by(k - 1, order);
            cands = cands.get_mut(..k).unwrap_or(&mut []);
        }
        cands.sort_unstable_by(order);
        let mut keep = cands.len();
        let top = best_logit;

        // 4. top-p over the softmax of the remaining candidates.
        if self.cfg.top_p < 1.0 {
            let total: f64 = cands
                .iter()
                .map(|&i| libm::exp((logit(i) - top) as f64))
                .sum();
            let target = self.cfg.top_p as f64 * total;
            let mut cum = 0.0f64;
            for (j, &i) in cands.iter().enumerate() {
                cum += libm::exp((logit(i) - top) as f64);
                if cum >= target {
                    keep = j + 1;
                    break;
                }
            }
        }

        // 5. min-p as a logit threshold.
        if self.cfg.min_p > 0.0 {
            let floor = top + libm::logf(self.cfg.min_p);
            let passing = cands
                .get(..keep)
                .unwrap_or(&[])
                .iter()
                .take_while(|&&i| logit(i) >= floor)
                .count();
            keep = passing.max(1);
        }

        // 6. Temperature and the draw.
        let inv_t = 1.0 / self.cfg.temperature as f64;
        let weight = |i: u32| libm::exp((logit(i) - top) as f64 * inv_t);
        let kept = cands.get(..keep).unwrap_or(&[]);
        let total: f64 = kept.iter().map(|&i| weight(i)).sum();
        let u = self.rng.next_f64() * total;
        let mut cum = 0.0f64;
        for &i in kept {
            cum += weight(i);
            if cum > u {
                return Ok(i);
            }
        }
        Ok(kept.last().copied().unwrap_or(best))
    }
}
