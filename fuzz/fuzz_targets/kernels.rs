//! Fuzz target: the public `Kernels` table (issue 20) with hostile arguments, on every tier
//! this CPU runs (`Kernels::for_tier` over `Tier::ALL` with `CpuFeatures::detect()`).
//!
//! Input: a tier byte, an entry byte (30 function-pointer entries), then per argument a
//! length, stride, pitch, count or scale drawn from the input — lengths up to a few thousand
//! values, and counts / strides / pitches / `head_dim` / `bpr` / `queries` that are sometimes
//! huge (2^32, `usize::MAX / 2`, `usize::MAX`, any u64) — and a seed for the slice contents
//! (random bits: NaN, infinities and arbitrary quant blocks included).
//!
//! Every slice is placed so that it ENDS exactly at a guard page: three regions (one per
//! argument slot) are mapped once, the page after each is `PROT_NONE`, and a slice of `n`
//! values occupies the last `n · size_of::<T>()` bytes before it, so any read or write past
//! the end faults (without a sanitizer: this target runs with `-s none`). A panic (the table
//! must not panic on any argument, debug assertions and overflow checks included), a fault or
//! an input running longer than libFuzzer's `-timeout` (a loop over a bogus count) is a crash.
#![no_main]

use std::sync::OnceLock;

use half::f16;
use libfuzzer_sys::fuzz_target;
use phi3_kernels::cpu::{CpuFeatures, Tier};
use phi3_kernels::kernels::attention::CausalBlock;
use phi3_kernels::ops::RopeLayout;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::quant::*;

/// Usable bytes of each region (the guard page follows).
const REGION: usize = 1 << 20;
/// Argument slots (separate regions, so each slice can end at its own guard page).
const SLOTS: usize = 3;
/// Most f32 / f16 values in one slice.
const MAX_VALUES: usize = 2048;
/// Most quant blocks in one slice.
const MAX_BLOCKS: usize = 24;

const PROT_NONE: i32 = 0;
const PROT_READ: i32 = 1;
const PROT_WRITE: i32 = 2;
const MAP_PRIVATE: i32 = 2;
const MAP_ANONYMOUS: i32 = 0x20;

extern "C" {
    fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut u8;
    fn mprotect(addr: *mut u8, len: usize, prot: i32) -> i32;
    fn sysconf(name: i32) -> i64;
}

/// `_SC_PAGESIZE` on Linux.
const SC_PAGESIZE: i32 = 30;

struct Fixture {
    tiers: Vec<Kernels>,
    /// Start address of each slot's usable bytes; the guard page is at `start + REGION`.
    regions: [usize; SLOTS],
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let features = CpuFeatures::detect();
        let tiers: Vec<Kernels> = Tier::ALL
            .into_iter()
            .filter_map(|t| Kernels::for_tier(t, &features))
            .collect();
        eprintln!(
            "kernels fuzz: tiers {:?}",
            tiers.iter().map(|k| k.tier).collect::<Vec<_>>()
        );
        // SAFETY: plain libc calls; the results are checked.
        let page = usize::try_from(unsafe { sysconf(SC_PAGESIZE) }).unwrap_or(4096);
        assert!(REGION % page == 0);
        let regions = core::array::from_fn(|_| {
            let len = REGION + page;
            // SAFETY: a fresh anonymous private mapping; checked below.
            let p = unsafe {
                mmap(
                    core::ptr::null_mut(),
                    len,
                    PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert!(!p.is_null() && p as isize != -1, "mmap failed");
            // SAFETY: the last page of the mapping just made.
            let r = unsafe { mprotect(p.add(REGION), page, PROT_NONE) };
            assert_eq!(r, 0, "mprotect failed");
            p as usize
        });
        Fixture { tiers, regions }
    })
}

