//! Prints a GGUF file's header, metadata and tensor table, like gguf-py's `gguf-dump`.
//!
//! ```text
//! cargo run --example gguf_dump -- FILE [--all]
//! ```
//!
//! Arrays are abbreviated to their type, length and first few items; long strings are cut.
//! `--all` prints every array item and whole strings. A file that does not parse prints the
//! reader's error and exits with status 1; a usage error (including an argument that is not
//! UTF-8) exits with status 2.

use std::fmt::Write as _;
use std::process::ExitCode;

use phi3_kernels::gguf::{Array, Gguf, Value, ValueType};

#[path = "common/aligned.rs"]
mod aligned;
#[path = "common/args.rs"]
mod args;
#[path = "common/model_file.rs"]
mod model_file;

use args::CliError;

const USAGE: &str = "usage: gguf_dump FILE [--all]";

/// Array items shown without `--all`.
const ARRAY_ITEMS: usize = 8;
/// String characters shown without `--all`.
const STRING_CHARS: usize = 60;

struct Options {
    all: bool,
}

/// The file to dump and the options.
fn parse_args() -> Result<(String, Options), CliError> {
    let mut path = None;
    let mut opts = Options { all: false };
    for arg in args::args()? {
        match arg.as_str() {
            "--all" => opts.all = true,
            "-h" | "--help" => return Err(CliError::Help),
            _ if path.is_none() => path = Some(arg),
            other => return Err(format!("unexpected argument {other}\n{USAGE}").into()),
        }
    }
    let path = path.ok_or(format!("FILE is required\n{USAGE}"))?;
    Ok((path, opts))
}

fn main() -> ExitCode {
    let (path, opts) = match parse_args() {
        Ok(a) => a,
        Err(e) => return args::exit("gguf_dump", USAGE, e),
    };
    let bytes = match model_file::map_model(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("gguf_dump: {e}");
            return ExitCode::FAILURE;
        }
    };
    let gguf = match Gguf::parse(&bytes) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gguf_dump: {path}: not a valid GGUF file: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", dump(&path, &gguf, &opts));
    ExitCode::SUCCESS
}

fn dump(path: &str, g: &Gguf<'_>, opts: &Options) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "* File: {path} ({} bytes)", g.bytes().len());
    let _ = writeln!(
        out,
        "* GGUF v{}, alignment {}, data section at byte {}",
        g.version(),
        g.alignment(),
        g.data_offset()
    );
    let _ = writeln!(out, "\n* {} key/value pairs:", g.kv_count());
    let key_width = g.metadata().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (i, (key, value)) in g.metadata().enumerate() {
        let ty = match value {
            Value::Array(a) => format!("[{}; {}]", a.elem_type(), a.len()),
            other => other.value_type().to_string(),
        };
        let _ = writeln!(
            out,
            "{i:5}: {key:key_width$}  {ty:<16} = {}",
            show_value(&value, opts)
        );
    }

    let _ = writeln!(out, "\n* {} tensors:", g.tensor_count());
    let name_width = g
        .tensors()
        .map(|t| t.name().len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:>5}  {:name_width$}  {:<7}  {:<22}  {:>12}  {:>12}",
        "#", "name", "type", "shape (ne)", "offset", "bytes"
    );
    let mut total = 0usize;
    for t in g.tensors() {
        let shape: Vec<String> = t.shape().iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "{:5}  {:name_width$}  {:<7}  {:<22}  {:>12}  {:>12}",
            t.index(),
            t.name(),
            t.ty().name(),
            shape.join(" x "),
            t.offset(),
            t.n_bytes()
        );
        total += t.n_bytes();
    }
    let _ = writeln!(
        out,
        "* tensor bytes: {total} of a {}-byte data section",
        g.data().len()
    );
    out
}

fn show_value(value: &Value<'_>, opts: &Options) -> String {
    match *value {
        Value::Str(s) => show_str(s, opts),
        Value::Array(a) => show_array(&a, opts),
        Value::U8(v) => v.to_string(),
        Value::I8(v) => v.to_string(),
        Value::U16(v) => v.to_string(),
        Value::I16(v) => v.to_string(),
        Value::U32(v) => v.to_string(),
        Value::I32(v) => v.to_string(),
        Value::U64(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::F32(v) => format!("{v:?}"),
        Value::F64(v) => format!("{v:?}"),
        Value::Bool(v) => v.to_string(),
    }
}

fn show_str(s: &str, opts: &Options) -> String {
    let n = s.chars().count();
    if opts.all || n <= STRING_CHARS {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(STRING_CHARS).collect();
        format!("{head:?}… ({n} chars)")
    }
}

fn show_array(a: &Array<'_>, opts: &Options) -> String {
    let take = if opts.all { a.len() } else { ARRAY_ITEMS };
    fn items<T: ToString>(it: impl Iterator<Item = T>, take: usize) -> Vec<String> {
        it.take(take).map(|v| v.to_string()).collect()
    }
    fn floats<T: std::fmt::Debug>(it: impl Iterator<Item = T>, take: usize) -> Vec<String> {
        it.take(take).map(|v| format!("{v:?}")).collect()
    }
    let shown: Vec<String> = match a.elem_type() {
        ValueType::String => a
            .iter_str()
            .map(|it| it.take(take).map(|s| show_str(s, opts)).collect())
            .unwrap_or_default(),
        ValueType::U8 => a.iter_u8().map(|it| items(it, take)).unwrap_or_default(),
        ValueType::I8 => a.iter_i8().map(|it| items(it, take)).unwrap_or_default(),
        ValueType::U16 => a.iter_u16().map(|it| items(it, take)).unwrap_or_default(),
        ValueType::I16 => a.iter_i16().map(|it| items(it, take)).unwrap_or_default(),
        ValueType::U32 => a.iter_u32().map(|it| items(it, take)).unwrap_or_default(),
        ValueType::I32 => a.iter_i32().map(|it| items(it, take)).unwrap_or_default(),
        ValueType::U64 => a.iter_u64().map(|it| items(it, take)).unwrap_or_default(),
        ValueType::I64 => a.iter_i64().map(|it| items(it, take)).unwrap_or_default(),
        ValueType::F32 => a.iter_f32().map(|it| floats(it, take)).unwrap_or_default(),
        ValueType::F64 => a.iter_f64().map(|it| floats(it, take)).unwrap_or_default(),
        ValueType::Bool => a.iter_bool().map(|it| items(it, take)).unwrap_or_default(),
        _ => Vec::new(),
    };
    let more = if a.len() > shown.len() { ", …" } else { "" };
    format!("[{}{more}]", shown.join(", "))
}
