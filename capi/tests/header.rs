//! `include/phi3.h` is hand-written; this test fails when it and the Rust code drift apart:
//!
//! - every `#define PHI3_*` equals the Rust constant (handle sizes for both pointer widths,
//!   alignments, status codes, flags, stop reasons, limits), and the header defines no other;
//! - every function declared in the header is exported by `src/lib.rs` and vice versa, and its
//!   C prototype equals the one derived from the Rust signature (`CType` maps each Rust type to
//!   its C spelling; the casts in `functions()` make the compiler check each Rust signature);
//! - every `typedef struct` of the header has the Rust struct's fields, in order, with the C
//!   types of their Rust types (`fields!` fails to compile unless it names every field with
//!   its type);
//! - the two callback typedefs match the Rust function-pointer types.
//!
//! The header is parsed simply: comments and preprocessor lines removed, statements split at
//! `;`, identifiers and `*` as tokens.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{c_char, c_void};
use std::path::PathBuf;

use phi3_capi::*;

/// The C spelling of a Rust type used at the boundary.
trait CType {
    fn c() -> String;
}

macro_rules! c_type {
    ($($t:ty => $c:literal),* $(,)?) => {
        $(impl CType for $t {
            fn c() -> String {
                $c.to_string()
            }
        })*
    };
}

c_type! {
    usize => "size_t",
    u32 => "uint32_t",
    u64 => "uint64_t",
    i32 => "int32_t",
    f32 => "float",
    bool => "bool",
    c_void => "void",
    Phi3Model => "phi3_model",
    Phi3Session => "phi3_session",
    Phi3Tokenizer => "phi3_tokenizer",
    Phi3Sampler => "phi3_sampler",
    phi3_limits => "phi3_limits",
    phi3_model_info => "phi3_model_info",
    phi3_sampler_config => "phi3_sampler_config",
    phi3_str => "phi3_str",
    phi3_generate_config => "phi3_generate_config",
    phi3_generate_stats => "phi3_generate_stats",
    phi3_clock_fn => "phi3_clock_fn",
    phi3_piece_fn => "phi3_piece_fn",
}

// `c_char` is `i8` on x86_64 and `u8` on aarch64 Linux; the API uses neither otherwise.
#[cfg(not(any(target_arch = "aarch64", target_arch = "arm")))]
c_type! { i8 => "char" }
#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
c_type! { u8 => "char" }
const _: () = assert!(std::mem::size_of::<c_char>() == 1);

impl<T: CType> CType for *const T {
    fn c() -> String {
        format!("const {} *", T::c())
    }
}

impl<T: CType> CType for *mut T {
    fn c() -> String {
        format!("{} *", T::c())
    }
}

/// A function pointer type's C return type and parameter types.
trait CFn {
    fn ret() -> String;
    fn params() -> Vec<String>;
}

macro_rules! c_fn {
    ($($a:ident),*) => {
        impl<R: CType, $($a: CType),*> CFn for unsafe extern "C" fn($($a),*) -> R {
            fn ret() -> String {
                R::c()
            }
            fn params() -> Vec<String> {
                vec![$($a::c()),*]
            }
        }
        impl<R: CType, $($a: CType),*> CFn for Option<unsafe extern "C" fn($($a),*) -> R> {
            fn ret() -> String {
                R::c()
            }
            fn params() -> Vec<String> {
                vec![$($a::c()),*]
            }
        }
    };
}

c_fn!(A);
c_fn!(A, B);
c_fn!(A, B, C);
c_fn!(A, B, C, D);
c_fn!(A, B, C, D, E);
c_fn!(A, B, C, D, E, F);
c_fn!(A, B, C, D, E, F, G);
c_fn!(A, B, C, D, E, F, G, H);
c_fn!(A, B, C, D, E, F, G, H, I);
c_fn!(A, B, C, D, E, F, G, H, I, J);
c_fn!(A, B, C, D, E, F, G, H, I, J, K);

fn sig_of<F: CFn>(_: F) -> (String, Vec<String>) {
    (
        norm(&F::ret()),
        F::params().iter().map(|p| norm(p)).collect(),
    )
}

/// `name`, and its C prototype derived from the Rust function (the `_` count is its arity:
/// a wrong count does not compile).
macro_rules! sig {
    ($f:ident $(, $u:tt)*) => {
        (stringify!($f), sig_of($f as unsafe extern "C" fn($($u),*) -> _))
    };
}

