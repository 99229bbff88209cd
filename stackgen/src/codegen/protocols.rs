//! The parts of the generated code that belong to one protocol each: TCP, the DHCPv4 client and
//! the DNS resolver. Each generator returns a [`Parts`] that [`super::items`] splices into the
//! constants, the statics, `Config`, `init` and `Net`; a protocol the profile turns off
//! contributes nothing, so its API does not exist.

use std::time::Duration;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::{doc_lines, usize_lit};
use crate::plan::{Plan, TcpPlan};
use crate::profile::{Ipv4Setting, TcpBuffers};

/// Pool buffers one TCP socket's send or receive queue holds at most in stack-runtime
/// (`stack_runtime::tcp::socket::SEND_QUEUE_BUFFERS` and `RECV_QUEUE_BUFFERS`: a queue is a
/// chain through its packet buffers with a one-byte count, so only a sanity bound above what
/// the packet pool, at most 256 buffers, can give TCP).
const QUEUE_BUFFERS_MAX: u64 = 255;
/// Packet buffers stack-runtime lets TCP data hold at most
/// (`stack_runtime::tcp::segment_pool::MAX_SEGMENTS`).
const SEGMENTS_MAX: u64 = crate::plan::TCP_SEGMENTS_MAX;
/// Out-of-order ranges one TCP connection keeps in stack-runtime
/// (`stack_runtime::tcp::socket::OUT_OF_ORDER_RANGES`).
const OUT_OF_ORDER_RANGES: u64 = 8;
/// DNS servers stack-runtime's resolver asks at most (`stack_runtime::dns::MAX_SERVERS`).
const MAX_DNS_SERVERS: u64 = 3;
/// Keepalive probes 75 s apart (RFC 1122 §4.2.3.6, as Linux and lwIP): the profile gives only
/// the idle time.
const KEEPALIVE_INTERVAL_SECS: u64 = 75;
/// Unanswered keepalive probes before the connection is declared dead (as Linux and lwIP).
const KEEPALIVE_COUNT: u8 = 9;

