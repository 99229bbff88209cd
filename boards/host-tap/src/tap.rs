//! The TAP device: `/dev/net/tun` in TAP mode, non-blocking, as an `embassy-net-driver` driver.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::task::Context;
use std::time::Duration;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};

/// The largest Ethernet frame the device passes, header included and FCS excluded: an IP MTU of
/// 1500 plus the 14-byte Ethernet header. This is what [`Driver::capabilities`] reports.
pub const ETHERNET_MTU: usize = 1514;

/// The MAC address a [`TapDevice`] reports until [`TapDevice::with_mac`] sets another one:
/// `02:00:00:00:00:02`, a locally administered unicast address.
pub const DEFAULT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

/// Size of the receive buffer. Frames on a TAP interface are at most its MTU plus 14 bytes, but
/// a user may raise the interface MTU; a 64 KiB buffer means no frame the kernel hands over is
/// ever cut short (an oversized frame reaches the stack whole, and the stack counts the drop).
const RX_BUFFER_LEN: usize = 65536;

/// The `struct ifreq` of `<net/if.h>` as `TUNSETIFF` reads it: the interface name, then the
/// flags at the start of the union. Declared here instead of using `libc::ifreq` so that every
/// byte handed to the kernel is initialised (the union's other members are larger than the
/// flags).
#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    padding: [u8; IFREQ_UNION_LEN - 2],
}

/// Size of the union part of `struct ifreq` (24 bytes on 64-bit Linux, 16 on 32-bit).
const IFREQ_UNION_LEN: usize = std::mem::size_of::<libc::ifreq>() - libc::IFNAMSIZ;

const _: () = assert!(std::mem::size_of::<IfReqFlags>() == std::mem::size_of::<libc::ifreq>());

/// Frame counters of a [`TapDevice`], kept by the board because failures here never reach the
/// stack's own statistics (a frame the kernel refused to take is lost below the stack).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapCounters {
    /// Frames read from the kernel and handed to the stack.
    pub rx_frames: u64,
    /// Frames written to the kernel.
    pub tx_frames: u64,
    /// Reads that failed with an error other than "no frame waiting".
    pub rx_errors: u64,
    /// Writes that failed or were cut short; the frame is lost. Writing while the interface is
    /// down fails with `EIO`, so a climbing counter usually means `ip link set DEV up` is missing.
    pub tx_errors: u64,
}

/// A Linux TAP interface opened through `/dev/net/tun`, as an [`embassy_net_driver::Driver`].
///
/// The file descriptor is non-blocking: [`Driver::receive`] returns `None` at once when no frame
/// is waiting, and [`TapDevice::wait`] is how a poll loop sleeps until one arrives.
///
/// Frames are never lost between the driver and the stack: a frame read from the kernel stays in
/// the device until its [`RxToken`] is consumed, so a token dropped unconsumed (for instance
/// because the stack had no buffer for it) hands the same frame out again on the next
/// [`Driver::receive`].
///
/// The driver does not register wakers: it is meant for the poll API, where the application loop
/// calls [`TapDevice::wait`]. An async executor would never be woken by it.
#[derive(Debug)]
pub struct TapDevice {
    file: File,
    name: String,
    mac: [u8; 6],
    rx: RxState,
    tx: TxState,
}

#[derive(Debug)]
struct RxState {
    buffer: Box<[u8]>,
    /// Length of the frame in `buffer` not yet consumed by the stack.
    pending: Option<usize>,
    frames: u64,
    errors: u64,
}

#[derive(Debug)]
struct TxState {
    buffer: Vec<u8>,
    frames: u64,
    errors: u64,
}

