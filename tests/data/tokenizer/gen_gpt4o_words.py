#!/usr/bin/env python3
"""Expected `gpt-4o` pre-tokenizer words, from an independent regex engine.

Run from this folder: python3 gen_gpt4o_words.py  → gpt4o/words.tsv

llama.cpp (src/llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_GPT4O) splits with its adapted regex
(below) through std::regex over a "collapsed" text: ASCII code points stay themselves, every
other code point becomes one byte for its class (0x0B whitespace, 0xD2 letter, 0xD1 number,
0xD0 other) and \\p{L} / \\p{N} become [\\xD2A-Za-z] / [\\xD10-9]. This script does the same
with Python's backtracking `re` on bytes (ECMAScript-like: ordered alternation, greedy
quantifiers, lookahead; \\s on bytes = [ \\t\\n\\r\\f\\v] = C isspace), so the Rust splitter is
checked against a real regex engine, not against a second copy of its own logic. Classes come
from the `regex` package and the White_Space list, as in gen_unicode_table.py.

Line format: hex(text) TAB hex(word),hex(word),...
"""
import json
import random
import re

import regex

WHITESPACE = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F,
              0x205F, 0x3000} | set(range(0x2000, 0x200B))
L = regex.compile(r"\p{L}")
N = regex.compile(r"\p{N}")


def collapse(text):
    out = bytearray()
    for ch in text:
        cp = ord(ch)
        if cp < 128:
            out.append(cp)
        elif cp in WHITESPACE:
            out.append(0x0B)
        elif L.match(ch):
            out.append(0xD2)
        elif N.match(ch):
            out.append(0xD1)
        else:
            out.append(0xD0)
    return bytes(out)


# llama.cpp's adapted GPT-4o regex with \p{L} and \p{N} collapsed.
PL = rb"\xd2A-Za-z"
PN = rb"\xd10-9"
CONTR = rb"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?"
PAT = (
    rb"[^\r\n" + PL + PN + rb"]?((?=[" + PL + rb"])([^a-z]))*((?=[" + PL + rb"])([^A-Z]))+" + CONTR
    + rb"|[^\r\n" + PL + PN + rb"]?((?=[" + PL + rb"])([^a-z]))+((?=[" + PL + rb"])([^A-Z]))*" + CONTR
    + rb"|[" + PN + rb"]{1,3}"
    + rb"| ?[^\s" + PL + PN + rb"]+[\r\n/]*"
    + rb"|\s*[\r\n]+"
    + rb"|\s+(?!\S)"
    + rb"|\s+"
)
RX = re.compile(PAT)


def words(text):
    col = collapse(text)
    out, last = [], 0
    for m in RX.finditer(col):
        if m.start() > last:
            out.append(text[last:m.start()])
        if m.end() > m.start():
            out.append(text[m.start():m.end()])
        last = m.end()
    if last < len(text):
        out.append(text[last:])
    return out


texts = []
for path in ("phi3/cases.json", "smollm2/cases.json"):
    texts += [c["text"] for c in json.load(open(path, encoding="utf-8"))["cases"]]
inp = open("phi3/ggml-vocab-phi-3.gguf.inp", encoding="utf-8").read().split("\n__ggml_vocab_test__\n")
texts += inp[:-1]
texts += [
    "HELLOworld", "helloWorld", "HTTPServer", "DON'T", "I'm", "I'LL", "we'Re", "x'S", "'s",
    "ÉcoleÉcole", "ÉCOLE", "Ωmega", "naïve", "e\u0301", "x\u00b2", "\u00a0hello", "hello\u3000\u3000world",
    "path/to/\nfile", "a\r\n\r\nb", " \n b", "!!!abc", " !!!", "  hello", "hello  ", "\t\tx",
    "1234567", "٣٤٥٦", "abc123def", "Ü-Bahn", "ǅungla", "ⅫⅩ", "$$$", " $", "a  \n  b", "\n", " ",
    "日本語ABCdef", "ПРИВЕТмир", "'tis", "''", "a'b", "(x)", "x\x0by", "\x1c\x1dtab", "🦙🦙 llama",
]
rng = random.Random(1234)
alphabet = list("aAbZz09 '\t\n\r/!.,-") + ["é", "É", "ß", "日", "٣", "\u00a0", "\u3000", "\u0301", "😀", "²", "\x0b"]
for _ in range(300):
    texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))))

with open("gpt4o/words.tsv", "w", encoding="utf-8") as f:
    for t in texts:
        ws = words(t)
        assert "".join(ws) == t
        f.write(t.encode().hex() + "\t" + ",".join(w.encode().hex() for w in ws) + "\n")
print(len(texts), "texts")
