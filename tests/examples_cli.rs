//! The examples as programs (issue 20: "the examples are part of the product"): every example
//! runs as a process and is judged by its exit status and output.
//!
//! The binaries are the ones `cargo test` builds next to this test (`target/<profile>/examples/`,
//! examples are compiled by a plain `cargo test`); when one is missing or older than a source
//! file under `examples/` or `src/` (e.g. after `cargo test --test examples_cli`, which builds
//! no example) the test first runs `cargo build --profile test --examples`. Where the binaries
//! cannot be executed here (an emulated target: `Exec format error` without binfmt support,
//! or a child that cannot find its dynamic loader), the test says so loudly on stderr and
//! checks nothing; `PHI3_REQUIRE_EXAMPLES=1` makes that a failure (`scripts/test` sets it for
//! the host run, so the examples are always checked there).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const EXAMPLES: [&str; 9] = [
    "attention_bw",
    "bench",
    "generate",
    "gguf_dump",
    "kernel_bw",
    "logits",
    "make_model",
    "static_arena",
    "tokenize",
];

/// The tiny GQA fixture: trained context 256, vocabulary 1024.
const MODEL: &str = "tests/data/gguf/phi3-tiny-gqa-q4_0.gguf";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> PathBuf {
    manifest_dir().join(MODEL)
}

/// `target/<profile>/examples`, next to this test binary (`target/<profile>/deps/…`).
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps");
    profile_dir.join("examples")
}

/// The examples' directory, built first when an example is missing; `None` when the
/// binaries cannot be executed on this machine (see the module docs).
fn examples() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = examples_dir();
        let built = EXAMPLES
            .iter()
            .map(|e| modified(&dir.join(e)))
            .min()
            .flatten();
        let sources = ["examples", "src"]
            .iter()
            .filter_map(|d| newest(&manifest_dir().join(d)))
            .max();
        if built.is_none() || built < sources {
            if let Err(e) = build_examples(&dir) {
                return skip(&e);
            }
        }
        for e in EXAMPLES {
            assert!(
                dir.join(e).is_file(),
                "example {e} was not built in {}",
                dir.display()
            );
        }
        // ENOEXEC: a foreign-architecture binary without binfmt (qemu-user runs this test).
        match Command::new(dir.join("static_arena"))
            .arg("--help")
            .output()
        {
            Err(e) if e.raw_os_error() == Some(ENOEXEC) => skip(&e),
            Err(e) => panic!("cannot run the example static_arena: {e}"),
            Ok(out) if out.status.success() => Some(dir),
            // E.g. 127 under qemu-user with binfmt but without the cross library prefix: the
            // child cannot find its dynamic loader.
            Ok(out) => skip(&std::io::Error::other(format!(
                "static_arena --help exited with {}",
                out.status
            ))),
        }
    })
    .as_deref()
}

/// `errno` of a binary the kernel cannot execute (`Exec format error`).
const ENOEXEC: i32 = 8;

/// Reports (loudly, on stderr) that the examples cannot run here; fails under
/// `PHI3_REQUIRE_EXAMPLES`.
fn skip(e: &std::io::Error) -> Option<PathBuf> {
    let bar = "!".repeat(78);
    eprintln!("\n{bar}\n!!! SKIPPED examples_cli: the examples cannot be built or run here ({e})\n{bar}\n");
    assert!(
        std::env::var_os("PHI3_REQUIRE_EXAMPLES").is_none(),
        "PHI3_REQUIRE_EXAMPLES is set but the examples cannot run: {e}"
    );
    None
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> Option<std::time::SystemTime> {
    let mut best = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest(&path)
        } else {
            modified(&path)
        };
        best = best.max(t);
    }
    best
}

