//! Block formats of the GGUF / ggml quantization types, byte for byte.
//!
//! Every block is `#[repr(C)]`, has no padding, and implements [`bytemuck::Pod`], so a tensor's
//! bytes can be viewed as `&[BlockQ4_0]` (etc.) without copying. A `const` assertion pins each
//! size to ggml's. The layouts follow ggml's `block_*` structs:
//!
//! | type | elements | bytes | fields (in order) |
//! |---|---|---|---|
//! | Q4_0 | 32 | 18 | `d: f16`, `qs: [u8; 16]` (low nibbles = elements 0..16, high = 16..32) |
//! | Q4_1 | 32 | 20 | `d: f16`, `m: f16`, `qs: [u8; 16]` |
//! | Q5_0 | 32 | 22 | `d: f16`, `qh: [u8; 4]` (bit 5 of each element), `qs: [u8; 16]` |
//! | Q8_0 | 32 | 34 | `d: f16`, `qs: [i8; 32]` |
//! | Q8_1 | 32 | 36 | `d: f16`, `s: f16` (= d · Σqs), `qs: [i8; 32]` |
//! | Q4_K | 256 | 144 | `d: f16`, `dmin: f16`, `scales: [u8; 12]` (8 × 6-bit scale + 6-bit min), `qs: [u8; 128]` |
//! | Q5_K | 256 | 176 | `d: f16`, `dmin: f16`, `scales: [u8; 12]`, `qh: [u8; 32]`, `qs: [u8; 128]` |
//! | Q6_K | 256 | 210 | `ql: [u8; 128]`, `qh: [u8; 64]`, `scales: [i8; 16]`, `d: f16` |
//! | Q8_K | 256 | 292 | `d: f32`, `qs: [i8; 256]`, `bsums: [i16; 16]` (sums of 16-element groups) |
//!
//! F32, F16 and BF16 tensors are plain element arrays (`f32`, [`half::f16`], [`half::bf16`]).

use half::f16;

/// Elements in one block of the 32-element formats (Q4_0, Q4_1, Q5_0, Q8_0, Q8_1).
pub const QK: usize = 32;
/// Elements in one super-block of the K formats (Q4_K, Q5_K, Q6_K, Q8_K).
pub const QK_K: usize = 256;
/// Bytes of packed 6-bit scales and mins in a Q4_K / Q5_K super-block.
pub const K_SCALE_SIZE: usize = 12;

/// Q4_0: 32 weights `w = d · (q − 8)`, `q` a 4-bit unsigned nibble.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ4_0 {
    /// Scale.
    pub d: f16,
    /// Nibbles: byte `j` holds element `j` (low) and element `j + 16` (high).
    pub qs: [u8; QK / 2],
}

/// Q4_1: 32 weights `w = d · q + m`, `q` a 4-bit unsigned nibble.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ4_1 {
    /// Scale.
    pub d: f16,
    /// Minimum (offset).
    pub m: f16,
    /// Nibbles, as in [`BlockQ4_0`].
    pub qs: [u8; QK / 2],
}

/// Q5_0: 32 weights `w = d · (q − 16)`, `q` 5 bits: a nibble plus one high bit from `qh`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ5_0 {
    /// Scale.
    pub d: f16,
    /// Fifth bits, little-endian u32: bit `j` belongs to element `j`.
    pub qh: [u8; 4],
    /// Low nibbles, as in [`BlockQ4_0`].
    pub qs: [u8; QK / 2],
}

/// Q8_0: 32 values `x = d · q`, `q` a signed byte.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8_0 {
    /// Scale.
    pub d: f16,
    /// Quants.
    pub qs: [i8; QK],
}

/// Q8_1: as Q8_0 plus `s = d · Σ q` (used by the Q4_1 dot product for the `m` term).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8_1 {
    /// Scale.
    pub d: f16,
    /// `d · Σ qs`, rounded to f16.
    pub s: f16,
    /// Quants.
    pub qs: [i8; QK],
}

/// Q4_K: 256 weights in 8 sub-blocks of 32; sub-block `j` has a 6-bit scale `sc_j` and a
/// 6-bit min `m_j`, and `w = d · sc_j · q − dmin · m_j`, `q` a 4-bit nibble.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ4K {
    /// Super-block scale of the sub-block scales.
    pub d: f16,
    /// Super-block scale of the sub-block mins.
    pub dmin: f16,
    /// Packed 6-bit scales and mins (ggml's `get_scale_min_k4` layout).
    pub scales: [u8; K_SCALE_SIZE],
    /// Nibbles: 4 groups of 32 bytes, each holding two sub-blocks (low nibbles, then high).
    pub qs: [u8; QK_K / 2],
}

/// Q5_K: as Q4_K with a fifth bit per weight in `qh`; `w = d · sc_j · q − dmin · m_j`, `q` 5 bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ5K {
    /// Super-block scale of the sub-block scales.
    pub d: f16,
    /// Super-block scale of the sub-block mins.
    pub dmin: f16,
    /// Packed 6-bit scales and mins, as in [`BlockQ4K`].
    pub scales: [u8; K_SCALE_SIZE],
    /// High bits: bit `2g` / `2g + 1` of byte `l` belong to element `l` of sub-blocks `2g` / `2g + 1`.
    pub qh: [u8; QK_K / 8],
    /// Low nibbles, as in [`BlockQ4K`].
    pub qs: [u8; QK_K / 2],
}

