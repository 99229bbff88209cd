//! Code generation: a [`Plan`] turned into Rust items that own every pool of the stack.
//!
//! [`items`] is the single source of the expansion. Both paths use it:
//!
//! * `stackgen generate PROFILE --out DIR` wraps it in a crate with [`generate_crate`]
//!   (`Cargo.toml` + `src/lib.rs`, formatted with prettyplease, with a header naming the
//!   profile and its [FNV-1a hash](fnv1a_64));
//! * `#[stack_config(profile = "…")] mod net {}` (crate `stackgen-macros`) expands to
//!   `mod net { <items> }`.
//!
//! # What is generated
//!
//! * a named `const` for every count and size (`RX_BUFFERS`, `PACKET_SIZE`, `ARP_ENTRIES`,
//!   `UDP_SOCKETS`, `TCP_SOCKETS`, `TCP_SEGMENTS`, `DNS_CACHE_ENTRIES`, …);
//! * every pool as a fixed array of exactly that length, in a `static` placed with
//!   `static_cell` (no heap, no `unsafe`): packet buffers, transmit queue, ARP cache,
//!   reassembly, UDP sockets; with TCP the connection slots (`TcpSlot`), listener slots,
//!   per-connection quotas (TCP data lives in the packet buffers, at most `tcp.segments` of
//!   them at once: no pool of its own);
//!   with the DHCPv4 client its `DhcpSlot`; with DNS the query slots and the cache;
//! * `Config` (a `StackConfig`, plus `dhcp: DhcpConfig` and `dns: DnsConfig` when those run)
//!   and `config()`, the profile's settings: interface address, gateway and MTU, and the
//!   `TcpConfig` of `[tcp]` (window scaling, timestamps, SACK, TIME-WAIT as 2 × MSL,
//!   keepalive, send buffer and window in packet buffers, the cap `tcp.segments` and the
//!   payload per buffer, backlog, shared or reserved buffers); `HARDWARE_ADDR` when the
//!   profile fixes the MAC address;
//! * one entry point, `init(config, hardware_addr, seed) -> Option<Net>`: it takes the pools,
//!   builds the stack and starts the DHCPv4 client and the DNS resolver when the profile has
//!   them. `seed` (16 secret bytes, fresh every boot) keys TCP's initial sequence numbers and
//!   SYN cookies and, hashed, the PRNGs of DHCP and DNS. The pools exist once, so `init`
//!   returns `Some` the first time and `None` on every later call (never undefined
//!   behaviour, never a second stack on the same memory);
//! * `Net`, a wrapper over `stack_runtime::Stack` whose methods are only those of the protocols
//!   the profile turns on (`udp_*`, `tcp_*`, `dhcp_*`, `dns_*`): with TCP off there is no
//!   `tcp_listen`, so using TCP is a compile error.
//!
//! What the profile says that stack-runtime has no knob for (the MSS is the payload per packet
//! buffer; `tcp.out_of_order_segments`; Nagle, RTO and congestion settings have no profile key)
//! is listed in the generated module's documentation, as are pools of protocols stack-runtime
//! does not implement yet (IPv6 neighbour discovery) and interfaces after the first.
//!
//! The code the application compiles needs the crates `stack-runtime`, `static_cell` (2.1 or
//! later) and `embassy-net-driver` as dependencies. stack-runtime's features `udp`, `icmp`,
//! `tcp`, `dhcpv4` and `dns` compile those protocols out of the firmware when off: the
//! generated `Cargo.toml` enables only the profile's ([`runtime_features`]); with
//! `#[stack_config]`, the application's `Cargo.toml` must enable the same
//! (`default-features = false, features = [...]`).

mod hash;
mod manifest;
mod protocols;

use std::fmt::Write as _;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

pub use hash::fnv1a_64;
pub use manifest::{
    GenerateError, RuntimeDependency, relative_path, repository_runtime, runtime_features,
};

use crate::diagnostic::ToDiagnostic;
use crate::plan::{InterfacePlan, Plan, PlanError};
use crate::profile::{Ipv4Setting, MacSetting, Profile, ProfileError};
use crate::source::Source;

/// Why a profile produced no plan to generate from: the same errors `stackgen check` reports.
#[derive(Debug)]
pub enum InvalidProfile {
    /// The TOML does not describe a profile (syntax, unknown keys, bad values).
    Profile(Vec<ProfileError>),
    /// The values contradict each other, or the plan breaks its memory limits.
    Plan(Vec<PlanError>),
}

impl InvalidProfile {
    /// Each error rendered as `stackgen check` renders it: headline, `file:line:column`, the
    /// source line with the offending text underlined, and the hint.
    pub fn rendered(&self, source: &Source) -> Vec<String> {
        match self {
            InvalidProfile::Profile(errors) => render_all(errors, source),
            InvalidProfile::Plan(errors) => render_all(errors, source),
        }
    }
}

