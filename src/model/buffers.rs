//! The session's arena carved into typed buffers, and the bounds-checked views and row checks
//! the graph uses on them (every out-of-range slice is an error, never a panic).

use super::arena::{ArenaPlan, Region, ARENA_ALIGN};
use super::split::INTERNAL;
use crate::error::{Error, ForwardStage, ModelError};

/// The per-batch activation buffers, carved from the arena.
pub(super) struct Buffers<'a> {
    pub x: &'a mut [f32],
    pub xn: &'a mut [f32],
    pub qkv: &'a mut [f32],
    pub attn: &'a mut [f32],
    pub gate_up: &'a mut [f32],
    pub ffn_act: &'a mut [f32],
    pub quant: &'a mut [u8],
    pub rope: &'a mut [f32],
    pub scores: &'a mut [f32],
    pub logits: &'a mut [f32],
}

/// The arena's regions as typed slices (see [`ArenaPlan`]).
pub(super) struct Carved<'a> {
    /// Key rows ([`super::KvType`] bytes).
    pub k_cache: &'a mut [u8],
    /// Value rows.
    pub v_cache: &'a mut [u8],
    pub tokens: &'a mut [u32],
    pub bufs: Buffers<'a>,
}

impl<'a> Carved<'a> {
    /// Cuts `arena` into the regions of `plan`. Errors: [`ModelError::ArenaMisaligned`],
    /// [`ModelError::ArenaTooSmall`].
    pub(super) fn from_arena(arena: &'a mut [u8], plan: &ArenaPlan) -> Result<Self, Error> {
        let offset = bytes_addr_mod(arena);
        if offset != 0 {
            return Err(ModelError::ArenaMisaligned {
                align: ARENA_ALIGN,
                offset,
            }
            .into());
        }
        if arena.len() < plan.bytes_needed() {
            return Err(ModelError::ArenaTooSmall {
                needed: plan.bytes_needed(),
                actual: arena.len(),
            }
            .into());
        }
        let mut rest = arena;
        let mut used = 0;
        let mut take = |r: Region| carve(&mut rest, &mut used, r);
        Ok(Carved {
            k_cache: take(plan.k_cache)?,
            v_cache: take(plan.v_cache)?,
            tokens: cast(take(plan.tokens)?)?,
            bufs: Buffers {
                x: cast(take(plan.x)?)?,
                xn: cast(take(plan.xn)?)?,
                qkv: cast(take(plan.qkv)?)?,
                attn: cast(take(plan.attn)?)?,
                gate_up: cast(take(plan.gate_up)?)?,
                ffn_act: cast(take(plan.ffn_act)?)?,
                quant: take(plan.quant)?,
                rope: cast(take(plan.rope)?)?,
                scores: cast(take(plan.scores)?)?,
                logits: cast(take(plan.logits)?)?,
            },
        })
    }
}

/// Takes the bytes of `region` from the front of `rest` (regions come in increasing order;
/// `consumed` is how many bytes of the arena `rest` no longer holds).
fn carve<'a>(
    rest: &mut &'a mut [u8],
    consumed: &mut usize,
    region: Region,
) -> Result<&'a mut [u8], Error> {
    let too_small = ModelError::ArenaTooSmall {
        needed: region.end(),
        actual: consumed.saturating_add(rest.len()),
    };
    let skip = region.offset.checked_sub(*consumed).ok_or(too_small)?;
    let taken = core::mem::take(rest);
    let (_, after_skip) = taken.split_at_mut_checked(skip).ok_or(too_small)?;
    let (bytes, after) = after_skip
        .split_at_mut_checked(region.len)
        .ok_or(too_small)?;
    *rest = after;
    *consumed = region.end();
    Ok(bytes)
}

fn cast<T: bytemuck::Pod>(bytes: &mut [u8]) -> Result<&mut [T], Error> {
    let offset = bytes_addr_mod(bytes);
    bytemuck::try_cast_slice_mut(bytes).map_err(|_| {
        Error::Model(ModelError::ArenaMisaligned {
            align: ARENA_ALIGN,
            offset,
        })
    })
}

fn bytes_addr_mod(bytes: &[u8]) -> usize {
    bytes.as_ptr().addr() % ARENA_ALIGN
}

pub(super) fn range_mut(s: &mut [f32], start: usize, len: usize) -> Result<&mut [f32], Error> {
    s.get_mut(start..start.checked_add(len).ok_or(INTERNAL)?)
        .ok_or(INTERNAL)
}

pub(super) fn range(s: &[f32], start: usize, len: usize) -> Result<&[f32], Error> {
    s.get(start..start.checked_add(len).ok_or(INTERNAL)?)
        .ok_or(INTERNAL)
}

pub(super) fn range_mut_u32(s: &mut [u32], start: usize, len: usize) -> Result<&mut [u32], Error> {
    s.get_mut(start..start.checked_add(len).ok_or(INTERNAL)?)
        .ok_or(INTERNAL)
}

pub(super) fn add_into(x: &mut [f32], y: &[f32]) {
    for (a, &b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Whether every value of `v` is finite: one branch-free pass over the exponent bits (all ones
/// for NaN and ±∞) that the compiler vectorises.
pub(super) fn all_finite(v: &[f32]) -> bool {
    const EXP: u32 = 0x7f80_0000;
    v.iter()
        .fold(0u32, |bad, &x| bad | u32::from(x.to_bits() & EXP == EXP))
        == 0
}

/// [`ModelError::NonFinite`] at stage `at` for the first of the `rows` rows of `width` values
/// at the start of `buf` that holds a NaN or ±∞; row `r` is sequence position `first + r`.
pub(super) fn check_rows(
    buf: &[f32],
    rows: usize,
    width: usize,
    first: usize,
    at: ForwardStage,
) -> Result<(), Error> {
    let len = rows.checked_mul(width).ok_or(INTERNAL)?;
    let values = range(buf, 0, len)?;
    if all_finite(values) {
        return Ok(());
    }
    let r = values
        .chunks(width.max(1))
        .position(|row| !all_finite(row))
        .unwrap_or(0);
    Err(ModelError::NonFinite {
        at,
        position: first + r,
    }
    .into())
}
