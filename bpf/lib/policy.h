/* SPDX-License-Identifier: MIT */
/*
 * One policy check: may `subject` talk to a peer in direction `dir` on
 * proto/port? The peer has an owner identity and a CIDR identity (0: none).
 * Bounded work whatever the policy size: one handle lookup and at most three
 * LPM lookups (owner, CIDR, then any peer when neither has entries). Ranges,
 * wildcards and deny-over-allow were resolved by the compiler
 * (userspace/compile.c); between the owner's and the CIDR's answer the higher
 * precedence wins, a tie going to the lower rule id.
 */
#ifndef ZS_POLICY_H
#define ZS_POLICY_H

#include "maps.h"

static __always_inline struct zs_policy_val zs_policy_check(__u32 gen, __u32 subject, __u32 peer,
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

#endif /* ZS_POLICY_H */
