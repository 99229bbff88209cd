//! A ring of whole datagrams over one caller-owned byte slice.
//!
//! Each datagram is stored contiguously behind a 12-byte record header (length, port and two
//! addresses), so a reader always gets one slice it can hand to a checksum or a driver, and a
//! datagram is never split across the end of the buffer. When a record does not fit between the
//! write position and the end of the buffer, the ring wraps to the start and the tail space is
//! skipped (like a bip-buffer). Used by the UDP sockets for both directions.

use core::net::Ipv4Addr;

/// Bytes of bookkeeping stored in front of every datagram.
pub const RECORD_HEADER_LEN: usize = 12;

/// The per-datagram metadata stored in a [`DatagramRing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMeta {
    /// The remote port (source on receive, destination on send).
    pub port: u16,
    /// The remote address (source on receive, destination on send).
    pub addr: Ipv4Addr,
    /// The local address (destination on receive, source used for the checksum on send).
    pub local: Ipv4Addr,
}

/// The record header of a `len`-byte datagram with `meta`.
fn record_header(len: u16, meta: RecordMeta) -> [u8; RECORD_HEADER_LEN] {
    let (l, p) = (len.to_be_bytes(), meta.port.to_be_bytes());
    let (a, b) = (meta.addr.octets(), meta.local.octets());
    [
        l[0], l[1], p[0], p[1], a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3],
    ]
}

/// A FIFO of variable-length records over a fixed byte slice.
#[derive(Debug)]
pub struct DatagramRing<'a> {
    buf: &'a mut [u8],
    read: usize,
    write: usize,
    /// End of valid data in the upper part while the ring is wrapped.
    wrap: usize,
    wrapped: bool,
    count: usize,
}

impl<'a> DatagramRing<'a> {
    /// A ring over `buf` (empty).
    pub const fn new(buf: &'a mut [u8]) -> Self {
        let wrap = buf.len();
        DatagramRing {
            buf,
            read: 0,
            write: 0,
            wrap,
            wrapped: false,
            count: 0,
        }
    }

    /// Size of the byte storage.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Number of records queued.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no record is queued.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Largest payload that fits in the ring when it is empty.
    pub fn max_payload(&self) -> usize {
        self.buf
            .len()
            .saturating_sub(RECORD_HEADER_LEN)
            .min(usize::from(u16::MAX))
    }

    /// Drop every record.
    pub fn clear(&mut self) {
        self.read = 0;
        self.write = 0;
        self.wrap = self.buf.len();
        self.wrapped = false;
        self.count = 0;
    }

    /// Where a record of `total` bytes would be written, if it fits now.
    fn place(&self, total: usize) -> Option<usize> {
        if self.count == 0 {
            return (total <= self.buf.len()).then_some(0);
        }
        if self.wrapped {
            (self.read - self.write >= total).then_some(self.write)
        } else if self.buf.len() - self.write >= total {
            Some(self.write)
        } else if self.read >= total {
            Some(0)
        } else {
            None
        }
    }

    /// The payload area for a datagram of `len` bytes, if one fits now. Nothing is queued until
    /// [`commit`](Self::commit) is called with the same `len`, so the caller can fill the area,
    /// verify a checksum and then decide.
    pub fn reserve(&mut self, len: usize) -> Option<&mut [u8]> {
        if len > usize::from(u16::MAX) {
            return None;
        }
        let total = RECORD_HEADER_LEN + len;
        let at = self.place(total)?;
        self.buf.get_mut(at + RECORD_HEADER_LEN..at + total)
    }

    /// Queue the datagram whose payload was written into the area [`reserve`](Self::reserve)
    /// returned. Returns false (and queues nothing) if it does not fit.
    pub fn commit(&mut self, meta: RecordMeta, len: usize) -> bool {
        if len > usize::from(u16::MAX) {
            return false;
        }
        let total = RECORD_HEADER_LEN + len;
        let Some(at) = self.place(total) else {
            return false;
        };
        if self.count == 0 {
            self.read = 0;
            self.write = 0;
            self.wrapped = false;
            self.wrap = self.buf.len();
        } else if !self.wrapped && at == 0 {
            self.wrapped = true;
            self.wrap = self.write;
        }
        // `place` found `total` bytes at `at`: the bound only keeps this panic-free.
        let Some(h) = self.buf.get_mut(at..).and_then(|b| b.first_chunk_mut()) else {
            return false;
        };
        *h = record_header(len as u16, meta);
        self.write = at + total;
        self.count += 1;
        true
    }

    /// Copy `payload` in and queue it. False if it does not fit.
    pub fn push(&mut self, meta: RecordMeta, payload: &[u8]) -> bool {
        match self.reserve(payload.len()) {
            Some(area) => area.copy_from_slice(payload),
            None => return false,
        }
        self.commit(meta, payload.len())
    }

