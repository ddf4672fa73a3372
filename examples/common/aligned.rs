//! A zeroed heap buffer aligned to [`ALIGN`] bytes whose allocation failure is an error, not
//! an abort: the examples' session arenas and in-memory model copies. (Included with
//! `#[path]`; not every example uses every item.)
//!
//! `vec![0u8; n]` aborts the process ("memory allocation of … bytes failed") when `n` cannot
//! be had; [`AlignedBuf::zeroed`] asks the allocator directly (`alloc_zeroed`, so the pages
//! stay untouched until used, like `vec!`) and turns a refusal into `Err`. On Linux with
//! memory overcommit a request that fits the address space but not the machine may still be
//! granted and fail later when the pages are touched (the OOM killer); requests beyond what
//! the system can map (e.g. a `--ctx` of a billion positions) are refused up front.
#![allow(dead_code)]

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::io::Read;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Alignment of every [`AlignedBuf`] (a cache line: the library's `ARENA_ALIGN`, and enough
/// for every GGUF block view).
pub const ALIGN: usize = 64;

/// `len` zeroed bytes starting at a multiple of [`ALIGN`].
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
}

impl AlignedBuf {
    /// `len` zeroed bytes, or an error naming the size when the allocator refuses.
    pub fn zeroed(len: usize) -> Result<Self, String> {
        if len == 0 {
            return Ok(Self::default());
        }
        let refused = || {
            format!(
                "cannot allocate {len} bytes ({:.1} GiB): not enough memory",
                len as f64 / (1u64 << 30) as f64
            )
        };
        let layout = Layout::from_size_align(len, ALIGN).map_err(|_| refused())?;
        // SAFETY: `layout` has a non-zero size (`len > 0`).
        let ptr = unsafe { alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).ok_or_else(refused)?;
        Ok(AlignedBuf { ptr, len })
    }

    /// A private copy of the file at `path`: exactly its bytes (its length when opened), in
    /// aligned memory. Unlike a memory map it is unaffected by the file changing afterwards,
    /// at the cost of the file's size in memory and the time to read it.
    pub fn read_file(path: &str) -> Result<Self, String> {
        let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open {path}: {e}"))?;
        let len = file.metadata().map_err(|e| format!("{path}: {e}"))?.len();
        let len = usize::try_from(len).map_err(|_| format!("{path}: {len} bytes is too large"))?;
        let mut buf = Self::zeroed(len).map_err(|e| format!("{path}: {e}"))?;
        file.read_exact(&mut buf)
            .map_err(|e| format!("cannot read {path}: {e}"))?;
        Ok(buf)
    }
}

impl Default for AlignedBuf {
    /// Empty (no allocation).
    fn default() -> Self {
        AlignedBuf {
            ptr: NonNull::dangling(),
            len: 0,
        }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `len` initialised (zeroed) bytes that this value owns
        // (dangling and `len == 0` for the empty buffer, which is allowed).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: allocated in `zeroed` with exactly this size and alignment (which
            // `Layout::from_size_align` accepted there).
            unsafe {
                dealloc(
                    self.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(self.len, ALIGN),
                )
            };
        }
    }
}

// SAFETY: `AlignedBuf` owns its bytes exclusively (like `Vec<u8>`); shared access is
// read-only through `&[u8]`.
unsafe impl Send for AlignedBuf {}
// SAFETY: as above: `&AlignedBuf` only hands out `&[u8]`.
unsafe impl Sync for AlignedBuf {}
