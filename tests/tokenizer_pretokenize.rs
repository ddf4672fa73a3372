//! Pre-tokenizer word splits.
//!
//! `gpt-4o` (Phi-4-mini): no public vocabulary fixture is available here, so the splitter is
//! checked word for word against `tests/data/tokenizer/gpt4o/words.tsv` — 459 texts (every
//! tokenizer fixture string, hand-picked edge cases, 300 random strings over a hostile
//! alphabet) split by Python's backtracking `re` running llama.cpp's adapted regex over
//! llama.cpp's collapsed text (see `gen_gpt4o_words.py`) — and against the rule-by-rule cases
//! below. What is *not* verified: ids from a real Phi-4-mini vocabulary / merges.
//!
//! `smollm`: its ids are verified end to end by `tokenizer_parity.rs`; the cases here pin the
//! two-stage split (single digits, then GPT-2's rule).

use std::path::PathBuf;

use phi3_kernels::tokenizer::PreTokenizer;

fn words(pre: PreTokenizer, text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    pre.for_each_word(text, |w| out.push(w));
    out
}

fn unhex(s: &str) -> String {
    let b: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    String::from_utf8(b).unwrap()
}

#[test]
fn gpt4o_matches_a_regex_engine() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokenizer/gpt4o/words.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut n = 0;
    for line in text.lines() {
        let (t, w) = line.split_once('\t').unwrap();
        let t = unhex(t);
        let want: Vec<String> = w.split(',').filter(|x| !x.is_empty()).map(unhex).collect();
        assert_eq!(words(PreTokenizer::Gpt4o, &t), want, "{t:?}");
        n += 1;
    }
    assert_eq!(n, 459);
}

#[test]
fn gpt4o_rules() {
    use PreTokenizer::Gpt4o as G;
    // Letters: upper* lower+ | upper+ lower*, one optional leading non-letter, contractions.
    assert_eq!(words(G, "Hello world"), ["Hello", " world"]);
    assert_eq!(
        words(G, "HELLOworld helloWorld"),
        ["HELLOworld", " hello", "World"]
    );
    assert_eq!(words(G, "HTTPServer"), ["HTTPServer"]);
    assert_eq!(
        words(G, "DON'T I'm we'Re it's"),
        ["DON'T", " I'm", " we'Re", " it's"]
    );
    assert_eq!(words(G, "'tis"), ["'tis"]);
    // llama.cpp's collapsed regex: a non-ASCII letter is upper and lower at once.
    assert_eq!(words(G, "ÉcoleÉcole"), ["ÉcoleÉcole"]);
    assert_eq!(words(G, "ПРИВЕТмир"), ["ПРИВЕТмир"]);
    // Combining marks are not letters.
    assert_eq!(words(G, "e\u{301}"), ["e", "\u{301}"]);
    // Numbers in threes.
    assert_eq!(words(G, "1234567"), ["123", "456", "7"]);
    assert_eq!(words(G, "x²"), ["x", "²"]);
    // Punctuation with an optional space, then newlines and slashes.
    assert_eq!(words(G, "path/to/\nfile"), ["path", "/to", "/\n", "file"]);
    assert_eq!(words(G, "!!!abc !!!"), ["!!!", "abc", " !!!"]);
    // Whitespace: up to the last newline; trailing run; all but the last before a word.
    assert_eq!(words(G, " \n b"), [" \n", " b"]);
    assert_eq!(words(G, "a\r\n\r\nb"), ["a", "\r\n\r\n", "b"]);
    assert_eq!(words(G, "  hello  "), [" ", " hello", "  "]);
    assert_eq!(
        words(G, "hello\u{3000}\u{3000}world"),
        ["hello", "\u{3000}", "\u{3000}world"]
    );
    assert_eq!(words(G, "\u{a0}hello"), ["\u{a0}hello"]);
    assert_eq!(words(G, ""), Vec::<&str>::new());
}

#[test]
fn smollm_rules() {
    use PreTokenizer::SmolLm as S;
    assert_eq!(words(S, "abc123 def"), ["abc", "1", "2", "3", " def"]);
    assert_eq!(words(S, "Hello  world"), ["Hello", " ", " world"]);
    assert_eq!(words(S, "don't"), ["don", "'t"]);
    assert_eq!(words(S, "a\n\n\nb  "), ["a", "\n\n", "\n", "b", "  "]);
    assert_eq!(words(S, " ?! x"), [" ?!", " x"]);
    assert_eq!(words(S, "٣٤"), ["٣", "٤"]);
}

#[test]
fn words_tile_the_input() {
    let samples = [
        "",
        " ",
        "a",
        "日本語 text\t\n\r 123 'll 😀\u{a0}x",
        "''''",
        "\u{301}\u{301}a",
        "  \n\n  ",
    ];
    for pre in [PreTokenizer::SmolLm, PreTokenizer::Gpt4o] {
        for s in samples {
            let w = words(pre, s);
            assert_eq!(w.concat(), s, "{pre:?} {s:?}");
            assert!(w.iter().all(|x| !x.is_empty()));
        }
    }
}
