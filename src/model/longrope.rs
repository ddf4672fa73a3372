//! Crossing LongRoPE's `original_context_length`: what a session does with its cache when the
//! factor set changes (see the session's module docs, *LongRoPE*).
//!
//! A model with `rope_factors_short/long` rotates query and key pair `i` at position `p` by
//! `θ_i(p) = p · base^(−2i/n_rot) / f_i`, with the short factors `f` while the sequence holds at
//! most `original_context_length` positions and the long ones beyond. Keys in the cache were
//! rotated with the old set; a rotation is linear, so rotating a cached key pair by
//! `θ_i^new(p) − θ_i^old(p)` gives exactly the key the new set would have produced *from the
//! same unrotated key* (both sets share the attention factor, so no rescaling is involved).
//! That costs one pass over the keys and no forward pass ([`LongRopeCrossing::RotateKeys`]).
//!
//! It is not the same as recomputing: from layer 1 on, the unrotated keys *and the values*
//! are functions of attention outputs that used the old rotation, and the cache is rounded to
//! f16 once more. `tests/model_golden.rs` measures the distance to a from-scratch run with the
//! new set (the `long.decode_rule` golden) and holds it to the fixtures' comparison rule;
//! [`LongRopeCrossing::Recompute`] replays the sequence instead for bit-identity with a
//! from-scratch prefill.
//!
//! A quantized KV cache ([`super::KvType::Q8_0`], [`super::KvType::Q4_0`]) always recomputes,
//! whatever the setting: rotating its keys would mean dequantize → rotate → requantize, which
//! rounds every cached key to the block grid a second time on top of the rotation's own
//! distance from a recompute, while recomputing stays bit-identical to a from-scratch run.

use half::f16;

use super::config::Config;
use crate::error::Error;
use crate::ops::rope::RopeLayout;

/// What a [`Session`](super::Session) does when a forward crosses LongRoPE's
/// `original_context_length` (either way, e.g. after a truncate back below it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LongRopeCrossing {
    /// Rotate the cached keys to the new factor set in place (f16 caches; a quantized cache
    /// recomputes, module docs): one pass over the keys
    /// (`n_layer · n_head_kv · len · n_rot / 2` pair rotations), no forward pass; the logits
    /// after the crossing are close to, not equal to, a from-scratch run's (module docs).
    #[default]
    RotateKeys,
    /// Recompute the cache from the token history with the new set (one prefill of the
    /// sequence so far): the logits equal a from-scratch prefill's bit for bit.
    Recompute,
}

/// Rotates the first `len` cached positions of every (layer, KV head) of `k_cache` (layout:
/// layer, KV head, `ctx` positions, `head_dim`) from the factor set `from` to `to` (`None` = all
/// factors 1). `table` is scratch for `n_rot` values.
///
/// Errors: only [`crate::error::ShapeError`]-style broken invariants (a cache or scratch
/// shorter than the config implies), reported before anything is rotated.
pub(super) fn rotate_keys(
    k_cache: &mut [f16],
    c: &Config,
    ctx: usize,
    len: usize,
    from: Option<&[f32]>,
    to: Option<&[f32]>,
    table: &mut [f32],
) -> Result<(), Error> {
    let hd = c.head_dim;
    let half = c.n_rot / 2;
    let heads = c.n_layer.saturating_mul(c.n_head_kv);
    let needed = heads.saturating_mul(ctx).saturating_mul(hd);
    let internal = super::split::INTERNAL;
    if k_cache.len() < needed || len > ctx || 2 * half > hd {
        return Err(internal);
    }
    let (cos, rest) = table.split_at_mut_checked(half).ok_or(internal)?;
    let sin = rest.get_mut(..half).ok_or(internal)?;
    let base = f64::from(c.rope_freq_base);
    let factor = |set: Option<&[f32]>, i: usize| {
        set.and_then(|f| f.get(i))
            .map_or(1.0, |&f| 1.0 / f64::from(f))
    };
    for p in 0..len {
        for (i, (cs, sn)) in cos.iter_mut().zip(sin.iter_mut()).enumerate() {
            let inv_freq = libm::pow(base, -2.0 * i as f64 / c.n_rot as f64);
            let delta = p as f64 * inv_freq * (factor(to, i) - factor(from, i));
            *cs = libm::cos(delta) as f32;
            *sn = libm::sin(delta) as f32;
        }
        for head in 0..heads {
            let start = (head * ctx + p) * hd;
            let Some(row) = k_cache.get_mut(start..start + hd) else {
                continue;
            };
            rotate_row(row, c.rope_layout, cos, sin);
        }
    }
    Ok(())
}

/// Rotates pair `i` of one f16 row by the angle whose cosine and sine are `cos[i]`, `sin[i]`.
fn rotate_row(row: &mut [f16], layout: RopeLayout, cos: &[f32], sin: &[f32]) {
    let rot = |a: &mut f16, b: &mut f16, c: f32, s: f32| {
        let (x0, x1) = (a.to_f32(), b.to_f32());
        *a = f16::from_f32(x0 * c - x1 * s);
        *b = f16::from_f32(x0 * s + x1 * c);
    };
    let half = cos.len();
    match layout {
        RopeLayout::Neox => {
            let Some((lo, hi)) = row.split_at_mut_checked(half) else {
                return;
            };
            for (((a, b), &c), &s) in lo.iter_mut().zip(hi.iter_mut()).zip(cos).zip(sin) {
                rot(a, b, c, s);
            }
        }
        RopeLayout::Norm => {
            for ((pair, &c), &s) in row.chunks_exact_mut(2).zip(cos).zip(sin) {
                if let [a, b] = pair {
                    rot(a, b, c, s);
                }
            }
        }
    }
}
