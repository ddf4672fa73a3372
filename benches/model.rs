//! Whole-model benchmarks: the full Phi-3 graph (`Session::forward`) on a small Phi-3-shaped
//! model that the bench builds in memory (no files, no network).
//!
//! The model ("bench-small"): hidden 1024, 4 layers, ffn 2816, 16 heads (= 16 KV heads) of 64,
//! full rotary, vocabulary 4096, untied output. Its weights are a deterministic pseudo-random
//! draw (splitmix64, uniform with a standard deviation of `0.5 / sqrt(n_in)`) quantized with the
//! crate's scalar reference quantizers: every layer matrix and the embedding in the benchmarked
//! format, `output.weight` in Q6_K (as llama-quantize does for Q4_0 and Q4_K_M), norms f32 ones.
//! It is written as a GGUF into memory and loaded exactly like `examples/bench.rs` loads a file:
//! `Gguf::parse`, `Model::from_gguf`, `ArenaPlan`, `Session::new`, with `Kernels::detect()` and
//! one thread (`Session::forward`, i.e. `Sequential`); the tier in use is printed once.
//!
//! Benchmark ids, each for `q4_0` and `q4_k` weights:
//! - `decode_step/<type>`: one `forward` of a single token at position 64 (after a 64-token
//!   prefilled prompt; every iteration first truncates the session back to 64 positions, so
//!   each does the same work). Throughput is the weight bytes one decode step streams (every
//!   layer matrix, the output head and one embedding row; about 32 MB for either type), in
//!   decimal GB/s like `examples/bench`'s `decode_gbs`: compare it with the memory bandwidth.
//! - `prefill_64/<type>`: one `forward` of a 64-token batch from position 0 (the session is
//!   reset before each iteration). Throughput is 64 elements: read it as tokens/s.
//!
//! Run: `cargo bench --bench model` (all), `cargo bench --bench model -- decode_step` (filter),
//! e.g. with `--warm-up-time 1 --measurement-time 3` for a quick look. Building the two models
//! (mostly the reference Q4_K quantizer) takes several seconds before the first benchmark.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};
use phi3_kernels::ops::Matrix;
use phi3_kernels::quant::quantize::{quantize_q4_0, quantize_q4_k, quantize_q6_k};
use phi3_kernels::quant::{BlockQ4K, BlockQ4_0, BlockQ6K, GgmlType, QK, QK_K};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The benchmarked model's hyper-parameters ("bench-small", see the module docs).
struct Shape {
    n_embd: usize,
    n_layer: usize,
    n_head: usize,
    n_head_kv: usize,
    head_dim: usize,
    n_ff: usize,
    n_vocab: usize,
}

const SHAPE: Shape = Shape {
    n_embd: 1024,
    n_layer: 4,
    n_head: 16,
    n_head_kv: 16,
    head_dim: 64,
    n_ff: 2816,
    n_vocab: 4096,
};

/// Prompt length before the decode step, and the prefill batch.
const PROMPT: usize = 64;

/// GGUF data alignment (the default, also written as `general.alignment`).
const ALIGN: usize = 32;

/// splitmix64: fast, seedable, deterministic.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn signed_unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// `rows × n_in` random weights (standard deviation `0.5 / sqrt(n_in)`) quantized to `ty` with
/// the scalar reference quantizer, as GGUF tensor bytes.
fn quantized(ty: GgmlType, n_in: usize, rows: usize, rng: &mut Rng) -> Vec<u8> {
    // Uniform in [-a, a] has standard deviation a / sqrt(3).
    let a = 0.5 / (n_in as f32).sqrt() * 3f32.sqrt();
    let x: Vec<f32> = (0..n_in * rows).map(|_| a * rng.signed_unit()).collect();
    fn blocks<B: bytemuck::Pod>(x: &[f32], per: usize, q: fn(&[f32], &mut [B])) -> Vec<u8> {
        let mut out = vec![B::zeroed(); x.len() / per];
        q(x, &mut out);
        bytemuck::cast_slice(&out).to_vec()
    }
    match ty {
        GgmlType::Q4_0 => blocks::<BlockQ4_0>(&x, QK, quantize_q4_0),
        GgmlType::Q4_K => blocks::<BlockQ4K>(&x, QK_K, quantize_q4_k),
        GgmlType::Q6_K => blocks::<BlockQ6K>(&x, QK_K, quantize_q6_k),
        _ => unreachable!("not a benchmarked weight type"),
    }
}