/// Every exported function with its arity.
fn functions() -> Vec<(&'static str, (String, Vec<String>))> {
    vec![
        sig!(phi3_error_message, _),
        sig!(phi3_model_init, _, _, _),
        sig!(phi3_model_get_info, _, _),
        sig!(phi3_arena_size, _, _, _),
        sig!(phi3_session_init, _, _, _, _, _),
        sig!(phi3_session_len, _, _),
        sig!(phi3_session_truncate, _, _),
        sig!(phi3_forward, _, _, _, _, _, _),
        sig!(phi3_tokenizer_size, _, _, _),
        sig!(phi3_tokenizer_init, _, _, _, _, _),
        sig!(phi3_max_tokens, _),
        sig!(phi3_tokenize, _, _, _, _, _, _, _),
        sig!(phi3_detokenize, _, _, _, _, _, _, _),
        sig!(phi3_is_stop_token, _, _),
        sig!(phi3_sampler_config_default, _),
        sig!(phi3_sampler_config_greedy, _),
        sig!(phi3_sampler_init, _, _),
        sig!(phi3_sample_scratch_size, _),
        sig!(phi3_sample, _, _, _, _, _, _, _, _),
        sig!(phi3_greedy, _, _, _),
        sig!(phi3_generate_config_default, _),
        sig!(phi3_generate_scratch_size, _, _, _, _),
        sig!(phi3_generate, _, _, _, _, _, _, _, _, _, _, _),
    ]
}

/// A `#[repr(C)]` struct's fields as (C type, name), in declaration order. Fails to compile
/// unless every field is named with its exact type.
macro_rules! fields {
    ($s:ident { $($f:ident : $t:ty),* $(,)? }) => {{
        #[allow(dead_code)]
        fn all_fields(v: $s) {
            let $s { $($f),* } = v;
            $(let _: $t = $f;)*
        }
        let offsets = [$(std::mem::offset_of!($s, $f)),*];
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "{}: fields out of declaration order",
            stringify!($s)
        );
        (
            stringify!($s).to_string(),
            vec![$((norm(&<$t as CType>::c()), stringify!($f).to_string())),*],
        )
    }};
}

fn structs() -> BTreeMap<String, Vec<(String, String)>> {
    BTreeMap::from([
        fields!(phi3_limits {
            max_context: usize,
            max_batch: usize,
            workers: usize,
            allow_beyond_trained_context: bool,
        }),
        fields!(phi3_model_info {
            n_vocab: usize,
            n_embd: usize,
            n_layer: usize,
            max_trained_context: usize,
        }),
        fields!(phi3_sampler_config {
            temperature: f32,
            top_k: usize,
            top_p: f32,
            min_p: f32,
            repeat_penalty: f32,
            seed: u64,
        }),
        fields!(phi3_str {
            ptr: *const c_char,
            len: usize,
        }),
        fields!(phi3_generate_config {
            max_tokens: usize,
            stop_strings: *const phi3_str,
            n_stop_strings: usize,
            penalty_window: usize,
            render_special: bool,
            clock: phi3_clock_fn,
            clock_user: *mut c_void,
        }),
        fields!(phi3_generate_stats {
            prompt_tokens: usize,
            generated: usize,
            decode_tokens: usize,
            prefill_ns: u64,
            decode_ns: u64,
            stop_reason: u32,
            stop_detail: u32,
        }),
    ])
}

