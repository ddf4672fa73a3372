//! # phi3-capi: the C ABI of phi3-kernels
//!
//! `extern "C"` functions over the library's allocation-free API, declared in the hand-written
//! header `capi/include/phi3.h` (its comments are the reference for C callers). Built as a
//! `staticlib` (firmware, static linking) and a `cdylib` (Linux).
//!
//! # Memory
//!
//! Nothing is allocated, ever. Handles ([`Phi3Model`], [`Phi3Session`], [`Phi3Tokenizer`],
//! [`Phi3Sampler`]) live in caller memory whose size and alignment the header states
//! (`PHI3_MODEL_SIZE`, `PHI3_MODEL_ALIGN` …, checked against these types by
//! `capi/tests/header.rs`). Each handle reserves a fixed number of bytes (more than its
//! contents need, per pointer width), so the constants stay the same when the library's
//! internals change. The GGUF bytes, the session arena and the tokenizer buffer are the
//! caller's too; a handle borrows them (and a session or tokenizer borrows its model handle)
//! until it is no longer used: they must neither move nor change meanwhile. A zero-filled
//! handle counts as uninitialised (`PHI3_ERR_NOT_INITIALIZED`).
//!
//! # Safety at the boundary
//!
//! Every pointer argument is checked for null (`PHI3_ERR_NULL_POINTER`; a null pointer with
//! length 0 is an empty slice) and for its type's alignment (`PHI3_ERR_MISALIGNED`), every length
//! against `isize::MAX` bytes (`PHI3_ERR_INVALID_ARGUMENT`), every text for UTF-8
//! (`PHI3_ERR_INVALID_UTF8`). What cannot be checked is the caller's contract: a non-null
//! pointer points to as many valid bytes as its length says, handles were initialised by this
//! library (or zeroed), buffers do not overlap, and one handle is not used by two threads at
//! once.
//!
//! # Panic strategy
//!
//! No entry point panics: the library never panics on input (its clippy lints forbid
//! `unwrap`, `expect`, `panic!` and unchecked indexing outside tests, and hostile-input tests
//! and fuzzing back this), and this crate denies the same lints plus unchecked arithmetic. As a
//! last line: a panic cannot unwind out of an `extern "C"` function (Rust aborts the process
//! there), the `capi` profile (`cargo build --profile capi`) sets `panic = "abort"`, and the
//! `no_std` build (without the default `std` feature) has a panic handler that parks the core
//! in a loop (firmware's watchdog resets it) — none of which a correct build ever reaches.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(
    clippy::undocumented_unsafe_blocks,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]
#![warn(missing_docs)]
#![allow(non_camel_case_types)]

#[cfg(feature = "std")]
extern crate std;

use core::ffi::{c_char, c_void};
use core::mem::{align_of, size_of, ManuallyDrop};
use core::ptr;

use phi3_kernels::error::ModelError;
use phi3_kernels::generate::{
    Clock, GenerateConfig, GenerateError, Generator, StopReason, DEFAULT_MAX_TOKENS,
    DEFAULT_PENALTY_WINDOW,
};
use phi3_kernels::gguf::Gguf;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session};
use phi3_kernels::sample::{greedy, SampleError, Sampler, SamplerConfig};
use phi3_kernels::tokenizer::{
    max_encode_tokens, DecodeOptions, EncodeOptions, Tokenizer, TokenizerError,
};
use phi3_kernels::{Error, Kernels};

#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // Never reached (crate docs, *Panic strategy*); a firmware watchdog resets a parked core.
    loop {
        core::hint::spin_loop();
    }
}

/// The unwinding personality the precompiled `core` of hosted targets (e.g.
/// `x86_64-unknown-linux-gnu`) refers to. A `no_std` build runs with `panic = "abort"` (the
/// `capi` profile) and so never unwinds: this is never called, it only satisfies the linker.
/// Bare-metal targets' `core` is built without unwinding and needs none.
#[cfg(all(not(feature = "std"), not(test), not(target_os = "none")))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

// ---------------------------------------------------------------------------------------------
// Status codes (`PHI3_OK`, `PHI3_ERR_*` in the header).

/// A status code: [`PHI3_OK`] or one of the `PHI3_ERR_*` codes.
pub type phi3_status = i32;

macro_rules! status_codes {
    ($($name:ident = $value:literal, $msg:literal;)*) => {
        $(
            #[doc = $msg]
            pub const $name: phi3_status = $value;
        )*
        /// Every status code with its name and message, in order.
        pub const STATUS_CODES: &[(&str, phi3_status, &core::ffi::CStr)] = &[
            $((stringify!($name), $value, cstr(concat!($msg, "\0"))),)*
        ];
    };
}

