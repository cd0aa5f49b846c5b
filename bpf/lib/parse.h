/* SPDX-License-Identifier: MIT */
/*
 * Cursor parsers: each checks its own bounds against data_end, advances the
 * cursor, and returns the next protocol or a negative enum zs_reason. The
 * result is a struct zs_pkt: the flow tuple in the form conntrack and policy
 * want it. A packet we cannot read fully is dropped, never "port 0, pass".
 */
#ifndef ZS_PARSE_H
#define ZS_PARSE_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include "ctx.h"
#include "../abi.h"

/* <linux/icmp.h> pulls in libc's socket headers, which do not build for BPF. */
#define ZS_ICMP_ECHOREPLY 0
#define ZS_ICMP_DEST_UNREACH 3
#define ZS_ICMP_ECHO 8
#define ZS_ICMP_TIME_EXCEEDED 11
#define ZS_ICMP_PARAMETERPROB 12

#define ZS_TCP_FIN 0x01
#define ZS_TCP_SYN 0x02
#define ZS_TCP_RST 0x04
#define ZS_TCP_PSH 0x08
#define ZS_TCP_URG 0x20

#define ZS_IPOPT_LSRR 131
#define ZS_IPOPT_SSRR 137
#define ZS_IP_MAX_OPTIONS 40

#ifndef ZS_MAX_VLAN
#define ZS_MAX_VLAN 2
#endif
#ifndef ZS_MAX_IPV6_EXT
#define ZS_MAX_IPV6_EXT 6
#endif

enum zs_pkt_kind {
	ZS_PKT_FLOW = 0,     /* IP packet subject to policy */
	ZS_PKT_INFRA = 1,    /* ARP, IPv6 neighbour discovery: passes without a flow */
	ZS_PKT_ICMP_ERR = 2, /* ICMP error: passes only for a flow we track (in_*) */
};

enum zs_frag {
	ZS_FRAG_NONE = 0,
	ZS_FRAG_FIRST = 1, /* offset 0, more to come: carries the ports */
	ZS_FRAG_LATER = 2, /* no ports: takes its first fragment's */
};

/*
 * Addresses first, each 8-byte aligned: conntrack and ipcache keys are built
 * from them in whole 64-bit words (bpf/lib/conntrack.h), which byte copies
 * through unaligned fields would cost tens of instructions and stalled loads.
 */
struct __attribute__((aligned(8))) zs_pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	/* ICMP error: the quoted packet's tuple, as its sender sent it. */
	__u8 in_saddr[16];
	__u8 in_daddr[16];
	__be16 sport;    /* conntrack ports (ICMP echo: id on the requester side) */
	__be16 dport;
	__be16 pol_port; /* what policy matches: dport, or ICMP type << 8 | code */
	__u8 family;     /* enum zs_family */
	__u8 proto;
	__u8 tcp_flags;
	__u8 kind; /* enum zs_pkt_kind */
	__u8 icmp_type;
	__u8 frag;      /* enum zs_frag */
	__u16 frag_off; /* bytes */
	__u16 frag_len; /* payload bytes of this fragment */
	__u32 frag_id;
	__be16 in_sport;
	__be16 in_dport;
	__u8 in_proto;
	__u8 hop_limit; /* IPv6 hop limit (IPv4: TTL) */
	__u8 frag_nh;   /* fragments: the protocol field that names the datagram
			 * (IPv4 protocol; the IPv6 fragment header's next header) */
	__u8 pad;
};

/*
 * end is the packet's data_end (what the verifier needs every read checked
 * against); lim is where the IP header says the packet ends. Bytes past lim
 * (Ethernet padding, trailing junk) are not the packet: the receiver trims
 * them, so we never read headers from them.
 */
struct zs_cursor {
	void *pos;
	void *end;
	void *start; /* the frame's first byte */
	__u32 lim;   /* offset from start where the IP datagram ends */
};

#define ZS_CUR_NEED(cur, n) ((cur)->pos + (n) > (cur)->end)
/* The upper-layer header must also lie inside the datagram (checked once, there). */
#define ZS_CUR_PAST_IP(cur, n) zs_cur_past_ip(cur, n)

