//! Streaming decode: pieces, byte fallback split over tokens, incomplete UTF-8 held back,
//! invalid bytes replaced, control tokens hidden unless rendered.

use std::path::PathBuf;

use phi3_kernels::gguf::Gguf;
use phi3_kernels::tokenizer::{
    utf8_stream_capacity, DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer, Utf8Stream,
};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(path),
    )
    .unwrap()
}

#[test]
fn utf8_stream_holds_incomplete_characters() {
    let mut s = Utf8Stream::new();
    let mut out = [0u8; 64];
    let emoji = "😀".as_bytes();
    assert_eq!(s.push(&emoji[..1], &mut out).unwrap(), "");
    assert_eq!(s.pending(), 1);
    assert_eq!(s.push(&emoji[1..3], &mut out).unwrap(), "");
    assert_eq!(s.push(&[emoji[3], b'!'], &mut out).unwrap(), "😀!");
    assert_eq!(s.pending(), 0);
    // Invalid bytes become U+FFFD; a broken sequence is replaced and the next byte kept.
    assert_eq!(
        s.push(&[0xff, b'a', 0xe2, 0x82, b'b'], &mut out).unwrap(),
        "\u{fffd}a\u{fffd}b"
    );
    // A truncated tail is flushed by finish.
    assert_eq!(s.push(&[0xe6, 0x97], &mut out).unwrap(), "");
    assert_eq!(s.finish(&mut out).unwrap(), "\u{fffd}");
    assert_eq!(s.finish(&mut out).unwrap(), "");
    // Overlong / surrogate encodings are not passed through.
    assert_eq!(s.push(&[0xed, 0xa0, 0x80], &mut out).unwrap(), "\u{fffd}");
    // Output capacity is checked up front.
    assert!(s.push(b"abc", &mut [0u8; 4]).is_err());
    assert_eq!(utf8_stream_capacity(3), 21);
}

fn phi3() -> Vec<u8> {
    read("gguf/ggml-vocab-phi-3.gguf")
}

#[test]
fn byte_fallback_tokens_stream_into_one_character() {
    let bytes = phi3();
    let gguf = Gguf::parse(&bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 256).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, 256).unwrap();
    let mut ids = [0u32; 32];
    let n = tok
        .encode("emoji: 😀🎉", EncodeOptions::default(), &mut ids)
        .unwrap();
    assert_eq!(
        &ids[..n],
        [953, 29877, 2397, 29901, 29871, 243, 162, 155, 131, 243, 162, 145, 140]
    );
    let mut dec = StreamDecoder::new(false);
    let mut out = vec![0u8; StreamDecoder::buffer_bytes(&tok)];
    let pieces: Vec<String> = ids[..n]
        .iter()
        .map(|&id| dec.push(&tok, id, &mut out).unwrap().to_string())
        .collect();
    // The stream keeps the leading space of "▁emoji" (only `decode` strips the prefix).
    assert_eq!(pieces[..5].concat(), " emoji: ");
    assert_eq!(pieces[5..9], ["", "", "", "😀"]);
    assert_eq!(pieces[9..].concat(), "🎉");
}

#[test]
fn control_tokens_render_only_when_asked() {
    let bytes = phi3();
    let gguf = Gguf::parse(&bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 64).unwrap()];
    let tok = Tokenizer::new(&gguf, &mut buf, 64).unwrap();
    let ids = [1u32, 32010, 1724, 32007];
    let mut out = [0u8; 64];
    let n = tok
        .decode(&ids, DecodeOptions::default(), &mut out)
        .unwrap();
    assert_eq!(&out[..n], b" What");
    let opts = DecodeOptions {
        remove_special: false,
        render_special: true,
    };
    let n = tok.decode(&ids, opts, &mut out).unwrap();
    assert_eq!(
        std::str::from_utf8(&out[..n]).unwrap(),
        "<s><|user|> What<|end|>"
    );
    assert!(tok.is_control(32010) && !tok.is_control(1724));
    assert_eq!(tok.token_text(1724), Some("▁What"));
    assert_eq!(tok.piece(29871, false).unwrap().collect::<Vec<u8>>(), b" ");
    assert_eq!(tok.piece(13, false).unwrap().collect::<Vec<u8>>(), b"\n");
    // Too small an output reports the full length.
    let mut small = [0u8; 2];
    assert!(matches!(
        tok.decode(&[15043, 3186], DecodeOptions::default(), &mut small),
        Err(phi3_kernels::tokenizer::TokenizerError::OutputTooSmall {
            needed: 11,
            capacity: 2
        })
    ));
}

#[test]
fn bpe_pieces_map_back_to_bytes() {
    let bytes = read("gguf/smollm2-135m-instruct-vocab.gguf");
    let gguf = Gguf::parse(&bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 256).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, 256).unwrap();
    let text = "Café 日本\t\n 😀 <|im_start|>";
    let mut ids = [0u32; 64];
    let n = tok
        .encode(
            text,
            EncodeOptions {
                add_special: false,
                parse_special: false,
            },
            &mut ids,
        )
        .unwrap();
    let mut out = [0u8; 256];
    let m = tok
        .decode(&ids[..n], DecodeOptions::default(), &mut out)
        .unwrap();
    assert_eq!(std::str::from_utf8(&out[..m]).unwrap(), text);
    assert_eq!(tok.token_text(216), Some("Ġ"));
    assert_eq!(tok.piece(216, false).unwrap().collect::<Vec<u8>>(), b" ");
}
