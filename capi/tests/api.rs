//! The C API called as C would call it: the fixture's golden greedy ids through
//! `phi3_forward` + `phi3_greedy` and through `phi3_generate`, tokenize / detokenize, sampling,
//! and every argument check (null, misaligned, uninitialised, bad lengths, bad UTF-8, small
//! buffers) answering its status code.

use std::ffi::{c_char, c_void, CStr};
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::ptr::{null, null_mut};

use phi3_capi::*;

/// Case c0 of `tests/data/logits/phi3-tiny-gqa-q4_0/cases.txt`.
const PROMPT: [u32; 25] = [
    1, 545, 571, 738, 1007, 918, 335, 261, 307, 846, 494, 907, 321, 143, 70, 649, 378, 577, 261,
    25, 869, 647, 519, 714, 857,
];
const GOLDEN: [u32; 16] = [
    1, 104, 540, 726, 615, 109, 922, 922, 922, 665, 270, 290, 989, 570, 989, 570,
];

/// 64-byte aligned bytes.
struct Buf {
    raw: Vec<u8>,
    off: usize,
    len: usize,
}

impl Buf {
    fn zeroed(len: usize) -> Self {
        let raw = vec![0u8; len + 64];
        let off = raw.as_ptr().align_offset(64);
        Buf { raw, off, len }
    }
    fn from(bytes: &[u8]) -> Self {
        let mut b = Self::zeroed(bytes.len());
        b.as_mut().copy_from_slice(bytes);
        b
    }
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.raw[self.off..self.off + self.len]
    }
    fn ptr(&mut self) -> *mut c_void {
        self.as_mut().as_mut_ptr().cast()
    }
}

fn fixture() -> Buf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/gguf/phi3-tiny-gqa-q4_0.gguf");
    Buf::from(&std::fs::read(path).expect("fixture"))
}

/// A zeroed handle on the heap (the model handle is 32 KiB).
fn handle<T>() -> Box<MaybeUninit<T>> {
    Box::new(MaybeUninit::zeroed())
}

fn limits(max_context: usize, max_batch: usize) -> phi3_limits {
    phi3_limits {
        max_context,
        max_batch,
        workers: 1,
        allow_beyond_trained_context: false,
    }
}

#[test]
fn every_status_has_a_message() {
    for (name, code, msg) in STATUS_CODES {
        let p = phi3_error_message(*code);
        assert!(!p.is_null());
        // SAFETY: the function returns static NUL-terminated strings.
        let s = unsafe { CStr::from_ptr(p) };
        assert_eq!(s, *msg, "{name}");
        assert!(!s.to_bytes().is_empty());
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(phi3_error_message(-7)) };
    assert_eq!(unknown.to_str().unwrap(), "unknown status code");
}

