//! A fixed pool of equal-sized packet buffers carved out of one caller-owned byte slice.
//!
//! The pool hands out [`PacketBuf`] handles. A handle is neither `Clone` nor `Copy`, its fields
//! are private, and [`PacketPool::free`] takes it by value, so the type system (not a
//! convention) rules out the two classic pool bugs:
//!
//! * **double free**: the second `free` would use a moved value;
//! * **use after free**: the bytes are only reachable through a handle, and the handle is gone.
//!
//! Correct use: allocate, write, read, free.
//!
//! ```
//! # use stack_runtime::pool::PacketPool;
//! let mut bytes = [0u8; 2 * 64];
//! let mut pool = PacketPool::new(&mut bytes, 64);
//! let mut buf = pool.alloc().unwrap();
//! pool.buffer_mut(&buf)[..3].copy_from_slice(b"abc");
//! pool.set_len(&mut buf, 3);
//! assert_eq!(pool.bytes(&buf), b"abc");
//! pool.free(buf);
//! assert_eq!(pool.stats().in_use, 0);
//! ```
//!
//! The same code with the mistakes does not compile:
//!
//! ```compile_fail,E0382
//! # use stack_runtime::pool::PacketPool;
//! let mut bytes = [0u8; 2 * 64];
//! let mut pool = PacketPool::new(&mut bytes, 64);
//! let buf = pool.alloc().unwrap();
//! pool.free(buf);
//! pool.free(buf); // error[E0382]: use of moved value: `buf`
//! ```
//!
//! ```compile_fail,E0382
//! # use stack_runtime::pool::PacketPool;
//! let mut bytes = [0u8; 2 * 64];
//! let mut pool = PacketPool::new(&mut bytes, 64);
//! let buf = pool.alloc().unwrap();
//! pool.free(buf);
//! let _ = pool.bytes(&buf); // error[E0382]: borrow of moved value: `buf`
//! ```
//!
//! ```compile_fail,E0599
//! # use stack_runtime::pool::PacketPool;
//! let mut bytes = [0u8; 2 * 64];
//! let mut pool = PacketPool::new(&mut bytes, 64);
//! let buf = pool.alloc().unwrap();
//! let copy = buf.clone(); // error[E0599]: no method named `clone`
//! ```
//!
//! A handle dropped without `free` leaks its buffer (the pool cannot see a drop without an
//! `unsafe` back-pointer); the handle is `#[must_use]` and the stack never drops one, and the
//! pool's `in_use` statistic makes a leak visible.
//!
//! Every pool tracks its usage: buffers in use, the high-water mark and the number of failed
//! allocations, reported through [`crate::Stats`].

/// The most buffers one pool manages (the allocation bitmap is a fixed array so that the pool
/// needs no extra storage from the caller). Buffers beyond this count are left unused.
pub const MAX_BUFFERS: usize = 256;

const WORDS: usize = MAX_BUFFERS / 32;

/// Buffers of the packet pool that socket data (received or queued UDP datagrams, TCP data)
/// never takes: they stay free for the frames the stack builds itself (ARP requests and
/// replies, ICMP replies and errors, DHCP and DNS messages, TCP ACKs and resets), so a socket
/// that fills the pool cannot stop the stack from resolving the addresses its own data waits
/// for, or from answering at all. Two, because the usual worst case is one ARP request plus
/// one reply (ARP or ICMP) built in the same poll. A pool of fewer than `2 × FRAME_RESERVE`
/// buffers keeps half ([`PacketPool::frame_reserve`]).
pub const FRAME_RESERVE: usize = 2;

/// The usage statistics of one pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Number of buffers the pool manages.
    pub capacity: u32,
    /// Buffers currently allocated.
    pub in_use: u32,
    /// The most buffers ever allocated at once.
    pub high_water: u32,
    /// Allocations that failed because every buffer was in use.
    pub alloc_failures: u32,
}

/// A handle to one allocated buffer of a [`PacketPool`]: the only way to reach its bytes.
///
/// It carries the length of the packet stored in the buffer. It cannot be copied or cloned and
/// is consumed by [`PacketPool::free`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a PacketBuf must be returned with PacketPool::free, or its buffer leaks"]
pub struct PacketBuf {
    index: u16,
    len: u16,
}

impl PacketBuf {
    /// Length of the packet held in the buffer (set with [`PacketPool::set_len`]).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when no packet length has been set.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A fixed pool of `count × size` byte buffers over caller-owned storage.
#[derive(Debug)]
pub struct PacketPool<'a> {
    storage: &'a mut [u8],
    size: usize,
    count: usize,
    used: [u32; WORDS],
    stats: PoolStats,
}

