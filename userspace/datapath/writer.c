// SPDX-License-Identifier: MIT
/*
 * The atomic map writer (writer.h has the sequence). An apply runs its steps
 * in order, each a function named for it: check_capacity, stage_subjects (1),
 * point_inactive (2: handles, endpoints, ipcache, dropped prefixes), flip (3)
 * and keep_state (4), with an undo log that rolls back any failure before the
 * flip. zs_writer_settle retires the old generation later; on the first
 * apply, sweep deletes what an earlier daemon left and this one does not know.
 */
#include "datapath/writer.h"
#include "datapath/writer_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void zs_policy_key_make(struct zs_policy_key *k, uint32_t handle, const struct zs_pentry *e)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = ZS_POLICY_FIXED_BITS + e->bits;
	k->handle = handle;
	k->peer = e->peer;
	k->dir = e->dir;
	k->proto = (uint8_t)(e->value >> 16);
	k->port = htons((uint16_t)(e->value & 0xffff));
}

void zs_ipcache_key_make(struct zs_ipcache_key *k, const struct zs_prefix *p)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = ZS_IPCACHE_PREFIX(p->len);
	k->family = p->family;
	memcpy(k->addr, p->addr, 16);
}

/* ---- undo log: what to put back if we fail before the flip ------------- */

struct undo {
	enum zs_map map;
	bool had_old;
	union {
		struct zs_handle_key hk;
		uint32_t ifindex;
		struct zs_ipcache_key ik;
		struct zs_policy_key pk;
	} key;
	union {
		uint32_t handle;
		struct zs_endpoint ep;
		struct zs_ipcache_val ip;
	} old;
};
typedef ZS_VEC(struct undo) undo_t;

static size_t key_size(enum zs_map m)
{
	switch (m) {
	case ZS_MAP_ENDPOINTS:
		return sizeof(uint32_t);
	case ZS_MAP_IPCACHE:
		return sizeof(struct zs_ipcache_key);
	case ZS_MAP_HANDLES:
		return sizeof(struct zs_handle_key);
	case ZS_MAP_POLICY:
		return sizeof(struct zs_policy_key);
	default:
		return sizeof(uint32_t);
	}
}

/* Writes key -> val, remembering the old value when `u` is given. */
static int put(struct zs_writer *w, undo_t *u, enum zs_map m, const void *key, const void *val)
{
	if (u) {
		struct undo *x = ZS_VEC_PUSH(u);
		x->map = m;
		memcpy(&x->key, key, key_size(m));
		x->had_old = m != ZS_MAP_POLICY && w->ops->lookup(w->ctx, m, key, &x->old) == 0;
	}
	return w->ops->update(w->ctx, m, key, val);
}

/* Like put() for an ipcache key whose old value was just looked up (NULL: none). */
static int put_ipcache(struct zs_writer *w, undo_t *u, const struct zs_ipcache_key *key,
		       const struct zs_ipcache_val *val, const struct zs_ipcache_val *old)
{
	struct undo *x = ZS_VEC_PUSH(u);

	x->map = ZS_MAP_IPCACHE;
	x->key.ik = *key;
	x->had_old = old != NULL;
	if (old)
		x->old.ip = *old;
	return w->ops->update(w->ctx, ZS_MAP_IPCACHE, key, val);
}

static void rollback(struct zs_writer *w, undo_t *u)
{
	for (size_t i = u->n; i-- > 0;) {
		struct undo *x = &u->v[i];
		if (x->had_old)
			w->ops->update(w->ctx, x->map, &x->key, &x->old);
		else
			w->ops->del(w->ctx, x->map, &x->key);
	}
}

/* ---- state lookups ----------------------------------------------------- */

static int cmp_w_subject(const void *a, const void *b)
{
	uint32_t x = ((const struct zs_w_subject *)a)->identity;
	uint32_t y = ((const struct zs_w_subject *)b)->identity;
	return x < y ? -1 : x > y;
}

int zs_w_cmp_endpoint(const void *a, const void *b)
{
	uint32_t x = ((const struct zs_w_endpoint *)a)->ifindex;
	uint32_t y = ((const struct zs_w_endpoint *)b)->ifindex;
	return x < y ? -1 : x > y;
}

