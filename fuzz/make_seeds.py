#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (small files, deterministic).

gguf_model: tiny but complete phi3 / llama / tied / LongRoPE GGUF models (a few KiB each),
            prefixed by the target's control byte (see fuzz_targets/gguf_model.rs).
tokenizer:  fixture strings from tests/data/tokenizer, with the control byte.
forward:    a few op sequences (see fuzz_targets/forward.rs).
Run: python3 fuzz/make_seeds.py  (from the repository root or fuzz/).
"""
import json, os, random, struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "corpus")

U32, I32, F32, BOOL, STR, ARR, U64 = 4, 5, 6, 7, 8, 9, 10
T_F32, T_F16, T_Q4_0, T_Q4_1, T_Q8_0, T_Q4_K, T_Q6_K = 0, 1, 2, 3, 8, 12, 14
BLOCK = {T_F32: (1, 4), T_F16: (1, 2), T_Q4_0: (32, 18), T_Q4_1: (32, 20), T_Q8_0: (32, 34),
         T_Q4_K: (256, 144), T_Q6_K: (256, 210)}


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, ty, val):
    out = gstr(key) + struct.pack("<I", ty)
    if ty == U32:
        out += struct.pack("<I", val)
    elif ty == F32:
        out += struct.pack("<f", val)
    elif ty == BOOL:
        out += struct.pack("<B", val)
    elif ty == STR:
        out += gstr(val)
    elif ty == ARR:
        ety, items = val
        out += struct.pack("<IQ", ety, len(items))
        for it in items:
            out += gstr(it) if ety == STR else struct.pack("<f" if ety == F32 else "<i", it)
    return out


def block_bytes(ty, n, rng):
    per, size = BLOCK[ty]
    nblocks = n // per
    out = bytearray()
    for _ in range(nblocks):
        if ty == T_F32:
            out += struct.pack("<f", rng.uniform(0.5, 1.5))
        elif ty == T_F16:
            out += struct.pack("<e", rng.uniform(-0.2, 0.2))
        elif ty in (T_Q4_0, T_Q8_0):
            out += struct.pack("<e", 0.01) + bytes(rng.randrange(256) for _ in range(size - 2))
        elif ty == T_Q4_1:
            out += struct.pack("<ee", 0.01, -0.05) + bytes(rng.randrange(256) for _ in range(16))
        else:
            out += bytes(rng.randrange(256) for _ in range(size))
    return bytes(out)


def model(arch="phi3", tied=False, longrope=False, n_embd=32, n_head=2, n_head_kv=1,
          n_ff=32, n_vocab=32, mat=T_Q4_0, seed=0):
    rng = random.Random(seed)
    head_dim = n_embd // n_head
    kvs = [kv("general.architecture", STR, arch), kv("general.name", STR, "fuzz-seed"),
           kv(f"{arch}.embedding_length", U32, n_embd), kv(f"{arch}.block_count", U32, 1),
           kv(f"{arch}.feed_forward_length", U32, n_ff),
           kv(f"{arch}.attention.head_count", U32, n_head),
           kv(f"{arch}.attention.head_count_kv", U32, n_head_kv),
           kv(f"{arch}.attention.layer_norm_rms_epsilon", F32, 1e-5),
           kv(f"{arch}.context_length", U32, 64), kv(f"{arch}.rope.freq_base", F32, 10000.0)]
    if longrope:
        kvs += [kv(f"{arch}.rope.scaling.original_context_length", U32, 16),
                kv(f"{arch}.rope.scaling.attn_factor", F32, 1.19)]
    q, kvd = n_head * head_dim, n_head_kv * head_dim
    tensors = [("token_embd.weight", mat, [n_embd, n_vocab])]
    tensors += [("blk.0.attn_norm.weight", T_F32, [n_embd]), ("blk.0.ffn_norm.weight", T_F32, [n_embd])]
    if arch == "phi3":
        tensors += [("blk.0.attn_qkv.weight", mat, [n_embd, q + 2 * kvd]),
                    ("blk.0.ffn_up.weight", mat, [n_embd, 2 * n_ff])]
    else:
        tensors += [("blk.0.attn_q.weight", mat, [n_embd, q]), ("blk.0.attn_k.weight", mat, [n_embd, kvd]),
                    ("blk.0.attn_v.weight", mat, [n_embd, kvd]), ("blk.0.ffn_gate.weight", mat, [n_embd, n_ff]),
                    ("blk.0.ffn_up.weight", mat, [n_embd, n_ff])]
    tensors += [("blk.0.attn_output.weight", T_Q8_0 if mat != T_F16 else T_F16, [q, n_embd]),
                ("blk.0.ffn_down.weight", T_Q4_1 if mat != T_F16 else T_F16, [n_ff, n_embd]),
                ("output_norm.weight", T_F32, [n_embd])]
    if not tied:
        tensors.append(("output.weight", T_Q8_0 if mat != T_F16 else mat, [n_embd, n_vocab]))
    if longrope:
        tensors += [("rope_factors_short.weight", T_F32, [head_dim // 2]),
                    ("rope_factors_long.weight", T_F32, [head_dim // 2])]
    align = 32
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs)
    data = b""
    for name, ty, ne in tensors:
        n = 1
        for d in ne:
            n *= d
        head += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        head += struct.pack("<IQ", ty, len(data))
        data += block_bytes(ty, n, rng)
        data += b"\0" * (-len(data) % align)
    head += b"\0" * (-len(head) % align)
    return head + data


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, "seed-" + name), "wb") as f:
        f.write(data)


def main():
    # gguf_model: control byte 0 (aligned input, first limits set).
    write("gguf_model", "phi3-q4_0", b"\0" + model())
    write("gguf_model", "phi3-tied-longrope", b"\x01" + model(tied=True, longrope=True, seed=1))
    write("gguf_model", "llama-f16", b"\x02" + model(arch="llama", mat=T_F16, n_head_kv=2, seed=2))
    write("gguf_model", "phi3-q4_0-misaligned", b"\x04" + model(seed=3))
    write("gguf_model", "header-only", b"\0" + b"GGUF" + struct.pack("<IQQ", 3, 0, 0))
    # tokenizer: control byte, then text (ids follow a 0xff separator, see the target).
    cases = []
    for vocab, ctl in (("phi3", 0), ("smollm2", 1)):
        path = os.path.join(ROOT, "tests/data/tokenizer", vocab, "cases.json")
        try:
            with open(path) as f:
                js = json.load(f)
        except OSError:
            continue
        items = js if isinstance(js, list) else js.get("cases", [])
        for i, c in enumerate(items[:12]):
            text = c.get("text") if isinstance(c, dict) else None
            if isinstance(text, str) and len(text.encode()) < 512:
                cases.append((f"{vocab}-{i}", ctl, text.encode()))
    cases += [("phi3-chat", 2, b"<|user|>\nHi there<|end|>\n<|assistant|>"),
              ("smollm2-chat", 3, b"<|im_start|>user\nHello<|im_end|>"),
              ("ids", 0, b"abc\xff" + bytes(range(0, 64)))]
    for name, ctl, text in cases:
        write("tokenizer", name, bytes([ctl]) + text)
    # forward: ops (see the target): batches, truncate, reset.
    write("forward", "prefill-decode", bytes([0, 4, 1, 0, 2, 0, 3, 0, 4, 0, 0, 1, 5, 0]))
    write("forward", "truncate-reset", bytes([0, 3, 7, 0, 8, 0, 9, 0, 1, 1, 2, 0, 1, 10, 0, 2, 0, 1, 11, 0]))
    # snapshot: (see the target) the valid snapshot untouched, cut short, patched; raw bytes.
    write("snapshot", "valid", bytes([1]))
    write("snapshot", "cut", bytes([3, 5]))
    write("snapshot", "patched", bytes([1, 40, 0, 1, 70, 0, 0x80]))
    write("snapshot", "raw-magic", b"\x00PHI3KVS\x00\x01\x00\x00\x00\x40\x00\x00\x00")
    write("forward", "errors", bytes([0, 9] + [1, 0] * 9 + [0, 1, 0xff, 0xff, 1, 200, 0, 1, 0]))


if __name__ == "__main__":
    main()
