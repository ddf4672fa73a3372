//! Single-thread matvec throughput against the machine's single-thread read bandwidth: the
//! kernel-level roofline of decode.
//!
//! ```text
//! cargo run --release --example kernel_bw -- [--runs 5] [--mib 1024] [--tiers scalar,avx2]
//!     [--types q4_0,q4_k,q5_k,q6_k] [--shape 32064x3072] [--stream-mib 512] [--batch 1]
//! ```
//!
//! In one run it measures
//! 1. the streaming read bandwidth of one thread over a `--mib` MiB buffer (far larger than any
//!    last-level cache), read several ways: `u64` words, and 256-bit loads where the CPU has
//!    AVX2, each in one sequential stream and in two or three streams (the buffer's halves or
//!    thirds read in step). Each way's median over `--runs` passes is printed. The **bandwidth**
//!    the kernels are set against is the best one-stream median: a matvec over a row-major
//!    matrix reads its weights as one sequential stream, and the widest loads keep the most
//!    cache-line misses in flight (on Zen 3 about 20.5 GB/s with 256-bit loads against 18.5
//!    with `u64` words; the `u64` read alone was this example's figure before). The best
//!    several-stream median is printed as well, with each kernel's fraction of it
//!    (`frac_multi`): the memory system gives one thread more when it reads several streams
//!    (about 24 GB/s with two and 30 with three on Zen 3), which the kernels do not do;
//! 2. for each weight type and each tier compiled in and supported here: one-column
//!    `matmul` (decode's matvec) over enough copies of a `rows × cols` matrix (default the
//!    Phi-3-mini output head, 32064 × 3072) to exceed `--stream-mib` MiB, visited in turn so
//!    that every product streams its weights from memory rather than cache (`--stream-mib 0`
//!    and a small `--shape` measure the kernel with its weights in cache instead). It prints the weight
//!    bytes per second (median over `--runs` passes; the best pass too) and their fraction of the bandwidth, and
//!    each SIMD tier's speed-up over the scalar tier. With `--batch N > 1` the product has N
//!    activation columns (prefill's multi-column kernels) and the figure is weight bytes × N
//!    per second.
//!
//! The last lines are machine-readable:
//! `kernel_bw type=q4_0 tier=avx2 gbs=… best_gbs=… bw_gbs=… frac=… bw_multi_gbs=… frac_multi=…
//! vs_scalar=…`.

#[cfg(target_arch = "x86_64")]
#[path = "common/stream_read.rs"]
mod stream_read;

#[path = "common/args.rs"]
mod args;
#[path = "common/rng.rs"]
mod rng;
#[path = "common/stats.rs"]
mod stats;

use std::hint::black_box;
use std::time::Instant;

use phi3_kernels::ops::{matmul, quantize_into, Matrix, WeightData};
use phi3_kernels::quant::quantize::{quantize_q4_0, quantize_q4_k, quantize_q6_k};
use phi3_kernels::quant::{BlockQ4K, BlockQ4_0, BlockQ5K, BlockQ6K};
use phi3_kernels::{CpuFeatures, Kernels, Tier};

use args::CliError;
use rng::Rng;

struct Args {
    runs: usize,
    mib: usize,
    tiers: Option<Vec<Tier>>,
    types: Vec<String>,
    rows: usize,
    cols: usize,
    stream_mib: usize,
    batch: usize,
}

const USAGE: &str = "usage: kernel_bw [--runs 5] [--mib 1024] [--tiers scalar,avx2] \
                     [--types q4_0,q4_k,q5_k,q6_k] [--shape ROWSxCOLS] [--stream-mib 512] [--batch 1]";

fn parse_args() -> Result<Args, CliError> {
    let mut a = Args {
        runs: 5,
        mib: 1024,
        tiers: None,
        types: vec!["q4_0".into(), "q4_k".into()],
        rows: 32064,
        cols: 3072,
        stream_mib: 512,
        batch: 1,
    };
    let mut it = args::args()?.into_iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        let num = |s: &str| s.parse::<usize>().map_err(|e| format!("{arg}: {e}"));
        match arg.as_str() {
            "--runs" => a.runs = num(&value()?)?,
            "--mib" => a.mib = num(&value()?)?,
            "--tiers" => {
                let v = value()?;
                let tiers = v
                    .split(',')
                    .map(|t| Tier::from_name(t).ok_or(format!("--tiers: unknown tier {t:?}")))
                    .collect::<Result<Vec<_>, _>>()?;
                a.tiers = Some(tiers);
            }
            "--stream-mib" => a.stream_mib = num(&value()?)?,
            "--batch" => a.batch = num(&value()?)?,
            "--types" => a.types = value()?.split(',').map(str::to_owned).collect(),
            "--shape" => {
                let v = value()?;
                let (r, c) = v.split_once('x').ok_or("--shape: expected ROWSxCOLS")?;
                a.rows = num(r)?;
                a.cols = num(c)?;
            }
            "-h" | "--help" => return Err(CliError::Help),
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}").into()),
        }
    }
    if a.runs == 0
        || a.mib == 0
        || a.batch == 0
        || a.rows == 0
        || a.cols == 0
        || !a.cols.is_multiple_of(256)
    {
        return Err(format!(
            "--runs, --mib and the shape must be positive; cols a multiple of 256\n{USAGE}"
        )
        .into());
    }
    for t in &a.types {
        if !["q4_0", "q4_k", "q5_k", "q6_k"].contains(&t.as_str()) {
            return Err(format!("--types: unknown type {t:?} (q4_0, q4_k, q5_k, q6_k)").into());
        }
    }
    Ok(a)
}

