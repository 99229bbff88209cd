//! Selective acknowledgements, both directions: RFC 2018 SACK blocks for the receiver, and
//! the RFC 6675 scoreboard and loss recovery for the sender (with RFC 2883 D-SACK recognised).
//!
//! # Receiver: which blocks to send ([`SackReporter`])
//!
//! From the out-of-order ranges of the [`super::assembler::Assembler`], every ACK sent while
//! data is held out of order carries up to 4 blocks (3 when the Timestamps option takes its 12
//! bytes, [`max_sack_blocks`]), chosen per RFC 2018 §4: first the block containing the segment
//! that triggered this ACK, then the blocks reported most recently (so that each block is
//! repeated in several ACKs and survives ACK loss), then any other range. A D-SACK block
//! (RFC 2883), when the segment was a duplicate, goes first of all.
//!
//! # Sender: the scoreboard ([`Scoreboard`])
//!
//! A fixed number `N` of disjoint SACKed ranges between SND.UNA and SND.MAX, updated from each
//! ACK's blocks ([`Scoreboard::update`]):
//!
//! * blocks with `left >= right`, blocks entirely below SND.UNA and blocks reaching above
//!   SND.MAX are ignored and counted (stale, corrupt or forged: acting on them could only
//!   mislead the sender); a block straddling SND.UNA is trimmed to it;
//! * a D-SACK (RFC 2883 §4: the first block lies below the cumulative ACK, or inside the second
//!   block) reports a duplicate, not new data: it is returned for the caller's statistics (and
//!   possible undo of a spurious retransmission) but never enters the scoreboard;
//! * when all `N` slots are taken and a block merges with none, the *lowest* range is evicted
//!   if the new block lies above it, otherwise the new block is dropped. Keeping the highest
//!   ranges keeps `IsLost` right for every hole (it counts what is SACKed *above* a hole);
//!   forgetting a low range can only make its bytes look un-SACKed, which costs at most a
//!   needless retransmission of them, never a stall. [`Scoreboard::evicted`] counts it.
//!
//! On it: `IsLost` ([`Scoreboard::is_lost`], DupThresh = 3 discontiguous SACKed ranges or more
//! than 2·SMSS SACKed bytes above the sequence number), `SetPipe` ([`Scoreboard::pipe`]) and
//! `NextSeg()` ([`Scoreboard::next_seg`], rules 1–4 of RFC 6675 §4), so only missing segments
//! are retransmitted.
//!
//! # Loss recovery: how the state machine combines this with `congestion`
//!
//! With SACK negotiated, [`super::congestion::Congestion`] is built with `sack = true` and the
//! state machine keeps a [`Scoreboard`] and a [`RecoveryMarks`]. For every ACK (RFC 6675 §5):
//!
//! 1. `scoreboard.update(snd_una_new, snd_max, blocks)` (RFC 6675 `Update()`).
//! 2. If the ACK advanced SND.UNA: `congestion.on_ack(..)`; on `RecoveryExited` call
//!    `marks.reset(snd_una)` (step (A)). Otherwise, for a duplicate ACK (with SACK, RFC 6675
//!    §2 counts an ACK that does not advance SND.UNA as a duplicate when it brings new SACK
//!    information, i.e. [`SackUpdate::newly_sacked`] > 0):
//!    `congestion.on_dup_ack(..)`; if it returns `FastRetransmit` (DupAcks = 3, step (2.a)) or,
//!    before that, [`enters_loss_recovery`] says `IsLost(HighACK + 1)` and
//!    `congestion.enter_recovery(..)` agrees (step (2.b)), retransmit the first segment at
//!    SND.UNA and call `marks.on_enter_recovery(that segment)` (step (4.3)).
//! 3. While `congestion.in_recovery()`: `pipe = scoreboard.pipe(..)` (step (B.2)), then while
//!    `congestion.can_send(pipe) >= smss` (step (C)): `scoreboard.next_seg(..)`, send what it
//!    names (a retransmission straight from the send queue, or new data), tell
//!    `marks.on_sent(..)`, and add the bytes sent to `pipe` (step (C.4)).
//!
//! After a retransmission timeout, recovery ends (`congestion.on_timeout`, `marks.reset`); the
//! scoreboard is kept so the go-back retransmission can skip SACKed data with
//! [`Scoreboard::next_unsacked`] (RFC 6675 §5.1); a state machine that worries about reneging
//! (RFC 2018 §8) may [`Scoreboard::clear`] it instead.

use super::{SeqRange, seq_ge};
use crate::wire::tcp::{MAX_SACK_BLOCKS, SackRanges, SeqNumber};

/// RFC 6675's DupThresh: duplicate ACKs, or SACKed ranges above a hole, that mean loss.
pub const DUP_THRESH: usize = 3;

/// Most SACK blocks an ACK can carry: 4, or 3 when the Timestamps option is in every segment
/// (RFC 2018 §3: 40 option bytes).
pub const fn max_sack_blocks(timestamps: bool) -> usize {
    if timestamps {
        MAX_SACK_BLOCKS - 1
    } else {
        MAX_SACK_BLOCKS
    }
}

/// What a connection slot keeps of SACK: the real [`SackReporter`], [`Scoreboard`] and
/// [`RecoveryMarks`] with feature `tcp-sack`, zero-sized stand-ins with the same methods
/// without it, so that a profile without SACK pays no slot bytes for it (the state machine
/// never calls them then: its SACK test is the constant `false`).
#[cfg(feature = "tcp-sack")]
#[cfg_attr(not(feature = "tcp"), allow(unused_imports))]
pub(crate) mod slot {
    pub(crate) use super::{RecoveryMarks, SackReporter, Scoreboard};
}

/// Zero-sized stand-ins for the SACK state of a connection slot (feature `tcp-sack` off):
/// they answer as an empty scoreboard, a reporter with nothing to report and marks at
/// SND.UNA would.
#[cfg(not(feature = "tcp-sack"))]
#[cfg_attr(not(feature = "tcp"), allow(dead_code))]
pub(crate) mod slot {
    use super::{NextSeg, SackUpdate, SeqRange};
    use crate::wire::tcp::{SackRanges, SeqNumber};

    /// Stand-in for [`super::SackReporter`]: reports nothing.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct SackReporter;

    impl SackReporter {
        pub(crate) const fn new() -> SackReporter {
            SackReporter
        }

        pub(crate) fn clear(&mut self) {}

        pub(crate) fn blocks<I>(
            &mut self,
            _ranges: I,
            _latest: Option<SeqNumber>,
            _dsack: Option<SeqRange>,
            _max_blocks: usize,
        ) -> SackRanges {
            SackRanges::new()
        }
    }