int zs_w_cmp_ipcache(const void *a, const void *b)
{
	return zs_prefix_cmp(&((const struct zs_w_ipcache *)a)->prefix,
			     &((const struct zs_w_ipcache *)b)->prefix);
}

struct zs_w_subject *zs_w_find_subject(struct zs_w_subject *v, size_t n, uint32_t id)
{
	struct zs_w_subject key = { .identity = id };
	return zs_bsearch(&key, v, n, sizeof(key), cmp_w_subject);
}

/* old_*: what the maps hold now (the writer's state before this apply). */
struct zs_w_subject *zs_w_old_subject(struct zs_writer *w, uint32_t id)
{
	return zs_w_find_subject(w->subjects.v, w->subjects.n, id);
}

struct zs_w_endpoint *zs_w_old_endpoint(struct zs_writer *w, uint32_t ifindex)
{
	struct zs_w_endpoint key = { .ifindex = ifindex };
	return zs_bsearch(&key, w->endpoints.v, w->endpoints.n, sizeof(key), zs_w_cmp_endpoint);
}

struct zs_w_ipcache *zs_w_old_ipcache(struct zs_writer *w, const struct zs_prefix *p)
{
	struct zs_w_ipcache key = { .prefix = *p };
	return zs_bsearch(&key, w->ipcache.v, w->ipcache.n, sizeof(key), zs_w_cmp_ipcache);
}

/*
 * What an LPM over one sorted set of prefixes answers inside p without p
 * itself, for a run of p in ascending order: one walk over the set with a
 * stack of the prefixes that enclose the current position (prefixes nest or
 * are disjoint, and an enclosing prefix sorts before what it holds), so a
 * whole apply costs one pass, not a search per bit per prefix. The set is
 * the writer's (zs_w_ipcache) or a compiled one (zs_c_ipcache): both start
 * with prefix, identity, cidr.
 */
struct encl {
	const char *base;
	size_t stride, n, j;
	ZS_VEC(size_t) stk;
};
_Static_assert(offsetof(struct zs_w_ipcache, identity) == offsetof(struct zs_c_ipcache, identity) &&
		       offsetof(struct zs_w_ipcache, cidr) == offsetof(struct zs_c_ipcache, cidr) &&
		       offsetof(struct zs_w_ipcache, prefix) == 0 && offsetof(struct zs_c_ipcache, prefix) == 0,
	       "encl reads both ipcache types alike");

static const struct zs_w_ipcache *encl_at(const struct encl *e, size_t i)
{
	return (const struct zs_w_ipcache *)(const void *)(e->base + i * e->stride);
}

static void encl_answer(struct encl *e, const struct zs_prefix *p, uint32_t *identity, uint32_t *cidr)
{
	while (e->j < e->n && zs_prefix_cmp(&encl_at(e, e->j)->prefix, p) < 0) {
		while (e->stk.n && !zs_prefix_contains(&encl_at(e, e->stk.v[e->stk.n - 1])->prefix,
						       &encl_at(e, e->j)->prefix))
			e->stk.n--;
		*ZS_VEC_PUSH(&e->stk) = e->j++;
	}
	while (e->stk.n && !zs_prefix_contains(&encl_at(e, e->stk.v[e->stk.n - 1])->prefix, p))
		e->stk.n--;
	*identity = ZS_ID_WORLD;
	*cidr = 0;
	if (e->stk.n) {
		*identity = encl_at(e, e->stk.v[e->stk.n - 1])->identity;
		*cidr = encl_at(e, e->stk.v[e->stk.n - 1])->cidr;
	}
}

/*
 * Merge cursor: the entry of sorted `v` (n entries) equal to p, or NULL,
 * for p ascending across calls; *j only moves forward.
 */
static const void *merge_find(const void *v, size_t stride, size_t n, size_t *j, const struct zs_prefix *p)
{
	const char *b = v;
	int c = 1;

	while (*j < n && (c = zs_prefix_cmp((const struct zs_prefix *)(const void *)(b + *j * stride), p)) < 0)
		++*j;
	return *j < n && c == 0 ? b + *j * stride : NULL;
}

static int cmp_c_endpoint_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct zs_c_endpoint *)elem)->ifname);
}

/*
 * The ifindex of a local workload's interface: the one its endpoint got in
 * this apply (endpoints are sorted by ifname), so each name costs one lookup.
 */