/// Every `#define PHI3_*` the header must have, with its value (`64` / `32`: the branch of
/// `#if UINTPTR_MAX > 0xFFFFFFFFu`).
fn defines() -> BTreeMap<(String, &'static str), u64> {
    let mut m = BTreeMap::new();
    let mut put = |name: &str, branch: &'static str, v: u64| {
        assert!(m.insert((name.to_string(), branch), v).is_none(), "{name}");
    };
    let names = ["MODEL", "SESSION", "TOKENIZER", "SAMPLER"];
    for (i, n) in names.iter().enumerate() {
        put(&format!("PHI3_{n}_SIZE"), "64", HANDLE_SIZES_64[i] as u64);
        put(&format!("PHI3_{n}_SIZE"), "32", HANDLE_SIZES_32[i] as u64);
    }
    let aligns = [
        PHI3_MODEL_ALIGN,
        PHI3_SESSION_ALIGN,
        PHI3_TOKENIZER_ALIGN,
        PHI3_SAMPLER_ALIGN,
    ];
    for (n, a) in names.iter().zip(aligns) {
        put(&format!("PHI3_{n}_ALIGN"), "", a as u64);
    }
    for (name, code, _) in STATUS_CODES {
        put(name, "", *code as u64);
    }
    let plain: [(&str, u64); 12] = [
        ("PHI3_ARENA_ALIGN", PHI3_ARENA_ALIGN as u64),
        ("PHI3_MAX_STOP_STRINGS", PHI3_MAX_STOP_STRINGS as u64),
        ("PHI3_NO_TOKEN", PHI3_NO_TOKEN as u64),
        (
            "PHI3_TOKENIZE_ADD_SPECIAL",
            PHI3_TOKENIZE_ADD_SPECIAL as u64,
        ),
        (
            "PHI3_TOKENIZE_PARSE_SPECIAL",
            PHI3_TOKENIZE_PARSE_SPECIAL as u64,
        ),
        (
            "PHI3_DETOKENIZE_REMOVE_SPECIAL",
            PHI3_DETOKENIZE_REMOVE_SPECIAL as u64,
        ),
        (
            "PHI3_DETOKENIZE_RENDER_SPECIAL",
            PHI3_DETOKENIZE_RENDER_SPECIAL as u64,
        ),
        ("PHI3_STOP_MAX_TOKENS", PHI3_STOP_MAX_TOKENS as u64),
        ("PHI3_STOP_TOKEN", PHI3_STOP_TOKEN as u64),
        ("PHI3_STOP_STRING", PHI3_STOP_STRING as u64),
        ("PHI3_STOP_CONTEXT_FULL", PHI3_STOP_CONTEXT_FULL as u64),
        ("PHI3_STOP_CANCELLED", PHI3_STOP_CANCELLED as u64),
    ];
    for (name, v) in plain {
        put(name, "", v);
    }
    m
}

// ---- The header, parsed simply. ---------------------------------------------------------------

fn header() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include/phi3.h");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                let end = rest[b..].find("*/").expect("unterminated comment") + b + 2;
                rest = &rest[end..];
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |e| &rest[l + e..]);
            }
            (None, None) => {
                out.push_str(rest);
                return out;
            }
            (Some(_), None) => unreachable!(),
        }
    }
}

