//! Encode scratch ([`Work`]) and the output id sink ([`Sink`]) shared by the tokenizer and its
//! two algorithms (a leaf: `engine.rs`, `spm.rs` and `bpe.rs` all use them).

/// Encode scratch carved from the caller's buffer.
pub(crate) struct Work<'s> {
    pub(super) text: &'s mut [u8],
    pub(super) syms: &'s mut [[u32; 5]],
    pub(super) heap: &'s mut [[u32; 4]],
}

/// Collects output ids; counts past the end so the caller learns the size it needs.
pub(crate) struct Sink<'o> {
    pub(super) out: &'o mut [u32],
    pub(super) n: usize,
}

impl Sink<'_> {
    #[inline]
    pub(super) fn push(&mut self, id: u32) {
        if let Some(slot) = self.out.get_mut(self.n) {
            *slot = id;
        }
        self.n += 1;
    }
}
