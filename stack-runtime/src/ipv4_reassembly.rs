//! IPv4 reassembly into fixed, caller-provided buffers.
//!
//! The caller hands in `N` [`ReassemblySlot`]s and one byte slice that is split evenly between
//! them, so each slot reassembles one datagram of at most `bytes.len() / N` payload bytes.
//! Received ranges are tracked as a short list of merged intervals; a fragment that overlaps
//! anything already received (duplicates included) drops the whole datagram, the conservative
//! rule of RFC 5722 applied to IPv4, which defeats overlap-rewriting attacks. A datagram that is
//! not complete within the timeout is dropped. Zero slots means every fragment is dropped.
//!
//! A completed datagram stays in its slot until the interface releases it, so the interface can
//! deliver it, or even reuse the slot as the send buffer of a large echo reply.

use core::net::Ipv4Addr;

use crate::time::Instant;
use crate::wire::IpProtocol;

/// The most disjoint received ranges one slot tracks; a datagram arriving in more pieces than
/// that (after merging adjacent ones) is dropped.
pub const MAX_RANGES: usize = 8;

/// Identifies the datagram a fragment belongs to (RFC 791: source, destination, protocol and
/// identification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragKey {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// IP identification field.
    pub ident: u16,
    /// Upper-layer protocol.
    pub protocol: IpProtocol,
}

/// Why a fragment (and with it its whole datagram) was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragError {
    /// No free slot, or zero slots configured.
    NoSlot,
    /// The fragment overlaps data already received.
    Overlap,
    /// The datagram does not fit a slot buffer.
    TooLarge,
    /// More disjoint pieces than [`MAX_RANGES`].
    TooFragmented,
    /// Inconsistent with the other fragments (e.g. data past the end the last fragment set, or
    /// a non-final fragment whose length is not a multiple of 8).
    Malformed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    Free,
    Assembling,
    /// Complete, or handed to the interface (e.g. as an outgoing reply buffer).
    Held,
}

/// Bookkeeping of one reassembly buffer (caller-provided storage; start from
/// [`ReassemblySlot::EMPTY`]).
#[derive(Debug, Clone, Copy)]
pub struct ReassemblySlot {
    pub(crate) state: SlotState,
    key: FragKey,
    deadline: Instant,
    ranges: [(u32, u32); MAX_RANGES],
    n_ranges: u8,
    total: Option<u32>,
    pub(crate) out: Option<Outgoing>,
}

/// A held slot being sent back out (the buffer holds the IP payload of an outgoing datagram,
/// e.g. an echo reply built in place over a reassembled echo request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outgoing {
    pub(crate) repr: crate::wire::ipv4::Repr,
    pub(crate) next_hop: crate::iface::NextHop,
    pub(crate) ident: u16,
    pub(crate) sent: usize,
}

impl ReassemblySlot {
    /// A free slot.
    pub const EMPTY: ReassemblySlot = ReassemblySlot {
        state: SlotState::Free,
        key: FragKey {
            src: Ipv4Addr::UNSPECIFIED,
            dst: Ipv4Addr::UNSPECIFIED,
            ident: 0,
            protocol: IpProtocol::Unknown(0),
        },
        deadline: Instant::ZERO,
        ranges: [(0, 0); MAX_RANGES],
        n_ranges: 0,
        total: None,
        out: None,
    };

    /// Mark the slot free: the other fields are set again when it is next taken.
    fn free(&mut self) {
        self.state = SlotState::Free;
        self.out = None;
    }

    /// A free slot (same as [`ReassemblySlot::EMPTY`]).
    pub const fn new() -> ReassemblySlot {
        ReassemblySlot::EMPTY
    }
}

impl Default for ReassemblySlot {
    fn default() -> Self {
        ReassemblySlot::EMPTY
    }
}

/// The result of adding a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragOutcome {
    /// Stored; more fragments are needed.
    Incomplete,
    /// The datagram in slot `slot` is complete with `len` payload bytes; the slot is held until
    /// [`Reassembler::release`].
    Complete {
        /// The slot index.
        slot: usize,
        /// The reassembled payload length.
        len: usize,
    },
}

