//! The catalogue of every section and key a profile may contain: type, unit, range, default and
//! meaning. The reader, the JSON Schema, the defaults the plan applies and the reference
//! documentation all come from here, so they cannot drift apart.

use crate::units::{KIB, MIB};

/// What kind of value a key takes, with its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Free text (names).
    Text,
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
    /// `true` or `false`.
    Bool,
    /// A whole number within `min..=max`.
    Count {
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A size in bytes (`"16 KiB"`, `"1536 B"` or a plain integer) within `min..=max` bytes.
    Size {
        /// Smallest accepted size in bytes.
        min: u64,
        /// Largest accepted size in bytes.
        max: u64,
    },
    /// A TCP size: bytes as for [`Kind::Size`], or `"N mss"` with `N` in `1..=max_mss`.
    TcpSize {
        /// Largest multiple of the MSS accepted.
        max_mss: u64,
        /// Largest size in bytes accepted (without window scaling for the receive window).
        max: u64,
    },
    /// A duration (`"60 s"`, `"50 ms"`) within `min_us..=max_us` microseconds.
    Duration {
        /// Shortest accepted duration, microseconds.
        min_us: u64,
        /// Longest accepted duration, microseconds.
        max_us: u64,
    },
    /// A number (integer or float) of events per second, within `0..=max`.
    Rate {
        /// Largest accepted rate.
        max: u64,
    },
    /// A MAC address `"02:00:00:00:00:01"` or `"from-board"`.
    Mac,
    /// `"dhcp"`, `"static 192.0.2.2/24"` or `"off"`.
    Ipv4Config,
    /// A dotted IPv4 address.
    Ipv4Address,
    /// `false` (off) or a duration of idle time before the first probe.
    Keepalive,
}

/// The default a key takes when the profile leaves it out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    /// The key must be written.
    Required,
    /// Left out means "not set" (no limit, no workload figure…).
    Unset,
    /// A boolean default.
    Bool(bool),
    /// A count default.
    Count(u64),
    /// A size default in bytes.
    Size(u64),
    /// A TCP size default counted in MSS.
    Mss(u64),
    /// A duration default in microseconds.
    Duration(u64),
    /// A string default.
    Text(&'static str),
    /// Computed from other values; the text says how.
    Computed(&'static str),
}

/// One key of a section.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Key {
    /// The key as written in TOML.
    pub name: &'static str,
    /// Its type and range.
    pub kind: Kind,
    /// What it takes when left out.
    pub default: Default,
    /// What it means, for the schema and the reference.
    pub doc: &'static str,
}

/// One section (`[tcp]`) or array of tables (`[[interface]]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Section {
    /// The section name as written in TOML.
    pub name: &'static str,
    /// `[[name]]`, repeated once per item.
    pub array: bool,
    /// Whether the profile must contain it.
    pub required: bool,
    /// What it describes.
    pub doc: &'static str,
    /// Its keys.
    pub keys: &'static [Key],
}

impl Section {
    /// The key with this name, if the section has one.
    pub fn key(&self, name: &str) -> Option<&'static Key> {
        self.keys.iter().find(|key| key.name == name)
    }

    /// The key with this name; panics on a typo in stackgen's own code (never on user input).
    pub fn expect_key(&self, name: &str) -> &'static Key {
        match self.keys.iter().find(|key| key.name == name) {
            Some(key) => key,
            None => panic!("stackgen bug: no key `{name}` in [{}]", self.name),
        }
    }

    /// How the section is written: `[tcp]` or `[[interface]]`.
    pub fn header(&self) -> String {
        if self.array {
            format!("[[{}]]", self.name)
        } else {
            format!("[{}]", self.name)
        }
    }
}

/// Protocols named in the language but not built yet; enabling one is a "not supported yet"
/// error, writing it as `false` is accepted.
pub const NOT_YET_SUPPORTED: &[&str] = &[
    "6lowpan", "autoip", "coap", "dhcpv6", "http", "igmp", "llmnr", "mdns", "mld", "mqtt",
    "netbios", "ppp", "pppoe", "slaac", "snmp", "sntp", "tftp", "tls",
];

