// SPDX-License-Identifier: MIT
/*
 * The packet builder of tests/lib/pkt.h: struct pkt -> an Ethernet frame,
 * and the frame through BPF_PROG_TEST_RUN of a tc or XDP program.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "tests/lib/pkt.h"

const __u8 pkt_mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
const __u8 pkt_mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };

int pkt_addr(const char *s, __u8 out[16])
{
	memset(out, 0, 16);
	if (!s)
		return -EINVAL;
	if (strchr(s, ':'))
		return inet_pton(AF_INET6, s, out) == 1 ? 6 : -EINVAL;
	return inet_pton(AF_INET, s, out) == 1 ? 4 : -EINVAL;
}

int pkt_family(const struct pkt *p)
{
	__u8 a[16];

	return pkt_addr(p->src, a);
}

/* An IPv4 header without options at at: TTL 64, no fragment, id 0. */
static void ip4_put(__u8 *at, __u8 proto, __u16 tot_len, const __u8 src[16], const __u8 dst[16])
{
	struct iphdr *ip = (struct iphdr *)at;

	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->tot_len = htons(tot_len);
	memcpy(&ip->saddr, src, 4);
	memcpy(&ip->daddr, dst, 4);
}

/* An IPv6 header at at (its next header set by the caller when extensions follow). */
static void ip6_put(__u8 *at, __u8 nexthdr, __u16 payload_len, __u8 hop, const __u8 src[16],
		    const __u8 dst[16])
{
	struct ipv6hdr *ip6 = (struct ipv6hdr *)at;

	ip6->version = 6;
	ip6->hop_limit = hop;
	ip6->nexthdr = nexthdr;
	ip6->payload_len = htons(payload_len);
	memcpy(&ip6->saddr, src, 16);
	memcpy(&ip6->daddr, dst, 16);
}

/*
 * The packet an ICMP error quotes, at q: its IP header (the error's family)
 * and the first 8 bytes of its L4 header; returns the bytes kept (qlen).
 * pkt_build has checked its addresses.
 */
static size_t quote_build(const struct pkt *p, __u8 *q)
{
	int v6 = pkt_family(p) == 6;
	size_t hlen = v6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	__u8 *l4 = q + hlen, s[16], d[16];
	__u8 proto = p->qproto;

	pkt_addr(p->qsrc, s);
	pkt_addr(p->qdst, d);
	if (proto == Q_ECHO) {
		proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		l4[0] = v6 ? ICMP6_ECHO : ICMP_ECHO;
		*(__be16 *)(l4 + 4) = htons(p->qsport);
		*(__be16 *)(l4 + 6) = htons(1);
	} else {
		*(__be16 *)l4 = htons(p->qsport);
		*(__be16 *)(l4 + 2) = htons(p->qdport);
		*(__be16 *)(l4 + 4) = htons(proto == IPPROTO_UDP ? 1400 : 0); /* UDP length */
	}
	if (v6)
		ip6_put(q, proto, 1400, 64, s, d);
	else
		ip4_put(q, proto, 1420, s, d);
	return p->qlen ? p->qlen : hlen + 8;
}

/* The L4 header (and an ICMP error's quote) at l4; returns its length. */
static size_t l4_build(const struct pkt *p, __u8 *l4)
{
	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = (struct tcphdr *)l4;
		th->source = htons(p->sport);
		th->dest = htons(p->dport);
		th->seq = htonl(1000);
		th->doff = p->doff ? p->doff : 5;
		l4[13] = p->flags;
		th->window = htons(65535);
		return sizeof(*th);
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = (struct udphdr *)l4;
		uh->source = htons(p->sport);
		uh->dest = htons(p->dport);
		uh->len = htons(sizeof(*uh) + 4);
		return sizeof(*uh) + 4;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4[0] = p->icmp_type;
		l4[1] = p->icmp_code;
		if (!p->qproto) {
			*(__be16 *)(l4 + 4) = htons(p->sport | p->dport); /* echo id */
			*(__be16 *)(l4 + 6) = htons(1);                   /* sequence */
			return 8;
		}
		/* The next-hop MTU of "fragmentation needed" and "packet too big". */
		if (p->proto == IPPROTO_ICMP && p->icmp_code == ICMP_FRAG_NEEDED)
			*(__be16 *)(l4 + 6) = htons(1400);
		if (p->proto == IPPROTO_ICMPV6 && p->icmp_type == ICMP6_PKT_TOOBIG)
			*(__be32 *)(l4 + 4) = htonl(1280);
		return 8 + quote_build(p, l4 + 8);
	}
	return 0;
}

/*
 * The IP payload after the headers: the L4 header as built, or exactly
 * frag_len bytes (a first fragment's L4 header cut short or followed by
 * data; a later fragment's data).
 */
static size_t payload_build(const struct pkt *p, __u8 *at, int later)
{
	size_t n = later && p->frag_len ? 0 : l4_build(p, at);

	return p->frag_len ? p->frag_len : n;
}