impl<'a> PacketPool<'a> {
    /// A pool over `storage` split into buffers of `size` bytes. The number of buffers is
    /// `storage.len() / size`, capped at [`MAX_BUFFERS`]; a `size` of zero gives an empty pool.
    pub fn new(storage: &'a mut [u8], size: usize) -> Self {
        let count = storage
            .len()
            .checked_div(size)
            .unwrap_or(0)
            .min(MAX_BUFFERS);
        // A buffer longer than u16::MAX could not have its length recorded in the handle.
        let size = size.min(usize::from(u16::MAX));
        PacketPool {
            storage,
            size,
            count,
            used: [0; WORDS],
            stats: PoolStats {
                capacity: count as u32,
                ..PoolStats::default()
            },
        }
    }

    /// Size in bytes of every buffer.
    pub fn buffer_size(&self) -> usize {
        self.size
    }

    /// Number of buffers.
    pub fn capacity(&self) -> usize {
        self.count
    }

    /// Number of buffers not allocated.
    pub fn available(&self) -> usize {
        self.count - self.stats.in_use as usize
    }

    /// Buffers kept for frames the stack builds: [`FRAME_RESERVE`], at most half the pool.
    pub fn frame_reserve(&self) -> usize {
        FRAME_RESERVE.min(self.count / 2)
    }

    /// Buffers socket data may take now: the free ones beyond the
    /// [`frame_reserve`](Self::frame_reserve).
    pub fn available_for_data(&self) -> usize {
        self.available().saturating_sub(self.frame_reserve())
    }

    /// The pool's usage statistics.
    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Allocate a buffer (length 0). `None`, counted as an allocation failure, when all are in
    /// use.
    pub fn alloc(&mut self) -> Option<PacketBuf> {
        // The first clear bit, a word at a time (bits past `count` are never set, so only the
        // index needs the bound): TCP data can hold most of a large pool.
        let index = self
            .used
            .iter()
            .enumerate()
            .find(|(_, w)| **w != u32::MAX)
            .map(|(i, w)| i * 32 + w.trailing_ones() as usize)
            .filter(|&i| i < self.count);
        let Some(index) = index else {
            self.stats.alloc_failures = self.stats.alloc_failures.saturating_add(1);
            return None;
        };
        if let Some(w) = self.used.get_mut(index / 32) {
            *w |= 1 << (index % 32);
        }
        self.stats.in_use += 1;
        self.stats.high_water = self.stats.high_water.max(self.stats.in_use);
        Some(PacketBuf {
            index: index as u16,
            len: 0,
        })
    }

    /// Return a buffer to the pool. Consumes the handle, so it cannot be freed twice.
    pub fn free(&mut self, buf: PacketBuf) {
        let index = usize::from(buf.index);
        let (w, bit) = (index / 32, 1u32 << (index % 32));
        // A handle always comes from `alloc` of some pool; the check keeps a handle from another
        // pool from corrupting the counters.
        if index < self.count && self.used[w] & bit != 0 {
            self.used[w] &= !bit;
            self.stats.in_use -= 1;
        }
    }

    fn range(&self, buf: &PacketBuf) -> core::ops::Range<usize> {
        let start = usize::from(buf.index) * self.size;
        start..start + self.size
    }

    /// The whole buffer behind `buf` (all `buffer_size()` bytes), for writing a packet.
    pub fn buffer_mut(&mut self, buf: &PacketBuf) -> &mut [u8] {
        let r = self.range(buf);
        self.storage.get_mut(r).unwrap_or(&mut [])
    }

    /// The packet in `buf`: its first `buf.len()` bytes.
    pub fn bytes(&self, buf: &PacketBuf) -> &[u8] {
        let r = self.range(buf);
        let b = self.storage.get(r).unwrap_or(&[]);
        &b[..buf.len().min(b.len())]
    }

    /// The packet in `buf`, mutable.
    pub fn bytes_mut(&mut self, buf: &PacketBuf) -> &mut [u8] {
        let len = buf.len();
        let b = self.buffer_mut(buf);
        let n = len.min(b.len());
        &mut b[..n]
    }

    /// Record the length of the packet written into `buf` (clamped to the buffer size).
    pub fn set_len(&self, buf: &mut PacketBuf, len: usize) {
        buf.len = len.min(self.size) as u16;
    }

    // Buffer numbers instead of handles, for the TCP queues (stack-runtime/src/tcp/
    // segment_pool.rs): they keep one byte per buffer in a connection slot and are the only
    // owners of the numbers they hold, so the handle discipline holds one level up.

    /// Allocate a buffer and return its number ([`MAX_BUFFERS`] = 256 fits a byte).
    pub(crate) fn alloc_index(&mut self) -> Option<u8> {
        let PacketBuf { index, .. } = self.alloc()?;
        Some(index as u8)
    }

    /// Return buffer number `index`; false (and nothing changes) when it was not allocated.
    pub(crate) fn free_index(&mut self, index: u8) -> bool {
        let index = usize::from(index);
        let (w, bit) = (index / 32, 1u32 << (index % 32));
        match self.used.get_mut(w) {
            Some(word) if index < self.count && *word & bit != 0 => {
                *word &= !bit;
                self.stats.in_use -= 1;
                true
            }
            _ => false,
        }
    }

