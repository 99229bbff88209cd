//! Recording frames to a pcap file that Wireshark and tcpdump open.
//!
//! [`PcapWriter`] writes the classic libpcap format (not pcapng): a 24-byte global header with
//! link type `LINKTYPE_ETHERNET` (1) and microsecond timestamps, then one 16-byte record header
//! plus the frame bytes per frame. The format is written little-endian, which every reader
//! recognises from the magic number.
//!
//! [`Pcap`] wraps any [`embassy_net_driver::Driver`] and records every frame the stack receives
//! through it (before the stack sees it) and every frame it transmits (after the stack filled
//! it), so a capture shows exactly what crossed the driver boundary.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::task::Context;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};

/// The magic number of a classic pcap file with microsecond timestamps.
pub const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// `LINKTYPE_ETHERNET`: every record is an Ethernet II frame starting at the destination MAC.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// The snapshot length written in the header: frames longer than this are cut in the file
/// (their original length is still recorded).
pub const SNAPLEN: u32 = 65535;
/// Size of the global header at the start of every pcap file.
pub const GLOBAL_HEADER_LEN: usize = 24;
/// Size of the header in front of each recorded frame.
pub const RECORD_HEADER_LEN: usize = 16;

/// Writes frames in the classic libpcap format to any [`Write`].
///
/// Each record is written with one `write_all` call, so a file read while the program runs (or
/// after it was killed) ends at a record boundary as long as the writer is unbuffered.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    record: Vec<u8>,
    records: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header to `out` and returns a writer ready for records.
    ///
    /// # Errors
    /// The error of writing the header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut header = [0u8; GLOBAL_HEADER_LEN];
        header[0..4].copy_from_slice(&PCAP_MAGIC_MICROS.to_le_bytes());
        header[4..6].copy_from_slice(&2u16.to_le_bytes()); // version 2.4
        header[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone (GMT offset) and sigfigs stay 0, as every writer does.
        header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        header[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            record: Vec::with_capacity(RECORD_HEADER_LEN + 1536),
            records: 0,
        })
    }

    /// Records `frame` with the timestamp `since_epoch` (time since the Unix epoch).
    ///
    /// # Errors
    /// The error of writing the record.
    pub fn write_record(&mut self, since_epoch: Duration, frame: &[u8]) -> io::Result<()> {
        let original_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let included = original_len.min(SNAPLEN);
        // Seconds wrap in 2106, as the format itself does.
        let seconds = since_epoch.as_secs() as u32;
        self.record.clear();
        self.record.extend_from_slice(&seconds.to_le_bytes());
        self.record
            .extend_from_slice(&since_epoch.subsec_micros().to_le_bytes());
        self.record.extend_from_slice(&included.to_le_bytes());
        self.record.extend_from_slice(&original_len.to_le_bytes());
        self.record.extend_from_slice(&frame[..included as usize]);
        self.out.write_all(&self.record)?;
        self.records += 1;
        Ok(())
    }

    /// Records `frame` with the current wall-clock time.
    ///
    /// # Errors
    /// The error of writing the record.
    pub fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        self.write_record(now, frame)
    }

    /// How many records were written.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Flushes the underlying writer.
    ///
    /// # Errors
    /// The error of flushing.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Gives back the underlying writer (not flushed: call [`PcapWriter::flush`] first if it
    /// buffers).
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The recording half shared by a [`Pcap`] driver and the tokens it hands out.
#[derive(Debug)]
struct Recorder<W: Write> {
    writer: RefCell<PcapWriter<W>>,
    errors: Cell<u64>,
}

impl<W: Write> Recorder<W> {
    fn record(&self, frame: &[u8]) {
        // A token never outlives the driver call that made it and records exactly once, so the
        // writer is never borrowed twice; should that change, the frame is skipped, not a panic.
        let written = match self.writer.try_borrow_mut() {
            Ok(mut writer) => writer.write_frame(frame).is_ok(),
            Err(_) => false,
        };
        if !written {
            self.errors.set(self.errors.get() + 1);
        }
    }
}

/// A driver wrapper that records every frame received and transmitted through the driver `D`
/// into a pcap file, so the traffic can be opened in Wireshark.
///
/// It is itself a [`Driver`]: hand it to the stack in place of the inner driver.
///
/// ```no_run
/// use host_tap::{pcap::Pcap, TapDevice};
///
/// # fn main() -> std::io::Result<()> {
/// let mut driver = Pcap::create(TapDevice::open("tap0")?, "/tmp/stack.pcap")?;
/// // ... stack.poll(&mut driver, now) ...
/// driver.flush()?;
/// # Ok(())
/// # }
/// ```
///
/// A failed write does not disturb the traffic: the frame still passes, and the failure is
/// counted in [`Pcap::write_errors`].
#[derive(Debug)]
pub struct Pcap<D, W: Write = BufWriter<File>> {
    inner: D,
    recorder: Recorder<W>,
}

