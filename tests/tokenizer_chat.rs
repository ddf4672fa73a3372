//! Chat templates: family recognition, rendering equal to the templates' own Jinja output
//! (`tests/data/tokenizer/chat/expected.tsv`), SmolLM2's default system message and prompt ids
//! from llama.cpp (`smollm2/chat.tsv`: the `jinja_default` and `builtin_chatml` renderings of
//! `fixtures/smollm2/greedy.json`), stop tokens, and streaming decode of generated ids.

use std::path::PathBuf;

use phi3_kernels::gguf::Gguf;
use phi3_kernels::tokenizer::{
    ChatFamily, ChatTemplate, EncodeOptions, Message, StreamDecoder, Tokenizer, TokenizerError,
};

fn read(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn unhex(s: &str) -> String {
    let b: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(b).unwrap()
}

fn ids(s: &str) -> Vec<u32> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().unwrap())
        .collect()
}

fn render(t: &ChatTemplate<'_>, msgs: &[Message<'_>]) -> String {
    let mut out = vec![0u8; t.rendered_len(msgs, true)];
    t.render(msgs, true, &mut out).unwrap().to_string()
}

const CONVERSATION: [Message<'static>; 4] = [
    Message {
        role: phi3_kernels::tokenizer::Role::System,
        content: "Be brief.",
    },
    Message {
        role: phi3_kernels::tokenizer::Role::User,
        content: "Hi",
    },
    Message {
        role: phi3_kernels::tokenizer::Role::Assistant,
        content: "Hello!",
    },
    Message {
        role: phi3_kernels::tokenizer::Role::User,
        content: "2+2?",
    },
];

#[test]
fn renders_what_the_templates_render() {
    let text = String::from_utf8(read("tokenizer/chat/expected.tsv")).unwrap();
    let mut seen = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (name, template) = (f[0], unhex(f[1]));
        let (with_system, without) = (unhex(f[2]), unhex(f[3]));
        let t = ChatTemplate::detect(&template).unwrap();
        let family = match name {
            "smollm2" => ChatFamily::ChatMl,
            "phi3" | "phi3.5" => ChatFamily::Phi3,
            "phi4-mini" => ChatFamily::Phi4Mini,
            other => panic!("unknown template {other}"),
        };
        assert_eq!(t.family(), family, "{name}");
        // Phi-3's first template writes BOS as text; the renderer leaves it to the encoder.
        let strip = |s: String| s.strip_prefix("<s>").map(str::to_string).unwrap_or(s);
        assert_eq!(
            render(&t, &CONVERSATION[1..]),
            strip(without),
            "{name} without system"
        );
        if name != "phi3" {
            // (Phi-3's first template drops system messages; the renderer keeps them.)
            assert_eq!(render(&t, &CONVERSATION), with_system, "{name} with system");
        }
        seen.push(name.to_string());
    }
    assert_eq!(seen, ["smollm2", "phi3", "phi3.5", "phi4-mini"]);
    assert_eq!(
        ChatTemplate::detect("{{ messages }}"),
        Err(TokenizerError::UnknownChatTemplate)
    );
}

fn smollm2() -> Vec<u8> {
    read("gguf/smollm2-135m-instruct-vocab.gguf")
}

#[test]
fn smollm2_prompts_and_replies_match_llama_cpp() {
    let bytes = smollm2();
    let gguf = Gguf::parse(&bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 1024).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, 1024).unwrap();
    let template = tok.chat_template().unwrap();
    assert_eq!(template.family(), ChatFamily::ChatMl);
    assert_eq!(
        template.default_system(),
        Some("You are a helpful AI assistant named SmolLM, trained by Hugging Face")
    );
    assert_eq!(template.end_of_turn(), "<|im_end|>");
    let im_end = tok.token_id("<|im_end|>").unwrap();
    assert_eq!(im_end, 2);
    assert!(
        tok.is_stop_token(im_end) && tok.is_stop_token(0),
        "{:?}",
        tok.stop_tokens()
    );

    let rows = String::from_utf8(read("tokenizer/smollm2/chat.tsv")).unwrap();
    let mut n = 0;
    for line in rows.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (case, variant, user) = (f[0], f[1], unhex(f[2]));
        let (prompt, prompt_ids, generated) = (unhex(f[3]), ids(f[4]), ids(f[5]));
        let reply = unhex(f[6]);
        let t = match variant {
            "jinja_default" => template,
            "builtin_chatml" => ChatTemplate::from_family(ChatFamily::ChatMl),
            other => panic!("{other}"),
        };
        let rendered = render(&t, &[Message::user(&user)]);
        assert_eq!(rendered, prompt, "{case}");
        let mut out = vec![0u32; 256];
        let k = tok
            .encode(
                &rendered,
                EncodeOptions {
                    add_special: true,
                    parse_special: true,
                },
                &mut out,
            )
            .unwrap();
        assert_eq!(&out[..k], &prompt_ids[..], "{case}");

        // Stream the reply up to the first stop token.
        let mut dec = StreamDecoder::new(false);
        let mut piece = vec![0u8; StreamDecoder::buffer_bytes(&tok)];
        let mut text = String::new();
        for &id in &generated {
            if tok.is_stop_token(id) {
                break;
            }
            text += dec.push(&tok, id, &mut piece).unwrap();
        }
        text += dec.finish(&mut piece).unwrap();
        assert_eq!(text, reply, "{case}");
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn phi3_prompt_tokens_and_stops() {
    let bytes = read("gguf/ggml-vocab-phi-3.gguf");
    let gguf = Gguf::parse(&bytes).unwrap();
    let mut buf = vec![0u8; Tokenizer::bytes_needed(&gguf, 1024).unwrap()];
    let mut tok = Tokenizer::new(&gguf, &mut buf, 1024).unwrap();
    let t = tok.chat_template().unwrap();
    assert_eq!(t.family(), ChatFamily::Phi3);
    assert_eq!(t.end_of_turn(), "<|end|>");
    let prompt = render(
        &t,
        &[Message::system("Be brief."), Message::user("What is 2+2?")],
    );
    assert_eq!(
        prompt,
        "<|system|>\nBe brief.<|end|>\n<|user|>\nWhat is 2+2?<|end|>\n<|assistant|>\n"
    );
    let mut out = [0u32; 64];
    let n = tok
        .encode(
            &prompt,
            EncodeOptions {
                add_special: true,
                parse_special: true,
            },
            &mut out,
        )
        .unwrap();
    // BOS, <|system|> (newline swallowed), "▁Be brief.", <|end|>, <|user|>, …, <|assistant|>.
    assert_eq!(out[..2], [1, 32006]);
    assert_eq!(out[n - 1], 32001);
    assert!(
        !out[..n].contains(&13),
        "no newline token survives after special tokens: {:?}",
        &out[..n]
    );
    for stop in ["<|end|>", "<|endoftext|>"] {
        assert!(tok.is_stop_token(tok.token_id(stop).unwrap()), "{stop}");
    }
    assert_eq!(tok.eos(), Some(32000));
    assert!(!tok.is_stop_token(32010));
    // Too small an output buffer reports the full length.
    let mut small = [0u8; 8];
    assert_eq!(
        t.render(&[Message::user("Hi")], true, &mut small),
        Err(TokenizerError::OutputTooSmall {
            needed: 33,
            capacity: 8
        })
    );
}