#[test]
fn golden_ids_through_forward_and_generate() {
    let mut gguf = fixture();
    let mut model = handle::<Phi3Model>();
    let m = model.as_mut_ptr();
    // SAFETY (whole test): every pointer is a live, aligned buffer of the stated size.
    unsafe {
        assert_eq!(phi3_model_init(m, gguf.ptr(), gguf.len), PHI3_OK);
        let mut info = phi3_model_info::default();
        assert_eq!(phi3_model_get_info(m, &mut info), PHI3_OK);
        assert_eq!(info.n_vocab, 1024);
        assert_eq!(info.max_trained_context, 256);

        // Forward + greedy, token by token.
        let l = limits(64, 32);
        let mut bytes = 0usize;
        assert_eq!(phi3_arena_size(m, &l, &mut bytes), PHI3_OK);
        let mut arena = Buf::zeroed(bytes);
        let mut session = handle::<Phi3Session>();
        let s = session.as_mut_ptr();
        assert_eq!(phi3_session_init(s, m, arena.ptr(), bytes, &l), PHI3_OK);
        let mut ids = Vec::new();
        let mut feed: Vec<u32> = PROMPT.to_vec();
        for _ in 0..GOLDEN.len() {
            let (mut logits, mut n) = (null(), 0usize);
            assert_eq!(
                phi3_forward(s, feed.as_ptr(), feed.len(), false, &mut logits, &mut n),
                PHI3_OK
            );
            assert_eq!(n, 1024);
            let mut id = 0u32;
            assert_eq!(phi3_greedy(logits, n, &mut id), PHI3_OK);
            ids.push(id);
            feed = vec![id];
        }
        assert_eq!(ids, GOLDEN);
        let mut len = 0usize;
        assert_eq!(phi3_session_len(s, &mut len), PHI3_OK);
        assert_eq!(len, 25 + 15);

        // The generation loop, prompt in chunks of 8, on the same session after a reset.
        assert_eq!(phi3_session_truncate(s, 0), PHI3_OK);
        let mut tok_bytes = 0usize;
        assert_eq!(phi3_tokenizer_size(m, 64, &mut tok_bytes), PHI3_OK);
        let mut tok_buf = vec![0u8; tok_bytes];
        let mut tok = handle::<Phi3Tokenizer>();
        let t = tok.as_mut_ptr();
        assert_eq!(
            phi3_tokenizer_init(t, m, tok_buf.as_mut_ptr().cast(), tok_bytes, 64),
            PHI3_OK
        );
        let mut sc = phi3_sampler_config::default();
        assert_eq!(phi3_sampler_config_greedy(&mut sc), PHI3_OK);
        let mut sampler = handle::<Phi3Sampler>();
        let sp = sampler.as_mut_ptr();
        assert_eq!(phi3_sampler_init(sp, &sc), PHI3_OK);
        let mut cfg = MaybeUninit::<phi3_generate_config>::uninit();
        assert_eq!(phi3_generate_config_default(cfg.as_mut_ptr()), PHI3_OK);
        let mut cfg = cfg.assume_init();
        cfg.max_tokens = 16;
        unsafe extern "C" fn tick(user: *mut c_void) -> u64 {
            // SAFETY: `user` is the test's counter.
            let c = unsafe { &mut *user.cast::<u64>() };
            *c += 1;
            *c
        }
        let mut ticks = 0u64;
        cfg.clock = Some(tick);
        cfg.clock_user = (&mut ticks as *mut u64).cast();
        let mut scratch_bytes = 0usize;
        assert_eq!(
            phi3_generate_scratch_size(m, t, &cfg, &mut scratch_bytes),
            PHI3_OK
        );
        let mut scratch = vec![0u8; scratch_bytes];

        struct Out {
            ids: Vec<u32>,
            text: Vec<u8>,
        }
        unsafe extern "C" fn on_piece(
            user: *mut c_void,
            token: u32,
            text: *const c_char,
            len: usize,
        ) -> i32 {
            // SAFETY: `user` is the test's `Out`; `text` holds `len` bytes for this call.
            let out = unsafe { &mut *user.cast::<Out>() };
            if token != PHI3_NO_TOKEN {
                out.ids.push(token);
            }
            // SAFETY: as above.
            out.text
                .extend_from_slice(unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len) });
            0
        }
        let small = limits(64, 8);
        let mut arena2 = Buf::zeroed(bytes);
        let mut session2 = handle::<Phi3Session>();
        let s2 = session2.as_mut_ptr();
        assert_eq!(
            phi3_session_init(s2, m, arena2.ptr(), bytes, &small),
            PHI3_OK
        );
        let mut out = Out {
            ids: Vec::new(),
            text: Vec::new(),
        };
        let mut stats = phi3_generate_stats::default();
        let status = phi3_generate(
            s2,
            t,
            sp,
            PROMPT.as_ptr(),
            PROMPT.len(),
            &cfg,
            scratch.as_mut_ptr().cast(),
            scratch.len(),
            Some(on_piece),
            (&mut out as *mut Out).cast(),
            &mut stats,
        );
        assert_eq!(status, PHI3_OK);
        assert_eq!(out.ids, GOLDEN);
        assert!(std::str::from_utf8(&out.text).is_ok());
        assert_eq!(stats.generated, 16);
        assert_eq!(stats.prompt_tokens, 25);
        assert_eq!(stats.decode_tokens, 15);
        assert_eq!(stats.stop_reason, PHI3_STOP_MAX_TOKENS);
        assert_eq!((stats.prefill_ns, stats.decode_ns), (1, 15));

        // The text equals phi3_detokenize of the ids (the fixture's pieces are whole UTF-8).
        let mut text = vec![0u8; 4096];
        let mut n = 0usize;
        assert_eq!(
            phi3_detokenize(
                t,
                out.ids.as_ptr(),
                out.ids.len(),
                0,
                text.as_mut_ptr().cast(),
                text.len(),
                &mut n
            ),
            PHI3_OK
        );
        assert!(
            out.text.ends_with(&text[..n][1.min(n)..]),
            "{out:?}",
            out = String::from_utf8_lossy(&out.text)
        );

        // A stop string cut at the generated text's fourth character.
        let full = String::from_utf8(out.text.clone()).unwrap();
        let cut: Vec<(usize, char)> = full.char_indices().collect();
        let stop = &full[cut[3].0..cut[5].0];
        let stops = [phi3_str {
            ptr: stop.as_ptr().cast(),
            len: stop.len(),
        }];
        cfg.stop_strings = stops.as_ptr();
        cfg.n_stop_strings = 1;
        assert_eq!(phi3_session_truncate(s2, 0), PHI3_OK);
        assert_eq!(phi3_sampler_init(sp, &sc), PHI3_OK);
        let mut out2 = Out {
            ids: Vec::new(),
            text: Vec::new(),
        };
        let mut scratch_bytes2 = 0usize;
        assert_eq!(
            phi3_generate_scratch_size(m, t, &cfg, &mut scratch_bytes2),
            PHI3_OK
        );
        let mut scratch2 = vec![0u8; scratch_bytes2];
        let status = phi3_generate(
            s2,
            t,
            sp,
            PROMPT.as_ptr(),
            PROMPT.len(),
            &cfg,
            scratch2.as_mut_ptr().cast(),
            scratch2.len(),
            Some(on_piece),
            (&mut out2 as *mut Out).cast(),
            &mut stats,
        );
        assert_eq!(status, PHI3_OK);
        assert_eq!(stats.stop_reason, PHI3_STOP_STRING);
        assert_eq!(stats.stop_detail, 0);
        assert_eq!(out2.text, &full.as_bytes()[..full.find(stop).unwrap()]);

        // The old scratch is too small for the stop string's held text.
        assert_eq!(phi3_session_truncate(s2, 0), PHI3_OK);
        let status = phi3_generate(
            s2,
            t,
            sp,
            PROMPT.as_ptr(),
            PROMPT.len(),
            &cfg,
            scratch.as_mut_ptr().cast(),
            scratch_bytes2 - 1,
            None,
            null_mut(),
            null_mut(),
        );
        assert_eq!(status, PHI3_ERR_SCRATCH_TOO_SMALL);
        // Too many stop strings, an empty one, invalid UTF-8.
        let many = [stops[0]; PHI3_MAX_STOP_STRINGS + 1];
        let mut bad = cfg;
        bad.stop_strings = many.as_ptr();
        bad.n_stop_strings = many.len();
        assert_eq!(
            phi3_generate_scratch_size(m, t, &bad, &mut scratch_bytes2),
            PHI3_ERR_INVALID_ARGUMENT
        );
        let empty = [phi3_str {
            ptr: null(),
            len: 0,
        }];
        bad.stop_strings = empty.as_ptr();
        bad.n_stop_strings = 1;
        let status = phi3_generate(
            s2,
            t,
            sp,
            PROMPT.as_ptr(),
            PROMPT.len(),
            &bad,
            scratch2.as_mut_ptr().cast(),
            scratch2.len(),
            None,
            null_mut(),
            null_mut(),
        );
        assert_eq!(status, PHI3_ERR_EMPTY_STOP_STRING);
        let invalid = [0xffu8, 0xfe];
        let bad_utf8 = [phi3_str {
            ptr: invalid.as_ptr().cast(),
            len: 2,
        }];
        bad.stop_strings = bad_utf8.as_ptr();
        assert_eq!(
            phi3_generate_scratch_size(m, t, &bad, &mut scratch_bytes2),
            PHI3_ERR_INVALID_UTF8
        );
        // An empty prompt.
        let status = phi3_generate(
            s2,
            t,
            sp,
            null(),
            0,
            &cfg,
            scratch2.as_mut_ptr().cast(),
            scratch2.len(),
            None,
            null_mut(),
            null_mut(),
        );
        assert_eq!(status, PHI3_ERR_EMPTY_PROMPT);
    }
}