/*
 * The headers are written into a scratch frame that holds the most a struct
 * pkt can put there (Ethernet, 8 tags, IPv6 and 8 extension headers, an ICMP
 * error quoting an IPv6 packet): what lies beyond them (frag_len, pad) is
 * zeros, and only counted.
 */
#define PKT_HDR_MAX 256

size_t pkt_build(const struct pkt *p, __u8 *buf, size_t cap)
{
	int family = p->ethertype ? 0 : pkt_family(p);
	int v6 = family == 6;
	__u16 type = p->ethertype ? p->ethertype : v6 ? ETH_P_IPV6 : ETH_P_IP;
	/* Two bytes in, so the IP header after 14 bytes of Ethernet is 4-aligned, as in an skb. */
	__u8 frame[PKT_HDR_MAX + 2] __attribute__((aligned(8))) = { 0 }, *scratch = frame + 2;
	struct ethhdr *eth = (struct ethhdr *)scratch;
	size_t off = sizeof(*eth), len;
	__u8 src[16], dst[16], q[16];

	if (family < 0)
		return 0;
	memcpy(eth->h_dest, pkt_mac_b, ETH_ALEN);
	memcpy(eth->h_source, pkt_mac_a, ETH_ALEN);
	eth->h_proto = htons(!p->nvlan ? type : p->qinq ? ETH_P_8021AD : ETH_P_8021Q);
	for (int i = 0; i < p->nvlan; i++) {
		__be16 *tag = (__be16 *)(scratch + off);
		tag[0] = htons(100 + i); /* TCI: VLAN id */
		tag[1] = htons(i + 1 < p->nvlan ? ETH_P_8021Q : type);
		off += 4;
	}
	if (type != ETH_P_IP && type != ETH_P_IPV6) {
		len = off + 46; /* an ARP body, or whatever the ethertype carries */
		goto out;
	}
	if (pkt_addr(p->src, src) < 0 || pkt_addr(p->dst, dst) < 0 ||
	    (p->qproto && (pkt_addr(p->qsrc, q) < 0 || pkt_addr(p->qdst, q) < 0)))
		return 0;

	if (!v6) {
		struct iphdr *ip = (struct iphdr *)(scratch + off);
		size_t hlen = p->ihl > 5 ? p->ihl * 4u : 20;
		size_t l4len = payload_build(p, scratch + off + hlen, p->frag_off & 0x1fff);

		ip4_put(scratch + off, p->proto, p->ip_len ? p->ip_len : hlen + l4len, src, dst);
		ip->ihl = p->ihl ? p->ihl : 5;
		ip->id = htons(p->ip_id);
		ip->frag_off = htons(p->frag_off);
		memcpy(ip + 1, p->opts, hlen - sizeof(*ip));
		len = off + hlen + l4len;
	} else {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)(scratch + off);
		__u8 *nh = &ip6->nexthdr, *eh = scratch + off + sizeof(*ip6);
		__u8 hop = p->hop ? p->hop : p->proto == IPPROTO_ICMPV6 ? 255 : 64;
		int later = 0;

		/* Each extension header is 8 bytes: next header, length 0, then its fields. */
		for (int i = 0; i < p->n_ext; i++, eh += 8) {
			*nh = p->ext[i];
			nh = eh;
			if (p->ext[i] == IPPROTO_ROUTING)
				eh[2] = p->rt_type;
			if (p->ext[i] == IPPROTO_FRAGMENT) {
				*(__be16 *)(eh + 2) = htons(p->frag_off);
				*(__be32 *)(eh + 4) = htonl(p->ip_id);
				later = p->frag_off & 0xfff8;
			}
		}
		*nh = p->proto;
		size_t l4len = payload_build(p, eh, later);
		size_t plen = p->ip_len ? p->ip_len : (size_t)(eh - (__u8 *)(ip6 + 1)) + l4len;

		ip6_put(scratch + off, p->n_ext ? p->ext[0] : p->proto, (__u16)plen, hop, src, dst);
		len = eh + l4len - scratch;
	}
	len += p->pad;
out:
	if (len > cap)
		return 0;
	memset(buf, 0, cap);
	memcpy(buf, scratch, len < PKT_HDR_MAX ? len : PKT_HDR_MAX);
	return p->cut ? p->cut : len;
}

int pkt_run_tc(int prog, const void *frame, size_t len, unsigned ifindex, unsigned iif,
	       unsigned repeat, struct pkt_run *out)
{
	struct __sk_buff skb = { .ifindex = ifindex, .ingress_ifindex = iif };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .ctx_in = &skb, .ctx_size_in = sizeof(skb), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog, &opts))
		return -errno;
	out->retval = opts.retval;
	out->duration = opts.duration;
	return 0;
}

int pkt_run_xdp(int prog, const void *frame, size_t len, unsigned ifindex, struct pkt_run *out)
{
	struct xdp_md md = { .data_end = (__u32)len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .ctx_in = &md, .ctx_size_in = sizeof(md));

	if (bpf_prog_test_run_opts(prog, &opts))
		return -errno;
	out->retval = opts.retval;
	out->duration = opts.duration;
	return 0;
}
