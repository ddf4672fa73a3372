//! Writes a random-weight GGUF (v3) with llama.cpp's `phi3` tensor layout and metadata.
//!
//! ```text
//! cargo run --release --example make_model -- --preset phi3-mini --type q4_0 \
//!     --out models/phi3-mini-q4_0.gguf [--seed 1] [--n-embd N] [--n-layer N] [--n-head N]
//!     [--n-head-kv N] [--n-ff N] [--n-vocab N] [--head-dim N] [--n-rot N] [--ctx N] [--tied]
//!     [--longrope ORIG]
//! ```
//!
//! `--longrope ORIG` makes a LongRoPE model like Phi-3-mini-128k: `original_context_length`
//! ORIG (below `--ctx`) and the tensors `rope_factors_short.weight` (factors 1.0 … 1.1) and
//! `rope_factors_long.weight` (1.0 … 40, rising with the pair index), so a session crosses from
//! one set to the other at ORIG positions.
//!
//! Presets: `tiny` (256 / 2 layers / 4 heads / ff 512 / vocab 512), `phi3-mini` (3072 / 32 / 32
//! heads = 32 KV / ff 8192 / vocab 32064, head_dim 96), `phi3-medium` (5120 / 40 / 40 heads,
//! 10 KV / ff 17920 / vocab 32064, head_dim 128), `phi4-mini` (3072 / 32 / 24 heads, 8 KV /
//! ff 8192 / vocab 200064, head_dim 128, partial rotary 96, tied embeddings). The `--n-*`
//! flags override a preset's value.
//!
//! Types (`--type`): `q4_0` (every matrix Q4_0, `output.weight` Q6_K — Q8_0 when its rows are
//! not a multiple of 256 — like llama-quantize's Q4_0), `q4_k_m` (Q4_K, with Q6_K for
//! `output.weight` and for `attn_qkv` / `ffn_down` in llama-quantize's "more bits" half of the
//! layers), `q8_0`, `f16`. A K-quant matrix whose rows are not a multiple of 256 falls back to
//! Q8_0. Norm weights are f32 ones.
//!
//! The weights are random and never pass through a float quantizer: each block gets random
//! quant bytes and small random scales chosen so a weight has a standard deviation of about
//! `0.5 / sqrt(n_in)`. Every block is valid (any byte pattern is a valid quant), the file is
//! streamed to disk tensor by tensor in 1 MiB pieces, and a 2 GiB Phi-3-mini takes seconds.
//!
//! The vocabulary is a minimal synthetic SentencePiece ("llama") one, like the fixtures':
//! `<unk>`, `<s>`, `</s>`, the 256 byte tokens `<0x00>`…, filler pieces (`▁`, letters,
//! digits, punctuation, `▁` + letter, pairs …) and the Phi-3 special tokens (`<|endoftext|>`,
//! `<|assistant|>`, …, `<|end|>`, `<|user|>`) at 32000 when the vocabulary is that big, else
//! at the end, padded with `<|placeholderN|>` control tokens up to `n_vocab`. llama.cpp loads
//! it (also for the `phi4-mini` preset, whose real vocabulary is BPE).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

#[path = "common/args.rs"]
mod args;
#[path = "common/rng.rs"]
mod rng;

use args::CliError;
use rng::Rng;

const GGML_F32: u32 = 0;
const GGML_F16: u32 = 1;
const GGML_Q4_0: u32 = 2;
const GGML_Q8_0: u32 = 8;
const GGML_Q4_K: u32 = 12;
const GGML_Q6_K: u32 = 14;

/// GGUF value types.
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;

/// Data section alignment (GGUF default).
const ALIGN: u64 = 32;