impl<D: Driver> Pcap<D, BufWriter<File>> {
    /// Creates (or truncates) the file at `path`, writes the pcap header and wraps `inner`.
    /// The file is buffered: call [`Pcap::flush`] before the program exits.
    ///
    /// # Errors
    /// The error of creating the file or writing its header.
    pub fn create(inner: D, path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot create pcap file {}: {error}", path.display()),
            )
        })?;
        Self::new(inner, BufWriter::new(file))
    }
}

impl<D: Driver, W: Write> Pcap<D, W> {
    /// Wraps `inner`, recording into `out` (the pcap header is written now).
    ///
    /// # Errors
    /// The error of writing the header.
    pub fn new(inner: D, out: W) -> io::Result<Self> {
        Ok(Pcap {
            inner,
            recorder: Recorder {
                writer: RefCell::new(PcapWriter::new(out)?),
                errors: Cell::new(0),
            },
        })
    }

    /// The wrapped driver.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped driver, mutably.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// How many frames were recorded.
    pub fn records(&self) -> u64 {
        self.recorder.writer.borrow().records()
    }

    /// How many frames could not be recorded because writing failed.
    pub fn write_errors(&self) -> u64 {
        self.recorder.errors.get()
    }

    /// Flushes the capture file.
    ///
    /// # Errors
    /// The error of flushing.
    pub fn flush(&mut self) -> io::Result<()> {
        self.recorder.writer.get_mut().flush()
    }

    /// Unwraps into the inner driver and the pcap writer.
    pub fn into_parts(self) -> (D, PcapWriter<W>) {
        (self.inner, self.recorder.writer.into_inner())
    }
}

/// The receive token of a [`Pcap`] driver: records the frame, then hands it to the stack.
pub struct PcapRxToken<'a, T, W: Write> {
    inner: T,
    recorder: &'a Recorder<W>,
}

impl<T: RxToken, W: Write> RxToken for PcapRxToken<'_, T, W> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let recorder = self.recorder;
        self.inner.consume(|frame| {
            // Recorded before the stack sees it: the stack may rewrite the buffer in place.
            recorder.record(frame);
            f(frame)
        })
    }
}

/// The transmit token of a [`Pcap`] driver: lets the stack fill the frame, then records it.
pub struct PcapTxToken<'a, T, W: Write> {
    inner: T,
    recorder: &'a Recorder<W>,
}

impl<T: TxToken, W: Write> TxToken for PcapTxToken<'_, T, W> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let recorder = self.recorder;
        self.inner.consume(len, |frame| {
            let result = f(frame);
            recorder.record(frame);
            result
        })
    }
}

