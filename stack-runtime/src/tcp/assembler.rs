//! Out-of-order receive bookkeeping: which sequence ranges beyond RCV.NXT have arrived.
//!
//! The [`Assembler`] tracks the left edge of the receive window (RCV.NXT) and at most `N`
//! disjoint ranges of data received beyond it, `N` being the profile's "out-of-order segments".
//! It stores no payload: the bytes themselves live in [`super::segment_pool`] buffers; this is
//! only the map of what is there, from which the state machine learns how far RCV.NXT moves and
//! [`super::sack`] builds SACK blocks.
//!
//! * [`Assembler::insert`] adds the range of a received segment, merging it with every range it
//!   overlaps or touches. If it reaches the left edge, RCV.NXT advances over it and over every
//!   stored range that has become contiguous, and the number of bytes now in order is returned.
//! * Bounded: when all `N` slots are taken, a range that would need a new slot is dropped and
//!   counted ([`Assembler::dropped`]), unless it extends the left edge, which never needs a
//!   slot. The peer retransmits the dropped data; nothing already stored is lost.
//! * Ranges are kept as sequence numbers and compared relative to RCV.NXT, so everything works
//!   across the 2^32 wrap. A range must end within 2^31 − 1 bytes of RCV.NXT (a TCP window is
//!   at most 2^30); anything further is refused with [`AssemblerError::OutOfRange`].

use super::SeqRange;
use crate::wire::tcp::SeqNumber;

/// Farthest a stored byte may lie beyond RCV.NXT (exclusive end offset), 2^31 − 1.
pub const MAX_SPAN: usize = i32::MAX as usize;

/// Why [`Assembler::insert`] refused a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssemblerError {
    /// Every slot is taken and the range neither touches the left edge nor merges with a
    /// stored range: it was dropped (and counted).
    Full,
    /// The range ends more than [`MAX_SPAN`] beyond RCV.NXT, or is longer than that.
    OutOfRange,
}

/// RCV.NXT and up to `N` out-of-order ranges beyond it.
#[derive(Debug, Clone)]
pub struct Assembler<const N: usize> {
    next: SeqNumber,
    /// `ranges[..count]`, ascending, disjoint, not touching each other nor RCV.NXT.
    ranges: [SeqRange; N],
    count: usize,
    dropped: u32,
}

impl<const N: usize> Assembler<N> {
    /// An empty assembler whose left edge is `rcv_nxt`.
    pub const fn new(rcv_nxt: SeqNumber) -> Self {
        Assembler {
            next: rcv_nxt,
            ranges: [SeqRange {
                start: SeqNumber(0),
                end: SeqNumber(0),
            }; N],
            count: 0,
            dropped: 0,
        }
    }

    /// Forget every range and restart at `rcv_nxt` (for a new connection in the same slot).
    /// The drop counter is kept.
    pub fn reset(&mut self, rcv_nxt: SeqNumber) {
        self.next = rcv_nxt;
        self.count = 0;
    }

    /// The left edge: RCV.NXT, the first byte not yet received in order.
    pub fn next(&self) -> SeqNumber {
        self.next
    }

