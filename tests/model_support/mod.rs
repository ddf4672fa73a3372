//! Shared support for the model tests: aligned file loading, arenas, the golden cases
//! (`tests/data/logits/<model>/cases.txt`, see its README) and the fixtures' comparison rule.
#![allow(dead_code)]

use std::path::PathBuf;

use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session, ARENA_ALIGN};

/// The five random-weight fixture models.
pub const MODELS: [&str; 5] = [
    "phi3-tiny-hd96-q4_0",
    "phi3-tiny-q4_k_m",
    "phi3-tiny-gqa-q4_0",
    "phi3-tiny-longrope-q4_0",
    "phi4-tiny-q8_0",
];

/// The fixtures README's global rule (§5) for the random-weight models.
pub const NMSE_CASE: f64 = 4e-3;
/// Per-position NMSE bound (§5).
pub const NMSE_POSITION: f64 = 8e-3;
/// Largest allowed |Δ| of one logit (§5; logit std is 1.9–2.7).
pub const MAX_ABS: f32 = 1.0;
/// Argmax must agree wherever the golden top-2 margin is at least this (§5).
pub const ARGMAX_MARGIN: f32 = 0.7;

/// Whether to run the reduced model tests: on aarch64 (where `scripts/test` runs the suite
/// under qemu five times, ~50× slower than native), unless `PHI3_MODEL_TESTS=full`;
/// anywhere with `PHI3_MODEL_TESTS=quick`. The full set runs on the x86_64 host. Quick mode
/// keeps one case per model (prompt in one prefill batch, then the first 4 greedy tokens
/// decoded one by one, against the goldens) and skips the mode-equivalence and LongRoPE-crossing runs,
/// which test architecture-independent graph logic.
pub fn quick() -> bool {
    match std::env::var("PHI3_MODEL_TESTS").as_deref() {
        Ok("full") => false,
        Ok("quick") => true,
        _ => cfg!(target_arch = "aarch64"),
    }
}

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// File bytes in a `u64`-backed buffer, so that every block type's view is aligned.
pub struct AlignedBytes {
    words: Vec<u64>,
    len: usize,
}

impl AlignedBytes {
    pub fn read(path: &std::path::Path) -> Self {
        let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self::from_bytes(&raw)
    }

