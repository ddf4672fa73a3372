//! A fixed-capacity binary max-heap of `[u32; 4]` records in caller scratch.
//!
//! The order is a plain function `better(a, b)` ("a pops before b"); the SentencePiece and BPE
//! merge queues use it with a total tie-break on the left symbol index, so the pop order is
//! deterministic. A push beyond the capacity is an error (the callers size the heap so that it
//! cannot happen: at most 3 pushes per symbol).

use super::TokenizerError;

pub(super) struct Heap<'s> {
    data: &'s mut [[u32; 4]],
    len: usize,
    better: fn(&[u32; 4], &[u32; 4]) -> bool,
}

impl<'s> Heap<'s> {
    pub fn new(data: &'s mut [[u32; 4]], better: fn(&[u32; 4], &[u32; 4]) -> bool) -> Self {
        Heap {
            data,
            len: 0,
            better,
        }
    }

    fn at(&self, i: usize) -> [u32; 4] {
        self.data.get(i).copied().unwrap_or([0; 4])
    }

    pub fn push(&mut self, item: [u32; 4]) -> Result<(), TokenizerError> {
        let slot = self
            .data
            .get_mut(self.len)
            .ok_or(TokenizerError::TextTooLong { len: 0, max: 0 })?;
        *slot = item;
        let mut i = self.len;
        self.len += 1;
        while i > 0 {
            let parent = (i - 1) / 2;
            if (self.better)(&self.at(i), &self.at(parent)) {
                self.data.swap(i, parent);
                i = parent;
            } else {
                break;
            }
        }
        Ok(())
    }

    pub fn pop(&mut self) -> Option<[u32; 4]> {
        if self.len == 0 {
            return None;
        }
        let top = self.at(0);
        self.len -= 1;
        self.data.swap(0, self.len);
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut best = i;
            if l < self.len && (self.better)(&self.at(l), &self.at(best)) {
                best = l;
            }
            if r < self.len && (self.better)(&self.at(r), &self.at(best)) {
                best = r;
            }
            if best == i {
                break;
            }
            self.data.swap(i, best);
            i = best;
        }
        Some(top)
    }
}