static unsigned ifindex_of(struct zs_writer *w, const struct zs_compiled *c,
			   const unsigned *ep_ifindex, const char *ifname)
{
	const struct zs_c_endpoint *ep = zs_bsearch(ifname, c->endpoints.v, c->endpoints.n,
						 sizeof(*ep), cmp_c_endpoint_name);

	return ep ? ep_ifindex[ep - c->endpoints.v] : w->ops->ifindex(w->ctx, ifname);
}

static bool same_entries(const struct zs_w_subject *a, const struct zs_subject *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->e, b->e, a->n * sizeof(*a->e)));
}

int zs_w_update_many(struct zs_writer *w, enum zs_map m, const void *keys, size_t ksize,
		     const void *vals, size_t vsize, size_t n)
{
	int err = 0, e;

	if (n > 1 && w->ops->update_batch && !w->ops->update_batch(w->ctx, m, keys, vals, n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		e = w->ops->update(w->ctx, m, (const char *)keys + i * ksize,
				   (const char *)vals + i * vsize);
		err = err ? err : e;
	}
	return err;
}

#define WRITE_BATCH 4096 /* policy entries per batch update */

/* A handle's entries: new keys, so the caller's undo deletes them all. */
static int write_entries(struct zs_writer *w, uint32_t handle, const struct zs_pentry *e, size_t n)
{
	size_t cap = n < WRITE_BATCH ? n : WRITE_BATCH;
	struct zs_policy_key *k = zs_xcalloc(cap + 1, sizeof(*k));
	struct zs_policy_val *v = zs_xcalloc(cap + 1, sizeof(*v));
	int err = 0;

	for (size_t done = 0; done < n && !err; done += cap) {
		size_t m = n - done < cap ? n - done : cap;
		for (size_t i = 0; i < m; i++) {
			zs_policy_key_make(&k[i], handle, &e[done + i]);
			v[i].verdict = e[done + i].verdict;
			v[i].prec = e[done + i].prec;
			v[i].rule_id = e[done + i].rule_id;
		}
		err = zs_w_update_many(w, ZS_MAP_POLICY, k, sizeof(*k), v, sizeof(*v), m);
	}
	free(k);
	free(v);
	return err;
}

void zs_w_delete_entries(struct zs_writer *w, uint32_t handle, const struct zs_pentry *e, size_t n)
{
	struct zs_policy_key k;

	for (size_t i = 0; i < n; i++) {
		zs_policy_key_make(&k, handle, &e[i]);
		w->ops->del(w->ctx, ZS_MAP_POLICY, &k);
	}
}

/* ---- init -------------------------------------------------------------- */

int zs_writer_init(struct zs_writer *w, const struct zs_map_ops *ops, void *ctx)
{
	struct zs_config cfg;
	struct zs_handle_key hk, next;
	uint32_t zero = 0, h;
	int err;

	memset(w, 0, sizeof(*w));
	w->ops = ops;
	w->ctx = ctx;
	w->next_handle = 1;
	if (ops->lookup(ctx, ZS_MAP_CONFIG, &zero, &cfg) == 0)
		w->revision = cfg.revision;
	/* Handles already in the maps stay valid until our first flip: skip them. */
	for (err = ops->next_key(ctx, ZS_MAP_HANDLES, NULL, &next); !err;
	     err = ops->next_key(ctx, ZS_MAP_HANDLES, &hk, &next)) {
		hk = next;
		if (ops->lookup(ctx, ZS_MAP_HANDLES, &hk, &h) == 0 && h >= w->next_handle)
			w->next_handle = h + 1;
	}
	struct zs_policy_key pk, pnext;
	for (err = ops->next_key(ctx, ZS_MAP_POLICY, NULL, &pnext); !err;
	     err = ops->next_key(ctx, ZS_MAP_POLICY, &pk, &pnext)) {
		pk = pnext;
		w->policy_entries++;
		if (pk.handle >= w->next_handle)
			w->next_handle = pk.handle + 1;
	}
	return 0;
}

static void free_subjects(struct zs_w_subject *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].e);
	free(v);
}

