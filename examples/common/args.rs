//! The examples' command line, shared by every example: arguments are read with
//! [`std::env::args_os`] and one that is not valid UTF-8 is a usage error (exit status 2)
//! instead of a panic; `-h` / `--help` prints the usage on stdout with status 0; other usage
//! errors go to stderr with status 2. (Included with `#[path]`; not every example uses every
//! item.)
#![allow(dead_code)]

use std::ffi::OsString;
use std::process::ExitCode;

/// Why a command line is not run.
#[derive(Debug, PartialEq, Eq)]
pub enum CliError {
    /// `-h` / `--help`: the usage goes to stdout, exit status 0.
    Help,
    /// A usage error (the message, usually ending with the usage): stderr, exit status 2.
    Usage(String),
}

impl From<String> for CliError {
    fn from(msg: String) -> Self {
        CliError::Usage(msg)
    }
}

impl From<&str> for CliError {
    fn from(msg: &str) -> Self {
        CliError::Usage(msg.to_string())
    }
}

/// The arguments after the program name, as UTF-8 strings.
pub fn args() -> Result<Vec<String>, CliError> {
    utf8(std::env::args_os().skip(1))
}

/// `args` as UTF-8 strings; the first one that is not valid UTF-8 is a [`CliError::Usage`]
/// naming its position (1 = the first after the program name) and showing it escaped.
pub fn utf8(args: impl IntoIterator<Item = OsString>) -> Result<Vec<String>, CliError> {
    args.into_iter()
        .enumerate()
        .map(|(i, arg)| {
            arg.into_string().map_err(|bad| {
                CliError::Usage(format!(
                    "argument {} is not valid UTF-8: {bad:?} (paths and text must be UTF-8)",
                    i + 1
                ))
            })
        })
        .collect()
}

/// Reports `err` the way every example does: help on stdout with status 0, a usage error as
/// `name: message` on stderr with status 2.
pub fn exit(name: &str, usage: &str, err: CliError) -> ExitCode {
    match err {
        CliError::Help => {
            println!("{usage}");
            ExitCode::SUCCESS
        }
        CliError::Usage(msg) => {
            eprintln!("{name}: {msg}");
            ExitCode::from(2)
        }
    }
}

/// `--tier NAME`: a [`Tier`](phi3_kernels::cpu::Tier) by its name, or a usage error listing the
/// names.
pub fn tier(name: &str) -> Result<phi3_kernels::cpu::Tier, CliError> {
    use phi3_kernels::cpu::Tier;
    Tier::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Tier::ALL.iter().map(|t| t.name()).collect();
        CliError::Usage(format!(
            "--tier: unknown tier {name:?} (one of: {})",
            names.join(", ")
        ))
    })
}

/// The kernels of `tier` (the best tier this CPU runs when `None`), or an error naming a tier
/// this CPU or build cannot run.
pub fn kernels(tier: Option<phi3_kernels::cpu::Tier>) -> Result<phi3_kernels::Kernels, String> {
    use phi3_kernels::{CpuFeatures, Kernels};
    match tier {
        None => Ok(Kernels::detect()),
        Some(t) => Kernels::for_tier(t, &CpuFeatures::detect())
            .ok_or(format!("--tier {t}: not available on this CPU / build")),
    }
}

/// `--kv NAME`: a KV cache element type ([`KvType`](phi3_kernels::model::KvType)) by its name
/// (`f16`, `q8_0`, `q4_0`), or a usage error listing the names.
pub fn kv(name: &str) -> Result<phi3_kernels::model::KvType, CliError> {
    use phi3_kernels::model::KvType;
    KvType::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = KvType::ALL.iter().map(|t| t.name()).collect();
        CliError::Usage(format!(
            "--kv: unknown KV cache type {name:?} (one of: {})",
            names.join(", ")
        ))
    })
}
