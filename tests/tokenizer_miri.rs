//! The tokenizer over tiny synthetic vocabularies (a few dozen tokens, built in memory as
//! GGUF files), small enough for Miri (`scripts/miri`): SentencePiece with byte fallback and
//! byte-level BPE with merges (`smollm` and `gpt-4o` pre-tokenizers) through encode (with and
//! without special-token parsing), decode, `StreamDecoder`, chat template rendering and every
//! `TokenizerError` the tokenizer can return, each triggered by name.
//!
//! Every expected id below is worked out by hand from the vocabulary tables in this file (ids
//! are written as token texts and looked up in those tables, never through the tokenizer).

mod gguf_common;

use std::sync::{Mutex, OnceLock};

use gguf_common::{ty, Aligned, Builder, V};
use phi3_kernels::gguf::{Gguf, GgufError, ValueType};
use phi3_kernels::tokenizer::{
    ChatFamily, ChatTemplate, DecodeOptions, EncodeOptions, Message, PreTokenizer, StreamDecoder,
    Tokenizer, TokenizerError, Utf8Stream, VocabKind,
};

/// `max_text_bytes` of every tokenizer here.
const MAX: usize = 128;

// GGUF token types.
const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const USER: i32 = 4;
const BYTE: i32 = 6;

/// SentencePiece vocabulary: (text, score, type). Merges go by score, highest first.
///
/// `general.name` contains "Phi3", so llama.cpp's Phi-3 quirk applies: every special token but
/// `<unk>`, `<s>` (and `<|endoftext|>`) drops the whitespace that follows it (RSTRIP).
const SPM: &[(&str, f32, i32)] = &[
    ("<unk>", 0.0, UNKNOWN), // 0
    ("<s>", 0.0, CONTROL),   // 1: BOS by default
    ("</s>", 0.0, CONTROL),  // 2: EOS by default
    ("<|user|>", 0.0, CONTROL),
    ("<|assistant|>", 0.0, CONTROL), // 4: the longest token, 13 bytes
    ("<|system|>", 0.0, CONTROL),
    ("<|end|>", 0.0, CONTROL), // 6: an end-of-generation name
    ("<|tool|>", 0.0, USER),   // 7: user-defined, matched even without special parsing
    ("<0x0A>", 0.0, BYTE),
    ("<0xF0>", 0.0, BYTE), // 9..=12: the bytes of U+1F600 (no other byte tokens)
    ("<0x9F>", 0.0, BYTE),
    ("<0x98>", 0.0, BYTE),
    ("<0x80>", 0.0, BYTE),
    ("\u{2581}", -10.0, NORMAL), // 13: ▁
    ("h", -10.0, NORMAL),
    ("e", -10.0, NORMAL),
    ("l", -10.0, NORMAL),
    ("o", -10.0, NORMAL),
    ("w", -10.0, NORMAL),
    ("r", -10.0, NORMAL),
    ("d", -10.0, NORMAL),
    ("i", -10.0, NORMAL),
    ("<", -10.0, NORMAL),
    (">", -10.0, NORMAL),
    ("s", -10.0, NORMAL),
    ("he", -3.0, NORMAL),
    ("ll", -2.0, NORMAL),
    ("hell", -4.0, NORMAL),
    ("hello", -5.0, NORMAL),
    ("\u{2581}hello", -6.0, NORMAL),
    ("\u{2581}w", -7.0, NORMAL),
    ("or", -1.0, NORMAL),
    ("\u{2581}wor", -8.0, NORMAL),
    ("ld", -9.0, NORMAL), // 33
];

/// A Phi-3 style template: `<|assistant|>` and `<|end|>`, role and content not glued.
const PHI3_TEMPLATE: &str =
    "{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + \
    message['content'] + '<|end|>\n'}}{% endfor %}{% if add_generation_prompt %}\
    {{ '<|assistant|>\n' }}{% endif %}";

/// Byte-level BPE vocabulary: (text, type), GPT-2 spelling (`Ġ` = space, `Ċ` = newline,
/// `Ã©` = the bytes C3 A9 of `é`).
const BPE: &[(&str, i32)] = &[
    ("<|endoftext|>", CONTROL), // 0
    ("<|im_start|>", CONTROL),  // 1: BOS (set in the file)
    ("<|im_end|>", CONTROL),    // 2: EOS (set in the file)
    ("h", NORMAL),
    ("e", NORMAL),
    ("l", NORMAL),
    ("o", NORMAL),
    ("w", NORMAL),
    ("r", NORMAL),
    ("d", NORMAL),
    ("\u{120}", NORMAL), // 10: Ġ
    ("\u{10A}", NORMAL), // 11: Ċ
    ("1", NORMAL),
    ("2", NORMAL),
    ("!", NORMAL),
    ("a", NORMAL),
    ("i", NORMAL),
    ("n", NORMAL),
    ("s", NORMAL),
    ("t", NORMAL),
    ("u", NORMAL),
    ("m", NORMAL),
    ("y", NORMAL),
    ("_", NORMAL),
    ("<", NORMAL),
    ("|", NORMAL),
    (">", NORMAL),
    ("\u{C3}", NORMAL), // 27: Ã
    ("\u{A9}", NORMAL), // 28: ©
    ("he", NORMAL),
    ("ll", NORMAL),
    ("hell", NORMAL),
    ("hello", NORMAL),
    ("\u{120}w", NORMAL),
    ("or", NORMAL),
    ("\u{120}wor", NORMAL),
    ("ld", NORMAL),
    ("\u{120}world", NORMAL),
    ("12", NORMAL),
    ("\u{C3}\u{A9}", NORMAL), // 39
];

/// BPE merges, best rank first. "w o" has no result token (kept: the merged symbol is emitted
/// as its bytes); "l d" repeats (the first rank counts). A merge naming a piece that is no
/// token, or with no space, is an error (`error_bad_merge`).
const MERGES: &[&str] = &[
    "h e",
    "l l",
    "he ll",
    "hell o",
    "\u{120} w",
    "o r",
    "\u{120}w or",
    "l d",
    "\u{120}wor ld",
    "1 2",
    "\u{C3} \u{A9}",
    "w o",
    "l d",
];

const CHATML_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and \
    messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nBe kind.<|im_end|>\n' }}{% endif %}\
    {{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}\
    {% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