/// What one protocol adds to the generated items.
#[derive(Default)]
pub(super) struct Parts {
    /// `pub const` items (counts and sizes).
    pub consts: TokenStream,
    /// `static` pools.
    pub statics: TokenStream,
    /// Items the protocol's code imports from the root of `stack_runtime`.
    pub runtime_names: Vec<&'static str>,
    /// Other `use` items it needs, each with its path as sort key (the generated file lists
    /// its `use` items sorted, as rustfmt would).
    pub uses: Vec<(&'static str, TokenStream)>,
    /// Statements of `init` taking the protocol's pools (each ends with `?`).
    pub takes: TokenStream,
    /// Statements of `init` run on `stack` once it is built (enabling the protocol).
    pub enable: TokenStream,
    /// Statements of `init` writing seeds derived from `seed` into `config`.
    pub seeds: TokenStream,
    /// Fields of `Config`.
    pub config_fields: TokenStream,
    /// The values of those fields in `config()`.
    pub config_values: TokenStream,
    /// Fields of `StackConfig` (in `config()`'s `StackConfig { … }`).
    pub stack_config_values: TokenStream,
    /// The `tcp` field of `StackStorage`.
    pub storage: TokenStream,
    /// Methods of `Net`.
    pub net_methods: TokenStream,
    /// Lines of the module documentation (Markdown list items, without the `- `).
    pub doc: Vec<String>,
}

/// `Duration::from_secs(n)` or `Duration::from_millis(n)` (stack-runtime's `Duration`).
fn duration(value: Duration) -> TokenStream {
    let millis = value.as_millis();
    if millis.is_multiple_of(1000) {
        let secs = Literal::u64_unsuffixed(value.as_secs());
        quote! { Duration::from_secs(#secs) }
    } else {
        let millis = Literal::u64_unsuffixed(u64::try_from(millis).unwrap_or(u64::MAX));
        quote! { Duration::from_millis(#millis) }
    }
}

/// A duration as the profile would write it, for documentation.
fn duration_text(value: Duration) -> String {
    let secs = value.as_secs();
    if !value.as_millis().is_multiple_of(1000) {
        format!("{} ms", value.as_millis())
    } else if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

/// `count` and `noun`, with an `s` unless the count is one.
fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `bytes` in whole segment buffers of `segment_size`, clamped to what one TCP queue of
/// stack-runtime holds; the second value says whether the clamp applied.
fn in_buffers(bytes: u64, segment_size: u64) -> (u64, bool) {
    let buffers = bytes.div_ceil(segment_size.max(1)).max(1);
    (buffers.min(QUEUE_BUFFERS_MAX), buffers > QUEUE_BUFFERS_MAX)
}

/// TCP: the socket, listener and quota tables, the cap on packet buffers for TCP data, the profile's
/// `TcpConfig`, and the `tcp_*` API. Without TCP, only the storage field (`TcpStorage::none()`).
pub(super) fn tcp(plan: &Plan) -> Parts {
    match &plan.tcp {
        Some(tcp) => tcp_on(tcp),
        None => Parts {
            storage: quote! { tcp: TcpStorage::none() },
            runtime_names: vec!["TcpStorage"],
            ..Parts::default()
        },
    }
}

fn tcp_on(tcp: &TcpPlan) -> Parts {
    let mut parts = Parts::default();
    let sockets = usize_lit(tcp.sockets);
    let listeners = usize_lit(tcp.listeners);
    let segment_size = usize_lit(tcp.tx_payload_per_buffer);
    let segment_count = tcp.segments.min(SEGMENTS_MAX);
    let segments = usize_lit(segment_count);
    let (send_buffers, send_clamped) = in_buffers(tcp.send_buffer, tcp.tx_payload_per_buffer);
    let (recv_buffers, recv_clamped) = in_buffers(tcp.rx_window, tcp.rx_payload_per_buffer);
    let segments_u16 = Literal::u16_unsuffixed(u16::try_from(segment_count).unwrap_or(u16::MAX));
    let segment_size_u16 =
        Literal::u16_unsuffixed(u16::try_from(tcp.tx_payload_per_buffer).unwrap_or(u16::MAX));
    let send_lit = Literal::u16_unsuffixed(send_buffers as u16);
    let recv_lit = Literal::u16_unsuffixed(recv_buffers as u16);
    let backlog = Literal::u8_unsuffixed(u8::try_from(tcp.backlog).unwrap_or(u8::MAX));

    let segments_doc = doc_lines(
        &if segment_count < tcp.segments {
            format!(
                "Packet buffers TCP data may hold at once, all connections together\n\
                 (`tcp.segments` = {}, cut to {SEGMENTS_MAX}, the most stack-runtime indexes).",
                tcp.segments
            )
        } else {
            "Packet buffers TCP data may hold at once, all connections together\n\
             (`tcp.segments`): TCP has no buffers of its own."
                .to_string()
        },
        false,
    );
    let clamp_note = |clamped: bool| {
        if clamped {
            format!(", at most the {QUEUE_BUFFERS_MAX} a stack-runtime queue holds")
        } else {
            String::new()
        }
    };
    let send_doc = doc_lines(
        &format!(
            "The send buffer of each connection in packet buffers (`tcp.send_buffer`,\n\
             {} B, rounded up to whole segments{}).",
            tcp.send_buffer,
            clamp_note(send_clamped)
        ),
        false,
    );
    let recv_doc = doc_lines(
        &format!(
            "The receive window of each connection in packet buffers (`tcp.rx_window`,\n\
             {} B, rounded up to whole segments{}).",
            tcp.rx_window,
            clamp_note(recv_clamped)
        ),
        false,
    );
    parts.consts = quote! {
        /// TCP connection slots, TIME-WAIT included (`tcp.sockets`).
        pub const TCP_SOCKETS: usize = #sockets;
        /// Ports listened on at once (`tcp.listeners`).
        pub const TCP_LISTENERS: usize = #listeners;
        /// Half-open connections each listener keeps before it answers with SYN cookies
        /// (`tcp.backlog`).
        pub const TCP_BACKLOG: u8 = #backlog;
        /// TCP payload bytes one packet buffer holds: one MSS (`tcp.mss`) when the buffer
        /// is large enough.
        pub const TCP_SEGMENT_SIZE: usize = #segment_size;
        #segments_doc
        pub const TCP_SEGMENTS: usize = #segments;
        #send_doc
        pub const TCP_SEND_BUFFERS: u16 = #send_lit;
        #recv_doc
        pub const TCP_RECV_BUFFERS: u16 = #recv_lit;
    };
    parts.statics = quote! {
        /// The TCP connection slots. A free slot is all zero bytes, so they take RAM only
        /// (`.bss`), neither a flash image of empty slots nor a start-up copy on the stack.
        static TCP_SLOTS: ConstStaticCell<[TcpSlot; TCP_SOCKETS]> =
            ConstStaticCell::new([TcpSlot::EMPTY; TCP_SOCKETS]);
        /// The TCP listener slots.
        static TCP_LISTENER_SLOTS: ConstStaticCell<[TcpListenerSlot; TCP_LISTENERS]> =
            ConstStaticCell::new([TcpListenerSlot::EMPTY; TCP_LISTENERS]);
        /// Each connection's share of the packet buffers (set from [`TcpConfig`] at start).
        static TCP_QUOTAS: ConstStaticCell<[SocketQuota; TCP_SOCKETS]> =
            ConstStaticCell::new([SocketQuota::new(0, 0, 0); TCP_SOCKETS]);
    };
    parts.takes = quote! {
        let tcp_sockets = TCP_SLOTS.try_take()?;
        let tcp_listeners = TCP_LISTENER_SLOTS.try_take()?;
        let tcp_quotas = TCP_QUOTAS.try_take()?;
    };
    parts.storage = quote! {
        tcp: TcpStorage {
            sockets: tcp_sockets,
            listeners: tcp_listeners,
            quotas: tcp_quotas,
        }
    };
    parts.uses = vec![(
        "stack_runtime::tcp::segment_pool",
        quote! { use stack_runtime::tcp::segment_pool::SocketQuota; },
    )];
    parts.runtime_names = vec![
        "Duration",
        "TcpConfig",
        "TcpError",
        "TcpHandle",
        "TcpListener",
        "TcpListenerSlot",
        "TcpSlot",
        "TcpState",
        "TcpStorage",
    ];

    // The profile's choices as stack-runtime's `TcpConfig`.
    let window_scaling = tcp.window_scaling;
    let timestamps = tcp.timestamps;
    let sack = tcp.sack;
    let msl = duration(tcp.time_wait / 2);
    let keepalive = match tcp.keepalive {
        Some(idle) => {
            parts.uses.push((
                "stack_runtime::tcp::timers",
                quote! { use stack_runtime::tcp::timers::Keepalive; },
            ));
            let idle = duration(idle);
            let interval = Literal::u64_unsuffixed(KEEPALIVE_INTERVAL_SECS);
            let count = Literal::u8_unsuffixed(KEEPALIVE_COUNT);
            quote! {
                Some(Keepalive {
                    idle: #idle,
                    interval: Duration::from_secs(#interval),
                    count: #count,
                })
            }
        }
        None => quote! { None },
    };
    let reserved = match tcp.buffers {
        TcpBuffers::Shared => quote! { 0 },
        TcpBuffers::Reserved => quote! { TCP_SEND_BUFFERS + TCP_RECV_BUFFERS },
    };
    // An option the profile turns on must be compiled in: stack-runtime ignores the
    // `TcpConfig` field when its feature is off, which would silently drop the option.
    for (on, flag, feature, key) in [
        (sack, "SACK_COMPILED_IN", "tcp-sack", "tcp.sack"),
        (
            timestamps,
            "TIMESTAMPS_COMPILED_IN",
            "tcp-timestamps",
            "tcp.timestamps",
        ),
        (
            window_scaling,
            "WINDOW_SCALING_COMPILED_IN",
            "tcp-window-scaling",
            "tcp.window_scaling",
        ),
    ] {
        if on {
            let flag = format_ident!("{flag}");
            let message =
                format!("the profile turns `{key}` on: enable stack-runtime's feature `{feature}`");
            parts.consts.extend(quote! {
                const _: () = assert!(stack_runtime::tcp::#flag, #message);
            });
        }
    }
    parts.stack_config_values = quote! {
        tcp: TcpConfig {
            window_scaling: #window_scaling,
            timestamps: #timestamps,
            sack: #sack,
            msl: #msl,
            keepalive: #keepalive,
            send_buffers: TCP_SEND_BUFFERS,
            recv_buffers: TCP_RECV_BUFFERS,
            reserved_buffers: #reserved,
            segments: #segments_u16,
            segment_size: #segment_size_u16,
            backlog: TCP_BACKLOG,
            ..TcpConfig::default()
        },
    };

    let mut doc = vec![format!(
        "TCP: {}, {}, data in at most {} of {} B (the MSS) at once, all connections together; window scaling {}, \
         timestamps {}, SACK {}; TIME-WAIT {} (2 × MSL); keepalive {}; buffers {}.",
        plural(tcp.sockets, "connection slot"),
        plural(tcp.listeners, "listener"),
        plural(segment_count, "packet buffer"),
        tcp.mss,
        on_off(tcp.window_scaling),
        on_off(tcp.timestamps),
        on_off(tcp.sack),
        duration_text(tcp.time_wait),
        tcp.keepalive.map_or("off".to_string(), |idle| format!(
            "after {} idle, probes every {KEEPALIVE_INTERVAL_SECS} s, {KEEPALIVE_COUNT} \
             unanswered end the connection",
            duration_text(idle)
        )),
        match tcp.buffers {
            TcpBuffers::Shared => "shared",
            TcpBuffers::Reserved => "reserved (each connection's send buffer and window)",
        },
    )];
    if tcp.buffers == TcpBuffers::Reserved {
        let wanted = tcp.sockets * (send_buffers + recv_buffers);
        if segment_count < wanted {
            doc.push(format!(
                "TCP reserved buffers: TCP data may hold {segment_count} packet buffers, fewer than \
                 the {wanted} that {} connections × ({send_buffers} send + {recv_buffers} \
                 receive) reserve; stack-runtime reserves for the first connections only, the \
                 others share what is left (raise `tcp.segments`).",
                tcp.sockets
            ));
        }
    }
    let mut differences = vec![
        "the MSS is the TCP payload one packet buffer holds (`TcpConfig::segment_size`)"
            .to_string(),
        "send buffer and window are whole packet buffers".to_string(),
    ];
    if tcp.out_of_order_segments > 0 {
        differences.push(format!(
            "`tcp.out_of_order_segments` ({}) is no knob: every connection keeps up to {} \
             out-of-order ranges, their data in the packet buffers",
            tcp.out_of_order_segments, OUT_OF_ORDER_RANGES
        ));
    }
    differences.push(
        "Nagle, delayed ACK, RTO bounds, congestion control, retransmission limits and SYN \
         cookies have no profile key: stack-runtime's defaults"
            .into(),
    );
    doc.push(format!(
        "TCP as stack-runtime has it: {}.",
        differences.join("; ")
    ));
    parts.doc = doc;

    parts.net_methods = quote! {
        /// Listens on `port`: connections to it are taken with [`tcp_accept`](Self::tcp_accept).
        /// Up to [`TCP_BACKLOG`] half-open ones wait; more are answered with SYN cookies.
        pub fn tcp_listen(&mut self, port: u16) -> Result<TcpListener, TcpError> {
            self.stack.tcp_listen(port)
        }

        /// Stops listening; connections not accepted yet are reset.
        pub fn tcp_unlisten(&mut self, listener: TcpListener) {
            self.stack.tcp_unlisten(listener);
        }

        /// Takes the oldest established connection of `listener`, if any.
        pub fn tcp_accept(&mut self, listener: TcpListener) -> Option<TcpHandle> {
            self.stack.tcp_accept(listener)
        }

        /// Opens a connection to `remote` from `local_port` (0: an ephemeral port); the SYN
        /// goes out on the next [`poll`](Self::poll). Watch [`tcp_state`](Self::tcp_state).
        pub fn tcp_connect(
            &mut self,
            remote: SocketAddrV4,
            local_port: u16,
            now: Instant,
        ) -> Result<TcpHandle, TcpError> {
            self.stack.tcp_connect(remote, local_port, now)
        }

        /// Queues as much of `data` as the send buffer takes and returns how much that was
        /// (`WouldBlock` when it is full).
        pub fn tcp_send(&mut self, socket: TcpHandle, data: &[u8]) -> Result<usize, TcpError> {
            self.stack.tcp_send(socket, data)
        }

        /// Reads received bytes into `buf`: `Ok(0)` at the end of the stream, `WouldBlock`
        /// when nothing has arrived yet.
        pub fn tcp_recv(&mut self, socket: TcpHandle, buf: &mut [u8]) -> Result<usize, TcpError> {
            self.stack.tcp_recv(socket, buf)
        }

        /// Closes our direction (a FIN follows the queued data) and gives the handle back.
        pub fn tcp_close(&mut self, socket: TcpHandle) {
            self.stack.tcp_close(socket);
        }

        /// Closes our direction only and keeps the handle, to read what the peer still sends.
        pub fn tcp_shutdown(&mut self, socket: TcpHandle) {
            self.stack.tcp_shutdown(socket);
        }

        /// Aborts the connection with a RST; the handle becomes invalid.
        pub fn tcp_abort(&mut self, socket: TcpHandle, now: Instant) {
            self.stack.tcp_abort(socket, now);
        }

        /// The connection's state (`Closed` for an invalid handle).
        pub fn tcp_state(&self, socket: TcpHandle) -> TcpState {
            self.stack.tcp_state(socket)
        }

        /// Why the connection failed, if it did.
        pub fn tcp_error(&self, socket: TcpHandle) -> Option<TcpError> {
            self.stack.tcp_error(socket)
        }

        /// True when [`tcp_send`](Self::tcp_send) would take at least one byte now.
        pub fn tcp_can_send(&self, socket: TcpHandle) -> bool {
            self.stack.tcp_can_send(socket)
        }

        /// True when [`tcp_recv`](Self::tcp_recv) would return data now.
        pub fn tcp_can_recv(&self, socket: TcpHandle) -> bool {
            self.stack.tcp_can_recv(socket)
        }

        /// True while data may still arrive or is waiting to be read.
        pub fn tcp_may_recv(&self, socket: TcpHandle) -> bool {
            self.stack.tcp_may_recv(socket)
        }

        /// Turns Nagle's algorithm off (`true`: small segments go out at once) or on.
        pub fn tcp_set_nodelay(&mut self, socket: TcpHandle, on: bool) {
            self.stack.tcp_set_nodelay(socket, on);
        }

        /// The local and remote address of the connection.
        pub fn tcp_endpoints(&self, socket: TcpHandle) -> Option<(SocketAddrV4, SocketAddrV4)> {
            self.stack.tcp_endpoints(socket)
        }
    };
    parts
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Whether the generated stack runs the DHCPv4 client: the profile turns it on and the
/// interface stack-runtime runs (the first) takes its address from DHCP.
pub(super) fn runs_dhcp(plan: &Plan) -> bool {
    plan.protocols.dhcpv4
        && plan
            .interfaces
            .first()
            .is_some_and(|interface| interface.ipv4 == Ipv4Setting::Dhcp)
}

/// The DHCPv4 client: its slot, `Config::dhcp`, `enable_dhcp` in `init`, the `dhcp_*` API.
pub(super) fn dhcp(plan: &Plan) -> Parts {
    if !runs_dhcp(plan) {
        return Parts::default();
    }
    Parts {
        statics: quote! {
            /// The DHCPv4 client's state: lease, server, timers and message buffers. Filled by
            /// [`init`], so it takes no flash image.
            static DHCP_SLOT: StaticCell<DhcpSlot> = StaticCell::new();
        },
        uses: vec![(
            "stack_runtime::dhcpv4",
            quote! {
                use stack_runtime::dhcpv4::{DhcpConfig, DhcpEvent, DhcpLease, DhcpSlot, DhcpState};
            },
        )],
        takes: quote! { let dhcp = DHCP_SLOT.try_init_with(|| DhcpSlot::EMPTY)?; },
        enable: quote! { stack.enable_dhcp(dhcp, config.dhcp); },
        seeds: quote! { config.dhcp.seed = siphash24(&seed, b"dhcpv4"); },
        config_fields: quote! {
            /// The DHCPv4 client's settings. `init` replaces its `seed` with one derived from
            /// its own. The profile has no host name: add one with
            /// `DhcpConfig::with_host_name`.
            pub dhcp: DhcpConfig,
        },
        config_values: quote! { dhcp: DhcpConfig::new(0), },
        net_methods: quote! {
            /// Where the DHCPv4 client is (it runs from [`init`] on).
            pub fn dhcp_state(&self) -> DhcpState {
                self.stack.dhcp_state().unwrap_or(DhcpState::Init)
            }

            /// The current lease, if any (its address is the interface's).
            pub fn dhcp_lease(&self) -> Option<DhcpLease> {
                self.stack.dhcp_lease()
            }

            /// The oldest DHCPv4 event (lease obtained, renewed, lost…) not taken yet.
            pub fn dhcp_take_event(&mut self) -> Option<DhcpEvent> {
                self.stack.dhcp_take_event()
            }
        },
        doc: vec!["DHCPv4: the client runs from `init` on and owns the interface address.".into()],
        ..Parts::default()
    }
}

/// The DNS resolver: query slots and cache sized by the plan, `Config::dns`, `enable_dns` in
/// `init`, the `dns_*` API.
pub(super) fn dns(plan: &Plan) -> Parts {
    let Some(dns) = plan.dns else {
        return Parts::default();
    };
    // Lookups in flight at once: the plan's `dns_query` pool (one today).
    let queries = plan
        .pools
        .iter()
        .find(|pool| pool.id == "dns_queries")
        .map_or(1, |pool| pool.count);
    let queries_lit = usize_lit(queries);
    let cache = usize_lit(dns.cache_entries);
    let servers = usize_lit(dns.servers);
    let servers_limit = if dns.servers > MAX_DNS_SERVERS {
        format!(
            " (the profile plans for {}; stack-runtime asks at most {MAX_DNS_SERVERS})",
            dns.servers
        )
    } else {
        String::new()
    };
    let servers_source = if runs_dhcp(plan) {
        "those of the DHCP lease unless `Config::dns.servers` names some"
    } else {
        "name them in `Config::dns.servers` (the profile gives their number, not their \
         addresses)"
    };
    Parts {
        consts: quote! {
            /// DNS lookups in flight at once.
            pub const DNS_QUERIES: usize = #queries_lit;
            /// DNS answers cached (`dns.cache_entries`).
            pub const DNS_CACHE_ENTRIES: usize = #cache;
            /// DNS servers the profile plans for (`dns.servers`); their addresses are in
            /// `Config::dns.servers`.
            pub const DNS_SERVERS: usize = #servers;
        },
        statics: quote! {
            /// The DNS query slots, one per lookup in flight (filled by [`init`]: no flash
            /// image).
            static DNS_QUERY_SLOTS: StaticCell<[DnsQuerySlot; DNS_QUERIES]> = StaticCell::new();
            /// The DNS cache (filled by [`init`]: no flash image).
            static DNS_CACHE: StaticCell<[DnsCacheEntry; DNS_CACHE_ENTRIES]> = StaticCell::new();
        },
        uses: vec![(
            "stack_runtime::dns",
            quote! {
                use stack_runtime::dns::{
                    DnsCacheEntry, DnsConfig, DnsError, DnsQueryHandle, DnsQuerySlot, DnsStorage,
                    MAX_SERVERS,
                };
            },
        )],
        takes: quote! {
            let dns = DnsStorage {
                queries: DNS_QUERY_SLOTS.try_init_with(|| [DnsQuerySlot::EMPTY; DNS_QUERIES])?,
                cache: DNS_CACHE.try_init_with(|| [DnsCacheEntry::EMPTY; DNS_CACHE_ENTRIES])?,
            };
        },
        enable: quote! { stack.enable_dns(dns, config.dns); },
        seeds: quote! { config.dns.seed = siphash24(&seed, b"dns"); },
        config_fields: quote! {
            /// The DNS resolver's settings. `init` replaces its `seed` with one derived from
            /// its own.
            pub dns: DnsConfig,
        },
        config_values: quote! { dns: DnsConfig::new(0), },
        net_methods: quote! {
            /// Starts looking up the IPv4 address of `name`; a cached answer completes it at
            /// once. Read the answer with [`dns_result`](Self::dns_result) after polls.
            pub fn dns_query(&mut self, name: &str) -> Result<DnsQueryHandle, DnsError> {
                self.stack.dns_query(name)
            }

            /// The answer of a lookup: `WouldBlock` while in flight, then the address or why
            /// there is none, once (the slot is free again after that).
            pub fn dns_result(&mut self, query: DnsQueryHandle) -> Result<Ipv4Addr, DnsError> {
                self.stack.dns_result(query)
            }

            /// Forgets a lookup; a late answer is ignored.
            pub fn dns_cancel(&mut self, query: DnsQueryHandle) {
                self.stack.dns_cancel(query);
            }

            /// Empties the DNS cache.
            pub fn dns_flush_cache(&mut self) {
                self.stack.dns_flush_cache();
            }

            /// The servers the resolver asks: the configured ones, else the DHCP lease's.
            pub fn dns_servers(&self) -> [Option<Ipv4Addr>; MAX_SERVERS] {
                self.stack.dns_servers()
            }
        },
        doc: vec![format!(
            "DNS: {queries} lookup{} in flight at most, {} answers cached; \
             servers{servers_limit}: {servers_source}.",
            if queries == 1 { "" } else { "s" },
            dns.cache_entries
        )],
        ..Parts::default()
    }
}
