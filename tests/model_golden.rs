//! Golden parity: logits of every fixture model and case against llama.cpp's
//! (`tests/data/logits/`, fixtures README §5 and §6), with pure decode, one prefill batch and
//! batches of 7, plus the teacher-forced greedy check.

mod model_support;

use model_support::*;
use phi3_kernels::kernels::Kernels;
use phi3_kernels::model::{Limits, LongRopeCrossing, Model, Session};

/// How a sequence is cut into `forward` calls.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// The prompt in one batch, then the greedy tokens one by one.
    Prefill,
    /// Every token alone.
    Decode,
    /// Batches of 7 tokens (crossing the prompt / greedy boundary).
    Batch7,
}

const MODES: [Mode; 3] = [Mode::Prefill, Mode::Decode, Mode::Batch7];

fn chunk_sizes(mode: Mode, n_prompt: usize, n_total: usize) -> Vec<usize> {
    match mode {
        Mode::Prefill => std::iter::once(n_prompt)
            .chain(std::iter::repeat_n(1, n_total - n_prompt))
            .collect(),
        Mode::Decode => vec![1; n_total],
        Mode::Batch7 => {
            let mut v = vec![7; n_total / 7];
            if !n_total.is_multiple_of(7) {
                v.push(n_total % 7);
            }
            v
        }
    }
}

