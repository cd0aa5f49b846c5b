/* SPDX-License-Identifier: MIT */
/*
 * Private to the compiler (compile.c, compile_entries.c, compile_ipcache.c,
 * compile_cache.c) and its read side (query.c): the compile's working state
 * and what more than one of them needs. compile.c runs the compile;
 * compile_entries.c turns atoms into disjoint prefixes; compile_ipcache.c
 * gives policy CIDRs their identities and builds the ipcache;
 * compile_cache.c recompiles only what a change touches; query.c answers
 * questions about the result as the datapath would.
 */
#ifndef ZS_COMPILE_INT_H
#define ZS_COMPILE_INT_H

#include <stdio.h>

#include "policy/compile.h"

#define SPACE_MAX 0xffffffu /* 24 bits: proto << 16 | port */

/*
 * A prefix some policy names (a cidr, an except, a member of a referenced
 * AddressSet), with the CIDR identity of the addresses whose longest policy
 * prefix it is: the identity of their membership class (compile_ipcache.c).
 */
struct cidr {
	struct zs_prefix p;
	uint32_t id;
};
struct cidr_classes; /* the membership classes and their indexes (compile_ipcache.c) */

struct lidx_slot; /* a slot of the label index (compile.c) */

/* A workload identity with what selectors and named ports need of it. */
struct wid {
	uint32_t id;
	const char *ns;
	const zs_labels_t *labels;
	zs_labels_t ns_labels;
	bool local;
	ZS_VEC(const struct zs_workload *) workloads;
	ZS_VEC(uint32_t) policies; /* indices into the sorted policies that select it */
};

/* A rule of sorted policy `pol` hashed to lo but took hi (lo..hi-1 were taken). */
struct zs_probe {
	uint32_t pol, lo, hi;
};

/* One compile: its input, output, and what it builds on the way. */
struct cctx {
	const struct zs_objects *o;
	struct zs_identities *ids;
	struct zs_compiled *out;
	struct zs_diags *d;
	ZS_VEC(struct wid) wids; /* sorted by id */
	ZS_VEC(struct cidr) cidrs; /* sorted by prefix, unique */
	struct cidr_classes *classes; /* made by zs_compile_cidrs, freed by zs_compile_ipcache */
	uint32_t *wl_id;           /* identity of each workload, by index */
	struct lidx_slot *lidx;    /* open addressing, power of two */
	size_t lidx_cap;
	uint32_t *taken;         /* open-addressing set of rule ids in use */
	size_t taken_cap;
	const struct zs_policy **pols; /* the policies in name order */
	uint32_t *base;     /* per sorted policy: its first rule in rule_ids */
	uint32_t *rule_ids; /* every rule's id, policies in name order */
	ZS_VEC(struct zs_probe) probes; /* rule ids probed past a collision */
	int errors;
};