fn render_all<E: ToDiagnostic>(errors: &[E], source: &Source) -> Vec<String> {
    errors
        .iter()
        .map(|error| error.to_diagnostic().render(source))
        .collect()
}

/// Parses and resolves a profile for code generation: a plan that `stackgen check` accepts
/// (memory limits included), or every error it would report.
pub fn plan_for_codegen(source: &Source) -> Result<Plan, InvalidProfile> {
    let profile = Profile::parse(source).map_err(InvalidProfile::Profile)?;
    let plan = Plan::resolve(&profile).map_err(InvalidProfile::Plan)?;
    let limit_errors = plan.limit_errors();
    if !limit_errors.is_empty() {
        return Err(InvalidProfile::Plan(limit_errors));
    }
    Ok(plan)
}

/// A generated crate, ready to be written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCrate {
    /// The text of `Cargo.toml`.
    pub cargo_toml: String,
    /// The text of `src/lib.rs`.
    pub lib_rs: String,
}

/// The crate `stackgen generate` writes for `plan`, read from `source` (whose name and text go
/// into the header), depending on stack-runtime as `runtime` says.
pub fn generate_crate(plan: &Plan, source: &Source, runtime: &RuntimeDependency) -> GeneratedCrate {
    let hash = fnv1a_64(source.text().as_bytes());
    let mut header = String::new();
    let _ = writeln!(
        header,
        "// @generated by `stackgen generate` from {} ([stack] name = \"{}\").",
        source.name(),
        plan.name
    );
    let _ = writeln!(
        header,
        "// Profile hash (FNV-1a 64 of the profile text): {hash:016x}."
    );
    let _ = writeln!(
        header,
        "// Do not edit: change the profile and run `stackgen generate` again."
    );
    let body = items(plan);
    let file: syn::File = syn::parse2(quote! {
        #![no_std]
        #![forbid(unsafe_code)]
        #body
    })
    .expect("codegen::items produces a valid Rust file");
    let lib_rs = format!("{header}\n{}", space_items(&prettyplease::unparse(&file)));
    let cargo_toml = manifest::cargo_toml(plan, &header, runtime);
    GeneratedCrate { cargo_toml, lib_rs }
}

/// prettyplease puts no blank line between items; this puts one before every item (and its
/// doc comment or attributes) that follows the end of another, as hand-written code has.
/// Consecutive `use` lines stay together.
fn space_items(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut previous: Option<&str> = None;
    // The last line at column 0 that opens something (not a closing `}`, `};`, `)`…).
    let mut last_opening = "";
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(prev) = previous {
            let prev_trimmed = prev.trim();
            let starts_item = [
                "///", "#[", "pub ", "fn ", "static ", "const ", "impl ", "use ",
            ]
            .iter()
            .any(|start| trimmed.starts_with(start));
            let prev_is_comment_or_attr = prev_trimmed.starts_with("///")
                || prev_trimmed.starts_with("#[")
                || prev_trimmed.starts_with("// ");
            let prev_ends_item = !prev_is_comment_or_attr
                && (prev_trimmed.ends_with('}')
                    || prev_trimmed.ends_with(';')
                    || prev_trimmed.starts_with("//!")
                    || prev_trimmed.starts_with("#!["));
            let both_use = trimmed.starts_with("use ") && last_opening.starts_with("use ");
            let both_inner_attr = trimmed.starts_with("#![") && prev_trimmed.starts_with("#![");
            if starts_item && prev_ends_item && !both_use && !both_inner_attr {
                out.push('\n');
            }
        }
        if !line.starts_with([' ', '}', ')', ']', '>']) && !line.is_empty() {
            last_opening = line;
        }
        out.push_str(line);
        out.push('\n');
        previous = Some(line);
    }
    out
}