impl<D: Driver, W: Write> Driver for Pcap<D, W> {
    type RxToken<'a>
        = PcapRxToken<'a, D::RxToken<'a>, W>
    where
        Self: 'a;
    type TxToken<'a>
        = PcapTxToken<'a, D::TxToken<'a>, W>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let recorder = &self.recorder;
        self.inner.receive(cx).map(|(rx, tx)| {
            (
                PcapRxToken {
                    inner: rx,
                    recorder,
                },
                PcapTxToken {
                    inner: tx,
                    recorder,
                },
            )
        })
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        let recorder = &self.recorder;
        self.inner.transmit(cx).map(|tx| PcapTxToken {
            inner: tx,
            recorder,
        })
    }

    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        self.inner.link_state(cx)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn hardware_address(&self) -> HardwareAddress {
        self.inner.hardware_address()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::task::Waker;

    #[test]
    fn global_header_and_one_record_are_byte_exact() {
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        let frame = [
            0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x06,
        ];
        writer
            .write_record(Duration::new(0x6543_2101, 123_456_789), &frame)
            .unwrap();
        assert_eq!(writer.records(), 1);
        let bytes = writer.into_inner();
        let mut expected = vec![
            0xd4, 0xc3, 0xb2, 0xa1, // magic, little-endian, microseconds
            0x02, 0x00, 0x04, 0x00, // version 2.4
            0x00, 0x00, 0x00, 0x00, // thiszone
            0x00, 0x00, 0x00, 0x00, // sigfigs
            0xff, 0xff, 0x00, 0x00, // snaplen 65535
            0x01, 0x00, 0x00, 0x00, // LINKTYPE_ETHERNET
            0x01, 0x21, 0x43, 0x65, // ts_sec
            0x40, 0xe2, 0x01, 0x00, // ts_usec = 123456 (nanoseconds truncated)
            0x0e, 0x00, 0x00, 0x00, // incl_len 14
            0x0e, 0x00, 0x00, 0x00, // orig_len 14
        ];
        expected.extend_from_slice(&frame);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn frames_longer_than_the_snaplen_are_cut_but_keep_their_length() {
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        let frame = vec![0xabu8; SNAPLEN as usize + 10];
        writer.write_record(Duration::ZERO, &frame).unwrap();
        let bytes = writer.into_inner();
        let record = &bytes[GLOBAL_HEADER_LEN..];
        assert_eq!(&record[8..12], &SNAPLEN.to_le_bytes());
        assert_eq!(&record[12..16], &(SNAPLEN + 10).to_le_bytes());
        assert_eq!(record.len(), RECORD_HEADER_LEN + SNAPLEN as usize);
    }

    /// A driver that hands out queued frames and keeps what is sent.
    #[derive(Default)]
    struct FakeDriver {
        incoming: VecDeque<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    struct FakeRx(Vec<u8>);
    struct FakeTx<'a>(&'a mut Vec<Vec<u8>>);

    impl RxToken for FakeRx {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
            f(&mut self.0)
        }
    }

    impl TxToken for FakeTx<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let mut frame = vec![0; len];
            let result = f(&mut frame);
            self.0.push(frame);
            result
        }
    }

    impl Driver for FakeDriver {
        type RxToken<'a> = FakeRx;
        type TxToken<'a> = FakeTx<'a>;

        fn receive(&mut self, _: &mut Context) -> Option<(FakeRx, FakeTx<'_>)> {
            let frame = self.incoming.pop_front()?;
            Some((FakeRx(frame), FakeTx(&mut self.sent)))
        }
        fn transmit(&mut self, _: &mut Context) -> Option<FakeTx<'_>> {
            Some(FakeTx(&mut self.sent))
        }
        fn link_state(&mut self, _: &mut Context) -> LinkState {
            LinkState::Up
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }
        fn hardware_address(&self) -> HardwareAddress {
            HardwareAddress::Ethernet([2, 0, 0, 0, 0, 9])
        }
    }

    /// Splits a pcap file into the frames of its records.
    fn records(file: &[u8]) -> Vec<Vec<u8>> {
        assert_eq!(&file[..4], &PCAP_MAGIC_MICROS.to_le_bytes());
        let mut rest = &file[GLOBAL_HEADER_LEN..];
        let mut out = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_le_bytes(rest[8..12].try_into().unwrap()) as usize;
            out.push(rest[RECORD_HEADER_LEN..RECORD_HEADER_LEN + len].to_vec());
            rest = &rest[RECORD_HEADER_LEN + len..];
        }
        out
    }

    #[test]
    fn the_wrapper_records_both_directions_in_order() {
        let mut fake = FakeDriver::default();
        fake.incoming.push_back(vec![1, 2, 3, 4]);
        let mut driver = Pcap::new(fake, Vec::new()).unwrap();
        let mut cx = Context::from_waker(Waker::noop());

        // Receive one frame and answer it through the paired transmit token.
        let (rx, tx) = driver.receive(&mut cx).expect("a frame is queued");
        let seen = rx.consume(|frame| {
            let copy = frame.to_vec();
            frame[0] = 0xee; // the stack may scribble on the buffer; the capture must not change
            copy
        });
        assert_eq!(seen, vec![1, 2, 3, 4]);
        tx.consume(3, |frame| frame.copy_from_slice(&[9, 8, 7]));

        // A transmit on its own.
        let tx = driver.transmit(&mut cx).unwrap();
        tx.consume(2, |frame| frame.copy_from_slice(&[5, 5]));
        assert!(driver.receive(&mut cx).is_none());

        assert_eq!(driver.records(), 3);
        assert_eq!(driver.write_errors(), 0);
        assert_eq!(
            driver.hardware_address(),
            HardwareAddress::Ethernet([2, 0, 0, 0, 0, 9])
        );
        let (fake, writer) = driver.into_parts();
        assert_eq!(fake.sent, vec![vec![9, 8, 7], vec![5, 5]]);
        assert_eq!(
            records(&writer.into_inner()),
            vec![vec![1, 2, 3, 4], vec![9, 8, 7], vec![5, 5]]
        );
    }

    /// A writer that takes the pcap header, then fails every write (a full disk).
    struct FullAfterHeader {
        taken: usize,
    }

    impl Write for FullAfterHeader {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.taken >= GLOBAL_HEADER_LEN {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(GLOBAL_HEADER_LEN - self.taken);
            self.taken += n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_capture_does_not_stop_the_traffic() {
        let mut driver = Pcap::new(FakeDriver::default(), FullAfterHeader { taken: 0 }).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        driver
            .transmit(&mut cx)
            .unwrap()
            .consume(1, |frame| frame[0] = 1);
        assert_eq!(driver.write_errors(), 1);
        assert_eq!(driver.records(), 0);
        assert_eq!(driver.inner().sent, vec![vec![1]]);
    }
}