/// The set of reassembly slots and their buffers.
#[derive(Debug)]
pub struct Reassembler<'a> {
    slots: &'a mut [ReassemblySlot],
    bytes: &'a mut [u8],
    slot_size: usize,
    high_water: usize,
}

impl<'a> Reassembler<'a> {
    /// Slots over `slots`, each with `bytes.len() / slots.len()` bytes of `bytes`.
    pub fn new(slots: &'a mut [ReassemblySlot], bytes: &'a mut [u8]) -> Self {
        slots.iter_mut().for_each(ReassemblySlot::free);
        let slot_size = bytes.len().checked_div(slots.len()).unwrap_or(0);
        Reassembler {
            slots,
            bytes,
            slot_size,
            high_water: 0,
        }
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Largest datagram payload one slot holds.
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// The most slots ever in use at once.
    pub fn high_water(&self) -> usize {
        self.high_water
    }

    /// Slots not free.
    pub fn in_use(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.state != SlotState::Free)
            .count()
    }

    /// Add one fragment: `data` at byte `offset` of the datagram `key`; `more` is the MF flag.
    /// On error the whole datagram (if one was under way) is dropped.
    pub fn add(
        &mut self,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        deadline: Instant,
    ) -> Result<FragOutcome, FragError> {
        let index = match self
            .slots
            .iter()
            .position(|s| s.state == SlotState::Assembling && s.key == key)
        {
            Some(i) => i,
            None => {
                let i = self
                    .slots
                    .iter()
                    .position(|s| s.state == SlotState::Free)
                    .ok_or(FragError::NoSlot)?;
                // Only the first `n_ranges` ranges are ever read: the rest need no reset.
                let s = &mut self.slots[i];
                s.state = SlotState::Assembling;
                s.key = key;
                s.deadline = deadline;
                s.n_ranges = 0;
                s.total = None;
                s.out = None;
                self.high_water = self.high_water.max(self.in_use());
                i
            }
        };
        match self.insert(index, offset, more, data) {
            Ok(r) => Ok(r),
            Err(e) => {
                self.slots[index].free();
                Err(e)
            }
        }
    }

    fn insert(
        &mut self,
        index: usize,
        offset: usize,
        more: bool,
        data: &[u8],
    ) -> Result<FragOutcome, FragError> {
        let end = offset + data.len();
        if end > self.slot_size {
            return Err(FragError::TooLarge);
        }
        if more && !data.len().is_multiple_of(8) {
            return Err(FragError::Malformed);
        }
        let slot = &mut self.slots[index];
        let (start, end32) = (offset as u32, end as u32);
        if let Some(total) = slot.total
            && (end32 > total || (!more && end32 != total))
        {
            return Err(FragError::Malformed);
        }
        if !more {
            if slot.ranges[..usize::from(slot.n_ranges)]
                .iter()
                .any(|&(_, e)| e > end32)
            {
                return Err(FragError::Malformed);
            }
            slot.total = Some(end32);
        }
        if data.is_empty() && more {
            return Err(FragError::Malformed);
        }
        let n = usize::from(slot.n_ranges);
        if slot.ranges[..n]
            .iter()
            .any(|&(s, e)| start < e && s < end32)
        {
            return Err(FragError::Overlap);
        }
        // Merge with the neighbours that touch [start, end).
        let (mut ns, mut ne) = (start, end32);
        let mut kept = 0;
        for i in 0..n {
            let (s, e) = slot.ranges[i];
            if e == ns {
                ns = s;
            } else if s == ne {
                ne = e;
            } else {
                slot.ranges[kept] = (s, e);
                kept += 1;
            }
        }
        if kept == MAX_RANGES {
            return Err(FragError::TooFragmented);
        }
        slot.ranges[kept] = (ns, ne);
        slot.n_ranges = (kept + 1) as u8;
        let base = index * self.slot_size;
        self.bytes[base + offset..base + end].copy_from_slice(data);
        let slot = &mut self.slots[index];
        match slot.total {
            Some(total) if slot.n_ranges == 1 && slot.ranges[0] == (0, total) => {
                slot.state = SlotState::Held;
                Ok(FragOutcome::Complete {
                    slot: index,
                    len: total as usize,
                })
            }
            _ => Ok(FragOutcome::Incomplete),
        }
    }

