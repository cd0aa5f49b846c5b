/* SPDX-License-Identifier: MIT */
/*
 * Conntrack keys in canonical order: the (address, port) pair that compares
 * lower goes first, so a flow's two directions share one entry and one lookup.
 * The order only needs to be total and consistent, not lexicographic.
 */
#ifndef ZS_CONNTRACK_H
#define ZS_CONNTRACK_H

#include "maps.h"
#include "parse.h"

/* A store the compiler keeps in program order with the other volatile accesses. */
#define ZS_WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* The 64-bit word at an 8-byte aligned address field. */
static __always_inline __u64 zs_w64(const __u8 *a)
{
	__u64 w;

	__builtin_memcpy(&w, a, 8);
	return w;
}

/*
 * Fills the key from the addresses as 64-bit words (s: source, d:
 * destination) and returns 1 when the source is the lo side. The key is
 * written as five whole words: the kernel hashes it in 32-bit words right
 * after, and narrower stores would stall those loads.
 */
static __always_inline int zs_ct_key_w(struct zs_ct_key *k, __u64 s0, __u64 s1, __u64 d0, __u64 d1,
				       __be16 sport, __be16 dport, __u8 proto, __u8 family)
{
	__u64 w[5];
	__be16 plo, phi;
	int src_lo;

	if (s0 != d0)
		src_lo = s0 < d0;
	else if (s1 != d1)
		src_lo = s1 < d1;
	else
		src_lo = sport <= dport;

	w[0] = src_lo ? s0 : d0;
	w[1] = src_lo ? s1 : d1;
	w[2] = src_lo ? d0 : s0;
	w[3] = src_lo ? d1 : s1;
	plo = src_lo ? sport : dport;
	phi = src_lo ? dport : sport;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* port_lo, port_hi, proto, family, pad[2]: their bytes in memory order. */
	w[4] = (__u64)plo | (__u64)phi << 16 | (__u64)proto << 32 | (__u64)family << 40;
	__builtin_memcpy(k, w, sizeof(w));
#else
	__builtin_memcpy(k, w, 32);
	k->port_lo = plo;
	k->port_hi = phi;
	k->proto = proto;
	k->family = family;
	k->pad[0] = k->pad[1] = 0;
#endif
	return src_lo;
}

/*
 * An IPv4 flow's key in its own table's form: the first 4 bytes of each
 * address, then the last word as it is (see struct zs_ct4_key).
 */
static __always_inline void zs_ct4_key_of(struct zs_ct4_key *k4, const struct zs_ct_key *k)
{
	__u64 w[2], lo, hi;

	__builtin_memcpy(&lo, k->addr_lo, 8);
	__builtin_memcpy(&hi, k->addr_hi, 8);
	__builtin_memcpy(&w[1], &k->port_lo, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w[0] = (lo & 0xffffffffull) | hi << 32;
#else
	w[0] = (lo & 0xffffffff00000000ull) | hi >> 32;
#endif
	__builtin_memcpy(k4, w, sizeof(w));
}

/*
 * Each table's call site must name one map: where clang merges the two calls
 * into one with the map chosen by a register, the verifier can no longer
 * inline the lookup, and every packet pays the generic helper through an
 * indirect call (measured: the 16-byte key then bought nothing). The asm
 * statements after the calls differ (one register move, or two), so the
 * calls cannot be merged.
 */
#define ZS_CT_SITE4(v) asm volatile("%0 = %0" : "+r"(v))
#define ZS_CT_SITE6(v) asm volatile("%0 = %0\n\t%0 = %0" : "+r"(v))

/* The flow's entry, from the table of its family; NULL when there is none. */
static __always_inline struct zs_ct_entry *zs_ct_lookup(const struct zs_ct_key *k)
{
	struct zs_ct_entry *e;

	if (k->family == ZS_AF_INET) {
		struct zs_ct4_key k4;

		zs_ct4_key_of(&k4, k);
		e = bpf_map_lookup_elem(&zs_ct4, &k4);
		ZS_CT_SITE4(e);
		return e;
	}
	e = bpf_map_lookup_elem(&zs_ct, k);
	ZS_CT_SITE6(e);
	return e;
}

/* Puts the flow's entry into the table of its family: 0 or a negative error. */
static __always_inline long zs_ct_update(const struct zs_ct_key *k, const struct zs_ct_entry *e)
{
	long err;

	if (k->family == ZS_AF_INET) {
		struct zs_ct4_key k4;

		zs_ct4_key_of(&k4, k);
		err = bpf_map_update_elem(&zs_ct4, &k4, e, BPF_ANY);
		ZS_CT_SITE4(err);
		return err;
	}
	err = bpf_map_update_elem(&zs_ct, k, e, BPF_ANY);
	ZS_CT_SITE6(err);
	return err;
}

/* The same from 8-byte aligned 16-byte address fields (struct zs_pkt's). */
static __always_inline int zs_ct_key_of(struct zs_ct_key *k, const __u8 *saddr, const __u8 *daddr,
					__be16 sport, __be16 dport, __u8 proto, __u8 family)
{
	return zs_ct_key_w(k, zs_w64(saddr), zs_w64(saddr + 8), zs_w64(daddr), zs_w64(daddr + 8),
			   sport, dport, proto, family);
}

static __always_inline int zs_ct_key_build(struct zs_ct_key *k, const struct zs_pkt *p)
{
	return zs_ct_key_of(k, p->saddr, p->daddr, p->sport, p->dport, p->proto, p->family);
}

/* Account one packet to the entry; dir 0 = initiator -> responder. */
static __always_inline void zs_ct_account(struct zs_ct_entry *e, int dir, __u32 bytes,
					  __u8 tcp_flags, __u64 now)
{
	__sync_fetch_and_add(&e->packets[dir & 1], 1);
	__sync_fetch_and_add(&e->bytes[dir & 1], bytes);
	e->last_ns = now;
	if (tcp_flags & ~e->tcp_flags)
		e->tcp_flags |= tcp_flags;
	if (dir)
		e->flags |= ZS_CT_SEEN_REPLY;
}

#endif /* ZS_CONNTRACK_H */
