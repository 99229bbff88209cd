//! http-fetch: stack-runtime's async API end to end on a Linux TAP. It takes an address from a
//! DHCP server, resolves the URL's host name with the stack's DNS resolver, and fetches the
//! URL over HTTP/1.1 with [reqwless], an HTTP client written only against the
//! `embedded-nal-async` and `embedded-io-async` traits, which it uses unchanged.
//!
//! ```sh
//! sudo ip tuntap add dev tap0 mode tap user "$USER" && sudo ip link set tap0 up
//! # a DHCP + DNS server and a web server on the kernel side (see tests/tests/http_fetch.rs)
//! cargo run -p http-fetch -- --tap tap0 --url http://files.example:8080/blob.bin
//! ```
//!
//! # Contract
//!
//! Flags `--tap NAME --mac MAC --url URL` (and `--timeout SECONDS`, default 60). Standard
//! output:
//!
//! * `http-fetch: bound <ip>/<prefix> via <gateway|none>` when the lease arrives;
//! * `http-fetch: resolved <host> to <a.b.c.d>`;
//! * `http-fetch: checksum <16 hex digits>`: FNV-1a (64-bit) of the body;
//! * last, `http-fetch: got <status> <len> bytes`.
//!
//! Exit status 0 when a response was read to its end (whatever its status), 1 on any error or
//! timeout (the error goes to standard error).
//!
//! # How it runs
//!
//! No executor: one loop polls the application future (only when its waker fired), then
//! [`AsyncStack::poll`], which runs the stack and wakes the futures whose sockets changed, then
//! sleeps on the TAP until a frame arrives or the stack's next deadline. That is all an
//! executor would do on the host; on a board, embassy-executor runs the same future beside
//! [`AsyncStack::run`].

use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use clap::Parser;
use embedded_io_async::Read;
use host_tap::TapDevice;
use host_tap::args::parse_mac;
use reqwless::client::HttpClient;
use reqwless::request::Method;
use stack_runtime::asynch::{AsyncStack, SocketWakers, WakerStorage};
use stack_runtime::dhcpv4::{DhcpConfig, DhcpEvent, DhcpSlot};
use stack_runtime::dns::{DnsCacheEntry, DnsConfig, DnsQuerySlot, DnsStorage};
use stack_runtime::tcp::segment_pool::SocketQuota;
use stack_runtime::time::Instant;
use stack_runtime::wire::EthernetAddress;
use stack_runtime::{
    ArpEntry, PendingSlot, ReassemblySlot, Stack, StackConfig, StackStorage, TcpListenerSlot,
    TcpSlot, TcpStorage, UdpSlot,
};

/// Packet buffers (also the transmit queue length) and their size.
const PACKETS: usize = 16;
const PACKET_SIZE: usize = 1536;
/// UDP sockets (the DHCP client and the resolver need none) and their limits (received bytes
/// queued, largest datagram sent; the datagrams wait in the packet buffers).
const UDP_SOCKETS: usize = 2;
const UDP_BUFFER: usize = 2048;
/// TCP sockets, and the packet buffers their data may hold (64 full-size segments, about
/// 96 KB, room for a receive window of several segments), added to the packet pool.
const TCP_SOCKETS: usize = 2;
const TCP_SEGMENTS: usize = 64;
/// Longest sleep on the TAP, so the overall timeout is checked.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_millis(100);

/// Fetch a URL over HTTP on stack-runtime's async API, with the address from DHCP.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Args {
    /// Name of the TAP interface.
    #[arg(long, value_name = "NAME")]
    tap: String,
    /// The stack's MAC address (must differ from the kernel side's).
    #[arg(long, value_name = "MAC", default_value = "02:00:00:00:00:02", value_parser = parse_mac)]
    mac: [u8; 6],
    /// The page to fetch: `http://HOST[:PORT]/PATH` (HOST a name or an IPv4 address).
    #[arg(long, value_name = "URL")]
    url: String,
    /// Give up after this many seconds (DHCP, DNS and the fetch together).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("http-fetch: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A waker that sets a flag: the loop polls the application future only after it fired.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// FNV-1a, 64-bit: a checksum any test can recompute in a few lines.
