//! Aligned memory without an allocator: [`Aligned`] for model bytes and arenas in `static`s
//! or on the stack, [`StaticArena`] for a `static` session arena that is borrowed mutably once,
//! and [`align_arena`] for a heap or caller buffer of unknown alignment.
//!
//! A session arena must start at a multiple of [`ARENA_ALIGN`] (64 bytes), and GGUF tensor
//! views need their block alignment, which a plain `include_bytes!` array (1-aligned) does not
//! give:
//!
//! ```
//! use phi3_kernels::{Aligned, StaticArena};
//!
//! // The model in read-only data (flash), 64-byte aligned.
//! static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/tests/data/gguf/phi3-tiny-gqa-q4_0.gguf"
//! )));
//! // A 64 KiB arena in .bss, handed out once.
//! static ARENA: StaticArena<{ 64 * 1024 }> = StaticArena::new();
//!
//! let arena: &'static mut [u8] = ARENA.take().expect("first take");
//! assert_eq!(arena.as_ptr() as usize % 64, 0);
//! assert!(ARENA.take().is_none()); // never a second `&mut`
//! assert_eq!(MODEL.0.as_ptr() as usize % 64, 0);
//! ```

use crate::model::ARENA_ALIGN;

/// `T` at an address that is a multiple of 64 ([`ARENA_ALIGN`]): `static M: &Aligned<[u8]> =
/// &Aligned(*include_bytes!("m.gguf"));` keeps a model aligned in read-only data, and
/// `Aligned([0u8; N])` is an arena on the stack or in a `static` (borrow it mutably through
/// [`StaticArena`] or your own synchronisation). Derefs to `T`.
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Aligned<T: ?Sized>(pub T);

const _: () = assert!(core::mem::align_of::<Aligned<u8>>() == ARENA_ALIGN);

impl<T: ?Sized> core::ops::Deref for Aligned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> core::ops::DerefMut for Aligned<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// The largest part of `buf` that starts at a multiple of [`ARENA_ALIGN`] (empty when `buf`
/// is shorter than the padding). A buffer of `bytes_needed + ARENA_ALIGN` bytes of any
/// alignment (e.g. `vec![0u8; n]`) always leaves at least `bytes_needed`.
///
/// ```
/// use phi3_kernels::{align_arena, model::ARENA_ALIGN};
/// let mut buf = vec![0u8; 1000 + ARENA_ALIGN];
/// let arena = align_arena(&mut buf);
/// assert!(arena.len() >= 1000 && arena.as_ptr() as usize % ARENA_ALIGN == 0);
/// ```
pub fn align_arena(buf: &mut [u8]) -> &mut [u8] {
    let pad = buf.as_ptr().align_offset(ARENA_ALIGN).min(buf.len());
    buf.get_mut(pad..).unwrap_or_default()
}

#[cfg(target_has_atomic = "8")]
pub use static_arena::StaticArena;

#[cfg(target_has_atomic = "8")]
mod static_arena {
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicBool, Ordering};

    /// `N` bytes in a `static` (zeroed, so in `.bss`), 64-byte aligned, that
    /// [`StaticArena::take`] hands out as `&'static mut [u8]` exactly once: a sound
    /// replacement for `static mut ARENA: [u8; N]`. Needs atomic compare-and-swap (every
    /// target with `target_has_atomic = "8"`, e.g. Cortex-M3 and up, all A-profile cores).
    #[repr(C, align(64))]
    pub struct StaticArena<const N: usize> {
        bytes: UnsafeCell<[u8; N]>,
        taken: AtomicBool,
    }

    // SAFETY: the only access to `bytes` is through `take`, which hands out at most one
    // `&mut` for the whole life of the value (guarded by the atomic flag), so sharing the
    // `StaticArena` between threads cannot create aliasing references.
    unsafe impl<const N: usize> Sync for StaticArena<N> {}

    impl<const N: usize> StaticArena<N> {
        /// A zeroed arena (usable in a `static` initialiser).
        pub const fn new() -> Self {
            StaticArena {
                bytes: UnsafeCell::new([0; N]),
                taken: AtomicBool::new(false),
            }
        }

        /// The arena's size in bytes.
        pub const fn len(&self) -> usize {
            N
        }

        /// Whether the arena has no bytes.
        pub const fn is_empty(&self) -> bool {
            N == 0
        }

        /// The bytes, the first time; `None` on every later call.
        #[allow(clippy::mut_from_ref)] // sound: the flag hands the `&mut` out only once
        pub fn take(&'static self) -> Option<&'static mut [u8]> {
            if self.taken.swap(true, Ordering::AcqRel) {
                return None;
            }
            // SAFETY: `taken` was false, so no other reference to `bytes` exists or will ever
            // be created (every later `take` returns `None`); `self` is `'static`.
            Some(unsafe { &mut *self.bytes.get() })
        }
    }

    impl<const N: usize> Default for StaticArena<N> {
        fn default() -> Self {
            Self::new()
        }
    }
}