    pub fn from_bytes(raw: &[u8]) -> Self {
        let mut words = vec![0u64; raw.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..raw.len()].copy_from_slice(raw);
        AlignedBytes {
            words,
            len: raw.len(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u64, u8>(&self.words)[..self.len]
    }
}

pub fn model_bytes(model: &str) -> AlignedBytes {
    AlignedBytes::read(&data_dir().join("gguf").join(format!("{model}.gguf")))
}

/// A heap buffer with a [`ARENA_ALIGN`]-aligned window of `len` bytes.
pub struct ArenaBuf {
    buf: Vec<u8>,
    start: usize,
    len: usize,
}

impl ArenaBuf {
    pub fn new(len: usize) -> Self {
        let buf = vec![0u8; len + ARENA_ALIGN];
        let start = buf.as_ptr().align_offset(ARENA_ALIGN);
        ArenaBuf { buf, start, len }
    }

    pub fn for_plan(model: &Model, limits: &Limits) -> Self {
        let plan = ArenaPlan::new(model.config(), limits).expect("plan");
        Self::new(plan.bytes_needed())
    }

    pub fn bytes(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

pub fn read_f32(path: &std::path::Path) -> Vec<f32> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    raw.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// One golden case of `cases.txt`.
#[derive(Clone, Debug, Default)]
pub struct Case {
    pub id: String,
    pub tokens: Vec<u32>,
    /// Golden top-2 margin per prompt position.
    pub margin: Vec<f32>,
    pub greedy: Vec<u32>,
    pub greedy_margin: Vec<f32>,
}

pub struct Golden {
    pub model: String,
    pub n_vocab: usize,
    pub cases: Vec<Case>,
}

impl Golden {
    pub fn load(model: &str) -> Self {
        let dir = data_dir().join("logits").join(model);
        let text = std::fs::read_to_string(dir.join("cases.txt")).expect("cases.txt");
        let mut n_vocab = 0;
        let mut cases = Vec::new();
        let mut cur = Case::default();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            let nums = || rest.split_whitespace();
            match key {
                "n_vocab" => n_vocab = rest.parse().unwrap(),
                "case" => cur.id = rest.to_string(),
                "tokens" => cur.tokens = nums().map(|v| v.parse().unwrap()).collect(),
                "margin" => cur.margin = nums().map(|v| v.parse().unwrap()).collect(),
                "greedy" => cur.greedy = nums().map(|v| v.parse().unwrap()).collect(),
                "greedy_margin" => cur.greedy_margin = nums().map(|v| v.parse().unwrap()).collect(),
                "end" => cases.push(std::mem::take(&mut cur)),
                other => panic!("cases.txt: unknown key {other}"),
            }
        }
        Golden {
            model: model.to_string(),
            n_vocab,
            cases,
        }
    }

    pub fn logits(&self, file: &str) -> Vec<f32> {
        read_f32(&data_dir().join("logits").join(&self.model).join(file))
    }
}

/// Statistics of one comparison (`a` = golden, `b` = ours).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub nmse: f64,
    pub max_row_nmse: f64,
    pub max_abs: f32,
    pub argmax_checked: usize,
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Compares `ours` against `golden` (rows of `n_vocab`) under the fixtures' rule and panics
/// with `what` on a violation. `margin[r]` is the golden top-2 margin of row `r`;
/// `expected_argmax[r]`, when given, is the id the argmax must be (greedy).
pub fn check_rows(
    what: &str,
    golden: &[f32],
    ours: &[f32],
    n_vocab: usize,
    margin: &[f32],
    expected_argmax: Option<&[u32]>,
) -> Stats {
    assert_eq!(golden.len(), ours.len(), "{what}: length");
    let (mut num, mut den) = (0f64, 0f64);
    let mut s = Stats::default();
    for (r, (g, o)) in golden
        .chunks_exact(n_vocab)
        .zip(ours.chunks_exact(n_vocab))
        .enumerate()
    {
        let (mut rn, mut rd) = (0f64, 0f64);
        for (&a, &b) in g.iter().zip(o) {
            let d = f64::from(a) - f64::from(b);
            rn += d * d;
            rd += f64::from(a) * f64::from(a);
            s.max_abs = s.max_abs.max((a - b).abs());
        }
        num += rn;
        den += rd;
        let row_nmse = rn / rd;
        s.max_row_nmse = s.max_row_nmse.max(row_nmse);
        assert!(
            row_nmse <= NMSE_POSITION,
            "{what}: row {r} NMSE {row_nmse:.3e} > {NMSE_POSITION:e}"
        );
        if margin[r] >= ARGMAX_MARGIN {
            s.argmax_checked += 1;
            let want = expected_argmax.map_or(argmax(g), |ids| ids[r] as usize);
            assert_eq!(
                argmax(o),
                want,
                "{what}: row {r} argmax (golden margin {})",
                margin[r]
            );
        }
    }
    s.nmse = num / den;
    assert!(
        s.nmse <= NMSE_CASE,
        "{what}: NMSE {:.3e} > {NMSE_CASE:e}",
        s.nmse
    );
    assert!(
        s.max_abs <= MAX_ABS,
        "{what}: max |Δ| {} > {MAX_ABS}",
        s.max_abs
    );
    s
}

/// Feeds `tokens` to a fresh session in chunks of `batch` with all logits, returning every
/// position's logits and, per position, the sequence length after the forward that produced
/// it.
pub fn run_chunks(
    model: &Model,
    kernels: Kernels,
    tokens: &[u32],
    batch: usize,
    max_context: usize,
) -> (Vec<f32>, Vec<usize>) {
    let limits = Limits {
        max_context,
        max_batch: batch,
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let mut arena = ArenaBuf::for_plan(model, &limits);
    let mut session = Session::new(model, arena.bytes(), limits, kernels).expect("session");
    let mut out = Vec::with_capacity(tokens.len() * model.config().n_vocab);
    let mut ends = Vec::with_capacity(tokens.len());
    for chunk in tokens.chunks(batch) {
        let logits = session.forward(chunk, true).expect("forward");
        out.extend_from_slice(logits);
        ends.extend(std::iter::repeat_n(session.len(), chunk.len()));
    }
    (out, ends)
}

pub fn parse<'a>(bytes: &'a AlignedBytes) -> (Gguf<'a>, Model<'a>) {
    let gguf = Gguf::parse(bytes.bytes()).expect("parse");
    let model = Model::from_gguf(&gguf).expect("bind");
    (gguf, model)
}