const fn count(min: u64, max: u64) -> Kind {
    Kind::Count { min, max }
}

const fn size(min: u64, max: u64) -> Kind {
    Kind::Size { min, max }
}

const SECONDS: u64 = 1_000_000;

/// `[stack]`: which stack, for which board.
pub const STACK: Section = Section {
    name: "stack",
    array: false,
    required: true,
    doc: "Which stack this is and which board it runs on.",
    keys: &[
        Key {
            name: "name",
            kind: Kind::Text,
            default: Default::Required,
            doc: "Name of the stack, shown in reports and used for generated items.",
        },
        Key {
            name: "board",
            kind: Kind::Text,
            default: Default::Required,
            doc: "The board: `host-tap`, `qemu-mps2-an386` or `stm32f407`.",
        },
        Key {
            name: "target",
            kind: Kind::Text,
            default: Default::Computed("the board's target triple"),
            doc: "Rust target triple to build for.",
        },
        Key {
            name: "app",
            kind: Kind::Text,
            default: Default::Computed("none: `stackgen build` then needs `--app`"),
            doc: "The application crate `stackgen build` builds by default: a directory with its Cargo.toml, relative to the profile file.",
        },
    ],
};

/// `[[interface]]`: one network interface.
pub const INTERFACE: Section = Section {
    name: "interface",
    array: true,
    required: true,
    doc: "One network interface; repeat the section for each.",
    keys: &[
        Key {
            name: "name",
            kind: Kind::Text,
            default: Default::Required,
            doc: "Interface name, unique in the profile (1 to 15 characters: letters, digits, `-`, `_`).",
        },
        Key {
            name: "kind",
            kind: Kind::Choice(&["ethernet", "loopback"]),
            default: Default::Text("ethernet"),
            doc: "Link type.",
        },
        Key {
            name: "mac",
            kind: Kind::Mac,
            default: Default::Text("from-board"),
            doc: "MAC address `\"02:00:00:00:00:01\"`, or `\"from-board\"` to read it from the board at start-up. Ethernet only.",
        },
        Key {
            name: "ipv4",
            kind: Kind::Ipv4Config,
            default: Default::Text("off"),
            doc: "IPv4 address: `\"static 192.0.2.2/24\"`, `\"dhcp\"` or `\"off\"`.",
        },
        Key {
            name: "gateway",
            kind: Kind::Ipv4Address,
            default: Default::Unset,
            doc: "Default IPv4 gateway, on the static address's subnet. Only with a static address.",
        },
        Key {
            name: "ipv6",
            kind: Kind::Bool,
            default: Default::Bool(false),
            doc: "IPv6 on this interface (link-local address).",
        },
        Key {
            name: "mtu",
            kind: count(576, 9000),
            default: Default::Count(1500),
            doc: "Largest IP packet the link carries, in bytes.",
        },
    ],
};

/// `[protocols]`: which protocols are compiled in.
pub const PROTOCOLS: Section = Section {
    name: "protocols",
    array: false,
    required: false,
    doc: "Which protocols are compiled in. A protocol turned off leaves no code in the firmware.",
    keys: &[
        Key {
            name: "arp",
            kind: Kind::Bool,
            default: Default::Computed("on when IPv4 is on and an interface is Ethernet"),
            doc: "ARP (IPv4 over Ethernet needs it).",
        },
        Key {
            name: "ipv4",
            kind: Kind::Bool,
            default: Default::Bool(true),
            doc: "IPv4.",
        },
        Key {
            name: "ipv6",
            kind: Kind::Bool,
            default: Default::Bool(false),
            doc: "IPv6 (needs icmpv6 for neighbor discovery).",
        },
        Key {
            name: "icmpv4",
            kind: Kind::Bool,
            default: Default::Computed("the value of protocols.ipv4"),
            doc: "ICMPv4: echo replies and error messages.",
        },
        Key {
            name: "icmpv6",
            kind: Kind::Bool,
            default: Default::Computed("the value of protocols.ipv6"),
            doc: "ICMPv6, including neighbor discovery.",
        },
        Key {
            name: "udp",
            kind: Kind::Bool,
            default: Default::Bool(false),
            doc: "UDP.",
        },
        Key {
            name: "tcp",
            kind: Kind::Bool,
            default: Default::Bool(false),
            doc: "TCP.",
        },
        Key {
            name: "dhcpv4",
            kind: Kind::Bool,
            default: Default::Bool(false),
            doc: "DHCPv4 client (uses its own UDP socket, added by the plan).",
        },
        Key {
            name: "dns",
            kind: Kind::Bool,
            default: Default::Bool(false),
            doc: "DNS resolver (uses its own UDP socket, added by the plan).",
        },
    ],
};