/// Reads the fuzz input; past its end everything reads as zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(core::array::from_fn(|_| self.u8()))
    }
    /// A slice length `<= max`.
    fn len(&mut self, max: usize) -> usize {
        usize::from(self.u16()) % (max + 1)
    }
    /// A count / stride / pitch: mostly small, sometimes huge.
    fn count(&mut self) -> usize {
        match self.u8() % 16 {
            0..=8 => usize::from(self.u8() % 16),
            9..=11 => usize::from(self.u16()),
            12 => 1 << 32,
            13 => usize::MAX / 2,
            14 => usize::MAX,
            _ => self.u64() as usize,
        }
    }
    fn f32(&mut self) -> f32 {
        match self.u8() % 8 {
            0 => f32::from_bits(self.u16() as u32 * 0x1_0001),
            1 => f32::NAN,
            2 => f32::INFINITY,
            3 => 0.0,
            _ => (self.u16() as f32 - 32768.0) / 4096.0,
        }
    }
}

/// Fills slices with seeded random bits.
struct Fill(u64);

impl Fill {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The argument slots of one input: each hands out at most one slice, ending at its guard.
struct Slots {
    regions: [usize; SLOTS],
    used: [bool; SLOTS],
    fill: Fill,
    /// Random bits (NaN, ∞ …) or small finite floats.
    wild: bool,
}

impl Slots {
    /// `n` values of `T` in slot `slot`, ending exactly at its guard page, filled with data.
    fn slice<T: bytemuck::Pod>(&mut self, slot: usize, n: usize) -> &'static mut [T] {
        assert!(!self.used[slot], "slot {slot} handed out twice");
        self.used[slot] = true;
        let bytes = n * core::mem::size_of::<T>();
        assert!(bytes <= REGION && REGION % core::mem::align_of::<T>() == 0);
        let start = self.regions[slot] + REGION - bytes;
        assert!(start % core::mem::align_of::<T>() == 0);
        // SAFETY: `start .. start + bytes` lies in slot `slot`'s read-write region (page
        // aligned, so `start` is aligned for `T`: `bytes` is a multiple of `size_of::<T>()`,
        // itself a multiple of its alignment); each slot is handed out once per input and the
        // slices do not outlive it (the fuzz closure returns before the next input); `T: Pod`
        // accepts any bits.
        let s = unsafe { core::slice::from_raw_parts_mut(start as *mut T, n) };
        let b: &mut [u8] = bytemuck::cast_slice_mut(s);
        for chunk in b.chunks_mut(8) {
            let v = self.fill.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        s
    }

    /// `n` f32 values: random bits or small finite values.
    fn f32s(&mut self, slot: usize, n: usize) -> &'static mut [f32] {
        let wild = self.wild;
        let s = self.slice::<f32>(slot, n);
        if !wild {
            for v in s.iter_mut() {
                *v = ((v.to_bits() >> 9) as f32 / (1u32 << 23) as f32 - 0.5) * 8.0;
            }
        }
        s
    }

    fn f16s(&mut self, slot: usize, n: usize) -> &'static mut [f16] {
        let wild = self.wild;
        let s = self.slice::<f16>(slot, n);
        if !wild {
            for v in s.iter_mut() {
                *v = f16::from_f32((v.to_bits() >> 4) as f32 / 4096.0 - 8.0);
            }
        }
        s
    }
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let mut inp = Input(data);
    let k = fx.tiers[usize::from(inp.u8()) % fx.tiers.len()];
    let entry = inp.u8() % 30;
    let flags = inp.u8();
    let mut s = Slots {
        regions: fx.regions,
        used: [false; SLOTS],
        fill: Fill(inp.u64()),
        wild: flags & 1 != 0,
    };
    run(&k, entry, &mut inp, &mut s);
});

macro_rules! dot {
    ($k:expr, $inp:expr, $s:expr, $f:ident: $w:ty, $x:ty) => {{
        let (nw, nx) = ($inp.len(MAX_BLOCKS), $inp.len(MAX_BLOCKS));
        let w = $s.slice::<$w>(0, nw);
        let x = $s.slice::<$x>(1, nx);
        std::hint::black_box(($k.$f)(w, x));
    }};
}