/// Runs `tokens` through a fresh session cut into `sizes`; returns every position's logits
/// and the sequence length after the forward that produced each position.
fn run(
    model: &Model,
    tokens: &[u32],
    sizes: &[usize],
    max_context: usize,
) -> (Vec<f32>, Vec<usize>) {
    let max_batch = *sizes.iter().max().unwrap();
    let limits = Limits {
        max_context,
        max_batch,
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let mut arena = ArenaBuf::for_plan(model, &limits);
    let mut s = Session::new(model, arena.bytes(), limits, Kernels::detect()).unwrap();
    let (mut out, mut ends) = (Vec::new(), Vec::new());
    let mut at = 0;
    for &n in sizes {
        let logits = s.forward(&tokens[at..at + n], true).unwrap();
        out.extend_from_slice(logits);
        at += n;
        ends.extend(std::iter::repeat_n(s.len(), n));
    }
    assert_eq!(at, tokens.len());
    (out, ends)
}

fn margins(rows: &[f32], n_vocab: usize) -> Vec<f32> {
    rows.chunks_exact(n_vocab)
        .map(|r| {
            let (mut a, mut b) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
            for &v in r {
                if v > a {
                    b = a;
                    a = v;
                } else if v > b {
                    b = v;
                }
            }
            a - b
        })
        .collect()
}

/// Checks one case in every mode. `expected_prompt(ends)` gives the golden prompt rows for the
/// factor-set history `ends` (which forward produced each row); greedy rows come from
/// `<case>.greedy.f32`.
fn check_case(
    golden: &Golden,
    model: &Model,
    case: &Case,
    max_context: usize,
    expected_prompt: &dyn Fn(&[usize]) -> Vec<f32>,
) {
    let nv = golden.n_vocab;
    let n_prompt = case.tokens.len();
    // Quick mode checks the first 4 greedy steps (still decoded one by one).
    let n_greedy = if quick() { 4 } else { case.greedy.len() };
    let seq: Vec<u32> = case
        .tokens
        .iter()
        .chain(&case.greedy[..n_greedy - 1])
        .copied()
        .collect();
    let greedy_gold = golden.logits(&format!("{}.greedy.f32", case.id));
    let greedy_gold = &greedy_gold[..n_greedy * nv];
    let mut first: Option<(Vec<f32>, Vec<usize>)> = None;
    let modes: &[Mode] = if quick() { &MODES[..1] } else { &MODES };
    for &mode in modes {
        let sizes = chunk_sizes(mode, n_prompt, seq.len());
        let (ours, ends) = run(model, &seq, &sizes, max_context);
        let what = format!("{} {} {mode:?}", golden.model, case.id);
        let gold = expected_prompt(&ends[..n_prompt]);
        let p = check_rows(
            &format!("{what} prompt"),
            &gold,
            &ours[..n_prompt * nv],
            nv,
            &margins(&gold, nv),
            None,
        );
        let g = check_rows(
            &format!("{what} greedy"),
            greedy_gold,
            &ours[(n_prompt - 1) * nv..],
            nv,
            &case.greedy_margin[..n_greedy],
            Some(&case.greedy[..n_greedy]),
        );
        eprintln!(
            "{what}: prompt NMSE {:.2e} (max row {:.2e}, max|Δ| {:.3}, {} argmax checked); \
             greedy NMSE {:.2e} (max row {:.2e}, max|Δ| {:.3}, {} ids checked)",
            p.nmse,
            p.max_row_nmse,
            p.max_abs,
            p.argmax_checked,
            g.nmse,
            g.max_row_nmse,
            g.max_abs,
            g.argmax_checked
        );
        // Batching never changes the bits, up to a LongRoPE crossing (after one, the cached
        // keys were rotated at a point that depends on the batching).
        match &first {
            None => first = Some((ours, ends)),
            Some((ref_out, ref_ends)) => {
                let w = model.weights();
                let longrope = w.rope_factors_long().is_some() || w.rope_factors_short().is_some();
                let boundary = model.config().original_context_length;
                for (i, (a, b)) in ref_ends.iter().zip(&ends).enumerate() {
                    if !longrope || (*a <= boundary && *b <= boundary) {
                        let (x, y) = (&ref_out[i * nv..][..nv], &ours[i * nv..][..nv]);
                        assert!(
                            x.iter().zip(y).all(|(u, v)| u.to_bits() == v.to_bits()),
                            "{what}: position {i} differs from the first mode"
                        );
                    }
                }
            }
        }
    }
}

fn check_model(name: &str) {
    let golden = Golden::load(name);
    let bytes = model_bytes(name);
    let (_gguf, model) = parse(&bytes);
    assert_eq!(model.config().n_vocab, golden.n_vocab);
    let n_cases = if quick() { 1 } else { golden.cases.len() };
    for case in &golden.cases[..n_cases] {
        let all = golden.logits(&format!("{}.batch_all.f32", case.id));
        // The cases fit the trained context (256 positions for these fixtures).
        let ctx = model.config().max_trained_context();
        check_case(&golden, &model, case, ctx, &|_| all.clone());
    }
}

#[test]
fn golden_phi3_tiny_hd96_q4_0() {
    check_model("phi3-tiny-hd96-q4_0");
}

#[test]
fn golden_phi3_tiny_q4_k_m() {
    check_model("phi3-tiny-q4_k_m");
}

#[test]
fn golden_phi3_tiny_gqa_q4_0() {
    check_model("phi3-tiny-gqa-q4_0");
}

#[test]
fn golden_phi4_tiny_q8_0_partial_rotary_tied() {
    let bytes = model_bytes("phi4-tiny-q8_0");
    let (_g, model) = parse(&bytes);
    assert!(model.weights().tied_embeddings());
    assert_eq!((model.config().n_rot, model.config().head_dim), (48, 64));
    check_model("phi4-tiny-q8_0");
}

/// LongRoPE (fixtures §6): `short` against `short.batch_all` (short factors); `long` rows
/// produced by a forward whose sequence ended beyond `original_context_length` (256) against
/// `long.batch_all`, rows produced at or below it against `long.decode_rule` (llama.cpp's
/// short-factor logits); the greedy rows (total > 256) against `long.greedy`.
#[test]
fn golden_phi3_tiny_longrope_q4_0() {
    let name = "phi3-tiny-longrope-q4_0";
    let golden = Golden::load(name);
    let bytes = model_bytes(name);
    let (_g, model) = parse(&bytes);
    let orig = model.config().original_context_length;
    assert_eq!(orig, 256);
    let nv = golden.n_vocab;
    for case in &golden.cases {
        match case.id.as_str() {
            "short" => {
                let all = golden.logits("short.batch_all.f32");
                check_case(&golden, &model, case, 1024, &|_| all.clone());
            }
            "long" if quick() => eprintln!("quick mode: LongRoPE `long` case skipped"),
            "long" => {
                let long = golden.logits("long.batch_all.f32");
                let rule = golden.logits("long.decode_rule.f32");
                let expected = |ends: &[usize]| {
                    let mut v = Vec::with_capacity(ends.len() * nv);
                    for (i, &end) in ends.iter().enumerate() {
                        let src = if end > orig { &long } else { &rule };
                        v.extend_from_slice(&src[i * nv..][..nv]);
                    }
                    v
                };
                check_case(&golden, &model, case, 1024, &expected);
            }
            other => panic!("unexpected case {other}"),
        }
    }
}

/// With `LongRopeCrossing::Recompute`, decoding across `original_context_length` gives bit for
/// bit the logits of a from-scratch prefill of the whole sequence (long factors), and
/// truncating back below it switches back to the short factors (again equal to a from-scratch
/// prefill, and matching llama.cpp's short-factor golden rather than its long-factor one).
#[test]
fn longrope_decode_across_boundary_equals_prefill() {
    if quick() {
        eprintln!("quick mode: LongRoPE boundary test skipped");
        return;
    }
    let name = "phi3-tiny-longrope-q4_0";
    let golden = Golden::load(name);
    let bytes = model_bytes(name);
    let (_g, model) = parse(&bytes);
    let long = &golden.cases.iter().find(|c| c.id == "long").unwrap().tokens;
    let n = 262;
    let tokens = &long[..n];
    let nv = golden.n_vocab;
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();

    let limits = Limits {
        max_context: 512,
        max_batch: 256,
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let mut arena = ArenaBuf::for_plan(&model, &limits);
    let mut s = Session::new(&model, arena.bytes(), limits, Kernels::detect()).unwrap();
    s.set_longrope_crossing(LongRopeCrossing::Recompute);
    // Up to the boundary in one batch, then across it one token at a time (the cache is
    // recomputed with the long factors at 257).
    s.forward(&tokens[..250], false).unwrap();
    let mut decoded = Vec::new();
    for &t in &tokens[250..] {
        decoded = s.forward(&[t], false).unwrap().to_vec();
    }
    let (scratch, _) = run(&model, tokens, &[n], 512);
    assert_eq!(
        bits(&decoded),
        bits(&scratch[(n - 1) * nv..]),
        "decode across the boundary != from-scratch prefill"
    );

    // Back below the boundary: short factors again.
    s.truncate(200).unwrap();
    let again = s.forward(&tokens[200..205], false).unwrap().to_vec();
    let (scratch, _) = run(&model, &tokens[..205], &[205], 512);
    assert_eq!(bits(&again), bits(&scratch[204 * nv..]));
    let row = |file: &str| golden.logits(file)[204 * nv..205 * nv].to_vec();
    let nmse = |g: &[f32]| {
        let num: f64 = g
            .iter()
            .zip(&again)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum();
        num / g.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>()
    };
    let (short, long) = (
        nmse(&row("long.decode_rule.f32")),
        nmse(&row("long.batch_all.f32")),
    );
    eprintln!("position 204 after truncate: NMSE vs short golden {short:.2e}, vs long {long:.2e}");
    assert!(short < NMSE_POSITION && long > 10.0 * short);
}

/// With `LongRopeCrossing::RotateKeys` (the default), decoding across `original_context_length`
/// rotates the cached keys instead of recomputing them: every logit row after the crossing stays
/// within the fixtures' per-position rule against the from-scratch long-factor golden
/// (`long.decode_rule` rows past 256), argmax included where the golden margin allows, and
/// truncating back below rotates back (short-factor golden). Prints the distances
/// (docs/performance.md quotes them).
#[test]
fn longrope_rotation_across_boundary_within_rule() {
    if quick() {
        eprintln!("quick mode: LongRoPE rotation test skipped");
        return;
    }
    let name = "phi3-tiny-longrope-q4_0";
    let golden = Golden::load(name);
    let bytes = model_bytes(name);
    let (_g, model) = parse(&bytes);
    let case = golden.cases.iter().find(|c| c.id == "long").unwrap();
    let tokens = &case.tokens;
    let nv = golden.n_vocab;
    let rule = golden.logits("long.decode_rule.f32");
    let limits = Limits {
        max_context: 512,
        max_batch: 256,
        workers: 1,
        allow_beyond_trained_context: false,
        kv: phi3_kernels::model::KvType::F16,
    };
    let mut arena = ArenaBuf::for_plan(&model, &limits);
    let mut s = Session::new(&model, arena.bytes(), limits, Kernels::detect()).unwrap();
    assert_eq!(s.longrope_crossing(), LongRopeCrossing::RotateKeys);
    let nmse = |g: &[f32], o: &[f32]| {
        let num: f64 = g.iter().zip(o).map(|(a, b)| f64::from(a - b).powi(2)).sum();
        num / g.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>()
    };
    s.forward(&tokens[..250], false).unwrap();
    let (mut worst, mut sum, mut rows) = (0.0f64, 0.0f64, 0);
    for (i, &t) in tokens
        .iter()
        .enumerate()
        .take(tokens.len().min(290))
        .skip(250)
    {
        let ours = s.forward(&[t], false).unwrap().to_vec();
        let gold = &rule[i * nv..][..nv];
        let e = nmse(gold, &ours);
        (worst, sum, rows) = (worst.max(e), sum + e, rows + 1);
        assert!(
            e < NMSE_POSITION,
            "position {i}: NMSE {e:.2e} against the golden"
        );
        let margin = case.margin.get(i).copied().unwrap_or(0.0);
        if margin >= ARGMAX_MARGIN {
            let am = |v: &[f32]| {
                v.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap()
                    .0
            };
            assert_eq!(am(&ours), am(gold), "position {i}: argmax differs");
        }
    }
    eprintln!(
        "LongRoPE rotation: positions 250..{}: NMSE vs from-scratch golden mean {:.2e}, max {worst:.2e}",
        250 + rows,
        sum / rows as f64
    );
    // Back below the boundary: keys rotated back to the short factors.
    s.truncate(200).unwrap();
    let again = s.forward(&tokens[200..205], false).unwrap().to_vec();
    let back = nmse(&rule[204 * nv..205 * nv], &again);
    eprintln!("LongRoPE rotation: position 204 after truncate: NMSE vs short golden {back:.2e}");
    assert!(back < NMSE_POSITION);
}
