//! The GGUF reader on real files (the fixture models and vocabularies, checked against the
//! independent record in `tests/data/gguf/expected.tsv`) and its API on a synthetic file.

mod gguf_common;

use gguf_common::{load, synthetic, Aligned};
use half::f16;
use phi3_kernels::gguf::{Gguf, GgufError, Tensor, Value, ValueType};
use phi3_kernels::quant::{BlockQ4K, BlockQ4_0, BlockQ6K, BlockQ8_0, GgmlBlock, GgmlType};

/// One model's record from `expected.tsv`.
#[derive(Default, Debug)]
struct Expected {
    name: String,
    size: usize,
    n_vocab: usize,
    kvs: Vec<(String, String, String)>,
    tensors: Vec<(String, String, Vec<u64>)>,
    f32data: Vec<(String, Vec<f64>)>,
}

fn expected() -> Vec<Expected> {
    let text = std::fs::read_to_string(gguf_common::fixture_path("expected.tsv")).unwrap();
    let mut out: Vec<Expected> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        match cols[0] {
            "model" => out.push(Expected {
                name: cols[1].into(),
                size: cols[2].parse().unwrap(),
                n_vocab: cols[3].parse().unwrap(),
                ..Default::default()
            }),
            "kv" => {
                out.last_mut()
                    .unwrap()
                    .kvs
                    .push((cols[1].into(), cols[2].into(), cols[3].into()))
            }
            "tensor" => out.last_mut().unwrap().tensors.push((
                cols[1].into(),
                cols[2].into(),
                cols[3].split(',').map(|d| d.parse().unwrap()).collect(),
            )),
            "f32data" => out.last_mut().unwrap().f32data.push((
                cols[1].into(),
                cols[2].split(',').map(|d| d.parse().unwrap()).collect(),
            )),
            other => panic!("bad line kind {other}"),
        }
    }
    assert_eq!(out.len(), 5, "five fixture models");
    out
}

/// Views the tensor as its own block type; returns the number of blocks.
fn view_own_type(t: &Tensor<'_>) -> usize {
    fn check<B: GgmlBlock>(t: &Tensor<'_>) -> usize {
        let v = t
            .view::<B>()
            .unwrap_or_else(|e| panic!("{}: {e}", t.name()));
        assert_eq!(v.len() * B::ELEMS, t.n_elements(), "{}", t.name());
        assert_eq!(std::mem::size_of_val(v), t.n_bytes());
        v.len()
    }
    match t.ty() {
        GgmlType::F32 => check::<f32>(t),
        GgmlType::F16 => check::<f16>(t),
        GgmlType::Q4_0 => check::<BlockQ4_0>(t),
        GgmlType::Q8_0 => check::<BlockQ8_0>(t),
        GgmlType::Q4_K => check::<BlockQ4K>(t),
        GgmlType::Q6_K => check::<BlockQ6K>(t),
        other => panic!("unexpected type {other} in a fixture"),
    }
}

