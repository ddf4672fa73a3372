//! Allocation-free pairwise checks: duplicate names and overlapping byte ranges.
//!
//! Both are "does any pair conflict" questions over items produced by a restartable walk of
//! the header (a `Clone` iterator). Without a heap the general answer is a block nested loop:
//! take the next [`BLOCK`] items into a small stack table, compare every later item against
//! the table in one walk, repeat. That is `n / BLOCK` walks and `n² / 2` comparisons.
//!
//! Names first go through a hash filter: one walk sets bits in two 2048-bit sets ("seen",
//! "seen twice"); only names whose bit was hit twice can be duplicates, so a file with no
//! duplicates usually needs one walk, and the block loop only runs over the few colliding
//! names (a hostile file can make every name collide: then the cost is the block loop's, bounded
//! by the count limits). Byte ranges need no filter in the common case: tensors stored in offset
//! order are checked in one walk by comparing each start with the previous end.

/// Items compared per walk of the block nested loop.
const BLOCK: usize = 32;
/// Words of each hash filter bit set (64 bits per word).
const FILTER_WORDS: usize = 32;

/// FNV-1a, 64-bit.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Word index and bit mask of hash `h` in a filter.
fn filter_bit(h: u64) -> (usize, u64) {
    let bit = (h % (FILTER_WORDS as u64 * 64)) as usize;
    (bit / 64, 1u64 << (bit % 64))
}

/// The first pair `(a, b)` of items with `conflict(a, b)`, `a` before `b` in the walk.
fn find_pair<T, I, F>(mut rest: I, conflict: F) -> Option<(T, T)>
where
    T: Copy,
    I: Iterator<Item = T> + Clone,
    F: Fn(&T, &T) -> bool,
{
    loop {
        let mut table: [Option<T>; BLOCK] = [None; BLOCK];
        let mut filled = 0;
        while filled < BLOCK {
            let Some(item) = rest.next() else { break };
            for earlier in table.iter().flatten() {
                if conflict(earlier, &item) {
                    return Some((*earlier, item));
                }
            }
            if let Some(slot) = table.get_mut(filled) {
                *slot = Some(item);
            }
            filled += 1;
        }
        if filled == 0 {
            return None;
        }
        for item in rest.clone() {
            for earlier in table.iter().flatten() {
                if conflict(earlier, &item) {
                    return Some((*earlier, item));
                }
            }
        }
        if filled < BLOCK {
            return None;
        }
    }
}

/// The indices of the first two items with equal names. `names` yields `(index, name)`.
pub(crate) fn find_duplicate_name<'a, I>(names: I) -> Option<(usize, usize)>
where
    I: Iterator<Item = (usize, &'a [u8])> + Clone,
{
    let mut seen = [0u64; FILTER_WORDS];
    let mut twice = [0u64; FILTER_WORDS];
    let mut any_twice = false;
    for (_, name) in names.clone() {
        let (word, mask) = filter_bit(fnv1a(name));
        if let (Some(s), Some(t)) = (seen.get_mut(word), twice.get_mut(word)) {
            if *s & mask != 0 {
                *t |= mask;
                any_twice = true;
            }
            *s |= mask;
        }
    }
    if !any_twice {
        return None;
    }
    let candidates = names
        .map(|(index, name)| (index, fnv1a(name), name))
        .filter(|&(_, hash, _)| {
            let (word, mask) = filter_bit(hash);
            twice.get(word).is_some_and(|w| w & mask != 0)
        });
    find_pair(candidates, |a, b| a.1 == b.1 && a.2 == b.2).map(|(a, b)| (a.0, b.0))
}

/// The indices of two overlapping ranges. `ranges` yields `(index, start, end)`, every range
/// non-empty.
pub(crate) fn find_overlap<I>(ranges: I) -> Option<(usize, usize)>
where
    I: Iterator<Item = (usize, usize, usize)> + Clone,
{
    let mut previous_end = 0;
    let mut in_order = true;
    for (_, start, end) in ranges.clone() {
        if start < previous_end {
            in_order = false;
            break;
        }
        previous_end = end;
    }
    if in_order {
        return None;
    }
    find_pair(ranges, |a, b| a.1 < b.2 && b.1 < a.2).map(|(a, b)| (a.0, b.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_found_across_blocks() {
        let names: [&[u8]; 5] = [b"a", b"b", b"c", b"d", b"b"];
        let it = names.iter().copied().enumerate();
        assert_eq!(find_duplicate_name(it), Some((1, 4)));
        let unique: [&[u8]; 3] = [b"a", b"b", b"c"];
        assert_eq!(
            find_duplicate_name(unique.iter().copied().enumerate()),
            None
        );
    }

    #[test]
    fn pairs_found_beyond_first_block() {
        // 100 distinct items, then a duplicate of item 70 (third block).
        let it = (0..101usize).map(|i| if i == 100 { (i, 70) } else { (i, i) });
        assert_eq!(
            find_pair(it, |a, b| a.1 == b.1).map(|(a, b)| (a.0, b.0)),
            Some((70, 100))
        );
        let none = (0..100usize).map(|i| (i, i));
        assert_eq!(find_pair(none, |a, b| a.1 == b.1), None);
    }

    #[test]
    fn overlaps() {
        let sorted = [(0, 0, 10), (1, 10, 20), (2, 32, 40)];
        assert_eq!(find_overlap(sorted.iter().copied()), None);
        let unsorted = [(0, 32, 40), (1, 0, 10), (2, 10, 20)];
        assert_eq!(find_overlap(unsorted.iter().copied()), None);
        let bad = [(0, 32, 40), (1, 0, 10), (2, 8, 20)];
        assert_eq!(find_overlap(bad.iter().copied()), Some((1, 2)));
    }
}