/// GGUF v3 metadata: count and bytes of the key/value section.
#[derive(Default)]
struct Meta {
    buf: Vec<u8>,
    count: u64,
}

impl Meta {
    fn str_raw(buf: &mut Vec<u8>, s: &str) {
        buf.extend((s.len() as u64).to_le_bytes());
        buf.extend(s.as_bytes());
    }
    fn key(&mut self, k: &str, value_type: u32) {
        Self::str_raw(&mut self.buf, k);
        self.buf.extend(value_type.to_le_bytes());
        self.count += 1;
    }
    fn u32(&mut self, k: &str, v: usize) {
        self.key(k, 4);
        self.buf
            .extend(u32::try_from(v).expect("u32 value").to_le_bytes());
    }
    fn f32(&mut self, k: &str, v: f32) {
        self.key(k, 6);
        self.buf.extend(v.to_le_bytes());
    }
    fn string(&mut self, k: &str, v: &str) {
        self.key(k, 8);
        Self::str_raw(&mut self.buf, v);
    }
}

/// A GGUF (v3, `phi3` layout and metadata, no tokenizer: `n_vocab` comes from
/// `token_embd.weight`) of [`SHAPE`] with layer matrices of type `ty`, in a `u64` buffer so the
/// tensor data is aligned in memory for every block type. Returns the buffer and its length in
/// bytes.
fn build_gguf(ty: GgmlType, seed: u64) -> (Vec<u64>, usize) {
    let s = &SHAPE;
    let (q_dim, kv_dim) = (s.n_head * s.head_dim, s.n_head_kv * s.head_dim);
    let mut rng = Rng(seed);
    // (name, ne, type, bytes), in file order.
    let mut tensors: Vec<(String, [usize; 2], GgmlType, Vec<u8>)> = Vec::new();
    let mut matrix = |name: String, n_in: usize, rows: usize, ty: GgmlType| {
        let bytes = quantized(ty, n_in, rows, &mut rng);
        tensors.push((name, [n_in, rows], ty, bytes));
    };
    let ones = || 1.0f32.to_le_bytes().repeat(s.n_embd);
    matrix("token_embd.weight".into(), s.n_embd, s.n_vocab, ty);
    let mut norms = Vec::new();
    for l in 0..s.n_layer {
        matrix(
            format!("blk.{l}.attn_qkv.weight"),
            s.n_embd,
            q_dim + 2 * kv_dim,
            ty,
        );
        matrix(format!("blk.{l}.attn_output.weight"), q_dim, s.n_embd, ty);
        matrix(format!("blk.{l}.ffn_up.weight"), s.n_embd, 2 * s.n_ff, ty);
        matrix(format!("blk.{l}.ffn_down.weight"), s.n_ff, s.n_embd, ty);
        norms.push(format!("blk.{l}.attn_norm.weight"));
        norms.push(format!("blk.{l}.ffn_norm.weight"));
    }
    matrix("output.weight".into(), s.n_embd, s.n_vocab, GgmlType::Q6_K);
    norms.push("output_norm.weight".into());
    for name in norms {
        tensors.push((name, [s.n_embd, 1], GgmlType::F32, ones()));
    }

    let mut m = Meta::default();
    m.string("general.architecture", "phi3");
    m.string("general.name", "phi3-kernels bench-small");
    m.u32("general.alignment", ALIGN);
    m.u32("phi3.context_length", 4096);
    m.u32("phi3.embedding_length", s.n_embd);
    m.u32("phi3.feed_forward_length", s.n_ff);
    m.u32("phi3.block_count", s.n_layer);
    m.u32("phi3.attention.head_count", s.n_head);
    m.u32("phi3.attention.head_count_kv", s.n_head_kv);
    m.f32("phi3.attention.layer_norm_rms_epsilon", 1e-5);
    m.u32("phi3.rope.dimension_count", s.head_dim);
    m.f32("phi3.rope.freq_base", 10000.0);

    let mut file = Vec::new();
    file.extend(b"GGUF");
    file.extend(3u32.to_le_bytes());
    file.extend((tensors.len() as u64).to_le_bytes());
    file.extend(m.count.to_le_bytes());
    file.extend(&m.buf);
    let mut offset = 0usize;
    for (name, ne, ty, bytes) in &tensors {
        Meta::str_raw(&mut file, name);
        let ne: &[usize] = if ne[1] == 1 { &ne[..1] } else { ne };
        file.extend((ne.len() as u32).to_le_bytes());
        for &n in ne {
            file.extend((n as u64).to_le_bytes());
        }
        file.extend(ty.id().to_le_bytes());
        file.extend((offset as u64).to_le_bytes());
        offset = (offset + bytes.len()).next_multiple_of(ALIGN);
    }
    for (_, _, _, bytes) in &tensors {
        file.resize(file.len().next_multiple_of(ALIGN), 0);
        file.extend(bytes);
    }

    let mut store = vec![0u64; file.len().div_ceil(8)];
    bytemuck::cast_slice_mut::<u64, u8>(&mut store)[..file.len()].copy_from_slice(&file);
    (store, file.len())
}