/// Q6_K: 256 weights in 16 sub-blocks of 16; `w = d · scales_j · (q − 32)`, `q` 6 bits
/// (4 low bits in `ql`, 2 high bits in `qh`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ6K {
    /// Low 4 bits of the quants.
    pub ql: [u8; QK_K / 2],
    /// High 2 bits of the quants.
    pub qh: [u8; QK_K / 4],
    /// Signed 8-bit sub-block scales.
    pub scales: [i8; QK_K / 16],
    /// Super-block scale.
    pub d: f16,
}

/// Q8_K: 256 activations `x = d · q` with an f32 scale and the sums of each 16-element group
/// (`bsums`, used to apply K-quant mins without touching the quants again).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockQ8K {
    /// Scale (f32, unlike the 32-element formats).
    pub d: f32,
    /// Quants.
    pub qs: [i8; QK_K],
    /// `bsums[g] = Σ qs[16g .. 16g + 16]`.
    pub bsums: [i16; QK_K / 16],
}

const _: () = assert!(core::mem::size_of::<BlockQ4_0>() == 18);
const _: () = assert!(core::mem::size_of::<BlockQ4_1>() == 20);
const _: () = assert!(core::mem::size_of::<BlockQ5_0>() == 22);
const _: () = assert!(core::mem::size_of::<BlockQ8_0>() == 34);
const _: () = assert!(core::mem::size_of::<BlockQ8_1>() == 36);
const _: () = assert!(core::mem::size_of::<BlockQ4K>() == 144);
const _: () = assert!(core::mem::size_of::<BlockQ5K>() == 176);
const _: () = assert!(core::mem::size_of::<BlockQ6K>() == 210);
const _: () = assert!(core::mem::size_of::<BlockQ8K>() == 292);

/// Implements `Zeroable` and `Pod` for a block whose fields are all `Pod` and whose size equals
/// the sum of its fields (checked by the `const` asserts above together with the per-type
/// field-sum assert the macro emits).
macro_rules! impl_pod {
    ($($ty:ty => [$($field:ty),+]),+ $(,)?) => {$(
        const _: () = assert!(core::mem::size_of::<$ty>() == 0 $(+ core::mem::size_of::<$field>())+);
        // SAFETY: `$ty` is `#[repr(C)]`, every field is itself `Zeroable` (integers, f16/f32 and
        // arrays of them), and all-zero bytes are a valid value of each field.
        unsafe impl bytemuck::Zeroable for $ty {}
        // SAFETY: `$ty` is `#[repr(C)]`, `Copy`, `'static`, every field is `Pod`, and the assert
        // above proves there is no padding (size == sum of field sizes), so every bit pattern is
        // a valid value and there are no uninitialised bytes.
        unsafe impl bytemuck::Pod for $ty {}
    )+};
}

impl_pod! {
    BlockQ4_0 => [f16, [u8; QK / 2]],
    BlockQ4_1 => [f16, f16, [u8; QK / 2]],
    BlockQ5_0 => [f16, [u8; 4], [u8; QK / 2]],
    BlockQ8_0 => [f16, [i8; QK]],
    BlockQ8_1 => [f16, f16, [i8; QK]],
    BlockQ4K => [f16, f16, [u8; K_SCALE_SIZE], [u8; QK_K / 2]],
    BlockQ5K => [f16, f16, [u8; K_SCALE_SIZE], [u8; QK_K / 8], [u8; QK_K / 2]],
    BlockQ6K => [[u8; QK_K / 2], [u8; QK_K / 4], [i8; QK_K / 16], f16],
    BlockQ8K => [f32, [i8; QK_K], [i16; QK_K / 16]],
}

/// The ggml tensor types, with their GGUF numeric ids (variant names are ggml's type names). Ids that ggml removed (4, 5, 31–33, 36–38)
/// have no variant; parsing such an id is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(non_camel_case_types, missing_docs)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
}

impl GgmlType {
    /// The type with GGUF id `id`, or `None` for an unknown or removed id.
    pub const fn from_id(id: u32) -> Option<Self> {
        use GgmlType::*;
        Some(match id {
            0 => F32,
            1 => F16,
            2 => Q4_0,
            3 => Q4_1,
            6 => Q5_0,
            7 => Q5_1,
            8 => Q8_0,
            9 => Q8_1,
            10 => Q2_K,
            11 => Q3_K,
            12 => Q4_K,
            13 => Q5_K,
            14 => Q6_K,
            15 => Q8_K,
            16 => IQ2_XXS,
            17 => IQ2_XS,
            18 => IQ3_XXS,
            19 => IQ1_S,
            20 => IQ4_NL,
            21 => IQ3_S,
            22 => IQ2_S,
            23 => IQ4_XS,
            24 => I8,
            25 => I16,
            26 => I32,
            27 => I64,
            28 => F64,
            29 => IQ1_M,
            30 => BF16,
            34 => TQ1_0,
            35 => TQ2_0,
            39 => MXFP4,
            _ => return None,
        })
    }