    /// Number of out-of-order ranges stored.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when nothing is stored beyond RCV.NXT.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Most ranges that can be stored (`N`).
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Ranges dropped because every slot was taken.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// The stored ranges, in ascending sequence order.
    pub fn ranges(&self) -> impl Iterator<Item = SeqRange> + Clone + '_ {
        self.ranges[..self.count].iter().copied()
    }

    /// The stored range containing `seq`, if any.
    pub fn range_containing(&self, seq: SeqNumber) -> Option<SeqRange> {
        self.ranges().find(|r| r.contains(seq))
    }

    /// Total bytes held out of order (the receive-window space they take).
    pub fn bytes_buffered(&self) -> usize {
        self.ranges().map(|r| r.len()).sum()
    }

    fn rel(&self, seq: SeqNumber) -> usize {
        seq.wrapping_distance(self.next) as usize
    }

    /// Record that the `len` bytes starting at `seq` have been received.
    ///
    /// Returns by how many bytes RCV.NXT advanced: 0 when the data was stored out of order or
    /// was entirely a duplicate, otherwise the number of bytes (from this segment and from
    /// stored ranges it joined) now in order, which the state machine delivers to the
    /// application.
    pub fn insert(&mut self, seq: SeqNumber, len: usize) -> Result<usize, AssemblerError> {
        if len == 0 {
            return Ok(0);
        }
        if len > MAX_SPAN {
            return Err(AssemblerError::OutOfRange);
        }
        let end = seq + len;
        // Offsets relative to RCV.NXT, `a` clamped to 0 for data that starts before it.
        let (a, b) = match seq.checked_sub(self.next) {
            Some(a) => match a.checked_add(len) {
                Some(b) if b <= MAX_SPAN => (a, b),
                _ => return Err(AssemblerError::OutOfRange),
            },
            None => match end.checked_sub(self.next) {
                // Ends at or before RCV.NXT: an old duplicate.
                Some(0) | None => return Ok(0),
                Some(b) => (0, b),
            },
        };
        // Ranges overlapping or touching [a, b): a contiguous run [first, last).
        let mut first = self.count;
        let mut last = 0;
        let (mut ua, mut ub) = (a, b);
        for i in 0..self.count {
            let (ra, rb) = (self.rel(self.ranges[i].start), self.rel(self.ranges[i].end));
            if ra <= b && a <= rb {
                first = first.min(i);
                last = i + 1;
                ua = ua.min(ra);
                ub = ub.max(rb);
            }
        }
        let merged = last.saturating_sub(first);
        if ua == 0 {
            // Extends the left edge: RCV.NXT moves to the end of the union, which absorbs the
            // merged ranges (all of them start at or after the old RCV.NXT).
            self.remove(first, merged);
            self.next += ub;
            return Ok(ub);
        }
        if merged == 0 {
            if self.count == N {
                self.dropped = self.dropped.saturating_add(1);
                return Err(AssemblerError::Full);
            }
            // Insert before the first range that starts after it.
            let pos = (0..self.count)
                .find(|&i| self.rel(self.ranges[i].start) > b)
                .unwrap_or(self.count);
            let mut i = self.count;
            while i > pos {
                self.ranges[i] = self.ranges[i - 1];
                i -= 1;
            }
            self.count += 1;
            first = pos;
        } else {
            self.remove(first + 1, merged - 1);
        }
        self.ranges[first] = SeqRange {
            start: self.next + ua,
            end: self.next + ub,
        };
        Ok(0)
    }

    /// Forget everything held out of order from `seq` up (the receive queue evicted it to
    /// make room for in-order data: reneging, RFC 2018 §8). A range containing `seq` is cut
    /// at `seq`. Returns the bytes forgotten.
    pub fn truncate_from(&mut self, seq: SeqNumber) -> usize {
        let cut = seq.checked_sub(self.next).unwrap_or(0);
        let mut forgotten = 0;
        let mut kept = 0;
        for i in 0..self.count {
            let r = self.ranges[i];
            let (ra, rb) = (self.rel(r.start), self.rel(r.end));
            if rb <= cut {
                self.ranges[kept] = r;
                kept += 1;
            } else if ra < cut {
                forgotten += rb - cut;
                self.ranges[kept] = SeqRange::new(r.start, self.next + cut);
                kept += 1;
            } else {
                forgotten += rb - ra;
            }
        }
        self.count = kept;
        forgotten
    }

    /// Remove `n` ranges starting at index `at`.
    fn remove(&mut self, at: usize, n: usize) {
        if n == 0 {
            return;
        }
        for i in at..self.count.saturating_sub(n) {
            self.ranges[i] = self.ranges[i + n];
        }
        self.count = self.count.saturating_sub(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn ranges<const N: usize>(a: &Assembler<N>) -> Vec<(u32, u32)> {
        a.ranges().map(|r| (r.start.0, r.end.0)).collect()
    }

    #[test]
    fn in_order_segment_advances() {
        let mut a = Assembler::<4>::new(SeqNumber(1000));
        assert_eq!(a.insert(SeqNumber(1000), 100), Ok(100));
        assert_eq!(a.next(), SeqNumber(1100));
        assert!(a.is_empty());
    }

    #[test]
    fn out_of_order_then_hole_filled_advances_over_both() {
        let mut a = Assembler::<4>::new(SeqNumber(0));
        assert_eq!(a.insert(SeqNumber(100), 100), Ok(0));
        assert_eq!(a.insert(SeqNumber(300), 100), Ok(0));
        assert_eq!(ranges(&a), [(100, 200), (300, 400)]);
        assert_eq!(a.bytes_buffered(), 200);
        assert_eq!(a.insert(SeqNumber(0), 100), Ok(200));
        assert_eq!(ranges(&a), [(300, 400)]);
        assert_eq!(a.insert(SeqNumber(200), 100), Ok(200));
        assert_eq!(a.next(), SeqNumber(400));
        assert!(a.is_empty());
    }

    #[test]
    fn adjacent_and_overlapping_ranges_merge() {
        let mut a = Assembler::<4>::new(SeqNumber(0));
        a.insert(SeqNumber(100), 50).unwrap();
        a.insert(SeqNumber(150), 50).unwrap(); // adjacent
        assert_eq!(ranges(&a), [(100, 200)]);
        a.insert(SeqNumber(300), 50).unwrap();
        a.insert(SeqNumber(180), 150).unwrap(); // bridges both
        assert_eq!(ranges(&a), [(100, 350)]);
        a.insert(SeqNumber(120), 10).unwrap(); // inside
        assert_eq!(ranges(&a), [(100, 350)]);
    }

    #[test]
    fn duplicates_and_partial_old_data() {
        let mut a = Assembler::<4>::new(SeqNumber(500));
        assert_eq!(a.insert(SeqNumber(400), 100), Ok(0)); // entirely old
        assert_eq!(a.insert(SeqNumber(400), 0), Ok(0));
        assert_eq!(a.insert(SeqNumber(450), 100), Ok(50)); // half old
        assert_eq!(a.next(), SeqNumber(550));
    }

    #[test]
    fn full_drops_new_range_and_counts_it() {
        let mut a = Assembler::<2>::new(SeqNumber(0));
        a.insert(SeqNumber(100), 10).unwrap();
        a.insert(SeqNumber(200), 10).unwrap();
        assert_eq!(a.insert(SeqNumber(300), 10), Err(AssemblerError::Full));
        assert_eq!(a.dropped(), 1);
        assert_eq!(ranges(&a), [(100, 110), (200, 210)]);
        // Merging needs no slot: accepted while full.
        assert_eq!(a.insert(SeqNumber(110), 10), Ok(0));
        assert_eq!(ranges(&a), [(100, 120), (200, 210)]);
        // Extending the left edge needs no slot either.
        assert_eq!(a.insert(SeqNumber(0), 10), Ok(10));
        assert_eq!(a.dropped(), 1);
    }

    #[test]
    fn works_across_the_sequence_wrap() {
        let start = SeqNumber(u32::MAX - 50);
        let mut a = Assembler::<4>::new(start);
        a.insert(start + 100, 100).unwrap();
        a.insert(start + 20, 40).unwrap(); // straddles 2^32
        assert_eq!(ranges(&a), [(u32::MAX - 30, 9), (49, 149)]);
        assert_eq!(a.insert(start, 20), Ok(60));
        assert_eq!(a.insert(start + 60, 40), Ok(140));
        assert_eq!(a.next(), SeqNumber(149));
    }

    #[test]
    fn out_of_range_refused() {
        let mut a = Assembler::<4>::new(SeqNumber(0));
        assert_eq!(
            a.insert(SeqNumber(0x7fff_fff0), 0x20),
            Err(AssemblerError::OutOfRange)
        );
        assert_eq!(
            a.insert(SeqNumber(0), usize::MAX),
            Err(AssemblerError::OutOfRange)
        );
        assert!(a.is_empty());
        assert_eq!(a.dropped(), 0);
    }

    #[test]
    fn rfc2018_8_truncate_from_forgets_reneged_data() {
        let mut a = Assembler::<4>::new(SeqNumber(u32::MAX - 10));
        a.insert(SeqNumber(u32::MAX - 5), 10).unwrap(); // [MAX-5, 4)
        a.insert(SeqNumber(20), 10).unwrap();
        a.insert(SeqNumber(40), 10).unwrap();
        assert_eq!(a.truncate_from(SeqNumber(25)), 15);
        assert_eq!(ranges(&a), [(u32::MAX - 5, 4), (20, 25)]);
        assert_eq!(a.truncate_from(SeqNumber(0)), 9);
        assert_eq!(ranges(&a), [(u32::MAX - 5, 0)]);
        assert_eq!(a.truncate_from(SeqNumber(u32::MAX - 20)), 6);
        assert!(a.is_empty());
    }

    #[test]
    fn range_containing_finds_the_range() {
        let mut a = Assembler::<4>::new(SeqNumber(0));
        a.insert(SeqNumber(10), 10).unwrap();
        assert_eq!(
            a.range_containing(SeqNumber(15)),
            Some(SeqRange {
                start: SeqNumber(10),
                end: SeqNumber(20)
            })
        );
        assert_eq!(a.range_containing(SeqNumber(20)), None);
    }

    /// The reference model: one flag per byte offset from the initial RCV.NXT.
    fn check_against_model<const N: usize>(
        base: u32,
        ops: &[(usize, usize)],
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::prop_assert_eq;
        let mut a = Assembler::<N>::new(SeqNumber(base));
        let mut model = [false; 512];
        let mut delivered = 0usize;
        for &(off, len) in ops {
            let before = ranges(&a);
            match a.insert(SeqNumber(base) + off, len) {
                Ok(adv) => {
                    for b in &mut model[off..off + len] {
                        *b = true;
                    }
                    delivered += adv;
                }
                Err(AssemblerError::Full) => {
                    prop_assert_eq!(ranges(&a), before);
                    prop_assert_eq!(a.len(), N);
                }
                Err(e) => {
                    return Err(proptest::test_runner::TestCaseError::fail(std::format!(
                        "{e:?}"
                    )));
                }
            }
            let prefix = model.iter().take_while(|&&b| b).count();
            prop_assert_eq!(delivered, prefix, "bytes delivered = contiguous prefix");
            prop_assert_eq!(a.next(), SeqNumber(base) + prefix);
            // Runs of the model beyond the prefix are exactly the stored ranges.
            let mut runs = Vec::new();
            let mut i = prefix;
            while i < model.len() {
                if model[i] {
                    let s = i;
                    while i < model.len() && model[i] {
                        i += 1;
                    }
                    runs.push(((SeqNumber(base) + s).0, (SeqNumber(base) + i).0));
                } else {
                    i += 1;
                }
            }
            prop_assert_eq!(ranges(&a), runs);
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn never_loses_or_double_counts_bytes(
            base in proptest::num::u32::ANY,
            ops in proptest::collection::vec((0usize..400, 0usize..60), 0..80),
        ) {
            check_against_model::<64>(base, &ops)?;
        }

        #[test]
        fn bounded_assembler_agrees_with_model_of_accepted_ranges(
            base in prop_base(),
            ops in proptest::collection::vec((0usize..400, 0usize..60), 0..80),
        ) {
            check_against_model::<3>(base, &ops)?;
        }

        #[test]
        fn insert_never_panics(
            next in proptest::num::u32::ANY,
            seq in proptest::num::u32::ANY,
            len in proptest::num::usize::ANY,
        ) {
            let mut a = Assembler::<2>::new(SeqNumber(next));
            let _ = a.insert(SeqNumber(seq), len);
            let _ = a.insert(SeqNumber(seq ^ next), len % 5000);
        }
    }

    fn prop_base() -> impl proptest::strategy::Strategy<Value = u32> {
        // Bias towards bases just below the wrap.
        proptest::prop_oneof![proptest::num::u32::ANY, (u32::MAX - 600)..=u32::MAX]
    }
}