    /// Stand-in for [`super::RecoveryMarks`]: nothing retransmitted beyond SND.UNA.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct RecoveryMarks;

    impl RecoveryMarks {
        pub(crate) const fn new(_snd_una: SeqNumber) -> RecoveryMarks {
            RecoveryMarks
        }

        pub(crate) fn reset(&mut self, _snd_una: SeqNumber) {}

        pub(crate) fn on_enter_recovery(&mut self, _first: SeqRange) {}

        pub(crate) fn on_sent(&mut self, _seg: NextSeg, _recovery_point: SeqNumber) {}
    }

    /// Stand-in for [`super::Scoreboard`]: always empty.
    #[derive(Debug, Clone)]
    pub(crate) struct Scoreboard<const N: usize>;

    impl<const N: usize> Scoreboard<N> {
        pub(crate) const fn new() -> Self {
            Scoreboard
        }

        pub(crate) fn is_empty(&self) -> bool {
            true
        }

        pub(crate) fn update(
            &mut self,
            _snd_una: SeqNumber,
            _snd_max: SeqNumber,
            _blocks: &[(SeqNumber, SeqNumber)],
        ) -> SackUpdate {
            SackUpdate::default()
        }

        pub(crate) fn is_lost(&self, _seq: SeqNumber, _smss: usize) -> bool {
            false
        }

        pub(crate) fn pipe(
            &self,
            snd_una: SeqNumber,
            snd_max: SeqNumber,
            _marks: &RecoveryMarks,
            _smss: usize,
        ) -> usize {
            snd_max.checked_sub(snd_una).unwrap_or(0)
        }

        pub(crate) fn next_seg(
            &self,
            _snd_una: SeqNumber,
            _snd_max: SeqNumber,
            _marks: &RecoveryMarks,
            _smss: usize,
            new_data_available: bool,
        ) -> NextSeg {
            if new_data_available {
                NextSeg::NewData
            } else {
                NextSeg::Nothing
            }
        }

        pub(crate) fn next_unsacked(
            &self,
            from: SeqNumber,
            snd_max: SeqNumber,
            smss: usize,
        ) -> Option<SeqRange> {
            let len = snd_max.checked_sub(from).filter(|&n| n > 0)?;
            Some(SeqRange::new(from, from + len.min(smss.max(1))))
        }
    }
}

// ------------------------------------------------------------------------------ receiver

/// Chooses the SACK blocks of outgoing ACKs (RFC 2018 §4), remembering which blocks it
/// reported last.
#[derive(Debug, Clone, Default)]
pub struct SackReporter {
    recent: [Option<SeqRange>; MAX_SACK_BLOCKS],
}

impl SackReporter {
    /// A reporter that has reported nothing yet.
    pub const fn new() -> SackReporter {
        SackReporter {
            recent: [None; MAX_SACK_BLOCKS],
        }
    }

    /// Forget the reported blocks (for a new connection).
    pub fn clear(&mut self) {
        self.recent = [None; MAX_SACK_BLOCKS];
    }

    /// The SACK blocks for the next ACK.
    ///
    /// * `ranges`: the out-of-order ranges held (from `Assembler::ranges`);
    /// * `latest`: the first sequence number of the segment that triggered this ACK, when it
    ///   was stored out of order (its range goes first, RFC 2018 §4);
    /// * `dsack`: the duplicate range received, to report as a D-SACK first (RFC 2883 §4), in
    ///   which case the out-of-order range containing it, if any, comes second;
    /// * `max_blocks`: [`max_sack_blocks`] for this connection.
    pub fn blocks<I>(
        &mut self,
        ranges: I,
        latest: Option<SeqNumber>,
        dsack: Option<SeqRange>,
        max_blocks: usize,
    ) -> SackRanges
    where
        I: IntoIterator<Item = SeqRange>,
        I::IntoIter: Clone,
    {
        let ranges = ranges.into_iter();
        let max = max_blocks.min(MAX_SACK_BLOCKS);
        let mut out = SackRanges::new();
        let mut chosen: [Option<SeqRange>; MAX_SACK_BLOCKS] = [None; MAX_SACK_BLOCKS];
        let mut n_chosen = 0;
        if let Some(d) = dsack.filter(|_| max > 0) {
            out.push(d.to_block());
        }
        let containing = |seq: SeqNumber| ranges.clone().find(|r| r.contains(seq));
        let mut candidates = [None; MAX_SACK_BLOCKS + 2];
        candidates[0] = dsack.and_then(|d| containing(d.start));
        candidates[1] = latest.and_then(containing);
        for (i, r) in self.recent.iter().enumerate() {
            candidates[i + 2] = r.and_then(|r| containing(r.start));
        }
        for r in candidates.into_iter().flatten().chain(ranges.clone()) {
            if out.len() >= max {
                break;
            }
            if chosen[..n_chosen].contains(&Some(r)) {
                continue;
            }
            out.push(r.to_block());
            chosen[n_chosen] = Some(r);
            n_chosen += 1;
        }
        self.recent = chosen;
        out
    }
}

// ------------------------------------------------------------------------------- sender

/// What [`Scoreboard::update`] learnt from one ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SackUpdate {
    /// Bytes SACKed by this ACK that were not SACKed before.
    pub newly_sacked: usize,
    /// The D-SACK block of this ACK, if it had one (RFC 2883): data the peer received twice.
    pub dsack: Option<SeqRange>,
    /// Blocks ignored as invalid (empty or reversed, below SND.UNA, above SND.MAX).
    pub ignored: usize,
}

/// What to send next during SACK loss recovery: the answer of RFC 6675 `NextSeg()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextSeg {
    /// Rule (1): retransmit this range, a hole considered lost (`IsLost`).
    RetransmitLost(SeqRange),
    /// Rule (2): send one segment of new data (if the receiver's window allows).
    NewData,
    /// Rule (3): retransmit this range, a hole below the highest SACKed byte not yet
    /// considered lost, because there is nothing better to send.
    RetransmitUnsacked(SeqRange),
    /// Rule (4): the one "rescue" retransmission per recovery, of the highest unSACKed data.
    Rescue(SeqRange),
    /// Nothing may be sent.
    Nothing,
}

/// RFC 6675's HighRxt and RescueRxt for one loss-recovery phase, as one-past-the-end
/// sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryMarks {
    /// One past the highest byte retransmitted by rules (1) and (3) (RFC 6675 HighRxt + 1).
    pub high_rxt: SeqNumber,
    /// One past the rescue point (RFC 6675 RescueRxt + 1), `None` while undefined.
    pub rescue_rxt: Option<SeqNumber>,
}