/// `[buffers]`: the packet-buffer pools the driver receives into and sends from.
pub const BUFFERS: Section = Section {
    name: "buffers",
    array: false,
    required: false,
    doc: "Packet-buffer pools (one shared pool of rx_count + tx_count buffers): the frames the stack builds, and TCP data (segments kept for retransmission, received data not yet read), at most tcp.segments buffers of it.",
    keys: &[
        Key {
            name: "rx_count",
            kind: count(1, 1024),
            default: Default::Count(8),
            doc: "Number of receive buffers.",
        },
        Key {
            name: "tx_count",
            kind: count(1, 1024),
            default: Default::Count(4),
            doc: "Number of transmit buffers.",
        },
        Key {
            name: "size",
            kind: size(128, 16 * KIB),
            default: Default::Size(1536),
            doc: "Size of one buffer; must hold a full frame (interface MTU + 14 B Ethernet header).",
        },
    ],
};

/// `[tcp]`: TCP pools and limits.
pub const TCP: Section = Section {
    name: "tcp",
    array: false,
    required: false,
    doc: "TCP sockets, listeners, windows and how many packet buffers TCP data may hold. Used when protocols.tcp is on.",
    keys: &[
        Key {
            name: "sockets",
            kind: count(0, 1024),
            default: Default::Count(4),
            doc: "TCP control blocks: every connection, including those in TIME_WAIT and those waiting in a listen backlog, takes one.",
        },
        Key {
            name: "listeners",
            kind: count(0, 64),
            default: Default::Count(1),
            doc: "Listening sockets (ports accepting connections); at most `sockets`.",
        },
        Key {
            name: "backlog",
            kind: count(1, 64),
            default: Default::Count(2),
            doc: "Connections a listener holds before the application accepts them.",
        },
        Key {
            name: "mss",
            kind: count(536, 8960),
            default: Default::Count(1460),
            doc: "Maximum segment size announced and sent, in bytes; at most the MTU minus 40 B (IPv4) or 60 B (IPv6) of headers.",
        },
        Key {
            name: "rx_window",
            kind: Kind::TcpSize {
                max_mss: 64,
                max: 1024 * MIB,
            },
            default: Default::Mss(4),
            doc: "Receive window of one connection: how much data may be in flight towards it. A limit over the shared rx buffers, unless `buffers = \"reserved\"`. At most 65535 B without window scaling.",
        },
        Key {
            name: "send_buffer",
            kind: Kind::TcpSize {
                max_mss: 64,
                max: 1024 * MIB,
            },
            default: Default::Mss(4),
            doc: "Data one connection may have queued or unacknowledged. A limit over the shared tx buffers, unless `buffers = \"reserved\"`.",
        },
        Key {
            name: "segments",
            kind: count(1, 4096),
            default: Default::Computed(
                "rx_count + tx_count − 2 (every packet buffer but the frame reserve)",
            ),
            doc: "Packet buffers TCP data may hold at once, all sockets together (lwIP's MEMP_NUM_TCP_SEG): sent and not yet acknowledged, or received and not yet read, one segment each. TCP has no buffers of its own; at most rx_count + tx_count − 2, since 2 packet buffers are always left for frames (ARP, ICMP, UDP, DHCP/DNS, RST).",
        },
        Key {
            name: "out_of_order_segments",
            kind: count(0, 64),
            default: Default::Count(4),
            doc: "Segments each connection may keep when they arrive out of order (0 drops them and relies on retransmission).",
        },
        Key {
            name: "time_wait",
            kind: Kind::Duration {
                min_us: 0,
                max_us: 240 * SECONDS,
            },
            default: Default::Duration(120 * SECONDS),
            doc: "How long a closed connection stays in TIME_WAIT (2 × MSL), keeping its socket.",
        },
        Key {
            name: "keepalive",
            kind: Kind::Keepalive,
            default: Default::Bool(false),
            doc: "`false`, or the idle time before the first keepalive probe (e.g. `\"60 s\"`).",
        },
        Key {
            name: "window_scaling",
            kind: Kind::Bool,
            default: Default::Bool(false),
            doc: "RFC 7323 window scaling (needed for windows over 65535 B).",
        },
        Key {
            name: "timestamps",
            kind: Kind::Bool,
            default: Default::Bool(false),
            doc: "RFC 7323 timestamps.",
        },
        Key {
            name: "sack",
            kind: Kind::Bool,
            default: Default::Bool(false),
            doc: "RFC 2018 selective acknowledgements.",
        },
        Key {
            name: "buffers",
            kind: Kind::Choice(&["shared", "reserved"]),
            default: Default::Text("shared"),
            doc: "`shared`: windows and send buffers are limits over the packet buffers TCP may hold (`tcp.segments`; little RAM, contention under load). `reserved`: every socket is guaranteed rx_window + send_buffer of them (no contention between sockets, needs tcp.segments ≥ sockets × both).",
        },
    ],
};