    /// The key of the datagram in `slot`.
    pub fn key(&self, slot: usize) -> Option<FragKey> {
        self.slots.get(slot).map(|s| s.key)
    }

    /// The buffer of `slot` (all `slot_size()` bytes).
    pub fn buffer(&self, slot: usize) -> &[u8] {
        let base = slot * self.slot_size;
        self.bytes.get(base..base + self.slot_size).unwrap_or(&[])
    }

    /// The buffer of `slot`, mutable.
    pub fn buffer_mut(&mut self, slot: usize) -> &mut [u8] {
        let base = slot * self.slot_size;
        self.bytes
            .get_mut(base..base + self.slot_size)
            .unwrap_or(&mut [])
    }

    /// Free a held slot.
    pub fn release(&mut self, slot: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.free();
        }
    }

    /// Mark held `slot` as an outgoing datagram to be sent by the interface.
    pub(crate) fn set_outgoing(&mut self, slot: usize, out: Outgoing) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.state = SlotState::Held;
            s.out = Some(out);
        }
    }

    /// The outgoing datagram of `slot`, if it holds one.
    pub(crate) fn outgoing(&self, slot: usize) -> Option<Outgoing> {
        self.slots.get(slot).and_then(|s| s.out)
    }

    /// Buffer of `slot` and its outgoing state together (for sending without copying).
    pub(crate) fn outgoing_parts(&mut self, slot: usize) -> Option<(&[u8], &mut Outgoing)> {
        let base = slot * self.slot_size;
        let s = self.slots.get_mut(slot)?;
        let out = s.out.as_mut()?;
        let buf = self.bytes.get(base..base + self.slot_size)?;
        Some((buf, out))
    }

    /// Drop every datagram whose deadline passed; returns how many.
    pub fn expire(&mut self, now: Instant) -> u32 {
        let mut n = 0;
        for s in self.slots.iter_mut() {
            if s.state == SlotState::Assembling && s.deadline <= now {
                s.free();
                n += 1;
            }
        }
        n
    }

    /// The earliest reassembly deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| s.state == SlotState::Assembling)
            .map(|s| s.deadline)
            .fold(None, crate::time::earliest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: FragKey = FragKey {
        src: Ipv4Addr::new(192, 0, 2, 1),
        dst: Ipv4Addr::new(192, 0, 2, 2),
        ident: 7,
        protocol: IpProtocol::Udp,
    };
    const DL: Instant = Instant::from_secs(31);

    fn data(n: usize, v: u8) -> [u8; 64] {
        let mut d = [0u8; 64];
        d[..n].fill(v);
        d
    }

    #[test]
    fn in_order_and_out_of_order() {
        for order in [[0usize, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]] {
            let mut slots = [ReassemblySlot::EMPTY; 2];
            let mut bytes = [0u8; 200];
            let mut r = Reassembler::new(&mut slots, &mut bytes);
            let mut out = None;
            for &i in &order {
                let more = i != 2;
                let len = if more { 16 } else { 5 };
                let d = data(len, i as u8 + 1);
                out = Some(r.add(KEY, i * 16, more, &d[..len], DL).unwrap());
            }
            let Some(FragOutcome::Complete { slot, len }) = out else {
                panic!("not complete: {out:?}")
            };
            assert_eq!(len, 37);
            let b = &r.buffer(slot)[..len];
            assert!(b[..16].iter().all(|&x| x == 1));
            assert!(b[16..32].iter().all(|&x| x == 2));
            assert!(b[32..].iter().all(|&x| x == 3));
            assert_eq!(r.in_use(), 1);
            r.release(slot);
            assert_eq!(r.in_use(), 0);
        }
    }

    #[test]
    fn overlap_drops_whole_datagram() {
        let mut slots = [ReassemblySlot::EMPTY; 1];
        let mut bytes = [0u8; 100];
        let mut r = Reassembler::new(&mut slots, &mut bytes);
        let d = data(16, 1);
        assert_eq!(
            r.add(KEY, 0, true, &d[..16], DL),
            Ok(FragOutcome::Incomplete)
        );
        assert_eq!(r.add(KEY, 8, true, &d[..16], DL), Err(FragError::Overlap));
        assert_eq!(r.in_use(), 0);
        // A duplicate is an overlap too.
        r.add(KEY, 0, true, &d[..16], DL).unwrap();
        assert_eq!(r.add(KEY, 0, true, &d[..16], DL), Err(FragError::Overlap));
    }

    #[test]
    fn timeout_zero_slots_too_large() {
        let mut slots = [ReassemblySlot::EMPTY; 1];
        let mut bytes = [0u8; 40];
        let mut r = Reassembler::new(&mut slots, &mut bytes);
        let d = data(32, 1);
        r.add(KEY, 0, true, &d[..16], DL).unwrap();
        assert_eq!(r.next_deadline(), Some(DL));
        let other = FragKey { ident: 8, ..KEY };
        assert_eq!(r.add(other, 0, true, &d[..8], DL), Err(FragError::NoSlot));
        assert_eq!(r.expire(Instant::from_secs(30)), 0);
        assert_eq!(r.expire(DL), 1);
        assert_eq!(r.next_deadline(), None);
        assert_eq!(
            r.add(KEY, 32, false, &d[..16], DL),
            Err(FragError::TooLarge)
        );
        assert_eq!(r.in_use(), 0);

        let mut none: [ReassemblySlot; 0] = [];
        let mut r0 = Reassembler::new(&mut none, &mut []);
        assert_eq!(r0.add(KEY, 0, true, &d[..8], DL), Err(FragError::NoSlot));
    }

    #[test]
    fn inconsistent_fragments() {
        let mut slots = [ReassemblySlot::EMPTY; 1];
        let mut bytes = [0u8; 100];
        let mut r = Reassembler::new(&mut slots, &mut bytes);
        let d = data(20, 1);
        // Non-final fragment not a multiple of 8.
        assert_eq!(r.add(KEY, 0, true, &d[..5], DL), Err(FragError::Malformed));
        // Data beyond the end set by the last fragment.
        r.add(KEY, 8, false, &d[..8], DL).unwrap();
        assert_eq!(r.add(KEY, 16, true, &d[..8], DL), Err(FragError::Malformed));
    }

    #[test]
    fn too_fragmented() {
        let mut slots = [ReassemblySlot::EMPTY; 1];
        let mut bytes = [0u8; 400];
        let mut r = Reassembler::new(&mut slots, &mut bytes);
        let d = data(8, 1);
        for i in 0..MAX_RANGES {
            r.add(KEY, i * 16, true, &d[..8], DL).unwrap();
        }
        assert_eq!(
            r.add(KEY, MAX_RANGES * 16, true, &d[..8], DL),
            Err(FragError::TooFragmented)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_permutation_completes(seed in proptest::collection::vec(0u32..1000, 10)) {
            let mut order: [usize; 10] = core::array::from_fn(|i| i);
            order.sort_by_key(|&i| seed[i]);
            let mut slots = [ReassemblySlot::EMPTY; 1];
            let mut bytes = [0u8; 200];
            let mut r = Reassembler::new(&mut slots, &mut bytes);
            let mut done = false;
            for (n, &i) in order.iter().enumerate() {
                let d = data(16, i as u8);
                match r.add(KEY, i * 16, i != 9, &d[..16], DL) {
                    Ok(FragOutcome::Complete { len, .. }) => {
                        proptest::prop_assert_eq!(n, 9);
                        proptest::prop_assert_eq!(len, 160);
                        done = true;
                    }
                    Ok(FragOutcome::Incomplete) => {}
                    // Ten pieces can exceed MAX_RANGES disjoint ranges only in adversarial orders.
                    Err(FragError::TooFragmented) => return Ok(()),
                    Err(e) => proptest::prop_assert!(false, "{:?}", e),
                }
            }
            proptest::prop_assert!(done);
        }
    }
}
