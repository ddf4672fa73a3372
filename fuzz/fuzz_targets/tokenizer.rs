//! Fuzz target: the tokenizers of the two fixture vocabularies (Phi-3 SentencePiece and
//! SmolLM2 byte-level BPE), built once.
//!
//! Input: one control byte, then bytes split at the first `0xff` into text and ids.
//! - control bit 0: vocabulary (0 = Phi-3, 1 = SmolLM2);
//! - bit 1: `parse_special`; bit 2: `add_special`; bit 3: `render_special`;
//!   bit 4: `remove_special`; bit 5: use a deliberately short output buffer.
//! - text: lossily decoded UTF-8 (the raw bytes also go to the UTF-8 stream assembler);
//! - ids: little-endian u16 pairs, scaled so some exceed the vocabulary.
//!
//! Checks: no panic; `OutputTooSmall` reports a size that then succeeds; ids from `encode`
//! decode without error; the stream decoder accepts every in-range id.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::tokenizer::{
    utf8_stream_capacity, DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer, TokenizerError,
    Utf8Stream,
};

/// Most text bytes one input may carry (longer ones check `TextTooLong`).
const MAX_TEXT: usize = 4096;

#[repr(C, align(64))]
struct Aligned<T: ?Sized>(T);

static PHI3: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../tests/data/gguf/ggml-vocab-phi-3.gguf"
));
static SMOLLM2: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../tests/data/gguf/smollm2-135m-instruct-vocab.gguf"
));

type Tok = Mutex<Tokenizer<'static, 'static>>;

fn build(file: &'static [u8]) -> Tok {
    let gguf = Gguf::parse(file).expect("fixture vocab parses");
    let needed = Tokenizer::bytes_needed(&gguf, MAX_TEXT).expect("bytes_needed");
    let buf: &'static mut [u8] = Box::leak(vec![0u8; needed].into_boxed_slice());
    Mutex::new(Tokenizer::new(&gguf, buf, MAX_TEXT).expect("fixture tokenizer"))
}

fn tokenizer(which: usize) -> &'static Tok {
    static TOKS: [OnceLock<Tok>; 2] = [OnceLock::new(), OnceLock::new()];
    TOKS[which].get_or_init(|| build(if which == 0 { &PHI3.0 } else { &SMOLLM2.0 }))
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let mut guard = tokenizer(usize::from(control & 1)).lock().unwrap();
    let tok = &mut *guard;
    let n_vocab = tok.n_vocab();
    let enc = EncodeOptions {
        parse_special: control & 2 != 0,
        add_special: control & 4 != 0,
    };
    let dec = DecodeOptions {
        render_special: control & 8 != 0,
        remove_special: control & 16 != 0,
    };
    let short = control & 32 != 0;
    let (text_bytes, id_bytes) = match rest.iter().position(|&b| b == 0xff) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let text = String::from_utf8_lossy(text_bytes);

    // Encode (text may be over MAX_TEXT after lossy expansion: then it must be TextTooLong).
    let mut ids = vec![0u32; if short { 2 } else { text.len() + 4 }];
    let encoded = match tok.encode(&text, enc, &mut ids) {
        Ok(n) => Some(n),
        Err(TokenizerError::OutputTooSmall { needed, .. }) => {
            ids = vec![0u32; needed];
            Some(
                tok.encode(&text, enc, &mut ids)
                    .expect("encode with the reported size"),
            )
        }
        Err(TokenizerError::TextTooLong { len, max }) => {
            assert!(len > max && max == MAX_TEXT);
            None
        }
        Err(e) => panic!("encode: unexpected error {e:?}"),
    };
    if let Some(n) = encoded {
        let ids = &ids[..n];
        assert!(ids.iter().all(|&id| (id as usize) < n_vocab));
        let mut out = vec![0u8; if short { 1 } else { text.len() * 2 + 16 }];
        match tok.decode(ids, dec, &mut out) {
            Ok(_) => {}
            Err(TokenizerError::OutputTooSmall { needed, .. }) => {
                out = vec![0u8; needed];
                tok.decode(ids, dec, &mut out)
                    .expect("decode with the reported size");
            }
            Err(e) => panic!("decode of encoded ids: {e:?}"),
        }
    }

    // Decode fuzzed ids (some out of range) in one call and through the stream decoder.
    let fuzz_ids: Vec<u32> = id_bytes
        .chunks(2)
        .map(|c| {
            let v = u32::from(c[0]) | (u32::from(*c.get(1).unwrap_or(&0)) << 8);
            // Spread over [0, 4·n_vocab): a quarter of the ids are in range.
            (v as u64 * 4 * n_vocab as u64 / 65536) as u32
        })
        .collect();
    let mut out = vec![0u8; 64];
    match tok.decode(&fuzz_ids, dec, &mut out) {
        Ok(_) | Err(TokenizerError::OutputTooSmall { .. }) => {}
        Err(TokenizerError::TokenOutOfRange(id)) => assert!(id as usize >= n_vocab),
        Err(e) => panic!("decode: unexpected error {e:?}"),
    }
    let mut stream = StreamDecoder::new(dec.render_special);
    let mut buf = vec![0u8; StreamDecoder::buffer_bytes(tok)];
    for &id in &fuzz_ids {
        match stream.push(tok, id, &mut buf) {
            Ok(s) => assert!(s.len() <= StreamDecoder::buffer_bytes(tok)),
            Err(TokenizerError::TokenOutOfRange(bad)) => assert!(bad as usize >= n_vocab),
            Err(e) => panic!("stream push {id}: {e:?}"),
        }
    }
    stream.finish(&mut buf).expect("stream finish");

    // Raw (possibly invalid) UTF-8 through the byte-stream assembler, in small chunks.
    let mut utf8 = Utf8Stream::new();
    let mut sbuf = vec![0u8; utf8_stream_capacity(7)];
    let mut joined = String::new();
    for chunk in text_bytes.chunks(7) {
        joined.push_str(utf8.push(chunk, &mut sbuf).expect("utf8 push"));
    }
    joined.push_str(utf8.finish(&mut sbuf).expect("utf8 finish"));
    if let Ok(valid) = core::str::from_utf8(text_bytes) {
        assert_eq!(
            joined, valid,
            "valid UTF-8 must pass through the stream unchanged"
        );
    }
});