static __always_inline int zs_cur_past_ip(const struct zs_cursor *cur, __u32 n)
{
	__u64 off = (__u64)((long)cur->pos - (long)cur->start);

	asm volatile("" : "+r"(off)); /* keep pos - start a scalar the verifier accepts */
	return off + n > cur->lim;
}

static __always_inline int zs_parse_eth(struct zs_cursor *cur, __u16 *proto)
{
	struct ethhdr *eth = cur->pos;

	if (ZS_CUR_NEED(cur, sizeof(*eth)))
		return -ZS_DROP_TRUNCATED;
	cur->pos += sizeof(*eth);
	*proto = eth->h_proto;

#pragma unroll
	for (int i = 0; i < ZS_MAX_VLAN; i++) {
		if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
			break;
		/* VLAN header: TCI then the inner ethertype. */
		__be16 *vh = cur->pos;
		if (ZS_CUR_NEED(cur, 4))
			return -ZS_DROP_TRUNCATED;
		*proto = vh[1];
		cur->pos += 4;
	}
	if (*proto == bpf_htons(ETH_P_8021Q) || *proto == bpf_htons(ETH_P_8021AD))
		return -ZS_DROP_UNSUPPORTED_L3; /* deeper than we walk: never unfiltered */
	return 0;
}

/*
 * An IPv4 address into a 16-byte field (the rest zero), as two whole 64-bit
 * stores: later 64-bit loads of the field are then forwarded from them
 * rather than stalled on a narrower store. `a` is an 8-byte aligned field.
 */
static __always_inline void zs_addr4_set(__u8 *a, __be32 addr)
{
	__u64 w0 = 0, w1 = 0;

	__builtin_memcpy(&w0, &addr, 4);
	__builtin_memcpy(a, &w0, 8);
	__builtin_memcpy(a + 8, &w1, 8);
}

static __always_inline int zs_addr_is_unspec(const __u8 *a)
{
	__u64 w0, w1;

	__builtin_memcpy(&w0, a, 8);
	__builtin_memcpy(&w1, a + 8, 8);
	return !(w0 | w1);
}

/*
 * The packet an ICMP error quotes: its IP header and first 8 bytes, same
 * family as the error. Anything shorter is dropped (an error we cannot tie
 * to a flow is not passed).
 */
static __always_inline int zs_parse_icmp_inner(struct zs_cursor *cur, struct zs_pkt *p)
{
	__u8 *l4;

	if (p->family == ZS_AF_INET) {
		struct iphdr *ip = cur->pos;
		if (ZS_CUR_NEED(cur, sizeof(*ip)))
			return -ZS_DROP_TRUNCATED;
		if (ip->version != 4 || ip->ihl < 5)
			return -ZS_DROP_BAD_HEADER;
		zs_addr4_set(p->in_saddr, ip->saddr);
		zs_addr4_set(p->in_daddr, ip->daddr);
		p->in_proto = ip->protocol;
		cur->pos += ip->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = cur->pos;
		if (ZS_CUR_NEED(cur, sizeof(*ip6)))
			return -ZS_DROP_TRUNCATED;
		if (ip6->version != 6)
			return -ZS_DROP_BAD_HEADER;
		__builtin_memcpy(p->in_saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->in_daddr, &ip6->daddr, 16);
		p->in_proto = ip6->nexthdr; /* quoted extension headers: no flow of ours */
		cur->pos += sizeof(*ip6);
	}
	l4 = cur->pos;
	if (ZS_CUR_NEED(cur, 8) || ZS_CUR_PAST_IP(cur, 8))
		return -ZS_DROP_TRUNCATED;
	switch (p->in_proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		p->in_sport = *(__be16 *)l4;
		p->in_dport = *(__be16 *)(l4 + 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		/* An error about an echo request: the requester's id is its port. */
		int v6 = p->in_proto == IPPROTO_ICMPV6;
		if (l4[0] != (v6 ? ICMPV6_ECHO_REQUEST : ZS_ICMP_ECHO))
			return -ZS_DROP_ICMP_UNRELATED;
		p->in_sport = *(__be16 *)(l4 + 4);
		p->in_dport = 0;
		break;
	}
	default:
		return -ZS_DROP_ICMP_UNRELATED;
	}
	p->kind = ZS_PKT_ICMP_ERR;
	return 0;
}

