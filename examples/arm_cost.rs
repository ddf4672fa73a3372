//! The guest side of the Arm cost harness (`scripts/arm-cost`): runs kernels or a whole model
//! between *markers* so that the qemu plugin `tools/insn-count` can count the guest
//! instructions executed in each span.
//!
//! ```text
//! arm_cost --tier NAME kernels [--rows 1024] [--cols 3072] [--batch 32]
//! arm_cost --tier NAME model --model M.gguf [--decode 8,24] [--prefill 32,96]
//! ```
//!
//! A marker is the unallocated system call `MARK_NR` with `x0 = MARK_MAGIC`, `x1 = id`: the
//! plugin writes `mark ID COUNT` and the kernel returns `-ENOSYS`, so without the plugin (or
//! natively) the program runs the same and the markers cost nothing. Each measured span is
//! described on stdout as
//!
//! `span NAME FROM_ID TO_ID DIVISOR UNIT`
//!
//! and `scripts/arm-cost` prints `(count[TO] − count[FROM]) / DIVISOR` per span. Spans:
//! - `kernels`: each weight format's row products on a `--rows × --cols` matrix (default a
//!   slice of Phi-3-mini's 3072-wide layers) with one activation column (decode) and with
//!   `--batch` columns (prefill), in instructions per weight byte (per column for the batch);
//!   the activation quantizers, RMSNorm, SwiGLU, softmax, RoPE and the f16 attention kernels in
//!   instructions per element (per key / value element for attention).
//! - `model`: decode = the tokens between the two `--decode` counts, from an empty context
//!   (`(count(24) − count(8)) / 16` by default); prefill = one batch of the larger `--prefill`
//!   count minus one batch of the smaller, per extra token (`(count(96) − count(32)) / 64`), each
//!   from an empty context; both in M instructions per token. `decode_integer_only` repeats
//!   the decode span with the float kernels replaced by empty functions, so that
//!   `decode − decode_integer_only` is the float kernels' share of a token.
//!
//! Run with one thread (the plugin's counter is not atomic): everything here is sequential.

#[path = "common/aligned.rs"]
mod aligned;
#[path = "common/args.rs"]
mod args;
#[path = "common/model_file.rs"]
mod model_file;

use std::hint::black_box;

use aligned::AlignedBuf;
use args::CliError;
use half::f16;
use phi3_kernels::gguf::Gguf;
use phi3_kernels::kernels::attention::CausalBlock;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{ArenaPlan, Limits, Model, Session};
use phi3_kernels::quant::quantize::{
    quantize_q4_0, quantize_q4_k, quantize_q6_k, quantize_q8_0, quantize_q8_k,
};
use phi3_kernels::quant::{BlockQ4K, BlockQ4_0, BlockQ6K, BlockQ8K, BlockQ8_0};
use phi3_kernels::{CpuFeatures, Tier};

/// Keep in sync with `tools/insn-count/insn_count.c`.
const MARK_NR: u64 = 0x7fc0;
const MARK_MAGIC: u64 = 0x7068_3369_636f_7374;

/// Marks a point; the plugin records the instruction count at it.
fn mark(id: u64) {
    #[cfg(target_arch = "aarch64")]
    // SAFETY: an unallocated system call number: Linux (and qemu-user) returns -ENOSYS and
    // touches no memory; only x0 (the result) is clobbered.
    unsafe {
        core::arch::asm!("svc #0", in("x8") MARK_NR, inout("x0") MARK_MAGIC => _, in("x1") id,
            options(nostack));
    }
    #[cfg(not(target_arch = "aarch64"))]
    let _ = (id, MARK_NR, MARK_MAGIC);
}

/// Hands out marker ids and prints the span lines.
struct Spans {
    next: u64,
}

impl Spans {
    /// Runs `f` between two markers and describes the span.
    fn measure(&mut self, name: &str, divisor: f64, unit: &str, f: impl FnOnce()) {
        let from = self.next;
        self.next += 2;
        mark(from);
        f();
        mark(from + 1);
        println!("span {name} {from} {} {divisor} {unit}", from + 1);
    }
}

