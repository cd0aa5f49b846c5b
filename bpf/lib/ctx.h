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
#include <bpf/bpf_helpers.h>
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

static __always_inline void zs_ctx_from_skb(struct zs_ctx *c, struct __sk_buff *skb, __u8 hook)
{
	__u32 want = skb->len < ZS_PULL_BYTES ? skb->len : ZS_PULL_BYTES;

	/* Headers may sit in paged data; pull only what parsing needs. */
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
