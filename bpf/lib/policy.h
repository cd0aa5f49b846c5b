/* SPDX-License-Identifier: MIT */
/*
 * One policy check: may `subject` talk to a peer in direction `dir` on
 * proto/port? The peer has an owner identity and a CIDR identity (0: none).
 * Bounded work whatever the policy size: one handle lookup and at most three
 * LPM lookups (owner, CIDR, then any peer when neither has entries). Ranges,
 * wildcards and deny-over-allow were resolved by the compiler
 * (userspace/compile.c); between the owner's and the CIDR's answer the higher
 * precedence wins, a tie going to the lower rule id.
 *
 * In front of that, a per-CPU verdict cache (zs_vcache): direct-mapped slots
 * holding the answer for (revision, subject, peer, CIDR, direction, proto,
 * port). What a check reads (the generation's handles and the entries of
 * those handles) never changes while the revision stands: the writer writes
 * the other generation and fresh handles, then moves the revision. So an
 * answer keyed by the revision is exact for as long as the key can match,
 * and a flip retires every slot at once without the writer touching the
 * cache (it is not pinned: it belongs to the programs that fill it). A slot
 * is written and read by one CPU, and programs do not nest on a CPU (tc and
 * XDP run with bottom halves off), the assumption the per-CPU conntrack
 * scratch makes too.
 */
#ifndef ZS_POLICY_H
#define ZS_POLICY_H

#include "maps.h"

static __always_inline struct zs_policy_val zs_policy_lookup(__u32 gen, __u32 subject, __u32 peer,
							     __u32 peer_cidr, __u8 dir, __u8 proto,
							     __be16 port)
{
	struct zs_policy_val res = { .verdict = ZS_VERDICT_NONE, .prec = ZS_PREC_NONE };
	struct zs_handle_key hk = { .gen = gen, .identity = subject };
	struct zs_policy_val *a, *b = NULL;
	__u32 *handle;

	handle = bpf_map_lookup_elem(&zs_handles, &hk);
	if (!handle)
		return res; /* nothing compiled for this identity: default deny */

	struct zs_policy_key k = {
		.prefixlen = ZS_POLICY_FULL_BITS,
		.handle = *handle,
		.peer = peer,
		.dir = dir,
		.proto = proto,
		.port = port,
	};
	a = bpf_map_lookup_elem(&zs_policy, &k);
	if (peer_cidr && peer_cidr != peer) {
		k.peer = peer_cidr;
		b = bpf_map_lookup_elem(&zs_policy, &k);
	}
	if (!a && !b) {
		k.peer = ZS_ID_ANY;
		a = bpf_map_lookup_elem(&zs_policy, &k);
	}
	if (a)
		res = *a;
	if (b && (b->prec > res.prec || (b->prec == res.prec && b->rule_id < res.rule_id)))
		res = *b;
	return res;
}

#ifndef ZS_VCACHE_SLOTS
#define ZS_VCACHE_SLOTS 1024 /* per CPU, a power of two */
#endif

struct zs_vcache_slot {
	__u32 revision;
	__u32 subject;
	__u32 peer;
	__u32 peer_cidr;
	__u32 what; /* dir | proto << 8 | port << 16 */
	__u32 full; /* 1 once written: a slot never written matches nothing */
	struct zs_policy_val val;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZS_VCACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct zs_vcache_slot);
} zs_vcache SEC(".maps");

/*
 * May `subject` talk to the peer (owner `peer`, CIDR `peer_cidr`) in `dir` on
 * proto/port, under revision `rev`: from the verdict cache, or looked up and
 * cached.
 */
static __always_inline struct zs_policy_val zs_policy_check(__u32 rev, __u32 subject, __u32 peer,
							    __u32 peer_cidr, __u8 dir, __u8 proto,
							    __be16 port)
{
	__u32 what = (__u32)dir | (__u32)proto << 8 | (__u32)port << 16;
	__u32 h = subject * 0x9e3779b1u ^ peer * 0x85ebca77u ^ peer_cidr * 0xc2b2ae3du ^
		  what * 0x27d4eb2fu;
	__u32 idx = (h ^ h >> 16) & (ZS_VCACHE_SLOTS - 1);
	struct zs_vcache_slot *s = bpf_map_lookup_elem(&zs_vcache, &idx);
	struct zs_policy_val res;

	if (s && s->full && s->revision == rev && s->subject == subject && s->peer == peer &&
	    s->peer_cidr == peer_cidr && s->what == what)
		return s->val;
	res = zs_policy_lookup(rev & 1, subject, peer, peer_cidr, dir, proto, port);
	if (s) {
		s->revision = rev;
		s->subject = subject;
		s->peer = peer;
		s->peer_cidr = peer_cidr;
		s->what = what;
		s->val = res;
		s->full = 1;
	}
	return res;
}

#endif /* ZS_POLICY_H */