#[test]
fn model_fixtures_match_the_record() {
    for e in expected() {
        let buf = load(&format!("{}.gguf", e.name));
        let g = Gguf::parse(buf.bytes()).unwrap_or_else(|err| panic!("{}: {err}", e.name));
        assert_eq!(buf.bytes().len(), e.size, "{}", e.name);
        assert_eq!(g.version(), 3);
        assert_eq!(g.alignment(), 32);
        assert_eq!(g.data_offset() % 32, 0);
        assert_eq!(g.data().len(), e.size - g.data_offset());

        for (key, kind, value) in &e.kvs {
            let v = g.get(key).unwrap_or_else(|| panic!("{}: no {key}", e.name));
            match kind.as_str() {
                "str" => assert_eq!(v.as_str(), Some(value.as_str()), "{key}"),
                "int" => assert_eq!(v.as_int(), Some(value.parse().unwrap()), "{key}"),
                "float" => assert_eq!(v.as_f64(), Some(value.parse().unwrap()), "{key}"),
                _ => unreachable!(),
            }
        }
        assert_eq!(g.get_str("general.architecture").unwrap(), Some("phi3"));

        let tokens = g.get_array("tokenizer.ggml.tokens").unwrap().unwrap();
        assert_eq!(tokens.len(), e.n_vocab);
        assert_eq!(tokens.iter_str().unwrap().count(), e.n_vocab);
        let scores = g.get_array("tokenizer.ggml.scores").unwrap().unwrap();
        assert_eq!(scores.iter_f32().unwrap().len(), e.n_vocab);
        let types = g.get_array("tokenizer.ggml.token_type").unwrap().unwrap();
        assert_eq!(types.iter_i32().unwrap().len(), e.n_vocab);
        // The synthetic vocab: <unk>, <s>, </s>, <0x00>.., last <|endoftext|>.
        let mut it = tokens.iter_str().unwrap();
        assert_eq!(it.next(), Some("<unk>"));
        assert_eq!(it.nth(2), Some("<0x00>"));
        assert_eq!(it.last(), Some("<|endoftext|>"));

        // Tensors: the same names, types and shapes, in file order, packed in offset order.
        let tensors: Vec<Tensor<'_>> = g.tensors().collect();
        assert_eq!(tensors.len(), e.tensors.len());
        assert_eq!(g.tensor_count(), e.tensors.len());
        let mut next_offset = 0;
        for (i, (t, (name, ty, ne))) in tensors.iter().zip(&e.tensors).enumerate() {
            assert_eq!(t.index(), i);
            assert_eq!(t.name(), name);
            assert_eq!(t.ty().name(), ty, "{name}");
            assert_eq!(t.shape(), &ne[..], "{name}");
            assert_eq!(t.cols() as u64, ne[0]);
            assert_eq!(t.rows() as u64, ne[1..].iter().product::<u64>());
            assert_eq!(t.offset(), next_offset, "{name}");
            next_offset = (t.offset() + t.n_bytes()).next_multiple_of(32);
            assert!(std::ptr::eq(
                t.data().as_ptr(),
                buf.bytes()[g.data_offset() + t.offset()..].as_ptr()
            ));
            view_own_type(t);
            assert_eq!(g.tensor(name).unwrap(), *t);
        }
        assert_eq!(
            next_offset,
            g.data().len(),
            "{}: data ends at the last tensor",
            e.name
        );

        for (name, values) in &e.f32data {
            let data = g.view::<f32>(name).unwrap();
            let want: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            assert_eq!(data, &want[..], "{name}");
        }
        assert_eq!(g.tensor("no.such.tensor"), Err(GgufError::TensorNotFound));
        assert!(g.find_tensor("no.such.tensor").is_none());
    }
}

#[test]
fn typed_views_check_type_and_alignment() {
    let buf = load("phi3-tiny-gqa-q4_0.gguf");
    let g = Gguf::parse(buf.bytes()).unwrap();
    let embd = g.tensor("token_embd.weight").unwrap();
    assert_eq!(embd.ty(), GgmlType::Q4_0);
    let blocks = embd.view::<BlockQ4_0>().unwrap();
    assert_eq!(blocks.len(), 256 / 32 * 1024);
    assert_eq!(
        (embd.cols(), embd.rows(), embd.row_bytes()),
        (256, 1024, 8 * 18)
    );
    assert_eq!(
        embd.view::<BlockQ8_0>(),
        Err(GgufError::TensorTypeMismatch {
            tensor: embd.index(),
            expected: GgmlType::Q8_0,
            found: GgmlType::Q4_0,
        })
    );
    assert!(matches!(
        g.view::<f32>("output.weight"),
        Err(GgufError::TensorTypeMismatch {
            found: GgmlType::Q6_K,
            ..
        })
    ));

    // The same file at an odd address: parsing works, views report the misalignment.
    let mut shifted = vec![0u8];
    shifted.extend_from_slice(buf.bytes());
    let odd = Aligned::new(&shifted);
    let g = Gguf::parse(&odd.bytes()[1..]).unwrap();
    let embd = g.tensor("token_embd.weight").unwrap();
    assert_eq!(
        embd.view::<BlockQ4_0>(),
        Err(GgufError::MisalignedData {
            tensor: embd.index(),
            align: 2
        })
    );
    let norm = g.tensor("output_norm.weight").unwrap();
    assert!(matches!(
        norm.view::<f32>(),
        Err(GgufError::MisalignedData { align: 4, .. })
    ));
    assert_eq!(norm.data().len(), 256 * 4);
}

