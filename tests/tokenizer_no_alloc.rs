//! The tokenizer, decoder, chat renderer and sampler allocate nothing once their buffers exist
//! (a counting global allocator watches the calls; this test binary runs one test so no other
//! thread allocates meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use phi3_kernels::gguf::Gguf;
use phi3_kernels::sample::{Sampler, SamplerConfig};
use phi3_kernels::tokenizer::{DecodeOptions, EncodeOptions, Message, StreamDecoder, Tokenizer};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn encode_decode_render_sample_do_not_allocate() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gguf");
    for file in ["ggml-vocab-phi-3.gguf", "smollm2-135m-instruct-vocab.gguf"] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let gguf = Gguf::parse(&bytes).unwrap();
        let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 512).unwrap()];
        let mut ids = vec![0u32; 512];
        let mut text = vec![0u8; 4096];
        let mut prompt = vec![0u8; 1024];
        let mut piece = vec![0u8; 4096];
        let n_vocab;
        let before = ALLOCS.load(Ordering::SeqCst);
        {
            let mut tok = Tokenizer::new(&gguf, &mut buf, 512).unwrap();
            n_vocab = tok.n_vocab();
            let template = tok.chat_template().unwrap();
            let p = template
                .render(
                    &[Message::system("Be brief."), Message::user("Héllo 😀 123!")],
                    true,
                    &mut prompt,
                )
                .unwrap();
            let opts = EncodeOptions {
                add_special: true,
                parse_special: true,
            };
            let n = tok.encode(p, opts, &mut ids).unwrap();
            let m = tok
                .decode(&ids[..n], DecodeOptions::default(), &mut text)
                .unwrap();
            assert!(m > 0);
            let mut dec = StreamDecoder::new(true);
            for &id in &ids[..n] {
                dec.push(&tok, id, &mut piece).unwrap();
            }
            dec.finish(&mut piece).unwrap();
        }
        assert_eq!(
            ALLOCS.load(Ordering::SeqCst),
            before,
            "{file}: tokenizer allocated"
        );

        let logits: Vec<f32> = (0..n_vocab).map(|i| ((i * 31) % 97) as f32 * 0.1).collect();
        let mut idx = vec![0u32; n_vocab];
        let mut work = vec![0f32; n_vocab];
        let before = ALLOCS.load(Ordering::SeqCst);
        let mut s = Sampler::new(SamplerConfig {
            repeat_penalty: 1.1,
            ..SamplerConfig::default()
        })
        .unwrap();
        for _ in 0..4 {
            s.sample(&logits, &ids[..8], &mut idx, &mut work).unwrap();
        }
        let mut s = Sampler::new(SamplerConfig {
            top_k: 0,
            ..SamplerConfig::default()
        })
        .unwrap();
        s.sample(&logits, &[], &mut idx, &mut work).unwrap();
        assert_eq!(ALLOCS.load(Ordering::SeqCst), before, "sampler allocated");
    }
}