/// Identifiers, numbers and punctuation as tokens; types normalised to `const float * *`.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        if ch.is_alphanumeric() || ch == '_' {
            cur.push(ch);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !ch.is_whitespace() {
                out.push(ch.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A C type spelling normalised (`phi3_status` is `int32_t`).
fn norm(s: &str) -> String {
    tokens(s)
        .into_iter()
        .map(|t| {
            if t == "phi3_status" {
                "int32_t".into()
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A parameter or field declaration split into (normalised type, name).
fn decl(s: &str) -> (String, String) {
    let mut t = tokens(s);
    let name = t.pop().expect("a declaration has a name");
    (norm(&t.join(" ")), name)
}

struct Header {
    defines: BTreeMap<(String, &'static str), u64>,
    functions: BTreeMap<String, (String, Vec<String>)>,
    structs: BTreeMap<String, Vec<(String, String)>>,
    callbacks: BTreeMap<String, (String, Vec<String>)>,
    typedefs: BTreeSet<String>,
}

fn parse_int(v: &str) -> u64 {
    let v = v.trim().trim_end_matches(['u', 'U']);
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    }
    .unwrap_or_else(|e| panic!("#define value {v:?}: {e}"))
}

fn parse(text: &str) -> Header {
    let text = strip_comments(text);
    let mut defines = BTreeMap::new();
    let mut branch = "";
    let mut code = String::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix('#') {
            let d: Vec<&str> = rest.split_whitespace().collect();
            match d.first().copied() {
                Some("if") if rest.contains("UINTPTR_MAX") => branch = "64",
                Some("else") if !branch.is_empty() => branch = "32",
                Some("endif") => branch = "",
                Some("define") if d.get(1).is_some_and(|n| n.starts_with("PHI3_")) => {
                    let name = d[1];
                    if name == "PHI3_H" || name.starts_with("PHI3_ALIGNAS") {
                        continue;
                    }
                    let value = parse_int(d.get(2).expect("a value"));
                    let old = defines.insert((name.to_string(), branch), value);
                    assert!(old.is_none(), "{name} defined twice");
                }
                _ => {}
            }
            continue;
        }
        // The `extern "C" {` of C++ and its closing brace.
        if l == "extern \"C\" {" || l == "}" {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    let mut functions = BTreeMap::new();
    let mut structs = BTreeMap::new();
    let mut callbacks = BTreeMap::new();
    let mut typedefs = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(semi) = rest.find(';') {
        let mut stmt = rest[..semi].trim().to_string();
        rest = &rest[semi + 1..];
        if stmt.starts_with("typedef struct") {
            // Fields run to the closing brace; the statement ends after the type's name.
            while !stmt.contains('}') {
                let semi = rest.find(';').expect("struct end");
                stmt.push(';');
                stmt.push_str(&rest[..semi]);
                rest = &rest[semi + 1..];
            }
            let open = stmt.find('{').expect("{");
            let close = stmt.rfind('}').expect("}");
            let tag = tokens(&stmt[..open]);
            let name = tokens(&stmt[close + 1..]).join(" ");
            assert_eq!(
                tag.get(2),
                Some(&name),
                "typedef struct {name}: tag and name differ"
            );
            let body = &stmt[open + 1..close];
            if body.contains("opaque") {
                // A handle: its size and alignment are the PHI3_*_SIZE / _ALIGN defines.
                let b = body.replace(' ', "");
                let up = name.trim_start_matches("phi3_").to_uppercase();
                assert!(
                    b.contains(&format!(
                        "PHI3_ALIGNAS(PHI3_{up}_ALIGN)unsignedcharopaque[PHI3_{up}_SIZE]"
                    )),
                    "handle {name}: {body}"
                );
                typedefs.insert(name);
                continue;
            }
            let fields = body
                .split(';')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(decl)
                .collect();
            structs.insert(name.clone(), fields);
            typedefs.insert(name);
        } else if let Some(t) = stmt.strip_prefix("typedef") {
            if let Some(star) = t.find("(*") {
                // typedef R (*name)(params)
                let ret = norm(&t[..star]);
                let close = t[star..].find(')').expect(")") + star;
                let name = t[star + 2..close].trim().to_string();
                let params = &t[close + 1..];
                let params = params.trim().trim_start_matches('(').trim_end_matches(')');
                let params = params.split(',').map(|p| decl(p).0).collect();
                callbacks.insert(name.clone(), (ret, params));
                typedefs.insert(name);
            } else {
                let (ty, name) = decl(t);
                assert_eq!((ty.as_str(), name.as_str()), ("int32_t", "phi3_status"));
                typedefs.insert(name);
            }
        } else if stmt.contains('(') {
            let open = stmt.find('(').expect("(");
            let close = stmt.rfind(')').expect(")");
            let (ret, name) = decl(&stmt[..open]);
            let params = stmt[open + 1..close]
                .split(',')
                .map(|p| decl(p).0)
                .collect();
            let old = functions.insert(name.clone(), (ret, params));
            assert!(old.is_none(), "{name} declared twice");
        } else if !stmt.is_empty() {
            panic!("unrecognised statement in phi3.h: {stmt:?}");
        }
    }
    Header {
        defines,
        functions,
        structs,
        callbacks,
        typedefs,
    }
}

/// The `extern "C"` functions `src/lib.rs` exports (`pub … extern "C" fn phi3_*`).
fn exported() -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
    let src = std::fs::read_to_string(path).expect("src/lib.rs");
    let mut out = BTreeSet::new();
    for line in src.lines() {
        if let Some(i) = line.find("extern \"C\" fn ") {
            let rest = &line[i + "extern \"C\" fn ".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // `phi3_*` is the API; `rust_eh_personality` (no_std builds) is for the linker.
            if line.trim_start().starts_with("pub") && name.starts_with("phi3_") {
                out.insert(name);
            }
        }
    }
    out
}

// ---- The checks. ---------------------------------------------------------------------------

#[test]
fn defines_equal_the_rust_constants() {
    let h = parse(&header());
    let expected = defines();
    for (key, v) in &expected {
        assert_eq!(h.defines.get(key), Some(v), "#define {} ({})", key.0, key.1);
    }
    for key in h.defines.keys() {
        assert!(
            expected.contains_key(key),
            "#define {} unknown to the Rust side",
            key.0
        );
    }
    // The branch for this target is the Rust types' own size.
    let width = if cfg!(target_pointer_width = "64") {
        "64"
    } else {
        "32"
    };
    let size = |n: &str| h.defines[&(format!("PHI3_{n}_SIZE"), width)] as usize;
    let align = |n: &str| h.defines[&(format!("PHI3_{n}_ALIGN"), "")] as usize;
    use std::mem::{align_of, size_of};
    assert_eq!(size("MODEL"), size_of::<Phi3Model>());
    assert_eq!(size("SESSION"), size_of::<Phi3Session>());
    assert_eq!(size("TOKENIZER"), size_of::<Phi3Tokenizer>());
    assert_eq!(size("SAMPLER"), size_of::<Phi3Sampler>());
    assert_eq!(align("MODEL"), align_of::<Phi3Model>());
    assert_eq!(align("SESSION"), align_of::<Phi3Session>());
    assert_eq!(align("TOKENIZER"), align_of::<Phi3Tokenizer>());
    assert_eq!(align("SAMPLER"), align_of::<Phi3Sampler>());
}

#[test]
fn functions_match_the_rust_signatures() {
    let h = parse(&header());
    let table = functions();
    let names: BTreeSet<String> = table.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(names.len(), table.len(), "a function listed twice");
    let declared: BTreeSet<String> = h.functions.keys().cloned().collect();
    assert_eq!(
        declared,
        exported(),
        "header declarations vs src/lib.rs exports"
    );
    assert_eq!(declared, names, "header declarations vs this test's table");
    for (name, (ret, params)) in &table {
        let (h_ret, h_params) = &h.functions[*name];
        assert_eq!(
            (h_ret, h_params),
            (ret, params),
            "{name}: header (left) vs Rust (right)"
        );
    }
}

#[test]
fn structs_and_callbacks_match() {
    let h = parse(&header());
    assert_eq!(h.structs, structs());
    let callbacks = BTreeMap::from([
        ("phi3_clock_fn".to_string(), {
            let (r, p) = (
                <phi3_clock_fn as CFn>::ret(),
                <phi3_clock_fn as CFn>::params(),
            );
            (norm(&r), p.iter().map(|p| norm(p)).collect::<Vec<_>>())
        }),
        ("phi3_piece_fn".to_string(), {
            let (r, p) = (
                <phi3_piece_fn as CFn>::ret(),
                <phi3_piece_fn as CFn>::params(),
            );
            (norm(&r), p.iter().map(|p| norm(p)).collect::<Vec<_>>())
        }),
    ]);
    assert_eq!(h.callbacks, callbacks);
    let typedefs: BTreeSet<String> = [
        "phi3_model",
        "phi3_session",
        "phi3_tokenizer",
        "phi3_sampler",
        "phi3_status",
        "phi3_limits",
        "phi3_model_info",
        "phi3_sampler_config",
        "phi3_str",
        "phi3_clock_fn",
        "phi3_piece_fn",
        "phi3_generate_config",
        "phi3_generate_stats",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(h.typedefs, typedefs);
}

/// The parser itself: a drifted header is caught.
#[test]
fn the_checks_catch_drift() {
    let good = header();
    let drifted = [
        good.replace(
            "#define PHI3_SESSION_SIZE 1024",
            "#define PHI3_SESSION_SIZE 1016",
        ),
        good.replace(
            "phi3_status phi3_session_len(const phi3_session *session, size_t *len);",
            "phi3_status phi3_session_len(const phi3_session *session, uint32_t *len);",
        ),
        good.replace("    size_t workers; ", "    uint32_t workers; "),
        good.replace("#define PHI3_ERR_OTHER 27", "#define PHI3_ERR_OTHER 28"),
    ];
    for (i, d) in drifted.iter().enumerate() {
        assert_ne!(d, &good, "drift {i} did not apply");
        let h = parse(d);
        let same = h.defines == defines()
            && h.structs == structs()
            && functions()
                .iter()
                .all(|(n, s)| h.functions.get(*n) == Some(s));
        assert!(!same, "drift {i} not caught");
    }
}