/* Frees the state before the last flip (empty when nothing is pending). */
void zs_w_free_prev(struct zs_writer *w)
{
	free_subjects(w->prev.subjects.v, w->prev.subjects.n);
	free(w->prev.endpoints.v);
	free(w->prev.ipcache.v);
	memset(&w->prev, 0, sizeof(w->prev));
}

void zs_writer_free(struct zs_writer *w)
{
	zs_w_free_prev(w);
	free_subjects(w->subjects.v, w->subjects.n);
	free(w->endpoints.v);
	free(w->ipcache.v);
	memset(w, 0, sizeof(*w));
}

/* ---- apply ------------------------------------------------------------- */

/* One apply under way: the state it builds, what it wrote, where errors go. */
struct apply {
	const struct zs_compiled *c;
	uint32_t new_rev, ng, og; /* the new revision, its generation, the one before */
	bool first;               /* nothing written yet: write everything, then sweep */
	unsigned held;            /* on the first apply: maps (1 << zs_map) holding keys before */
	bool *changed;            /* per compiled subject: gets a fresh handle */
	size_t to_write;          /* the policy entries those take */
	struct zs_w_subject *ns;  /* per compiled subject */
	unsigned *ep_ifindex;     /* per compiled endpoint; 0: no such interface yet */
	struct zs_w_endpoint *neps; /* the endpoints whose interface exists */
	size_t nneps;
	struct zs_w_ipcache *nips; /* per compiled ipcache entry */
	undo_t undo;
	char *errbuf;
	size_t errlen;
};

static int write_failed(struct apply *a, const char *map, int err)
{
	snprintf(a->errbuf, a->errlen, "%s map: write failed: %s", map, strerror(-err));
	return err;
}

/* 0. Capacity, before anything changes; marks the subjects that changed. */
static int check_capacity(struct zs_writer *w, struct apply *a)
{
	const struct zs_compiled *c = a->c;
	size_t in_use = w->policy_entries;

	for (size_t i = 0; i < c->subjects.n; i++) {
		struct zs_w_subject *old = zs_w_old_subject(w, c->subjects.v[i].identity);
		a->changed[i] = a->first || !old || !same_entries(old, &c->subjects.v[i]);
		if (a->changed[i])
			a->to_write += c->subjects.v[i].n;
	}
	if (in_use + a->to_write > ZS_MAX_POLICY) {
		snprintf(a->errbuf, a->errlen,
			 "policy map: %zu entries needed (%zu in use while the new ones are written), capacity %u: over by %zu",
			 in_use + a->to_write, in_use, ZS_MAX_POLICY, in_use + a->to_write - ZS_MAX_POLICY);
		return -E2BIG;
	}
	const char *map = NULL;
	size_t need = 0;
	unsigned cap = 0;
	if (c->ipcache.n > ZS_MAX_IPCACHE)
		map = "ipcache", need = c->ipcache.n, cap = ZS_MAX_IPCACHE;
	else if (c->endpoints.n > ZS_MAX_ENDPOINTS)
		map = "endpoints", need = c->endpoints.n, cap = ZS_MAX_ENDPOINTS;
	else if (c->subjects.n * 2 > ZS_MAX_HANDLES)
		map = "handles", need = c->subjects.n * 2, cap = ZS_MAX_HANDLES;
	if (map) {
		snprintf(a->errbuf, a->errlen, "%s: %zu needed, capacity %u", map, need, cap);
		return -E2BIG;
	}
	return 0;
}

/* 1. Fresh handles for changed subjects, entries written in full. */
static int stage_subjects(struct zs_writer *w, struct apply *a)
{
	const struct zs_compiled *c = a->c;

	for (size_t i = 0; i < c->subjects.n; i++) {
		const struct zs_subject *s = &c->subjects.v[i];
		struct zs_w_subject *ns = &a->ns[i];
		ns->identity = s->identity;
		ns->n = s->n;
		if (!a->changed[i]) {
			ns->handle = zs_w_old_subject(w, s->identity)->handle;
			continue;
		}
		ns->handle = w->next_handle++;
		/* New keys: undo is deleting them. */
		for (size_t j = 0; j < s->n; j++) {
			struct undo *x = ZS_VEC_PUSH(&a->undo);
			x->map = ZS_MAP_POLICY;
			zs_policy_key_make(&x->key.pk, ns->handle, &s->e[j]);
		}
		int err = write_entries(w, ns->handle, s->e, s->n);
		if (err)
			return write_failed(a, "policy", err);
	}
	return 0;
}