/// `s` (which ends with its only NUL) as a C string.
const fn cstr(s: &'static str) -> &'static core::ffi::CStr {
    match core::ffi::CStr::from_bytes_with_nul(s.as_bytes()) {
        Ok(c) => c,
        Err(_) => c"(invalid message)",
    }
}

status_codes! {
    PHI3_OK = 0, "success";
    PHI3_ERR_NULL_POINTER = 1, "a required pointer argument is null";
    PHI3_ERR_MISALIGNED = 2, "a pointer is not aligned for its type (handles: PHI3_*_ALIGN)";
    PHI3_ERR_NOT_INITIALIZED = 3, "the handle was not initialised by its phi3_*_init function";
    PHI3_ERR_INVALID_ARGUMENT = 4, "an argument is out of range (a length over PTRDIFF_MAX, unknown flags, too many stop strings)";
    PHI3_ERR_INVALID_UTF8 = 5, "a text argument is not valid UTF-8";
    PHI3_ERR_GGUF = 6, "the bytes are not a valid GGUF file (or are misaligned for its tensors)";
    PHI3_ERR_UNSUPPORTED_MODEL = 7, "the GGUF holds a model this library cannot run (architecture, tensor type or shape)";
    PHI3_ERR_BAD_LIMITS = 8, "the session limits are unusable (a zero field, or sizes that overflow)";
    PHI3_ERR_CONTEXT_BEYOND_TRAINING = 9, "max_context is beyond the model's trained context and allow_beyond_trained_context is not set";
    PHI3_ERR_ARENA_TOO_SMALL = 10, "the arena is smaller than phi3_arena_size says";
    PHI3_ERR_ARENA_MISALIGNED = 11, "the arena does not start at a multiple of PHI3_ARENA_ALIGN";
    PHI3_ERR_CONTEXT_OVERFLOW = 12, "the tokens would take the session past max_context";
    PHI3_ERR_BATCH_TOO_LARGE = 13, "more tokens in one call than max_batch";
    PHI3_ERR_EMPTY_BATCH = 14, "no tokens given";
    PHI3_ERR_TOKEN_OUT_OF_RANGE = 15, "a token id is not below the vocabulary size";
    PHI3_ERR_NON_FINITE = 16, "a NaN or infinity arose in the forward pass (corrupt weights); the batch was not committed";
    PHI3_ERR_TOKENIZER = 17, "the vocabulary cannot be used by the tokenizer";
    PHI3_ERR_BUFFER_TOO_SMALL = 18, "an output or work buffer is too small (the size needed was written where the function says)";
    PHI3_ERR_TEXT_TOO_LONG = 19, "the text is longer than the tokenizer's max_text_bytes";
    PHI3_ERR_SAMPLER_CONFIG = 20, "a sampler setting is out of range";
    PHI3_ERR_SAMPLING = 21, "no token can be sampled (no logits, or all NaN)";
    PHI3_ERR_SCRATCH_TOO_SMALL = 22, "the scratch buffer is smaller than its phi3_*_scratch_size";
    PHI3_ERR_EMPTY_PROMPT = 23, "the prompt has no tokens";
    PHI3_ERR_EMPTY_STOP_STRING = 24, "a stop string is empty";
    PHI3_ERR_SIZE_MISMATCH = 25, "the scratch was sized for another model or tokenizer";
    PHI3_ERR_TRUNCATE_BEYOND_END = 26, "cannot truncate the session past its length";
    PHI3_ERR_OTHER = 27, "an error this version of the header does not name";
}

/// `const char *phi3_error_message(phi3_status code)`: a static, NUL-terminated English
/// message for any code (unknown codes included). Never null.
#[no_mangle]
pub extern "C" fn phi3_error_message(code: phi3_status) -> *const c_char {
    STATUS_CODES
        .iter()
        .find(|(_, c, _)| *c == code)
        .map_or(c"unknown status code", |(_, _, m)| *m)
        .as_ptr()
}

fn model_status(e: &ModelError) -> phi3_status {
    match e {
        ModelError::BadLimits { .. } | ModelError::KvHeadDim { .. } => PHI3_ERR_BAD_LIMITS,
        ModelError::ContextBeyondTraining { .. } => PHI3_ERR_CONTEXT_BEYOND_TRAINING,
        ModelError::ArenaTooSmall { .. } => PHI3_ERR_ARENA_TOO_SMALL,
        ModelError::ArenaMisaligned { .. } => PHI3_ERR_ARENA_MISALIGNED,
        ModelError::ContextOverflow { .. } => PHI3_ERR_CONTEXT_OVERFLOW,
        ModelError::BatchTooLarge { .. } => PHI3_ERR_BATCH_TOO_LARGE,
        ModelError::EmptyBatch => PHI3_ERR_EMPTY_BATCH,
        ModelError::TokenOutOfRange { .. } => PHI3_ERR_TOKEN_OUT_OF_RANGE,
        ModelError::TruncateBeyondEnd { .. } => PHI3_ERR_TRUNCATE_BEYOND_END,
        ModelError::NonFinite { .. } => PHI3_ERR_NON_FINITE,
        _ => PHI3_ERR_UNSUPPORTED_MODEL,
    }
}

fn tokenizer_status(e: &TokenizerError) -> phi3_status {
    match e {
        TokenizerError::OutputTooSmall { .. } | TokenizerError::BufferTooSmall { .. } => {
            PHI3_ERR_BUFFER_TOO_SMALL
        }
        TokenizerError::TextTooLong { .. } => PHI3_ERR_TEXT_TOO_LONG,
        TokenizerError::TokenOutOfRange(_) => PHI3_ERR_TOKEN_OUT_OF_RANGE,
        _ => PHI3_ERR_TOKENIZER,
    }
}

fn sample_status(e: &SampleError) -> phi3_status {
    match e {
        SampleError::InvalidConfig(_) => PHI3_ERR_SAMPLER_CONFIG,
        SampleError::ScratchTooSmall { .. } => PHI3_ERR_SCRATCH_TOO_SMALL,
        _ => PHI3_ERR_SAMPLING,
    }
}

fn generate_status(e: &GenerateError) -> phi3_status {
    match e {
        GenerateError::EmptyPrompt => PHI3_ERR_EMPTY_PROMPT,
        GenerateError::ScratchTooSmall { .. } => PHI3_ERR_SCRATCH_TOO_SMALL,
        GenerateError::EmptyStopString => PHI3_ERR_EMPTY_STOP_STRING,
        GenerateError::SizeMismatch => PHI3_ERR_SIZE_MISMATCH,
        _ => PHI3_ERR_OTHER,
    }
}

/// The status code of a library error.
pub fn status_of(e: &Error) -> phi3_status {
    match e {
        Error::Gguf(_) => PHI3_ERR_GGUF,
        Error::Shape(_) => PHI3_ERR_UNSUPPORTED_MODEL,
        Error::Model(m) => model_status(m),
        Error::Tokenizer(t) => tokenizer_status(t),
        Error::Sample(s) => sample_status(s),
        Error::Generate(g) => generate_status(g),
        _ => PHI3_ERR_OTHER,
    }
}

/// `Ok` → [`PHI3_OK`], `Err(code)` → `code`.
fn done(r: Result<(), phi3_status>) -> phi3_status {
    match r {
        Ok(()) => PHI3_OK,
        Err(code) => code,
    }
}

// ---------------------------------------------------------------------------------------------
// Handles.

/// Storage of a handle: the value, in a fixed reserve of `N` words.
#[repr(C)]
union Slot<T, const N: usize> {
    value: ManuallyDrop<T>,
    reserve: [u64; N],
}

/// A handle: a tag saying it was initialised, then the value.
#[repr(C)]
pub struct Handle<T, const N: usize, const TAG: u64> {
    tag: u64,
    slot: Slot<T, N>,
}

/// Handle sizes in bytes (model, session, tokenizer, sampler) on 64-bit targets: the
/// header's `PHI3_*_SIZE` under `UINTPTR_MAX > 0xFFFFFFFF`.
pub const HANDLE_SIZES_64: [usize; 4] = [32768, 1024, 2048, 128];
/// Handle sizes in bytes on 32-bit targets (the header's other branch).
pub const HANDLE_SIZES_32: [usize; 4] = [16384, 512, 2048, 128];
/// Handle sizes of the target being built.
const HANDLE_SIZES: [usize; 4] = if cfg!(target_pointer_width = "64") {
    HANDLE_SIZES_64
} else {
    HANDLE_SIZES_32
};

/// Words each handle reserves, per pointer width (a handle is `8 + 8 · N` bytes).
/// (Contents today, x86_64 / aarch64: model 23,024 bytes, session 728, tokenizer 1,272,
/// sampler 64; thumbv7em: 11,544, 364, 1,200, 64.)
#[cfg(target_pointer_width = "64")]
mod reserve {
    pub const MODEL: usize = 4095;
    pub const SESSION: usize = 127;
    pub const TOKENIZER: usize = 255;
    pub const SAMPLER: usize = 15;
}
#[cfg(target_pointer_width = "32")]
mod reserve {
    pub const MODEL: usize = 2047;
    pub const SESSION: usize = 63;
    pub const TOKENIZER: usize = 255;
    pub const SAMPLER: usize = 15;
}

const MODEL_TAG: u64 = u64::from_le_bytes(*b"phi3mdl\0");
const SESSION_TAG: u64 = u64::from_le_bytes(*b"phi3ses\0");
const TOKENIZER_TAG: u64 = u64::from_le_bytes(*b"phi3tok\0");
const SAMPLER_TAG: u64 = u64::from_le_bytes(*b"phi3smp\0");

/// The contents of a model handle: the parsed file and the bound weights, borrowing the
/// caller's GGUF bytes.
pub struct ModelInner {
    gguf: Gguf<'static>,
    model: Model<'static>,
}

/// `phi3_model`: a GGUF file parsed and its weights bound ([`phi3_model_init`]).
pub type Phi3Model = Handle<ModelInner, { reserve::MODEL }, MODEL_TAG>;
/// `phi3_session`: one sequence over a caller arena ([`phi3_session_init`]).
pub type Phi3Session =
    Handle<Session<'static, 'static, 'static>, { reserve::SESSION }, SESSION_TAG>;
/// `phi3_tokenizer`: a tokenizer over a caller buffer ([`phi3_tokenizer_init`]).
pub type Phi3Tokenizer = Handle<Tokenizer<'static, 'static>, { reserve::TOKENIZER }, TOKENIZER_TAG>;
/// `phi3_sampler`: sampler settings and RNG state ([`phi3_sampler_init`]).
pub type Phi3Sampler = Handle<Sampler, { reserve::SAMPLER }, SAMPLER_TAG>;

/// `PHI3_MODEL_SIZE`.
pub const PHI3_MODEL_SIZE: usize = size_of::<Phi3Model>();
/// `PHI3_MODEL_ALIGN`.
pub const PHI3_MODEL_ALIGN: usize = align_of::<Phi3Model>();
/// `PHI3_SESSION_SIZE`.
pub const PHI3_SESSION_SIZE: usize = size_of::<Phi3Session>();
/// `PHI3_SESSION_ALIGN`.
pub const PHI3_SESSION_ALIGN: usize = align_of::<Phi3Session>();
/// `PHI3_TOKENIZER_SIZE`.
pub const PHI3_TOKENIZER_SIZE: usize = size_of::<Phi3Tokenizer>();
/// `PHI3_TOKENIZER_ALIGN`.
pub const PHI3_TOKENIZER_ALIGN: usize = align_of::<Phi3Tokenizer>();
/// `PHI3_SAMPLER_SIZE`.
pub const PHI3_SAMPLER_SIZE: usize = size_of::<Phi3Sampler>();
/// `PHI3_SAMPLER_ALIGN`.
pub const PHI3_SAMPLER_ALIGN: usize = align_of::<Phi3Sampler>();
/// `PHI3_ARENA_ALIGN`: the session arena's alignment.
pub const PHI3_ARENA_ALIGN: usize = phi3_kernels::model::ARENA_ALIGN;
/// `PHI3_MAX_STOP_STRINGS`: most stop strings one generation takes.
pub const PHI3_MAX_STOP_STRINGS: usize = 8;
/// `PHI3_NO_TOKEN`: the token of the callback's final piece (held-back text).
pub const PHI3_NO_TOKEN: u32 = u32::MAX;

// Every value fits its reserve (the handle is then exactly `8 + 8 · N` bytes); these fail the
// build on any target where the library's types outgrow the header's sizes.
const _: () = {
    assert!(size_of::<ModelInner>() <= 8 * reserve::MODEL);
    assert!(size_of::<Session<'static, 'static, 'static>>() <= 8 * reserve::SESSION);
    assert!(size_of::<Tokenizer<'static, 'static>>() <= 8 * reserve::TOKENIZER);
    assert!(size_of::<Sampler>() <= 8 * reserve::SAMPLER);
    assert!(PHI3_MODEL_SIZE == 8 + 8 * reserve::MODEL);
    assert!(PHI3_SESSION_SIZE == 8 + 8 * reserve::SESSION);
    assert!(PHI3_TOKENIZER_SIZE == 8 + 8 * reserve::TOKENIZER);
    assert!(PHI3_SAMPLER_SIZE == 8 + 8 * reserve::SAMPLER);
    let [m, s, t, p] = HANDLE_SIZES;
    assert!(PHI3_MODEL_SIZE == m && PHI3_SESSION_SIZE == s);
    assert!(PHI3_TOKENIZER_SIZE == t && PHI3_SAMPLER_SIZE == p);
    assert!(PHI3_MODEL_ALIGN == 8 && PHI3_SESSION_ALIGN == 8);
    assert!(PHI3_TOKENIZER_ALIGN == 8 && PHI3_SAMPLER_ALIGN == 8);
};

impl<T, const N: usize, const TAG: u64> Handle<T, N, TAG> {
    /// Checks `h` for null, alignment and the tag; the value.
    ///
    /// # Safety
    /// `h` is null or points to `size_of::<Self>()` readable bytes that no one writes during
    /// `'a`.
    unsafe fn get<'a>(h: *const Self) -> Result<&'a T, phi3_status> {
        check_ptr(h)?;
        // SAFETY: non-null and aligned (checked); readable per the caller's contract.
        let handle = unsafe { &*h };
        if handle.tag != TAG {
            return Err(PHI3_ERR_NOT_INITIALIZED);
        }
        // SAFETY: the tag is only set by `put`, after writing a valid value.
        Ok(unsafe { &handle.slot.value })
    }

    /// [`Handle::get`], mutably.
    ///
    /// # Safety
    /// `h` is null or points to `size_of::<Self>()` bytes no one else reads or writes during
    /// `'a`.
    unsafe fn get_mut<'a>(h: *mut Self) -> Result<&'a mut T, phi3_status> {
        check_ptr(h)?;
        // SAFETY: non-null and aligned (checked); exclusive per the caller's contract.
        let handle = unsafe { &mut *h };
        if handle.tag != TAG {
            return Err(PHI3_ERR_NOT_INITIALIZED);
        }
        // SAFETY: the tag is only set by `put`, after writing a valid value.
        Ok(unsafe { &mut handle.slot.value })
    }

    /// Checks `h` for null and alignment and marks it uninitialised.
    ///
    /// # Safety
    /// `h` is null or points to `size_of::<Self>()` writable bytes no one else uses.
    unsafe fn clear(h: *mut Self) -> Result<(), phi3_status> {
        check_ptr(h)?;
        // SAFETY: non-null, aligned, writable (caller); a raw write reads nothing.
        unsafe { ptr::addr_of_mut!((*h).tag).write(0) };
        Ok(())
    }

    /// Writes `value` and the tag.
    ///
    /// # Safety
    /// `h` passed [`Handle::clear`] and is writable and unused by anyone else.
    unsafe fn put(h: *mut Self, value: T) {
        // SAFETY: aligned and writable (caller); the union field is written as a whole with a
        // raw write (the previous contents, if any, hold nothing to drop: every `T` here owns
        // no resources).
        unsafe {
            ptr::addr_of_mut!((*h).slot.value).write(ManuallyDrop::new(value));
            ptr::addr_of_mut!((*h).tag).write(TAG);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pointer and slice checks.

fn check_ptr<T>(p: *const T) -> Result<(), phi3_status> {
    if p.is_null() {
        return Err(PHI3_ERR_NULL_POINTER);
    }
    if !(p as usize).is_multiple_of(align_of::<T>()) {
        return Err(PHI3_ERR_MISALIGNED);
    }
    Ok(())
}

fn check_slice<T>(p: *const T, len: usize) -> Result<(), phi3_status> {
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(PHI3_ERR_INVALID_ARGUMENT);
    }
    check_ptr(p)
}

/// `len` values at `p` (`p` may be null when `len` is 0).
///
/// # Safety
/// When `len > 0`, `p` points to `len` initialised values that no one writes during `'a`.
unsafe fn slice<'a, T>(p: *const T, len: usize) -> Result<&'a [T], phi3_status> {
    if len == 0 {
        return Ok(&[]);
    }
    check_slice(p, len)?;
    // SAFETY: non-null, aligned, at most isize::MAX bytes (checked); valid per the caller.
    Ok(unsafe { core::slice::from_raw_parts(p, len) })
}

/// `len` values at `p`, mutably (`p` may be null when `len` is 0).
///
/// # Safety
/// When `len > 0`, `p` points to `len` writable values of any contents (every `T` used here
/// is plain data) that no one else uses during `'a`.
unsafe fn slice_mut<'a, T>(p: *mut T, len: usize) -> Result<&'a mut [T], phi3_status> {
    if len == 0 {
        return Ok(&mut []);
    }
    check_slice(p, len)?;
    // SAFETY: non-null, aligned, at most isize::MAX bytes (checked); exclusive per the caller.
    Ok(unsafe { core::slice::from_raw_parts_mut(p, len) })
}

/// UTF-8 text at `p` (`len` bytes, not NUL-terminated).
///
/// # Safety
/// As [`slice`].
unsafe fn text<'a>(p: *const c_char, len: usize) -> Result<&'a str, phi3_status> {
    // SAFETY: the caller's contract is `slice`'s.
    let bytes = unsafe { slice(p.cast::<u8>(), len) }?;
    core::str::from_utf8(bytes).map_err(|_| PHI3_ERR_INVALID_UTF8)
}

/// Reads a `T` the caller passed by pointer.
///
/// # Safety
/// `p` is null or points to a valid `T`.
unsafe fn read<T: Copy>(p: *const T) -> Result<T, phi3_status> {
    check_ptr(p)?;
    // SAFETY: non-null and aligned (checked), valid per the caller.
    Ok(unsafe { p.read() })
}

/// Writes a `T` to a caller out-pointer.
///
/// # Safety
/// `p` is null or points to writable memory for a `T`.
unsafe fn write<T>(p: *mut T, value: T) -> Result<(), phi3_status> {
    check_ptr(p)?;
    // SAFETY: non-null and aligned (checked), writable per the caller.
    unsafe { p.write(value) };
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Model.

/// `phi3_model_init(model, gguf, len)`: parses the GGUF bytes and binds the model. The bytes
/// are borrowed, not copied: they must stay valid and unchanged while the model (or anything
/// made from it) is used, and start at an address aligned for the tensor types (a multiple of
/// 64, e.g. `aligned_alloc(64, …)` or a memory map, is always enough).
///
/// # Safety
/// `model` points to `PHI3_MODEL_SIZE` writable bytes; `gguf` to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn phi3_model_init(
    model: *mut Phi3Model,
    gguf: *const c_void,
    len: usize,
) -> phi3_status {
    done((|| {
        // SAFETY: `model` is the caller's handle memory.
        unsafe { Phi3Model::clear(model) }?;
        // SAFETY: the caller lends `len` bytes for as long as the model is used ('static
        // stands for that).
        let bytes: &'static [u8] = unsafe { slice(gguf.cast::<u8>(), len) }?;
        let gguf = Gguf::parse(bytes).map_err(|e| status_of(&e.into()))?;
        let bound = Model::from_gguf(&gguf).map_err(|e| status_of(&e))?;
        // SAFETY: `model` passed `clear`.
        unsafe { Phi3Model::put(model, ModelInner { gguf, model: bound }) };
        Ok(())
    })())
}

/// `phi3_model_info`: the figures a caller sizes buffers with.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct phi3_model_info {
    /// Vocabulary size (logits per token).
    pub n_vocab: usize,
    /// Embedding width.
    pub n_embd: usize,
    /// Layers.
    pub n_layer: usize,
    /// The longest context the model was trained for.
    pub max_trained_context: usize,
}

/// `phi3_model_get_info(model, out)`.
///
/// # Safety
/// `model` is an initialised model handle; `out` points to a writable `phi3_model_info`.
#[no_mangle]
pub unsafe extern "C" fn phi3_model_get_info(
    model: *const Phi3Model,
    out: *mut phi3_model_info,
) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle.
        let m = unsafe { Phi3Model::get(model) }?;
        let c = m.model.config();
        let info = phi3_model_info {
            n_vocab: c.n_vocab,
            n_embd: c.n_embd,
            n_layer: c.n_layer,
            max_trained_context: c.max_trained_context(),
        };
        // SAFETY: the caller's out-pointer.
        unsafe { write(out, info) }
    })())
}