#[test]
fn phi3_vocab() {
    let buf = load("ggml-vocab-phi-3.gguf");
    let g = Gguf::parse(buf.bytes()).unwrap();
    assert_eq!(g.tensor_count(), 0);
    assert!(g.data().is_empty());
    assert_eq!(g.tensors().count(), 0);
    assert_eq!(g.get_str("tokenizer.ggml.model").unwrap(), Some("llama"));
    assert_eq!(g.get_str("general.name").unwrap(), Some("Phi3"));
    assert_eq!(g.get_u32("phi3.embedding_length").unwrap(), Some(3072));
    assert_eq!(
        g.get_bool("tokenizer.ggml.add_bos_token").unwrap(),
        Some(true)
    );
    assert_eq!(
        g.get_u32("tokenizer.ggml.eos_token_id").unwrap(),
        Some(32000)
    );
    assert_eq!(
        g.get_f32("phi3.attention.layer_norm_rms_epsilon").unwrap(),
        Some(1e-5)
    );
    let tokens = g.get_array("tokenizer.ggml.tokens").unwrap().unwrap();
    assert_eq!(tokens.elem_type(), ValueType::String);
    assert_eq!(tokens.len(), 32064);
    let all: Vec<&str> = tokens.iter_str().unwrap().collect();
    assert_eq!(all.len(), 32064);
    // "Hello world" → [15043, 3186] (fixtures/tokenizer/phi3/cases.json).
    assert_eq!(all[15043], "▁Hello");
    assert_eq!(all[3186], "▁world");
    assert_eq!(all[32007], "<|end|>");
    assert_eq!(all[13], "<0x0A>");
    assert_eq!(
        tokens.iter_str_bytes().unwrap().nth(32007),
        Some(&b"<|end|>"[..])
    );
    let scores = g.get_array("tokenizer.ggml.scores").unwrap().unwrap();
    assert_eq!(scores.iter_f32().unwrap().nth(15043), Some(-14784.0));
    let types = g.get_array("tokenizer.ggml.token_type").unwrap().unwrap();
    assert_eq!(types.iter_i32().unwrap().nth(32007), Some(3));
    assert_eq!(types.iter_i32().unwrap().len(), 32064);
    let template = g.get_str("tokenizer.chat_template").unwrap().unwrap();
    assert!(template.contains("<|assistant|>"));
    assert!(g
        .metadata()
        .any(|(k, _)| k == "general.quantization_version"));
}

