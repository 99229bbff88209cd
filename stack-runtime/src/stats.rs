//! Statistics: one counter per drop reason, traffic counters, and pool gauges.
//!
//! Field failures are debugged from these numbers, so every frame or datagram the stack throws
//! away increments exactly one drop counter named after the reason. Counters are `u32` (cheap on
//! a 32-bit MCU) and wrap; [`Stats::for_each`] reports them as `u64` with their snake_case names,
//! and [`Stats::drops_total`] sums the drop counters.

macro_rules! define_stats {
    (
        drops { $( $(#[$dm:meta])* $drop:ident, )* }
        traffic { $( $(#[$tm:meta])* $traffic:ident, )* }
        gauges { $( $(#[$gm:meta])* $gauge:ident, )* }
    ) => {
        /// Every counter of one stack. Drop counters count discarded frames, packets or
        /// datagrams by reason; traffic counters count what went through; gauges describe the
        /// fixed pools (capacity, current use, high-water mark).
        ///
        /// `#[non_exhaustive]`: later protocols add counters; read fields or use
        /// [`Stats::for_each`].
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct Stats {
            $( $(#[$dm])* pub $drop: u32, )*
            $( $(#[$tm])* pub $traffic: u32, )*
            $( $(#[$gm])* pub $gauge: u32, )*
        }

        impl Stats {
            /// All counters zero (usable in `const` and `static` context).
            pub const fn new() -> Stats {
                Stats {
                    $( $drop: 0, )*
                    $( $traffic: 0, )*
                    $( $gauge: 0, )*
                }
            }

            /// Sum of every drop counter.
            pub fn drops_total(&self) -> u64 {
                0 $( + u64::from(self.$drop) )*
            }

            /// Call `f(name, value)` for every counter: drops first, then traffic, then pool
            /// gauges.
            pub fn for_each(&self, mut f: impl FnMut(&'static str, u64)) {
                $( f(stringify!($drop), u64::from(self.$drop)); )*
                $( f(stringify!($traffic), u64::from(self.$traffic)); )*
                $( f(stringify!($gauge), u64::from(self.$gauge)); )*
            }

            /// Call `f(name, value)` for every drop counter only.
            pub fn for_each_drop(&self, mut f: impl FnMut(&'static str, u64)) {
                $( f(stringify!($drop), u64::from(self.$drop)); )*
            }
        }
    };
}

define_stats! {
    drops {
        /// Frame shorter than an Ethernet header.
        eth_truncated,
        /// Frame addressed to another station or to a multicast group we did not join.
        eth_not_for_us,
        /// Ethertype other than ARP and IPv4.
        eth_unknown_type,
        /// ARP packet shorter than its header says.
        arp_truncated,
        /// ARP packet with impossible fields (e.g. a multicast sender address).
        arp_malformed,
        /// ARP for something other than Ethernet/IPv4, or an unknown operation.
        arp_unsupported,
        /// ARP request for another host's address, or any ARP while we have no address.
        arp_not_for_us,
        /// Outgoing packet dropped because its next hop never answered our ARP requests.
        arp_timeout,
        /// Outgoing packet dropped because the queue of packets waiting for ARP was full.
        arp_queue_full,
        /// IPv4 packet shorter than its header or its total length.
        ipv4_truncated,
        /// IPv4 header with a wrong version, header length or total length.
        ipv4_malformed,
        /// IPv4 header checksum does not verify.
        ipv4_bad_checksum,
        /// IPv4 source address that no host may use (broadcast, multicast).
        ipv4_bad_src,
        /// IPv4 destination that is neither ours, a broadcast, nor a joined group.
        ipv4_not_for_us,
        /// IPv4 packet with a time-to-live of zero.
        ipv4_ttl_expired,
        /// IPv4 packet for a protocol this stack does not run.
        ipv4_unknown_protocol,
        /// Fragment dropped: no free reassembly slot (or reassembly disabled: zero slots).
        frag_no_slot,
        /// Datagram dropped because two of its fragments overlapped.
        frag_overlap,
        /// Datagram dropped because its fragments did not all arrive in time.
        frag_timeout,
        /// Datagram dropped because it does not fit a reassembly buffer.
        frag_too_large,
        /// Datagram dropped because it arrived in more pieces than a slot can track.
        frag_too_fragmented,
        /// Inconsistent fragment (e.g. a second last fragment with another length).
        frag_malformed,
        /// ICMP message too short or otherwise malformed.
        icmp_malformed,
        /// ICMP checksum does not verify.
        icmp_bad_checksum,
        /// ICMP type this stack does not handle.
        icmp_unsupported,
        /// Echo request sent to a broadcast or multicast address (ignored, as Linux does).
        icmp_broadcast_ignored,
        /// ICMP error suppressed by the rate limiter.
        icmp_rate_limited,
        /// UDP datagram too short or with a bad length field.
        udp_malformed,
        /// UDP checksum does not verify.
        udp_bad_checksum,
        /// UDP datagram for a port with no socket.
        udp_no_socket,
        /// UDP datagram dropped because the socket's receive queue was full (its `rx_buffer`
        /// bytes of payload or [`RX_QUEUE`](crate::udp::RX_QUEUE) packet buffers).
        udp_rx_full,
        /// UDP datagram dropped because queuing it would have taken packet buffers the pool
        /// keeps for frames the stack builds ([`FRAME_RESERVE`](crate::pool::FRAME_RESERVE)).
        udp_rx_no_buffer,
        /// UDP datagram consumed by `udp_recv_from` into a buffer that was too small.
        udp_recv_truncated,
        /// Outgoing packet dropped: no free packet buffer.
        tx_no_buffer,
        /// Outgoing packet dropped: the transmit queue was full.
        tx_queue_full,
        /// Outgoing packet dropped: no route to the destination (off-link, no gateway).
        tx_no_route,
        /// Outgoing packet dropped: larger than a packet buffer or the MTU allows.
        tx_too_large,
        /// DHCP message that does not parse (bad cookie, overrunning or impossible option,
        /// no message type) or whose UDP checksum does not verify.
        dhcp_malformed,
        /// DHCP message that parses but is not for us now: another transaction id or client
        /// hardware address, a message type the current state does not expect, an offer or
        /// ack without the fields it needs.
        dhcp_ignored,
        /// DNS response shorter than its header or cut off mid-record.
        dns_truncated,
        /// DNS response whose section counts promise more records than it holds.
        dns_count_overrun,
        /// DNS response with a compression pointer loop.
        dns_pointer_loop,
        /// DNS response with a forward compression pointer.
        dns_forward_pointer,
        /// DNS response with a name longer than 255 bytes.
        dns_name_too_long,
        /// DNS response with a label longer than 63 bytes.
        dns_label_too_long,
        /// DNS response with the TC bit (no DNS over TCP here).
        dns_tc_flag,
        /// DNS response otherwise malformed (bad record length, not a response) or with a bad
        /// UDP checksum.
        dns_malformed,
        /// DNS response that matches no outstanding query (id, server or question differ).
        dns_unmatched,
        /// TCP segment too short or with malformed header, ports or options.
        tcp_malformed,
        /// TCP segment with a bad checksum.
        tcp_bad_checksum,
        /// TCP segment sent to a broadcast or multicast address.
        tcp_not_unicast,
        /// TCP segment for a port with no connection or listener (answered with a RST unless
        /// it was one).
        tcp_closed_port,
        /// Connection refused because every socket slot was taken (RST sent).
        tcp_refused_no_socket,
        /// SYN dropped: the listener's backlog was full and SYN cookies are off.
        tcp_backlog_full,
        /// ACK to a listener carrying an invalid or expired SYN cookie (RST sent).
        tcp_cookie_invalid,
        /// Segment outside the receive window (an ACK is sent unless it was a RST).
        tcp_out_of_window,
        /// RST not exactly at RCV.NXT (ignored; a challenge ACK answers it in the window).
        tcp_rst_invalid,
        /// SYN received in a synchronized state (answered with a challenge ACK).
        tcp_syn_in_window,
        /// Segment without ACK in a synchronized state.
        tcp_no_ack,
        /// ACK outside the acceptable range (challenge ACK or RST).
        tcp_ack_invalid,
        /// Challenge ACK not sent: the per-second limit was reached (RFC 5961 §7).
        tcp_challenge_ack_limited,
        /// Received data not stored for lack of pool buffers or the socket's limit.
        tcp_rx_no_buffer,
        /// Out-of-order data dropped: every out-of-order range slot was taken.
        tcp_ooo_dropped,
        /// Received data entirely duplicate (already received).
        tcp_rx_duplicate,
        /// Connections aborted after unanswered retransmissions.
        tcp_timeouts,
        /// Connections aborted after unanswered keepalives.
        tcp_keepalive_timeouts,
        /// Segments the stack could not send (no route or buffer); the peer retransmits.
        tcp_tx_dropped,
    }
    traffic {
        /// Frames received from the driver.
        frames_rx,
        /// Frames handed to the driver.
        frames_tx,
        /// Times the driver had no transmit buffer; the packet stayed queued for the next poll.
        driver_tx_busy,
        /// ARP packets accepted.
        arp_rx,
        /// ARP requests sent (resolution, refresh and gratuitous).
        arp_requests_tx,
        /// ARP replies sent.
        arp_replies_tx,
        /// IPv4 packets accepted for local delivery.
        ipv4_rx,
        /// IPv4 packets (fragments included) sent.
        ipv4_tx,
        /// Datagrams reassembled from fragments.
        frag_reassembled,
        /// Fragments sent (IPv4 fragmentation on output).
        frag_tx,
        /// ICMP messages accepted.
        icmp_rx,
        /// Echo requests answered.
        pings_answered,
        /// ICMP destination-unreachable messages sent.
        icmp_unreachable_tx,
        /// UDP datagrams delivered to a socket.
        udp_rx,
        /// UDP datagrams sent.
        udp_tx,
        /// DHCPDISCOVER messages sent.
        dhcp_discover_tx,
        /// DHCPREQUEST messages sent (selecting, renewing, rebinding).
        dhcp_request_tx,
        /// DHCPDECLINE messages sent (the offered address was in use).
        dhcp_decline_tx,
        /// DHCPOFFER messages accepted.
        dhcp_offer_rx,
        /// DHCPACK messages accepted.
        dhcp_ack_rx,
        /// DHCPNAK messages accepted (the client restarts).
        dhcp_nak_rx,
        /// Leases obtained (INIT to BOUND).
        dhcp_bound,
        /// Leases extended (RENEWING or REBINDING back to BOUND).
        dhcp_renewed,
        /// Times the client entered RENEWING (T1).
        dhcp_renewing,
        /// Times the client entered REBINDING (T2).
        dhcp_rebinding,
        /// Leases lost (expired or NAKed): the address was dropped.
        dhcp_lost,
        /// DHCP retransmissions after a timeout.
        dhcp_retransmits,
        /// Offered addresses found in use by ARP probing (RFC 5227).
        dhcp_conflicts,
        /// DNS queries sent (retransmissions included).
        dns_queries_tx,
        /// DNS responses accepted.
        dns_responses_rx,
        /// Lookups answered from the cache without a query.
        dns_cache_hits,
        /// Lookups that ended in NXDOMAIN.
        dns_nxdomain,
        /// Lookups that failed after every server and retry.
        dns_failures,
        /// DNS retransmissions after a timeout (same or next server).
        dns_retransmits,
        /// TCP segments accepted (checksum and header valid).
        tcp_segments_rx,
        /// TCP segments sent.
        tcp_segments_tx,
        /// Connections that reached ESTABLISHED.
        tcp_connections_established,
        /// Connections ended because the interface's address changed or was removed.
        tcp_address_lost,
        /// Segments retransmitted (timeout, fast retransmit, SACK recovery).
        tcp_retransmits,
        /// Fast retransmissions (entries into loss recovery).
        tcp_fast_retransmits,
        /// Retransmission timeouts.
        tcp_rto_expired,
        /// RSTs sent.
        tcp_resets_tx,
        /// Valid RSTs received.
        tcp_resets_rx,
        /// Challenge ACKs sent (RFC 5961).
        tcp_challenge_acks,
        /// SYN-ACKs sent with a SYN cookie (the listener's backlog was full).
        tcp_syn_cookies_sent,
        /// Connections accepted from a valid SYN cookie.
        tcp_syn_cookies_accepted,
        /// TIME-WAIT slots reused for a new connection because every slot was taken.
        tcp_time_wait_reused,
        /// Zero-window probes sent.
        tcp_window_probes,
        /// Keepalive probes sent.
        tcp_keepalives_tx,
    }
    gauges {
        /// Number of packet buffers.
        pool_packets_capacity,
        /// Packet buffers in use now.
        pool_packets_in_use,
        /// Most packet buffers ever in use at once.
        pool_packets_high_water,
        /// Failed packet-buffer allocations.
        pool_packets_alloc_failures,
        /// Number of ARP cache entries.
        arp_cache_capacity,
        /// ARP cache entries in use now.
        arp_cache_in_use,
        /// Most ARP cache entries ever in use at once.
        arp_cache_high_water,
        /// Number of transmit-queue slots.
        tx_queue_capacity,
        /// Transmit-queue slots in use now.
        tx_queue_in_use,
        /// Most transmit-queue slots ever in use at once.
        tx_queue_high_water,
        /// Number of reassembly slots.
        reassembly_capacity,
        /// Reassembly slots in use now.
        reassembly_in_use,
        /// Most reassembly slots ever in use at once.
        reassembly_high_water,
        /// Number of UDP sockets.
        udp_sockets_capacity,
        /// UDP sockets bound now.
        udp_sockets_in_use,
        /// Most UDP sockets ever bound at once.
        udp_sockets_high_water,
        /// Number of DNS cache entries.
        dns_cache_capacity,
        /// DNS cache entries holding an unexpired answer.
        dns_cache_in_use,
        /// Most DNS cache entries ever in use at once.
        dns_cache_high_water,
        /// Number of DNS query slots.
        dns_queries_capacity,
        /// DNS query slots in use now.
        dns_queries_in_use,
        /// Most DNS query slots ever in use at once.
        dns_queries_high_water,
        /// Number of TCP socket slots.
        tcp_sockets_capacity,
        /// TCP socket slots in use now (any state but free, TIME-WAIT included).
        tcp_sockets_in_use,
        /// Most TCP socket slots ever in use at once.
        tcp_sockets_high_water,
        /// Most packet buffers TCP data may hold at once (`TcpConfig::segments`, at most the
        /// packet pool minus its frame reserve).
        tcp_segments_capacity,
        /// Packet buffers TCP data holds now (send and receive queues).
        tcp_segments_in_use,
        /// Most packet buffers TCP data ever held at once.
        tcp_segments_high_water,
        /// TCP data buffers refused: the cap reached, or no packet buffer free beyond the frame
        /// reserve (and other sockets' reservations).
        tcp_segments_alloc_failures,
        /// TCP segment-buffer allocations refused by a socket's limit.
        tcp_segments_limit_refusals,
    }
}

/// Increment a counter (wrapping: counters never panic). Out of line on 32-bit targets: a
/// call with the counter's address is shorter than a load, add and store at every one of the
/// ~170 sites (about 180 bytes of flash less).
#[cfg_attr(target_pointer_width = "32", inline(never))]
#[cfg_attr(not(target_pointer_width = "32"), inline)]
pub(crate) fn bump(counter: &mut u32) {
    *counter = counter.wrapping_add(1);
}

/// Set a gauge and raise its high-water mark.
#[inline]
pub(crate) fn gauge(in_use: &mut u32, high_water: &mut u32, value: usize) {
    *in_use = value as u32;
    if *in_use > *high_water {
        *high_water = *in_use;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_total_sums_only_drops() {
        let mut s = Stats::new();
        bump(&mut s.eth_truncated);
        bump(&mut s.udp_rx_full);
        bump(&mut s.frames_rx);
        s.pool_packets_in_use = 7;
        assert_eq!(s.drops_total(), 2);
        let mut n = 0;
        let mut seen_pool = false;
        s.for_each(|name, v| {
            n += 1;
            if name == "pool_packets_in_use" {
                seen_pool = v == 7;
            }
        });
        assert!(seen_pool);
        assert!(n > 50);
    }
}