// ---------------------------------------------------------------------------------------------
// Session.

/// `phi3_limits`: what a session is planned for.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct phi3_limits {
    /// Most positions the sequence may hold (KV cache length).
    pub max_context: usize,
    /// Most tokens one forward call (or prefill chunk) takes.
    pub max_batch: usize,
    /// Worker count the scratch is sized for (the C API runs on the calling thread: use 1).
    pub workers: usize,
    /// Allow a `max_context` beyond the model's trained context.
    pub allow_beyond_trained_context: bool,
}

fn limits_of(l: &phi3_limits) -> Limits {
    let limits = Limits::new(l.max_context, l.max_batch, l.workers);
    if l.allow_beyond_trained_context {
        limits.beyond_trained_context()
    } else {
        limits
    }
}

/// `phi3_arena_size(model, limits, bytes)`: the arena bytes a session with these limits
/// needs (the arena must also start at a multiple of `PHI3_ARENA_ALIGN`).
///
/// # Safety
/// `model` is an initialised model handle; `limits` a valid `phi3_limits`; `bytes` writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_arena_size(
    model: *const Phi3Model,
    limits: *const phi3_limits,
    bytes: *mut usize,
) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle and argument.
        let (m, l) = unsafe { (Phi3Model::get(model)?, read(limits)?) };
        let plan =
            ArenaPlan::new(m.model.config(), &limits_of(&l)).map_err(|e| model_status(&e))?;
        // SAFETY: the caller's out-pointer.
        unsafe { write(bytes, plan.bytes_needed()) }
    })())
}