static __always_inline int zs_parse_ports(struct zs_cursor *cur, struct zs_pkt *p)
{
	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = cur->pos;
		if (ZS_CUR_NEED(cur, sizeof(*th)))
			return -ZS_DROP_TRUNCATED;
		if (th->doff < 5)
			return -ZS_DROP_BAD_HEADER;
		if (ZS_CUR_NEED(cur, th->doff * 4) || ZS_CUR_PAST_IP(cur, th->doff * 4))
			return -ZS_DROP_TRUNCATED;
		__u8 fl = ((__u8 *)th)[13];
		/* Scans and stack fingerprinting, never a real connection. */
		if ((fl & (ZS_TCP_SYN | ZS_TCP_FIN)) == (ZS_TCP_SYN | ZS_TCP_FIN) ||
		    (fl & (ZS_TCP_SYN | ZS_TCP_RST)) == (ZS_TCP_SYN | ZS_TCP_RST) || !(fl & 0x3f) ||
		    (fl & (ZS_TCP_FIN | ZS_TCP_PSH | ZS_TCP_URG)) == (ZS_TCP_FIN | ZS_TCP_PSH | ZS_TCP_URG))
			return -ZS_DROP_TCP_FLAGS;
		p->sport = th->source;
		p->dport = th->dest;
		p->pol_port = th->dest;
		p->tcp_flags = fl;
		return 0;
	}
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		/* UDP and SCTP both open with source and destination port. */
		__be16 *ports = cur->pos;
		if (ZS_CUR_NEED(cur, 8) || ZS_CUR_PAST_IP(cur, 8))
			return -ZS_DROP_TRUNCATED;
		p->sport = ports[0];
		p->dport = ports[1];
		p->pol_port = ports[1];
		return 0;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		__u8 *ih = cur->pos;
		if (ZS_CUR_NEED(cur, 8) || ZS_CUR_PAST_IP(cur, 8))
			return -ZS_DROP_TRUNCATED;
		__u8 type = ih[0], code = ih[1];
		__be16 id = *(__be16 *)(ih + 4);
		int v6 = p->proto == IPPROTO_ICMPV6;

		p->icmp_type = type;
		p->pol_port = bpf_htons(((__u16)type << 8) | code);
		if (type == (v6 ? ICMPV6_ECHO_REQUEST : ZS_ICMP_ECHO)) {
			p->sport = id;
			p->dport = 0;
		} else if (type == (v6 ? ICMPV6_ECHO_REPLY : ZS_ICMP_ECHOREPLY)) {
			p->sport = 0;
			p->dport = id;
		}
		/*
		 * IPv6 neighbour discovery and MLD are link plumbing, not flows, but
		 * only on the link. ND (133-137) carries hop limit 255 (RFC 4861) and
		 * a link-local or multicast destination, or a link-local source (a
		 * unicast NUD probe to a global address; no router forwards a
		 * link-local source). MLD (130-132, 143) comes from a link-local (or,
		 * during DAD, the unspecified) source with hop limit 1 (RFC 3810). Anything else with these types
		 * is judged like any packet: no channel out disguised as ND.
		 */
		int src_ll = p->saddr[0] == 0xfe && (p->saddr[1] & 0xc0) == 0x80;
		int dst_link = p->daddr[0] == 0xff || (p->daddr[0] == 0xfe && (p->daddr[1] & 0xc0) == 0x80);
		if (v6 && type >= 133 && type <= 137 && p->hop_limit == 255 && (dst_link || src_ll))
			p->kind = ZS_PKT_INFRA;
		if (v6 && ((type >= 130 && type <= 132) || type == 143) && p->hop_limit == 1 &&
		    (src_ll || zs_addr_is_unspec(p->saddr)))
			p->kind = ZS_PKT_INFRA; /* reports during DAD come from :: (RFC 3810 5.2.13) */
		if (v6 ? (type >= 1 && type <= 4) :
			 (type == ZS_ICMP_DEST_UNREACH || type == ZS_ICMP_TIME_EXCEEDED ||
			  type == ZS_ICMP_PARAMETERPROB)) {
			cur->pos += 8;
			return zs_parse_icmp_inner(cur, p);
		}
		return 0;
	}
	default:
		/* A protocol without ports: policy matches protocol, port 0. */
		return 0;
	}
}

struct zs_ipopts {
	__u8 b[64]; /* 40 used; indexed & 63 so every read is provably inside */
};

