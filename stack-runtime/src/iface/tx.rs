//! The transmit queue: packets the stack built in pool buffers (ARP, echo replies, ICMP errors)
//! waiting for their next hop to be resolved or for a driver transmit buffer.
//!
//! Each queued packet is a complete Ethernet frame whose destination address is written when it
//! is sent. The queue is FIFO among packets that can be sent; a packet waiting for ARP does not
//! hold up the others.

use core::net::Ipv4Addr;
use core::task::Context;

use embassy_net_driver::{Driver, TxToken};

use super::{NextHop, Stack};
use crate::arp_cache::Lookup;
use crate::pool::{PacketBuf, PacketPool};
use crate::stats::bump;
use crate::time::Instant;
use crate::wire::EthernetAddress;

/// One transmit-queue slot (caller-provided storage; start from [`PendingSlot::EMPTY`]).
#[derive(Debug)]
pub struct PendingSlot {
    packet: Option<PacketBuf>,
    dest: NextHop,
    seq: u32,
}

impl PendingSlot {
    /// A free slot.
    pub const EMPTY: PendingSlot = PendingSlot {
        packet: None,
        dest: NextHop::Mac(EthernetAddress([0; 6])),
        seq: 0,
    };

    /// A free slot (same as [`PendingSlot::EMPTY`]).
    pub const fn new() -> PendingSlot {
        PendingSlot::EMPTY
    }
}

impl Default for PendingSlot {
    fn default() -> Self {
        PendingSlot::EMPTY
    }
}

/// The queue over caller-provided slots.
#[derive(Debug)]
pub(crate) struct TxQueue<'a> {
    slots: &'a mut [PendingSlot],
    seq: u32,
    /// Slots holding a packet (so an empty queue costs nothing to flush).
    queued: u16,
    pub(crate) high_water: u16,
}