const USAGE: &str =
    "usage: arm_cost --tier NAME kernels [--rows 1024] [--cols 3072] [--batch 32]\n\
                     \x20      arm_cost --tier NAME model --model M.gguf [--decode 8,24] \
                     [--prefill 32,96]";

struct Args {
    tier: Tier,
    mode: String,
    rows: usize,
    cols: usize,
    batch: usize,
    model: Option<String>,
    decode: (usize, usize),
    prefill: (usize, usize),
}

fn pair(s: &str, what: &str) -> Result<(usize, usize), String> {
    let (a, b) = s.split_once(',').ok_or(format!("{what}: expected A,B"))?;
    let a: usize = a.parse().map_err(|e| format!("{what}: {e}"))?;
    let b: usize = b.parse().map_err(|e| format!("{what}: {e}"))?;
    if a >= b {
        return Err(format!("{what}: A must be less than B"));
    }
    Ok((a, b))
}

fn parse_args() -> Result<Args, CliError> {
    let mut a = Args {
        tier: Tier::Scalar,
        mode: String::new(),
        rows: 1024,
        cols: 3072,
        batch: 32,
        model: None,
        decode: (8, 24),
        prefill: (32, 96),
    };
    let mut tier = None;
    let mut it = args::args()?.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        let num = |s: String| s.parse::<usize>().map_err(|e| format!("{arg}: {e}"));
        match arg.as_str() {
            "--tier" => {
                let name = value()?;
                tier = Some(Tier::from_name(&name).ok_or(format!("unknown tier {name:?}"))?);
            }
            "--rows" => a.rows = num(value()?)?,
            "--cols" => a.cols = num(value()?)?,
            "--batch" => a.batch = num(value()?)?,
            "--model" => a.model = Some(value()?),
            "--decode" => a.decode = pair(&value()?, "--decode")?,
            "--prefill" => a.prefill = pair(&value()?, "--prefill")?,
            "kernels" | "model" if a.mode.is_empty() => a.mode = arg.clone(),
            "-h" | "--help" => return Err(CliError::Help),
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}").into()),
        }
    }
    a.tier = tier.ok_or(format!("--tier is required\n{USAGE}"))?;
    if a.mode.is_empty() {
        return Err(format!("say kernels or model\n{USAGE}").into());
    }
    if a.cols == 0 || !a.cols.is_multiple_of(256) || a.rows == 0 || a.batch == 0 {
        return Err("--cols must be a positive multiple of 256; --rows, --batch positive".into());
    }
    Ok(a)
}