/// `cargo build --profile test --examples` into the target directory holding `dir`
/// (`<target>/debug/examples` or `<target>/<triple>/debug/examples`). `Err` only when cargo
/// cannot be executed here (`Exec format error` under emulation).
fn build_examples(dir: &Path) -> Result<(), std::io::Error> {
    let profile_dir = dir.parent().expect("profile dir");
    let above = profile_dir.parent().expect("target dir");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(manifest_dir())
        .args(["build", "--profile", "test", "--examples"]);
    // `above` is `<target>/<triple>` for a cross build (a triple has at least two dashes,
    // and cargo marks the target directory above it with CACHEDIR.TAG), else `<target>`.
    let cross = above
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.matches('-').count() >= 2)
        && above
            .parent()
            .is_some_and(|t| t.join("CACHEDIR.TAG").is_file());
    if !cross {
        cmd.arg("--target-dir").arg(above);
    } else {
        let triple = above.file_name().expect("triple").to_owned();
        cmd.arg("--target")
            .arg(triple)
            .arg("--target-dir")
            .arg(above.parent().expect("target dir"));
    }
    let status = match cmd.status() {
        Err(e) if e.raw_os_error() == Some(ENOEXEC) => return Err(e),
        other => other.expect("run cargo build --examples"),
    };
    assert!(status.success(), "cargo build --examples failed: {status}");
    Ok(())
}

