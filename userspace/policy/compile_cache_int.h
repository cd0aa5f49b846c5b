/* SPDX-License-Identifier: MIT */
/*
 * Private to the compile cache (compile_cache.c, compile_cache_out.c): what
 * the cache records of the last adopted compile, and one incremental
 * compile's view of a change.
 */
#ifndef ZS_COMPILE_CACHE_INT_H
#define ZS_COMPILE_CACHE_INT_H

#include "policy/compile_int.h"

typedef ZS_VEC(uint64_t) keys_t;
typedef ZS_VEC(struct zs_prefix) prefixes_t;

/* A workload as last compiled; key: hash of "ns/name" (0: empty slot). */
struct c_wl {
	uint64_t key, fp;
	uint32_t id;
	bool local;
};

/* A policy as last compiled; key: hash of (ns, name, kind). */
struct c_pol {
	uint64_t key, fp;
	uint32_t nids;
	uint32_t *ids;     /* shared block: its rule ids, ingress then egress */
	char *name;        /* shared block: "ns/name" */
	uint64_t *pkeys;   /* shared block: label keys its peers can match */
	uint32_t npkeys;
	bool cidr;         /* a peer names a prefix */
	bool any_named;    /* an egress named port toward any peer: every identity matters */
};

/* A subject as last compiled: its policies' keys in name order. */
struct c_subj {
	uint32_t id, npol;
	uint64_t *pols; /* shared block */
};

/* Identity -> how many workloads (local ones) have it. */
struct c_count {
	uint32_t id; /* 0: empty */
	uint32_t nwl, nlocal;
};

/* A rule id that was probed past a collision: [lo, hi) were taken before it. */
struct c_probe {
	uint64_t pol;
	uint32_t lo, hi;
};

struct c_state {
	bool valid;
	uint8_t posture;
	uint64_t rest_fp; /* namespaces, host addresses */
	uint64_t ids_fp;  /* the identities left */
	struct c_wl *wl;
	size_t wl_cap;
	struct c_pol *pol;
	size_t pol_cap;
	struct c_count *cnt;
	size_t cnt_cap;
	ZS_VEC(struct c_subj) subj; /* sorted by id, as comp.subjects */
	ZS_VEC(struct c_probe) probes;
	struct cidr *cidrs; /* shared block */
	size_t ncidrs;
	struct zs_compiled comp;
};

struct zs_compile_cache {
	struct c_state cur, pend;
	bool has_pend;
	struct zs_lsidx lsidx; /* grows only: stale slots are checked away */
	struct zs_compile_cache_stats st;
};

/* What a change is, as found against the cache; the new state is built in `s`. */
struct incr {
	struct zs_compile_cache *cc;
	const struct c_state *old;
	struct c_state *s;
	const struct zs_objects *o;
	struct zs_identities *ids;
	struct zs_compiled *out;
	struct zs_diags *d;
	uint32_t *wl_id;       /* per workload */
	ids_t chg_wl;          /* changed or new workloads (indices, in order) */
	keys_t gone_wl;        /* keys of changed and removed workloads' old versions */
	ids_t chg_pol;         /* changed or new policies (indices) */
	keys_t gone_pol;       /* keys of changed and removed policies' old versions */
	size_t removed_wl, removed_pol;
	ids_t appeared, went;  /* identities */
	keys_t xkeys;          /* the label keys of those: policies whose peers hold one */
	bool local_moved;      /* an identity became a subject or stopped being one */
	const char *why;       /* set: compile in full */
};

static inline int cc_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Is key in k (sorted)? */
static inline bool cc_key_in(const keys_t *k, uint64_t key)
{
	return zs_bsearch(&key, k->v, k->n, sizeof(key), cc_cmp_u64) != NULL;
}

/* Open addressing: the slot of key k in tab (capacity cap, a power of two; field 0: empty). */
#define SLOT(tab, cap, k, field)                                                      \
	({                                                                            \
		size_t i_ = (size_t)(k) & ((cap) - 1);                                \
		while ((tab)[i_].field && (tab)[i_].field != (k))                     \
			i_ = (i_ + 1) & ((cap) - 1);                                  \
		&(tab)[i_];                                                           \
	})

/* A policy's key: (namespace, name, kind). */
uint64_t cc_pol_key(const struct zs_policy *p);

/* The key of a workload named "ns/name" (as endpoints and the ipcache name it). */
uint64_t cc_name_key(const char *nsname);

/* compile_cache_out.c: the subjects as they were (nothing they depend on changed). */
void cc_subjects_kept(struct incr *x);
/* Every rule, from the policy records (marks from the objects as they are now). */
void cc_rules(struct incr *x);
/* The endpoints and the ipcache, the old ones moved by the change. */
void cc_endpoints(struct incr *x);
/* The prefixes whose entries may move; sets x->why when it cannot tell locally. */
void cc_ipcache_moved(struct incr *x, prefixes_t *moved);
void cc_ipcache(struct incr *x, const prefixes_t *moved);
/* The rules by id (a radix sort: qsort took ~15 ms over 100k). */
void cc_sort_rules(struct zs_compiled *out);

#endif /* ZS_COMPILE_CACHE_INT_H */