#[derive(Clone, Copy, Debug)]
struct Dims {
    n_embd: usize,
    n_layer: usize,
    n_head: usize,
    n_head_kv: usize,
    n_ff: usize,
    n_vocab: usize,
    head_dim: usize,
    n_rot: usize,
    ctx: usize,
    tied: bool,
    /// `original_context_length` of a LongRoPE model (`--longrope`).
    longrope: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileType {
    Q4_0,
    Q4KM,
    Q8_0,
    F16,
}

fn preset(name: &str) -> Option<Dims> {
    let d = |n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, head_dim, n_rot, tied| Dims {
        n_embd,
        n_layer,
        n_head,
        n_head_kv,
        n_ff,
        n_vocab,
        head_dim,
        n_rot,
        ctx: 4096,
        tied,
        longrope: None,
    };
    Some(match name {
        "tiny" => d(256, 2, 4, 4, 512, 512, 64, 64, false),
        "phi3-mini" => d(3072, 32, 32, 32, 8192, 32064, 96, 96, false),
        "phi3-medium" => d(5120, 40, 40, 10, 17920, 32064, 128, 128, false),
        "phi4-mini" => d(3072, 32, 24, 8, 8192, 200064, 128, 96, true),
        _ => return None,
    })
}

struct Args {
    dims: Dims,
    ftype: FileType,
    seed: u64,
    out: String,
    preset: String,
}

const USAGE: &str = "usage: make_model --preset tiny|phi3-mini|phi3-medium|phi4-mini \
    [--type q4_0|q4_k_m|q8_0|f16] [--seed N] --out FILE [--n-embd N] [--n-layer N] \
    [--n-head N] [--n-head-kv N] [--n-ff N] [--n-vocab N] [--head-dim N] [--n-rot N] \
    [--ctx N] [--tied] [--longrope ORIG]";

fn parse_args() -> Result<Args, CliError> {
    let argv: Vec<String> = args::args()?;
    let mut preset_name = "tiny".to_string();
    if let Some(i) = argv.iter().position(|a| a == "--preset") {
        preset_name = argv.get(i + 1).ok_or("--preset needs a value")?.clone();
    }
    let mut dims = preset(&preset_name).ok_or(format!("unknown preset {preset_name}\n{USAGE}"))?;
    let (mut ftype, mut seed, mut out) = (FileType::Q4_0, 1u64, None);
    let mut head_dim_set = false;
    let mut rot_set = false;
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{arg} needs a value"));
        let mut num = |dst: &mut usize| -> Result<(), String> {
            *dst = value()?.parse().map_err(|e| format!("{arg}: {e}"))?;
            Ok(())
        };
        match arg.as_str() {
            "--preset" => {
                value()?;
            }
            "--n-embd" => num(&mut dims.n_embd)?,
            "--n-layer" => num(&mut dims.n_layer)?,
            "--n-head" => num(&mut dims.n_head)?,
            "--n-head-kv" => num(&mut dims.n_head_kv)?,
            "--n-ff" => num(&mut dims.n_ff)?,
            "--n-vocab" => num(&mut dims.n_vocab)?,
            "--head-dim" => {
                num(&mut dims.head_dim)?;
                head_dim_set = true;
            }
            "--n-rot" => {
                num(&mut dims.n_rot)?;
                rot_set = true;
            }
            "--ctx" => num(&mut dims.ctx)?,
            "--tied" => dims.tied = true,
            "--longrope" => {
                let mut orig = 0;
                num(&mut orig)?;
                dims.longrope = Some(orig);
            }
            "--type" => {
                ftype = match value()?.as_str() {
                    "q4_0" => FileType::Q4_0,
                    "q4_k_m" => FileType::Q4KM,
                    "q8_0" => FileType::Q8_0,
                    "f16" => FileType::F16,
                    t => return Err(format!("unknown --type {t}\n{USAGE}").into()),
                }
            }
            "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => out = Some(value()?),
            "-h" | "--help" => return Err(CliError::Help),
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    let p = preset(&preset_name).ok_or("preset")?;
    if !head_dim_set && (dims.n_embd != p.n_embd || dims.n_head != p.n_head) {
        dims.head_dim = dims.n_embd / dims.n_head.max(1);
    }
    if !rot_set && dims.head_dim != p.head_dim {
        dims.n_rot = dims.head_dim;
    }
    let d = &dims;
    if d.n_head == 0 || d.n_head_kv == 0 || !d.n_head.is_multiple_of(d.n_head_kv) {
        return Err("--n-head must be a positive multiple of --n-head-kv".into());
    }
    if !d.n_embd.is_multiple_of(32)
        || !d.n_ff.is_multiple_of(32)
        || !(d.n_head * d.head_dim).is_multiple_of(32)
    {
        return Err("n_embd, n_ff and n_head · head_dim must be multiples of 32".into());
    }
    if d.n_rot > d.head_dim || !d.n_rot.is_multiple_of(2) || d.n_layer == 0 || d.ctx == 0 {
        return Err("need even n_rot <= head_dim, n_layer >= 1, ctx >= 1".into());
    }
    if d.longrope.is_some_and(|o| o == 0 || o >= d.ctx) {
        return Err("--longrope ORIG needs 1 <= ORIG < --ctx".into());
    }
    if d.n_vocab < 3 + 256 + SPECIALS.len() + 64 {
        return Err(format!(
            "--n-vocab must be at least {}",
            3 + 256 + SPECIALS.len() + 64
        )
        .into());
    }
    Ok(Args {
        dims,
        ftype,
        seed,
        out: out.ok_or(format!("--out is required\n{USAGE}"))?,
        preset: preset_name,
    })
}

/// The Phi-3 special tokens, in id order from the first special id.
const SPECIALS: [&str; 11] = [
    "<|endoftext|>",
    "<|assistant|>",
    "<|placeholder1|>",
    "<|placeholder2|>",
    "<|placeholder3|>",
    "<|placeholder4|>",
    "<|system|>",
    "<|end|>",
    "<|placeholder5|>",
    "<|placeholder6|>",
    "<|user|>",
];

/// Token pieces, scores and types (1 normal, 2 unknown, 3 control, 6 byte).
fn vocab(n_vocab: usize) -> (Vec<String>, Vec<f32>, Vec<i32>, usize) {
    let first_special = if n_vocab >= 32000 + 64 {
        32000
    } else {
        n_vocab - SPECIALS.len() - 32
    };
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    let mut types = vec![2, 3, 3];
    for b in 0..256 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
    }
    let alphabet: Vec<char> = ('a'..='z')
        .chain('A'..='Z')
        .chain('0'..='9')
        .chain(".,!?;:'\"()-".chars())
        .collect();
    let mut fillers: Vec<String> = vec!["▁".into()];
    fillers.extend(alphabet.iter().map(|c| c.to_string()));
    fillers.extend(alphabet.iter().map(|c| format!("▁{c}")));
    'pairs: for a in &alphabet {
        for b in &alphabet {
            if fillers.len() >= first_special {
                break 'pairs;
            }
            fillers.push(format!("{a}{b}"));
            fillers.push(format!("▁{a}{b}"));
        }
    }
    let mut i = 0;
    while tokens.len() + fillers.len() < first_special {
        fillers.push(format!("▁tok{i}"));
        i += 1;
    }
    for f in fillers.into_iter().take(first_special - tokens.len()) {
        tokens.push(f);
        types.push(1);
    }
    for s in SPECIALS {
        tokens.push(s.into());
        types.push(3);
    }
    let mut k = 7;
    while tokens.len() < n_vocab {
        tokens.push(format!("<|placeholder{k}|>"));
        types.push(3);
        k += 1;
    }
    let scores = (0..n_vocab)
        .map(|i| if types[i] == 1 { -(i as f32) } else { 0.0 })
        .collect();
    (tokens, scores, types, first_special)
}