/* 2a. The inactive generation's handle slots: changed subjects in, gone ones out. */
static int point_handles(struct zs_writer *w, struct apply *a)
{
	const struct zs_compiled *c = a->c;

	for (size_t i = 0; i < c->subjects.n; i++) {
		if (!a->changed[i])
			continue;
		struct zs_handle_key hk = { .gen = a->ng, .identity = a->ns[i].identity };
		int err = put(w, &a->undo, ZS_MAP_HANDLES, &hk, &a->ns[i].handle);
		if (err)
			return write_failed(a, "handles", err);
	}
	for (size_t i = 0; i < w->subjects.n; i++) {
		if (zs_compiled_subject(c, w->subjects.v[i].identity))
			continue;
		struct zs_handle_key hk = { .gen = a->ng, .identity = w->subjects.v[i].identity };
		struct undo *x = ZS_VEC_PUSH(&a->undo);
		x->map = ZS_MAP_HANDLES;
		x->key.hk = hk;
		x->had_old = true;
		x->old.handle = w->subjects.v[i].handle;
		w->ops->del(w->ctx, ZS_MAP_HANDLES, &hk);
	}
	return 0;
}

/*
 * 2b. Endpoints: the inactive generation's identity for each workload whose
 * interface exists; the active one keeps what packets see now.
 */
static int point_endpoints(struct zs_writer *w, struct apply *a)
{
	const struct zs_compiled *c = a->c;

	for (size_t i = 0; i < c->endpoints.n; i++) {
		const struct zs_c_endpoint *ce = &c->endpoints.v[i];
		unsigned ifindex = w->ops->ifindex(w->ctx, ce->ifname);
		a->ep_ifindex[i] = ifindex;
		if (!ifindex)
			continue; /* not there yet: enrolled when the link appears */
		struct zs_w_endpoint *old = zs_w_old_endpoint(w, ifindex);
		a->neps[a->nneps].ifindex = ifindex;
		a->neps[a->nneps++].identity = ce->identity;
		if (!a->first && old && old->identity == ce->identity)
			continue;
		struct zs_endpoint v = { .flags = ZS_EP_READY }, cur;
		v.identity[a->ng] = ce->identity;
		if (old)
			v.identity[a->og] = old->identity;
		else if (w->ops->lookup(w->ctx, ZS_MAP_ENDPOINTS, &ifindex, &cur) == 0)
			v.identity[a->og] = cur.identity[a->og]; /* after a restart: what the maps say */
		else
			v.identity[a->og] = ce->identity;
		int err = put(w, &a->undo, ZS_MAP_ENDPOINTS, &ifindex, &v);
		if (err)
			return write_failed(a, "endpoints", err);
	}
	return 0;
}

/*
 * 2c. The ipcache: each new or changed prefix, for the inactive generation.
 * The compiled and the writer's lists are both sorted by prefix: one merge
 * walk finds each prefix's old entry and, for a new one, what the old
 * generation's LPM answered for it. The writes go in one batch where the
 * map takes it (the undo log holds every key before any is written).
 */
