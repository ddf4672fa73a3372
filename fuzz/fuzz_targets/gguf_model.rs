//! Fuzz target: GGUF parse → model binding → arena planning → (small models) one forward.
//!
//! Input: one control byte, then the GGUF file.
//! - control bits 0..=2: how many bytes past an 8-byte boundary the file starts in memory
//!   (0 = aligned; others exercise [`GgufError::MisalignedData`]);
//! - bits 3..=4: which extra `Limits` set to plan with.
//!
//! Everything must come back as `Ok` or `Err`: any panic, overflow (overflow checks are on in
//! this crate's profile) or sanitizer report is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};

/// Plans above this many bytes are checked but not run (keeps each input fast).
const RUN_ARENA_MAX: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&control, file)) = data.split_first() else {
        return;
    };
    let shift = usize::from(control & 7);
    let mut words = vec![0u64; (file.len() + shift).div_ceil(8) + 1];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    bytes[shift..shift + file.len()].copy_from_slice(file);
    let bytes = &bytes[shift..shift + file.len()];

    let Ok(gguf) = Gguf::parse(bytes) else {
        return;
    };
    // Walk everything the reader hands out.
    for (key, value) in gguf.metadata() {
        let _ = gguf.get(key);
        let _ = core::hint::black_box(value);
    }
    for t in gguf.tensors() {
        let _ = gguf.find_tensor(t.name());
        let _ = core::hint::black_box(t.data());
    }
    let Ok(model) = Model::from_gguf(&gguf) else {
        return;
    };
    // The extreme sizes and the run limits opt in to contexts beyond the (fuzzed) trained
    // context: the former must reach the size arithmetic, the latter must run whatever
    // `context_length` the input claims.
    let extra = match (control >> 3) & 3 {
        0 => Limits {
            max_context: 1,
            max_batch: 1,
            workers: 1,
            allow_beyond_trained_context: false,
            kv: phi3_kernels::model::KvType::F16,
        },
        1 => Limits {
            max_context: usize::MAX,
            max_batch: 1,
            workers: 1,
            allow_beyond_trained_context: true,
            kv: phi3_kernels::model::KvType::F16,
        },
        2 => Limits {
            max_context: 1 << 40,
            max_batch: 1 << 30,
            workers: 1 << 20,
            allow_beyond_trained_context: true,
            kv: phi3_kernels::model::KvType::F16,
        },
        _ => Limits {
            max_context: 0,
            max_batch: 0,
            workers: 0,
            allow_beyond_trained_context: false,
            kv: phi3_kernels::model::KvType::F16,
        },
    };
    for limits in [
        Limits {
            max_context: 8,
            max_batch: 4,
            workers: 1,
            allow_beyond_trained_context: true,
            kv: phi3_kernels::model::KvType::F16,
        },
        Limits {
            max_context: 17,
            max_batch: 3,
            workers: 3,
            allow_beyond_trained_context: true,
            kv: phi3_kernels::model::KvType::F16,
        },
        extra,
    ] {
        let Ok(plan) = ArenaPlan::new(model.config(), &limits) else {
            continue;
        };
        let needed = plan.bytes_needed();
        if needed > RUN_ARENA_MAX || limits.max_context > 64 {
            continue;
        }
        let mut arena = vec![0u8; needed + ARENA_ALIGN];
        let start = arena.as_ptr().align_offset(ARENA_ALIGN);
        let arena = &mut arena[start..start + needed];
        let Ok(mut session) = Session::new(&model, arena, limits, Kernels::detect()) else {
            panic!("Session::new failed on an arena of exactly bytes_needed");
        };
        let n_vocab = model.config().n_vocab;
        let batch: Vec<u32> = (0..limits.max_batch.min(3))
            .map(|i| (i * 7919 % n_vocab) as u32)
            .collect();
        match session.forward(&batch, true) {
            Ok(logits) => assert_eq!(logits.len(), batch.len() * n_vocab),
            Err(_) => assert_eq!(session.len(), 0),
        }
        let _ = session.forward(&[0], false);
    }
});
