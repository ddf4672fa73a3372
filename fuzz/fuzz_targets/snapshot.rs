//! Fuzz target: `Session::restore_from` on hostile bytes.
//!
//! Input: the first byte picks the mode, the rest is data:
//! - even: the data is the snapshot, as is;
//! - odd: a valid snapshot of the tiny GQA fixture (a 6-token sequence) with the data applied
//!   as patches — `(u16 position, byte)` triples XORed in — and then cut to
//!   `len - data[0] % 8` bytes when the mode byte's bit 1 is set.
//!
//! Checks: no panic; an `Err` leaves the session's length and tokens as they were (the victim
//! holds another sequence); an `Ok` is only possible for the unmodified snapshot (any change
//! breaks the checksum or a header check) and must give the uninterrupted session's next
//! logits bit for bit.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};

const LIMITS: Limits = Limits {
    max_context: 16,
    max_batch: 4,
    workers: 1,
    allow_beyond_trained_context: false,
    kv: phi3_kernels::model::KvType::F16,
};
const SAVED: [u32; 6] = [1, 77, 517, 9, 1023, 400];
const HELD: [u32; 3] = [5, 6, 7];
const NEXT: u32 = 300;

#[repr(C, align(64))]
struct Aligned<T: ?Sized>(T);

static FILE: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../tests/data/gguf/phi3-tiny-gqa-q4_0.gguf"
));

struct Fixture {
    model: Model<'static>,
    kernels: Kernels,
    snapshot: Vec<u8>,
    /// The saving session's logits for `NEXT` after `SAVED`.
    next_logits: Vec<f32>,
    arena: Mutex<&'static mut [u8]>,
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
        let saver = arena(bytes);
        let mut s = Session::new(&model, &mut *saver, LIMITS, kernels).expect("session");
        s.forward(&SAVED[..4], false).expect("prefill");
        s.forward(&SAVED[4..], false).expect("prefill");
        let mut snapshot = vec![0u8; s.snapshot_bytes()];
        s.save_into(&mut snapshot).expect("save");
        let next_logits = s.forward(&[NEXT], false).expect("next").to_vec();
        Fixture {
            model,
            kernels,
            snapshot,
            next_logits,
            arena: Mutex::new(arena(bytes)),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let input: Vec<u8> = if mode % 2 == 0 {
        data.to_vec()
    } else {
        let mut snap = f.snapshot.clone();
        for p in data.chunks_exact(3) {
            let at = usize::from(u16::from_le_bytes([p[0], p[1]])) % snap.len();
            snap[at] ^= p[2];
        }
        if mode & 2 != 0 {
            let cut = usize::from(data.first().copied().unwrap_or(0) % 8);
            snap.truncate(snap.len().saturating_sub(cut));
        }
        snap
    };
    let mut guard = f.arena.lock().unwrap();
    let mut s = Session::new(&f.model, &mut guard[..], LIMITS, f.kernels).expect("session");
    s.forward(&HELD, false).expect("held");
    match s.restore_from(&input) {
        Ok(()) => {
            assert!(
                input.get(..f.snapshot.len()) == Some(&f.snapshot[..]),
                "a modified snapshot was accepted"
            );
            assert_eq!(s.tokens(), &SAVED[..]);
            let logits = s.forward(&[NEXT], false).expect("next after restore");
            assert!(
                logits
                    .iter()
                    .zip(&f.next_logits)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "logits after restore differ from the saving session's"
            );
        }
        Err(e) => {
            let _ = e.to_string();
            assert_eq!(s.tokens(), &HELD[..], "a failed restore changed the session");
        }
    }
});