fn strings(texts: impl IntoIterator<Item = &'static str>) -> V {
    V::Arr(ty::STRING, texts.into_iter().map(V::str).collect())
}

fn spm_file() -> Builder {
    Builder::new()
        .kv("general.name", V::str("Tiny Phi3 Test"))
        .kv("tokenizer.ggml.model", V::str("llama"))
        .kv("tokenizer.ggml.tokens", strings(SPM.iter().map(|t| t.0)))
        .kv(
            "tokenizer.ggml.scores",
            V::Arr(ty::F32, SPM.iter().map(|t| V::F32(t.1)).collect()),
        )
        .kv(
            "tokenizer.ggml.token_type",
            V::Arr(ty::I32, SPM.iter().map(|t| V::I32(t.2)).collect()),
        )
        .kv("tokenizer.chat_template", V::str(PHI3_TEMPLATE))
}

fn bpe_file(pre: &str) -> Builder {
    Builder::new()
        .kv("general.name", V::str("Tiny BPE Test"))
        .kv("tokenizer.ggml.model", V::str("gpt2"))
        .kv("tokenizer.ggml.pre", V::str(pre))
        .kv("tokenizer.ggml.tokens", strings(BPE.iter().map(|t| t.0)))
        .kv(
            "tokenizer.ggml.token_type",
            V::Arr(ty::I32, BPE.iter().map(|t| V::I32(t.1)).collect()),
        )
        .kv("tokenizer.ggml.merges", strings(MERGES.iter().copied()))
        .kv("tokenizer.ggml.bos_token_id", V::U32(1))
        .kv("tokenizer.ggml.eos_token_id", V::U32(2))
        .kv("tokenizer.ggml.padding_token_id", V::U32(2))
        .kv("tokenizer.ggml.add_bos_token", V::Bool(0))
        .kv("tokenizer.chat_template", V::str(CHATML_TEMPLATE))
}

/// `b` with `key` set to `value` (replaced in place, or appended).
fn with(mut b: Builder, key: &str, value: V) -> Builder {
    match b.kvs.iter_mut().find(|(k, _)| k == key.as_bytes()) {
        Some(kv) => kv.1 = value,
        None => b.kvs.push((key.as_bytes().to_vec(), value)),
    }
    b
}

fn without(mut b: Builder, key: &str) -> Builder {
    b.kvs.retain(|(k, _)| k != key.as_bytes());
    b
}

/// Builds the file and a tokenizer over it (buffer exactly `bytes_needed`) and runs `f`.
fn with_tok<R>(b: &Builder, f: impl FnOnce(&mut Tokenizer<'_, '_>) -> R) -> R {
    let file = Aligned::new(&b.build());
    let gguf = Gguf::parse(file.bytes()).expect("valid GGUF");
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, MAX).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, MAX).unwrap();
    f(&mut tok)
}

type Shared = Mutex<Tokenizer<'static, 'static>>;

static SPM_TOK: OnceLock<Shared> = OnceLock::new();
static BPE_TOK: OnceLock<Shared> = OnceLock::new();
static ODD_TOK: OnceLock<Shared> = OnceLock::new();

/// Runs `f` on the tokenizer over `file()`, built once per test binary and shared by the tests
/// (`Tokenizer::new` takes seconds under Miri: it walks the metadata a few dozen times and
/// looks up a token for each of the 256 bytes). The file and the buffer are leaked, reachable
/// from the static (so Miri reports no leak).
fn with_shared<R>(
    cell: &'static OnceLock<Shared>,
    file: fn() -> Builder,
    f: impl FnOnce(&mut Tokenizer<'static, 'static>) -> R,
) -> R {
    let tok = cell.get_or_init(|| {
        let raw = file().build();
        let words: &'static mut [u64] =
            Box::leak(vec![0u64; raw.len().div_ceil(8)].into_boxed_slice());
        let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(words)[..raw.len()];
        bytes.copy_from_slice(&raw);
        let bytes: &'static [u8] = bytes;
        let gguf = Gguf::parse(bytes).expect("valid GGUF");
        let n = Tokenizer::bytes_needed(&gguf, MAX).unwrap();
        // The buffer starts 1-3 bytes past a 4-byte boundary, so that carving the u32
        // tables has to skip padding (`with_tok` gives an aligned buffer).
        let buf: &'static mut [u8] = Box::leak(vec![0u8; n + 3].into_boxed_slice());
        let shift = (1..4)
            .find(|s| !(buf.as_ptr() as usize + s).is_multiple_of(4))
            .unwrap();
        let buf = &mut buf[shift..shift + n];
        Mutex::new(Tokenizer::new(&gguf, buf, MAX).unwrap())
    });
    // A test that panicked while holding the lock leaves a valid tokenizer (encode writes only
    // its scratch), so a poisoned lock is used anyway.
    let mut guard = tok.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard)
}

fn smollm_file() -> Builder {
    bpe_file("smollm")
}

/// A minimal BPE file (three tokens, one merge).
fn bpe_min() -> Builder {
    Builder::new()
        .kv("tokenizer.ggml.model", V::str("gpt2"))
        .kv("tokenizer.ggml.pre", V::str("smollm"))
        .kv("tokenizer.ggml.tokens", strings(["a", "b", "ab"]))
        .kv("tokenizer.ggml.merges", strings(["a b"]))
}

/// The error building a tokenizer over `b` gives; `bytes_needed` and `new` must agree.
fn build_err(b: &Builder) -> TokenizerError {
    let file = Aligned::new(&b.build());
    let gguf = Gguf::parse(file.bytes()).expect("valid GGUF");
    let mut big = vec![0u8; 1 << 16];
    match Tokenizer::bytes_needed(&gguf, MAX) {
        Err(e) => {
            let again = Tokenizer::new(&gguf, &mut big, MAX)
                .map(|_| ())
                .unwrap_err();
            assert_eq!(again, e, "bytes_needed and new disagree");
            e
        }
        Ok(n) => {
            let mut buf = vec![0u8; n];
            Tokenizer::new(&gguf, &mut buf, MAX)
                .map(|_| ())
                .expect_err("the vocabulary should be rejected")
        }
    }
}

/// Ids of token texts in the SentencePiece table.
fn spm(texts: &[&str]) -> Vec<u32> {
    texts
        .iter()
        .map(|t| SPM.iter().position(|e| e.0 == *t).expect(t) as u32)
        .collect()
}