/// Deterministic test values in about [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn kernels_mode(k: &Kernels, a: &Args) {
    let (rows, cols, batch) = (a.rows, a.cols, a.batch);
    let w = values(rows * cols, 1);
    let x = values(cols * batch, 2);
    let mut out = vec![0f32; rows * batch];
    let mut sp = Spans { next: 0 };

    // Activations in each format (the quantizers themselves are measured below).
    let mut x8 = vec![<BlockQ8_0 as bytemuck::Zeroable>::zeroed(); cols * batch / 32];
    quantize_q8_0(&x, &mut x8);
    let mut xk = vec![<BlockQ8K as bytemuck::Zeroable>::zeroed(); cols * batch / 256];
    quantize_q8_k(&x, &mut xk);

    macro_rules! product {
        ($name:literal, $block:ty, $quant:ident, $gemm:ident, $act:expr, $per:expr) => {{
            let mut wq = vec![<$block as bytemuck::Zeroable>::zeroed(); rows * cols / $per];
            $quant(&w, &mut wq);
            let bpr = cols / $per;
            let bytes = (wq.len() * core::mem::size_of::<$block>()) as f64;
            let act = $act;
            sp.measure(concat!("matvec_", $name), bytes, "insn/weight-byte", || {
                (k.$gemm)(&wq, &act[..bpr], bpr, &mut out, rows)
            });
            sp.measure(
                concat!("gemm_", $name),
                bytes * batch as f64,
                "insn/weight-byte/column",
                || (k.$gemm)(&wq, &act, bpr, &mut out, rows),
            );
            black_box(&out);
        }};
    }
    product!("q4_0", BlockQ4_0, quantize_q4_0, gemm_q4_0_q8_0, &x8, 32);
    product!("q8_0", BlockQ8_0, quantize_q8_0, gemm_q8_0_q8_0, &x8, 32);
    product!("q4_k", BlockQ4K, quantize_q4_k, gemm_q4_k_q8_k, &xk, 256);
    product!("q6_k", BlockQ6K, quantize_q6_k, gemm_q6_k_q8_k, &xk, 256);

    // Per-element kernels on one token's vectors (Phi-3-mini: 3072 wide, ff 8192, 32 heads of
    // 96, a 512-position attention window).
    let n = cols;
    let v = values(8192, 3);
    let g = values(8192, 4);
    let mut y = vec![0f32; 8192];
    sp.measure("quantize_q8_0", n as f64, "insn/element", || {
        (k.quantize_q8_0)(&v[..n], &mut x8[..n / 32])
    });
    sp.measure("quantize_q8_k", n as f64, "insn/element", || {
        (k.quantize_q8_k)(&v[..n], &mut xk[..n / 256])
    });
    sp.measure("rms_norm", n as f64, "insn/element", || {
        (k.rms_norm)(&v[..n], &g[..n], 1e-5, &mut y[..n])
    });
    sp.measure("swiglu", 8192.0, "insn/element", || {
        (k.swiglu)(&v, &g, &mut y)
    });
    let mut s = values(512, 5);
    sp.measure("softmax", 512.0, "insn/element", || (k.softmax)(&mut s));
    let (cos, sin) = (values(48, 6), values(48, 7));
    sp.measure("rope_neox", n as f64, "insn/element", || {
        (k.rope_neox)(&mut y[..n], 96, &cos, &sin)
    });
    let kv: Vec<f16> = values(512 * 96, 8).into_iter().map(f16::from_f32).collect();
    let q = values(96, 9);
    let mut scores = vec![0f32; 512];
    let mut o = vec![0f32; 96];
    // One query attending 512 positions (decode's causal block), under the names of the
    // single-query kernels it runs.
    let one = CausalBlock {
        queries: 1,
        first: 512,
        dim: 96,
        q_pitch: 96,
        kv_stride: 96,
        out_pitch: 96,
    };
    sp.measure("attn_scores_f16", (512 * 96) as f64, "insn/element", || {
        (k.attn_scores_causal_f16)(&one, &q, &kv, 0.1, &mut scores)
    });
    sp.measure("attn_values_f16", (512 * 96) as f64, "insn/element", || {
        (k.attn_values_causal_f16)(&one, &s, &kv, &mut o)
    });
    black_box((&y, &s, &o, &scores));
}