/// `[udp]`: UDP sockets the application uses.
pub const UDP: Section = Section {
    name: "udp",
    array: false,
    required: false,
    doc: "UDP sockets for the application. Their datagrams live in the packet buffers (`[buffers]`), like lwIP's pbufs: a socket owns no byte buffer, only limits. The DHCP client and the DNS resolver get their own sockets on top of these.",
    keys: &[
        Key {
            name: "sockets",
            kind: count(0, 256),
            default: Default::Count(2),
            doc: "Application UDP sockets.",
        },
        Key {
            name: "rx_buffer",
            kind: size(64, 16 * MIB),
            default: Default::Size(2 * KIB),
            doc: "Most bytes of received payload each application UDP socket keeps queued (its datagrams wait in the packet buffers, at most 8 buffers per socket); no larger datagram is received.",
        },
        Key {
            name: "tx_buffer",
            kind: size(64, 16 * MIB),
            default: Default::Size(2 * KIB),
            doc: "Largest datagram payload each application UDP socket sends (built into packet buffers, fragmented over the MTU); larger ones are refused with `TooLarge`.",
        },
    ],
};

/// `[arp]`: the IPv4 neighbor cache.
pub const ARP: Section = Section {
    name: "arp",
    array: false,
    required: false,
    doc: "The ARP cache (IPv4 address to MAC address).",
    keys: &[Key {
        name: "entries",
        kind: count(1, 256),
        default: Default::Count(8),
        doc: "Cache entries: one per on-link host talked to at the same time (the gateway counts).",
    }],
};

/// `[ndp]`: the IPv6 neighbor cache.
pub const NDP: Section = Section {
    name: "ndp",
    array: false,
    required: false,
    doc: "The IPv6 neighbor cache. Used when protocols.ipv6 is on.",
    keys: &[Key {
        name: "entries",
        kind: count(1, 256),
        default: Default::Count(4),
        doc: "Neighbor cache entries.",
    }],
};

/// `[reassembly]`: IPv4 fragment reassembly.
pub const REASSEMBLY: Section = Section {
    name: "reassembly",
    array: false,
    required: false,
    doc: "Reassembly of fragmented IPv4 packets.",
    keys: &[
        Key {
            name: "buffers",
            kind: count(0, 16),
            default: Default::Count(1),
            doc: "Packets reassembled at the same time (0 drops every fragment).",
        },
        Key {
            name: "size",
            kind: size(576, 65535),
            default: Default::Size(1500),
            doc: "Largest reassembled packet (576 B is the minimum every host must accept).",
        },
    ],
};

/// `[dns]`: the DNS resolver.
pub const DNS: Section = Section {
    name: "dns",
    array: false,
    required: false,
    doc: "The DNS resolver. Used when protocols.dns is on.",
    keys: &[
        Key {
            name: "servers",
            kind: count(1, 4),
            default: Default::Count(2),
            doc: "DNS servers remembered (from DHCP or set by the application).",
        },
        Key {
            name: "cache_entries",
            kind: count(0, 64),
            default: Default::Count(4),
            doc: "Resolved names cached until their TTL expires.",
        },
    ],
};