/// One way of streaming through the buffer; returns a value derived from every word read, so
/// the loads cannot be optimized away.
type ReadPass = fn(&[u64]) -> u64;

/// Eight independent `u64` sums over the buffer in order (portable).
fn read_words(buf: &[u64]) -> u64 {
    let mut s = [0u64; 8];
    for chunk in buf.chunks_exact(8) {
        for (a, &x) in s.iter_mut().zip(chunk) {
            *a = a.wrapping_add(x);
        }
    }
    s.iter().fold(0, |a, &b| a.wrapping_add(b))
}

/// The buffer's two halves read in step (two sequential streams), as `read_words` does each.
fn read_two_streams(buf: &[u64]) -> u64 {
    let (a, b) = buf.split_at(buf.len() / 2);
    let mut s = [0u64; 8];
    for (ca, cb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for (i, (&x, &y)) in ca.iter().zip(cb).enumerate() {
            s[i] = s[i].wrapping_add(x);
            s[i + 4] = s[i + 4].wrapping_add(y);
        }
    }
    s.iter().fold(0, |a, &b| a.wrapping_add(b))
}

/// A way of reading the buffer: its name, how many sequential streams it reads in step, and
/// the pass itself.
struct Reader {
    name: &'static str,
    streams: usize,
    pass: ReadPass,
}

/// The read passes available on this CPU.
fn readers() -> Vec<Reader> {
    // Only x86_64 adds readers below.
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
    let mut v = vec![
        Reader {
            name: "u64 words",
            streams: 1,
            pass: read_words,
        },
        Reader {
            name: "u64 words, two streams",
            streams: 2,
            pass: read_two_streams,
        },
    ];
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        fn one(b: &[u64]) -> u64 {
            // SAFETY: AVX2 was detected before this pass was listed.
            unsafe { stream_read::sum_avx2::<1>(b).0 }
        }
        fn two(b: &[u64]) -> u64 {
            // SAFETY: as above.
            unsafe { stream_read::sum_avx2::<2>(b).0 }
        }
        fn three(b: &[u64]) -> u64 {
            // SAFETY: as above.
            unsafe { stream_read::sum_avx2::<3>(b).0 }
        }
        v.push(Reader {
            name: "256-bit loads",
            streams: 1,
            pass: one,
        });
        v.push(Reader {
            name: "256-bit loads, two streams",
            streams: 2,
            pass: two,
        });
        v.push(Reader {
            name: "256-bit loads, three streams",
            streams: 3,
            pass: three,
        });
    }
    v
}

