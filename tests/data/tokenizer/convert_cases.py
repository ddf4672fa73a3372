#!/usr/bin/env python3
"""Converts the JSON / llama.cpp fixtures in this folder into the line format the Rust tests
read (serde is not a dependency). Run from this folder: python3 convert_cases.py

Outputs (UTF-8 text, one case per line, tab-separated; texts as lowercase hex of their UTF-8
bytes so that tabs, newlines and CR survive; id lists comma-separated, possibly empty):

  <vocab>/cases.tsv        hex(text)  ids(parse_special on)  ids(parse_special off)
  phi3/vocab_test.tsv      hex(text)  ids                    (llama.cpp's .inp/.out: no BOS,
                                                              parse_special off)
  smollm2/chat.tsv         case id  template variant  hex(user message)  hex(prompt text)
                           prompt ids  generated ids  hex(text until <|im_end|>)
"""
import json


def ids(xs):
    return ",".join(str(x) for x in xs)


def hexs(s):
    return s.encode("utf-8").hex()


for vocab in ("phi3", "smollm2"):
    d = json.load(open(f"{vocab}/cases.json", encoding="utf-8"))
    with open(f"{vocab}/cases.tsv", "w", encoding="utf-8") as f:
        for c in d["cases"]:
            f.write(f"{hexs(c['text'])}\t{ids(c['ids'])}\t{ids(c['ids_parse_special_off'])}\n")

inp = open("phi3/ggml-vocab-phi-3.gguf.inp", encoding="utf-8").read()
texts = inp.split("\n__ggml_vocab_test__\n")
assert texts[-1] == "", "the .inp file ends with a separator"
texts = texts[:-1]
outs = open("phi3/ggml-vocab-phi-3.gguf.out", encoding="utf-8").read().split("\n")
outs = outs[: len(texts)]
assert len(texts) == len(outs) == 46
with open("phi3/vocab_test.tsv", "w", encoding="utf-8") as f:
    for t, o in zip(texts, outs):
        f.write(f"{hexs(t)}\t{ids(int(x) for x in o.split())}\n")

g = json.load(open("smollm2/greedy.json", encoding="utf-8"))
with open("smollm2/chat.tsv", "w", encoding="utf-8") as f:
    for c in g["cases"]:
        f.write("\t".join([
            c["id"], c["template_variant"], hexs(c["user_message"]), hexs(c["prompt_text"]),
            ids(c["prompt_ids"]), ids(c["generated_ids"]), hexs(c["generated_text_until_im_end"]),
        ]) + "\n")
print("ok")