    /// The whole of buffer number `index` (empty when out of range).
    pub(crate) fn buffer_at(&self, index: u8) -> &[u8] {
        let start = usize::from(index) * self.size;
        self.storage.get(start..start + self.size).unwrap_or(&[])
    }

    /// The last `N` bytes of buffer number `index` (`None` when out of range or when buffers
    /// are shorter): where the TCP queues keep their per-buffer metadata.
    pub(crate) fn buffer_tail<const N: usize>(&self, index: u8) -> Option<&[u8; N]> {
        let end = (usize::from(index) + 1) * self.size;
        let start = end.checked_sub(N).filter(|_| N <= self.size)?;
        self.storage.get(start..end)?.try_into().ok()
    }

    /// The last `N` bytes of buffer number `index`, mutable.
    pub(crate) fn buffer_tail_mut<const N: usize>(&mut self, index: u8) -> Option<&mut [u8; N]> {
        let end = (usize::from(index) + 1) * self.size;
        let start = end.checked_sub(N).filter(|_| N <= self.size)?;
        self.storage.get_mut(start..end)?.try_into().ok()
    }

    /// The whole of buffer number `index`, mutable (empty when out of range).
    pub(crate) fn buffer_at_mut(&mut self, index: u8) -> &mut [u8] {
        let start = usize::from(index) * self.size;
        self.storage
            .get_mut(start..start + self.size)
            .unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_counts_and_high_water() {
        let mut bytes = [0u8; 3 * 100];
        let mut pool = PacketPool::new(&mut bytes, 100);
        assert_eq!(pool.capacity(), 3);
        let a = pool.alloc().unwrap();
        let b = pool.alloc().unwrap();
        let c = pool.alloc().unwrap();
        assert!(pool.alloc().is_none());
        assert_eq!(pool.stats().alloc_failures, 1);
        assert_eq!(pool.stats().in_use, 3);
        pool.free(b);
        assert_eq!(pool.available(), 1);
        let mut d = pool.alloc().unwrap();
        pool.buffer_mut(&d)[..4].copy_from_slice(&[1, 2, 3, 4]);
        pool.set_len(&mut d, 4);
        assert_eq!(pool.bytes(&d), &[1, 2, 3, 4]);
        pool.set_len(&mut d, 1000);
        assert_eq!(d.len(), 100);
        pool.free(a);
        pool.free(c);
        pool.free(d);
        let s = pool.stats();
        assert_eq!((s.in_use, s.high_water, s.capacity), (0, 3, 3));
    }

    #[test]
    fn buffers_are_disjoint() {
        let mut bytes = [0u8; 4 * 8];
        let mut pool = PacketPool::new(&mut bytes, 8);
        let a = pool.alloc().unwrap();
        let b = pool.alloc().unwrap();
        pool.buffer_mut(&a).fill(0xaa);
        pool.buffer_mut(&b).fill(0xbb);
        assert!(pool.buffer_mut(&a).iter().all(|&x| x == 0xaa));
        pool.free(a);
        pool.free(b);
    }

    #[test]
    fn frame_reserve_is_kept_from_data() {
        let mut bytes = [0u8; 5 * 8];
        let mut pool = PacketPool::new(&mut bytes, 8);
        assert_eq!(pool.frame_reserve(), FRAME_RESERVE);
        assert_eq!(pool.available_for_data(), 5 - FRAME_RESERVE);
        let a = pool.alloc().unwrap();
        let b = pool.alloc().unwrap();
        let c = pool.alloc().unwrap();
        assert_eq!(pool.available_for_data(), 0);
        assert_eq!(pool.available(), FRAME_RESERVE);
        pool.free(a);
        assert_eq!(pool.available_for_data(), 1);
        pool.free(b);
        pool.free(c);
        // A tiny pool keeps half of itself.
        let mut bytes = [0u8; 3 * 8];
        let pool = PacketPool::new(&mut bytes, 8);
        assert_eq!((pool.frame_reserve(), pool.available_for_data()), (1, 2));
    }

    #[test]
    fn zero_size_and_empty() {
        let mut bytes = [0u8; 10];
        let mut pool = PacketPool::new(&mut bytes, 0);
        assert_eq!(pool.capacity(), 0);
        assert!(pool.alloc().is_none());
        let mut none: [u8; 0] = [];
        let mut pool = PacketPool::new(&mut none, 64);
        assert!(pool.alloc().is_none());
    }

    #[test]
    fn cap_at_max_buffers() {
        let mut bytes = [0u8; 300];
        let mut pool = PacketPool::new(&mut bytes, 1);
        assert_eq!(pool.capacity(), MAX_BUFFERS);
        let mut held = [const { None }; MAX_BUFFERS];
        for slot in held.iter_mut() {
            *slot = pool.alloc();
            assert!(slot.is_some());
        }
        assert!(pool.alloc().is_none());
        for slot in held.iter_mut() {
            pool.free(slot.take().unwrap());
        }
        assert_eq!(pool.stats().in_use, 0);
    }
}