impl TapDevice {
    /// Opens the TAP interface `name`, creating it if it does not exist.
    ///
    /// A persistent interface made beforehand with `ip tuntap add dev NAME mode tap` (the usual
    /// way: it can then be configured and owned by an unprivileged user) is attached to; otherwise
    /// the kernel creates a transient one, which needs `CAP_NET_ADMIN` and disappears when the
    /// device is dropped. The interface is opened with `IFF_TAP | IFF_NO_PI`: whole Ethernet
    /// frames, without the 4-byte packet-information prefix.
    ///
    /// The interface must also be up (`ip link set NAME up`) before frames flow.
    ///
    /// # Errors
    /// `InvalidInput` for a name that is empty, longer than 15 bytes or contains a NUL byte; the
    /// error of `open("/dev/net/tun")` (missing module, no permission); the error of the
    /// `TUNSETIFF` ioctl, for example `EBUSY` when another process holds the interface or
    /// `EPERM` when creating one without `CAP_NET_ADMIN`.
    pub fn open(name: &str) -> io::Result<TapDevice> {
        let request_name = interface_name(name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/net/tun")
            .map_err(|error| {
                io::Error::new(error.kind(), format!("cannot open /dev/net/tun: {error}"))
            })?;
        let mut request = IfReqFlags {
            name: request_name,
            // The flag values are 0x0002 and 0x1000: they fit a c_short.
            flags: (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short,
            padding: [0; IFREQ_UNION_LEN - 2],
        };
        // SAFETY: `file` is an open `/dev/net/tun` descriptor that lives across the call.
        // TUNSETIFF reads and writes back one `struct ifreq`; `request` is a fully initialised,
        // `repr(C)` value of exactly that size (checked by the const assertion above) and is
        // borrowed mutably for the duration of the call, so the kernel's write-back stays in
        // bounds and nothing else aliases it. The name is NUL-terminated by `interface_name`.
        let result = unsafe {
            libc::ioctl(
                file.as_raw_fd(),
                libc::TUNSETIFF,
                &mut request as *mut IfReqFlags,
            )
        };
        if result < 0 {
            let error = io::Error::last_os_error();
            return Err(io::Error::new(
                error.kind(),
                format!("TUNSETIFF on TAP interface {name:?} failed: {error}"),
            ));
        }
        // The kernel writes back the name it used (relevant for patterns such as "tap%d").
        let name_bytes: Vec<u8> = request
            .name
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        Ok(TapDevice {
            file,
            name: String::from_utf8_lossy(&name_bytes).into_owned(),
            mac: DEFAULT_MAC,
            rx: RxState {
                buffer: vec![0; RX_BUFFER_LEN].into_boxed_slice(),
                pending: None,
                frames: 0,
                errors: 0,
            },
            tx: TxState {
                buffer: vec![0; ETHERNET_MTU],
                frames: 0,
                errors: 0,
            },
        })
    }

    /// Sets the MAC address the driver reports through [`Driver::hardware_address`], which is
    /// the address the stack uses as its own. The kernel side of the TAP has its own, different
    /// MAC; the two must differ. Returns the device for chaining after [`TapDevice::open`].
    #[must_use]
    pub fn with_mac(mut self, mac: [u8; 6]) -> Self {
        self.mac = mac;
        self
    }

    /// The MAC address the stack uses on this interface.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The interface name the kernel attached the device to.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Frame counters of the device (frames moved and kernel-side errors).
    pub fn counters(&self) -> TapCounters {
        TapCounters {
            rx_frames: self.rx.frames,
            tx_frames: self.tx.frames,
            rx_errors: self.rx.errors,
            tx_errors: self.tx.errors,
        }
    }

    /// Blocks until a frame can be received or `timeout` has passed (`None`: no time limit).
    ///
    /// Returns `Ok(true)` when a frame is waiting, `Ok(false)` on timeout or when a signal
    /// interrupted the wait (so a Ctrl-C handler's flag is seen promptly). A timeout is rounded
    /// up to the next millisecond, so the loop never wakes just before a deadline and spins.
    ///
    /// # Errors
    /// The error of `poll(2)` other than `EINTR`.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<bool> {
        if self.rx.pending.is_some() {
            return Ok(true);
        }
        let timeout_ms: libc::c_int = match timeout {
            None => -1,
            Some(t) => {
                let ms = t.as_micros().div_ceil(1000);
                libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
            }
        };
        let mut fds = [libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: `fds` is a valid, initialised array of one `pollfd` that outlives the call and
        // is borrowed mutably for it, and `nfds` is its length; the descriptor is owned by
        // `self.file`, which is open for the whole call.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if ready < 0 {
            let error = io::Error::last_os_error();
            return if error.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(error)
            };
        }
        Ok(ready > 0 && fds[0].revents & libc::POLLIN != 0)
    }