#[derive(Debug, Clone, Copy)]
struct Fnv1a(u64);

impl Fnv1a {
    const fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, data: &[u8]) {
        for &b in data {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// What the fetch produced.
#[derive(Debug)]
struct Fetched {
    status: u16,
    len: usize,
    checksum: u64,
}

fn run(args: &Args) -> Result<(), String> {
    let mut tap = TapDevice::open(&args.tap)
        .map_err(|error| format!("cannot open TAP {}: {error}", args.tap))?
        .with_mac(args.mac);

    // --- storage: plain arrays (on the heap here; firmware would use statics) -----------------
    let mut packets = vec![0u8; (PACKETS + TCP_SEGMENTS) * PACKET_SIZE];
    let mut tx_queue = [PendingSlot::EMPTY; PACKETS];
    let mut arp = [ArpEntry::EMPTY; 8];
    let mut reassembly = [ReassemblySlot::EMPTY; 1];
    let mut reassembly_bytes = vec![0u8; 4096];
    let mut udp: Vec<UdpSlot> = (0..UDP_SOCKETS)
        .map(|_| UdpSlot::new(UDP_BUFFER, UDP_BUFFER))
        .collect();
    let mut tcp_sockets: Vec<TcpSlot> = (0..TCP_SOCKETS).map(|_| TcpSlot::new()).collect();
    let mut listeners = [TcpListenerSlot::EMPTY; 1];
    let mut quotas = [SocketQuota::default(); TCP_SOCKETS];
    let storage = StackStorage {
        packets: &mut packets,
        packet_size: PACKET_SIZE,
        tx_queue: &mut tx_queue,
        arp: &mut arp,
        reassembly: &mut reassembly,
        reassembly_bytes: &mut reassembly_bytes,
        udp: &mut udp,
        tcp: TcpStorage {
            sockets: &mut tcp_sockets,
            listeners: &mut listeners,
            quotas: &mut quotas,
        },
    };
    let secret =
        host_tap::random_seed().map_err(|error| format!("reading /dev/urandom: {error}"))?;
    // The DHCP and DNS ids come from the same board seed (its second half).
    let mut half = [0u8; 8];
    half.copy_from_slice(&secret[8..]);
    let seed = u64::from_le_bytes(half);
    let config = StackConfig {
        seed: secret,
        ..StackConfig::default()
    };
    let mut stack = Stack::new(config, storage, EthernetAddress(args.mac));
    let mut dhcp_slot = DhcpSlot::EMPTY;
    stack.enable_dhcp(
        &mut dhcp_slot,
        DhcpConfig::new(seed).with_host_name("http-fetch"),
    );
    let mut dns_queries = [DnsQuerySlot::EMPTY; 1];
    let mut dns_cache = [DnsCacheEntry::EMPTY; 2];
    stack.enable_dns(
        DnsStorage {
            queries: &mut dns_queries,
            cache: &mut dns_cache,
        },
        DnsConfig::new(seed.rotate_left(17)),
    );
    let mut tcp_wakers = [SocketWakers::EMPTY; TCP_SOCKETS];
    let mut udp_wakers = [SocketWakers::EMPTY; UDP_SOCKETS];
    let mut dns_wakers = [SocketWakers::EMPTY; 1];
    let stack = AsyncStack::new(
        stack,
        WakerStorage {
            tcp: &mut tcp_wakers,
            udp: &mut udp_wakers,
            dns: &mut dns_wakers,
        },
    );

    let clock = std::time::Instant::now();
    let now =
        || Instant::from_micros(u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX));
    let deadline = clock + std::time::Duration::from_secs(args.timeout);

    // The application: wait for the lease, then resolve and fetch.
    let app = async {
        let host =
            url_host(&args.url).ok_or_else(|| format!("not an http:// URL: {}", args.url))?;
        let addr = stack
            .resolve(host)
            .await
            .map_err(|error| format!("resolving {host}: {error}"))?;
        println!("http-fetch: resolved {host} to {addr}");
        fetch(&stack, &args.url).await
    };
    let fetched = drive(&stack, &mut tap, now, deadline, app)?;
    println!("http-fetch: checksum {:016x}", fetched.checksum);
    println!("http-fetch: got {} {} bytes", fetched.status, fetched.len);
    Ok(())
}

/// The host part of an `http://` URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    (!host.is_empty()).then_some(host)
}

