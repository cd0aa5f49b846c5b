/* SPDX-License-Identifier: MIT */
/*
 * The one packet builder of the tests and benchmarks (as Cilium's
 * bpf/tests/lib/ builders serve every packet test): a packet is described by
 * a struct pkt, written with the row macros below (TCP(), UDP(), ICMP(),
 * PORT_UNREACH(..., QUOTE_TCP(...)), F4/F6 fragments, L2 frames...), and
 * pkt_build() turns it into the Ethernet frame BPF_PROG_TEST_RUN takes:
 * Ethernet [+ VLAN tags] + IPv4 [+ options] or IPv6 [+ extension headers] +
 * the L4 header, or an ICMP error quoting another packet. pkt_run_tc() and
 * pkt_run_xdp() run a frame through a loaded program, as seen on an
 * interface.
 *
 * Byte order: ports, ids and lengths in struct pkt are host order; the frame
 * is in network order. Addresses are text ("10.1.0.1", "fd00::a"); the family
 * of the packet is the source address's.
 */
#ifndef ZS_TEST_PKT_H
#define ZS_TEST_PKT_H

#include <stddef.h>

#include <netinet/in.h>

#include <linux/types.h>

/* What a packet holds; every field left 0 takes the default its comment names. */
struct pkt {
	__u16 ethertype; /* 0: IP, the version taken from the source address */
	__u8 nvlan;      /* VLAN tags in front of the ethertype */
	__u8 qinq;       /* the outer tag is 802.1ad (0x88a8), the others 802.1Q */
	__u8 proto;      /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, or any other */
	const char *src;
	const char *dst;
	__u16 sport;     /* ICMP: the echo id of a request */
	__u16 dport;     /* ICMP: the echo id of a reply */
	__u8 flags;      /* TCP flags byte */
	__u8 doff;       /* TCP data offset; 0: 5 */
	__u8 icmp_type;
	__u8 icmp_code;
	/* An ICMP error: the packet it quotes, qsrc:qsport -> qdst:qdport. */
	__u8 qproto;     /* 0: not an error */
	const char *qsrc;
	const char *qdst;
	__u16 qsport;    /* an echo request: its id */
	__u16 qdport;
	__u16 qlen;      /* bytes of the quoted packet kept; 0: its IP header + 8 */
	__u8 ihl;        /* 0: 5 */
	__u8 opts[40];   /* IPv4 options, when IHL > 5 (zeros: end of options) */
	__u16 ip_len;    /* IPv4 total length, IPv6 payload length; 0: as built */
	__u16 frag_off;  /* IPv4 flags + offset; IPv6 fragment header offset + M */
	__u32 ip_id;     /* IPv4 identification, IPv6 fragment header identification */
	__u16 frag_len;  /* bytes after the IP headers; 0: the L4 header as built */
	__u8 n_ext;      /* IPv6 extension headers in ext[], 8 bytes each */
	__u8 ext[8];
	__u8 rt_type;    /* routing header type (segments left 0) */
	__u16 pad;       /* Ethernet padding after the IP packet */
	__u16 cut;       /* keep only the first `cut` bytes; 0: all */
	__u8 hop;        /* IPv6 hop limit; 0: 255 for ICMPv6, else 64 */
};

/* TCP flags (the flags byte). */
#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
#define URG 0x20

#define ICMP_ECHO 8
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_HOST_UNREACH 1
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_TIME_EXCEEDED 11
#define ICMP6_DEST_UNREACH 1
#define ICMP6_PORT_UNREACH 4
#define ICMP6_PKT_TOOBIG 2
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_ECHO 128
#define ICMP6_ECHOREPLY 129
#define ICMP6_RA 134
#define ICMP6_NS 135

/* IPv4 frag_off: the MF flag, and the offset in 8-byte units. */
#define IP_MF 0x2000
#define FRAG4(bytes, mf) (((mf) ? IP_MF : 0) | (bytes) / 8)
/* IPv6 fragment header: the offset in bytes (a multiple of 8) with M in bit 0. */
#define FRAG6(bytes, m) .n_ext = 1, .ext = { IPPROTO_FRAGMENT }, .frag_off = (bytes) | !!(m)
/* A fragment of datagram `id`: `len` bytes at byte offset `off`, more to come if mf. */
#define F4(id, off, len, mf) .ip_id = id, .frag_off = FRAG4(off, mf), .frag_len = len
#define F6(id, off, len, m) .ip_id = id, FRAG6(off, m), .frag_len = len

/* The row macros: a struct pkt initializer, more fields after the named ones. */
#define TCP(s, sp, d, dp, fl, ...) \
	{ .proto = IPPROTO_TCP, .src = s, .sport = sp, .dst = d, .dport = dp, .flags = fl, __VA_ARGS__ }
#define UDP(s, sp, d, dp, ...) \
	{ .proto = IPPROTO_UDP, .src = s, .sport = sp, .dst = d, .dport = dp, __VA_ARGS__ }