static int point_ipcache(struct zs_writer *w, struct apply *a)
{
	const struct zs_compiled *c = a->c;
	struct zs_ipcache_key *ks = zs_xcalloc(c->ipcache.n + 1, sizeof(*ks));
	struct zs_ipcache_val *vs = zs_xcalloc(c->ipcache.n + 1, sizeof(*vs));
	struct encl oldset = { .base = (const char *)w->ipcache.v, .stride = sizeof(*w->ipcache.v),
			       .n = w->ipcache.n };
	size_t n = 0, j = 0;
	int err;

	for (size_t i = 0; i < c->ipcache.n; i++) {
		const struct zs_c_ipcache *ci = &c->ipcache.v[i];
		const struct zs_w_ipcache *old = merge_find(w->ipcache.v, sizeof(*w->ipcache.v),
							    w->ipcache.n, &j, &ci->prefix);
		struct zs_w_ipcache *nip = &a->nips[i];
		struct zs_ipcache_key *k = &ks[n];
		struct zs_ipcache_val *v = &vs[n], cur;

		nip->prefix = ci->prefix;
		nip->identity = ci->identity;
		nip->cidr = ci->cidr;
		nip->ifindex = ci->ifname ? ifindex_of(w, c, a->ep_ifindex, ci->ifname) : 0;
		if (!a->first && old && old->identity == ci->identity && old->cidr == ci->cidr &&
		    old->ifindex == nip->ifindex)
			continue;
		zs_ipcache_key_make(k, &ci->prefix);
		v->identity[a->ng] = ci->identity;
		v->cidr[a->ng] = ci->cidr;
		/* The old generation keeps what it saw; a new address is unknown to it. */
		bool had_cur = (!a->first || (a->held & 1u << ZS_MAP_IPCACHE)) &&
			       w->ops->lookup(w->ctx, ZS_MAP_IPCACHE, k, &cur) == 0;
		if (old) {
			v->identity[a->og] = old->identity;
			v->cidr[a->og] = old->cidr;
		} else if (had_cur) {
			v->identity[a->og] = cur.identity[a->og];
			v->cidr[a->og] = cur.cidr[a->og];
		} else {
			/* New here: the old generation keeps seeing what its LPM saw. */
			encl_answer(&oldset, &ci->prefix, &v->identity[a->og], &v->cidr[a->og]);
		}
		v->ifindex = nip->ifindex;
		struct undo *x = ZS_VEC_PUSH(&a->undo);
		x->map = ZS_MAP_IPCACHE;
		x->key.ik = *k;
		x->had_old = had_cur;
		if (had_cur)
			x->old.ip = cur;
		n++;
	}
	err = zs_w_update_many(w, ZS_MAP_IPCACHE, ks, sizeof(*ks), vs, sizeof(*vs), n);
	free(oldset.stk.v);
	free(ks);
	free(vs);
	return err ? write_failed(a, "ipcache", err) : 0;
}

/*
 * 2d. A prefix the new state drops stays in the map until settle (the old
 * generation may still read it), but loses its interface binding now and
 * shows the new generation what it will see once gone: no packet of the
 * new revision may take the address as still bound to its old workload.
 * One merge walk of the writer's list against the compiled one.
 */
static int unbind_dropped(struct zs_writer *w, struct apply *a)
{
	const struct zs_compiled *c = a->c;
	struct encl newset = { .base = (const char *)c->ipcache.v, .stride = sizeof(*c->ipcache.v),
			       .n = c->ipcache.n };
	size_t j = 0;
	int err = 0;

	for (size_t i = 0; i < w->ipcache.n && !err; i++) {
		const struct zs_w_ipcache *o = &w->ipcache.v[i];
		struct zs_ipcache_key k;
		struct zs_ipcache_val v = { 0 }, cur;

		if (merge_find(c->ipcache.v, sizeof(*c->ipcache.v), c->ipcache.n, &j, &o->prefix))
			continue;
		zs_ipcache_key_make(&k, &o->prefix);
		v.identity[a->og] = o->identity;
		v.cidr[a->og] = o->cidr;
		encl_answer(&newset, &o->prefix, &v.identity[a->ng], &v.cidr[a->ng]);
		bool had_cur = w->ops->lookup(w->ctx, ZS_MAP_IPCACHE, &k, &cur) == 0;
		err = put_ipcache(w, &a->undo, &k, &v, had_cur ? &cur : NULL);
	}
	free(newset.stk.v);
	return err ? write_failed(a, "ipcache", err) : 0;
}

/* 2. Point the inactive generation at the new state (2a-2d). */
static int point_inactive(struct zs_writer *w, struct apply *a)
{
	int err = point_handles(w, a);

	if (!err)
		err = point_endpoints(w, a);
	if (!err)
		err = point_ipcache(w, a);
	if (!err)
		err = unbind_dropped(w, a);
	return err;
}

/* 3. The flip: one write of the revision moves every packet over. */
static int flip(struct zs_writer *w, struct apply *a)
{
	uint32_t zero = 0;
	struct zs_config cfg = { .revision = a->new_rev };
	int err = w->ops->update(w->ctx, ZS_MAP_CONFIG, &zero, &cfg);

	return err ? write_failed(a, "config", err) : 0;
}