/// `phi3_session_init(session, model, arena, arena_len, limits)`: an empty session whose
/// working memory is `arena` (at least `phi3_arena_size` bytes at a multiple of
/// `PHI3_ARENA_ALIGN`; any contents). The session borrows the model handle and the arena.
///
/// # Safety
/// `session` points to `PHI3_SESSION_SIZE` writable bytes; `model` is an initialised model
/// handle; `arena` points to `arena_len` writable bytes used by nothing else; `limits` is valid.
#[no_mangle]
pub unsafe extern "C" fn phi3_session_init(
    session: *mut Phi3Session,
    model: *const Phi3Model,
    arena: *mut c_void,
    arena_len: usize,
    limits: *const phi3_limits,
) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle memory.
        unsafe { Phi3Session::clear(session) }?;
        // SAFETY: the caller lends the model handle, the arena and the limits for as long as
        // the session is used ('static stands for that).
        let (m, arena, l): (&'static ModelInner, &'static mut [u8], phi3_limits) = unsafe {
            (
                Phi3Model::get(model)?,
                slice_mut(arena.cast::<u8>(), arena_len)?,
                read(limits)?,
            )
        };
        let s = Session::new(&m.model, arena, limits_of(&l), Kernels::detect())
            .map_err(|e| status_of(&e))?;
        // SAFETY: `session` passed `clear`.
        unsafe { Phi3Session::put(session, s) };
        Ok(())
    })())
}

