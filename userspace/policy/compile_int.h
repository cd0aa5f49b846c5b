/* SPDX-License-Identifier: MIT */
/*
 * Private to the compiler (compile.c, compile_ipcache.c) and its read side
 * (query.c): the compile's working state and what more than one of them
 * needs. compile.c runs the compile; compile_ipcache.c gives policy CIDRs
 * their identities and builds the ipcache; query.c answers questions about
 * the result as the datapath would.
 */
#ifndef ZS_COMPILE_INT_H
#define ZS_COMPILE_INT_H

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

struct wid;       /* a workload identity (compile.c) */
struct lidx_slot; /* a slot of the label index (compile.c) */

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
	int errors;
};

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