/*
 * IPv4 options, walked in a global function: the verifier checks its loop
 * once, on its own, instead of once per path of the whole pipeline. Source
 * routing is refused (it steers a packet around the policy's view of it).
 * Returns 0 or a drop reason.
 */
/* i & 63, in a way the compiler cannot drop (it cannot see the verifier's view). */
static __always_inline __u32 zs_idx64(__u32 i)
{
	__u64 x = i;
	asm volatile("%0 &= 63" : "+r"(x));
	return (__u32)x;
}

__attribute__((noinline)) int zs_ipv4_options_check(const struct zs_ipopts *o, __u32 len)
{
	__u32 i = 0;

	if (!o || len > ZS_IP_MAX_OPTIONS)
		return ZS_DROP_BAD_HEADER;
	while (i < len && i < ZS_IP_MAX_OPTIONS) {
		__u8 t = o->b[zs_idx64(i)];
		if (t == 0) /* end of options */
			return 0;
		if (t == 1) { /* no-op */
			i++;
			continue;
		}
		if (i + 1 >= len || i + 1 >= ZS_IP_MAX_OPTIONS)
			return ZS_DROP_BAD_HEADER;
		__u8 l = o->b[zs_idx64(i + 1)];
		if (l < 2 || i + l > len)
			return ZS_DROP_BAD_HEADER;
		if (t == ZS_IPOPT_LSRR || t == ZS_IPOPT_SSRR)
			return ZS_DROP_SOURCE_ROUTE;
		i += l;
	}
	return 0;
}

/* `len`: bytes from the IP header to the end of the packet. */
static __always_inline int zs_parse_ipv4(struct zs_ctx *c, const int xdp, struct zs_cursor *cur,
					 struct zs_pkt *p, __u32 len)
{
	struct iphdr *ip = cur->pos;
	int err;

	if (ZS_CUR_NEED(cur, sizeof(*ip)))
		return -ZS_DROP_TRUNCATED;
	if (ip->version != 4 || ip->ihl < 5)
		return -ZS_DROP_BAD_HEADER;
	__u32 hlen = ip->ihl * 4;
	__u32 tot = bpf_ntohs(ip->tot_len);
	/* tot_len 0 is how BIG TCP marks a GSO packet beyond 64k; nothing else. */
	if (tot == 0 && len > 0xffff)
		tot = len;
	if (tot < hlen)
		return -ZS_DROP_BAD_HEADER;
	if (tot > len)
		return -ZS_DROP_TRUNCATED; /* the frame is shorter than the header says */
	if (ZS_CUR_NEED(cur, hlen))
		return -ZS_DROP_TRUNCATED;
	cur->lim = (__u32)(cur->pos - cur->start) + tot;
	if (hlen > sizeof(*ip)) {
		struct zs_ipopts opts = {};
		__u32 olen = hlen - sizeof(*ip);
		__u32 off = (__u32)(cur->pos - c->data) + sizeof(*ip);
		if (olen < 4 || olen > ZS_IP_MAX_OPTIONS || zs_ctx_load_bytes(c, xdp, off, &opts, olen))
			return -ZS_DROP_TRUNCATED;
		err = zs_ipv4_options_check(&opts, olen);
		if (err)
			return -err;
	}

	p->family = ZS_AF_INET;
	p->proto = ip->protocol;
	p->hop_limit = ip->ttl;
	zs_addr4_set(p->saddr, ip->saddr);
	zs_addr4_set(p->daddr, ip->daddr);

	__u16 frag = bpf_ntohs(ip->frag_off);
	if (frag & 0x3fff) {
		p->frag_id = bpf_ntohs(ip->id);
		p->frag_off = (frag & 0x1fff) * 8;
		p->frag_len = tot - hlen;
		p->frag = p->frag_off ? ZS_FRAG_LATER : ZS_FRAG_FIRST;
		p->frag_nh = p->proto;
		if (p->frag == ZS_FRAG_LATER)
			return 0; /* no ports here: the first fragment's are taken */
	}
	cur->pos += hlen;
	err = zs_parse_ports(cur, p);
	/* A first fragment too short for its L4 header hides the ports: refused. */
	if (err == -ZS_DROP_TRUNCATED && p->frag == ZS_FRAG_FIRST)
		return -ZS_DROP_FRAGMENT;
	return err;
}