/// Ids of token texts in the BPE table.
fn bpe(texts: &[&str]) -> Vec<u32> {
    texts
        .iter()
        .map(|t| BPE.iter().position(|e| e.0 == *t).expect(t) as u32)
        .collect()
}

fn enc(
    tok: &mut Tokenizer<'_, '_>,
    text: &str,
    add_special: bool,
    parse_special: bool,
) -> Vec<u32> {
    let mut out = [0u32; 256];
    let opts = EncodeOptions {
        add_special,
        parse_special,
    };
    let n = tok.encode(text, opts, &mut out).unwrap();
    out[..n].to_vec()
}

/// Decoded bytes (not necessarily UTF-8).
fn dec(
    tok: &Tokenizer<'_, '_>,
    ids: &[u32],
    remove_special: bool,
    render_special: bool,
) -> Vec<u8> {
    let mut out = [0u8; 128];
    let opts = DecodeOptions {
        remove_special,
        render_special,
    };
    let n = tok.decode(ids, opts, &mut out).unwrap();
    out[..n].to_vec()
}

/// Pushes `ids` one by one through a `StreamDecoder`; returns each push's text and the
/// finish text.
fn stream(tok: &Tokenizer<'_, '_>, ids: &[u32], render_special: bool) -> (Vec<String>, String) {
    let mut d = StreamDecoder::new(render_special);
    let mut out = vec![0u8; StreamDecoder::buffer_bytes(tok)];
    let pieces = ids
        .iter()
        .map(|&id| d.push(tok, id, &mut out).unwrap().to_string())
        .collect();
    let end = d.finish(&mut out).unwrap().to_string();
    (pieces, end)
}

// ---- SentencePiece ----------------------------------------------------------------------

#[test]
fn spm_tables_and_special_ids() {
    with_shared(&SPM_TOK, spm_file, |tok| {
        assert_eq!(tok.kind(), VocabKind::SentencePiece);
        assert_eq!(tok.n_vocab(), 34);
        assert_eq!(tok.max_text_bytes(), MAX);
        // llama.cpp's SentencePiece defaults: BOS 1, EOS 2, UNK 0, BOS added, space prefix.
        assert_eq!(
            (tok.bos(), tok.eos(), tok.unk(), tok.pad()),
            (Some(1), Some(2), Some(0), None)
        );
        assert!(tok.add_bos() && tok.add_space_prefix());
        // No eot key: the first end-of-turn name in llama.cpp's list order, `<|end|>`.
        assert_eq!(tok.eot(), Some(6));
        assert_eq!(tok.stop_tokens(), &[6, 2]);
        assert!(tok.is_stop_token(6) && tok.is_stop_token(2) && !tok.is_stop_token(1));
        assert!(!tok.is_stop_token(u32::MAX));
        assert!(tok.is_control(1) && tok.is_control(6) && !tok.is_control(7));
        assert!(!tok.is_control(13) && !tok.is_control(999));
        assert_eq!(tok.token_id("\u{2581}hello"), Some(29));
        assert_eq!(tok.token_id("world"), None);
        assert_eq!(tok.token_text(29), Some("\u{2581}hello"));
        assert_eq!(tok.token_text(34), None);
        assert_eq!(tok.token_score(28), -5.0);
        assert_eq!(tok.max_piece_bytes(), 13); // `<|assistant|>`
        assert_eq!(tok.chat_template_text(), Some(PHI3_TEMPLATE));
    });
}