/// `phi3_session_len(session, len)`: positions in the sequence.
///
/// # Safety
/// `session` is an initialised session handle; `len` writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_session_len(
    session: *const Phi3Session,
    len: *mut usize,
) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle and out-pointer.
        unsafe {
            let s = Phi3Session::get(session)?;
            write(len, s.len())
        }
    })())
}

/// `phi3_session_truncate(session, n)`: keeps the first `n` positions (`n = 0` resets).
///
/// # Safety
/// `session` is an initialised session handle.
#[no_mangle]
pub unsafe extern "C" fn phi3_session_truncate(session: *mut Phi3Session, n: usize) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle.
        let s = unsafe { Phi3Session::get_mut(session) }?;
        s.truncate(n).map_err(|e| status_of(&e))
    })())
}

/// `phi3_forward(session, tokens, n, all_logits, logits, n_logits)`: appends `n` tokens
/// (at most `max_batch`) and points `*logits` at the last token's `n_vocab` logits (with
/// `all_logits`, at `n · n_vocab`: one row per token). The logits live in the arena and stay
/// valid until the session is next used. `logits` and `n_logits` may be null.
///
/// # Safety
/// `session` is an initialised session handle; `tokens` points to `n` ids; `logits` and
/// `n_logits` are null or writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_forward(
    session: *mut Phi3Session,
    tokens: *const u32,
    n: usize,
    all_logits: bool,
    logits: *mut *const f32,
    n_logits: *mut usize,
) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle and token array.
        let (s, ids) = unsafe { (Phi3Session::get_mut(session)?, slice(tokens, n)?) };
        let out = s.forward(ids, all_logits).map_err(|e| status_of(&e))?;
        if !logits.is_null() {
            // SAFETY: non-null: the caller's out-pointer.
            unsafe { write(logits, out.as_ptr()) }?;
        }
        if !n_logits.is_null() {
            // SAFETY: non-null: the caller's out-pointer.
            unsafe { write(n_logits, out.len()) }?;
        }
        Ok(())
    })())
}

// ---------------------------------------------------------------------------------------------
// Tokenizer.

/// `phi3_tokenizer_size(model, max_text_bytes, bytes)`: the buffer a tokenizer for texts of
/// up to `max_text_bytes` needs.
///
/// # Safety
/// `model` is an initialised model handle; `bytes` writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_tokenizer_size(
    model: *const Phi3Model,
    max_text_bytes: usize,
    bytes: *mut usize,
) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle.
        let m = unsafe { Phi3Model::get(model) }?;
        let n =
            Tokenizer::bytes_needed(&m.gguf, max_text_bytes).map_err(|e| tokenizer_status(&e))?;
        // SAFETY: the caller's out-pointer.
        unsafe { write(bytes, n) }
    })())
}

/// `phi3_tokenizer_init(tok, model, buf, len, max_text_bytes)`: builds the tokenizer's tables
/// in `buf` (at least `phi3_tokenizer_size` bytes, any alignment). Borrows the model handle and
/// `buf`.
///
/// # Safety
/// `tok` points to `PHI3_TOKENIZER_SIZE` writable bytes; `model` is an initialised model
/// handle; `buf` points to `len` writable bytes used by nothing else.
#[no_mangle]
pub unsafe extern "C" fn phi3_tokenizer_init(
    tok: *mut Phi3Tokenizer,
    model: *const Phi3Model,
    buf: *mut c_void,
    len: usize,
    max_text_bytes: usize,
) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle memory.
        unsafe { Phi3Tokenizer::clear(tok) }?;
        // SAFETY: the caller lends the model handle and the buffer while the tokenizer is
        // used ('static stands for that).
        let (m, buf): (&'static ModelInner, &'static mut [u8]) =
            unsafe { (Phi3Model::get(model)?, slice_mut(buf.cast::<u8>(), len)?) };
        let t = Tokenizer::new(&m.gguf, buf, max_text_bytes).map_err(|e| tokenizer_status(&e))?;
        // SAFETY: `tok` passed `clear`.
        unsafe { Phi3Tokenizer::put(tok, t) };
        Ok(())
    })())
}

/// `phi3_max_tokens(text_bytes)`: at most this many ids come from `phi3_tokenize` of a text
/// of `text_bytes` bytes, for any vocabulary and flags.
#[no_mangle]
pub extern "C" fn phi3_max_tokens(text_bytes: usize) -> usize {
    max_encode_tokens(text_bytes)
}

/// `PHI3_TOKENIZE_ADD_SPECIAL`: add BOS (and EOS) as the vocabulary says.
pub const PHI3_TOKENIZE_ADD_SPECIAL: u32 = 1;
/// `PHI3_TOKENIZE_PARSE_SPECIAL`: match control tokens written in the text.
pub const PHI3_TOKENIZE_PARSE_SPECIAL: u32 = 2;
/// `PHI3_DETOKENIZE_REMOVE_SPECIAL`: drop a leading BOS / trailing EOS the vocabulary adds.
pub const PHI3_DETOKENIZE_REMOVE_SPECIAL: u32 = 1;
/// `PHI3_DETOKENIZE_RENDER_SPECIAL`: write control tokens' text.
pub const PHI3_DETOKENIZE_RENDER_SPECIAL: u32 = 2;