/// GGUF metadata writer into a byte vector.
struct Meta {
    buf: Vec<u8>,
    count: u64,
}

impl Meta {
    fn key(&mut self, k: &str, ty: u32) {
        self.str_raw(k);
        self.buf.extend(ty.to_le_bytes());
        self.count += 1;
    }
    fn str_raw(&mut self, s: &str) {
        self.buf.extend((s.len() as u64).to_le_bytes());
        self.buf.extend(s.as_bytes());
    }
    fn u32(&mut self, k: &str, v: u32) {
        self.key(k, T_U32);
        self.buf.extend(v.to_le_bytes());
    }
    fn f32(&mut self, k: &str, v: f32) {
        self.key(k, T_F32);
        self.buf.extend(v.to_le_bytes());
    }
    fn bool(&mut self, k: &str, v: bool) {
        self.key(k, T_BOOL);
        self.buf.push(v as u8);
    }
    fn string(&mut self, k: &str, v: &str) {
        self.key(k, T_STRING);
        self.str_raw(v);
    }
    fn array_header(&mut self, k: &str, elem: u32, n: usize) {
        self.key(k, T_ARRAY);
        self.buf.extend(elem.to_le_bytes());
        self.buf.extend((n as u64).to_le_bytes());
    }
}

/// One tensor to write: name, GGUF dims (`ne[0]` contiguous), type.
struct TensorSpec {
    name: String,
    ne: Vec<u64>,
    ty: u32,
}