impl RecoveryMarks {
    /// Marks outside recovery: nothing retransmitted beyond `snd_una`.
    pub const fn new(snd_una: SeqNumber) -> RecoveryMarks {
        RecoveryMarks {
            high_rxt: snd_una,
            rescue_rxt: None,
        }
    }

    /// Recovery ended (full ACK or timeout): start over from `snd_una`.
    pub fn reset(&mut self, snd_una: SeqNumber) {
        *self = RecoveryMarks::new(snd_una);
    }

    /// Recovery began and `first` (the segment at SND.UNA) was retransmitted: HighRxt and
    /// RescueRxt both point at its end (RFC 6675 §5 step (4.3)).
    pub fn on_enter_recovery(&mut self, first: SeqRange) {
        self.high_rxt = first.end;
        self.rescue_rxt = Some(first.end);
    }

    /// The segment `next_seg` chose was sent; `recovery_point` is SND.MAX at the start of
    /// recovery (RFC 6675 step (C.2) and rule (4)).
    pub fn on_sent(&mut self, seg: NextSeg, recovery_point: SeqNumber) {
        match seg {
            NextSeg::RetransmitLost(r) | NextSeg::RetransmitUnsacked(r) => {
                self.high_rxt = self.high_rxt.max(r.end);
            }
            NextSeg::Rescue(_) => self.rescue_rxt = Some(recovery_point),
            NextSeg::NewData | NextSeg::Nothing => {}
        }
    }
}

/// RFC 6675 §5 steps (2.a)/(2.b): loss recovery starts on the DupThresh-th duplicate ACK, or
/// earlier when the scoreboard already says the first unacknowledged byte is lost.
pub fn enters_loss_recovery<const N: usize>(
    dup_acks: u32,
    scoreboard: &Scoreboard<N>,
    snd_una: SeqNumber,
    smss: usize,
) -> bool {
    dup_acks as usize >= DUP_THRESH || scoreboard.is_lost(snd_una, smss)
}

/// The SACKed ranges of the send sequence space (RFC 6675's scoreboard), at most `N`.
#[derive(Debug, Clone)]
pub struct Scoreboard<const N: usize> {
    /// `ranges[..count]`: ascending, disjoint, not touching.
    ranges: [SeqRange; N],
    count: usize,
    evicted: u32,
    ignored: u32,
    dsacks: u32,
}

impl<const N: usize> Default for Scoreboard<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Scoreboard<N> {
    /// An empty scoreboard.
    pub const fn new() -> Self {
        Scoreboard {
            ranges: [SeqRange::new(SeqNumber(0), SeqNumber(0)); N],
            count: 0,
            evicted: 0,
            ignored: 0,
            dsacks: 0,
        }
    }