/* A protocol without ports. */
#define PROTO(pr, s, d, ...) { .proto = pr, .src = s, .dst = d, __VA_ARGS__ }
/* An echo request's id is its "sport" in events and conntrack; a reply's, its "dport". */
#define ICMP_ID(pr, echo, s, d, type, id, ...)                                    \
	{ .proto = pr, .src = s, .dst = d, .icmp_type = type,                       \
	  .sport = (type) == (echo) ? (id) : 0, .dport = (type) == (echo) ? 0 : (id), \
	  __VA_ARGS__ }
#define ICMP(s, d, type, id, ...) ICMP_ID(IPPROTO_ICMP, ICMP_ECHO, s, d, type, id, __VA_ARGS__)
#define PING6(s, d, type, id, ...) ICMP_ID(IPPROTO_ICMPV6, ICMP6_ECHO, s, d, type, id, __VA_ARGS__)
#define ICMP6(s, d, type, ...) \
	{ .proto = IPPROTO_ICMPV6, .src = s, .dst = d, .icmp_type = type, __VA_ARGS__ }
/* An ICMP error from s to d; QUOTE_* names the packet it is about. */
#define ICMP_ERR(s, d, type, code, ...)                                                  \
	{ .proto = IPPROTO_ICMP, .src = s, .dst = d, .icmp_type = type, .icmp_code = code, \
	  __VA_ARGS__ }
#define ICMP6_ERR(s, d, type, code, ...)                                                   \
	{ .proto = IPPROTO_ICMPV6, .src = s, .dst = d, .icmp_type = type, .icmp_code = code, \
	  __VA_ARGS__ }
#define PORT_UNREACH(s, d, ...) ICMP_ERR(s, d, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, __VA_ARGS__)
#define FRAG_NEEDED(s, d, ...) ICMP_ERR(s, d, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, __VA_ARGS__)
#define TIME_EXCEEDED(s, d, ...) ICMP_ERR(s, d, ICMP_TIME_EXCEEDED, 0, __VA_ARGS__)
#define PORT_UNREACH6(s, d, ...) \
	ICMP6_ERR(s, d, ICMP6_DEST_UNREACH, ICMP6_PORT_UNREACH, __VA_ARGS__)
#define TOO_BIG6(s, d, ...) ICMP6_ERR(s, d, ICMP6_PKT_TOOBIG, 0, __VA_ARGS__)
#define TIME_EXCEEDED6(s, d, ...) ICMP6_ERR(s, d, ICMP6_TIME_EXCEEDED, 0, __VA_ARGS__)
#define QUOTE(pr, s, sp, d, dp) .qproto = pr, .qsrc = s, .qsport = sp, .qdst = d, .qdport = dp
#define QUOTE_TCP(s, sp, d, dp) QUOTE(IPPROTO_TCP, s, sp, d, dp)
#define QUOTE_UDP(s, sp, d, dp) QUOTE(IPPROTO_UDP, s, sp, d, dp)
/* An echo request s -> d with this id (ICMP or ICMPv6, as the error's family). */
#define Q_ECHO 0xff
#define QUOTE_PING(s, d, id) QUOTE(Q_ECHO, s, id, d, 0)
#define L2(type, ...) { .ethertype = type, __VA_ARGS__ }

/* The frame's MAC addresses: a's (source) and b's (destination). */
extern const __u8 pkt_mac_a[6], pkt_mac_b[6];

/* An address as the ABI stores it, in 16 bytes (IPv4 in the first 4): 4, 6, or -EINVAL. */
int pkt_addr(const char *s, __u8 out[16]);

/* The family of the packet (its source address's): 4, 6, or -EINVAL. */
int pkt_family(const struct pkt *p);

/*
 * Writes the frame of `p` into buf (cleared first, cap bytes); returns its
 * length (`cut` when set), or 0 when an address does not parse or the frame
 * does not fit.
 */
size_t pkt_build(const struct pkt *p, __u8 *buf, size_t cap);

/* What one BPF_PROG_TEST_RUN returned. */
struct pkt_run {
	__u32 retval;   /* the program's verdict */
	__u32 duration; /* the kernel's average per run, ns */
};

/*
 * Runs a tc program `repeat` times (0: once) on the frame, as seen on
 * interface `ifindex` (skb->ifindex), having entered the host on `iif`
 * (skb->ingress_ifindex; 0: not given). 0 or -errno.
 */
int pkt_run_tc(int prog, const void *frame, size_t len, unsigned ifindex, unsigned iif,
	       unsigned repeat, struct pkt_run *out);

/* Runs an XDP program once on the frame, arriving on interface `ifindex`. 0 or -errno. */
int pkt_run_xdp(int prog, const void *frame, size_t len, unsigned ifindex, struct pkt_run *out);

#endif /* ZS_TEST_PKT_H */
