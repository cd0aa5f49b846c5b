/* SPDX-License-Identifier: MIT */
/*
 * The hook layer: the only place that names __sk_buff or xdp_md. Library code
 * sees a struct zs_ctx (data pointers, length, interface) and returns
 * enum zs_action; each entry point turns that into its hook's return code.
 */
#ifndef ZS_CTX_H
#define ZS_CTX_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "../abi.h"

enum zs_action {
	ZS_ACT_PASS = 0,
	ZS_ACT_DROP = 1,
};

struct zs_ctx {
	void *data;
	void *data_end;
	__u32 len;     /* whole packet, for byte counters */
	__u32 ifindex; /* interface the hook runs on */
	__u32 ingress_ifindex; /* where the packet entered the host; 0: the host itself */
	__u8 hook;     /* enum zs_hook */
	void *raw;     /* the hook's own context, for zs_ctx_load_bytes */
};

/* Headers we may read: Ethernet, two VLAN tags, IPv6 + extension chain, L4. */
#define ZS_PULL_BYTES 256

/*
 * How many bytes of headers parsing will read, for the common packets whose
 * headers can be sized from what is already linear (Ethernet + IPv4/IPv6 +
 * TCP/UDP); ZS_PULL_BYTES for anything else (VLAN, extension headers, ICMP,
 * fragments, or headers not linear yet).
 */
static __always_inline __u32 zs_skb_headers(const struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 l3, hdr;
	__u8 proto;

	if ((void *)(eth + 1) > end)
		return ZS_PULL_BYTES;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->frag_off & bpf_htons(0x3fff))
			return ZS_PULL_BYTES;
		l3 = ip->ihl * 4;
		proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return ZS_PULL_BYTES;
		l3 = sizeof(*ip6);
		proto = ip6->nexthdr;
	} else {
		return ZS_PULL_BYTES;
	}
	hdr = sizeof(*eth) + (l3 & 0x7f);
	if (proto == IPPROTO_UDP)
		return hdr + sizeof(struct udphdr);
	if (proto != IPPROTO_TCP)
		return ZS_PULL_BYTES;
	struct tcphdr *th = data + hdr;
	if ((void *)(th + 1) > end)
		return ZS_PULL_BYTES;
	return hdr + th->doff * 4;
}

static __always_inline void zs_ctx_from_skb(struct zs_ctx *c, struct __sk_buff *skb, __u8 hook)
{
	__u32 want = zs_skb_headers(skb);

	/*
	 * Headers may sit in paged data: pull only what parsing needs, never
	 * payload. (A pull of a cloned skb, as TCP sends, copies its head:
	 * a cost per packet the common case must not pay.)
	 */
	want = want < ZS_PULL_BYTES ? want : ZS_PULL_BYTES;
	want = skb->len < want ? skb->len : want;
	if ((long)skb->data_end - (long)skb->data < (long)want)
		bpf_skb_pull_data(skb, want);
	c->data = (void *)(long)skb->data;
	c->data_end = (void *)(long)skb->data_end;
	c->len = skb->len;
	c->ifindex = skb->ifindex;
	c->ingress_ifindex = skb->ingress_ifindex;
	c->hook = hook;
	c->raw = skb;
}

static __always_inline int zs_ctx_tc_ret(enum zs_action a)
{
	return a == ZS_ACT_PASS ? TC_ACT_OK : TC_ACT_SHOT;
}

static __always_inline void zs_ctx_from_xdp(struct zs_ctx *c, struct xdp_md *xdp, __u8 hook)
{
	c->data = (void *)(long)xdp->data;
	c->data_end = (void *)(long)xdp->data_end;
	c->len = (__u32)(c->data_end - c->data);
	c->ifindex = xdp->ingress_ifindex;
	c->ingress_ifindex = xdp->ingress_ifindex;
	c->hook = hook;
	c->raw = xdp;
}

/*
 * Copies len bytes at offset off of the packet into buf; 0 or -errno. `xdp`
 * must be a literal at the call chain's root: the other hook's helper is then
 * compiled out, as the verifier requires.
 */
static __always_inline long zs_ctx_load_bytes(struct zs_ctx *c, const int xdp, __u32 off,
					      void *buf, __u32 len)
{
	if (xdp)
		return bpf_xdp_load_bytes(c->raw, off, buf, len);
	return bpf_skb_load_bytes(c->raw, off, buf, len);
}

static __always_inline int zs_ctx_xdp_ret(enum zs_action a)
{
	return a == ZS_ACT_PASS ? XDP_PASS : XDP_DROP;
}

#endif /* ZS_CTX_H */