/// `text` broken at spaces into lines of at most 92 characters (a longer word stays whole),
/// every line after the first starting with `indent`; each line ends with `\n`.
fn wrap(text: &str, indent: &str) -> String {
    const WIDTH: usize = 92;
    let mut out = String::new();
    let mut line = String::new();
    // Whether `line` holds a word yet (else only the indentation, or nothing).
    let mut has_word = false;
    for word in text.split(' ') {
        if has_word && line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
            has_word = false;
        }
        if has_word {
            line.push(' ');
        }
        line.push_str(word);
        has_word = true;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// `#[doc = " line"]` for each line, so prettyplease prints them as `/// line` (or `//! line`
/// when `inner`).
fn doc_lines(text: &str, inner: bool) -> TokenStream {
    text.lines()
        .map(|line| {
            let line = if line.is_empty() {
                String::new()
            } else {
                format!(" {line}")
            };
            if inner {
                quote! { #![doc = #line] }
            } else {
                quote! { #[doc = #line] }
            }
        })
        .collect()
}

fn usize_lit(value: u64) -> Literal {
    Literal::usize_unsuffixed(usize::try_from(value).unwrap_or(usize::MAX))
}

/// The type the generated code keeps in a pool, by pool id (`None`: a byte array).
fn pool_element_type(pool_id: &str) -> Option<TokenStream> {
    Some(match pool_id {
        "tx_queue" => quote! { PendingSlot },
        "arp_cache" => quote! { ArpEntry },
        "ipv4_reassembly" => quote! { ReassemblySlot },
        "udp_sockets" => quote! { UdpSlot },
        "tcp_slots" => quote! { TcpSlot },
        "tcp_listeners" => quote! { TcpListenerSlot },
        "tcp_quotas" => quote! { SocketQuota },
        "dhcpv4_client" => quote! { DhcpSlot },
        "dns_queries" => quote! { DnsQuerySlot },
        "dns_cache" => quote! { DnsCacheEntry },
        _ => return None,
    })
}

/// Compile-time checks that every pool element has the size and alignment the plan budgets
/// (the table in `stackgen::plan::sizes`), for the pointer width of the profile's target: if
/// stack-runtime changes a type, the build fails here instead of the budget going wrong.
fn layout_asserts(plan: &Plan) -> TokenStream {
    let width = crate::plan::sizes::pointer_width(&plan.target).to_string();
    let checks = plan.pools.iter().filter_map(|pool| {
        let element = pool_element_type(pool.id)?;
        let literal = usize_lit(pool.element);
        // A connection slot's size depends on whether SACK is compiled in, which a workspace
        // build can turn on for a profile without it (cargo unifies features): accept the
        // layout of whichever is compiled.
        let size = if pool.id == "tcp_slots" {
            let layouts = crate::plan::sizes::layouts(&plan.target);
            let with = usize_lit(layouts.tcp_slot_for(true).size);
            let without = usize_lit(layouts.tcp_slot_for(false).size);
            quote! { if stack_runtime::tcp::SACK_COMPILED_IN { #with } else { #without } }
        } else {
            quote! { #literal }
        };
        let align = usize_lit(pool.align);
        let message = format!(
            "{} is not {} B aligned to {} as stackgen's layout table (stackgen/src/plan/sizes.rs) \
             says: the budget would be wrong",
            element.to_string().replace(' ', ""),
            pool.element,
            pool.align
        );
        Some(quote! {
            assert!(
                core::mem::size_of::<#element>() == #size
                    && core::mem::align_of::<#element>() == #align,
                #message
            );
        })
    });
    quote! {
        /// The element layouts the budget was computed with, checked against stack-runtime.
        #[cfg(target_pointer_width = #width)]
        const _: () = {
            #(#checks)*
        };
    }
}

fn protocol_list(plan: &Plan) -> String {
    let names: Vec<&str> = plan
        .protocols
        .names(true)
        .into_iter()
        .map(|name| match name {
            "arp" => "ARP",
            "ipv4" => "IPv4",
            "ipv6" => "IPv6",
            "icmpv4" => "ICMPv4",
            "icmpv6" => "ICMPv6",
            "udp" => "UDP",
            "tcp" => "TCP",
            "dhcpv4" => "DHCPv4",
            "dns" => "DNS",
            other => other,
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn module_doc(
    plan: &Plan,
    interface: Option<&InterfacePlan>,
    parts: &[protocols::Parts],
) -> String {
    let mut doc = String::new();
    let _ = writeln!(
        doc,
        "The network stack of profile `{}`, generated by stackgen.",
        plan.name
    );
    doc.push('\n');
    doc.push_str(
        "Every pool is a fixed array of the length the profile resolves to, in `static` storage\n\
         (no heap). [`init`] hands the pools to stack-runtime and returns the stack as a [`Net`],\n\
         whose API has only the protocols the profile turns on.\n",
    );
    doc.push('\n');
    let _ = writeln!(doc, "Protocols on: {}.", protocol_list(plan));
    let protocol_lines: Vec<&String> = parts.iter().flat_map(|part| &part.doc).collect();
    if !protocol_lines.is_empty() {
        doc.push('\n');
        for line in protocol_lines {
            doc.push_str(&wrap(&format!("- {line}"), "  "));
        }
    }
    let mut notes = Vec::new();
    if let Some(entries) = plan.ndp_entries {
        notes.push(format!(
            "- IPv6 neighbor cache: {entries} entries (`ndp.entries`), arrive with IPv6."
        ));
    }
    if plan.interfaces.len() > 1 {
        let others: Vec<String> = plan.interfaces[1..]
            .iter()
            .map(|other| format!("`{}`", other.name))
            .collect();
        notes.push(format!(
            "- interfaces {}: stack-runtime runs one interface (`{}`); the others arrive with \
             multi-interface support.",
            others.join(", "),
            interface.map_or("", |first| first.name.as_str())
        ));
    }
    if !notes.is_empty() {
        doc.push('\n');
        doc.push_str("# Not generated yet\n\n");
        doc.push_str(
            "The profile also sizes these, for protocols stack-runtime does not implement yet;\n\
             they are generated when the runtime gains them:\n\n",
        );
        for note in notes {
            let _ = writeln!(doc, "{note}");
        }
    }
    doc
}

/// The items of the generated module (or crate): constants, static pools, `config`, `init`
/// and `Net`. The same tokens serve `stackgen generate` and `#[stack_config]`.
pub fn items(plan: &Plan) -> TokenStream {
    let interface = plan.interfaces.first();
    let parts = [
        protocols::tcp(plan),
        protocols::dhcp(plan),
        protocols::dns(plan),
    ];
    let module_doc = doc_lines(&module_doc(plan, interface, &parts), true);
    let name = &plan.name;

    // ---- constants -------------------------------------------------------------------------
    let rx_buffers = usize_lit(plan.buffers.rx_count);
    let tx_buffers = usize_lit(plan.buffers.tx_count);
    let packet_size = usize_lit(plan.buffers.size);
    let mtu = usize_lit(interface.map_or(1500, |interface| interface.mtu));
    let mut consts = quote! {
        /// Packet buffers for received frames (`buffers.rx_count`).
        pub const RX_BUFFERS: usize = #rx_buffers;
        /// Packet buffers for frames the stack sends (`buffers.tx_count`).
        pub const TX_BUFFERS: usize = #tx_buffers;
        /// Bytes per packet buffer (`buffers.size`).
        pub const PACKET_SIZE: usize = #packet_size;
        /// Packet buffers in all: stack-runtime keeps one pool shared by both directions.
        pub const PACKET_BUFFERS: usize = RX_BUFFERS + TX_BUFFERS;
        /// IP MTU of the interface in bytes (`interface.mtu`).
        pub const MTU: usize = #mtu;
    };
    let mut statics = quote! {
        /// The packet buffers, `PACKET_BUFFERS × PACKET_SIZE` bytes.
        static PACKETS: ConstStaticCell<[[u8; PACKET_SIZE]; PACKET_BUFFERS]> =
            ConstStaticCell::new([[0; PACKET_SIZE]; PACKET_BUFFERS]);
        /// One transmit-queue slot per packet buffer, so the queue never runs out before the
        /// pool does.
        static TX_QUEUE: ConstStaticCell<[PendingSlot; PACKET_BUFFERS]> =
            ConstStaticCell::new([PendingSlot::EMPTY; PACKET_BUFFERS]);
    };
    let mut takes = quote! {
        let packets = PACKETS.try_take()?;
        let tx_queue = TX_QUEUE.try_take()?;
    };
    let mut runtime_names = vec![
        format_ident!("Instant"),
        format_ident!("PendingSlot"),
        format_ident!("Stack"),
        format_ident!("StackConfig"),
        format_ident!("StackStorage"),
        format_ident!("Stats"),
    ];
    let mut needs_static_cell = false;

    let arp = match plan.arp_entries {
        Some(entries) => {
            let entries = usize_lit(entries);
            consts.extend(quote! {
                /// ARP cache entries (`arp.entries`).
                pub const ARP_ENTRIES: usize = #entries;
            });
            statics.extend(quote! {
                /// The ARP cache.
                static ARP_CACHE: ConstStaticCell<[ArpEntry; ARP_ENTRIES]> =
                    ConstStaticCell::new([ArpEntry::EMPTY; ARP_ENTRIES]);
            });
            takes.extend(quote! { let arp = ARP_CACHE.try_take()?; });
            runtime_names.push(format_ident!("ArpEntry"));
            quote! { arp }
        }
        None => quote! { arp: &mut [] },
    };

    let (reassembly, reassembly_bytes) = match plan.reassembly {
        Some(reassembly) => {
            let buffers = usize_lit(reassembly.buffers);
            let size = usize_lit(reassembly.size);
            consts.extend(quote! {
                /// IPv4 datagrams reassembled at once (`reassembly.buffers`).
                pub const REASSEMBLY_BUFFERS: usize = #buffers;
                /// Largest IPv4 datagram reassembled, in bytes (`reassembly.size`).
                pub const REASSEMBLY_SIZE: usize = #size;
            });
            statics.extend(quote! {
                /// Reassembly slots, one per datagram in reassembly (filled by [`init`]: no
                /// flash image).
                static REASSEMBLY: StaticCell<[ReassemblySlot; REASSEMBLY_BUFFERS]> =
                    StaticCell::new();
                /// Reassembly bytes, split evenly between the slots.
                static REASSEMBLY_BYTES: ConstStaticCell<[u8; REASSEMBLY_BUFFERS * REASSEMBLY_SIZE]> =
                    ConstStaticCell::new([0; REASSEMBLY_BUFFERS * REASSEMBLY_SIZE]);
            });
            takes.extend(quote! {
                let reassembly =
                    REASSEMBLY.try_init_with(|| [ReassemblySlot::EMPTY; REASSEMBLY_BUFFERS])?;
                let reassembly_bytes = REASSEMBLY_BYTES.try_take()?;
            });
            runtime_names.push(format_ident!("ReassemblySlot"));
            (quote! { reassembly }, quote! { reassembly_bytes })
        }
        None => (
            quote! { reassembly: &mut [] },
            quote! { reassembly_bytes: &mut [] },
        ),
    };

    let mut net_methods = TokenStream::new();
    let udp = match plan.udp {
        Some(udp) => {
            let sockets = usize_lit(udp.sockets);
            let rx = usize_lit(udp.rx_buffer);
            let tx = usize_lit(udp.tx_buffer);
            consts.extend(quote! {
                /// UDP sockets the application can bind (`udp.sockets`).
                pub const UDP_SOCKETS: usize = #sockets;
                /// Most bytes of received payload one UDP socket keeps queued in the packet
                /// buffers (`udp.rx_buffer`); no larger datagram is ever received.
                pub const UDP_RX_BUFFER: usize = #rx;
                /// Largest datagram payload one UDP socket sends (`udp.tx_buffer`).
                pub const UDP_TX_BUFFER: usize = #tx;
            });
            statics.extend(quote! {
                /// The UDP socket slots (ports and limits; their datagrams wait in the packet
                /// buffers), filled by [`init`].
                static UDP_SLOTS: StaticCell<[UdpSlot; UDP_SOCKETS]> = StaticCell::new();
            });
            takes.extend(quote! {
                let udp = UDP_SLOTS.try_init(
                    [const { UdpSlot::new(UDP_RX_BUFFER, UDP_TX_BUFFER) }; UDP_SOCKETS],
                )?;
            });
            runtime_names.extend([
                format_ident!("UdpError"),
                format_ident!("UdpHandle"),
                format_ident!("UdpSlot"),
            ]);
            let rx_queue = usize_lit(crate::plan::sizes::UDP_RX_QUEUE);
            let reserve = usize_lit(crate::plan::sizes::FRAME_RESERVE);
            consts.extend(quote! {
                const _: () = assert!(
                    stack_runtime::udp::RX_QUEUE == #rx_queue
                        && stack_runtime::pool::FRAME_RESERVE == #reserve,
                    "stack-runtime's UDP queue or frame reserve differs from stackgen/src/plan/sizes.rs"
                );
            });
            needs_static_cell = true;
            net_methods.extend(quote! {
                /// Binds a UDP socket to `port` (0: an ephemeral port from 49152 up).
                pub fn udp_bind(&mut self, port: u16) -> Result<UdpHandle, UdpError> {
                    self.stack.udp_bind(port)
                }

                /// The local port of a bound socket.
                pub fn udp_local_port(&self, socket: UdpHandle) -> Option<u16> {
                    self.stack.udp_local_port(socket)
                }

                /// Queues `payload` for `to` in packet buffers; it is sent from the next
                /// [`poll`](Self::poll) on. At most [`UDP_TX_BUFFER`] bytes (`TooLarge`);
                /// `BufferFull` while the packet buffers are taken (poll, then retry).
                pub fn udp_send_to(
                    &mut self,
                    socket: UdpHandle,
                    payload: &[u8],
                    to: SocketAddrV4,
                ) -> Result<(), UdpError> {
                    self.stack.udp_send_to(socket, payload, to)
                }

                /// Takes the oldest datagram received on `socket`: its length and sender.
                /// `WouldBlock` when none has arrived.
                pub fn udp_recv_from(
                    &mut self,
                    socket: UdpHandle,
                    buf: &mut [u8],
                ) -> Result<(usize, SocketAddrV4), UdpError> {
                    self.stack.udp_recv_from(socket, buf)
                }

                /// Closes a socket, returning the buffers of datagrams it had not read.
                pub fn udp_close(&mut self, socket: UdpHandle) {
                    self.stack.udp_close(socket);
                }
            });
            quote! { udp }
        }
        None => quote! { udp: &mut [] },
    };
    // ---- TCP, the DHCPv4 client, the DNS resolver ----------------------------------------
    let mut protocol_uses: Vec<(&'static str, TokenStream)> = Vec::new();
    let mut enable = TokenStream::new();
    let mut seeds = TokenStream::new();
    let mut config_fields = TokenStream::new();
    let mut config_values = TokenStream::new();
    let mut stack_config_values = TokenStream::new();
    let mut tcp_storage = TokenStream::new();
    for part in &parts {
        consts.extend(part.consts.clone());
        statics.extend(part.statics.clone());
        protocol_uses.extend(part.uses.iter().cloned());
        runtime_names.extend(
            part.runtime_names
                .iter()
                .map(|name| format_ident!("{name}")),
        );
        takes.extend(part.takes.clone());
        enable.extend(part.enable.clone());
        seeds.extend(part.seeds.clone());
        config_fields.extend(part.config_fields.clone());
        config_values.extend(part.config_values.clone());
        stack_config_values.extend(part.stack_config_values.clone());
        tcp_storage.extend(part.storage.clone());
        net_methods.extend(part.net_methods.clone());
    }
    if !seeds.is_empty() {
        protocol_uses.push((
            "stack_runtime::tcp::siphash",
            quote! { use stack_runtime::tcp::siphash::siphash24; },
        ));
    }
    protocol_uses.sort_by_key(|(path, _)| *path);
    let protocol_uses: TokenStream = protocol_uses.into_iter().map(|(_, item)| item).collect();
    // `init` changes the stack after building it only when a service is enabled there.
    let build_net = if enable.is_empty() {
        quote! {
            Some(Net {
                stack: Stack::new(config.stack, storage, hardware_addr),
            })
        }
    } else {
        quote! {
            let mut stack = Stack::new(config.stack, storage, hardware_addr);
            #enable
            Some(Net { stack })
        }
    };
    runtime_names.sort();
    // DHCPv4, DNS and reassembly keep slots whose empty value is not all zero in a
    // `StaticCell` filled by `init`, so they need no flash image.
    let needs_static_cell = needs_static_cell
        || plan.dns.is_some()
        || plan.reassembly.is_some()
        || protocols::runs_dhcp(plan);
    let static_cell_use = if needs_static_cell {
        quote! { use static_cell::{ConstStaticCell, StaticCell}; }
    } else {
        quote! { use static_cell::ConstStaticCell; }
    };
    let net_use = if plan.udp.is_some() || plan.tcp.is_some() {
        quote! { use core::net::{Ipv4Addr, SocketAddrV4}; }
    } else {
        quote! { use core::net::Ipv4Addr; }
    };

    // ---- the profile's interface settings ----------------------------------------------
    let (ipv4, ipv4_doc) = match interface.map(|interface| interface.ipv4) {
        Some(Ipv4Setting::Static { address, prefix }) => {
            let [a, b, c, d] = address.octets().map(Literal::u8_unsuffixed);
            let prefix_lit = Literal::u8_unsuffixed(prefix);
            (
                quote! { Ipv4Cidr::new(Ipv4Addr::new(#a, #b, #c, #d), #prefix_lit) },
                format!("address {address}/{prefix}"),
            )
        }
        Some(Ipv4Setting::Dhcp) if protocols::runs_dhcp(plan) => (
            quote! { None },
            "no address until the DHCPv4 client, started by [`init`], leases one".into(),
        ),
        Some(Ipv4Setting::Dhcp) => (
            quote! { None },
            "no address yet: the profile leases one with DHCPv4, which is off; set one with\n  \
             [`Net::set_ipv4`]"
                .into(),
        ),
        Some(Ipv4Setting::Off) | None => (quote! { None }, "no IPv4 address".into()),
    };
    let (gateway, gateway_doc) = match interface.and_then(|interface| interface.gateway) {
        Some(gateway) => {
            let [a, b, c, d] = gateway.octets().map(Literal::u8_unsuffixed);
            (
                quote! { Some(Ipv4Addr::new(#a, #b, #c, #d)) },
                format!("gateway {gateway}"),
            )
        }
        None => (quote! { None }, "no gateway".into()),
    };
    let tcp_doc = if plan.tcp.is_some() {
        ";\n- TCP from `[tcp]`: [`TCP_SEND_BUFFERS`], [`TCP_RECV_BUFFERS`], [`TCP_BACKLOG`],\n  \
         options and timers as the module documentation lists"
    } else {
        ""
    };
    let services_doc = match (protocols::runs_dhcp(plan), plan.dns.is_some()) {
        (true, true) => ";\n- the DHCPv4 client's and the DNS resolver's defaults",
        (true, false) => ";\n- the DHCPv4 client's defaults",
        (false, true) => {
            ";\n- the DNS resolver's defaults, without a server: name them in\n  \
             `config.dns.servers`"
        }
        (false, false) => "",
    };
    let config_doc = doc_lines(
        &format!(
            "The settings of the profile; every other knob is stack-runtime's default:\n\
             \n\
             - {ipv4_doc};\n\
             - {gateway_doc};\n\
             - MTU [`MTU`]{tcp_doc}{services_doc}."
        ),
        false,
    );
    let hardware_addr = match interface.and_then(|interface| interface.mac) {
        Some(MacSetting::Address(mac)) => {
            let text = mac
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<Vec<_>>()
                .join(":");
            let doc = format!(" The interface's MAC address from the profile: {text}.");
            let bytes = mac.iter().map(|byte| Literal::u8_unsuffixed(*byte));
            quote! {
                #[doc = #doc]
                pub const HARDWARE_ADDR: EthernetAddress = EthernetAddress([#(#bytes),*]);
            }
        }
        _ => TokenStream::new(),
    };

    let net_doc = doc_lines(
        &format!(
            "The stack of profile `{name}`: stack-runtime's `Stack` over this module's pools, with\n\
             the API of the protocols the profile turns on (protocols on: {}).",
            protocol_list(plan)
        ),
        false,
    );

    let layout_asserts = layout_asserts(plan);
    quote! {
        #module_doc

        #net_use
        use embassy_net_driver::Driver;
        #protocol_uses
        use stack_runtime::wire::{EthernetAddress, Ipv4Cidr};
        use stack_runtime::{#(#runtime_names),*};
        #static_cell_use

        #consts

        const _: () = assert!(
            PACKET_BUFFERS <= stack_runtime::pool::MAX_BUFFERS,
            "more packet buffers than stack-runtime's pool can index"
        );

        #layout_asserts

        #hardware_addr

        #statics

        /// Everything [`init`] configures, per protocol; start from [`config()`] and change
        /// what the application decides at run time (an address given on the command line…).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Config {
            /// The interface, IPv4, ARP, ICMP and TCP settings. `init` replaces its `seed`.
            pub stack: StackConfig,
            #config_fields
        }

        #config_doc
        pub fn config() -> Config {
            Config {
                stack: StackConfig {
                    ipv4: #ipv4,
                    gateway: #gateway,
                    mtu: MTU,
                    #stack_config_values
                    ..StackConfig::default()
                },
                #config_values
            }
        }

        /// Builds the stack over this module's static pools, with `config` (start from
        /// [`config()`]) and Ethernet address `hardware_addr`, and starts the services the
        /// profile turns on.
        ///
        /// `seed` is the secret behind everything an attacker must not predict (TCP initial
        /// sequence numbers and SYN cookies, ephemeral ports, DHCP transaction and DNS query
        /// ids): 16 bytes from a hardware RNG, or a unique id mixed with stored entropy,
        /// different on every boot. It replaces the seeds in `config`.
        ///
        /// The pools exist once, so there is one stack per program: the first call returns
        /// `Some`, every later call `None`.
        pub fn init(mut config: Config, hardware_addr: EthernetAddress, seed: [u8; 16]) -> Option<Net> {
            config.stack.seed = seed;
            #seeds
            #takes
            let storage = StackStorage {
                packets: packets.as_flattened_mut(),
                packet_size: PACKET_SIZE,
                tx_queue,
                #arp,
                #reassembly,
                #reassembly_bytes,
                #udp,
                #tcp_storage,
            };
            #build_net
        }

        #net_doc
        #[derive(Debug)]
        pub struct Net {
            stack: Stack<'static>,
        }

        impl Net {
            /// Runs everything that is due: frames from `driver`, queued output, timers.
            /// Returns when to call again at the latest (`None`: when the driver has a frame).
            pub fn poll<D: Driver>(&mut self, driver: &mut D, now: Instant) -> Option<Instant> {
                self.stack.poll(driver, now)
            }

            /// The statistics: every drop by reason, traffic and pool usage.
            pub fn stats(&self) -> &Stats {
                self.stack.stats()
            }

            /// The interface address, if configured.
            pub fn ipv4(&self) -> Option<Ipv4Cidr> {
                self.stack.ipv4()
            }

            /// Changes the address and gateway; a new address is announced on the next poll.
            pub fn set_ipv4(&mut self, cidr: Option<Ipv4Cidr>, gateway: Option<Ipv4Addr>) {
                self.stack.set_ipv4(cidr, gateway);
            }

            /// The interface's Ethernet address.
            pub fn hardware_addr(&self) -> EthernetAddress {
                self.stack.hardware_addr()
            }

            #net_methods
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Plan {
        plan_for_codegen(&Source::new("t.toml", text)).expect("valid profile")
    }

    const UDP_OFF: &str = r#"
[stack]
name = "t"
board = "host-tap"
[[interface]]
name = "tap0"
ipv4 = "static 192.0.2.2/24"
[protocols]
arp = true
ipv4 = true
icmpv4 = true
tcp = true
"#;

    #[test]
    fn tcp_options_the_profile_turns_on_must_be_compiled_in() {
        let off = items(&plan(UDP_OFF)).to_string();
        // No option required (SACK_COMPILED_IN appears only in the slot's layout check, which
        // accepts either slot size).
        assert!(!off.contains("enable stack-runtime's feature"), "{off}");
        assert!(
            !off.contains("assert ! (stack_runtime :: tcp :: SACK_COMPILED_IN"),
            "{off}"
        );
        assert!(!off.contains("WINDOW_SCALING_COMPILED_IN"), "{off}");
        assert!(!off.contains("TIMESTAMPS_COMPILED_IN"), "{off}");
        let on = items(&plan(&UDP_OFF.replace(
            "tcp = true\n",
            "tcp = true\n[tcp]\nsack = true\nwindow_scaling = true\n",
        )))
        .to_string();
        assert!(
            on.contains("stack_runtime :: tcp :: SACK_COMPILED_IN"),
            "{on}"
        );
        assert!(on.contains("WINDOW_SCALING_COMPILED_IN"), "{on}");
        assert!(!on.contains("TIMESTAMPS_COMPILED_IN"), "{on}");
        assert!(
            on.contains("enable stack-runtime's feature `tcp-sack`"),
            "{on}"
        );
    }

    #[test]
    fn udp_off_has_no_udp_api_and_no_udp_pools() {
        let text = items(&plan(UDP_OFF)).to_string();
        assert!(!text.contains("udp_bind"), "{text}");
        assert!(!text.contains("UDP_SOCKETS"), "{text}");
        assert!(text.contains("udp : & mut []"), "{text}");
        assert!(text.contains("fn tcp_listen"), "{text}");
        assert!(!text.contains("Not generated yet"), "{text}");
        assert!(!text.contains("UdpSlot"), "{text}");
    }

    const SERVICES: &str = r#"
[stack]
name = "t"
board = "stm32f407"
[[interface]]
name = "eth0"
mac = "02:00:00:00:00:02"
ipv4 = "dhcp"
[protocols]
arp = true
ipv4 = true
udp = true
dhcpv4 = true
dns = true
[dns]
servers = 2
cache_entries = 3
"#;

    #[test]
    fn tcp_off_has_no_tcp_api_and_no_tcp_pools() {
        let text = items(&plan(SERVICES)).to_string();
        assert!(!text.contains("tcp_listen"), "{text}");
        assert!(!text.contains("TCP_SOCKETS"), "{text}");
        assert!(text.contains("tcp : TcpStorage :: none ()"), "{text}");
        assert_eq!(
            runtime_features(&plan(SERVICES)),
            ["udp", "icmp", "dhcpv4", "dns"],
            "no `tcp`"
        );
    }

    #[test]
    fn dhcp_and_dns_are_enabled_in_init_with_their_pools() {
        let text = items(&plan(SERVICES)).to_string();
        assert!(text.contains("static DHCP_SLOT"), "{text}");
        assert!(
            text.contains("stack . enable_dhcp (dhcp , config . dhcp)"),
            "{text}"
        );
        assert!(
            text.contains("pub const DNS_CACHE_ENTRIES : usize = 3"),
            "{text}"
        );
        assert!(
            text.contains("stack . enable_dns (dns , config . dns)"),
            "{text}"
        );
        assert!(text.contains("pub fn dns_query"), "{text}");
        assert!(text.contains("pub fn dhcp_take_event"), "{text}");
        // Without DHCP and DNS, none of it.
        let text = items(&plan(UDP_OFF)).to_string();
        assert!(!text.contains("dhcp") && !text.contains("dns"), "{text}");
        assert!(!text.contains("siphash24"), "{text}");
    }

    #[test]
    fn wrap_breaks_at_spaces_and_indents() {
        let long = format!("- {}", ["word"; 40].join(" "));
        let wrapped = wrap(&long, "  ");
        assert!(wrapped.lines().all(|line| line.len() <= 92), "{wrapped}");
        assert!(
            wrapped
                .lines()
                .skip(1)
                .all(|line| line.starts_with("  word"))
        );
        assert_eq!(wrapped.split_whitespace().count(), 41);
    }

    #[test]
    fn generated_file_parses_and_has_no_unsafe() {
        let source = Source::new("t.toml", UDP_OFF);
        let generated = generate_crate(
            &plan(UDP_OFF),
            &source,
            &RuntimeDependency::Path("../stack-runtime".into()),
        );
        assert!(
            generated
                .lib_rs
                .starts_with("// @generated by `stackgen generate` from t.toml")
        );
        assert!(!generated.lib_rs.contains("unsafe {"));
        assert!(generated.cargo_toml.contains("path = \"../stack-runtime\""));
    }
}