    /// Forget every SACKed range (RFC 2018 §8: after a timeout a sender may assume reneging).
    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// The SACKed ranges, ascending.
    pub fn ranges(&self) -> impl Iterator<Item = SeqRange> + Clone + '_ {
        self.ranges[..self.count].iter().copied()
    }

    /// True when nothing is SACKed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Ranges (or new blocks) forgotten because the scoreboard was full.
    pub fn evicted(&self) -> u32 {
        self.evicted
    }

    /// Invalid blocks ignored so far.
    pub fn ignored(&self) -> u32 {
        self.ignored
    }

    /// D-SACK blocks received so far.
    pub fn dsacks(&self) -> u32 {
        self.dsacks
    }

    /// Total SACKed bytes.
    pub fn sacked_bytes(&self) -> usize {
        self.ranges().map(|r| r.len()).sum()
    }

    /// One past the highest SACKed byte, `None` when nothing is SACKed.
    pub fn highest_sacked(&self) -> Option<SeqNumber> {
        self.count.checked_sub(1).map(|i| self.ranges[i].end)
    }

    /// True when `seq` has been SACKed.
    pub fn is_sacked(&self, seq: SeqNumber) -> bool {
        self.ranges().any(|r| r.contains(seq))
    }

    /// Record an ACK: drop what SND.UNA now covers and add the ACK's SACK blocks (RFC 6675
    /// `Update()`), `blocks` as the wire gives them (`(left, right)`, most recent first).
    pub fn update(
        &mut self,
        snd_una: SeqNumber,
        snd_max: SeqNumber,
        blocks: &[(SeqNumber, SeqNumber)],
    ) -> SackUpdate {
        self.prune(snd_una);
        let mut result = SackUpdate::default();
        for (i, &(left, right)) in blocks.iter().enumerate() {
            let block = SeqRange::new(left, right);
            if seq_ge(left, right) {
                result.ignored += 1;
                continue;
            }
            // RFC 2883 §4: the first block is a D-SACK when it lies at or below the cumulative
            // ACK, or inside the second block.
            if i == 0 {
                let below_ack = seq_ge(snd_una, right);
                let inside_second = blocks
                    .get(1)
                    .is_some_and(|&(l2, r2)| l2 < r2 && seq_ge(left, l2) && seq_ge(r2, right));
                if below_ack || inside_second {
                    result.dsack = Some(block);
                    self.dsacks = self.dsacks.saturating_add(1);
                    continue;
                }
            }
            if seq_ge(snd_una, right) || snd_max < right {
                result.ignored += 1;
                continue;
            }
            let start = left.max(snd_una);
            result.newly_sacked += self.insert(snd_una, SeqRange::new(start, right));
        }
        self.ignored = self.ignored.saturating_add(result.ignored as u32);
        result
    }

    fn prune(&mut self, snd_una: SeqNumber) {
        let mut kept = 0;
        for i in 0..self.count {
            let mut r = self.ranges[i];
            if seq_ge(snd_una, r.end) {
                continue;
            }
            r.start = r.start.max(snd_una);
            self.ranges[kept] = r;
            kept += 1;
        }
        self.count = kept;
    }

    /// Insert `new` (within `[base, base + 2^31)`), returning the bytes it newly covers.
    fn insert(&mut self, base: SeqNumber, new: SeqRange) -> usize {
        let rel = |s: SeqNumber| s - base;
        let (a, b) = (rel(new.start), rel(new.end));
        let (mut ua, mut ub) = (a, b);
        let (mut first, mut last) = (self.count, 0);
        let mut covered = 0;
        for i in 0..self.count {
            let (ra, rb) = (rel(self.ranges[i].start), rel(self.ranges[i].end));
            if ra <= b && a <= rb {
                first = first.min(i);
                last = i + 1;
                ua = ua.min(ra);
                ub = ub.max(rb);
                covered += rb - ra;
            }
        }
        let merged = last.saturating_sub(first);
        if merged == 0 {
            if self.count == N {
                self.evicted = self.evicted.saturating_add(1);
                if N == 0 || rel(self.ranges[0].start) > a {
                    return 0;
                }
                self.ranges.copy_within(1..N, 0);
                self.count -= 1;
            }
            let pos = (0..self.count)
                .find(|&i| rel(self.ranges[i].start) > b)
                .unwrap_or(self.count);
            self.ranges.copy_within(pos..self.count, pos + 1);
            self.count += 1;
            first = pos;
        } else {
            self.ranges.copy_within(last..self.count, first + 1);
            self.count -= merged - 1;
        }
        self.ranges[first] = SeqRange::new(base + ua, base + ub);
        (ub - ua) - covered
    }

    /// SACKed ranges and bytes strictly above `seq`.
    fn sacked_above(&self, seq: SeqNumber) -> (usize, usize) {
        let mut ranges = 0;
        let mut bytes = 0;
        for r in self.ranges() {
            // Bytes of `r` with sequence numbers greater than `seq`.
            let above = r.end - r.start.max(seq + 1);
            if above > 0 {
                ranges += 1;
                bytes += above;
            }
        }
        (ranges, bytes)
    }

    /// RFC 6675 `IsLost(seq)`: true when DupThresh (3) discontiguous SACKed ranges lie above
    /// `seq`, or more than (DupThresh − 1)·SMSS SACKed bytes do.
    pub fn is_lost(&self, seq: SeqNumber, smss: usize) -> bool {
        let (ranges, bytes) = self.sacked_above(seq);
        ranges >= DUP_THRESH || bytes > (DUP_THRESH - 1).saturating_mul(smss)
    }

    /// The unSACKed holes of `[snd_una, snd_max)`, ascending.
    pub fn holes(&self, snd_una: SeqNumber, snd_max: SeqNumber) -> Holes<'_> {
        Holes {
            ranges: &self.ranges[..self.count],
            cursor: snd_una,
            end: snd_max.max(snd_una),
        }
    }

    /// RFC 6675 `SetPipe()`: the bytes estimated in flight. Every unSACKed byte between
    /// `snd_una` and `snd_max` counts once if it is not considered lost, and once more if it
    /// was retransmitted in this recovery (below `marks.high_rxt`). `IsLost` is the same for
    /// every byte of a hole (the SACKed data above them is the same), so this is one pass over
    /// the holes.
    ///
    /// Without retransmissions pipe never exceeds FlightSize (`snd_max − snd_una`); with them
    /// it is at most FlightSize plus the retransmitted bytes.
    pub fn pipe(
        &self,
        snd_una: SeqNumber,
        snd_max: SeqNumber,
        marks: &RecoveryMarks,
        smss: usize,
    ) -> usize {
        let mut pipe = 0usize;
        for h in self.holes(snd_una, snd_max) {
            if !self.is_lost(h.start, smss) {
                pipe = pipe.saturating_add(h.len());
            }
            if h.start < marks.high_rxt {
                pipe = pipe.saturating_add(h.end.min(marks.high_rxt) - h.start);
            }
        }
        pipe
    }

    /// RFC 6675 `NextSeg()`: what to send next, each range at most `smss` bytes.
    /// `new_data_available` is true when unsent data exists and the receiver's window allows
    /// sending it (rule (2)).
    pub fn next_seg(
        &self,
        snd_una: SeqNumber,
        snd_max: SeqNumber,
        marks: &RecoveryMarks,
        smss: usize,
        new_data_available: bool,
    ) -> NextSeg {
        let smss = smss.max(1);
        let cursor = marks.high_rxt.max(snd_una);
        // Rules (1) and (3): the first unSACKed byte above HighRxt, below the highest SACKed
        // byte. IsLost only gets less true further up, so the first hole decides rule (1).
        let candidate = self.highest_sacked().and_then(|highest| {
            self.holes(cursor, snd_max)
                .next()
                .filter(|h| h.start < highest)
                .map(|h| SeqRange::new(h.start, h.end.min(h.start + smss)))
        });
        if let Some(seg) = candidate
            && self.is_lost(seg.start, smss)
        {
            return NextSeg::RetransmitLost(seg);
        }
        if new_data_available {
            return NextSeg::NewData;
        }
        if let Some(seg) = candidate {
            return NextSeg::RetransmitUnsacked(seg);
        }
        // Rule (4): one rescue retransmission, once HighACK has passed RescueRxt.
        let rescue_allowed = marks.rescue_rxt.is_none_or(|r| r < snd_una);
        if rescue_allowed && let Some(last) = self.holes(snd_una, snd_max).last() {
            let start = last.start.max(last.end - smss);
            return NextSeg::Rescue(SeqRange::new(start, last.end));
        }
        NextSeg::Nothing
    }

    /// The first unSACKed range of at most `smss` bytes at or after `from` and below
    /// `snd_max`: what the go-back retransmission after a timeout resends, skipping SACKed data
    /// (RFC 6675 §5.1).
    pub fn next_unsacked(
        &self,
        from: SeqNumber,
        snd_max: SeqNumber,
        smss: usize,
    ) -> Option<SeqRange> {
        let h = self.holes(from, snd_max).next()?;
        Some(SeqRange::new(h.start, h.end.min(h.start + smss.max(1))))
    }
}

/// Iterator over the unSACKed holes of a [`Scoreboard`] (see [`Scoreboard::holes`]).
#[derive(Debug, Clone)]
pub struct Holes<'a> {
    ranges: &'a [SeqRange],
    cursor: SeqNumber,
    end: SeqNumber,
}