/// `phi3_tokenize(tok, text, len, flags, ids, cap, n_ids)`: the ids of `len` bytes of UTF-8
/// `text`. `*n_ids` is the count; with `PHI3_ERR_BUFFER_TOO_SMALL`, the count needed (`cap` =
/// `phi3_max_tokens(len)` is always enough).
///
/// # Safety
/// `tok` is an initialised tokenizer handle; `text` points to `len` bytes; `ids` to `cap`
/// writable ids; `n_ids` writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_tokenize(
    tok: *mut Phi3Tokenizer,
    text_ptr: *const c_char,
    len: usize,
    flags: u32,
    ids: *mut u32,
    cap: usize,
    n_ids: *mut usize,
) -> phi3_status {
    done((|| {
        if flags & !(PHI3_TOKENIZE_ADD_SPECIAL | PHI3_TOKENIZE_PARSE_SPECIAL) != 0 {
            return Err(PHI3_ERR_INVALID_ARGUMENT);
        }
        check_ptr(n_ids)?;
        // SAFETY: the caller's handle, text and output array.
        let (t, s, out) = unsafe {
            (
                Phi3Tokenizer::get_mut(tok)?,
                text(text_ptr, len)?,
                slice_mut(ids, cap)?,
            )
        };
        let opts = EncodeOptions {
            add_special: flags & PHI3_TOKENIZE_ADD_SPECIAL != 0,
            parse_special: flags & PHI3_TOKENIZE_PARSE_SPECIAL != 0,
        };
        let (n, status) = match t.encode(s, opts, out) {
            Ok(n) => (n, PHI3_OK),
            Err(TokenizerError::OutputTooSmall { needed, .. }) => {
                (needed, PHI3_ERR_BUFFER_TOO_SMALL)
            }
            Err(e) => return Err(tokenizer_status(&e)),
        };
        // SAFETY: checked above: the caller's out-pointer.
        unsafe { write(n_ids, n) }?;
        match status {
            PHI3_OK => Ok(()),
            code => Err(code),
        }
    })())
}

/// `phi3_detokenize(tok, ids, n, flags, out, cap, n_bytes)`: the UTF-8 bytes of `n` ids (not
/// NUL-terminated; a text split inside a character is completed with U+FFFD by no one: this
/// writes the raw bytes, as llama.cpp's `llama_detokenize`). `*n_bytes` is the length; with
/// `PHI3_ERR_BUFFER_TOO_SMALL`, the length needed.
///
/// # Safety
/// `tok` is an initialised tokenizer handle; `ids` points to `n` ids; `out` to `cap` writable
/// bytes; `n_bytes` writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_detokenize(
    tok: *const Phi3Tokenizer,
    ids: *const u32,
    n: usize,
    flags: u32,
    out: *mut c_char,
    cap: usize,
    n_bytes: *mut usize,
) -> phi3_status {
    done((|| {
        if flags & !(PHI3_DETOKENIZE_REMOVE_SPECIAL | PHI3_DETOKENIZE_RENDER_SPECIAL) != 0 {
            return Err(PHI3_ERR_INVALID_ARGUMENT);
        }
        check_ptr(n_bytes)?;
        // SAFETY: the caller's handle, id array and output buffer.
        let (t, ids, buf) = unsafe {
            (
                Phi3Tokenizer::get(tok)?,
                slice(ids, n)?,
                slice_mut(out.cast::<u8>(), cap)?,
            )
        };
        let opts = DecodeOptions {
            remove_special: flags & PHI3_DETOKENIZE_REMOVE_SPECIAL != 0,
            render_special: flags & PHI3_DETOKENIZE_RENDER_SPECIAL != 0,
        };
        let (len, status) = match t.decode(ids, opts, buf) {
            Ok(len) => (len, PHI3_OK),
            Err(TokenizerError::OutputTooSmall { needed, .. }) => {
                (needed, PHI3_ERR_BUFFER_TOO_SMALL)
            }
            Err(e) => return Err(tokenizer_status(&e)),
        };
        // SAFETY: checked above: the caller's out-pointer.
        unsafe { write(n_bytes, len) }?;
        match status {
            PHI3_OK => Ok(()),
            code => Err(code),
        }
    })())
}

/// `phi3_is_stop_token(tok, id)`: whether generation stops on `id` (EOS, `<|end|>` …); false
/// for an uninitialised handle.
///
/// # Safety
/// `tok` is null or an initialised tokenizer handle.
#[no_mangle]
pub unsafe extern "C" fn phi3_is_stop_token(tok: *const Phi3Tokenizer, id: u32) -> bool {
    // SAFETY: the caller's handle.
    unsafe { Phi3Tokenizer::get(tok) }.is_ok_and(|t| t.is_stop_token(id))
}

// ---------------------------------------------------------------------------------------------
// Sampling.

/// `phi3_sampler_config`: the sampler's settings (`phi3_sampler_config_default` /
/// `_greedy` fill one).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct phi3_sampler_config {
    /// Softmax temperature; `<= 0` is greedy.
    pub temperature: f32,
    /// Keep the k most likely tokens (0 = off).
    pub top_k: usize,
    /// Nucleus mass in (0, 1] (1 = off).
    pub top_p: f32,
    /// Relative probability floor in [0, 1] (0 = off).
    pub min_p: f32,
    /// Repetition penalty > 0 (1 = off).
    pub repeat_penalty: f32,
    /// RNG seed.
    pub seed: u64,
}

fn sampler_config_of(c: &phi3_sampler_config) -> SamplerConfig {
    SamplerConfig {
        temperature: c.temperature,
        top_k: c.top_k,
        top_p: c.top_p,
        min_p: c.min_p,
        repeat_penalty: c.repeat_penalty,
        seed: c.seed,
    }
}

fn c_sampler_config(c: &SamplerConfig) -> phi3_sampler_config {
    phi3_sampler_config {
        temperature: c.temperature,
        top_k: c.top_k,
        top_p: c.top_p,
        min_p: c.min_p,
        repeat_penalty: c.repeat_penalty,
        seed: c.seed,
    }
}

/// `phi3_sampler_config_default(out)`: llama.cpp's defaults (temperature 0.8, top-k 40,
/// top-p 0.95, min-p 0.05, no penalty, seed 0).
///
/// # Safety
/// `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_sampler_config_default(out: *mut phi3_sampler_config) -> phi3_status {
    // SAFETY: the caller's out-pointer.
    done(unsafe { write(out, c_sampler_config(&SamplerConfig::default())) })
}

/// `phi3_sampler_config_greedy(out)`: temperature 0 (the largest logit; ties: lowest id).
///
/// # Safety
/// `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_sampler_config_greedy(out: *mut phi3_sampler_config) -> phi3_status {
    // SAFETY: the caller's out-pointer.
    done(unsafe { write(out, c_sampler_config(&SamplerConfig::greedy())) })
}

/// `phi3_sampler_init(sampler, config)`: checks the settings and seeds the RNG.
///
/// # Safety
/// `sampler` points to `PHI3_SAMPLER_SIZE` writable bytes; `config` is valid.
#[no_mangle]
pub unsafe extern "C" fn phi3_sampler_init(
    sampler: *mut Phi3Sampler,
    config: *const phi3_sampler_config,
) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle memory and argument.
        let c = unsafe {
            Phi3Sampler::clear(sampler)?;
            read(config)?
        };
        let s = Sampler::new(sampler_config_of(&c)).map_err(|e| sample_status(&e))?;
        // SAFETY: `sampler` passed `clear`.
        unsafe { Phi3Sampler::put(sampler, s) };
        Ok(())
    })())
}

