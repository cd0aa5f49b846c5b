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
#define ZS_ICMP_ECHO 8

#ifndef ZS_MAX_VLAN
#define ZS_MAX_VLAN 2
#endif
#ifndef ZS_MAX_IPV6_EXT
#define ZS_MAX_IPV6_EXT 6
#endif

enum zs_pkt_kind {
	ZS_PKT_FLOW = 0,  /* IP packet subject to policy */
	ZS_PKT_INFRA = 1, /* ARP, IPv6 neighbour discovery: passes without a flow */
};

struct __attribute__((aligned(8))) zs_pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;    /* conntrack ports (ICMP echo: id on the requester side) */
	__be16 dport;
	__be16 pol_port; /* what policy matches: dport, or ICMP type << 8 | code */
	__u8 family;     /* enum zs_family */
	__u8 proto;
	__u8 tcp_flags;
	__u8 kind; /* enum zs_pkt_kind */
	__u8 icmp_type;
	__u8 pad;
};

struct zs_cursor {
	void *pos;
	void *end;
};

#define ZS_CUR_NEED(cur, n) ((cur)->pos + (n) > (cur)->end)

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

static __always_inline int zs_parse_ports(struct zs_cursor *cur, struct zs_pkt *p)
{
	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = cur->pos;
		if (ZS_CUR_NEED(cur, sizeof(*th)))
			return -ZS_DROP_TRUNCATED;
		if (th->doff < 5)
			return -ZS_DROP_BAD_HEADER;
		p->sport = th->source;
		p->dport = th->dest;
		p->pol_port = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return 0;
	}
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		/* UDP and SCTP both open with source and destination port. */
		__be16 *ports = cur->pos;
		if (ZS_CUR_NEED(cur, 8))
			return -ZS_DROP_TRUNCATED;
		p->sport = ports[0];
		p->dport = ports[1];
		p->pol_port = ports[1];
		return 0;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		__u8 *ih = cur->pos;
		if (ZS_CUR_NEED(cur, 8))
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
		 * only on the link: to anything else they are judged like any packet.
		 */
		if (v6 && ((type >= 130 && type <= 137) || type == 143) &&
		    (p->daddr[0] == 0xff || (p->daddr[0] == 0xfe && (p->daddr[1] & 0xc0) == 0x80)))
			p->kind = ZS_PKT_INFRA;
		return 0;
	}
	default:
		/* A protocol without ports: policy matches protocol, port 0. */
		return 0;
	}
}

static __always_inline int zs_parse_ipv4(struct zs_cursor *cur, struct zs_pkt *p)
{
	struct iphdr *ip = cur->pos;

	if (ZS_CUR_NEED(cur, sizeof(*ip)))
		return -ZS_DROP_TRUNCATED;
	if (ip->version != 4 || ip->ihl < 5)
		return -ZS_DROP_BAD_HEADER;
	__u32 hlen = ip->ihl * 4;
	__u16 tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen)
		return -ZS_DROP_BAD_HEADER;
	if (ZS_CUR_NEED(cur, hlen))
		return -ZS_DROP_TRUNCATED;

	p->family = ZS_AF_INET;
	p->proto = ip->protocol;
	__builtin_memcpy(p->saddr, &ip->saddr, 4);
	__builtin_memcpy(p->daddr, &ip->daddr, 4);

	__u16 frag = bpf_ntohs(ip->frag_off);
	if (frag & 0x1fff)
		return -ZS_DROP_FRAGMENT; /* later fragment: no ports to judge by */
	cur->pos += hlen;
	return zs_parse_ports(cur, p);
}

static __always_inline int zs_parse_ipv6(struct zs_cursor *cur, struct zs_pkt *p)
{
	struct ipv6hdr *ip6 = cur->pos;

	if (ZS_CUR_NEED(cur, sizeof(*ip6)))
		return -ZS_DROP_TRUNCATED;
	if (ip6->version != 6)
		return -ZS_DROP_BAD_HEADER;
	p->family = ZS_AF_INET6;
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
			__u16 off = bpf_ntohs(*(__be16 *)(eh + 2)) & 0xfff8;
			if (off)
				return -ZS_DROP_FRAGMENT;
			nh = eh[0];
			cur->pos += 8;
			continue;
		}
		default:
			p->proto = nh;
			return zs_parse_ports(cur, p);
		}
	}
	return -ZS_DROP_IPV6_EXT;
}

/* Returns 0 with *p filled, or a negative enum zs_reason. */
static __always_inline int zs_parse(struct zs_ctx *c, struct zs_pkt *p)
{
	struct zs_cursor cur = { .pos = c->data, .end = c->data_end };
	__u16 eth_proto;
	int err;

	err = zs_parse_eth(&cur, &eth_proto);
	if (err)
		return err;
	if (eth_proto == bpf_htons(ETH_P_IP))
		return zs_parse_ipv4(&cur, p);
	if (eth_proto == bpf_htons(ETH_P_IPV6))
		return zs_parse_ipv6(&cur, p);
	if (eth_proto == bpf_htons(ETH_P_ARP)) {
		p->kind = ZS_PKT_INFRA;
		return 0;
	}
	return -ZS_DROP_UNSUPPORTED_L3;
}

#endif /* ZS_PARSE_H */
