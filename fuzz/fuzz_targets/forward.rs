//! Fuzz target: one `Session` of the tiny GQA fixture model driven by fuzzed operations.
//!
//! Input: a sequence of operations (at most `MAX_OPS`), each an op byte and its operands:
//! - `op % 5 == 0`: forward a batch of `next % 8` tokens (0 = empty, > `max_batch` = too
//!   large), each a little-endian u16 spread over `[0, 1.25·n_vocab)` (some out of range);
//!   bit 7 of the op asks for all logits;
//! - `1`: truncate to `next % 24` (some beyond the end);
//! - `2`: reset;
//! - `3`: forward one raw u16 token id (mostly out of range);
//! - `4`: forward a full batch of `max_batch` in-range tokens (runs into the context limit).
//!
//! Checks: an `Err` leaves the length and tokens as they were; an `Ok` appends exactly the
//! batch and returns finite logits of the right length; at the end the session (whatever
//! errors it went through, over an arena full of stale data) is reset and must reproduce a
//! fresh session's logits bit for bit.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};

const MAX_OPS: usize = 24;
const LIMITS: Limits = Limits {
    max_context: 16,
    max_batch: 4,
    workers: 1,
    allow_beyond_trained_context: false,
    kv: phi3_kernels::model::KvType::F16,
};
/// The closing check's prompt.
const PROBE: [u32; 3] = [1, 517, 1023];

#[repr(C, align(64))]
struct Aligned<T: ?Sized>(T);

static FILE: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../tests/data/gguf/phi3-tiny-gqa-q4_0.gguf"
));

struct Fixture {
    model: Model<'static>,
    kernels: Kernels,
    /// A fresh session's logits for `PROBE` (last position).
    reference: Vec<f32>,
    /// One arena reused by every input (so stale contents are part of the test).
    arena: Mutex<&'static mut [u8]>,
    /// The reference session's arena (kept so that it stays reachable).
    _fresh: Mutex<&'static mut [u8]>,
}

fn arena(bytes: usize) -> &'static mut [u8] {
    let buf: &'static mut [u8] = Box::leak(vec![0u8; bytes + ARENA_ALIGN].into_boxed_slice());
    let start = buf.as_ptr().align_offset(ARENA_ALIGN);
    &mut buf[start..start + bytes]
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let gguf = Gguf::parse(&FILE.0).expect("fixture parses");
        let model = Model::from_gguf(&gguf).expect("fixture binds");
        let kernels = Kernels::detect();
        let bytes = ArenaPlan::new(model.config(), &LIMITS)
            .expect("plan")
            .bytes_needed();
        let fresh = arena(bytes);
        let reference = {
            let mut s = Session::new(&model, &mut *fresh, LIMITS, kernels).expect("session");
            s.forward(&PROBE, false).expect("probe").to_vec()
        };
        Fixture {
            model,
            kernels,
            reference,
            arena: Mutex::new(arena(bytes)),
            _fresh: Mutex::new(fresh),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let n_vocab = f.model.config().n_vocab;
    let mut guard = f.arena.lock().unwrap();
    let mut s = Session::new(&f.model, &mut guard[..], LIMITS, f.kernels).expect("session");
    let mut bytes = data.iter().copied();
    let mut next = || bytes.next();
    let u16_next = |next: &mut dyn FnMut() -> Option<u8>| {
        u32::from(next().unwrap_or(0)) | u32::from(next().unwrap_or(0)) << 8
    };
    let mut shadow: Vec<u32> = Vec::new();
    for _ in 0..MAX_OPS {
        let Some(op) = next() else { break };
        let all = op & 0x80 != 0;
        let batch: Vec<u32> = match op % 5 {
            0 => {
                let len = usize::from(next().unwrap_or(1) % 8);
                (0..len)
                    .map(|_| {
                        (u64::from(u16_next(&mut next)) * 5 * n_vocab as u64 / 4 / 65536) as u32
                    })
                    .collect()
            }
            1 => {
                let n = usize::from(next().unwrap_or(0) % 24);
                match s.truncate(n) {
                    Ok(()) => shadow.truncate(n),
                    Err(_) => assert!(n > shadow.len()),
                }
                assert_eq!(s.tokens(), &shadow[..]);
                continue;
            }
            2 => {
                s.reset();
                shadow.clear();
                assert!(s.is_empty());
                continue;
            }
            3 => vec![u16_next(&mut next)],
            _ => (0..LIMITS.max_batch as u32)
                .map(|i| (i * 97 + op as u32) % n_vocab as u32)
                .collect(),
        };
        let valid = !batch.is_empty()
            && batch.len() <= LIMITS.max_batch
            && shadow.len() + batch.len() <= LIMITS.max_context
            && batch.iter().all(|&t| (t as usize) < n_vocab);
        match s.forward(&batch, all) {
            Ok(logits) => {
                assert!(
                    valid,
                    "forward accepted an invalid batch {batch:?} at {}",
                    shadow.len()
                );
                let rows = if all { batch.len() } else { 1 };
                assert_eq!(logits.len(), rows * n_vocab);
                assert!(logits.iter().all(|v| v.is_finite()), "non-finite logit");
                shadow.extend_from_slice(&batch);
            }
            Err(_) => assert!(
                !valid,
                "forward rejected a valid batch {batch:?} at {}",
                shadow.len()
            ),
        }
        assert_eq!(s.len(), shadow.len());
        assert_eq!(s.tokens(), &shadow[..]);
    }
    s.reset();
    let logits = s.forward(&PROBE, false).expect("probe after reset");
    assert!(
        logits
            .iter()
            .zip(&f.reference)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "logits after reset differ from a fresh session's"
    );
});
