//! The floor: copying and checksumming the same bytes once, MSS by MSS.

use stack_runtime::wire::checksum::copy_and_checksum;

use crate::{BulkParams, MSS, PATTERN_PERIOD};

/// One [`copy_and_checksum`] pass over `params.bytes` of the pattern, in MSS-sized pieces
/// (what a stack must do at least once per byte). Returns the folded sum of all pieces so
/// the work cannot be optimised away.
#[inline(never)]
pub fn bulk_floor(params: &BulkParams, pattern: &[u8]) -> u32 {
    let mut dst = [0u8; MSS];
    let mut acc = 0u32;
    let mut done = 0usize;
    while done < params.bytes {
        let start = done % PATTERN_PERIOD;
        let n = (params.bytes - done).min(MSS);
        acc = acc.wrapping_add(u32::from(copy_and_checksum(
            &mut dst[..n],
            &pattern[start..start + n],
        )));
        done += n;
    }
    acc.wrapping_add(u32::from(core::hint::black_box(&dst)[0]))
}