macro_rules! gemm {
    ($k:expr, $inp:expr, $s:expr, $f:ident: $w:ty, $x:ty, $max:expr) => {{
        let (nw, nx, no) = ($inp.len($max), $inp.len($max), $inp.len(MAX_VALUES));
        let bpr = match $inp.u8() % 4 {
            0 => $inp.count(),
            _ => usize::from($inp.u8() % 8),
        };
        let stride = $inp.count();
        let w = $s.slice::<$w>(0, nw);
        let x = $s.slice::<$x>(1, nx);
        let out = $s.f32s(2, no);
        ($k.$f)(w, x, bpr, out, stride);
    }};
}

fn run(k: &Kernels, entry: u8, inp: &mut Input, s: &mut Slots) {
    let v = MAX_VALUES;
    match entry {
        0 => {
            let (nx, no) = (inp.len(v), inp.len(MAX_BLOCKS));
            let x = s.f32s(0, nx);
            (k.quantize_q8_0)(x, s.slice::<BlockQ8_0>(1, no));
        }
        1 => {
            let (nx, no) = (inp.len(v), inp.len(MAX_BLOCKS));
            let x = s.f32s(0, nx);
            (k.quantize_q8_1)(x, s.slice::<BlockQ8_1>(1, no));
        }
        2 => {
            let (nx, no) = (inp.len(v), inp.len(8));
            let x = s.f32s(0, nx);
            (k.quantize_q8_k)(x, s.slice::<BlockQ8K>(1, no));
        }
        3 => dot!(k, inp, s, dot_q4_0_q8_0: BlockQ4_0, BlockQ8_0),
        4 => dot!(k, inp, s, dot_q4_1_q8_1: BlockQ4_1, BlockQ8_1),
        5 => dot!(k, inp, s, dot_q5_0_q8_0: BlockQ5_0, BlockQ8_0),
        6 => dot!(k, inp, s, dot_q8_0_q8_0: BlockQ8_0, BlockQ8_0),
        7 => dot!(k, inp, s, dot_q4_k_q8_k: BlockQ4K, BlockQ8K),
        8 => dot!(k, inp, s, dot_q5_k_q8_k: BlockQ5K, BlockQ8K),
        9 => dot!(k, inp, s, dot_q6_k_q8_k: BlockQ6K, BlockQ8K),
        10 => {
            let (nw, nx) = (inp.len(v), inp.len(v));
            let w = s.f16s(0, nw);
            let x = s.f32s(1, nx);
            std::hint::black_box((k.dot_f16_f32)(w, x));
        }
        11 => {
            let (nw, nx) = (inp.len(v), inp.len(v));
            let w = s.f32s(0, nw);
            let x = s.f32s(1, nx);
            std::hint::black_box((k.dot_f32_f32)(w, x));
        }
        12 => gemm!(k, inp, s, gemm_q4_0_q8_0: BlockQ4_0, BlockQ8_0, MAX_BLOCKS),
        13 => gemm!(k, inp, s, gemm_q4_1_q8_1: BlockQ4_1, BlockQ8_1, MAX_BLOCKS),
        14 => gemm!(k, inp, s, gemm_q5_0_q8_0: BlockQ5_0, BlockQ8_0, MAX_BLOCKS),
        15 => gemm!(k, inp, s, gemm_q8_0_q8_0: BlockQ8_0, BlockQ8_0, MAX_BLOCKS),
        16 => gemm!(k, inp, s, gemm_q4_k_q8_k: BlockQ4K, BlockQ8K, MAX_BLOCKS),
        17 => gemm!(k, inp, s, gemm_q5_k_q8_k: BlockQ5K, BlockQ8K, MAX_BLOCKS),
        18 => gemm!(k, inp, s, gemm_q6_k_q8_k: BlockQ6K, BlockQ8K, MAX_BLOCKS),
        19 => gemm!(k, inp, s, gemm_f16_f32: f16, f32, 256),
        20 => gemm!(k, inp, s, gemm_f32_f32: f32, f32, 256),
        21 => {
            let (nx, nw, no) = (inp.len(v), inp.len(v), inp.len(v));
            let eps = inp.f32();
            let x = s.f32s(0, nx);
            let w = s.f32s(1, nw);
            (k.rms_norm)(x, w, eps, s.f32s(2, no));
        }
        22 | 23 => {
            let (nx, nc, ns) = (inp.len(v), inp.len(256), inp.len(256));
            let head_dim = inp.count();
            let x = s.f32s(0, nx);
            let cos = s.f32s(1, nc);
            let sin = s.f32s(2, ns);
            let layout = if entry == 22 {
                RopeLayout::Neox
            } else {
                RopeLayout::Norm
            };
            layout.apply(k, x, head_dim, cos, sin);
        }
        24 => {
            let (ng, nu, no) = (inp.len(v), inp.len(v), inp.len(v));
            let g = s.f32s(0, ng);
            let u = s.f32s(1, nu);
            (k.swiglu)(g, u, s.f32s(2, no));
        }
        25 => {
            let n = inp.len(v);
            (k.softmax)(s.f32s(0, n));
        }
        26 => {
            let (nq, nk, ns) = (inp.len(256), inp.len(v), inp.len(v));
            let (stride, scale) = (inp.count(), inp.f32());
            let q = s.f32s(0, nq);
            let keys = s.f16s(1, nk);
            // One query (decode's block), any stride and lengths.
            let b = CausalBlock {
                queries: 1,
                first: ns,
                dim: nq,
                q_pitch: nq,
                kv_stride: stride,
                out_pitch: nq,
            };
            (k.attn_scores_causal_f16)(&b, q, keys, scale, s.f32s(2, ns));
        }
        27 => {
            let (nw, nv, no) = (inp.len(v), inp.len(v), inp.len(256));
            let stride = inp.count();
            let w = s.f32s(0, nw);
            let values = s.f16s(1, nv);
            let b = CausalBlock {
                queries: 1,
                first: nw,
                dim: no,
                q_pitch: no,
                kv_stride: stride,
                out_pitch: no,
            };
            (k.attn_values_causal_f16)(&b, w, values, s.f32s(2, no));
        }
        28 | 29 => {
            let b = CausalBlock {
                queries: inp.count(),
                first: inp.count(),
                dim: inp.count(),
                q_pitch: inp.count(),
                kv_stride: inp.count(),
                out_pitch: inp.count(),
            };
            // Well-formed sizes for a small block now and then, so the SIMD block paths
            // (which need every query to fit) run too.
            let fit = inp.u8() % 4 == 0 && b.queries <= 16 && b.first <= 64 && b.dim <= 128;
            let pos = b.first.saturating_add(b.queries.saturating_sub(1));
            let sizes = if fit && b.q_pitch <= 256 && b.kv_stride <= 256 && b.out_pitch <= 256 {
                let span = |pitch: usize, n: usize| n.saturating_sub(1) * pitch + b.dim;
                [
                    span(b.q_pitch, b.queries),
                    span(b.kv_stride, pos),
                    b.queries * pos,
                    span(b.out_pitch, b.queries),
                ]
            } else {
                [inp.len(v), inp.len(v), inp.len(v), inp.len(v)]
            };
            let [nq, nk, ns, no] = sizes.map(|n| n.min(v));
            if entry == 28 {
                let scale = inp.f32();
                let q = s.f32s(0, nq);
                let keys = s.f16s(1, nk);
                (k.attn_scores_causal_f16)(&b, q, keys, scale, s.f32s(2, ns));
            } else {
                let w = s.f32s(0, ns);
                let values = s.f16s(1, nk);
                (k.attn_values_causal_f16)(&b, w, values, s.f32s(2, no));
            }
        }
        _ => unreachable!("entry < 30"),
    }
}