/* A 64-bit hash (FNV-1a) of len bytes, continuing from h (0 to start). */
static inline uint64_t zs_h64(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;

	if (!h)
		h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Label sets -> workload identities: open addressing by zs_labels_key. */
struct zs_lsidx_slot {
	uint64_t key; /* 0: empty */
	uint32_t id;
};
struct zs_lsidx {
	struct zs_lsidx_slot *v;
	size_t cap, n;
};
/* A label set's key (never 0). */
uint64_t zs_labels_key(const char *ns, const zs_labels_t *l);
/* Indexes every workload identity of ids. */
void zs_lsidx_build(struct zs_lsidx *x, const struct zs_identities *ids);
void zs_lsidx_free(struct zs_lsidx *x);
/* zs_identity_get through the index (hits are checked against ids: stale slots are harmless). */
uint32_t zs_lsidx_get(struct zs_lsidx *x, struct zs_identities *ids, const char *ns,
		      const zs_labels_t *l);
/* A workload's identity (its label set with its named ports) through the index. */
uint32_t zs_workload_identity(struct zs_lsidx *x, struct zs_identities *ids,
			      const struct zs_workload *w);

/* ---- compile.c: the steps of a compile, which compile_cache.c reuses ---- */

/* Every step of a full compile into c->out; c->o, ids, out, d set. 0 or -EINVAL. */
int zs_cctx_compile(struct cctx *c);
void zs_cctx_free(struct cctx *c);
/* c->wids (with their namespace labels) and the label index, from c->wl_id. */
void zs_cctx_group(struct cctx *c);
/* c->pols in name order (c->pols allocated). */
void zs_cctx_sort_policies(struct cctx *c);
/* Tells each local identity which policies (c->pols order) select it. */
void zs_cctx_assign(struct cctx *c);
/* One subject's entries into *s (its identity set); rule ids from c->rule_ids. */
void zs_cctx_subject(struct cctx *c, struct wid *w, struct zs_subject *s);
/* The errors of one rule the compiler cannot make exact (diagnostics in c->d). */
void zs_cctx_check_rule(struct cctx *c, const struct zs_rule *r, uint8_t dir);
/* A rule's id before collisions are probed: a hash of its name. */
uint32_t zs_rule_hash(const struct zs_policy *p, uint8_t dir, uint32_t idx);
/* The identity's label set a workload gets (named ports included), into *l. */
void zs_workload_labels(const struct zs_workload *w, zs_labels_t *l);

/* One compiled rule; `name` (zs_policy_name) is referenced. */
void zs_c_rule_make(struct zs_c_rule *cr, uint32_t id, char *name, const struct zs_policy *p,
		    uint8_t dir, uint32_t r);
/* "ns/name" as a shared block. */
char *zs_policy_name(const struct zs_policy *p);
void zs_c_endpoint_make(struct zs_c_endpoint *ep, const struct zs_workload *w, uint32_t identity);
int zs_cmp_c_endpoint(const void *a, const void *b);

/*
 * Shared blocks (compile_shared.c): the strings and entry arrays of a compiled
 * state are reference counted, so a compile cache and the states it made
 * share what did not change; zs_compiled_free drops its references.
 */
void *zs_rc_alloc(size_t size);
void *zs_rc_ref(void *p);   /* NULL stays NULL */
void zs_rc_unref(void *p);  /* NULL: nothing */
char *zs_rc_strdup(const char *s);
/* A copy of *c sharing its strings and entries (vectors copied). */
void zs_compiled_share(const struct zs_compiled *c, struct zs_compiled *out);
/* Makes each ipcache string a shared block (compile_ipcache.c strdups them). */
void zs_compiled_share_ipcache(struct zs_compiled *c);

/* ---- compile_entries.c: atoms -> disjoint prefixes ---- */

struct atom {
	uint32_t peer;
	uint32_t lo, hi;
	uint32_t rule_id;
	uint8_t prec;
	uint8_t verdict;
};
typedef ZS_VEC(struct atom) atoms_t;

void zs_push_atom(atoms_t *a, uint32_t peer, uint32_t lo, uint32_t hi, uint8_t prec,
		  uint8_t verdict, uint32_t rule_id);
/* One direction's atoms (sorted here) into entries appended to s->e (capacity *cap). */
void zs_resolve_dir(struct zs_subject *s, size_t *cap, uint8_t dir, atoms_t *a);
int zs_cmp_pentry(const void *a, const void *b);
int zs_cmp_u32(const void *a, const void *b);

/*
 * compile_ipcache.c: every prefix a policy names (and every member of the
 * sets policies name), unique and sorted, and their membership classes,
 * each with its identity. Reports peers naming no AddressSet (c->errors).
 */
void zs_compile_cidrs(struct cctx *c);
typedef ZS_VEC(uint32_t) ids_t;

/*
 * compile_ipcache.c: the identities of the membership classes a CIDR peer
 * holds (inside its cidr, outside its excepts), in prefix order, onto out.
 */
void zs_compile_cidr_peer(const struct cctx *c, const struct zs_peer *peer, ids_t *out);
/* compile_ipcache.c: the identities of the classes inside AddressSet peer->set, onto out. */
void zs_compile_set_peer(const struct cctx *c, const struct zs_peer *peer, ids_t *out);
/*
 * compile_ipcache.c: out->ipcache and the prefix lengths it holds; the last
 * user of c->classes, which it frees (zs_compile_cidrs_free).
 */
void zs_compile_ipcache(struct cctx *c);
/* compile_ipcache.c: frees c->classes (NULL after; twice is fine). */
void zs_compile_cidrs_free(struct cctx *c);

/* Compiled rules are sorted by id (qsort in compile.c, bsearch in query.c). */
static inline int cmp_rule(const void *a, const void *b)
{
	const struct zs_c_rule *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

#endif /* ZS_COMPILE_INT_H */