/// Single-thread streaming read bandwidth in GB/s. Each way of reading ([`readers`]) makes
/// `runs` passes over `buf` (the ways interleaved, so a noisy spell hits them alike) and keeps
/// its median. Returns `(one stream, several streams, every reader's median)`: the best median
/// of the one-stream readers (a single sequential read: the access pattern of a plain matvec
/// over a row-major matrix) and the best of all.
fn read_bandwidth(buf: &[u64], runs: usize) -> (f64, f64, Vec<(&'static str, f64)>) {
    let bytes = std::mem::size_of_val(buf) as f64;
    let readers = readers();
    let mut rates = vec![Vec::with_capacity(runs); readers.len()];
    for _ in 0..runs {
        for (rd, r) in readers.iter().zip(rates.iter_mut()) {
            let t = Instant::now();
            black_box((rd.pass)(black_box(buf)));
            r.push(bytes / t.elapsed().as_secs_f64() / 1e9);
        }
    }
    let medians: Vec<f64> = rates.into_iter().map(stats::median).collect();
    let best = |one: bool| {
        readers
            .iter()
            .zip(&medians)
            .filter(|(rd, _)| !one || rd.streams == 1)
            .map(|(_, &m)| m)
            .fold(0.0, f64::max)
    };
    let each = readers
        .iter()
        .zip(&medians)
        .map(|(rd, &m)| (rd.name, m))
        .collect();
    (best(true), best(false), each)
}

/// The shortest timed run of a kernel: passes over the weight copies are repeated until one run
/// lasts this long (in-cache shapes take microseconds per pass).
const MIN_RUN_SECS: f64 = 0.05;

/// Weight copies of one type, each `rows × cols`.
enum Copies {
    Q4_0(Vec<Vec<BlockQ4_0>>),
    Q4K(Vec<Vec<BlockQ4K>>),
    Q5K(Vec<Vec<BlockQ5K>>),
    Q6K(Vec<Vec<BlockQ6K>>),
}

impl Copies {
    fn new(ty: &str, rows: usize, cols: usize, min_bytes: usize) -> Copies {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let row: Vec<f32> = (0..cols).map(|_| rng.signed()).collect();
        // Quantize a handful of distinct rows and tile them: quantizing hundreds of MiB of
        // weights would take longer than the measurement; the bytes streamed are what matter.
        let distinct = 64.min(rows);
        let mut rows_f32 = Vec::with_capacity(distinct * cols);
        for r in 0..distinct {
            rows_f32.extend(row.iter().map(|&v| v * (1.0 + r as f32 / 64.0)));
        }
        match ty {
            "q4_0" => {
                let bpr = cols / 32;
                let mut q = vec![BlockQ4_0::zeroed(); distinct * bpr];
                quantize_q4_0(&rows_f32, &mut q);
                let one: Vec<BlockQ4_0> = (0..rows)
                    .flat_map(|r| q[(r % distinct) * bpr..][..bpr].iter().copied())
                    .collect();
                let n = min_bytes.div_ceil(std::mem::size_of_val(&one[..])).max(1);
                Copies::Q4_0(vec![one; n])
            }
            "q4_k" => {
                let bpr = cols / 256;
                let mut q = vec![BlockQ4K::zeroed(); distinct * bpr];
                quantize_q4_k(&rows_f32, &mut q);
                let one: Vec<BlockQ4K> = (0..rows)
                    .flat_map(|r| q[(r % distinct) * bpr..][..bpr].iter().copied())
                    .collect();
                let n = min_bytes.div_ceil(std::mem::size_of_val(&one[..])).max(1);
                Copies::Q4K(vec![one; n])
            }
            "q5_k" => {
                // No Q5_K quantizer in the crate: random quants and scales (the speed does not
                // depend on the values), small finite super-block scales.
                let bpr = cols / 256;
                let mut q = vec![BlockQ5K::zeroed(); distinct * bpr];
                let mut bits = Rng(0x5151_5151);
                for b in &mut q {
                    for byte in bytemuck::bytes_of_mut(b) {
                        *byte = bits.next_u64() as u8;
                    }
                    b.d = half::f16::from_f32(0.01);
                    b.dmin = half::f16::from_f32(0.001);
                }
                let one: Vec<BlockQ5K> = (0..rows)
                    .flat_map(|r| q[(r % distinct) * bpr..][..bpr].iter().copied())
                    .collect();
                let n = min_bytes.div_ceil(std::mem::size_of_val(&one[..])).max(1);
                Copies::Q5K(vec![one; n])
            }
            _ => {
                let bpr = cols / 256;
                let mut q = vec![BlockQ6K::zeroed(); distinct * bpr];
                quantize_q6_k(&rows_f32, &mut q);
                let one: Vec<BlockQ6K> = (0..rows)
                    .flat_map(|r| q[(r % distinct) * bpr..][..bpr].iter().copied())
                    .collect();
                let n = min_bytes.div_ceil(std::mem::size_of_val(&one[..])).max(1);
                Copies::Q6K(vec![one; n])
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Copies::Q4_0(v) => v.len(),
            Copies::Q4K(v) => v.len(),
            Copies::Q5K(v) => v.len(),
            Copies::Q6K(v) => v.len(),
        }
    }

    fn data(&self, i: usize) -> WeightData<'_> {
        match self {
            Copies::Q4_0(v) => WeightData::Q4_0(&v[i]),
            Copies::Q4K(v) => WeightData::Q4K(&v[i]),
            Copies::Q5K(v) => WeightData::Q5K(&v[i]),
            Copies::Q6K(v) => WeightData::Q6K(&v[i]),
        }
    }

    fn bytes_each(&self) -> usize {
        match self {
            Copies::Q4_0(v) => std::mem::size_of_val(&v[0][..]),
            Copies::Q4K(v) => std::mem::size_of_val(&v[0][..]),
            Copies::Q5K(v) => std::mem::size_of_val(&v[0][..]),
            Copies::Q6K(v) => std::mem::size_of_val(&v[0][..]),
        }
    }
}

use bytemuck::Zeroable;

fn run(args: Args) -> Result<(), String> {
    let features = CpuFeatures::detect();
    let tiers: Vec<Tier> = match &args.tiers {
        Some(t) => t.clone(),
        None => features.supported_tiers().collect(),
    };
    let mut table = Vec::new();
    for &t in &tiers {
        let k = Kernels::for_tier(t, &features)
            .ok_or(format!("tier {t:?} is not available on this machine"))?;
        table.push(k);
    }

    let words = args.mib * (1 << 20) / 8;
    let buf: Vec<u64> = (0..words as u64).collect();
    let (bw, bw_multi, each) = read_bandwidth(&buf, args.runs);
    drop(buf);
    for (name, gbs) in &each {
        println!("kernel_bw: read pass {name:<30} {gbs:6.2} GB/s");
    }
    println!(
        "kernel_bw: single-thread read bandwidth {bw:.2} GB/s (the best one-stream pass; {} MiB \
         buffer, median of {}); with several streams in step {bw_multi:.2} GB/s",
        args.mib, args.runs
    );

    let mut rng = Rng(7);
    let x: Vec<f32> = (0..args.cols * args.batch).map(|_| rng.signed()).collect();
    let mut out = vec![0.0f32; args.rows * args.batch];
    let mut lines = Vec::new();
    for ty in &args.types {
        let copies = Copies::new(ty, args.rows, args.cols, args.stream_mib << 20);
        let per = copies.bytes_each();
        println!(
            "kernel_bw: {ty} {}x{}: {:.1} MiB per matrix, {} copies ({:.0} MiB) visited in turn",
            args.rows,
            args.cols,
            per as f64 / (1 << 20) as f64,
            copies.len(),
            (per * copies.len()) as f64 / (1 << 20) as f64
        );
        let mut scalar_gbs = None;
        for k in &table {
            let fmt = copies.data(0).activation_format();
            let mut act = vec![
                0u8;
                fmt.bytes_for(args.cols * args.batch)
                    .map_err(|e| e.to_string())?
                    + 64
            ];
            let a = quantize_into(k, fmt, &x, &mut act).map_err(|e| e.to_string())?;
            let mats: Vec<Matrix> = (0..copies.len())
                .map(|i| Matrix::new(copies.data(i), args.rows, args.cols))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            // Warm-up pass (page faults, frequency); its time sets how many passes one timed
            // run makes, so that a run lasts at least `MIN_RUN_SECS` even when the weights are
            // in cache and one pass takes microseconds.
            let t = Instant::now();
            for m in &mats {
                matmul(k, m, a, 0..args.rows, &mut out, args.rows).map_err(|e| e.to_string())?;
            }
            let passes = (MIN_RUN_SECS / t.elapsed().as_secs_f64().max(1e-9)).ceil() as usize;
            let passes = passes.clamp(1, 1 << 20);
            let mut rates = Vec::with_capacity(args.runs);
            for _ in 0..args.runs {
                let t = Instant::now();
                for _ in 0..passes {
                    for m in &mats {
                        matmul(k, m, a, 0..args.rows, &mut out, args.rows)
                            .map_err(|e| e.to_string())?;
                    }
                    black_box(&out);
                }
                let bytes = per * mats.len() * args.batch * passes;
                rates.push(bytes as f64 / t.elapsed().as_secs_f64() / 1e9);
            }
            let best = rates.iter().copied().fold(0.0, f64::max);
            let gbs = stats::median(rates);
            if k.tier == Tier::Scalar {
                scalar_gbs = Some(gbs);
            }
            let vs = scalar_gbs.map(|s| gbs / s);
            println!(
                "kernel_bw: {ty} {:<12} {gbs:6.2} GB/s (best {best:.2}) = {:.2} of bandwidth \
                 ({:.2} of the several-stream read){}",
                format!("{:?}", k.tier),
                gbs / bw,
                gbs / bw_multi,
                vs.map(|v| format!(", {v:.2}x scalar")).unwrap_or_default()
            );
            lines.push(format!(
                "kernel_bw type={ty} tier={} gbs={gbs:.3} best_gbs={best:.3} bw_gbs={bw:.3} \
                 frac={:.3} bw_multi_gbs={bw_multi:.3} frac_multi={:.3} vs_scalar={}",
                k.tier.name(),
                gbs / bw,
                gbs / bw_multi,
                vs.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into())
            ));
        }
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => return args::exit("kernel_bw", USAGE, e),
    };
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kernel_bw: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