    /// Reads the next frame from the kernel into the receive buffer if none is pending.
    /// Returns whether a frame is pending afterwards.
    fn fill(&mut self) -> bool {
        if self.rx.pending.is_some() {
            return true;
        }
        loop {
            match (&self.file).read(&mut self.rx.buffer) {
                Ok(len) => {
                    self.rx.pending = Some(len);
                    return true;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return false,
                Err(_) => {
                    self.rx.errors += 1;
                    return false;
                }
            }
        }
    }
}

/// Checks an interface name and converts it to the NUL-padded array `struct ifreq` holds.
fn interface_name(name: &str) -> io::Result<[libc::c_char; libc::IFNAMSIZ]> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.bytes().any(|b| b == 0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid interface name {name:?}: 1 to {} bytes, no NUL",
                libc::IFNAMSIZ - 1
            ),
        ));
    }
    let mut out = [0 as libc::c_char; libc::IFNAMSIZ];
    for (slot, byte) in out.iter_mut().zip(name.bytes()) {
        *slot = byte as libc::c_char;
    }
    Ok(out)
}

/// The receive half handed out by [`TapDevice`]: one frame already read from the kernel.
///
/// Consuming it releases the frame; dropping it unconsumed keeps the frame for the next
/// [`Driver::receive`].
pub struct TapRxToken<'a> {
    rx: &'a mut RxState,
}

impl RxToken for TapRxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let len = self
            .rx
            .pending
            .take()
            .expect("a TapRxToken exists only while a frame is pending");
        self.rx.frames += 1;
        f(&mut self.rx.buffer[..len])
    }
}

/// The transmit half handed out by [`TapDevice`]: the frame the closure fills is written to the
/// kernel when [`TxToken::consume`] returns.
pub struct TapTxToken<'a> {
    file: &'a File,
    tx: &'a mut TxState,
}

impl TxToken for TapTxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        if self.tx.buffer.len() < len {
            self.tx.buffer.resize(len, 0);
        }
        let frame = &mut self.tx.buffer[..len];
        frame.fill(0);
        let result = f(frame);
        let mut file = self.file;
        match file.write(frame) {
            Ok(written) if written == len => self.tx.frames += 1,
            // A TAP write takes the whole frame or fails; a short or failed write loses it.
            Ok(_) | Err(_) => self.tx.errors += 1,
        }
        result
    }
}

impl Driver for TapDevice {
    type RxToken<'a>
        = TapRxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TapTxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, _cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if !self.fill() {
            return None;
        }
        Some((
            TapRxToken { rx: &mut self.rx },
            TapTxToken {
                file: &self.file,
                tx: &mut self.tx,
            },
        ))
    }

    fn transmit(&mut self, _cx: &mut Context) -> Option<Self::TxToken<'_>> {
        // Writes to a TAP descriptor do not block: the kernel takes the frame into its receive
        // path at once (or refuses it, which the counters record).
        Some(TapTxToken {
            file: &self.file,
            tx: &mut self.tx,
        })
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        // An attached TAP has carrier; whether the kernel side is administratively up shows as
        // failed writes (`TapCounters::tx_errors`), not as a link state.
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::default();
        capabilities.max_transmission_unit = ETHERNET_MTU;
        capabilities.max_burst_size = None;
        capabilities
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_checked() {
        assert!(interface_name("tap0").is_ok());
        assert!(interface_name("").is_err());
        assert!(interface_name("a-very-long-name").is_err()); // 16 bytes
        assert!(interface_name("fifteen-bytes-x").is_ok()); // 15 bytes
        assert!(interface_name("ta\0p").is_err());
        let raw = interface_name("tap0").unwrap();
        assert_eq!(
            &raw[..5],
            &[b't' as libc::c_char, b'a' as _, b'p' as _, b'0' as _, 0]
        );
    }
}