/// GET `url` with reqwless over the stack (the stack is both its `TcpConnect` and its `Dns`),
/// reading the body to its end.
async fn fetch(stack: &AsyncStack<'_>, url: &str) -> Result<Fetched, String> {
    let mut client = HttpClient::new(stack, stack);
    let mut request = client
        .request(Method::GET, url)
        .await
        .map_err(|error| format!("connecting for {url}: {error:?}"))?;
    let mut headers = [0u8; 4096];
    let response = request
        .send(&mut headers)
        .await
        .map_err(|error| format!("sending the request: {error:?}"))?;
    let status = response.status.0;
    let mut body = response.body().reader();
    let mut buf = [0u8; 4096];
    let mut len = 0;
    let mut checksum = Fnv1a::new();
    loop {
        let n = body
            .read(&mut buf)
            .await
            .map_err(|error| format!("reading the body after {len} bytes: {error:?}"))?;
        if n == 0 {
            break;
        }
        checksum.update(&buf[..n]);
        len += n;
    }
    Ok(Fetched {
        status,
        len,
        checksum: checksum.0,
    })
}

/// The loop: poll `app` when woken (once the DHCP lease is there), poll the stack, sleep on the
/// TAP until a frame or the next deadline. Fails at `deadline`.
fn drive<T>(
    stack: &AsyncStack<'_>,
    tap: &mut TapDevice,
    now: impl Fn() -> Instant,
    deadline: std::time::Instant,
    app: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let flag = Arc::new(Flag(AtomicBool::new(true)));
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut app = pin!(app);
    let mut bound = false;
    loop {
        if std::time::Instant::now() >= deadline {
            return Err(if bound {
                "timed out".to_string()
            } else {
                "timed out waiting for a DHCP lease".to_string()
            });
        }
        if bound
            && flag.0.swap(false, Ordering::SeqCst)
            && let Poll::Ready(result) = app.as_mut().poll(&mut cx)
        {
            return result;
        }
        let t = now();
        let next = stack.poll(tap, t);
        while let Some(event) = stack.with_stack(Stack::dhcp_take_event) {
            match event {
                DhcpEvent::Bound(lease) => {
                    println!(
                        "http-fetch: bound {} via {}",
                        lease.address,
                        lease
                            .router
                            .map_or("none".to_string(), |r: Ipv4Addr| r.to_string())
                    );
                    bound = true;
                }
                DhcpEvent::Renewed(_) => {}
                DhcpEvent::Lost => return Err("the DHCP lease was lost".to_string()),
            }
        }
        if bound && flag.0.load(Ordering::SeqCst) {
            continue;
        }
        let sleep = match next {
            Some(at) => {
                let left = at.total_micros().saturating_sub(now().total_micros());
                std::time::Duration::from_micros(left).min(MAX_SLEEP)
            }
            None => MAX_SLEEP,
        };
        if !sleep.is_zero() {
            tap.wait(Some(sleep))
                .map_err(|error| format!("waiting for frames: {error}"))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_values() {
        let mut h = Fnv1a::new();
        h.update(b"");
        assert_eq!(h.0, 0xcbf2_9ce4_8422_2325);
        h.update(b"a");
        assert_eq!(h.0, 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn url_host_parses() {
        assert_eq!(
            url_host("http://files.example:8080/blob.bin"),
            Some("files.example")
        );
        assert_eq!(url_host("http://192.0.2.1/"), Some("192.0.2.1"));
        assert_eq!(url_host("https://x/"), None);
    }
}