impl TensorSpec {
    fn rows(&self) -> u64 {
        self.ne.iter().skip(1).product()
    }
    fn row_bytes(&self) -> u64 {
        let n = self.ne[0];
        match self.ty {
            GGML_F32 => 4 * n,
            GGML_F16 => 2 * n,
            GGML_Q4_0 => n / 32 * 18,
            GGML_Q8_0 => n / 32 * 34,
            GGML_Q4_K => n / 256 * 144,
            GGML_Q6_K => n / 256 * 210,
            _ => unreachable!(),
        }
    }
    fn bytes(&self) -> u64 {
        self.rows() * self.row_bytes()
    }
}

/// llama-quantize's `use_more_bits` (the Q4_K_M layers that get Q6_K).
fn use_more_bits(i: usize, n: usize) -> bool {
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

fn matrix_type(ftype: FileType, n_in: usize, more_bits: bool, output: bool) -> u32 {
    let k_ok = n_in.is_multiple_of(256);
    match ftype {
        FileType::F16 => GGML_F16,
        FileType::Q8_0 => GGML_Q8_0,
        FileType::Q4_0 if output => {
            if k_ok {
                GGML_Q6_K
            } else {
                GGML_Q8_0
            }
        }
        FileType::Q4_0 => GGML_Q4_0,
        FileType::Q4KM if !k_ok => GGML_Q8_0,
        FileType::Q4KM if output || more_bits => GGML_Q6_K,
        FileType::Q4KM => GGML_Q4_K,
    }
}

fn tensors(d: &Dims, ftype: FileType) -> Vec<TensorSpec> {
    let q_dim = d.n_head * d.head_dim;
    let kv_dim = d.n_head_kv * d.head_dim;
    let t = |name: String, ne: &[usize], ty| TensorSpec {
        name,
        ne: ne.iter().map(|&v| v as u64).collect(),
        ty,
    };
    let mut v = vec![t(
        "token_embd.weight".into(),
        &[d.n_embd, d.n_vocab],
        matrix_type(ftype, d.n_embd, false, false),
    )];
    for l in 0..d.n_layer {
        let more = ftype == FileType::Q4KM && use_more_bits(l, d.n_layer);
        let b = |s: &str| format!("blk.{l}.{s}");
        v.push(t(b("attn_norm.weight"), &[d.n_embd], GGML_F32));
        v.push(t(
            b("attn_qkv.weight"),
            &[d.n_embd, q_dim + 2 * kv_dim],
            matrix_type(ftype, d.n_embd, more, false),
        ));
        v.push(t(
            b("attn_output.weight"),
            &[q_dim, d.n_embd],
            matrix_type(ftype, q_dim, false, false),
        ));
        v.push(t(b("ffn_norm.weight"), &[d.n_embd], GGML_F32));
        v.push(t(
            b("ffn_up.weight"),
            &[d.n_embd, 2 * d.n_ff],
            matrix_type(ftype, d.n_embd, false, false),
        ));
        v.push(t(
            b("ffn_down.weight"),
            &[d.n_ff, d.n_embd],
            matrix_type(ftype, d.n_ff, more, false),
        ));
    }
    v.push(t("output_norm.weight".into(), &[d.n_embd], GGML_F32));
    if d.longrope.is_some() {
        for set in ["short", "long"] {
            v.push(t(
                format!("rope_factors_{set}.weight"),
                &[d.n_rot / 2],
                GGML_F32,
            ));
        }
    }
    if !d.tied {
        v.push(t(
            "output.weight".into(),
            &[d.n_embd, d.n_vocab],
            matrix_type(ftype, d.n_embd, false, true),
        ));
    }
    v
}

fn f16_bits(v: f32) -> [u8; 2] {
    half::f16::from_f32(v).to_bits().to_le_bytes()
}

/// Fills `buf` (whole rows of `spec`) with random valid data: random quant bytes, then every
/// block's scales overwritten with small random positive values (see the module docs).
fn random_rows(spec: &TensorSpec, buf: &mut [u8], rng: &mut Rng) {
    let n_in = spec.ne[0] as f32;
    let sigma = 0.5 / n_in.sqrt();
    match spec.ty {
        GGML_F32 => {
            // Norm weights are ones; LongRoPE factors rise with the pair index.
            let top = match spec.name.as_str() {
                "rope_factors_short.weight" => 1.1f32,
                "rope_factors_long.weight" => 40.0,
                _ => 1.0,
            };
            let n = buf.len() / 4;
            for (i, c) in buf.chunks_exact_mut(4).enumerate() {
                let f = 1.0 + (top - 1.0) * i as f32 / (n.max(2) - 1) as f32;
                c.copy_from_slice(&f.to_le_bytes());
            }
        }
        GGML_F16 => {
            for c in buf.chunks_exact_mut(2) {
                c.copy_from_slice(&f16_bits((rng.unit() * 2.0 - 1.0) * sigma * 1.732));
            }
        }
        GGML_Q4_0 => {
            rng.fill(buf);
            for b in buf.chunks_exact_mut(18) {
                b[..2].copy_from_slice(&f16_bits(sigma / 4.6 * (0.5 + rng.unit())));
            }
        }
        GGML_Q8_0 => {
            rng.fill(buf);
            for b in buf.chunks_exact_mut(34) {
                b[..2].copy_from_slice(&f16_bits(sigma / 73.0 * (0.5 + rng.unit())));
            }
        }
        GGML_Q4_K => {
            rng.fill(buf);
            for b in buf.chunks_exact_mut(144) {
                let d = sigma / (31.0 * 4.6) * (0.5 + rng.unit());
                b[..2].copy_from_slice(&f16_bits(d));
                b[2..4].copy_from_slice(&f16_bits(d * 7.5));
            }
        }
        GGML_Q6_K => {
            rng.fill(buf);
            for b in buf.chunks_exact_mut(210) {
                let d = sigma / (73.0 * 18.5) * (0.5 + rng.unit());
                b[208..210].copy_from_slice(&f16_bits(d));
            }
        }
        _ => unreachable!(),
    }
}

fn write_model(args: &Args) -> Result<u64, String> {
    let d = &args.dims;
    let specs = tensors(d, args.ftype);
    let (tokens, scores, types, first_special) = vocab(d.n_vocab);

    let mut m = Meta {
        buf: Vec::new(),
        count: 0,
    };
    m.string("general.architecture", "phi3");
    m.string(
        "general.name",
        &format!("phi3-kernels random {} {:?}", args.preset, args.ftype),
    );
    m.u32("general.alignment", ALIGN as u32);
    let file_type = match args.ftype {
        FileType::F16 => 1,
        FileType::Q4_0 => 2,
        FileType::Q8_0 => 7,
        FileType::Q4KM => 15,
    };
    m.u32("general.file_type", file_type);
    m.u32("general.quantization_version", 2);
    m.u32("phi3.context_length", d.ctx as u32);
    m.u32(
        "phi3.rope.scaling.original_context_length",
        d.longrope.unwrap_or(d.ctx) as u32,
    );
    m.u32("phi3.embedding_length", d.n_embd as u32);
    m.u32("phi3.feed_forward_length", d.n_ff as u32);
    m.u32("phi3.block_count", d.n_layer as u32);
    m.u32("phi3.attention.head_count", d.n_head as u32);
    m.u32("phi3.attention.head_count_kv", d.n_head_kv as u32);
    if d.head_dim != d.n_embd / d.n_head {
        m.u32("phi3.attention.key_length", d.head_dim as u32);
        m.u32("phi3.attention.value_length", d.head_dim as u32);
    }
    m.f32("phi3.attention.layer_norm_rms_epsilon", 1e-5);
    m.u32("phi3.rope.dimension_count", d.n_rot as u32);
    m.f32("phi3.rope.freq_base", 10000.0);
    m.string("tokenizer.ggml.model", "llama");
    m.string("tokenizer.ggml.pre", "default");
    m.array_header("tokenizer.ggml.tokens", T_STRING, tokens.len());
    for t in &tokens {
        m.str_raw(t);
    }
    m.array_header("tokenizer.ggml.scores", T_F32, scores.len());
    for s in &scores {
        m.buf.extend(s.to_le_bytes());
    }
    m.array_header("tokenizer.ggml.token_type", T_I32, types.len());
    for t in &types {
        m.buf.extend(t.to_le_bytes());
    }
    m.u32("tokenizer.ggml.bos_token_id", 1);
    m.u32("tokenizer.ggml.eos_token_id", first_special as u32);
    m.u32("tokenizer.ggml.unknown_token_id", 0);
    m.u32("tokenizer.ggml.padding_token_id", first_special as u32);
    m.bool("tokenizer.ggml.add_bos_token", true);
    m.bool("tokenizer.ggml.add_eos_token", false);

    let mut header = Vec::new();
    header.extend(b"GGUF");
    header.extend(3u32.to_le_bytes());
    header.extend((specs.len() as u64).to_le_bytes());
    header.extend(m.count.to_le_bytes());
    header.extend(&m.buf);
    let mut offset = 0u64;
    for s in &specs {
        header.extend((s.name.len() as u64).to_le_bytes());
        header.extend(s.name.as_bytes());
        header.extend((s.ne.len() as u32).to_le_bytes());
        for &n in &s.ne {
            header.extend(n.to_le_bytes());
        }
        header.extend(s.ty.to_le_bytes());
        header.extend(offset.to_le_bytes());
        offset = (offset + s.bytes()).next_multiple_of(ALIGN);
    }
    header.resize((header.len() as u64).next_multiple_of(ALIGN) as usize, 0);

    let file = File::create(&args.out).map_err(|e| format!("{}: {e}", args.out))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let io = |e: std::io::Error| format!("{}: {e}", args.out);
    w.write_all(&header).map_err(io)?;
    let mut rng = Rng(args.seed ^ 0x5EED_0FA1);
    let mut written = 0u64;
    let mut buf = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let row = s.row_bytes() as usize;
        let rows_per_piece = ((1usize << 20) / row.max(1)).max(1);
        let mut left = s.rows() as usize;
        while left > 0 {
            let n = left.min(rows_per_piece);
            buf.resize(n * row, 0);
            random_rows(s, &mut buf, &mut rng);
            w.write_all(&buf).map_err(io)?;
            left -= n;
        }
        let pad = s.bytes().next_multiple_of(ALIGN) - s.bytes();
        w.write_all(&vec![0u8; pad as usize]).map_err(io)?;
        written += s.bytes() + pad;
        if i % 16 == 15 || i + 1 == specs.len() {
            eprintln!(
                "make_model: {}/{} tensors, {:.2} GiB",
                i + 1,
                specs.len(),
                written as f64 / (1u64 << 30) as f64
            );
        }
    }
    w.flush().map_err(io)?;
    Ok(header.len() as u64 + written)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => return args::exit("make_model", USAGE, e),
    };
    if let Some(dir) = std::path::Path::new(&args.out).parent() {
        if !dir.as_os_str().is_empty() {
            let _ = std::fs::create_dir_all(dir);
        }
    }
    match write_model(&args) {
        Ok(bytes) => {
            println!(
                "wrote {} ({:.2} GiB, {:?}, {:?})",
                args.out,
                bytes as f64 / (1u64 << 30) as f64,
                args.ftype,
                args.dims
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