/// `phi3_sample_scratch_size(n_vocab)`: scratch bytes `phi3_sample` needs for `n_vocab`
/// logits (saturating).
#[no_mangle]
pub extern "C" fn phi3_sample_scratch_size(n_vocab: usize) -> usize {
    n_vocab.saturating_mul(8).saturating_add(8)
}

/// `phi3_sample(sampler, logits, n, recent, n_recent, scratch, scratch_len, token)`: chooses
/// a token from `n` logits; `recent` is the repetition-penalty window.
///
/// # Safety
/// `sampler` is an initialised sampler handle; `logits` points to `n` floats, `recent` to
/// `n_recent` ids, `scratch` to `scratch_len` writable bytes (any alignment); `token` writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_sample(
    sampler: *mut Phi3Sampler,
    logits: *const f32,
    n: usize,
    recent: *const u32,
    n_recent: usize,
    scratch: *mut c_void,
    scratch_len: usize,
    token: *mut u32,
) -> phi3_status {
    done((|| {
        // SAFETY: the caller's handle and arrays.
        let (s, logits, recent, scratch) = unsafe {
            (
                Phi3Sampler::get_mut(sampler)?,
                slice(logits, n)?,
                slice(recent, n_recent)?,
                slice_mut(scratch.cast::<u8>(), scratch_len)?,
            )
        };
        if scratch_len < phi3_sample_scratch_size(n) {
            return Err(PHI3_ERR_SCRATCH_TOO_SMALL);
        }
        let (ids, work) = split_scratch(scratch, n).ok_or(PHI3_ERR_SCRATCH_TOO_SMALL)?;
        let id = s
            .sample(logits, recent, ids, work)
            .map_err(|e| sample_status(&e))?;
        // SAFETY: the caller's out-pointer.
        unsafe { write(token, id) }
    })())
}

/// Two 4-aligned arrays of `n` values (ids, work) from `scratch`.
fn split_scratch(scratch: &mut [u8], n: usize) -> Option<(&mut [u32], &mut [f32])> {
    let pad = scratch.as_ptr().align_offset(4);
    let bytes = n.checked_mul(4)?;
    let rest = scratch.get_mut(pad..)?;
    let (a, rest) = rest.split_at_mut_checked(bytes)?;
    let b = rest.get_mut(..bytes)?;
    Some((bytemuck_cast_u32(a)?, bytemuck_cast_f32(b)?))
}

fn bytemuck_cast_u32(b: &mut [u8]) -> Option<&mut [u32]> {
    // SAFETY: `align_to_mut` only yields whole, aligned `u32`s; every bit pattern is a `u32`.
    let (head, mid, tail) = unsafe { b.align_to_mut::<u32>() };
    (head.is_empty() && tail.is_empty()).then_some(mid)
}

fn bytemuck_cast_f32(b: &mut [u8]) -> Option<&mut [f32]> {
    // SAFETY: `align_to_mut` only yields whole, aligned `f32`s; every bit pattern is an `f32`.
    let (head, mid, tail) = unsafe { b.align_to_mut::<f32>() };
    (head.is_empty() && tail.is_empty()).then_some(mid)
}

/// `phi3_greedy(logits, n, token)`: the largest logit's id (ties: lowest; NaN skipped).
///
/// # Safety
/// `logits` points to `n` floats; `token` writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_greedy(logits: *const f32, n: usize, token: *mut u32) -> phi3_status {
    done((|| {
        // SAFETY: the caller's array.
        let l = unsafe { slice(logits, n) }?;
        let id = greedy(l).map_err(|e| sample_status(&e))?;
        // SAFETY: the caller's out-pointer.
        unsafe { write(token, id) }
    })())
}

// ---------------------------------------------------------------------------------------------
// Generation.

/// `phi3_str`: `len` bytes of UTF-8 at `ptr` (not NUL-terminated).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct phi3_str {
    /// The bytes (may be null when `len` is 0).
    pub ptr: *const c_char,
    /// Their count.
    pub len: usize,
}

/// `phi3_clock_fn`: nanoseconds since any fixed origin.
pub type phi3_clock_fn = Option<unsafe extern "C" fn(user: *mut c_void) -> u64>;

/// `phi3_piece_fn`: receives each piece of generated text; returns 0 to continue, anything
/// else to stop.
pub type phi3_piece_fn = Option<
    unsafe extern "C" fn(user: *mut c_void, token: u32, text: *const c_char, len: usize) -> i32,
>;

/// `phi3_generate_config` (`phi3_generate_config_default` fills one).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct phi3_generate_config {
    /// Most tokens to sample (the stop token included).
    pub max_tokens: usize,
    /// Generation stops when the text contains one of these (at most
    /// `PHI3_MAX_STOP_STRINGS`, none empty).
    pub stop_strings: *const phi3_str,
    /// Entries of `stop_strings`.
    pub n_stop_strings: usize,
    /// Tokens of history the repetition penalty sees.
    pub penalty_window: usize,
    /// Write control tokens' text.
    pub render_special: bool,
    /// Timings source (null: every timing is 0).
    pub clock: phi3_clock_fn,
    /// Passed to `clock`.
    pub clock_user: *mut c_void,
}

/// `phi3_generate_config_default(out)`: 128 tokens, no stop strings, window 64, no clock.
///
/// # Safety
/// `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_generate_config_default(
    out: *mut phi3_generate_config,
) -> phi3_status {
    let c = phi3_generate_config {
        max_tokens: DEFAULT_MAX_TOKENS,
        stop_strings: ptr::null(),
        n_stop_strings: 0,
        penalty_window: DEFAULT_PENALTY_WINDOW,
        render_special: false,
        clock: None,
        clock_user: ptr::null_mut(),
    };
    // SAFETY: the caller's out-pointer.
    done(unsafe { write(out, c) })
}

/// `phi3_generate_stats`: counts and timings of one generation.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct phi3_generate_stats {
    /// Prompt tokens fed.
    pub prompt_tokens: usize,
    /// Tokens sampled (a stop token included).
    pub generated: usize,
    /// Decode forward calls.
    pub decode_tokens: usize,
    /// Nanoseconds of prefill (by the config's clock).
    pub prefill_ns: u64,
    /// Nanoseconds of decode forward calls.
    pub decode_ns: u64,
    /// `PHI3_STOP_*`.
    pub stop_reason: u32,
    /// The stop token (`PHI3_STOP_TOKEN`) or the stop string's index (`PHI3_STOP_STRING`).
    pub stop_detail: u32,
}

/// `PHI3_STOP_MAX_TOKENS`: `max_tokens` were sampled.
pub const PHI3_STOP_MAX_TOKENS: u32 = 0;
/// `PHI3_STOP_TOKEN`: a stop token was sampled (`stop_detail`).
pub const PHI3_STOP_TOKEN: u32 = 1;
/// `PHI3_STOP_STRING`: a stop string appeared (`stop_detail` = its index).
pub const PHI3_STOP_STRING: u32 = 2;
/// `PHI3_STOP_CONTEXT_FULL`: the session is full.
pub const PHI3_STOP_CONTEXT_FULL: u32 = 3;
/// `PHI3_STOP_CANCELLED`: the callback returned non-zero.
pub const PHI3_STOP_CANCELLED: u32 = 4;