/// `[budget]`: memory limits the plan must fit.
pub const BUDGET: Section = Section {
    name: "budget",
    array: false,
    required: false,
    doc: "Memory limits; a plan over a limit is an error.",
    keys: &[
        Key {
            name: "ram_max",
            kind: size(0, 1024 * MIB),
            default: Default::Unset,
            doc: "Most RAM: `stackgen check` holds the pools to it; `stackgen build` holds the firmware's whole static RAM (`.data` + `.bss` + the board's call-stack reserve) to it.",
        },
        Key {
            name: "flash_max",
            kind: size(0, 1024 * MIB),
            default: Default::Unset,
            doc: "Most flash the firmware image may take (`.text` + `.rodata` + the `.data` image), checked by `stackgen build` on the linked ELF.",
        },
    ],
};

/// `[workload]`: what the device is expected to face; only used for sizing warnings.
pub const WORKLOAD: Section = Section {
    name: "workload",
    array: false,
    required: false,
    doc: "The load the device is expected to face. Only used for sizing warnings.",
    keys: &[
        Key {
            name: "concurrent_connections",
            kind: count(0, 1024),
            default: Default::Unset,
            doc: "TCP connections open at the same time at peak.",
        },
        Key {
            name: "new_connections_per_second",
            kind: Kind::Rate { max: 10_000 },
            default: Default::Unset,
            doc: "New TCP connections per second at peak (a fraction such as 0.1 is fine); each leaves a socket in TIME_WAIT.",
        },
        Key {
            name: "rtt",
            kind: Kind::Duration {
                min_us: 10,
                max_us: 60 * SECONDS,
            },
            default: Default::Duration(50_000),
            doc: "Typical round-trip time to peers; used to state the throughput a window allows.",
        },
        Key {
            name: "peers",
            kind: count(0, 1024),
            default: Default::Computed("concurrent_connections + 1 for the gateway"),
            doc: "Distinct on-link hosts talked to at the same time (sizes the ARP cache).",
        },
    ],
};

/// Every section, in the order the reference documents them.
pub const SECTIONS: &[&Section] = &[
    &STACK,
    &INTERFACE,
    &PROTOCOLS,
    &BUFFERS,
    &TCP,
    &UDP,
    &ARP,
    &NDP,
    &REASSEMBLY,
    &DNS,
    &BUDGET,
    &WORKLOAD,
];

/// The section with this name.
pub fn section(name: &str) -> Option<&'static Section> {
    SECTIONS
        .iter()
        .copied()
        .find(|section| section.name == name)
}

/// The closest name among `candidates`, if one is close enough to be a likely typo: at most
/// one edit (insertion, deletion, substitution or swap of neighbours) per three characters, or
/// a Jaro-Winkler similarity of 0.8 or more (shared prefix, e.g. `rx_windw`).
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let edits = strsim::osa_distance(name, candidate);
            let similarity = strsim::jaro_winkler(name, candidate);
            let allowed = (name.chars().count().max(candidate.chars().count()) / 3).max(1);
            (edits <= allowed || similarity >= 0.8).then_some((edits, similarity, candidate))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_unique_per_section() {
        for section in SECTIONS {
            for (i, key) in section.keys.iter().enumerate() {
                assert!(
                    section.keys[i + 1..].iter().all(|k| k.name != key.name),
                    "duplicate key {} in [{}]",
                    key.name,
                    section.name
                );
            }
        }
    }

    #[test]
    fn suggestions() {
        let keys = TCP.keys.iter().map(|k| k.name);
        assert_eq!(nearest("rx_windw", keys.clone()), Some("rx_window"));
        assert_eq!(nearest("socket", keys.clone()), Some("sockets"));
        assert_eq!(nearest("zzz", keys.clone()), None);
        assert_eq!(nearest("colour", keys), None);
        assert_eq!(nearest("tpc", SECTIONS.iter().map(|s| s.name)), Some("tcp"));
    }
}
