#!/usr/bin/env python3
"""Expected chat prompts, rendered by Jinja2 from the templates themselves.

Run from this folder: python3 gen_chat_expected.py → chat/expected.tsv

Templates: SmolLM2's and Phi-3's are read from the vocab GGUFs in ../gguf (their
`tokenizer.chat_template`); Phi-3.5-mini's and Phi-4-mini's are transcriptions of the
templates published with those models (no GGUF of them is available here).
Line format: name TAB hex(template) TAB hex(prompt with a system message) TAB hex(prompt
without one). The conversation: [system "Be brief."], user "Hi", assistant "Hello!",
user "2+2?", add_generation_prompt = true, bos_token "<s>" (Phi-3's template writes it; the
Rust renderer leaves BOS to the encoder, and the test strips it).
"""
import struct

import jinja2


def gguf_str(path, key):
    b = open(path, "rb").read()
    off = 8
    _, nkv = struct.unpack_from("<QQ", b, off)
    off += 16
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def rstr():
        nonlocal off
        (n,) = struct.unpack_from("<Q", b, off)
        off += 8
        s = b[off:off + n]
        off += n
        return s

    def skip(t):
        nonlocal off
        if t == 8:
            rstr()
        elif t == 9:
            (et,) = struct.unpack_from("<I", b, off)
            (n,) = struct.unpack_from("<Q", b, off + 4)
            off += 12
            for _ in range(n):
                skip(et)
        else:
            off += sizes[t]

    for _ in range(nkv):
        k = rstr().decode()
        (t,) = struct.unpack_from("<I", b, off)
        off += 4
        if k == key and t == 8:
            return rstr().decode()
        skip(t)
    raise KeyError(key)


PHI4_MINI = "{% for message in messages %}{% if message['role'] == 'system' and 'tools' in message and message['tools'] is not none %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|tool|>' + message['tools'] + '<|/tool|>' + '<|end|>' }}{% else %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% else %}{{ eos_token }}{% endif %}"
PHI35 = "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"

templates = [
    ("smollm2", gguf_str("../gguf/smollm2-135m-instruct-vocab.gguf", "tokenizer.chat_template")),
    ("phi3", gguf_str("../gguf/ggml-vocab-phi-3.gguf", "tokenizer.chat_template")),
    ("phi3.5", PHI35),
    ("phi4-mini", PHI4_MINI),
]
msgs = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "2+2?"},
]
env = jinja2.Environment()
with open("chat/expected.tsv", "w", encoding="utf-8") as f:
    for name, t in templates:
        r = lambda m: env.from_string(t).render(messages=m, add_generation_prompt=True,
                                                 bos_token="<s>", eos_token="</s>")
        f.write("\t".join([name, t.encode().hex(), r(msgs).encode().hex(),
                           r(msgs[1:]).encode().hex()]) + "\n")
print("ok")