#[test]
fn tokenize_detokenize_and_sample() {
    let mut gguf = fixture();
    let mut model = handle::<Phi3Model>();
    let m = model.as_mut_ptr();
    // SAFETY (whole test): every pointer is a live, aligned buffer of the stated size.
    unsafe {
        assert_eq!(phi3_model_init(m, gguf.ptr(), gguf.len), PHI3_OK);
        let mut bytes = 0usize;
        assert_eq!(phi3_tokenizer_size(m, 32, &mut bytes), PHI3_OK);
        let mut buf = vec![0u8; bytes];
        let mut tok = handle::<Phi3Tokenizer>();
        let t = tok.as_mut_ptr();
        assert_eq!(
            phi3_tokenizer_init(t, m, buf.as_mut_ptr().cast(), bytes - 1, 32),
            PHI3_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(
            phi3_tokenizer_init(t, m, buf.as_mut_ptr().cast(), bytes, 32),
            PHI3_OK
        );
        let text = "hello world";
        let mut ids = vec![0u32; phi3_max_tokens(text.len())];
        let mut n = 0usize;
        let flags = PHI3_TOKENIZE_ADD_SPECIAL | PHI3_TOKENIZE_PARSE_SPECIAL;
        assert_eq!(
            phi3_tokenize(
                t,
                text.as_ptr().cast(),
                text.len(),
                flags,
                ids.as_mut_ptr(),
                ids.len(),
                &mut n
            ),
            PHI3_OK
        );
        assert!(n >= 2);
        // Too small an output reports the count needed.
        let mut needed = 0usize;
        assert_eq!(
            phi3_tokenize(
                t,
                text.as_ptr().cast(),
                text.len(),
                flags,
                ids.as_mut_ptr(),
                1,
                &mut needed
            ),
            PHI3_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(needed, n);
        let mut out = vec![0u8; 64];
        let mut len = 0usize;
        assert_eq!(
            phi3_detokenize(
                t,
                ids.as_ptr(),
                n,
                PHI3_DETOKENIZE_REMOVE_SPECIAL,
                out.as_mut_ptr().cast(),
                out.len(),
                &mut len
            ),
            PHI3_OK
        );
        // The library's own decode of the same ids (this fixture's vocabulary writes `▁` raw).
        let g = phi3_kernels::gguf::Gguf::parse(gguf.as_mut()).unwrap();
        let mut lib_buf =
            vec![0u8; phi3_kernels::tokenizer::Tokenizer::bytes_needed(&g, 0).unwrap()];
        let lib_tok = phi3_kernels::tokenizer::Tokenizer::new(&g, &mut lib_buf, 0).unwrap();
        let mut expected = vec![0u8; 64];
        let opts = phi3_kernels::tokenizer::DecodeOptions {
            remove_special: true,
            render_special: false,
        };
        let m_len = lib_tok.decode(&ids[..n], opts, &mut expected).unwrap();
        assert_eq!(&out[..len], &expected[..m_len]);
        assert!(len > 3);
        let full_len = len;
        assert_eq!(
            phi3_detokenize(
                t,
                ids.as_ptr(),
                n,
                PHI3_DETOKENIZE_REMOVE_SPECIAL,
                out.as_mut_ptr().cast(),
                3,
                &mut len
            ),
            PHI3_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, full_len);
        // Bad flags, bad UTF-8, a text past max_text_bytes.
        assert_eq!(
            phi3_tokenize(
                t,
                text.as_ptr().cast(),
                text.len(),
                4,
                ids.as_mut_ptr(),
                ids.len(),
                &mut n
            ),
            PHI3_ERR_INVALID_ARGUMENT
        );
        let bad = [b'a', 0xc3];
        assert_eq!(
            phi3_tokenize(
                t,
                bad.as_ptr().cast(),
                2,
                0,
                ids.as_mut_ptr(),
                ids.len(),
                &mut n
            ),
            PHI3_ERR_INVALID_UTF8
        );
        let long = "x".repeat(33);
        let mut big = vec![0u32; phi3_max_tokens(33)];
        assert_eq!(
            phi3_tokenize(
                t,
                long.as_ptr().cast(),
                33,
                0,
                big.as_mut_ptr(),
                big.len(),
                &mut n
            ),
            PHI3_ERR_TEXT_TOO_LONG
        );
        // Stop tokens: EOS is one, id 100 is not; a null handle answers false.
        assert!(!phi3_is_stop_token(null(), 2));
        assert!(!phi3_is_stop_token(t, 100));

        // Sampling with scratch of any alignment.
        let logits: Vec<f32> = (0..1024).map(|i| ((i * 37) % 101) as f32 * 0.1).collect();
        let mut sc = phi3_sampler_config::default();
        assert_eq!(phi3_sampler_config_default(&mut sc), PHI3_OK);
        assert_eq!((sc.top_k, sc.seed), (40, 0));
        let mut sampler = handle::<Phi3Sampler>();
        let sp = sampler.as_mut_ptr();
        assert_eq!(phi3_sampler_init(sp, &sc), PHI3_OK);
        let need = phi3_sample_scratch_size(1024);
        let mut scratch = vec![0u8; need + 1];
        let mut id = u32::MAX;
        assert_eq!(
            phi3_sample(
                sp,
                logits.as_ptr(),
                1024,
                null(),
                0,
                scratch[1..].as_mut_ptr().cast(),
                need,
                &mut id
            ),
            PHI3_OK
        );
        assert!(id < 1024);
        assert_eq!(
            phi3_sample(
                sp,
                logits.as_ptr(),
                1024,
                null(),
                0,
                scratch.as_mut_ptr().cast(),
                need - 1,
                &mut id
            ),
            PHI3_ERR_SCRATCH_TOO_SMALL
        );
        let bad_cfg = phi3_sampler_config { top_p: 0.0, ..sc };
        assert_eq!(phi3_sampler_init(sp, &bad_cfg), PHI3_ERR_SAMPLER_CONFIG);
        // A failed init leaves the handle uninitialised.
        assert_eq!(
            phi3_sample(
                sp,
                logits.as_ptr(),
                1024,
                null(),
                0,
                scratch.as_mut_ptr().cast(),
                need,
                &mut id
            ),
            PHI3_ERR_NOT_INITIALIZED
        );
        let nan = [f32::NAN; 4];
        assert_eq!(phi3_greedy(nan.as_ptr(), 4, &mut id), PHI3_ERR_SAMPLING);
        assert_eq!(phi3_greedy(null(), 0, &mut id), PHI3_ERR_SAMPLING);
    }
}

#[test]
fn bad_arguments_are_status_codes() {
    let mut gguf = fixture();
    let mut model = handle::<Phi3Model>();
    let m = model.as_mut_ptr();
    // SAFETY (whole test): the pointers that are dereferenced are live and aligned; the others
    // are exactly what the checks must reject before touching them.
    unsafe {
        // Null handle, null bytes, a length past isize::MAX, garbage bytes.
        assert_eq!(
            phi3_model_init(null_mut(), gguf.ptr(), gguf.len),
            PHI3_ERR_NULL_POINTER
        );
        assert_eq!(phi3_model_init(m, null(), 10), PHI3_ERR_NULL_POINTER);
        assert_eq!(
            phi3_model_init(m, gguf.ptr(), usize::MAX),
            PHI3_ERR_INVALID_ARGUMENT
        );
        let junk = [7u8; 64];
        assert_eq!(phi3_model_init(m, junk.as_ptr().cast(), 64), PHI3_ERR_GGUF);
        assert_eq!(phi3_model_init(m, null(), 0), PHI3_ERR_GGUF);
        // Misaligned handle.
        let misaligned = m.cast::<u8>().add(4).cast::<Phi3Model>();
        assert_eq!(
            phi3_model_init(misaligned, gguf.ptr(), gguf.len),
            PHI3_ERR_MISALIGNED
        );
        // Uninitialised (zeroed, or after a failed init) handles.
        let mut info = phi3_model_info::default();
        assert_eq!(phi3_model_get_info(m, &mut info), PHI3_ERR_NOT_INITIALIZED);
        let zero = handle::<Phi3Session>();
        let mut len = 0usize;
        assert_eq!(
            phi3_session_len(zero.as_ptr(), &mut len),
            PHI3_ERR_NOT_INITIALIZED
        );
        // Misaligned GGUF bytes: the tensors cannot be viewed.
        let mut shifted = Buf::zeroed(gguf.len + 1);
        shifted.as_mut()[1..].copy_from_slice(gguf.as_mut());
        assert_eq!(
            phi3_model_init(m, shifted.ptr().cast::<u8>().add(1).cast(), gguf.len),
            PHI3_ERR_GGUF
        );

        assert_eq!(phi3_model_init(m, gguf.ptr(), gguf.len), PHI3_OK);
        assert_eq!(phi3_model_get_info(m, null_mut()), PHI3_ERR_NULL_POINTER);
        // Limits, arena.
        let mut bytes = 0usize;
        assert_eq!(
            phi3_arena_size(m, &limits(0, 8), &mut bytes),
            PHI3_ERR_BAD_LIMITS
        );
        assert_eq!(
            phi3_arena_size(m, &limits(1000, 8), &mut bytes),
            PHI3_ERR_CONTEXT_BEYOND_TRAINING
        );
        let l = limits(32, 8);
        assert_eq!(phi3_arena_size(m, &l, null_mut()), PHI3_ERR_NULL_POINTER);
        assert_eq!(phi3_arena_size(m, &l, &mut bytes), PHI3_OK);
        let mut arena = Buf::zeroed(bytes + 64);
        let mut session = handle::<Phi3Session>();
        let s = session.as_mut_ptr();
        assert_eq!(
            phi3_session_init(s, m, arena.ptr(), bytes - 1, &l),
            PHI3_ERR_ARENA_TOO_SMALL
        );
        assert_eq!(
            phi3_session_init(s, m, arena.ptr().cast::<u8>().add(8).cast(), bytes, &l),
            PHI3_ERR_ARENA_MISALIGNED
        );
        assert_eq!(
            phi3_session_init(s, m, null_mut(), bytes, &l),
            PHI3_ERR_NULL_POINTER
        );
        assert_eq!(
            phi3_session_init(s, m, arena.ptr(), bytes, null()),
            PHI3_ERR_NULL_POINTER
        );
        assert_eq!(phi3_session_init(s, m, arena.ptr(), bytes, &l), PHI3_OK);
        // Forward errors leave the session as it was.
        let (mut logits, mut n) = (null(), 0usize);
        assert_eq!(
            phi3_forward(s, null(), 0, false, &mut logits, &mut n),
            PHI3_ERR_EMPTY_BATCH
        );
        assert_eq!(
            phi3_forward(s, PROMPT.as_ptr(), 9, false, null_mut(), null_mut()),
            PHI3_ERR_BATCH_TOO_LARGE
        );
        let big = [5000u32];
        assert_eq!(
            phi3_forward(s, big.as_ptr(), 1, false, &mut logits, &mut n),
            PHI3_ERR_TOKEN_OUT_OF_RANGE
        );
        let misaligned_ids = PROMPT.as_ptr().cast::<u8>().add(1).cast::<u32>();
        assert_eq!(
            phi3_forward(s, misaligned_ids, 2, false, &mut logits, &mut n),
            PHI3_ERR_MISALIGNED
        );
        assert_eq!(
            phi3_forward(s, PROMPT.as_ptr(), 8, true, &mut logits, &mut n),
            PHI3_OK
        );
        assert_eq!(n, 8 * 1024);
        assert_eq!(phi3_session_truncate(s, 9), PHI3_ERR_TRUNCATE_BEYOND_END);
        assert_eq!(phi3_session_len(s, &mut len), PHI3_OK);
        assert_eq!(len, 8);
        for _ in 0..3 {
            assert_eq!(
                phi3_forward(s, PROMPT.as_ptr(), 8, false, null_mut(), null_mut()),
                PHI3_OK
            );
        }
        assert_eq!(
            phi3_forward(s, PROMPT.as_ptr(), 1, false, null_mut(), null_mut()),
            PHI3_ERR_CONTEXT_OVERFLOW
        );
        // A handle of the wrong kind is not initialised for this use.
        assert_eq!(
            phi3_session_len(m.cast::<Phi3Session>(), &mut len),
            PHI3_ERR_NOT_INITIALIZED
        );
    }
}