    fn head(&self) -> Option<(usize, RecordMeta, usize)> {
        if self.count == 0 {
            return None;
        }
        let h = self
            .buf
            .get(self.read..)?
            .first_chunk::<RECORD_HEADER_LEN>()?;
        let len = usize::from(u16::from_be_bytes([h[0], h[1]]));
        let meta = RecordMeta {
            port: u16::from_be_bytes([h[2], h[3]]),
            addr: Ipv4Addr::new(h[4], h[5], h[6], h[7]),
            local: Ipv4Addr::new(h[8], h[9], h[10], h[11]),
        };
        Some((self.read + RECORD_HEADER_LEN, meta, len))
    }

    /// The oldest datagram and its metadata, without removing it.
    pub fn peek(&self) -> Option<(RecordMeta, &[u8])> {
        let (at, meta, len) = self.head()?;
        Some((meta, self.buf.get(at..at + len)?))
    }

    /// The oldest datagram, mutable (e.g. to patch a checksum before sending).
    pub fn peek_mut(&mut self) -> Option<(RecordMeta, &mut [u8])> {
        let (at, meta, len) = self.head()?;
        Some((meta, self.buf.get_mut(at..at + len)?))
    }

    /// Change the metadata of the oldest datagram.
    pub fn set_head_meta(&mut self, meta: RecordMeta) {
        if self.count > 0
            && let Some(h) = self
                .buf
                .get_mut(self.read..)
                .and_then(|b| b.first_chunk_mut::<RECORD_HEADER_LEN>())
        {
            *h = record_header(u16::from_be_bytes([h[0], h[1]]), meta);
        }
    }

    /// Remove the oldest datagram.
    pub fn pop(&mut self) {
        let Some((at, _, len)) = self.head() else {
            return;
        };
        self.read = at + len;
        self.count -= 1;
        if self.count == 0 {
            self.clear();
        } else if self.wrapped && self.read >= self.wrap {
            self.read = 0;
            self.wrapped = false;
            self.wrap = self.buf.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(port: u16) -> RecordMeta {
        RecordMeta {
            port,
            addr: Ipv4Addr::new(192, 0, 2, 1),
            local: Ipv4Addr::new(192, 0, 2, 2),
        }
    }

    #[test]
    fn fifo_and_wrap() {
        let mut storage = [0u8; 64];
        let mut r = DatagramRing::new(&mut storage);
        assert_eq!(r.max_payload(), 52);
        assert!(r.push(meta(1), &[1; 20])); // 0..32
        assert!(r.push(meta(2), &[2; 10])); // 32..54
        assert!(!r.push(meta(3), &[3; 20])); // no room at end, none at start
        r.pop(); // read = 32
        assert!(r.push(meta(3), &[3; 20])); // wraps to 0..32
        assert!(!r.push(meta(4), &[4; 1]));
        let (m, d) = r.peek().unwrap();
        assert_eq!((m.port, d), (2, &[2u8; 10][..]));
        r.pop();
        let (m, d) = r.peek().unwrap();
        assert_eq!((m.port, d.len()), (3, 20));
        assert!(r.push(meta(5), &[5; 8])); // after the wrapped record
        r.pop();
        assert_eq!(r.peek().unwrap().0.port, 5);
        r.pop();
        assert!(r.is_empty());
        assert!(r.push(meta(6), &[6; 52]));
        assert!(!r.push(meta(7), &[]));
    }

    #[test]
    fn reserve_without_commit_queues_nothing() {
        let mut storage = [0u8; 40];
        let mut r = DatagramRing::new(&mut storage);
        r.reserve(10).unwrap().fill(9);
        assert!(r.is_empty());
        assert!(r.reserve(29).is_none());
        assert!(r.commit(meta(1), 10));
        assert_eq!(r.peek().unwrap().1, &[9; 10]);
    }

    proptest::proptest! {
        #[test]
        fn model_check(ops in proptest::collection::vec((proptest::bool::ANY, 0usize..40), 0..200)) {
            let mut storage = [0u8; 100];
            let mut r = DatagramRing::new(&mut storage);
            let mut model: [(u16, usize); 64] = [(0, 0); 64];
            let (mut head, mut tail) = (0usize, 0usize);
            let mut next = 0u16;
            for (push, len) in ops {
                if push {
                    let data = [next as u8; 40];
                    if r.push(meta(next), &data[..len]) {
                        model[tail % 64] = (next, len);
                        tail += 1;
                    } else {
                        // A failed push must be explained by lack of space.
                        proptest::prop_assert!(tail - head > 0);
                    }
                    next = next.wrapping_add(1);
                } else if tail > head {
                    let (m, d) = r.peek().unwrap();
                    let (p, l) = model[head % 64];
                    proptest::prop_assert_eq!(m.port, p);
                    proptest::prop_assert_eq!(d.len(), l);
                    proptest::prop_assert!(d.iter().all(|&b| b == p as u8));
                    r.pop();
                    head += 1;
                } else {
                    proptest::prop_assert!(r.peek().is_none());
                }
                proptest::prop_assert_eq!(r.len(), tail - head);
            }
        }
    }
}