/// Bytes of weights one decode step reads: every layer matrix, the output head, one
/// embedding row (as `examples/bench.rs` counts them).
fn decode_weight_bytes(model: &Model) -> u64 {
    let w = model.weights();
    let mut total = 0u64;
    let mut add = |m: &Matrix| total += (m.rows() * m.row_bytes()) as u64;
    for layer in w.layers().flatten() {
        layer.qkv.parts().for_each(&mut add);
        add(&layer.attn_output);
        layer.gate_up.parts().for_each(&mut add);
        add(&layer.ffn_down);
    }
    add(w.output());
    total + w.token_embd().row_bytes() as u64
}

/// A byte buffer with an [`ARENA_ALIGN`]-aligned window of `len` bytes.
struct Arena {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl Arena {
    fn new(len: usize) -> Self {
        let buf = vec![0u8; len + ARENA_ALIGN];
        let start = buf.as_ptr().align_offset(ARENA_ALIGN);
        Arena { buf, start, len }
    }
    fn bytes(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

fn model_benches(c: &mut Criterion) {
    let kernels = Kernels::detect();
    let s = &SHAPE;
    eprintln!(
        "model bench: tier {}, one thread; bench-small: n_embd {} n_layer {} heads {}/{} of {} \
         ff {} vocab {}",
        kernels.tier.name(),
        s.n_embd,
        s.n_layer,
        s.n_head,
        s.n_head_kv,
        s.head_dim,
        s.n_ff,
        s.n_vocab
    );

    let types = [("q4_0", GgmlType::Q4_0), ("q4_k", GgmlType::Q4_K)];
    let files: Vec<(Vec<u64>, usize)> = types
        .iter()
        .map(|&(name, ty)| {
            let t = Instant::now();
            let file = build_gguf(ty, 0x5EED_0FA1);
            eprintln!(
                "model bench: built {name} model ({:.1} MiB) in {:.1} s",
                file.1 as f64 / (1u64 << 20) as f64,
                t.elapsed().as_secs_f64()
            );
            file
        })
        .collect();
    let ggufs: Vec<Gguf> = files
        .iter()
        .map(|(store, len)| Gguf::parse(&bytemuck::cast_slice(store)[..*len]).expect("parse"))
        .collect();
    let models: Vec<Model> = ggufs
        .iter()
        .map(|g| Model::from_gguf(g).expect("bind"))
        .collect();

    let limits = Limits {
        max_context: PROMPT + 1,
        max_batch: PROMPT,
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let needed = ArenaPlan::new(models[0].config(), &limits)
        .expect("plan")
        .bytes_needed();
    let mut arenas: Vec<Arena> = models.iter().map(|_| Arena::new(needed)).collect();
    let mut sessions: Vec<Session> = models
        .iter()
        .zip(&mut arenas)
        .map(|(m, a)| Session::new(m, a.bytes(), limits, kernels).expect("session"))
        .collect();

    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let prompt: Vec<u32> = (0..=PROMPT)
        .map(|_| (rng.next_u64() % s.n_vocab as u64) as u32)
        .collect();
    let (prompt, next) = prompt.split_at(PROMPT);

    let mut group = c.benchmark_group("decode_step");
    for ((&(name, _), session), model) in types.iter().zip(&mut sessions).zip(&models) {
        session.reset();
        let logits = session.forward(prompt, false).expect("prefill");
        assert!(
            logits.iter().all(|v| v.is_finite()),
            "{name}: non-finite logits"
        );
        group.throughput(Throughput::BytesDecimal(decode_weight_bytes(model)));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                session.truncate(PROMPT).expect("truncate");
                black_box(session.forward(black_box(next), false).expect("decode"));
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("prefill_64");
    group.throughput(Throughput::Elements(PROMPT as u64));
    for (&(name, _), session) in types.iter().zip(&mut sessions) {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                session.reset();
                black_box(session.forward(black_box(prompt), false).expect("prefill"));
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Group-level settings would override the command line's, so defaults go here.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    targets = model_benches
}
criterion_main!(benches);
