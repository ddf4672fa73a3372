//! Token ids equal llama.cpp's (llama-tokenize, llama.cpp 0c1e570) for every case in
//! `tests/data/tokenizer/` — Phi-3 SentencePiece (`cases.tsv` + llama.cpp's own
//! `ggml-vocab-phi-3.gguf.inp/.out` vectors) and SmolLM2 byte-level BPE — with and without
//! special-token parsing, and decode(encode(s)) == s where the format allows it.

use std::path::PathBuf;

use phi3_kernels::gguf::Gguf;
use phi3_kernels::tokenizer::{DecodeOptions, EncodeOptions, Tokenizer, TokenizerError};

const MAX_TEXT: usize = 4096;

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(data(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn unhex(s: &str) -> String {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(bytes).unwrap()
}

fn parse_ids(s: &str) -> Vec<u32> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',').map(|x| x.parse().unwrap()).collect()
}

/// (text, columns…) rows of a `.tsv` file.
fn rows(path: &str) -> Vec<Vec<String>> {
    String::from_utf8(read(path))
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn encode(tok: &mut Tokenizer<'_, '_>, text: &str, opts: EncodeOptions) -> Vec<u32> {
    let mut out = vec![0u32; text.len() + 8];
    let n = tok.encode(text, opts, &mut out).unwrap();
    out.truncate(n);
    out
}

fn decode(tok: &Tokenizer<'_, '_>, ids: &[u32]) -> String {
    let mut out = vec![0u8; ids.len() * tok.max_piece_bytes() + 1];
    let n = tok.decode(ids, DecodeOptions::default(), &mut out).unwrap();
    out.truncate(n);
    String::from_utf8(out).unwrap()
}

const SPECIAL: EncodeOptions = EncodeOptions {
    add_special: false,
    parse_special: true,
};
const PLAIN: EncodeOptions = EncodeOptions {
    add_special: false,
    parse_special: false,
};

/// Runs every case of `<vocab>/cases.tsv`; returns how many matched in each mode.
fn check_cases(model: &str, cases: &str, round_trip: bool) {
    let bytes = read(model);
    let gguf = Gguf::parse(&bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, MAX_TEXT).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, MAX_TEXT).unwrap();
    let rows = rows(cases);
    assert!(rows.len() >= 34, "{cases}: {} cases", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let text = unhex(&row[0]);
        for (opts, col) in [(SPECIAL, 1), (PLAIN, 2)] {
            let want = parse_ids(&row[col]);
            let got = encode(&mut tok, &text, opts);
            if got != want {
                failures.push(format!(
                    "{text:?} parse_special={}: got {got:?} want {want:?}",
                    opts.parse_special
                ));
            }
        }
        if round_trip {
            // Special-token text cannot round-trip through parse_special (whitespace after
            // a Phi-3 special token is swallowed, a space prefix follows it); plain can.
            let plain = encode(&mut tok, &text, PLAIN);
            assert_eq!(decode(&tok, &plain), text, "round trip of {text:?}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} mismatches:\n{}",
        failures.len(),
        rows.len() * 2,
        failures.join("\n")
    );
}

#[test]
fn phi3_cases_match_llama_cpp() {
    check_cases(
        "gguf/ggml-vocab-phi-3.gguf",
        "tokenizer/phi3/cases.tsv",
        true,
    );
}

#[test]
fn smollm2_cases_match_llama_cpp() {
    check_cases(
        "gguf/smollm2-135m-instruct-vocab.gguf",
        "tokenizer/smollm2/cases.tsv",
        true,
    );
}

#[test]
fn phi3_llama_cpp_vocab_vectors() {
    let bytes = read("gguf/ggml-vocab-phi-3.gguf");
    let gguf = Gguf::parse(&bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, MAX_TEXT).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, MAX_TEXT).unwrap();
    let rows = rows("tokenizer/phi3/vocab_test.tsv");
    assert_eq!(rows.len(), 46);
    let mut failures = Vec::new();
    for row in &rows {
        let text = unhex(&row[0]);
        let want = parse_ids(row.get(1).map_or("", |s| s));
        let got = encode(&mut tok, &text, PLAIN);
        if got != want {
            failures.push(format!("{text:?}: got {got:?} want {want:?}"));
        }
        assert_eq!(decode(&tok, &got), text, "round trip of {text:?}");
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bos_follows_the_vocabulary() {
    let with = EncodeOptions {
        add_special: true,
        parse_special: true,
    };
    let bytes = read("gguf/ggml-vocab-phi-3.gguf");
    let gguf = Gguf::parse(&bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 64).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, 64).unwrap();
    assert!(tok.add_bos());
    assert_eq!(encode(&mut tok, "Hello world", with), [1, 15043, 3186]);
    assert_eq!(encode(&mut tok, "", with), [1]);
    // <|user|> then "\n" swallowed (RSTRIP), then a space prefix: "▁What".
    assert_eq!(encode(&mut tok, "<|user|>\nWhat", with), [1, 32010, 1724]);
    let mut ids = [0u32; 3];
    let mut d = [0u8; 64];
    let n = tok.encode("Hello world", with, &mut ids).unwrap();
    let m = tok
        .decode(
            &ids[..n],
            DecodeOptions {
                remove_special: true,
                render_special: false,
            },
            &mut d,
        )
        .unwrap();
    assert_eq!(&d[..m], b"Hello world");

    let bytes = read("gguf/smollm2-135m-instruct-vocab.gguf");
    let gguf = Gguf::parse(&bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 64).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, 64).unwrap();
    assert!(!tok.add_bos());
    assert_eq!(encode(&mut tok, "Hello world", with), [19556, 905]);
}

#[test]
fn sizes_and_limits_are_errors() {
    let bytes = read("gguf/smollm2-135m-instruct-vocab.gguf");
    let gguf = Gguf::parse(&bytes).unwrap();
    let needed = Tokenizer::bytes_needed(&gguf, 16).unwrap();
    let mut small = vec![0u8; needed - 1];
    assert!(matches!(
        Tokenizer::new(&gguf, &mut small, 16),
        Err(TokenizerError::BufferTooSmall { .. })
    ));
    let mut buf = vec![0u8; needed];
    let mut tok = Tokenizer::new(&gguf, &mut buf, 16).unwrap();
    let mut out = [0u32; 1];
    assert_eq!(
        tok.encode("Hello world", SPECIAL, &mut out),
        Err(TokenizerError::OutputTooSmall {
            needed: 2,
            capacity: 1
        })
    );
    assert_eq!(out[0], 19556, "the first id is written");
    assert!(matches!(
        tok.encode(
            "this text is longer than sixteen bytes",
            SPECIAL,
            &mut [0; 64]
        ),
        Err(TokenizerError::TextTooLong { .. })
    ));
    assert!(matches!(
        tok.piece(49152, false),
        Err(TokenizerError::TokenOutOfRange(49152))
    ));
}
