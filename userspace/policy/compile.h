/* SPDX-License-Identifier: MIT */
/*
 * The compiler: objects + identities -> what the datapath maps should hold.
 * Pure and deterministic (same input, same output, byte for byte); it knows
 * nothing of interfaces or file descriptors. Port ranges, protocol
 * wildcards, any-peer rules and deny-over-allow are all resolved here into
 * disjoint prefixes over the 24-bit (proto << 16 | port) space, so the
 * datapath's longest-prefix match is exactly the answer.
 */
#ifndef ZS_COMPILE_H
#define ZS_COMPILE_H

#include "policy/identity.h"
#include "policy/model.h"
#include "policy/parse.h"

/* One policy map entry relative to its subject identity. */
struct zs_pentry {
	uint32_t peer;  /* identity or ZS_ID_ANY */
	uint32_t value; /* proto << 16 | port, bits below `bits` zero */
	uint32_t rule_id;
	uint8_t dir;     /* enum zs_dir */
	uint8_t bits;    /* 0..24 matched bits of value */
	uint8_t verdict; /* enum zs_verdict */
	uint8_t prec;    /* enum zs_prec */
};

struct zs_subject {
	uint32_t identity;
	size_t n;
	struct zs_pentry *e; /* sorted: dir, peer, value, bits */
};

struct zs_c_endpoint {
	char *ifname;
	char *workload; /* ns/name */
	uint32_t identity;
	bool shield; /* XDP flood shield wanted */
};

/* An address prefix: a workload's, the host's, or a policy CIDR's. */
struct zs_c_ipcache {
	struct zs_prefix prefix;
	uint32_t identity; /* owner: workload, host or world */
	uint32_t cidr;     /* longest policy CIDR holding the prefix, or 0 */
	char *ifname; /* local workload's interface, or NULL */
	char *workload;
};

struct zs_c_rule {
	uint32_t id;
	char *policy; /* ns/name */
	uint8_t dir;
	uint8_t action; /* enum zs_action */
	uint8_t audit;
	uint32_t index;
	struct zs_mark mark;
};

struct zs_compiled {
	ZS_VEC(struct zs_c_endpoint) endpoints; /* sorted by ifname */
	ZS_VEC(struct zs_c_ipcache) ipcache;    /* sorted by prefix */
	/* The prefix lengths the ipcache holds, longest first, per family (4, 6). */
	uint8_t lens4[33], nlens4;
	uint8_t lens6[129], nlens6;
	ZS_VEC(struct zs_subject) subjects;     /* sorted by identity */
	ZS_VEC(struct zs_c_rule) rules;         /* sorted by id */
	size_t total_entries;
};

/*
 * Compiles `o`. Identities are allocated in `ids` (and unused ones released).
 * Returns 0, or -EINVAL with reasons in `d`.
 */
int zs_compile(const struct zs_objects *o, struct zs_identities *ids, struct zs_compiled *out,
	       struct zs_diags *d);
/*
 * Strings and entry arrays of a compiled state are shared, reference-counted
 * blocks (a compile cache and the states it made hold them once):
 * zs_compiled_free is the one way to free them.
 */
void zs_compiled_free(struct zs_compiled *c);

/*
 * Incremental compilation (compile_cache.c). A cache remembers what the last
 * compile it made was made from and what it made; zs_compile_cached then
 * recompiles only what a change touches and gives exactly what zs_compile
 * gives (the same entries, the same identities allocated and released), or
 * runs zs_compile in full when it cannot be sure (an empty cache, a change
 * of posture, namespaces, this host's addresses or policy CIDRs, identities
 * that are not the ones it left, many changes at once).
 *
 * Until zs_compile_cache_adopted is called the result is only pending: the
 * next zs_compile_cached starts from the last adopted one, so a change that
 * was compiled but never enforced (a failed apply, a diff) is never the base
 * of another. `ids` must be the identities the adopted compile left.
 */
struct zs_compile_cache;
struct zs_compile_cache *zs_compile_cache_new(void);
void zs_compile_cache_free(struct zs_compile_cache *cc);
int zs_compile_cached(struct zs_compile_cache *cc, const struct zs_objects *o,
		      struct zs_identities *ids, struct zs_compiled *out, struct zs_diags *d);
/* The last zs_compile_cached's result was made the state. */
void zs_compile_cache_adopted(struct zs_compile_cache *cc);
/* What the last zs_compile_cached did, for tests and benchmarks. */
struct zs_compile_cache_stats {
	bool full;           /* compiled in full */
	const char *why;     /* why in full */
	size_t subjects;     /* subjects compiled */
	size_t workloads, policies; /* objects seen changed (or gone) */
};
void zs_compile_cache_stats(const struct zs_compile_cache *cc, struct zs_compile_cache_stats *s);

const struct zs_c_rule *zs_compiled_rule(const struct zs_compiled *c, uint32_t id);
const struct zs_subject *zs_compiled_subject(const struct zs_compiled *c, uint32_t identity);

/*
 * The datapath's policy check (bpf/lib/policy.h), emulated over compiled
 * entries: the owner and CIDR identities of the peer, then any peer, longest
 * prefix match, higher precedence wins. Returns the entry that decides, or
 * NULL (default deny).
 */
const struct zs_pentry *zs_compiled_lookup(const struct zs_compiled *c, uint32_t subject,
					   uint32_t peer, uint32_t peer_cidr, uint8_t dir,
					   uint8_t proto, uint16_t port);

/* An address as the datapath's ipcache sees it. */
struct zs_c_peer {
	uint32_t identity; /* owner, or ZS_ID_WORLD */
	uint32_t cidr;     /* 0: in no policy CIDR */
	const struct zs_c_ipcache *entry; /* the longest match, or NULL */
	bool local;        /* a workload with an interface here */
};
void zs_compiled_peer(const struct zs_compiled *c, const struct zs_prefix *addr,
		      struct zs_c_peer *out);
/* The ipcache entry for exactly this prefix, or NULL. */
const struct zs_c_ipcache *zs_compiled_ipcache_exact(const struct zs_compiled *c,
						    const struct zs_prefix *p);
/* The ipcache entry that owns an address (longest prefix), or NULL. */
const struct zs_c_ipcache *zs_compiled_ipcache_find(const struct zs_compiled *c, uint8_t family,
						   const uint8_t addr[16]);

/* One side's check of a flow. */
struct zs_c_check {
	bool checked; /* the side is a local workload */
	uint8_t verdict; /* enum zs_verdict; NONE = default deny */
	uint32_t rule_id;
};

/* The datapath's verdict on a new flow (bpf/lib/decide.h), emulated. */
struct zs_c_decision {
	struct zs_c_peer src, dst;
	struct zs_c_check egress;  /* the source's egress */
	struct zs_c_check ingress; /* the destination's ingress */
	uint8_t verdict;           /* ALLOW, AUDIT or DENY */
};
/* port: the L4 destination port, or ICMP type << 8 | code. */
void zs_compiled_decide(const struct zs_compiled *c, const struct zs_prefix *src,
			const struct zs_prefix *dst, uint8_t proto, uint16_t port,
			struct zs_c_decision *out);

#endif /* ZS_COMPILE_H */