fn model_mode(k: Kernels, a: &Args) -> Result<(), String> {
    let path = a
        .model
        .as_deref()
        .ok_or(format!("model needs --model\n{USAGE}"))?;
    let bytes = model_file::map_model(path)?;
    let gguf = Gguf::parse(&bytes).map_err(|e| format!("{path}: {e}"))?;
    let model = Model::from_gguf(&gguf).map_err(|e| format!("{path}: {e}"))?;
    let c = model.config();
    let ctx = a.decode.1.max(a.prefill.1);
    let limits = Limits::new(ctx, a.prefill.1, 1);
    let plan = ArenaPlan::new(c, &limits).map_err(|e| e.to_string())?;
    let mut arena = AlignedBuf::zeroed(plan.bytes_needed())?;
    let mut session = Session::new(&model, &mut arena[..], limits, k).map_err(|e| e.to_string())?;
    let tokens: Vec<u32> = values(ctx, 10)
        .into_iter()
        .map(|v| ((v + 1.0) * 0.5 * (c.n_vocab - 1) as f32) as u32)
        .collect();
    let mut fail = None;
    let mut run = |session: &mut Session, t: &[u32]| {
        if let Err(e) = session.forward(t, false) {
            fail.get_or_insert(e.to_string());
        }
    };

    // Prefill: one batch of each size from an empty context.
    let (p0, p1) = a.prefill;
    let (from, to) = (1000, 1002);
    session.reset();
    mark(from);
    run(&mut session, &tokens[..p0]);
    mark(from + 1);
    session.reset();
    mark(to);
    run(&mut session, &tokens[..p1]);
    mark(to + 1);
    // The difference of the two spans is printed as one: (to+1 − to) − (from+1 − from).
    println!(
        "span2 prefill {from} {} {to} {} {} Minsn/token",
        from + 1,
        to + 1,
        (p1 - p0) as f64 * 1e6
    );

    // Decode from an empty context, one token at a time (the previous step's token is as good
    // as any: the cost does not depend on the ids); `name` is the span, `id` its first marker.
    let (d0, d1) = a.decode;
    let mut decode_span = |session: &mut Session, name: &str, id: u64| {
        session.reset();
        for (i, &t) in tokens[..d1].iter().enumerate() {
            if i == d0 {
                mark(id);
            }
            run(session, &[t]);
        }
        mark(id + 1);
        println!(
            "span {name} {id} {} {} Minsn/token",
            id + 1,
            (d1 - d0) as f64 * 1e6
        );
    };
    decode_span(&mut session, "decode", 1004);

    // The same decode steps with the float kernels (RMSNorm, RoPE, SwiGLU, softmax, attention,
    // float gemms) replaced by empty functions: the difference is the float kernels' share of a
    // token. The integer kernels' cost does not depend on the values they are fed.
    let mut session = Session::new(&model, &mut arena[..], limits, without_float(k))
        .map_err(|e| e.to_string())?;
    decode_span(&mut session, "decode_integer_only", 1006);
    match fail {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `k` with every float entry the graph calls replaced by a function that does nothing.
fn without_float(k: Kernels) -> Kernels {
    fn norm(_: &[f32], _: &[f32], _: f32, _: &mut [f32]) {}
    fn rope(_: &mut [f32], _: usize, _: &[f32], _: &[f32]) {}
    fn glu(_: &[f32], _: &[f32], _: &mut [f32]) {}
    fn softmax(_: &mut [f32]) {}
    fn scores(_: &CausalBlock, _: &[f32], _: &[f16], _: f32, _: &mut [f32]) {}
    fn values(_: &CausalBlock, _: &[f32], _: &[f16], _: &mut [f32]) {}
    fn gemm16(_: &[f16], _: &[f32], _: usize, _: &mut [f32], _: usize) {}
    fn gemm32(_: &[f32], _: &[f32], _: usize, _: &mut [f32], _: usize) {}
    let mut k = k;
    k.rms_norm = norm;
    k.rope_neox = rope;
    k.rope_norm = rope;
    k.swiglu = glu;
    k.softmax = softmax;
    k.attn_scores_causal_f16 = scores;
    k.attn_values_causal_f16 = values;
    k.gemm_f16_f32 = gemm16;
    k.gemm_f32_f32 = gemm32;
    k
}

fn main() -> std::process::ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => return args::exit("arm_cost", USAGE, e),
    };
    let Some(k) = Kernels::for_tier(a.tier, &CpuFeatures::detect()) else {
        eprintln!(
            "arm_cost: tier {} is not available on this CPU / build",
            a.tier
        );
        return std::process::ExitCode::FAILURE;
    };
    println!("tier {}", k.tier);
    let r = match a.mode.as_str() {
        "kernels" => {
            kernels_mode(&k, &a);
            Ok(())
        }
        _ => model_mode(k, &a),
    };
    match r {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arm_cost: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