#[test]
fn smollm2_vocab() {
    let buf = load("smollm2-135m-instruct-vocab.gguf");
    let g = Gguf::parse(buf.bytes()).unwrap();
    assert_eq!(g.tensor_count(), 0);
    assert_eq!(g.get_str("general.architecture").unwrap(), Some("llama"));
    assert_eq!(g.get_str("tokenizer.ggml.model").unwrap(), Some("gpt2"));
    assert_eq!(g.get_str("tokenizer.ggml.pre").unwrap(), Some("smollm"));
    assert_eq!(g.get_usize("llama.vocab_size").unwrap(), Some(49152));
    let tokens = g.get_array("tokenizer.ggml.tokens").unwrap().unwrap();
    assert_eq!(tokens.len(), 49152);
    let all: Vec<&str> = tokens.iter_str().unwrap().collect();
    assert_eq!(all.len(), 49152);
    // "Hello world" → [19556, 905] (fixtures/tokenizer/smollm2/cases.json).
    assert_eq!(all[19556], "Hello");
    assert_eq!(all[905], "Ġworld");
    assert_eq!(&all[..3], ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
    let merges = g.get_array("tokenizer.ggml.merges").unwrap().unwrap();
    assert_eq!(merges.len(), 48900);
    let mut m = merges.iter_str().unwrap();
    assert_eq!(m.next(), Some("Ġ t"));
    assert_eq!(m.count(), 48899);
    let langs = g.get_array("general.languages").unwrap().unwrap();
    assert_eq!(langs.iter_str().unwrap().collect::<Vec<_>>(), ["en"]);
    // Keys after the big arrays are found (the parser's skip table is exact).
    assert_eq!(
        g.get_u32("tokenizer.ggml.padding_token_id").unwrap(),
        Some(2)
    );
    assert_eq!(g.get_u32("general.quantization_version").unwrap(), Some(2));
    assert_eq!(g.metadata().count(), g.kv_count());
    assert_eq!(
        g.metadata().last().unwrap().0,
        "general.quantization_version"
    );
}

#[test]
fn synthetic_file_api() {
    let file = synthetic().build();
    let buf = Aligned::new(&file);
    let g = Gguf::parse(buf.bytes()).unwrap();
    assert_eq!(g.kv_count(), 19);
    assert_eq!(g.metadata().len(), 19);
    let keys: Vec<&str> = g.metadata().map(|(k, _)| k).collect();
    assert_eq!(keys[0], "general.architecture");
    assert_eq!(keys[18], "t.empty");

    assert_eq!(g.get("t.u8"), Some(Value::U8(200)));
    assert_eq!(g.get("t.i8"), Some(Value::I8(-5)));
    assert_eq!(g.get("t.u16"), Some(Value::U16(60000)));
    assert_eq!(g.get("t.i16"), Some(Value::I16(-300)));
    assert_eq!(g.get("t.i32"), Some(Value::I32(-70000)));
    assert_eq!(g.get("t.f32"), Some(Value::F32(1.5)));
    assert_eq!(g.get("t.bool"), Some(Value::Bool(true)));
    assert_eq!(g.get("t.f64"), Some(Value::F64(0.25)));
    assert_eq!(g.get("missing"), None);

    assert_eq!(g.get_u32("t.u8"), Ok(Some(200)));
    assert_eq!(g.get_u32("t.u16"), Ok(Some(60000)));
    assert_eq!(g.get_u32("t.u32"), Ok(Some(4_000_000_000)));
    assert_eq!(g.get_i32("t.i16"), Ok(Some(-300)));
    assert_eq!(g.get_u64("t.u64"), Ok(Some(1 << 40)));
    assert_eq!(g.get_i64("t.i64"), Ok(Some(-(1 << 40))));
    assert_eq!(g.get_usize("t.u32"), Ok(Some(4_000_000_000)));
    assert_eq!(g.get_u32("missing"), Ok(None));
    assert_eq!(
        g.get_u32("t.i8"),
        Err(GgufError::IntOutOfRange {
            expected: ValueType::U32,
            found: ValueType::I8
        })
    );
    assert_eq!(
        g.get_u32("t.u64"),
        Err(GgufError::IntOutOfRange {
            expected: ValueType::U32,
            found: ValueType::U64
        })
    );
    assert_eq!(
        g.get_i32("t.u32"),
        Err(GgufError::IntOutOfRange {
            expected: ValueType::I32,
            found: ValueType::U32
        })
    );
    assert_eq!(
        g.get_u32("t.f32"),
        Err(GgufError::TypeMismatch {
            expected: ValueType::U32,
            found: ValueType::F32
        })
    );
    assert_eq!(g.get_f32("t.f32"), Ok(Some(1.5)));
    assert_eq!(g.get_f32("t.f64"), Ok(Some(0.25)));
    assert_eq!(g.get_f64("t.f32"), Ok(Some(1.5)));
    assert_eq!(
        g.get_f32("t.u8"),
        Err(GgufError::TypeMismatch {
            expected: ValueType::F32,
            found: ValueType::U8
        })
    );
    assert_eq!(g.get_bool("t.bool"), Ok(Some(true)));
    assert!(matches!(
        g.get_bool("t.u8"),
        Err(GgufError::TypeMismatch { .. })
    ));
    assert_eq!(g.get_str("general.architecture"), Ok(Some("phi3")));
    assert_eq!(
        g.get_str("t.strs"),
        Err(GgufError::TypeMismatch {
            expected: ValueType::String,
            found: ValueType::Array
        })
    );
    assert!(matches!(
        g.get_array("t.u8"),
        Err(GgufError::TypeMismatch { .. })
    ));

    let strs = g.get_array("t.strs").unwrap().unwrap();
    assert_eq!(strs.len(), 3);
    assert_eq!(
        strs.iter_str().unwrap().collect::<Vec<_>>(),
        ["a", "", "héllo"]
    );
    assert_eq!(
        strs.iter_f32().map(|_| ()),
        Err(GgufError::TypeMismatch {
            expected: ValueType::F32,
            found: ValueType::String
        })
    );
    let f32s = g.get_array("t.f32s").unwrap().unwrap();
    assert_eq!(
        f32s.iter_f32().unwrap().collect::<Vec<_>>(),
        [0.5, -1.0, 2.0]
    );
    assert_eq!(f32s.iter_f32().unwrap().nth(2), Some(2.0));
    assert_eq!(f32s.iter_f32().unwrap().next_back(), Some(2.0));
    assert!(f32s.iter_str().is_err());
    assert!(f32s.iter_i32().is_err());
    if let Some(slice) = f32s.as_slice::<f32>() {
        assert_eq!(slice, [0.5, -1.0, 2.0]);
    }
    assert_eq!(f32s.as_slice::<u32>(), None);
    let i32s = g.get_array("t.i32s").unwrap().unwrap();
    assert_eq!(i32s.iter_i32().unwrap().collect::<Vec<_>>(), [1, -2]);
    let bools = g.get_array("t.bools").unwrap().unwrap();
    assert_eq!(
        bools.iter_bool().unwrap().collect::<Vec<_>>(),
        [false, true]
    );
    let u8s = g.get_array("t.u8s").unwrap().unwrap();
    assert_eq!(u8s.as_slice::<u8>(), Some(&[1u8, 2][..]));
    assert_eq!(u8s.raw_bytes(), [1, 2]);
    let empty = g.get_array("t.empty").unwrap().unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.elem_type(), ValueType::U64);
    assert_eq!(empty.iter_u64().unwrap().next(), None);

    let names: Vec<&str> = g.tensors().map(|t| t.name()).collect();
    assert_eq!(
        names,
        ["norm.weight", "embd.weight", "w.k", "w.q8", "w.f16"]
    );
    let q8 = g.tensor("w.q8").unwrap();
    assert_eq!(q8.n_dims(), 4);
    assert_eq!(q8.shape(), [32, 2, 1, 2]);
    assert_eq!(q8.ne(), [32, 2, 1, 2]);
    assert_eq!((q8.cols(), q8.rows(), q8.n_elements()), (32, 4, 128));
    assert_eq!(q8.view::<BlockQ8_0>().unwrap().len(), 4);
    let norm = g.tensor("norm.weight").unwrap();
    assert_eq!((norm.shape(), norm.ne()), (&[64u64][..], [64, 1, 1, 1]));
    assert_eq!((norm.rows(), norm.cols(), norm.offset()), (1, 64, 0));
    assert_eq!(g.tensor_at(1).unwrap().name(), "embd.weight");
    assert!(g.tensor_at(5).is_none());
    for t in g.tensors() {
        assert_eq!(t.offset() % 32, 0);
        match t.ty() {
            GgmlType::F32 => assert_eq!(t.view::<f32>().unwrap().len(), 64),
            GgmlType::F16 => assert_eq!(t.view::<f16>().unwrap().len(), 16),
            GgmlType::Q4_0 => assert_eq!(t.view::<BlockQ4_0>().unwrap().len(), 6),
            GgmlType::Q4_K => assert_eq!(t.view::<BlockQ4K>().unwrap().len(), 2),
            GgmlType::Q8_0 => assert_eq!(t.view::<BlockQ8_0>().unwrap().len(), 4),
            other => panic!("{other}"),
        }
    }
    // Display of errors is informative.
    let e = g.tensor("w.k").unwrap().view::<BlockQ4_0>().unwrap_err();
    assert_eq!(e.to_string(), "tensor 2 has type Q4_K, viewed as Q4_0");
}

#[test]
fn version_2_is_read() {
    let mut b = synthetic();
    b.version = 2;
    let file = b.build();
    let buf = Aligned::new(&file);
    let g = Gguf::parse(buf.bytes()).unwrap();
    assert_eq!(g.version(), 2);
    assert_eq!(g.tensor_count(), 5);
}

#[test]
fn parse_is_fast_on_the_vocab_files() {
    // A timing print, not an assertion (the suite also runs under qemu).
    for name in ["ggml-vocab-phi-3.gguf", "smollm2-135m-instruct-vocab.gguf"] {
        let buf = load(name);
        let t0 = std::time::Instant::now();
        let g = Gguf::parse(buf.bytes()).unwrap();
        let parse = t0.elapsed();
        let t0 = std::time::Instant::now();
        for _ in 0..100 {
            assert!(g.get_u32("general.quantization_version").unwrap().is_some());
        }
        println!(
            "{name}: parse {parse:?}, 100 lookups of the last key {:?}",
            t0.elapsed()
        );
    }
}