impl Iterator for Holes<'_> {
    type Item = SeqRange;

    fn next(&mut self) -> Option<SeqRange> {
        while self.cursor < self.end {
            let Some((r, rest)) = self.ranges.split_first() else {
                let h = SeqRange::new(self.cursor, self.end);
                self.cursor = self.end;
                return Some(h);
            };
            if seq_ge(self.cursor, r.end) {
                self.ranges = rest;
                continue;
            }
            if self.cursor < r.start {
                let h = SeqRange::new(self.cursor, r.start.min(self.end));
                self.cursor = r.end;
                self.ranges = rest;
                return Some(h);
            }
            self.cursor = r.end;
            self.ranges = rest;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::assembler::Assembler;
    use std::vec::Vec;

    const MSS: usize = 100;

    fn r(a: u32, b: u32) -> SeqRange {
        SeqRange::new(SeqNumber(a), SeqNumber(b))
    }

    fn blocks(s: &SackRanges) -> Vec<(u32, u32)> {
        s.as_slice().iter().map(|(a, b)| (a.0, b.0)).collect()
    }

    fn board<const N: usize>(sb: &Scoreboard<N>) -> Vec<(u32, u32)> {
        sb.ranges().map(|r| (r.start.0, r.end.0)).collect()
    }

    // ---------------------------------------------------------------- receiver side

    #[test]
    fn rfc2018_4_first_block_contains_most_recent_segment() {
        let mut asm = Assembler::<8>::new(SeqNumber(0));
        let mut rep = SackReporter::new();
        asm.insert(SeqNumber(100), 100).unwrap();
        asm.insert(SeqNumber(300), 100).unwrap();
        let b = rep.blocks(asm.ranges(), Some(SeqNumber(300)), None, 4);
        assert_eq!(blocks(&b), [(300, 400), (100, 200)]);
        asm.insert(SeqNumber(500), 50).unwrap();
        let b = rep.blocks(asm.ranges(), Some(SeqNumber(500)), None, 4);
        // Then the most recently reported blocks, in the order they were reported.
        assert_eq!(blocks(&b), [(500, 550), (300, 400), (100, 200)]);
        // A segment extending a range: the grown range comes first.
        asm.insert(SeqNumber(200), 50).unwrap();
        let b = rep.blocks(asm.ranges(), Some(SeqNumber(200)), None, 4);
        assert_eq!(blocks(&b), [(100, 250), (500, 550), (300, 400)]);
    }

    #[test]
    fn rfc2018_4_repeats_recent_blocks_when_more_ranges_than_room() {
        let mut asm = Assembler::<8>::new(SeqNumber(0));
        let mut rep = SackReporter::new();
        for (i, seq) in [100u32, 300, 500, 700, 900].into_iter().enumerate() {
            asm.insert(SeqNumber(seq), 50).unwrap();
            let b = rep.blocks(asm.ranges(), Some(SeqNumber(seq)), None, 3);
            assert_eq!(b.len(), (i + 1).min(3));
            assert_eq!(b.as_slice()[0].0, SeqNumber(seq));
        }
        // The last ACK reported the three most recent segments, newest first.
        let b = rep.blocks(asm.ranges(), None, None, 3);
        assert_eq!(blocks(&b), [(900, 950), (700, 750), (500, 550)]);
    }

    #[test]
    fn rfc2018_3_at_most_3_blocks_with_timestamps() {
        assert_eq!(max_sack_blocks(true), 3);
        assert_eq!(max_sack_blocks(false), 4);
        let mut asm = Assembler::<8>::new(SeqNumber(0));
        for seq in [100u32, 300, 500, 700, 900] {
            asm.insert(SeqNumber(seq), 50).unwrap();
        }
        let mut rep = SackReporter::new();
        assert_eq!(rep.blocks(asm.ranges(), None, None, 3).len(), 3);
        assert_eq!(rep.blocks(asm.ranges(), None, None, 4).len(), 4);
        assert_eq!(rep.blocks(asm.ranges(), None, None, 99).len(), 4);
        assert_eq!(rep.blocks(asm.ranges(), None, None, 0).len(), 0);
    }

    #[test]
    fn rfc2883_4_dsack_first_then_the_range_containing_it() {
        let mut asm = Assembler::<8>::new(SeqNumber(0));
        let mut rep = SackReporter::new();
        asm.insert(SeqNumber(100), 200).unwrap();
        asm.insert(SeqNumber(500), 100).unwrap();
        rep.blocks(asm.ranges(), Some(SeqNumber(500)), None, 4);
        // Duplicate of [150, 200) inside the stored range [100, 300).
        let b = rep.blocks(asm.ranges(), None, Some(r(150, 200)), 4);
        assert_eq!(blocks(&b), [(150, 200), (100, 300), (500, 600)]);
        // A duplicate below RCV.NXT: reported alone first, followed by the usual blocks.
        let b = rep.blocks(asm.ranges(), None, Some(r(0, 50)), 4);
        assert_eq!(blocks(&b), [(0, 50), (100, 300), (500, 600)]);
    }

    #[test]
    fn receiver_blocks_across_sequence_wrap() {
        let base = SeqNumber(u32::MAX - 150);
        let mut asm = Assembler::<8>::new(base);
        let mut rep = SackReporter::new();
        asm.insert(base + 100, 100).unwrap(); // straddles 2^32
        asm.insert(base + 300, 10).unwrap();
        let b = rep.blocks(asm.ranges(), Some(base + 120), None, 4);
        assert_eq!(blocks(&b), [(u32::MAX - 50, 49), (149, 159)]);
    }

    // ---------------------------------------------------------------- sender side

    fn sb_with(una: u32, max: u32, bl: &[(u32, u32)]) -> Scoreboard<8> {
        let mut sb = Scoreboard::<8>::new();
        let bl: Vec<_> = bl
            .iter()
            .map(|&(a, b)| (SeqNumber(a), SeqNumber(b)))
            .collect();
        sb.update(SeqNumber(una), SeqNumber(max), &bl);
        sb
    }

    fn wire(bl: &[(u32, u32)]) -> Vec<(SeqNumber, SeqNumber)> {
        bl.iter()
            .map(|&(a, b)| (SeqNumber(a), SeqNumber(b)))
            .collect()
    }

    #[test]
    fn update_merges_and_counts_new_bytes() {
        let mut sb = Scoreboard::<8>::new();
        let u = sb.update(SeqNumber(0), SeqNumber(1000), &wire(&[(200, 300)]));
        assert_eq!(u.newly_sacked, 100);
        let u = sb.update(
            SeqNumber(0),
            SeqNumber(1000),
            &wire(&[(250, 400), (500, 600)]),
        );
        assert_eq!(u.newly_sacked, 200);
        assert_eq!(board(&sb), [(200, 400), (500, 600)]);
        let u = sb.update(SeqNumber(0), SeqNumber(1000), &wire(&[(400, 500)]));
        assert_eq!(u.newly_sacked, 100);
        assert_eq!(board(&sb), [(200, 600)]);
        assert_eq!(sb.sacked_bytes(), 400);
        assert_eq!(sb.highest_sacked(), Some(SeqNumber(600)));
        // The same blocks again: nothing new.
        let u = sb.update(SeqNumber(0), SeqNumber(1000), &wire(&[(200, 600)]));
        assert_eq!(u.newly_sacked, 0);
    }

    #[test]
    fn rfc6675_ignores_blocks_below_una_above_snd_max_or_reversed() {
        let mut sb = Scoreboard::<8>::new();
        let u = sb.update(
            SeqNumber(1000),
            SeqNumber(2000),
            &wire(&[
                (1100, 1200),
                (500, 600),
                (1900, 2100),
                (1500, 1400),
                (1300, 1300),
            ]),
        );
        assert_eq!(u.ignored, 4);
        assert_eq!(u.dsack, None);
        assert_eq!(board(&sb), [(1100, 1200)]);
        assert_eq!(sb.ignored(), 4);
    }

    #[test]
    fn block_straddling_una_is_trimmed() {
        let sb = sb_with(1000, 2000, &[(1200, 1300), (900, 1100)]);
        assert_eq!(board(&sb), [(1000, 1100), (1200, 1300)]);
    }

    #[test]
    fn rfc2883_4_dsack_below_cumulative_ack_is_not_new_sack_info() {
        let mut sb = Scoreboard::<8>::new();
        let u = sb.update(SeqNumber(1000), SeqNumber(2000), &wire(&[(900, 1000)]));
        assert_eq!(u.dsack, Some(r(900, 1000)));
        assert_eq!(u.ignored, 0);
        assert!(sb.is_empty());
        assert_eq!(sb.dsacks(), 1);
    }

    #[test]
    fn rfc2883_4_dsack_inside_second_block() {
        let mut sb = Scoreboard::<8>::new();
        let u = sb.update(
            SeqNumber(1000),
            SeqNumber(2000),
            &wire(&[(1300, 1400), (1200, 1500)]),
        );
        assert_eq!(u.dsack, Some(r(1300, 1400)));
        assert_eq!(u.newly_sacked, 300);
        assert_eq!(board(&sb), [(1200, 1500)]);
        // Only the first block can be a D-SACK.
        let u = sb.update(
            SeqNumber(1000),
            SeqNumber(2000),
            &wire(&[(1600, 1700), (900, 1000)]),
        );
        assert_eq!(u.dsack, None);
        assert_eq!(u.ignored, 1);
    }

    #[test]
    fn cumulative_ack_prunes_scoreboard() {
        let mut sb = sb_with(0, 1000, &[(100, 200), (300, 400)]);
        sb.update(SeqNumber(150), SeqNumber(1000), &[]);
        assert_eq!(board(&sb), [(150, 200), (300, 400)]);
        sb.update(SeqNumber(400), SeqNumber(1000), &[]);
        assert!(sb.is_empty());
    }

    #[test]
    fn full_scoreboard_keeps_the_highest_ranges() {
        let mut sb = Scoreboard::<2>::new();
        sb.update(
            SeqNumber(0),
            SeqNumber(1000),
            &wire(&[(300, 400), (500, 600)]),
        );
        // A higher block evicts the lowest range.
        let u = sb.update(SeqNumber(0), SeqNumber(1000), &wire(&[(700, 800)]));
        assert_eq!(u.newly_sacked, 100);
        assert_eq!(board(&sb), [(500, 600), (700, 800)]);
        // A lower block is dropped.
        let u = sb.update(SeqNumber(0), SeqNumber(1000), &wire(&[(100, 200)]));
        assert_eq!(u.newly_sacked, 0);
        assert_eq!(board(&sb), [(500, 600), (700, 800)]);
        // Merging needs no slot.
        sb.update(SeqNumber(0), SeqNumber(1000), &wire(&[(600, 700)]));
        assert_eq!(board(&sb), [(500, 800)]);
        assert_eq!(sb.evicted(), 2);
        // A zero-capacity scoreboard never panics.
        let mut z = Scoreboard::<0>::new();
        z.update(SeqNumber(0), SeqNumber(1000), &wire(&[(600, 700)]));
        assert!(z.is_empty());
    }

    #[test]
    fn rfc6675_4_is_lost_after_three_discontiguous_sacked_ranges() {
        // Small segments: 3 separate SACKed ranges of 10 bytes above 0 ⇒ lost.
        let sb = sb_with(0, 1000, &[(100, 110), (200, 210)]);
        assert!(!sb.is_lost(SeqNumber(0), MSS));
        let sb = sb_with(0, 1000, &[(100, 110), (200, 210), (300, 310)]);
        assert!(sb.is_lost(SeqNumber(0), MSS));
        // Only ranges above the sequence number count.
        assert!(!sb.is_lost(SeqNumber(150), MSS));
    }

    #[test]
    fn rfc6675_4_is_lost_after_more_than_dupthresh_minus_1_smss_bytes() {
        // Two full segments SACKed above: not yet (needs more than 2·SMSS).
        let sb = sb_with(0, 1000, &[(100, 300)]);
        assert!(!sb.is_lost(SeqNumber(0), MSS));
        let sb = sb_with(0, 1000, &[(100, 301)]);
        assert!(sb.is_lost(SeqNumber(0), MSS));
        assert!(!sb.is_lost(SeqNumber(100), MSS));
    }

    #[test]
    fn rfc6675_4_pipe_counts_unsacked_not_lost_plus_retransmitted() {
        // Flight 0..1000, SACKed 200..500 (3 segments) and 700..800.
        let sb = sb_with(0, 1000, &[(200, 500), (700, 800)]);
        let marks = RecoveryMarks::new(SeqNumber(0));
        // Hole 0..200 lost (400 bytes SACKed above), 500..700 not lost (100 above),
        // 800..1000 not lost: pipe = 200 + 200.
        assert_eq!(sb.pipe(SeqNumber(0), SeqNumber(1000), &marks, MSS), 400);
        // After retransmitting 0..100: those bytes are in flight again.
        let marks = RecoveryMarks {
            high_rxt: SeqNumber(100),
            rescue_rxt: None,
        };
        assert_eq!(sb.pipe(SeqNumber(0), SeqNumber(1000), &marks, MSS), 500);
    }

    #[test]
    fn rfc6675_4_next_seg_rule_1_retransmits_only_lost_holes() {
        let sb = sb_with(0, 1000, &[(200, 500), (700, 800)]);
        let mut marks = RecoveryMarks::new(SeqNumber(0));
        let s = sb.next_seg(SeqNumber(0), SeqNumber(1000), &marks, MSS, true);
        assert_eq!(s, NextSeg::RetransmitLost(r(0, 100)));
        marks.on_sent(s, SeqNumber(1000));
        let s = sb.next_seg(SeqNumber(0), SeqNumber(1000), &marks, MSS, true);
        assert_eq!(s, NextSeg::RetransmitLost(r(100, 200)));
        marks.on_sent(s, SeqNumber(1000));
        // The hole 500..700 is not lost (only 100 bytes SACKed above): rule 2, new data.
        let s = sb.next_seg(SeqNumber(0), SeqNumber(1000), &marks, MSS, true);
        assert_eq!(s, NextSeg::NewData);
    }

    #[test]
    fn rfc6675_4_next_seg_rule_3_when_no_new_data() {
        let sb = sb_with(0, 1000, &[(200, 500), (700, 800)]);
        let marks = RecoveryMarks {
            high_rxt: SeqNumber(200),
            rescue_rxt: None,
        };
        let s = sb.next_seg(SeqNumber(0), SeqNumber(1000), &marks, MSS, false);
        assert_eq!(s, NextSeg::RetransmitUnsacked(r(500, 600)));
        // Nothing above the highest SACKed byte is sent by rule 3.
        let marks = RecoveryMarks {
            high_rxt: SeqNumber(700),
            rescue_rxt: Some(SeqNumber(100)),
        };
        let s = sb.next_seg(SeqNumber(0), SeqNumber(1000), &marks, MSS, false);
        assert_eq!(s, NextSeg::Nothing);
    }

    #[test]
    fn rfc6675_4_next_seg_rule_4_one_rescue_retransmission() {
        let sb = sb_with(100, 1000, &[(200, 300)]);
        let mut marks = RecoveryMarks::new(SeqNumber(0));
        marks.on_enter_recovery(r(0, 100));
        marks.high_rxt = SeqNumber(300);
        // HighACK (100) has passed RescueRxt (100)? Not strictly: no rescue yet.
        let marks_early = RecoveryMarks {
            rescue_rxt: Some(SeqNumber(150)),
            ..marks
        };
        assert_eq!(
            sb.next_seg(SeqNumber(100), SeqNumber(1000), &marks_early, MSS, false),
            NextSeg::Nothing
        );
        marks.rescue_rxt = Some(SeqNumber(50));
        let s = sb.next_seg(SeqNumber(100), SeqNumber(1000), &marks, MSS, false);
        // The highest outstanding unSACKed data: the last segment before SND.MAX.
        assert_eq!(s, NextSeg::Rescue(r(900, 1000)));
        marks.on_sent(s, SeqNumber(1000));
        assert_eq!(
            marks.high_rxt,
            SeqNumber(300),
            "rule 4 must not move HighRxt"
        );
        assert_eq!(
            sb.next_seg(SeqNumber(100), SeqNumber(1000), &marks, MSS, false),
            NextSeg::Nothing
        );
    }

    #[test]
    fn rfc6675_5_entry_by_dupacks_or_is_lost() {
        let sb = sb_with(0, 1000, &[(100, 400)]);
        assert!(enters_loss_recovery(1, &sb, SeqNumber(0), MSS));
        let sb = sb_with(0, 1000, &[(100, 200)]);
        assert!(!enters_loss_recovery(2, &sb, SeqNumber(0), MSS));
        assert!(enters_loss_recovery(3, &sb, SeqNumber(0), MSS));
    }

    #[test]
    fn next_unsacked_skips_sacked_data_after_timeout() {
        let sb = sb_with(0, 1000, &[(100, 300)]);
        assert_eq!(
            sb.next_unsacked(SeqNumber(0), SeqNumber(1000), MSS),
            Some(r(0, 100))
        );
        assert_eq!(
            sb.next_unsacked(SeqNumber(100), SeqNumber(1000), MSS),
            Some(r(300, 400))
        );
        assert_eq!(
            sb.next_unsacked(SeqNumber(1000), SeqNumber(1000), MSS),
            None
        );
    }

    #[test]
    fn scoreboard_across_sequence_wrap() {
        let una = SeqNumber(u32::MAX - 250);
        let max = una + 1000;
        let mut sb = Scoreboard::<8>::new();
        let u = sb.update(una, max, &[(una + 200, una + 500), (una + 700, una + 800)]);
        assert_eq!(u.newly_sacked, 400);
        assert_eq!(u.ignored, 0);
        let marks = RecoveryMarks::new(una);
        assert_eq!(sb.pipe(una, max, &marks, MSS), 400);
        assert!(sb.is_lost(una, MSS));
        assert_eq!(
            sb.next_seg(una, max, &marks, MSS, false),
            NextSeg::RetransmitLost(SeqRange::new(una, una + 100))
        );
        let holes: Vec<_> = sb.holes(una, max).collect();
        assert_eq!(
            holes,
            [
                SeqRange::new(una, una + 200),
                SeqRange::new(una + 500, una + 700),
                SeqRange::new(una + 800, max)
            ]
        );
    }

    /// RFC 6675 §5 end to end, with `congestion`: 20 segments sent, segments 3, 4 and 11 lost;
    /// the receiver is this crate's assembler and SACK reporter. Rules (1) and (3) retransmit
    /// exactly the three lost segments (plus at most the one rule-(4) rescue), and recovery
    /// ends at the recovery point.
    fn recovery_walkthrough(iss: u32) {
        use crate::tcp::congestion::{AckAction, Congestion, CongestionConfig, DupAckAction};
        let base = SeqNumber(iss) + 1;
        let mut cc = Congestion::new(
            CongestionConfig {
                initial_window: Some(20 * MSS),
                abc_limit: 2,
            },
            MSS,
            SeqNumber(iss),
            true,
        );
        let mut sb = Scoreboard::<4>::new();
        let mut marks = RecoveryMarks::new(base);
        let mut asm = Assembler::<4>::new(base);
        let mut rep = SackReporter::new();
        let (mut una, mut snd_max) = (base, base + 20 * MSS);
        let lost = [3usize, 4, 11];
        // Segments reach the receiver in order, except the lost ones; each produces an ACK.
        let mut wire_q: Vec<SeqRange> = (0..20usize)
            .filter(|i| !lost.contains(i))
            .map(|i| SeqRange::new(base + i * MSS, base + (i + 1) * MSS))
            .collect();
        let mut retransmitted = Vec::new();
        let mut new_sent = 0;
        let mut rescues = 0;
        struct Sender<'a> {
            wire_q: &'a mut Vec<SeqRange>,
            retransmitted: &'a mut Vec<SeqRange>,
            rescues: &'a mut usize,
        }
        fn send(s: &mut Sender<'_>, seg: NextSeg, snd_max: &mut SeqNumber, new_sent: &mut usize) {
            match seg {
                NextSeg::RetransmitLost(r) | NextSeg::RetransmitUnsacked(r) => {
                    s.retransmitted.push(r);
                    s.wire_q.push(r);
                }
                NextSeg::Rescue(r) => {
                    *s.rescues += 1;
                    s.wire_q.push(r);
                }
                NextSeg::NewData => {
                    s.wire_q.push(SeqRange::new(*snd_max, *snd_max + MSS));
                    *snd_max += MSS;
                    *new_sent += 1;
                }
                NextSeg::Nothing => {}
            }
        }
        let mut guard = 0;
        let mut queue = core::mem::take(&mut wire_q);
        while let Some(seg) = (!queue.is_empty()).then(|| queue.remove(0)) {
            let mut tx = Sender {
                wire_q: &mut queue,
                retransmitted: &mut retransmitted,
                rescues: &mut rescues,
            };
            guard += 1;
            assert!(guard < 200);
            // Receiver.
            let adv = asm.insert(seg.start, seg.len()).unwrap();
            let latest = (adv == 0).then_some(seg.start);
            let sack = rep.blocks(asm.ranges(), latest, None, 3);
            let ack = asm.next();
            // Sender.
            sb.update(ack, snd_max, sack.as_slice());
            if una < ack {
                let acked = ack - una;
                una = ack;
                if cc.on_ack(ack, acked, snd_max - una) == AckAction::RecoveryExited {
                    marks.reset(una);
                }
            } else if cc.on_dup_ack(ack, snd_max, snd_max - una) == DupAckAction::FastRetransmit
                || (!cc.in_recovery()
                    && enters_loss_recovery(cc.dup_acks(), &sb, una, MSS)
                    && cc.enter_recovery(ack, snd_max, snd_max - una))
            {
                let first = SeqRange::new(una, una + MSS);
                marks.on_enter_recovery(first);
                send(
                    &mut tx,
                    NextSeg::RetransmitLost(first),
                    &mut snd_max,
                    &mut new_sent,
                );
            }
            if cc.in_recovery() {
                let mut pipe = sb.pipe(una, snd_max, &marks, MSS);
                while cc.can_send(pipe) >= MSS {
                    // Limit new data to 5 more segments so the test ends.
                    let s = sb.next_seg(una, snd_max, &marks, MSS, new_sent < 5);
                    if s == NextSeg::Nothing {
                        break;
                    }
                    marks.on_sent(s, cc.recover());
                    send(&mut tx, s, &mut snd_max, &mut new_sent);
                    pipe += MSS;
                }
            }
        }
        assert_eq!(una, snd_max, "everything acknowledged");
        assert!(!cc.in_recovery());
        let mut got: Vec<_> = retransmitted
            .iter()
            .map(|r| (r.start - base) / MSS)
            .collect();
        got.sort();
        assert_eq!(got, lost, "exactly the lost segments were retransmitted");
        // Once new data ran out, rule (4) allowed its single rescue retransmission.
        assert!(rescues <= 1);
    }

    #[test]
    fn rfc6675_5_recovery_retransmits_only_missing_segments() {
        recovery_walkthrough(1000);
    }

    #[test]
    fn rfc6675_5_recovery_across_sequence_wrap() {
        recovery_walkthrough(u32::MAX - 700);
    }

    proptest::proptest! {
        #[test]
        fn pipe_never_exceeds_flight_plus_retransmitted(
            una in proptest::num::u32::ANY,
            flight in 0usize..3000,
            blocks in proptest::collection::vec((0usize..3200, 0usize..400), 0..6),
            rxt in 0usize..3000,
        ) {
            let una = SeqNumber(una);
            let max = una + flight;
            let mut sb = Scoreboard::<3>::new();
            let bl: Vec<_> = blocks.iter().map(|&(o, l)| (una + o, una + o + l)).collect();
            for chunk in bl.chunks(2) {
                sb.update(una, max, chunk);
            }
            // Invariants of the ranges: sorted, disjoint, within [una, max].
            let rs: Vec<_> = sb.ranges().collect();
            for w in rs.windows(2) {
                proptest::prop_assert!(w[0].end < w[1].start);
            }
            for x in &rs {
                proptest::prop_assert!(seq_ge(x.start, una) && seq_ge(max, x.end));
                proptest::prop_assert!(x.start < x.end);
            }
            let none = RecoveryMarks::new(una);
            let p = sb.pipe(una, max, &none, MSS);
            proptest::prop_assert!(p <= flight);
            proptest::prop_assert!(p <= flight - sb.sacked_bytes());
            let marks = RecoveryMarks { high_rxt: una + rxt.min(flight), rescue_rxt: None };
            proptest::prop_assert!(sb.pipe(una, max, &marks, MSS) <= flight + rxt.min(flight));
            // NextSeg never names SACKed or unsent data, nor more than one SMSS.
            match sb.next_seg(una, max, &marks, MSS, false) {
                NextSeg::RetransmitLost(s)
                | NextSeg::RetransmitUnsacked(s)
                | NextSeg::Rescue(s) => {
                    proptest::prop_assert!(s.len() <= MSS && !s.is_empty());
                    proptest::prop_assert!(seq_ge(s.start, una) && seq_ge(max, s.end));
                    for x in &rs {
                        proptest::prop_assert!(!(x.start < s.end && s.start < x.end));
                    }
                }
                _ => {}
            }
        }

        #[test]
        fn scoreboard_agrees_with_bitmap_model(
            una in proptest::num::u32::ANY,
            blocks in proptest::collection::vec((0usize..500, 1usize..60), 0..20),
        ) {
            let una = SeqNumber(una);
            let max = una + 500;
            let mut sb = Scoreboard::<64>::new();
            let mut model = [false; 600];
            let mut newly = 0;
            for &(o, l) in &blocks {
                let u = sb.update(una, max, &[(una + o, una + o + l)]);
                newly += u.newly_sacked;
                if o + l <= 500 {
                    for b in &mut model[o..o + l] { *b = true; }
                }
            }
            let count = model.iter().filter(|&&b| b).count();
            proptest::prop_assert_eq!(sb.sacked_bytes(), count);
            proptest::prop_assert_eq!(newly, count);
            for (i, &m) in model.iter().enumerate().take(500) {
                proptest::prop_assert_eq!(sb.is_sacked(una + i), m);
            }
        }

        #[test]
        fn update_never_panics(
            una in proptest::num::u32::ANY,
            max in proptest::num::u32::ANY,
            raw in proptest::collection::vec(
                (proptest::num::u32::ANY, proptest::num::u32::ANY),
                0..5,
            ),
        ) {
            let mut sb = Scoreboard::<2>::new();
            let bl: Vec<_> = raw.iter().map(|&(a, b)| (SeqNumber(a), SeqNumber(b))).collect();
            sb.update(SeqNumber(una), SeqNumber(max), &bl);
            let m = RecoveryMarks::new(SeqNumber(una));
            let _ = sb.pipe(SeqNumber(una), SeqNumber(max), &m, 0);
            let _ = sb.next_seg(SeqNumber(una), SeqNumber(max), &m, 0, false);
            let _ = sb.is_lost(SeqNumber(max), usize::MAX);
        }
    }
}
