//! Hostile input never panics: arbitrary text through both vocabularies (with and without
//! special parsing), arbitrary ids through decode, arbitrary bytes through the UTF-8 stream.

use std::path::PathBuf;

use phi3_kernels::gguf::Gguf;
use phi3_kernels::tokenizer::{
    max_encode_tokens, DecodeOptions, EncodeOptions, Tokenizer, Utf8Stream,
};
use proptest::prelude::*;

fn vocab(file: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/gguf")
            .join(file),
    )
    .unwrap()
}

fn check(bytes: &[u8], texts: &[String], ids: &[u32]) {
    let gguf = Gguf::parse(bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 256).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, 256).unwrap();
    let mut out = vec![0u32; 1024];
    let mut text = vec![0u8; 64 * 1024];
    for t in texts {
        for parse_special in [false, true] {
            let opts = EncodeOptions {
                add_special: true,
                parse_special,
            };
            let n = tok.encode(t, opts, &mut out).unwrap();
            assert!(n <= out.len());
            assert!(n <= max_encode_tokens(t.len()), "{n} ids for {t:?}");
            if !parse_special {
                let m = tok
                    .decode(
                        &out[..n],
                        DecodeOptions {
                            remove_special: true,
                            render_special: false,
                        },
                        &mut text,
                    )
                    .unwrap();
                assert_eq!(std::str::from_utf8(&text[..m]).unwrap(), t.as_str());
            }
        }
    }
    let _ = tok.decode(
        ids,
        DecodeOptions {
            remove_special: false,
            render_special: true,
        },
        &mut text,
    );
}

/// The worst cases of `max_encode_tokens`: spaces (each `▁`, byte fallback when the vocabulary
/// lacks runs of them), one-byte fragments between special tokens (each gets a `▁` prefix), and
/// bytes without a token of their own; the bound holds with every option.
#[test]
fn encode_never_exceeds_max_encode_tokens() {
    let texts = [
        String::new(),
        " ".into(),
        " ".repeat(255),
        "<s>a</s>b<s> </s> ".repeat(14),
        "<|end|>x<|user|> <|end|>\u{1}".repeat(8),
        "\u{1}\u{2}\u{7f} \u{10ffff}".repeat(20),
        "é 中 😀 ".repeat(16),
    ];
    for file in ["ggml-vocab-phi-3.gguf", "smollm2-135m-instruct-vocab.gguf"] {
        let bytes = vocab(file);
        let gguf = Gguf::parse(&bytes).unwrap();
        let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 256).unwrap()];
        let mut tok = Tokenizer::new(&gguf, &mut buf, 256).unwrap();
        for t in &texts {
            assert!(t.len() <= 256, "{}", t.len());
            let mut out = vec![0u32; max_encode_tokens(t.len())];
            for (add_special, parse_special) in [(false, false), (true, false), (true, true)] {
                let opts = EncodeOptions {
                    add_special,
                    parse_special,
                };
                let n = tok.encode(t, opts, &mut out).unwrap();
                assert!(n <= max_encode_tokens(t.len()), "{file}: {n} ids for {t:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_text_encodes_and_round_trips(
        texts in prop::collection::vec("(\\PC|[ \\t\\n\\r]|<\\|(user|end|im_start|im_end)\\|>|<s>|</s>){0,40}", 4),
        ids in prop::collection::vec(0u32..70000, 0..64),
    ) {
        let texts: Vec<String> = texts.into_iter().filter(|t| t.len() <= 256).collect();
        check(&vocab("ggml-vocab-phi-3.gguf"), &texts, &ids);
        check(&vocab("smollm2-135m-instruct-vocab.gguf"), &texts, &ids);
    }

    #[test]
    fn any_bytes_stream_to_valid_utf8(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..16)) {
        let mut s = Utf8Stream::new();
        let mut out = [0u8; 64];
        let mut all = String::new();
        for c in &chunks {
            all += s.push(c, &mut out).unwrap();
        }
        all += s.finish(&mut out).unwrap();
        let flat: Vec<u8> = chunks.concat();
        if let Ok(valid) = std::str::from_utf8(&flat) {
            prop_assert_eq!(all, valid);
        }
    }
}