impl<'a> TxQueue<'a> {
    pub(crate) fn new(slots: &'a mut [PendingSlot]) -> Self {
        // At most 65,535 slots are used (the count is a u16).
        let n = slots.len().min(usize::from(u16::MAX));
        let slots = &mut slots[..n];
        for s in slots.iter_mut() {
            // Storage reused from an earlier stack may hold handles of that stack's pool (the
            // destination and order of an empty slot are never read).
            s.packet = None;
        }
        TxQueue {
            slots,
            seq: 0,
            queued: 0,
            high_water: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn in_use(&self) -> usize {
        usize::from(self.queued)
    }

    /// Take the packet of slot `i` out of the queue.
    fn take(&mut self, i: usize) -> Option<PacketBuf> {
        let p = self.slots.get_mut(i)?.packet.take();
        if p.is_some() {
            self.queued -= 1;
        }
        p
    }

    /// Queue `packet`; gives it back when the queue is full.
    pub(crate) fn push(&mut self, packet: PacketBuf, dest: NextHop) -> Result<(), PacketBuf> {
        match self.slots.iter_mut().find(|s| s.packet.is_none()) {
            Some(s) => {
                s.packet = Some(packet);
                s.dest = dest;
                s.seq = self.seq;
                self.seq = self.seq.wrapping_add(1);
                self.queued += 1;
                self.high_water = self.high_water.max(self.queued);
                Ok(())
            }
            None => Err(packet),
        }
    }

    /// Drop every packet waiting for `ip`; returns how many.
    pub(crate) fn drop_for(&mut self, ip: Ipv4Addr, pool: &mut PacketPool<'_>) -> u32 {
        let mut n = 0;
        for s in self.slots.iter_mut() {
            if s.dest == NextHop::Ip(ip)
                && let Some(p) = s.packet.take()
            {
                pool.free(p);
                n += 1;
            }
        }
        self.queued -= n as u16;
        n
    }
}

impl Stack<'_> {
    /// Queue a built frame for `dest`, starting ARP resolution if needed. Every failure frees
    /// the buffer and counts the drop; returns whether the frame was queued.
    pub(crate) fn enqueue(&mut self, packet: PacketBuf, dest: NextHop, now: Instant) -> bool {
        let mut request = None;
        let waiting = match dest {
            NextHop::Mac(_) => false,
            NextHop::Ip(ip) => match self.arp.lookup(ip, now) {
                Lookup::Found(_) => false,
                Lookup::Pending => true,
                Lookup::SendRequest => {
                    request = Some(ip);
                    true
                }
                Lookup::NoEntry => {
                    self.pool.free(packet);
                    bump(&mut self.stats.arp_queue_full);
                    return false;
                }
            },
        };
        if let Err(p) = self.queue.push(packet, dest) {
            self.pool.free(p);
            bump(if waiting {
                &mut self.stats.arp_queue_full
            } else {
                &mut self.stats.tx_queue_full
            });
            return false;
        }
        // Queued first, so the request cannot take the packet's slot.
        if let Some(ip) = request {
            self.send_arp_request(ip, None);
        }
        true
    }

    /// Allocate a packet buffer, counting `tx_no_buffer` on failure.
    pub(crate) fn alloc_packet(&mut self) -> Option<PacketBuf> {
        let p = self.pool.alloc();
        if p.is_none() {
            bump(&mut self.stats.tx_no_buffer);
        }
        p
    }

    /// Send queued packets whose destination is known, oldest first. Returns false when the
    /// driver ran out of transmit buffers with packets still sendable.
    #[inline]
    pub(crate) fn flush_queue<D: Driver>(
        &mut self,
        driver: &mut D,
        cx: &mut Context,
        now: Instant,
    ) -> bool {
        // An empty queue (the common case) costs one comparison, inline.
        self.queue.queued == 0 || self.flush_queued(driver, cx, now)
    }

    #[inline(never)]
    fn flush_queued<D: Driver>(&mut self, driver: &mut D, cx: &mut Context, now: Instant) -> bool {
        while self.queue.queued > 0 {
            // The oldest packet whose destination is known. Indices, not an iterator: a
            // packet whose ARP entry expired while it waited starts a new resolution (or is
            // dropped), which may queue an ARP request.
            let mut best: Option<(usize, u32, EthernetAddress)> = None;
            for i in 0..self.queue.slots.len() {
                let Some(s) = self.queue.slots.get(i) else {
                    break;
                };
                if s.packet.is_none() {
                    continue;
                }
                let (dest, seq) = (s.dest, s.seq);
                let mac = match dest {
                    NextHop::Mac(m) => m,
                    NextHop::Ip(ip) => match self.arp.get(ip, now) {
                        Some(m) => m,
                        None => {
                            if !self.arp.is_pending(ip) {
                                self.re_resolve(i, ip, now);
                            }
                            continue;
                        }
                    },
                };
                if best.is_none_or(|(_, s, _)| (seq.wrapping_sub(s) as i32) < 0) {
                    best = Some((i, seq, mac));
                }
            }
            let Some((i, _, mac)) = best else {
                return true;
            };
            let Some(token) = driver.transmit(cx) else {
                bump(&mut self.stats.driver_tx_busy);
                return false;
            };
            let Some(packet) = self.queue.take(i) else {
                return true;
            };
            let bytes = self.pool.bytes(&packet);
            token.consume(bytes.len(), |out| {
                if let Some(out) = out.get_mut(..bytes.len()) {
                    out.copy_from_slice(bytes);
                    if let Some(dst) = out.first_chunk_mut::<6>() {
                        *dst = mac.0;
                    }
                }
            });
            bump(&mut self.stats.frames_tx);
            if bytes.get(12..14) == Some(&[0x08, 0x00]) {
                bump(&mut self.stats.ipv4_tx);
            }
            self.pool.free(packet);
        }
        true
    }

    /// The ARP entry of the packet in slot `i` expired while it waited: resolve `ip` again,
    /// or drop the packet (counted) when no entry can be made.
    fn re_resolve(&mut self, i: usize, ip: Ipv4Addr, now: Instant) {
        match self.arp.lookup(ip, now) {
            Lookup::SendRequest => self.send_arp_request(ip, None),
            Lookup::NoEntry => {
                if let Some(p) = self.queue.take(i) {
                    self.pool.free(p);
                    bump(&mut self.stats.arp_queue_full);
                }
            }
            Lookup::Found(_) | Lookup::Pending => {}
        }
    }
}