#[test]
fn spm_encode() {
    with_shared(&SPM_TOK, spm_file, |tok| {
        // ▁hello▁world: or (-1), ll (-2), he (-3), hell (-4), hello (-5), ▁hello (-6), ▁w (-7),
        // ▁wor (-8), ld (-9).
        let hello_world = spm(&["\u{2581}hello", "\u{2581}wor", "ld"]);
        assert_eq!(enc(tok, "hello world", false, true), hello_world);
        assert_eq!(
            enc(tok, "hello world", true, true),
            [&[1][..], &hello_world].concat()
        );
        // Equal scores: the leftmost pair merges first (▁ ll l, not ▁ l ll).
        assert_eq!(enc(tok, "lll", false, true), spm(&["\u{2581}", "ll", "l"]));
        // Byte fallback: the emoji has no token, its four bytes do.
        assert_eq!(
            enc(tok, "hi\u{1F600}", false, true),
            spm(&["\u{2581}", "h", "i", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"])
        );
        assert_eq!(enc(tok, "", false, true), Vec::<u32>::new());
        assert_eq!(enc(tok, "", true, true), [1]);

        // Control tokens match only with special parsing; the text after one gets the space
        // prefix. <s> keeps the space after it (no RSTRIP), <|end|> and </s> drop it.
        assert_eq!(
            enc(tok, "hi<s>", false, true),
            spm(&["\u{2581}", "h", "i", "<s>"])
        );
        assert_eq!(
            enc(tok, "hi<s>", false, false),
            spm(&["\u{2581}", "h", "i", "<", "s", ">"])
        );
        assert_eq!(
            enc(tok, "<s> hi", false, true),
            spm(&["<s>", "\u{2581}", "\u{2581}", "h", "i"])
        );
        assert_eq!(
            enc(tok, "<|end|> hi", false, true),
            spm(&["<|end|>", "\u{2581}", "h", "i"])
        );
        assert_eq!(
            enc(tok, "</s> hi", false, true),
            spm(&["</s>", "\u{2581}", "h", "i"])
        );
        // A user-defined token is matched without special parsing too (and, Phi-3 quirk,
        // drops the space after it).
        let tool = spm(&["\u{2581}", "h", "i", "<|tool|>", "\u{2581}", "h", "i"]);
        assert_eq!(enc(tok, "hi<|tool|> hi", false, false), tool);
        assert_eq!(enc(tok, "hi<|tool|> hi", false, true), tool);
        // Two control tokens side by side, nothing between them.
        assert_eq!(enc(tok, "<|end|><|user|>", false, true), [6, 3]);
    });
}

#[test]
fn spm_decode() {
    with_shared(&SPM_TOK, spm_file, |tok| {
        let ids = [
            &[1][..],
            &spm(&["\u{2581}hello", "\u{2581}wor", "ld"]),
            &[2],
        ]
        .concat();
        assert_eq!(dec(tok, &ids[1..4], false, false), b"hello world");
        // remove_special drops the BOS (the vocabulary adds one), not the EOS (it adds none);
        // the space prefix then comes off the first piece. (llama.cpp's `llama_detokenize`
        // keeps that space when it drops a BOS; this crate strips it so that text round-trips,
        // as `tokenizer_parity::bos_follows_the_vocabulary` pins too.)
        assert_eq!(dec(tok, &ids, true, false), b"hello world");
        assert_eq!(dec(tok, &ids, true, true), b"hello world</s>");
        // Control tokens render as nothing unless asked. Only the first piece may lose its
        // leading space: a hidden BOS is that piece, so " hello" keeps it.
        assert_eq!(dec(tok, &ids, false, false), b" hello world");
        assert_eq!(dec(tok, &ids, false, true), b"<s> hello world</s>");
        assert_eq!(
            dec(
                tok,
                &spm(&["\u{2581}", "h", "i", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"]),
                false,
                false
            ),
            "hi\u{1F600}".as_bytes()
        );
        // A lone byte token decodes to that byte (not UTF-8 on its own).
        assert_eq!(dec(tok, &[9], false, false), [0xF0]);
        assert_eq!(dec(tok, &[7], false, false), b"<|tool|>");
        assert_eq!(dec(tok, &[0], false, false), b"");
        assert_eq!(dec(tok, &[0], false, true), b"<unk>");
        assert_eq!(dec(tok, &[], false, false), b"");

        let piece: Vec<u8> = tok.piece(32, false).unwrap().collect();
        assert_eq!(piece, b" wor");
        assert_eq!(tok.piece(6, false).unwrap().count(), 0);
        let piece: Vec<u8> = tok.piece(6, true).unwrap().collect();
        assert_eq!(piece, b"<|end|>");

        // Output too short: the full length, and the first bytes written.
        let mut short = [0u8; 4];
        assert_eq!(
            tok.decode(&ids[1..4], DecodeOptions::default(), &mut short),
            Err(TokenizerError::OutputTooSmall {
                needed: 11,
                capacity: 4
            })
        );
        assert_eq!(&short, b"hell");
    });
}

#[test]
fn spm_stream_decoder() {
    with_shared(&SPM_TOK, spm_file, |tok| {
        assert_eq!(StreamDecoder::buffer_bytes(tok), (13 + 4) * 3);
        let ids = spm(&[
            "\u{2581}", "h", "i", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "<|end|>",
        ]);
        let (pieces, end) = stream(tok, &ids, false);
        assert_eq!(pieces, [" ", "h", "i", "", "", "", "\u{1F600}", ""]);
        assert_eq!(end, "");
        let (pieces, _) = stream(tok, &[6, 7], true);
        assert_eq!(pieces, ["<|end|>", "<|tool|>"]);
        // An emoji cut short: held, then U+FFFD at the end or before the next character.
        let (pieces, end) = stream(tok, &[9, 10], false);
        assert_eq!(
            (pieces, end.as_str()),
            (vec![String::new(), String::new()], "\u{FFFD}")
        );
        let (pieces, end) = stream(tok, &[9, 14], false);
        assert_eq!(
            (pieces, end.as_str()),
            (vec![String::new(), "\u{FFFD}h".to_string()], "")
        );

        let mut d = StreamDecoder::new(false);
        let mut small = vec![0u8; StreamDecoder::buffer_bytes(tok) - 1];
        assert_eq!(
            d.push(tok, 14, &mut small),
            Err(TokenizerError::OutputTooSmall {
                needed: 51,
                capacity: 50
            })
        );
        let mut out = vec![0u8; StreamDecoder::buffer_bytes(tok)];
        assert_eq!(
            d.push(tok, 34, &mut out),
            Err(TokenizerError::TokenOutOfRange(34))
        );
        assert_eq!(d.push(tok, 9, &mut out), Ok(""));
        assert_eq!(
            d.finish(&mut []),
            Err(TokenizerError::OutputTooSmall {
                needed: 3,
                capacity: 0
            })
        );

        let mut s = Utf8Stream::new();
        let mut out = [0u8; 64];
        assert_eq!(s.push(&[b'a', 0xC3], &mut out), Ok("a"));
        assert_eq!(s.pending(), 1);
        assert_eq!(
            s.push(&[0xA9, 0xFF, 0xED, 0xA0, 0x80], &mut out),
            Ok("\u{e9}\u{FFFD}\u{FFFD}")
        );
        assert_eq!(s.finish(&mut out), Ok(""));
    });
}

#[test]
fn phi3_chat_template() {
    with_shared(&SPM_TOK, spm_file, |tok| {
        let t = tok.chat_template().unwrap();
        assert_eq!(t.family(), ChatFamily::Phi3);
        assert_eq!(t.default_system(), None);
        assert_eq!(t.end_of_turn(), "<|end|>");
        let msgs = [Message::system("hi"), Message::user("hello world")];
        let want = "<|system|>\nhi<|end|>\n<|user|>\nhello world<|end|>\n<|assistant|>\n";
        assert_eq!(t.rendered_len(&msgs, true), want.len());
        let mut out = vec![0u8; want.len()];
        assert_eq!(t.render(&msgs, true, &mut out), Ok(want));
        let mut short = vec![0u8; want.len() - 1];
        assert_eq!(
            t.render(&msgs, true, &mut short),
            Err(TokenizerError::OutputTooSmall {
                needed: want.len(),
                capacity: want.len() - 1
            })
        );
        // The Phi-3 quirk drops each "\n" after <|system|>, <|user|>, <|end|>, <|assistant|>.
        let ids = [
            &[1][..],
            &spm(&["<|system|>", "\u{2581}", "h", "i", "<|end|>", "<|user|>"]),
            &spm(&[
                "\u{2581}hello",
                "\u{2581}wor",
                "ld",
                "<|end|>",
                "<|assistant|>",
            ]),
        ]
        .concat();
        assert_eq!(enc(tok, want, true, true), ids);
        let no_gen = "<|user|>\nhi<|end|>\n";
        let mut out = vec![0u8; no_gen.len()];
        assert_eq!(
            t.render(&[Message::user("hi")], false, &mut out),
            Ok(no_gen)
        );
    });
    let phi4 = ChatTemplate::from_family(ChatFamily::Phi4Mini);
    let mut out = [0u8; 64];
    assert_eq!(
        phi4.render(&[Message::user("hi")], true, &mut out),
        Ok("<|user|>hi<|end|><|assistant|>")
    );
    let glued = "{{'<|' + message['role'] + '|>' + message['content'] + '<|end|>'}}<|assistant|>";
    assert_eq!(
        ChatTemplate::detect(glued).unwrap().family(),
        ChatFamily::Phi4Mini
    );
}

// ---- byte-level BPE ---------------------------------------------------------------------

#[test]
fn bpe_smollm_encode() {
    with_shared(&BPE_TOK, smollm_file, |tok| {
        assert_eq!(tok.kind(), VocabKind::Bpe(PreTokenizer::SmolLm));
        assert_eq!(tok.n_vocab(), 40);
        assert_eq!(
            (tok.bos(), tok.eos(), tok.unk(), tok.pad()),
            (Some(1), Some(2), None, Some(2))
        );
        assert!(!tok.add_bos() && !tok.add_space_prefix());
        assert_eq!(tok.eot(), Some(2));
        assert_eq!(tok.stop_tokens(), &[2, 0]);
        assert_eq!(tok.max_piece_bytes(), 13); // `<|endoftext|>`

        // Words "hello", " world", "!"; merges by rank within each.
        let hw = bpe(&["hello", "\u{120}world", "!"]);
        assert_eq!(enc(tok, "hello world!", false, true), hw);
        // add_bos_token is false: add_special adds nothing.
        assert_eq!(enc(tok, "hello world!", true, true), hw);
        // or (rank 5) before ld (7); "w or" is no merge; the stale "w o" pair is skipped.
        assert_eq!(enc(tok, "world", false, true), bpe(&["w", "or", "ld"]));
        // "w o" merges into a symbol with no token: it is emitted as its single bytes.
        assert_eq!(enc(tok, "wow", false, true), bpe(&["w", "o", "w"]));
        // smollm splits every digit, so the merge "1 2" never applies.
        assert_eq!(enc(tok, "12", false, true), bpe(&["1", "2"]));
        // é: the bytes C3 A9 spelled Ã ©, merged.
        assert_eq!(enc(tok, "\u{e9}", false, true), bpe(&["\u{C3}\u{A9}"]));
        // A byte with no token (z) is skipped.
        assert_eq!(enc(tok, "hz", false, true), bpe(&["h"]));
        assert_eq!(
            enc(tok, "hello\nworld", false, true),
            bpe(&["hello", "\u{10A}", "w", "or", "ld"])
        );
        assert_eq!(enc(tok, "", true, true), Vec::<u32>::new());

        // Special parsing on and off.
        assert_eq!(
            enc(tok, "hi<|im_end|>hi", false, true),
            bpe(&["h", "i", "<|im_end|>", "h", "i"])
        );
        assert_eq!(
            enc(tok, "<|im_end|>", false, false),
            bpe(&["<", "|", "i", "m", "_", "e", "n", "d", "|", ">"])
        );

        let mut out = [0u32; 2];
        assert_eq!(
            tok.encode("hello world!", EncodeOptions::default(), &mut out),
            Err(TokenizerError::OutputTooSmall {
                needed: 3,
                capacity: 2
            })
        );
        assert_eq!(out.to_vec(), hw[..2]);
        let mut out = [0u32; 3];
        assert_eq!(
            tok.encode("hello world!", EncodeOptions::default(), &mut out),
            Ok(3)
        );
    });
}

#[test]
fn bpe_gpt4o_groups_digits() {
    // Up to three digits form one word (smollm splits each: `bpe_smollm_encode`).
    let tiny = Builder::new()
        .kv("tokenizer.ggml.model", V::str("gpt2"))
        .kv("tokenizer.ggml.pre", V::str("gpt-4o"))
        .kv(
            "tokenizer.ggml.tokens",
            strings([
                "1",
                "2",
                "3",
                "12",
                "h",
                "i",
                "hi",
                "\u{120}",
                "\u{120}hi",
                "!",
            ]),
        )
        .kv(
            "tokenizer.ggml.merges",
            strings(["1 2", "h i", "\u{120} hi"]),
        );
    with_tok(&tiny, |tok| {
        assert_eq!(tok.kind(), VocabKind::Bpe(PreTokenizer::Gpt4o));
        // "123" is one word: 12 (rank 0), then "12 3" has no merge.
        assert_eq!(enc(tok, "123", false, true), [3, 2]);
        // Words "hi", " hi", "!".
        assert_eq!(enc(tok, "hi hi!", false, true), [6, 8, 9]);
        assert_eq!(dec(tok, &[6, 8, 9], false, false), b"hi hi!");
    });
    // `llama4` names the same pre-tokenizer.
    let file = Aligned::new(&with(tiny, "tokenizer.ggml.pre", V::str("llama4")).build());
    let gguf = Gguf::parse(file.bytes()).unwrap();
    assert!(Tokenizer::bytes_needed(&gguf, MAX).is_ok());
}

#[test]
fn bpe_decode_and_stream() {
    with_shared(&BPE_TOK, smollm_file, |tok| {
        let hw = bpe(&["hello", "\u{120}world", "!"]);
        assert_eq!(dec(tok, &hw, false, false), b"hello world!");
        // No space prefix: a leading space stays.
        assert_eq!(
            dec(tok, &bpe(&["\u{120}", "hello"]), false, false),
            b" hello"
        );
        assert_eq!(
            dec(tok, &bpe(&["\u{C3}\u{A9}", "\u{10A}"]), false, false),
            "\u{e9}\n".as_bytes()
        );
        assert_eq!(dec(tok, &bpe(&["\u{C3}"]), false, false), [0xC3]);
        let ids = [&[1][..], &hw, &[2]].concat();
        assert_eq!(dec(tok, &ids, true, false), b"hello world!");
        assert_eq!(
            dec(tok, &ids, false, true),
            b"<|im_start|>hello world!<|im_end|>"
        );
        // remove_special: the vocabulary adds neither BOS nor EOS, so both stay.
        assert_eq!(
            dec(tok, &ids, true, true),
            b"<|im_start|>hello world!<|im_end|>"
        );

        let (pieces, end) = stream(
            tok,
            &bpe(&["\u{C3}", "\u{A9}", "\u{120}world", "<|im_end|>"]),
            false,
        );
        assert_eq!(
            (pieces, end.as_str()),
            (
                vec!["".to_string(), "\u{e9}".into(), " world".into(), "".into()],
                ""
            )
        );
        let (pieces, end) = stream(tok, &bpe(&["\u{C3}"]), false);
        assert_eq!((pieces, end.as_str()), (vec![String::new()], "\u{FFFD}"));

        assert_eq!(
            tok.decode(&[40], DecodeOptions::default(), &mut [0u8; 8]),
            Err(TokenizerError::TokenOutOfRange(40))
        );
        assert!(matches!(
            tok.piece(u32::MAX, true),
            Err(TokenizerError::TokenOutOfRange(u32::MAX))
        ));
    });
}

#[test]
fn chatml_chat_template() {
    with_shared(&BPE_TOK, smollm_file, |tok| {
        let t = tok.chat_template().unwrap();
        assert_eq!(t.family(), ChatFamily::ChatMl);
        assert_eq!(t.default_system(), Some("Be kind."));
        assert_eq!(t.end_of_turn(), "<|im_end|>");
        let mut out = [0u8; 128];
        // No system message: the template's own is injected.
        assert_eq!(
            t.render(&[Message::user("hello")], true, &mut out),
            Ok("<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n")
        );
        let msgs = [
            Message::system("hi"),
            Message::user("hello world"),
            Message::assistant("hi"),
        ];
        let want = "<|im_start|>system\nhi<|im_end|>\n<|im_start|>user\nhello world<|im_end|>\n\
                    <|im_start|>assistant\nhi<|im_end|>\n";
        let prompt = t.render(&msgs, false, &mut out).unwrap();
        assert_eq!(prompt, want);
        // No RSTRIP here: each "\n" is its own word (Ċ).
        let ids = bpe(&[
            "<|im_start|>",
            "s",
            "y",
            "s",
            "t",
            "e",
            "m",
            "\u{10A}",
            "h",
            "i",
            "<|im_end|>",
            "\u{10A}",
            "<|im_start|>",
            "u",
            "s",
            "e",
            "r",
            "\u{10A}",
            "hello",
            "\u{120}world",
            "<|im_end|>",
            "\u{10A}",
            "<|im_start|>",
            "a",
            "s",
            "s",
            "i",
            "s",
            "t",
            "a",
            "n",
            "t",
            "\u{10A}",
            "h",
            "i",
            "<|im_end|>",
            "\u{10A}",
        ]);
        assert_eq!(enc(tok, want, true, true), ids);
        let plain = ChatTemplate::from_family(ChatFamily::ChatMl);
        assert_eq!(plain.default_system(), None);
        assert_eq!(
            plain.render(&[Message::user("hi")], false, &mut out),
            Ok("<|im_start|>user\nhi<|im_end|>\n")
        );
    });
}

/// Valid but unusual: i32 scores, per-token arrays longer than the vocabulary (the extra
/// entries are ignored), two empty token texts (they never match, so they are no
/// duplicate), a chat template of the wrong type (ignored: no template).
fn odd_file() -> Builder {
    spm_min(&["<unk>", "<s>", "</s>", "\u{2581}a", "b", "", ""])
        .kv(
            "tokenizer.ggml.scores",
            V::Arr(ty::I32, [0, 0, 0, -1, -2, 0, 0, 5].map(V::I32).to_vec()),
        )
        .kv(
            "tokenizer.ggml.token_type",
            V::Arr(ty::I32, [2, 3, 3, 1, 1, 1, 1, 1, 1].map(V::I32).to_vec()),
        )
        .kv("tokenizer.chat_template", V::U32(7))
}

#[test]
fn odd_but_valid_vocabulary() {
    with_shared(&ODD_TOK, odd_file, |tok| {
        assert_eq!(tok.n_vocab(), 7);
        assert_eq!(tok.token_score(3), -1.0);
        assert_eq!(tok.token_score(4), -2.0);
        assert_eq!(tok.token_text(5), Some(""));
        assert_eq!(tok.token_id(""), None);
        // ▁ a b: "▁a" is a token, "ab" is not.
        assert_eq!(enc(tok, "ab", true, true), [1, 3, 4]);
        assert_eq!(dec(tok, &[1, 3, 4, 5, 6], true, false), b"ab");
    });
}

// ---- every TokenizerError, by name --------------------------------------------------------

/// A minimal SentencePiece file.
fn spm_min(tokens: &[&'static str]) -> Builder {
    Builder::new()
        .kv("tokenizer.ggml.model", V::str("llama"))
        .kv("tokenizer.ggml.tokens", strings(tokens.iter().copied()))
}

const FIVE: [&str; 5] = ["<unk>", "<s>", "</s>", "a", "b"];

#[test]
fn error_gguf() {
    let mismatch =
        |expected, found| TokenizerError::Gguf(GgufError::TypeMismatch { expected, found });
    let b = with(spm_min(&FIVE), "tokenizer.ggml.model", V::U32(1));
    assert_eq!(build_err(&b), mismatch(ValueType::String, ValueType::U32));
    let b = with(
        spm_min(&FIVE),
        "tokenizer.ggml.tokens",
        V::Arr(ty::I32, vec![V::I32(1)]),
    );
    assert_eq!(build_err(&b), mismatch(ValueType::String, ValueType::I32));
    let b = with(bpe_min(), "tokenizer.ggml.pre", V::Bool(1));
    assert_eq!(build_err(&b), mismatch(ValueType::String, ValueType::Bool));
    let b = with(
        bpe_min(),
        "tokenizer.ggml.merges",
        V::Arr(ty::U8, vec![V::U8(1)]),
    );
    assert_eq!(build_err(&b), mismatch(ValueType::String, ValueType::U8));
    let types = V::Arr(ty::F32, FIVE.iter().map(|_| V::F32(1.0)).collect());
    let b = with(spm_min(&FIVE), "tokenizer.ggml.token_type", types);
    assert_eq!(build_err(&b), mismatch(ValueType::I32, ValueType::F32));
    let b = with(spm_min(&FIVE), "tokenizer.ggml.scores", strings(FIVE));
    assert_eq!(build_err(&b), mismatch(ValueType::F32, ValueType::String));
    let b = with(spm_min(&FIVE), "tokenizer.ggml.add_bos_token", V::U32(1));
    assert_eq!(build_err(&b), mismatch(ValueType::Bool, ValueType::U32));
    let b = with(spm_min(&FIVE), "tokenizer.ggml.bos_token_id", V::I32(-1));
    assert!(matches!(
        build_err(&b),
        TokenizerError::Gguf(GgufError::IntOutOfRange { .. })
    ));
    // (An i32 scores array is accepted: `odd_but_valid_vocabulary`.)
}

#[test]
fn error_missing_key() {
    let b = without(spm_min(&FIVE), "tokenizer.ggml.model");
    assert_eq!(
        build_err(&b),
        TokenizerError::MissingKey("tokenizer.ggml.model")
    );
    let b = without(spm_min(&FIVE), "tokenizer.ggml.tokens");
    assert_eq!(
        build_err(&b),
        TokenizerError::MissingKey("tokenizer.ggml.tokens")
    );
    let b = without(bpe_min(), "tokenizer.ggml.merges");
    assert_eq!(
        build_err(&b),
        TokenizerError::MissingKey("tokenizer.ggml.merges")
    );
}

#[test]
fn error_unsupported_model() {
    for model in ["bert", "", "LLAMA", "gpt-2"] {
        let b = with(spm_min(&FIVE), "tokenizer.ggml.model", V::str(model));
        assert_eq!(build_err(&b), TokenizerError::UnsupportedModel, "{model}");
    }
}

#[test]
fn error_unsupported_pre_tokenizer() {
    for pre in ["qwen2", "default", "", "SMOLLM"] {
        let b = with(bpe_min(), "tokenizer.ggml.pre", V::str(pre));
        assert!(
            matches!(build_err(&b), TokenizerError::UnsupportedPreTokenizer),
            "{pre}"
        );
    }
    let b = without(bpe_min(), "tokenizer.ggml.pre");
    assert_eq!(build_err(&b), TokenizerError::UnsupportedPreTokenizer);
}

#[test]
fn error_length_mismatch() {
    let scores = |n: usize| V::Arr(ty::F32, (0..n).map(|_| V::F32(0.0)).collect());
    let types = |n: usize| V::Arr(ty::I32, (0..n).map(|_| V::I32(NORMAL)).collect());
    let b = with(spm_min(&FIVE), "tokenizer.ggml.scores", scores(4));
    assert_eq!(
        build_err(&b),
        TokenizerError::LengthMismatch {
            key: "tokenizer.ggml.scores",
            expected: 5,
            found: 4
        }
    );
    let b = with(spm_min(&FIVE), "tokenizer.ggml.token_type", types(0));
    assert_eq!(
        build_err(&b),
        TokenizerError::LengthMismatch {
            key: "tokenizer.ggml.token_type",
            expected: 5,
            found: 0
        }
    );
    // (Longer arrays are accepted: `odd_but_valid_vocabulary`.)
}

#[test]
fn error_duplicate_token() {
    let b = spm_min(&["<unk>", "<s>", "</s>", "a", "b", "a"]);
    assert_eq!(
        build_err(&b),
        TokenizerError::DuplicateToken {
            first: 3,
            second: 5
        }
    );
    let b = with(
        bpe_min(),
        "tokenizer.ggml.tokens",
        strings(["a", "b", "ab", "b"]),
    );
    assert_eq!(
        build_err(&b),
        TokenizerError::DuplicateToken {
            first: 1,
            second: 3
        }
    );
    // (Two empty token texts are no duplicate: `odd_but_valid_vocabulary`.)
}

#[test]
fn error_too_large() {
    let b = with(
        spm_min(&FIVE),
        "tokenizer.ggml.tokens",
        V::Arr(ty::STRING, vec![]),
    );
    assert_eq!(build_err(&b), TokenizerError::TooLarge);
    // Scratch for `max_text_bytes` overflowing usize.
    let file = Aligned::new(&spm_min(&FIVE).build());
    let gguf = Gguf::parse(file.bytes()).unwrap();
    for max in [usize::MAX, usize::MAX / 3] {
        assert_eq!(
            Tokenizer::bytes_needed(&gguf, max),
            Err(TokenizerError::TooLarge)
        );
        let mut buf = vec![0u8; 4096];
        assert!(matches!(
            Tokenizer::new(&gguf, &mut buf, max),
            Err(TokenizerError::TooLarge)
        ));
    }
}

#[test]
fn error_missing_special_token() {
    // Two tokens: the default BOS (1) exists, the default EOS (2) does not (an out-of-range
    // EOS id is an error of its own: `error_special_token_out_of_range`).
    let b = spm_min(&["<unk>", "<s>"]).kv("tokenizer.ggml.add_eos_token", V::Bool(1));
    assert_eq!(
        build_err(&b),
        TokenizerError::MissingSpecialToken("add_eos_token")
    );
    // One token: SentencePiece adds BOS by default and the default BOS (1) does not exist.
    assert_eq!(
        build_err(&spm_min(&["a"])),
        TokenizerError::MissingSpecialToken("add_bos_token")
    );
    // BPE: llama.cpp's default BOS is id 11, absent from a 3-token vocabulary.
    let b = bpe_min().kv("tokenizer.ggml.add_bos_token", V::Bool(1));
    assert!(matches!(
        build_err(&b),
        TokenizerError::MissingSpecialToken("add_bos_token")
    ));
}

/// A BOS / EOS id past the vocabulary is a corrupt file (llama.cpp warns and silently uses its
/// default, which would add a wrong BOS or stop on a wrong token); other special ids out of
/// range are ignored, as llama.cpp does (real files carry e.g. a padding id equal to the
/// vocabulary size).
#[test]
fn error_special_token_out_of_range() {
    for key in ["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
        for (b, n_vocab) in [(spm_min(&FIVE), 5), (bpe_min(), 3)] {
            for id in [n_vocab as u32, 7, u32::MAX] {
                let e = build_err(&b.clone().kv(key, V::U32(id)));
                assert_eq!(
                    e,
                    TokenizerError::SpecialTokenOutOfRange { key, id, n_vocab },
                    "{key} = {id}"
                );
                assert_eq!(
                    e.to_string(),
                    format!("`{key}` = {id} is not below the vocabulary size {n_vocab}")
                );
            }
        }
    }
    // The last valid id is fine, and an out-of-range padding / EOT / unknown id is ignored.
    let b = spm_min(&FIVE)
        .kv("tokenizer.ggml.bos_token_id", V::U32(4))
        .kv("tokenizer.ggml.eos_token_id", V::U32(4))
        .kv("tokenizer.ggml.padding_token_id", V::U32(5))
        .kv("tokenizer.ggml.eot_token_id", V::U32(99))
        .kv("tokenizer.ggml.unknown_token_id", V::U32(5));
    with_tok(&b, |tok| {
        assert_eq!((tok.bos(), tok.eos(), tok.pad()), (Some(4), Some(4), None));
    });
}

/// A merge must name two tokens separated by a space; anything else is refused with its index
/// (it used to be skipped silently). A result that is no token is fine (`bpe_smollm`).
#[test]
fn error_bad_merge() {
    for (merge, why) in [
        ("a c", "right piece is no token"),
        ("c b", "left piece is no token"),
        ("ab a", "fine: both are tokens, no result"),
        ("nospace", "no space"),
        ("a ", "empty right piece"),
        ("", "empty"),
    ] {
        let b = with(bpe_min(), "tokenizer.ggml.merges", strings(["a b", merge]));
        if why.starts_with("fine") {
            with_tok(&b, |_| ());
            continue;
        }
        let e = build_err(&b);
        assert_eq!(e, TokenizerError::BadMerge { index: 1 }, "{merge:?}: {why}");
        assert_eq!(
            e.to_string(),
            "merge #1 of `tokenizer.ggml.merges` is not two vocabulary tokens separated by a space"
        );
    }
}

#[test]
fn error_buffer_too_small() {
    let file = Aligned::new(&spm_min(&FIVE).build());
    let gguf = Gguf::parse(file.bytes()).unwrap();
    let n = Tokenizer::bytes_needed(&gguf, MAX).unwrap();
    for got in [n - 1, 0] {
        let mut buf = vec![0u8; got];
        assert_eq!(
            Tokenizer::new(&gguf, &mut buf, MAX).map(|_| ()),
            Err(TokenizerError::BufferTooSmall { needed: n, got })
        );
    }
}

#[test]
fn error_text_too_long() {
    with_shared(&SPM_TOK, spm_file, |tok| {
        let text = "l".repeat(MAX + 1);
        let mut out = [0u32; 256];
        assert_eq!(
            tok.encode(&text, EncodeOptions::default(), &mut out),
            Err(TokenizerError::TextTooLong {
                len: MAX + 1,
                max: MAX
            })
        );
        // Exactly the limit is fine, even the longest escaped text: MAX spaces, each three
        // bytes as ▁ (plus the prefix), one symbol each, exactly filling the scratch.
        let spaces = " ".repeat(MAX);
        assert_eq!(enc(tok, &spaces, false, true), vec![13; MAX + 1]);
    });
}

#[test]
fn error_output_too_small() {
    with_shared(&SPM_TOK, spm_file, |tok| {
        let mut out = [0u32; 1];
        assert_eq!(
            tok.encode("hello world", EncodeOptions::default(), &mut out),
            Err(TokenizerError::OutputTooSmall {
                needed: 3,
                capacity: 1
            })
        );
        assert_eq!(out, [29]);
        let opts = EncodeOptions {
            add_special: true,
            parse_special: true,
        };
        assert_eq!(
            tok.encode("", opts, &mut []),
            Err(TokenizerError::OutputTooSmall {
                needed: 1,
                capacity: 0
            })
        );
        assert_eq!(tok.encode("", EncodeOptions::default(), &mut []), Ok(0));
    });
    // Decode, StreamDecoder, Utf8Stream and render: in the tests above; Utf8Stream::push here.
    let mut s = Utf8Stream::new();
    assert_eq!(
        s.push(b"abc", &mut [0u8; 20]),
        Err(TokenizerError::OutputTooSmall {
            needed: 21,
            capacity: 20
        })
    );
}

#[test]
fn error_no_byte_token() {
    with_shared(&SPM_TOK, spm_file, |tok| {
        let mut out = [0u32; 16];
        // z has no token and no <0x7A>.
        assert_eq!(
            tok.encode("hz", EncodeOptions::default(), &mut out),
            Err(TokenizerError::NoByteToken(b'z'))
        );
        // Without special parsing `<|end|>` is text, and `|` has no byte token.
        let opts = EncodeOptions {
            add_special: false,
            parse_special: false,
        };
        assert_eq!(
            tok.encode("<|end|>", opts, &mut out),
            Err(TokenizerError::NoByteToken(b'|'))
        );
        // é (C3 A9): the first byte without a token is reported.
        assert_eq!(
            tok.encode("\u{e9}", EncodeOptions::default(), &mut out),
            Err(TokenizerError::NoByteToken(0xC3))
        );
        // The tokenizer is still usable after the error.
        assert_eq!(enc(tok, "hi", false, true), spm(&["\u{2581}", "h", "i"]));
    });
}

#[test]
fn error_token_out_of_range() {
    with_shared(&SPM_TOK, spm_file, |tok| {
        for id in [34, 35, u32::MAX] {
            assert_eq!(
                tok.decode(&[13, id], DecodeOptions::default(), &mut [0u8; 16]),
                Err(TokenizerError::TokenOutOfRange(id))
            );
            assert!(
                matches!(tok.piece(id, false), Err(TokenizerError::TokenOutOfRange(i)) if i == id)
            );
            let mut out = vec![0u8; StreamDecoder::buffer_bytes(tok)];
            assert_eq!(
                StreamDecoder::new(true).push(tok, id, &mut out),
                Err(TokenizerError::TokenOutOfRange(id))
            );
        }
    });
}

#[test]
fn error_unknown_chat_template() {
    // No usable `tokenizer.chat_template` (one of the wrong type is ignored).
    with_shared(&ODD_TOK, odd_file, |tok| {
        assert_eq!(tok.chat_template_text(), None);
        assert_eq!(
            tok.chat_template(),
            Err(TokenizerError::UnknownChatTemplate)
        );
    });
    // Templates of no known family.
    assert_eq!(
        ChatTemplate::detect("{{ messages }}"),
        Err(TokenizerError::UnknownChatTemplate)
    );
    // `<|assistant|>` without `<|end|>` is not Phi-3.
    assert_eq!(
        ChatTemplate::detect("<|user|>{{ m }}<|assistant|>"),
        Err(TokenizerError::UnknownChatTemplate)
    );
    assert_eq!(
        ChatTemplate::detect(""),
        Err(TokenizerError::UnknownChatTemplate)
    );
}