/*
 * 4. The old state stays until no packet can still be using it (see
 * zs_writer_settle): the other generation is synced and what nothing uses
 * is deleted then, not now. It waits as w->prev; the new state is w's own.
 */
static void keep_state(struct zs_writer *w, struct apply *a)
{
	const struct zs_compiled *c = a->c;

	w->policy_entries += a->to_write;
	zs_w_free_prev(w);
	/* The vectors move: same element types, same layout. */
	memcpy(&w->prev.subjects, &w->subjects, sizeof(w->subjects));
	memcpy(&w->prev.endpoints, &w->endpoints, sizeof(w->endpoints));
	memcpy(&w->prev.ipcache, &w->ipcache, sizeof(w->ipcache));
	memset(&w->subjects, 0, sizeof(w->subjects));
	memset(&w->endpoints, 0, sizeof(w->endpoints));
	memset(&w->ipcache, 0, sizeof(w->ipcache));
	for (size_t i = 0; i < c->subjects.n; i++) {
		struct zs_w_subject *s = ZS_VEC_PUSH(&w->subjects);
		*s = a->ns[i];
		s->e = zs_xcalloc(c->subjects.v[i].n, sizeof(*s->e));
		zs_memcpy(s->e, c->subjects.v[i].e, c->subjects.v[i].n * sizeof(*s->e));
	}
	zs_qsort(a->neps, a->nneps, sizeof(*a->neps), zs_w_cmp_endpoint);
	for (size_t i = 0; i < a->nneps; i++)
		*ZS_VEC_PUSH(&w->endpoints) = a->neps[i];
	for (size_t i = 0; i < c->ipcache.n; i++)
		*ZS_VEC_PUSH(&w->ipcache) = a->nips[i];
	w->pending = true;
	w->revision = a->new_rev;
}

/*
 * The maps that hold any key (one get_next_key each): on a first apply into
 * empty maps, nothing there needs looking up before a write or sweeping after.
 */
static unsigned maps_held(struct zs_writer *w)
{
	static const enum zs_map maps[] = { ZS_MAP_HANDLES, ZS_MAP_ENDPOINTS, ZS_MAP_IPCACHE };
	union {
		struct zs_handle_key hk;
		struct zs_ipcache_key ik;
		uint32_t ifindex;
	} next;
	unsigned held = 0;

	for (size_t i = 0; i < ZS_ARRAY_SIZE(maps); i++)
		if (w->ops->next_key(w->ctx, maps[i], NULL, &next) == 0)
			held |= 1u << maps[i];
	return held;
}

int zs_writer_apply(struct zs_writer *w, const struct zs_compiled *c, char *errbuf, size_t errlen)
{
	/* The previous apply's old generation goes first: this one writes into it. */
	zs_writer_settle(w);

	struct apply a = {
		.c = c,
		.new_rev = w->revision + 1,
		.ng = (w->revision + 1) & 1,
		.og = w->revision & 1,
		.first = w->subjects.n == 0 && w->endpoints.n == 0 && w->ipcache.n == 0,
		.changed = zs_xcalloc(c->subjects.n, sizeof(*a.changed)),
		.ns = zs_xcalloc(c->subjects.n, sizeof(*a.ns)),
		.ep_ifindex = zs_xcalloc(c->endpoints.n + 1, sizeof(*a.ep_ifindex)),
		.neps = zs_xcalloc(c->endpoints.n, sizeof(*a.neps)),
		.nips = zs_xcalloc(c->ipcache.n, sizeof(*a.nips)),
		.errbuf = errbuf,
		.errlen = errlen,
	};
	size_t foreign = w->policy_entries;
	int err;

	if (a.first)
		a.held = maps_held(w);
	err = check_capacity(w, &a);
	if (err)
		goto out;
	err = stage_subjects(w, &a);
	if (!err)
		err = point_inactive(w, &a);
	if (!err)
		err = flip(w, &a);
	if (err)
		goto err_rollback;
	keep_state(w, &a);
	if (a.first) {
		zs_writer_settle(w);
		zs_w_sweep(w, foreign, a.held);
	}
	goto out;

err_rollback:
	rollback(w, &a.undo);
out:
	free(a.undo.v);
	free(a.ns);
	free(a.changed);
	free(a.neps);
	free(a.nips);
	free(a.ep_ifindex);
	return err;
}