static __always_inline int zs_parse_ipv6(struct zs_cursor *cur, struct zs_pkt *p, __u32 len)
{
	struct ipv6hdr *ip6 = cur->pos;
	void *l3 = cur->pos;
	int err;

	if (ZS_CUR_NEED(cur, sizeof(*ip6)))
		return -ZS_DROP_TRUNCATED;
	if (ip6->version != 6)
		return -ZS_DROP_BAD_HEADER;
	__u32 tot = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	/* payload_len 0: a jumbogram or BIG TCP GSO packet; then the frame decides. */
	if (tot == sizeof(*ip6) && len > 0xffff)
		tot = len;
	if (tot > len)
		return -ZS_DROP_TRUNCATED;
	cur->lim = (__u32)(cur->pos - cur->start) + tot;
	p->family = ZS_AF_INET6;
	p->hop_limit = ip6->hop_limit;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	cur->pos += sizeof(*ip6);

	__u8 nh = ip6->nexthdr;
	/* Up to ZS_MAX_IPV6_EXT extension headers, then the upper layer. */
#pragma unroll
	for (int i = 0; i <= ZS_MAX_IPV6_EXT; i++) {
		__u8 *eh = cur->pos;
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_DSTOPTS:
		case IPPROTO_ROUTING:
			if (i == ZS_MAX_IPV6_EXT)
				return -ZS_DROP_IPV6_EXT;
			if (ZS_CUR_NEED(cur, 8))
				return -ZS_DROP_TRUNCATED;
			if (nh == IPPROTO_ROUTING && eh[2] == 0)
				return -ZS_DROP_IPV6_EXT; /* type 0 routing header */
			nh = eh[0];
			cur->pos += (eh[1] + 1) * 8;
			continue;
		case IPPROTO_FRAGMENT: {
			if (i == ZS_MAX_IPV6_EXT)
				return -ZS_DROP_IPV6_EXT;
			if (ZS_CUR_NEED(cur, 8))
				return -ZS_DROP_TRUNCATED;
			__u16 fo = bpf_ntohs(*(__be16 *)(eh + 2));
			nh = eh[0];
			cur->pos += 8;
			if (fo & 0xfff9) { /* offset or more fragments: a real fragment */
				__u32 hdrs = (__u32)(cur->pos - l3);
				p->frag_id = bpf_ntohl(*(__be32 *)(eh + 4));
				p->frag_off = fo & 0xfff8;
				p->frag_len = tot > hdrs ? tot - hdrs : 0;
				p->frag = p->frag_off ? ZS_FRAG_LATER : ZS_FRAG_FIRST;
				p->frag_nh = nh;
				if (p->frag == ZS_FRAG_LATER) {
					p->proto = nh;
					return 0;
				}
			}
			continue;
		}
		default:
			p->proto = nh;
			err = zs_parse_ports(cur, p);
			if (err == -ZS_DROP_TRUNCATED && p->frag == ZS_FRAG_FIRST)
				return -ZS_DROP_FRAGMENT;
			return err;
		}
	}
	return -ZS_DROP_IPV6_EXT;
}

/*
 * Returns 0 with *p filled, or a negative enum zs_reason. `xdp`: a literal,
 * 1 for XDP programs (see zs_ctx_load_bytes).
 */
static __always_inline int zs_parse(struct zs_ctx *c, struct zs_pkt *p, const int xdp)
{
	struct zs_cursor cur = { .pos = c->data, .end = c->data_end, .start = c->data, .lim = 0xffff };
	__u16 eth_proto;
	int err;

	err = zs_parse_eth(&cur, &eth_proto);
	if (err)
		return err;
	__u32 l3len = c->len - (__u32)(cur.pos - c->data);
	if (eth_proto == bpf_htons(ETH_P_IP))
		return zs_parse_ipv4(c, xdp, &cur, p, l3len);
	if (eth_proto == bpf_htons(ETH_P_IPV6))
		return zs_parse_ipv6(&cur, p, l3len);
	if (eth_proto == bpf_htons(ETH_P_ARP)) {
		p->kind = ZS_PKT_INFRA;
		return 0;
	}
	return -ZS_DROP_UNSUPPORTED_L3;
}

#endif /* ZS_PARSE_H */