/// The C clock as a [`Clock`].
struct CClock {
    f: unsafe extern "C" fn(*mut c_void) -> u64,
    user: *mut c_void,
}

impl Clock for CClock {
    fn now_ns(&self) -> u64 {
        // SAFETY: the caller gave this function and its argument for this call.
        unsafe { (self.f)(self.user) }
    }
}

/// The stop strings of `c` as `&str`s in `out`.
///
/// # Safety
/// `c.stop_strings` points to `c.n_stop_strings` valid `phi3_str`s, each pointing to its bytes.
unsafe fn stop_strings<'a>(
    c: &phi3_generate_config,
    out: &'a mut [&'a str; PHI3_MAX_STOP_STRINGS],
) -> Result<&'a [&'a str], phi3_status> {
    if c.n_stop_strings > PHI3_MAX_STOP_STRINGS {
        return Err(PHI3_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: the caller's array.
    let strs = unsafe { slice(c.stop_strings, c.n_stop_strings) }?;
    for (dst, s) in out.iter_mut().zip(strs) {
        // SAFETY: the caller's string.
        *dst = unsafe { text(s.ptr, s.len) }?;
    }
    Ok(out.get(..strs.len()).unwrap_or(&[]))
}

/// `phi3_generate_scratch_size(model, tok, config, bytes)`: the scratch `phi3_generate`
/// needs (any alignment).
///
/// # Safety
/// `model`, `tok` are initialised handles; `config` is valid (its stop strings too); `bytes`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_generate_scratch_size(
    model: *const Phi3Model,
    tok: *const Phi3Tokenizer,
    config: *const phi3_generate_config,
    bytes: *mut usize,
) -> phi3_status {
    done((|| {
        let mut strs = [""; PHI3_MAX_STOP_STRINGS];
        // SAFETY: the caller's handles and config.
        let (m, t, c) = unsafe {
            (
                Phi3Model::get(model)?,
                Phi3Tokenizer::get(tok)?,
                read(config)?,
            )
        };
        // SAFETY: the caller's config and its stop strings.
        let stops = unsafe { stop_strings(&c, &mut strs) }?;
        let cfg = GenerateConfig {
            max_tokens: c.max_tokens,
            stop_strings: stops,
            penalty_window: c.penalty_window,
            ..GenerateConfig::default()
        };
        // SAFETY: the caller's out-pointer.
        unsafe { write(bytes, Generator::scratch_bytes(&m.model, t, &cfg)) }
    })())
}

/// `phi3_generate(session, tok, sampler, prompt, n_prompt, config, scratch, scratch_len,
/// on_piece, user, stats)`: appends the prompt to the session (prefill in chunks of
/// `max_batch`), then samples and feeds back tokens until `max_tokens`, a stop token, a stop
/// string, a full context or the callback says stop. `on_piece(user, token, text, len)` gets
/// every sampled token with the text it completes (whole UTF-8 characters, possibly none), and
/// a last call with `PHI3_NO_TOKEN` when text was held back; `text` is valid during the call
/// only. `on_piece` and `stats` may be null.
///
/// # Safety
/// Handles initialised and not used elsewhere during the call; `prompt` points to `n_prompt`
/// ids; `config` valid; `scratch` points to `scratch_len` writable bytes that overlap nothing
/// else; `on_piece` is safe to call with `user`; `stats` null or writable.
#[no_mangle]
pub unsafe extern "C" fn phi3_generate(
    session: *mut Phi3Session,
    tok: *const Phi3Tokenizer,
    sampler: *mut Phi3Sampler,
    prompt: *const u32,
    n_prompt: usize,
    config: *const phi3_generate_config,
    scratch: *mut c_void,
    scratch_len: usize,
    on_piece: phi3_piece_fn,
    user: *mut c_void,
    stats: *mut phi3_generate_stats,
) -> phi3_status {
    done((|| {
        if !stats.is_null() {
            check_ptr(stats)?;
        }
        let mut strs = [""; PHI3_MAX_STOP_STRINGS];
        // SAFETY: the caller's handles, arrays and config.
        let (s, t, smp, ids, c, scratch) = unsafe {
            (
                Phi3Session::get_mut(session)?,
                Phi3Tokenizer::get(tok)?,
                Phi3Sampler::get_mut(sampler)?,
                slice(prompt, n_prompt)?,
                read(config)?,
                slice_mut(scratch.cast::<u8>(), scratch_len)?,
            )
        };
        // SAFETY: the caller's config and its stop strings.
        let stops = unsafe { stop_strings(&c, &mut strs) }?;
        let clock = c.clock.map(|f| CClock {
            f,
            user: c.clock_user,
        });
        let cfg = GenerateConfig {
            max_tokens: c.max_tokens,
            stop_strings: stops,
            penalty_window: c.penalty_window,
            render_special: c.render_special,
            clock: match &clock {
                Some(clk) => clk,
                None => &phi3_kernels::generate::NoClock,
            },
            ..GenerateConfig::default()
        };
        let model = s.model();
        let mut generator =
            Generator::new(scratch, model, t, cfg).map_err(|e| generate_status(&e))?;
        let result = generator.run(s, t, smp, ids, |piece| match on_piece {
            None => true,
            Some(f) => {
                let token = piece.token.unwrap_or(PHI3_NO_TOKEN);
                // SAFETY: the caller's callback with its own argument; the text is valid for
                // the call.
                let r = unsafe {
                    f(
                        user,
                        token,
                        piece.text.as_ptr().cast::<c_char>(),
                        piece.text.len(),
                    )
                };
                r == 0
            }
        });
        let st = result.map_err(|e| status_of(&e))?;
        if !stats.is_null() {
            let (reason, detail) = match st.stop {
                StopReason::MaxTokens => (PHI3_STOP_MAX_TOKENS, 0),
                StopReason::StopToken(id) => (PHI3_STOP_TOKEN, id),
                StopReason::StopString(i) => {
                    (PHI3_STOP_STRING, u32::try_from(i).unwrap_or(u32::MAX))
                }
                StopReason::ContextFull => (PHI3_STOP_CONTEXT_FULL, 0),
                StopReason::Cancelled => (PHI3_STOP_CANCELLED, 0),
                _ => (PHI3_STOP_MAX_TOKENS, 0),
            };
            let out = phi3_generate_stats {
                prompt_tokens: st.prompt_tokens,
                generated: st.generated,
                decode_tokens: st.decode_tokens,
                prefill_ns: st.prefill_ns,
                decode_ns: st.decode_ns,
                stop_reason: reason,
                stop_detail: detail,
            };
            // SAFETY: non-null: the caller's out-pointer.
            unsafe { write(stats, out) }?;
        }
        Ok(())
    })())
}