/// Runs example `name` with `args`.
fn run(dir: &Path, name: &str, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(dir.join(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {name}: {e}"))
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The exit code, failing (with the output) when the process died of a signal, e.g. an
/// allocator abort (SIGABRT) or SIGBUS.
fn code(name: &str, out: &Output) -> i32 {
    out.status.code().unwrap_or_else(|| {
        panic!(
            "{name} was killed ({}); stderr:\n{}",
            out.status,
            text(&out.stderr)
        )
    })
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phi3-examples-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A model cut short by 1–7 bytes is an error (exit status 1), never a run on padding; the
/// whole file still works.
#[test]
fn logits_rejects_a_truncated_model() {
    let Some(dir) = examples() else { return };
    let tmp = scratch("truncated");
    let full = std::fs::read(fixture()).expect("fixture");
    let out_file = tmp.join("logits.bin");
    for cut in 0..=7usize {
        let model = tmp.join(format!("cut{cut}.gguf"));
        std::fs::write(&model, &full[..full.len() - cut]).expect("write model");
        let out = run(
            dir,
            "logits",
            &[
                os("--model"),
                model.as_os_str(),
                os("--tokens"),
                os("1,2,3"),
                os("--out"),
                out_file.as_os_str(),
            ],
        );
        let c = code("logits", &out);
        if cut == 0 {
            assert_eq!(c, 0, "the whole model: {}", text(&out.stderr));
            assert_eq!(
                std::fs::metadata(&out_file).expect("logits written").len(),
                1024 * 4
            );
        } else {
            assert_eq!(
                c,
                1,
                "cut by {cut} bytes: status {c}, stdout {:?}, stderr {:?}",
                text(&out.stdout),
                text(&out.stderr)
            );
            assert!(text(&out.stderr).contains("error"), "{}", text(&out.stderr));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A non-UTF-8 argument is a usage error (status 2, a message naming it), not a panic (101);
/// `--help` prints the usage on stdout with status 0.
#[cfg(unix)]
#[test]
fn every_example_rejects_non_utf8_arguments_and_helps() {
    use std::os::unix::ffi::OsStrExt;
    let Some(dir) = examples() else { return };
    let bad = std::ffi::OsStr::from_bytes(b"--model\xff");
    for name in EXAMPLES {
        let out = run(dir, name, &[bad]);
        let err = text(&out.stderr);
        assert_eq!(
            code(name, &out),
            2,
            "{name} with a non-UTF-8 argument: {err}"
        );
        assert!(err.contains("not valid UTF-8"), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");

        let out = run(dir, name, &[os("--help")]);
        assert_eq!(code(name, &out), 0, "{name} --help: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("usage"),
            "{name} --help on stdout"
        );
    }
    // A non-UTF-8 value (not only a flag) is caught too.
    let out = run(
        dir,
        "generate",
        &[os("--model"), bad, os("--prompt"), os("hi")],
    );
    assert_eq!(code("generate", &out), 2, "{}", text(&out.stderr));
}

/// The tiny fixture with `phi3.context_length` rewritten as a u64 of 10¹⁵: a model that
/// claims a trained context large enough for a `--ctx` whose arena no machine can allocate,
/// without `--allow-long-context`. The value grows from 4 to 8 bytes; the header's padding
/// before the (aligned) tensor data absorbs the difference, so the data stays in place.
fn huge_context_model(dir: &Path) -> PathBuf {
    use phi3_kernels::gguf::Gguf;
    let full = std::fs::read(fixture()).expect("fixture");
    let data_offset = Gguf::parse(&full).expect("fixture parses").data_offset();
    let key = b"phi3.context_length";
    let mut pattern = (key.len() as u64).to_le_bytes().to_vec();
    pattern.extend_from_slice(key);
    pattern.extend_from_slice(&4u32.to_le_bytes()); // GGUF type u32
    let at = full
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("phi3.context_length is a u32 in the fixture");
    let value = at + pattern.len();
    let mut out = full[..value - 4].to_vec();
    out.extend_from_slice(&10u32.to_le_bytes()); // GGUF type u64
    out.extend_from_slice(&1_000_000_000_000_000u64.to_le_bytes());
    out.extend_from_slice(&full[value + 4..data_offset - 4]);
    assert!(full[data_offset - 4..data_offset].iter().all(|&b| b == 0));
    out.extend_from_slice(&full[data_offset..]);
    let g = Gguf::parse(&out).expect("the rewritten fixture parses");
    assert_eq!(
        g.data_offset(),
        data_offset,
        "the tensor data stays in place"
    );
    assert_eq!(
        g.get_usize("phi3.context_length").expect("u64"),
        Some(1_000_000_000_000_000)
    );
    let path = dir.join("huge-context.gguf");
    std::fs::write(&path, &out).expect("write model");
    path
}

/// An arena that cannot be allocated is an error (status 1) naming the size, not an
/// allocator abort (SIGABRT, "memory allocation of … bytes failed"): `generate` and `bench`
/// with `--ctx` 10¹⁵ on a model trained (it says) for that long. The arena, about 5·10¹⁷
/// bytes, is beyond any address space, so the allocator refuses it whatever the overcommit
/// policy.
#[test]
fn an_arena_that_cannot_be_allocated_is_an_error() {
    let Some(dir) = examples() else { return };
    let tmp = scratch("huge-arena");
    let model = huge_context_model(&tmp);
    let ctx = os("1000000000000000");
    for (name, args) in [
        (
            "generate",
            vec![
                os("--prompt"),
                os("hi"),
                os("-n"),
                os("2"),
                os("--ctx"),
                ctx,
            ],
        ),
        (
            "generate",
            vec![
                os("--prompt"),
                os("hi"),
                os("-n"),
                os("2"),
                os("--ctx"),
                ctx,
                os("--copy"),
            ],
        ),
        (
            "bench",
            vec![
                os("--prompt"),
                os("4"),
                os("--gen"),
                os("1"),
                os("--ctx"),
                ctx,
                os("--bw-mib"),
                os("1"),
                os("--bw-runs"),
                os("1"),
                os("--reps"),
                os("1"),
            ],
        ),
    ] {
        let mut all = vec![os("--model"), model.as_os_str(), os("--threads"), os("1")];
        all.extend(args);
        let out = run(dir, name, &all);
        let err = text(&out.stderr);
        assert_eq!(code(name, &out), 1, "{name}: {err}");
        assert!(err.contains("cannot allocate"), "{name}: {err}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A context beyond the model's trained one (256 positions here) is refused unless
/// `--allow-long-context` opts in: `--ctx` in `generate`, a long token list in `logits`.
#[test]
fn long_context_needs_the_opt_in_flag() {
    let Some(dir) = examples() else { return };
    let model = fixture();
    let gen = |extra: &[&std::ffi::OsStr]| {
        let mut args = vec![
            os("--model"),
            model.as_os_str(),
            os("--prompt"),
            os("hi"),
            os("-n"),
            os("2"),
            os("--temp"),
            os("0"),
            os("--threads"),
            os("1"),
        ];
        args.extend_from_slice(extra);
        run(dir, "generate", &args)
    };
    let out = gen(&[os("--ctx"), os("300")]);
    let err = text(&out.stderr);
    assert_eq!(code("generate", &out), 1, "--ctx 300 without opt-in: {err}");
    assert!(err.contains("--allow-long-context"), "{err}");
    let out = gen(&[os("--ctx"), os("300"), os("--allow-long-context")]);
    assert_eq!(code("generate", &out), 0, "{}", text(&out.stderr));
    let out = gen(&[os("--ctx"), os("256")]);
    assert_eq!(code("generate", &out), 0, "{}", text(&out.stderr));

    let tmp = scratch("long-context");
    let out_file = tmp.join("logits.bin");
    let tokens: Vec<String> = (0..300).map(|t| (1 + t % 500).to_string()).collect();
    let tokens = tokens.join(",");
    let logits = |extra: &[&std::ffi::OsStr]| {
        let mut args = vec![
            os("--model"),
            model.as_os_str(),
            os("--tokens"),
            os(&tokens),
            os("--batch"),
            os("64"),
            os("--out"),
            out_file.as_os_str(),
        ];
        args.extend_from_slice(extra);
        run(dir, "logits", &args)
    };
    let out = logits(&[]);
    let err = text(&out.stderr);
    assert_eq!(code("logits", &out), 1, "300 tokens without opt-in: {err}");
    assert!(err.contains("--allow-long-context"), "{err}");
    let out = logits(&[os("--allow-long-context")]);
    assert_eq!(code("logits", &out), 0, "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `generate --copy` (the model read into private memory) produces exactly the mapped run's
/// text.
#[test]
fn generate_copy_matches_the_mapped_run() {
    let Some(dir) = examples() else { return };
    let model = fixture();
    let gen = |extra: Option<&str>| {
        let mut args = vec![
            os("--model"),
            model.as_os_str(),
            os("--prompt"),
            os("hello world"),
            os("-n"),
            os("8"),
            os("--temp"),
            os("0"),
            os("--threads"),
            os("1"),
        ];
        args.extend(extra.map(os));
        let out = run(dir, "generate", &args);
        assert_eq!(code("generate", &out), 0, "{}", text(&out.stderr));
        out.stdout
    };
    let mapped = gen(None);
    assert!(!mapped.is_empty());
    assert_eq!(gen(Some("--copy")), mapped);
    assert_eq!(gen(Some("--no-mmap")), mapped);
}

/// `generate --save` then `--resume`: the resumed run continues (exit 0); a damaged file or one
/// saved from another model is an error (exit 1) naming the problem.
#[test]
fn generate_saves_and_resumes_a_session() {
    let Some(dir) = examples() else { return };
    let tmp = scratch("save-resume");
    let snap = tmp.join("chat.kv");
    let gen = |model: &Path, prompt: &str, extra: &[&std::ffi::OsStr]| {
        let mut args = vec![
            os("--model"),
            model.as_os_str(),
            os("--prompt"),
            os(prompt),
            os("-n"),
            os("6"),
            os("--temp"),
            os("0"),
            os("--threads"),
            os("1"),
        ];
        args.extend_from_slice(extra);
        run(dir, "generate", &args)
    };
    let first = gen(&fixture(), "hello world", &[os("--save"), snap.as_os_str()]);
    assert_eq!(code("generate", &first), 0, "{}", text(&first.stderr));
    assert!(
        text(&first.stderr).contains("saved "),
        "{}",
        text(&first.stderr)
    );
    let resumed = gen(&fixture(), " and more", &[os("--resume"), snap.as_os_str()]);
    assert_eq!(code("generate", &resumed), 0, "{}", text(&resumed.stderr));
    assert!(!resumed.stdout.is_empty());

    let mut bytes = std::fs::read(&snap).expect("snapshot");
    *bytes.last_mut().expect("non-empty") ^= 1;
    let damaged = tmp.join("damaged.kv");
    std::fs::write(&damaged, &bytes).expect("write");
    let out = gen(&fixture(), "x", &[os("--resume"), damaged.as_os_str()]);
    assert_eq!(code("generate", &out), 1);
    assert!(
        text(&out.stderr).contains("corrupted"),
        "{}",
        text(&out.stderr)
    );

    let other = manifest_dir().join("tests/data/gguf/phi3-tiny-q4_k_m.gguf");
    let out = gen(&other, "x", &[os("--resume"), snap.as_os_str()]);
    assert_eq!(code("generate", &out), 1);
    assert!(
        text(&out.stderr).contains("different model"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
