//! How every example opens a model file: memory-mapped (the default: no copy, pages read on
//! demand) or read into private aligned memory (`copy`: unaffected by later changes to the
//! file), with clear errors for a missing file or one that is not GGUF. (Included with
//! `#[path]` next to `aligned.rs`; not every example uses every item.)
#![allow(dead_code)]

use memmap2::Mmap;

use super::aligned::AlignedBuf;

/// The model's bytes: memory-mapped, or a private copy in memory.
pub enum ModelBytes {
    /// A read-only map of the file.
    Mapped(Mmap),
    /// The file read into aligned memory.
    Copied(AlignedBuf),
}

impl std::ops::Deref for ModelBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ModelBytes::Mapped(m) => m,
            ModelBytes::Copied(b) => b,
        }
    }
}

fn check_magic(path: &str, bytes: &[u8]) -> Result<(), String> {
    if bytes.get(..4) != Some(b"GGUF".as_slice()) {
        return Err(format!(
            "{path} is not a GGUF file (it does not start with the bytes `GGUF`)"
        ));
    }
    Ok(())
}

/// Memory-maps a model file.
pub fn map_model(path: &str) -> Result<Mmap, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open model {path}: {e}"))?;
    // SAFETY: the mapping is read-only and private to this process; like every reader of a
    // memory-mapped model (llama.cpp included) we rely on the file not being truncated or
    // rewritten while it runs.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| format!("cannot map {path}: {e}"))?;
    check_magic(path, &map)?;
    Ok(map)
}

/// Opens the model file: mapped, or with `copy` read into private aligned memory.
pub fn open_model(path: &str, copy: bool) -> Result<ModelBytes, String> {
    if !copy {
        return map_model(path).map(ModelBytes::Mapped);
    }
    let buf = AlignedBuf::read_file(path).map_err(|e| format!("cannot read model: {e}"))?;
    check_magic(path, &buf)?;
    Ok(ModelBytes::Copied(buf))
}
