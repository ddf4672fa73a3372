//! Streaming reads for the examples' bandwidth probes (`kernel_bw`, `bench`): one thread sums a
//! buffer with the widest loads the CPU has, in one or several sequential streams.

/// The sum of `buf`'s first `STREAMS · per` words, `per = buf.len() / STREAMS` rounded down to
/// whole 128-byte steps, read with 256-bit loads (four per 128 bytes, two accumulators) over
/// `STREAMS` equal parts read in step (1: in order). Fewer, wider loads keep more cache-line
/// misses in flight than word-sized ones. Returns the sum and the number of words read.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub unsafe fn sum_avx2<const STREAMS: usize>(buf: &[u64]) -> (u64, usize) {
    use std::arch::x86_64::*;
    let per = buf.len() / STREAMS / 16 * 16; // words per stream, whole 128-byte steps
    let mut acc = [_mm256_setzero_si256(); 2];
    let base = buf.as_ptr();
    let mut i = 0;
    while i < per {
        for s in 0..STREAMS {
            // SAFETY: `s · per + i + 16 <= STREAMS · per <= buf.len()` words.
            unsafe {
                let p = base.add(s * per + i).cast::<__m256i>();
                acc[0] = _mm256_add_epi64(acc[0], _mm256_loadu_si256(p));
                acc[1] = _mm256_add_epi64(acc[1], _mm256_loadu_si256(p.add(1)));
                acc[0] = _mm256_add_epi64(acc[0], _mm256_loadu_si256(p.add(2)));
                acc[1] = _mm256_add_epi64(acc[1], _mm256_loadu_si256(p.add(3)));
            }
        }
        i += 16;
    }
    let mut out = [0u64; 4];
    // SAFETY: `out` holds 32 bytes.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), _mm256_add_epi64(acc[0], acc[1])) };
    (out.iter().fold(0, |a, &b| a.wrapping_add(b)), STREAMS * per)
}
