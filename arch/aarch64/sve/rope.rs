//! SVE RoPE, NEOX and NORM layouts, **bit-exact** with the scalar reference
//! ([`crate::kernels::rope`]).
//!
//! # Math
//!
//! For every whole head of `head_dim` values and pair `i < n_half = min(cos.len(), sin.len())`:
//! `x0' = x0·cos_i − x1·sin_i`, `x1' = x0·sin_i + x1·cos_i`, every product a separately
//! rounded `fmul` and then one `fsub` / `fadd` — the reference's operations exactly (no FMA), so
//! the results are bit-identical. Dimensions `2·n_half..head_dim` and a trailing partial head
//! are untouched; an invalid shape (`head_dim == 0`, `2·n_half > head_dim`) leaves `x`
//! unchanged, as the reference (no assertion: any arguments are accepted).
//!
//! # Layout and tails
//!
//! NEOX pairs `x[i]` with `x[i + n_half]`: two contiguous `ld1w` runs. NORM pairs `x[2i]` with
//! `x[2i + 1]`: `ld2w {z0.s, z1.s}` de-interleaves a run of pairs and `st2w` re-interleaves it.
//! One `asm!` loop per head over the pairs, one vector of pairs per step under
//! `p0 = whilelo(i, n_half)` (the last step partial; inactive lanes are neither read nor
//! written).
//!
//! # Registers
//!
//! `z0` / `z1` the pair halves, `z2` / `z3` cos / sin, `z4..z7` products, `p0` loop predicate.

/// Pairs rotated per head, or `None` for an invalid shape (the reference's rule).
fn rotated_pairs(head_dim: usize, _x_len: usize, cos: &[f32], sin: &[f32]) -> Option<usize> {
    // No assertion on the shape: the table entries accept any arguments (module docs).
    let n_half = cos.len().min(sin.len());
    (head_dim != 0 && n_half <= head_dim / 2).then_some(n_half)
}

/// NEOX RoPE (signature of [`crate::kernels::rope::rope_neox`]).
pub(super) fn rope_neox(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, x.len(), cos, sin) else {
        return;
    };
    for head in x.chunks_exact_mut(head_dim) {
        // SAFETY: reachable only through `sve::kernels` (SVE checked); the head has
        // `head_dim ≥ 2·n_half` values and `cos`, `sin` at least `n_half` each.
        unsafe { rope_neox_head(head.as_mut_ptr(), cos.as_ptr(), sin.as_ptr(), n_half) }
    }
}

/// NORM RoPE (signature of [`crate::kernels::rope::rope_norm`]).
pub(super) fn rope_norm(x: &mut [f32], head_dim: usize, cos: &[f32], sin: &[f32]) {
    let Some(n_half) = rotated_pairs(head_dim, x.len(), cos, sin) else {
        return;
    };
    for head in x.chunks_exact_mut(head_dim) {
        // SAFETY: as in `rope_neox`.
        unsafe { rope_norm_head(head.as_mut_ptr(), cos.as_ptr(), sin.as_ptr(), n_half) }
    }
}

/// One NEOX head: pairs `(x[i], x[i + n])`, `i < n`.
///
/// # Safety
/// The CPU must implement SVE; `x` valid for `2n` reads and writes, `cos`, `sin` for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn rope_neox_head(x: *mut f32, cos: *const f32, sin: *const f32, n: usize) {
    // SAFETY: every access is predicated by `whilelo(i, n)`: `x[i]`, `x[n + i]`, `cos[i]`,
    // `sin[i]` with `i < n`, within the caller's bounds.
    unsafe {
        core::arch::asm!(
            "add {hi}, {x}, {n}, lsl #2",
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 2f",
            "1:",
            "ld1w z0.s, p0/z, [{x}, {i}, lsl #2]",
            "ld1w z1.s, p0/z, [{hi}, {i}, lsl #2]",
            "ld1w z2.s, p0/z, [{cos}, {i}, lsl #2]",
            "ld1w z3.s, p0/z, [{sin}, {i}, lsl #2]",
            "fmul z4.s, z0.s, z2.s",
            "fmul z5.s, z1.s, z3.s",
            "fmul z6.s, z0.s, z3.s",
            "fmul z7.s, z1.s, z2.s",
            "fsub z4.s, z4.s, z5.s",
            "fadd z6.s, z6.s, z7.s",
            "st1w z4.s, p0, [{x}, {i}, lsl #2]",
            "st1w z6.s, p0, [{hi}, {i}, lsl #2]",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "2:",
            x = in(reg) x,
            cos = in(reg) cos,
            sin = in(reg) sin,
            n = in(reg) n,
            hi = out(reg) _,
            i = out(reg) _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("p0") _,
            options(nostack)
        );
    }
}

/// One NORM head: pairs `(x[2i], x[2i + 1])`, `i < n`.
///
/// # Safety
/// The CPU must implement SVE; `x` valid for `2n` reads and writes, `cos`, `sin` for `n` reads.
#[target_feature(enable = "sve")]
unsafe fn rope_norm_head(x: *mut f32, cos: *const f32, sin: *const f32, n: usize) {
    // SAFETY: every access is predicated by `whilelo(i, n)`: the pairs `x[2i], x[2i + 1]`
    // (`ld2w`/`st2w` at `x + 8·i_0`, advanced by `2·VL` bytes per step), `cos[i]`, `sin[i]` with
    // `i < n`, within the caller's bounds.
    unsafe {
        core::arch::asm!(
            "mov {i}, #0",
            "whilelo p0.s, {i}, {n}",
            "b.none 2f",
            "1:",
            "ld2w {{z0.s, z1.s}}, p0/z, [{x}]",
            "ld1w z2.s, p0/z, [{cos}, {i}, lsl #2]",
            "ld1w z3.s, p0/z, [{sin}, {i}, lsl #2]",
            "fmul z4.s, z0.s, z2.s",
            "fmul z5.s, z1.s, z3.s",
            "fmul z6.s, z0.s, z3.s",
            "fmul z7.s, z1.s, z2.s",
            "fsub z0.s, z4.s, z5.s",
            "fadd z1.s, z6.s, z7.s",
            "st2w {{z0.s, z1.s}}, p0, [{x}]",
            "addvl {x}, {x}, #2",
            "incw {i}",
            "whilelo p0.s, {i}, {n}",
            "b.first 1b",
            "2:",
            x = inout(reg) x => _,
            cos = in(reg) cos,
            sin = in(reg) sin,
            n = in(reg) n,
            i = out(reg) _,
            out("v0") _, out("v1") _, out("v2") _, out("v3") _,
            out("v4") _, out("v5") _, out("v6") _, out("v7") _,
            out("p0") _,
            options(nostack)
        );
    }
}