    /// The GGUF id.
    pub const fn id(self) -> u32 {
        self as u32
    }

    /// Elements per block (1 for plain element types).
    pub const fn block_elems(self) -> usize {
        use GgmlType::*;
        match self {
            F32 | F16 | BF16 | I8 | I16 | I32 | I64 | F64 => 1,
            Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q8_0 | Q8_1 | IQ4_NL | MXFP4 => QK,
            _ => QK_K,
        }
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> usize {
        use GgmlType::*;
        match self {
            F32 => 4,
            F16 | BF16 => 2,
            I8 => 1,
            I16 => 2,
            I32 => 4,
            I64 | F64 => 8,
            Q4_0 => 18,
            Q4_1 => 20,
            Q5_0 => 22,
            Q5_1 => 24,
            Q8_0 => 34,
            Q8_1 => 36,
            Q2_K => 84,
            Q3_K => 110,
            Q4_K => 144,
            Q5_K => 176,
            Q6_K => 210,
            Q8_K => 292,
            IQ2_XXS => 66,
            IQ2_XS => 74,
            IQ3_XXS => 98,
            IQ1_S => 50,
            IQ4_NL => 18,
            IQ3_S => 110,
            IQ2_S => 82,
            IQ4_XS => 136,
            IQ1_M => 56,
            TQ1_0 => 54,
            TQ2_0 => 66,
            MXFP4 => 17,
        }
    }

    /// ggml's name for the type (`"Q4_0"`, `"Q4_K"`, `"F16"`, ...).
    pub const fn name(self) -> &'static str {
        use GgmlType::*;
        match self {
            F32 => "F32",
            F16 => "F16",
            Q4_0 => "Q4_0",
            Q4_1 => "Q4_1",
            Q5_0 => "Q5_0",
            Q5_1 => "Q5_1",
            Q8_0 => "Q8_0",
            Q8_1 => "Q8_1",
            Q2_K => "Q2_K",
            Q3_K => "Q3_K",
            Q4_K => "Q4_K",
            Q5_K => "Q5_K",
            Q6_K => "Q6_K",
            Q8_K => "Q8_K",
            IQ2_XXS => "IQ2_XXS",
            IQ2_XS => "IQ2_XS",
            IQ3_XXS => "IQ3_XXS",
            IQ1_S => "IQ1_S",
            IQ4_NL => "IQ4_NL",
            IQ3_S => "IQ3_S",
            IQ2_S => "IQ2_S",
            IQ4_XS => "IQ4_XS",
            I8 => "I8",
            I16 => "I16",
            I32 => "I32",
            I64 => "I64",
            F64 => "F64",
            IQ1_M => "IQ1_M",
            BF16 => "BF16",
            TQ1_0 => "TQ1_0",
            TQ2_0 => "TQ2_0",
            MXFP4 => "MXFP4",
        }
    }

    /// Whether this crate can compute with tensors of this type (dequantize and/or dot product).
    pub const fn is_supported(self) -> bool {
        use GgmlType::*;
        matches!(
            self,
            F32 | F16 | BF16 | Q4_0 | Q4_1 | Q5_0 | Q8_0 | Q8_1 | Q4_K | Q5_K | Q6_K | Q8_K
        )
    }
}

impl core::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// An element or block type that a tensor's bytes can be viewed as.
///
/// Implemented for `f32`, [`half::f16`], [`half::bf16`] and every `Block*` type; used by typed
/// tensor views such as `Tensor::view::<BlockQ4_0>()` in the GGUF reader.
pub trait GgmlBlock: bytemuck::Pod {
    /// The ggml type whose data is made of `Self`.
    const TYPE: GgmlType;
    /// Elements per block.
    const ELEMS: usize;
}

macro_rules! impl_block {
    ($($ty:ty => $t:ident, $n:expr;)+) => {$(
        impl GgmlBlock for $ty {
            const TYPE: GgmlType = GgmlType::$t;
            const ELEMS: usize = $n;
        }
        const _: () = assert!(core::mem::size_of::<$ty>() == GgmlType::$t.block_bytes());
        const _: () = assert!($n == GgmlType::$t.block_elems());
    )+};
}

impl_block! {
    f32 => F32, 1;
    half::f16 => F16, 1;
    half::bf16 => BF16, 1;
    BlockQ4_0 => Q4_0, QK;
    BlockQ4_1 => Q4_1, QK;
    BlockQ5_0 => Q5_0, QK;
    BlockQ8_0 => Q8_0, QK;
    BlockQ8_1 => Q8_1, QK;
    BlockQ4K => Q4_K, QK_K;
    BlockQ5K => Q5_K, QK_K;
    BlockQ6K => Q6_K, QK_K;
    BlockQ8K => Q8_K, QK_K;
}
