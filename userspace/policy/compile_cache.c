// SPDX-License-Identifier: MIT
/*
 * Incremental compilation: the compile cache (compile.h has the contract,
 * docs/DESIGN-NOTES.md "Incremental compilation" the why).
 *
 * The cache keeps, for the last adopted compile: a fingerprint of every
 * workload, policy and of the rest of the input; each workload's identity;
 * each policy's rule ids, shared name and the label keys its peers can
 * match; each subject's policies; the policy prefixes; and the compiled
 * state itself (sharing its blocks). A change is compared object by object
 * and only what it can affect is made again:
 *
 *   - a changed workload gets its identity (new label sets are numbered in
 *     workload order before unused ones are released, as zs_compile does);
 *     its endpoint and ipcache entries are made again;
 *   - a subject is compiled again when its policies changed (which select
 *     it, or their text or rule ids), or when an identity appeared or went
 *     whose labels one of its policies' peers can match;
 *   - everything else is copied (shared) from the last state.
 *
 * Whatever it cannot decide locally (posture, namespaces, host addresses,
 * policy CIDRs, a shorter-than-host workload prefix, rule-id collisions
 * near the change, many changes) is compiled in full, which also rebuilds
 * the cache. The differential test holds it to zs_compile byte for byte.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"
#include "policy/compile_cache_int.h"
#include "policy/serial.h"

uint64_t cc_name_key(const char *nsname) /* "ns/name", as an endpoint names it */
{
	const char *slash = strchr(nsname, '/');
	size_t n = slash ? (size_t)(slash - nsname) : strlen(nsname);
	uint64_t h = zs_h64(nsname, n, 0);

	h = zs_h64("", 1, h);
	return (slash ? zs_h64(slash + 1, strlen(slash + 1), h) : h) | 1;
}

/* ---- fingerprints ---------------------------------------------------------- */

static inline uint64_t fp_mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

/*
 * A fingerprint of len bytes, 32 at a time in four lanes (byte-wise FNV took
 * ~10 ms over the texts of 100k rules). Not for an adversary: whoever can
 * apply policy can open the host anyway.
 */
static uint64_t fp_bytes(const char *p, size_t len)
{
	uint64_t a = 0x243f6a8885a308d3ull ^ len, b = 0x13198a2e03707344ull,
		 c = 0xa4093822299f31d0ull, e = 0x082efa98ec4e6c89ull, w[4];
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		memcpy(w, p + i, 32);
		a = fp_mix(a, w[0]);
		b = fp_mix(b, w[1]);
		c = fp_mix(c, w[2]);
		e = fp_mix(e, w[3]);
	}
	for (; i < len; i++)
		a = fp_mix(a, (unsigned char)p[i]);
	return fp_mix(fp_mix(fp_mix(fp_mix(a, b), c), e), len);
}

static uint64_t fp_json(const char *kept, json_t *(*make)(const void *), const void *obj)
{
	if (kept)
		return fp_bytes(kept, strlen(kept));
	json_t *j = make(obj);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	uint64_t h = s ? fp_bytes(s, strlen(s)) : 0;

	json_decref(j);
	free(s);
	return h;
}

static json_t *wl_json(const void *w) { return zs_workload_to_json(w); }
static json_t *pol_json(const void *p) { return zs_policy_to_json(p); }
static json_t *ns_json(const void *n) { return zs_namespace_to_json(n); }

static uint64_t wl_key(const struct zs_workload *w)
{
	return zs_h64(w->name, strlen(w->name), zs_h64(w->ns, strlen(w->ns) + 1, 0)) | 1;
}


uint64_t cc_pol_key(const struct zs_policy *p)
{
	uint64_t h = zs_h64(p->ns, strlen(p->ns) + 1, 0);

	h = zs_h64(p->name, strlen(p->name) + 1, h);
	return zs_h64(&p->from_k8s, 1, h) | 1;
}

static uint64_t rest_fp(const struct zs_objects *o)
{
	uint64_t h = zs_h64("rest", 4, 0);

	for (size_t i = 0; i < o->namespaces.n; i++) {
		uint64_t f = fp_json(o->namespaces.v[i].json, ns_json, &o->namespaces.v[i]);
		h = zs_h64(&f, sizeof(f), h);
	}
	/* AddressSets: a member added or removed may move classes (compiled in full). */
	for (size_t i = 0; i < o->sets.n; i++) {
		const struct zs_addrset *a = &o->sets.v[i];
		uint64_t f = fp_bytes((const char *)a->members, a->n * sizeof(*a->members));
		h = zs_h64(a->name, strlen(a->name) + 1, h);
		h = zs_h64(&f, sizeof(f), h);
	}
	return zs_h64(o->host_addrs.v, o->host_addrs.n * sizeof(*o->host_addrs.v), h);
}

static uint64_t ids_fp(const struct zs_identities *ids)
{
	uint64_t h = zs_h64(&ids->v.n, sizeof(ids->v.n), 0);

	for (size_t i = 0; i < ids->v.n; i++)
		h = zs_h64(&ids->v.v[i].id, sizeof(ids->v.v[i].id), h);
	return h;
}

/* A label key a peer's candidates come from (compile.c candidates()). */
static uint64_t lkey(const char *kind, const char *k, const char *v)
{
	uint64_t h = zs_h64(kind, strlen(kind), 0);

	h = zs_h64(k, strlen(k) + 1, h);
	return zs_h64(v, strlen(v) + 1, h);
}

/* ---- open-addressing tables -------------------------------------------------- */


static size_t cap_for(size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 2)
		cap *= 2;
	return cap;
}

static struct c_count *count_of(struct c_state *s, uint32_t id)
{
	return SLOT(s->cnt, s->cnt_cap, id, id);
}

static void state_free(struct c_state *s)
{
	for (size_t i = 0; i < s->pol_cap; i++)
		if (s->pol[i].key) {
			zs_rc_unref(s->pol[i].ids);
			zs_rc_unref(s->pol[i].name);
			zs_rc_unref(s->pol[i].pkeys);
		}
	for (size_t i = 0; i < s->subj.n; i++)
		zs_rc_unref(s->subj.v[i].pols);
	free(s->wl);
	free(s->pol);
	free(s->cnt);
	free(s->subj.v);
	free(s->probes.v);
	zs_rc_unref(s->cidrs);
	zs_compiled_free(&s->comp);
	memset(s, 0, sizeof(*s));
}

struct zs_compile_cache *zs_compile_cache_new(void)
{
	return zs_xcalloc(1, sizeof(struct zs_compile_cache));
}

void zs_compile_cache_free(struct zs_compile_cache *cc)
{
	if (!cc)
		return;
	state_free(&cc->cur);
	state_free(&cc->pend);
	zs_lsidx_free(&cc->lsidx);
	free(cc);
}

void zs_compile_cache_adopted(struct zs_compile_cache *cc)
{
	if (!cc || !cc->has_pend)
		return;
	state_free(&cc->cur);
	cc->cur = cc->pend;
	memset(&cc->pend, 0, sizeof(cc->pend));
	cc->has_pend = false;
}

void zs_compile_cache_stats(const struct zs_compile_cache *cc, struct zs_compile_cache_stats *s)
{
	*s = cc->st;
}


/* ---- what a policy record holds ------------------------------------------------- */

/* The label keys a peer's candidates come from; `all` when it may match any identity. */
static void peer_keys(const struct zs_policy *p, const struct zs_peer *peer, keys_t *k, bool *all)
{
	const struct zs_requirement *in = NULL;

	if (peer->entity != ZS_ENTITY_NONE || peer->has_cidr || peer->set)
		return;
	for (size_t i = 0; peer->has_selector && i < peer->selector.n && !in; i++)
		if (peer->selector.req[i].op == ZS_SEL_IN)
			in = &peer->selector.req[i];
	if (in) {
		for (size_t v = 0; v < in->nvalues; v++)
			*ZS_VEC_PUSH(k) = lkey("l:", in->key, in->values[v]);
	} else if (!peer->has_ns_selector) {
		*ZS_VEC_PUSH(k) = lkey("n:", p->ns, "");
	} else {
		*all = true;
	}
}

/* A policy's record, rule ids aside. */
static void pol_fill(struct c_pol *r, const struct zs_policy *p, uint64_t fp)
{
	keys_t k = { 0 };
	bool all = false;

	memset(r, 0, sizeof(*r));
	r->key = cc_pol_key(p);
	r->fp = fp;
	r->name = zs_policy_name(p);
	for (uint8_t dir = ZS_DIR_INGRESS; dir <= ZS_DIR_EGRESS; dir++) {
		size_t nr = dir == ZS_DIR_INGRESS ? p->ningress : p->negress;
		const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;
		for (size_t i = 0; i < nr; i++) {
			const struct zs_rule *x = &rules[i];
			bool named = false;
			for (size_t j = 0; j < x->nports; j++)
				named |= x->ports[j].name != NULL;
			r->any_named |= named && dir == ZS_DIR_EGRESS && x->all_peers;
			for (size_t j = 0; j < x->npeers; j++) {
				r->cidr |= x->peers[j].has_cidr || x->peers[j].set;
				r->any_named |= named && dir == ZS_DIR_EGRESS &&
						x->peers[j].entity == ZS_ENTITY_ALL;
				peer_keys(p, &x->peers[j], &k, &all);
			}
		}
	}
	if (all)
		*ZS_VEC_PUSH(&k) = lkey("a", "", "");
	r->npkeys = (uint32_t)k.n;
	r->pkeys = k.n ? zs_rc_alloc(k.n * sizeof(*k.v)) : NULL;
	zs_memcpy(r->pkeys, k.v, k.n * sizeof(*k.v));
	free(k.v);
}

static void pol_share(struct c_pol *dst, const struct c_pol *src)
{
	*dst = *src;
	zs_rc_ref(dst->ids);
	zs_rc_ref(dst->name);
	zs_rc_ref(dst->pkeys);
}

/* ---- the full compile, which (re)builds the cache ------------------------------------ */

/* The cache's record of the compile `c` made (c->out holds its result). */
static void state_from_full(struct zs_compile_cache *cc, struct cctx *c, struct c_state *s)
{
	const struct zs_objects *o = c->o;

	memset(s, 0, sizeof(*s));
	s->valid = true;
	s->posture = (uint8_t)o->posture;
	s->rest_fp = rest_fp(o);
	s->ids_fp = ids_fp(c->ids);
	s->wl_cap = cap_for(o->workloads.n);
	s->wl = zs_xcalloc(s->wl_cap, sizeof(*s->wl));
	s->cnt_cap = cap_for(c->wids.n);
	s->cnt = zs_xcalloc(s->cnt_cap, sizeof(*s->cnt));
	for (size_t i = 0; i < o->workloads.n; i++) {
		const struct zs_workload *w = &o->workloads.v[i];
		struct c_wl *r = SLOT(s->wl, s->wl_cap, wl_key(w), key);
		if (r->key)
			s->valid = false; /* two with one key: cannot tell them apart */
		*r = (struct c_wl){ wl_key(w), fp_json(w->json, wl_json, w), c->wl_id[i], w->ifname };
		struct c_count *n = count_of(s, c->wl_id[i]);
		n->id = c->wl_id[i];
		n->nwl++;
		n->nlocal += w->ifname != NULL;
	}
	s->pol_cap = cap_for(o->policies.n);
	s->pol = zs_xcalloc(s->pol_cap, sizeof(*s->pol));
	for (size_t i = 0; i < o->policies.n; i++) {
		const struct zs_policy *p = c->pols[i];
		struct c_pol *r = SLOT(s->pol, s->pol_cap, cc_pol_key(p), key);
		if (r->key) {
			s->valid = false;
			continue;
		}
		pol_fill(r, p, fp_json(p->json, pol_json, p));
		r->nids = (uint32_t)(p->ningress + p->negress);
		r->ids = r->nids ? zs_rc_alloc(r->nids * sizeof(*r->ids)) : NULL;
		zs_memcpy(r->ids, &c->rule_ids[c->base[i]], r->nids * sizeof(*r->ids));
	}
	for (size_t i = 0; i < c->wids.n; i++) {
		const struct wid *w = &c->wids.v[i];
		if (!w->local)
			continue;
		struct c_subj *x = ZS_VEC_PUSH(&s->subj);
		x->id = w->id;
		x->npol = (uint32_t)w->policies.n;
		x->pols = x->npol ? zs_rc_alloc(x->npol * sizeof(*x->pols)) : NULL;
		for (size_t k = 0; k < w->policies.n; k++)
			x->pols[k] = cc_pol_key(c->pols[w->policies.v[k]]);
	}
	for (size_t i = 0; i < c->probes.n; i++) {
		const struct zs_probe *x = &c->probes.v[i];
		if (x->hi < x->lo)
			s->valid = false; /* wrapped around: not worth the care */
		*ZS_VEC_PUSH(&s->probes) = (struct c_probe){ cc_pol_key(c->pols[x->pol]), x->lo, x->hi };
	}
	s->ncidrs = c->cidrs.n;
	s->cidrs = zs_rc_alloc(c->cidrs.n * sizeof(*c->cidrs.v));
	zs_memcpy(s->cidrs, c->cidrs.v, c->cidrs.n * sizeof(*c->cidrs.v));
	zs_compiled_share(c->out, &s->comp);
	(void)cc;
}

static int compile_full(struct zs_compile_cache *cc, const struct zs_objects *o,
			struct zs_identities *ids, struct zs_compiled *out, struct zs_diags *d,
			const char *why)
{
	struct cctx c = { .o = o, .ids = ids, .out = out, .d = d };
	int err = zs_cctx_compile(&c);

	cc->st = (struct zs_compile_cache_stats){ .full = true, .why = why,
						   .subjects = out->subjects.n };
	pr_debug("compile: in full (%s)", why);
	if (!err) {
		state_from_full(cc, &c, &cc->pend);
		cc->has_pend = true;
	}
	zs_cctx_free(&c);
	if (err)
		zs_compiled_free(out);
	return err;
}

static int cmp_identity_id2(const void *a, const void *b)
{
	uint32_t x = ((const struct zs_identity *)a)->id, y = ((const struct zs_identity *)b)->id;
	return x < y ? -1 : x > y;
}


/* ---- one incremental compile ------------------------------------------------------ */

/* Workloads: fingerprints against the cache; each one's identity; the new table. */
static void diff_workloads(struct incr *x)
{
	const struct c_state *old = x->old;
	struct c_state *s = x->s;
	const struct zs_objects *o = x->o;
	bool *seen = zs_xcalloc(old->wl_cap, sizeof(*seen));

	s->wl_cap = cap_for(o->workloads.n);
	s->wl = zs_xcalloc(s->wl_cap, sizeof(*s->wl));
	x->wl_id = zs_xcalloc(o->workloads.n + 1, sizeof(*x->wl_id));
	for (size_t i = 0; i < o->workloads.n && !x->why; i++) {
		const struct zs_workload *w = &o->workloads.v[i];
		uint64_t key = wl_key(w), fp = fp_json(w->json, wl_json, w);
		struct c_wl *r = SLOT(old->wl, old->wl_cap, key, key), *n;
		n = SLOT(s->wl, s->wl_cap, key, key);
		if (n->key)
			x->why = "two workloads with one key";
		if (r->key)
			seen[r - old->wl] = true;
		*n = (struct c_wl){ key, fp, r->id, w->ifname != NULL };
		if (r->key && r->fp == fp) {
			x->wl_id[i] = r->id;
			continue;
		}
		if (r->key)
			*ZS_VEC_PUSH(&x->gone_wl) = key;
		*ZS_VEC_PUSH(&x->chg_wl) = (uint32_t)i;
		for (size_t a = 0; a < w->nports; a++)
			for (size_t b = 0; b < a; b++)
				if (!strcmp(w->ports[a].name, w->ports[b].name))
					x->why = "a workload names a port twice";
	}
	for (size_t i = 0; i < old->wl_cap; i++)
		if (old->wl[i].key && !seen[i]) {
			*ZS_VEC_PUSH(&x->gone_wl) = old->wl[i].key;
			x->removed_wl++;
		}
	free(seen);
}

/* Policies: fingerprints against the cache; the new table (rule ids later). */
static void diff_policies(struct incr *x)
{
	const struct c_state *old = x->old;
	struct c_state *s = x->s;
	const struct zs_objects *o = x->o;
	bool *seen = zs_xcalloc(old->pol_cap, sizeof(*seen));

	s->pol_cap = cap_for(o->policies.n);
	s->pol = zs_xcalloc(s->pol_cap, sizeof(*s->pol));
	for (size_t i = 0; i < o->policies.n && !x->why; i++) {
		const struct zs_policy *p = &o->policies.v[i];
		uint64_t key = cc_pol_key(p), fp = fp_json(p->json, pol_json, p);
		struct c_pol *r = SLOT(old->pol, old->pol_cap, key, key);
		struct c_pol *n = SLOT(s->pol, s->pol_cap, key, key);
		if (n->key) {
			x->why = "two policies with one key";
			break;
		}
		if (r->key)
			seen[r - old->pol] = true;
		if (r->key && r->fp == fp) {
			pol_share(n, r);
			continue;
		}
		if (r->key)
			*ZS_VEC_PUSH(&x->gone_pol) = key;
		if (r->key && r->cidr)
			x->why = "a policy with CIDR peers changed";
		pol_fill(n, p, fp);
		if (n->cidr)
			x->why = "a policy with CIDR peers changed";
		*ZS_VEC_PUSH(&x->chg_pol) = (uint32_t)i;
	}
	for (size_t i = 0; i < old->pol_cap && !x->why; i++)
		if (old->pol[i].key && !seen[i]) {
			*ZS_VEC_PUSH(&x->gone_pol) = old->pol[i].key;
			x->removed_pol++;
			if (old->pol[i].cidr)
				x->why = "a policy with CIDR peers went";
		}
	free(seen);
}

/*
 * Changed workloads' identities, numbered as zs_compile numbers them (new
 * label sets in workload order, before any is released); identities no
 * workload has any more are released.
 */
static void identities(struct incr *x)
{
	const struct c_state *old = x->old;
	struct c_state *s = x->s;
	const struct zs_objects *o = x->o;

	for (size_t i = 0; i < x->ids->v.n; i++)
		x->ids->v.v[i].used = true;
	for (size_t k = 0; k < x->chg_wl.n; k++) {
		const struct zs_workload *w = &o->workloads.v[x->chg_wl.v[k]];
		x->wl_id[x->chg_wl.v[k]] = zs_workload_identity(&x->cc->lsidx, x->ids, w);
		SLOT(s->wl, s->wl_cap, wl_key(w), key)->id = x->wl_id[x->chg_wl.v[k]];
	}
	s->cnt_cap = cap_for(o->workloads.n);
	s->cnt = zs_xcalloc(s->cnt_cap, sizeof(*s->cnt));
	for (size_t i = 0; i < o->workloads.n; i++) {
		struct c_count *n = count_of(s, x->wl_id[i]);
		n->id = x->wl_id[i];
		n->nwl++;
		n->nlocal += o->workloads.v[i].ifname != NULL;
	}
	for (size_t i = 0; i < old->cnt_cap; i++) {
		const struct c_count *a = &old->cnt[i];
		struct c_count *b = a->id ? count_of(s, a->id) : NULL;
		if (!a->id)
			continue;
		if (!b->id) {
			*ZS_VEC_PUSH(&x->went) = a->id;
			x->local_moved |= a->nlocal > 0;
			struct zs_identity key = { .id = a->id }, *id;
			id = zs_bsearch(&key, x->ids->v.v, x->ids->v.n, sizeof(key), cmp_identity_id2);
			if (id)
				id->used = false;
		} else if ((a->nlocal > 0) != (b->nlocal > 0)) {
			x->local_moved = true;
		}
	}
	for (size_t i = 0; i < s->cnt_cap; i++)
		if (s->cnt[i].id && !count_of((struct c_state *)old, s->cnt[i].id)->id) {
			*ZS_VEC_PUSH(&x->appeared) = s->cnt[i].id;
			x->local_moved |= s->cnt[i].nlocal > 0;
		}
	/* What peers could have matched them: their labels, namespace, or any. */
	for (int k = 0; k < 2; k++) {
		const ids_t *v = k ? &x->went : &x->appeared;
		for (size_t i = 0; i < v->n; i++) {
			const struct zs_identity *id = zs_identity_find(x->ids, v->v[i]);
			if (!id)
				continue;
			*ZS_VEC_PUSH(&x->xkeys) = lkey("n:", id->ns, "");
			for (size_t j = 0; j < id->labels.n; j++)
				*ZS_VEC_PUSH(&x->xkeys) =
					lkey("l:", id->labels.v[j].key, id->labels.v[j].value);
		}
	}
	if (x->xkeys.n)
		*ZS_VEC_PUSH(&x->xkeys) = lkey("a", "", "");
	zs_qsort(x->xkeys.v, x->xkeys.n, sizeof(*x->xkeys.v), cc_cmp_u64);
	zs_identities_release_unused(x->ids);
}


static int cmp_rule_id(const void *key, const void *elem)
{
	uint32_t a = *(const uint32_t *)key, b = ((const struct zs_c_rule *)elem)->id;
	return a < b ? -1 : a > b;
}

/*
 * Rule ids of changed policies: their hashes, when that is what numbering
 * every rule again would give: the hashes are new and distinct, and no
 * rule probed past an id that the change frees (else: in full).
 */
static void number_changed(struct incr *x)
{
	ids_t freed = { 0 }, fresh = { 0 };

	zs_qsort(x->gone_pol.v, x->gone_pol.n, sizeof(*x->gone_pol.v), cc_cmp_u64);
	for (size_t i = 0; i < x->gone_pol.n; i++) {
		const struct c_pol *r = SLOT(x->old->pol, x->old->pol_cap, x->gone_pol.v[i], key);
		for (size_t j = 0; j < r->nids; j++)
			*ZS_VEC_PUSH(&freed) = r->ids[j];
	}
	zs_qsort(freed.v, freed.n, sizeof(*freed.v), zs_cmp_u32);
	for (size_t i = 0; i < x->old->probes.n; i++) {
		const struct c_probe *p = &x->old->probes.v[i];
		if (cc_key_in(&x->gone_pol, p->pol))
			continue;
		*ZS_VEC_PUSH(&x->s->probes) = *p;
		for (size_t j = 0; j < freed.n; j++)
			if (freed.v[j] >= p->lo && freed.v[j] < p->hi)
				x->why = "a rule id collision near the change";
	}
	for (size_t i = 0; i < x->chg_pol.n; i++) {
		const struct zs_policy *p = &x->o->policies.v[x->chg_pol.v[i]];
		struct c_pol *r = SLOT(x->s->pol, x->s->pol_cap, cc_pol_key(p), key);
		r->nids = (uint32_t)(p->ningress + p->negress);
		r->ids = r->nids ? zs_rc_alloc(r->nids * sizeof(*r->ids)) : NULL;
		for (uint32_t k = 0; k < r->nids; k++) {
			uint8_t dir = k < p->ningress ? ZS_DIR_INGRESS : ZS_DIR_EGRESS;
			uint32_t h = zs_rule_hash(p, dir, k < p->ningress ? k : k - (uint32_t)p->ningress);
			r->ids[k] = h;
			*ZS_VEC_PUSH(&fresh) = h;
			bool held = zs_bsearch(&h, x->old->comp.rules.v, x->old->comp.rules.n,
					       sizeof(*x->old->comp.rules.v), cmp_rule_id) &&
				    !zs_bsearch(&h, freed.v, freed.n, sizeof(h), zs_cmp_u32);
			if (!h || held)
				x->why = "a new rule id collides";
		}
	}
	zs_qsort(fresh.v, fresh.n, sizeof(*fresh.v), zs_cmp_u32);
	for (size_t i = 1; i < fresh.n; i++)
		if (fresh.v[i] == fresh.v[i - 1])
			x->why = "new rule ids collide";
	free(freed.v);
	free(fresh.v);
}

/* Does one of the subject's policies have CIDR or AddressSet peers? */
static bool subject_names_prefixes(const struct cctx *c, const struct wid *w)
{
	for (size_t k = 0; k < w->policies.n; k++) {
		const struct zs_policy *p = c->pols[w->policies.v[k]];
		for (uint8_t dir = ZS_DIR_INGRESS; dir <= ZS_DIR_EGRESS; dir++) {
			size_t nr = dir == ZS_DIR_INGRESS ? p->ningress : p->negress;
			const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;
			for (size_t i = 0; i < nr; i++)
				for (size_t j = 0; j < rules[i].npeers; j++)
					if (rules[i].peers[j].has_cidr || rules[i].peers[j].set)
						return true;
		}
	}
	return false;
}

/* The subjects whose policies changed or whose peers may have: compiled again. */
static int subjects(struct incr *x)
{
	const struct c_state *old = x->old;
	struct c_state *s = x->s;
	struct cctx c = { .o = x->o, .ids = x->ids, .out = x->out, .d = x->d };
	keys_t hit = { 0 };
	ids_t pk = { 0 };

	c.wl_id = x->wl_id;
	zs_cctx_group(&c);
	zs_cctx_sort_policies(&c);
	c.base = zs_xcalloc(x->o->policies.n + 1, sizeof(*c.base));
	size_t nr = 0;
	for (size_t i = 0; i < x->o->policies.n; i++)
		nr += c.pols[i]->ningress + c.pols[i]->negress;
	c.rule_ids = zs_xcalloc(nr + 1, sizeof(*c.rule_ids));
	nr = 0;
	for (size_t i = 0; i < x->o->policies.n; i++) {
		const struct c_pol *r = SLOT(s->pol, s->pol_cap, cc_pol_key(c.pols[i]), key);
		c.base[i] = (uint32_t)nr;
		zs_memcpy(&c.rule_ids[nr], r->ids, r->nids * sizeof(*r->ids));
		nr += r->nids;
		bool touched = false;
		for (size_t k = 0; k < r->npkeys && x->xkeys.n && !touched; k++)
			touched = cc_key_in(&x->xkeys, r->pkeys[k]);
		if (touched || (x->xkeys.n && r->any_named))
			*ZS_VEC_PUSH(&hit) = r->key;
	}
	for (size_t i = 0; i < x->chg_pol.n; i++) {
		const struct zs_policy *p = &x->o->policies.v[x->chg_pol.v[i]];
		*ZS_VEC_PUSH(&hit) = cc_pol_key(p);
		for (size_t r = 0; r < p->ningress; r++)
			zs_cctx_check_rule(&c, &p->ingress[r], ZS_DIR_INGRESS);
		for (size_t r = 0; r < p->negress; r++)
			zs_cctx_check_rule(&c, &p->egress[r], ZS_DIR_EGRESS);
	}
	zs_qsort(hit.v, hit.n, sizeof(*hit.v), cc_cmp_u64);
	zs_cctx_assign(&c);
	size_t j = 0;
	for (size_t i = 0; i < c.wids.n && !c.errors; i++) {
		struct wid *w = &c.wids.v[i];
		if (!w->local)
			continue;
		while (j < old->subj.n && old->subj.v[j].id < w->id)
			j++;
		const struct c_subj *os = j < old->subj.n && old->subj.v[j].id == w->id ?
						  &old->subj.v[j] : NULL;
		struct c_subj *ns = ZS_VEC_PUSH(&s->subj);
		ns->id = w->id;
		ns->npol = (uint32_t)w->policies.n;
		ns->pols = ns->npol ? zs_rc_alloc(ns->npol * sizeof(*ns->pols)) : NULL;
		bool again = !os || os->npol != ns->npol;
		for (size_t k = 0; k < w->policies.n; k++) {
			ns->pols[k] = cc_pol_key(c.pols[w->policies.v[k]]);
			again |= cc_key_in(&hit, ns->pols[k]) || (!again && os->pols[k] != ns->pols[k]);
		}
		struct zs_subject *out = ZS_VEC_PUSH(&x->out->subjects);
		if (again) {
			/* Its CIDR and set peers need the classes: made once, when first needed. */
			if (!c.classes && subject_names_prefixes(&c, w))
				zs_compile_cidrs(&c);
			zs_cctx_subject(&c, w, out);
			x->cc->st.subjects++;
		} else {
			*out = old->comp.subjects.v[j];
			zs_rc_ref(out->e);
		}
		x->out->total_entries += out->n;
	}
	int err = c.errors ? -EINVAL : 0;
	c.wl_id = NULL; /* x's */
	zs_cctx_free(&c);
	free(hit.v);
	free(pk.v);
	return err;
}




/* ---- the entry point ----------------------------------------------------------------- */

static void incr_free(struct incr *x)
{
	free(x->wl_id);
	free(x->chg_wl.v);
	free(x->gone_wl.v);
	free(x->chg_pol.v);
	free(x->gone_pol.v);
	free(x->appeared.v);
	free(x->went.v);
	free(x->xkeys.v);
}

/* More changes than this compile in full: a full compile costs about as much then. */
static bool too_many(size_t changed, size_t total)
{
	return changed > 64 + total / 8;
}

/* Checks that need no change to ids; sets x->why to compile in full instead. */
static void incr_check(struct incr *x, prefixes_t *moved)
{
	diff_workloads(x);
	if (!x->why)
		diff_policies(x);
	zs_qsort(x->gone_wl.v, x->gone_wl.n, sizeof(*x->gone_wl.v), cc_cmp_u64);
	if (!x->why && (too_many(x->chg_wl.n + x->gone_wl.n, x->o->workloads.n) ||
			too_many(x->chg_pol.n + x->gone_pol.n, x->o->policies.n)))
		x->why = "many changes";
	if (!x->why)
		number_changed(x);
	if (!x->why && (x->chg_wl.n || x->gone_wl.n))
		cc_ipcache_moved(x, moved);
}

static int incr_compile(struct zs_compile_cache *cc, struct incr *x)
{
	prefixes_t moved = { 0 };
	int err = 0;

	incr_check(x, &moved);
	if (x->why) {
		free(moved.v);
		return 1;
	}
	identities(x);
	if (x->chg_pol.n || x->gone_pol.n || x->appeared.n || x->went.n || x->local_moved)
		err = subjects(x);
	else
		cc_subjects_kept(x);
	if (!err) {
		cc_rules(x);
		if (x->chg_wl.n || x->gone_wl.n) {
			cc_endpoints(x);
			cc_ipcache(x, &moved);
		} else { /* shared as they were */
			struct zs_compiled from = x->old->comp, part;
			memset(&from.subjects, 0, sizeof(from.subjects));
			memset(&from.rules, 0, sizeof(from.rules));
			zs_compiled_share(&from, &part);
			free(part.subjects.v); /* empty */
			free(part.rules.v);
			x->out->endpoints = part.endpoints, x->out->ipcache = part.ipcache;
			memcpy(x->out->lens4, part.lens4, sizeof(part.lens4));
			memcpy(x->out->lens6, part.lens6, sizeof(part.lens6));
			x->out->nlens4 = part.nlens4, x->out->nlens6 = part.nlens6;
		}
	}
	free(moved.v);
	cc->st.workloads = x->chg_wl.n + x->removed_wl;
	cc->st.policies = x->chg_pol.n + x->removed_pol;
	return err;
}

int zs_compile_cached(struct zs_compile_cache *cc, const struct zs_objects *o,
		      struct zs_identities *ids, struct zs_compiled *out, struct zs_diags *d)
{
	const struct c_state *cur = &cc->cur;
	const char *why = NULL;

	state_free(&cc->pend); /* compiled, never adopted: not a base */
	cc->has_pend = false;
	memset(out, 0, sizeof(*out));
	memset(&cc->st, 0, sizeof(cc->st));
	if (!cur->valid)
		why = "no cache";
	else if (cur->posture != (uint8_t)o->posture)
		why = "posture";
	else if (cur->rest_fp != rest_fp(o))
		why = "namespaces or host addresses";
	else if (cur->ids_fp != ids_fp(ids))
		why = "identities not the ones left";
	if (why)
		return compile_full(cc, o, ids, out, d, why);

	struct c_state *s = &cc->pend;
	struct incr x = { .cc = cc, .old = cur, .s = s, .o = o, .ids = ids, .out = out, .d = d };
	s->valid = true;
	s->posture = cur->posture;
	s->rest_fp = cur->rest_fp;
	s->cidrs = zs_rc_ref(cur->cidrs);
	s->ncidrs = cur->ncidrs;
	int err = incr_compile(cc, &x);
	why = x.why;
	incr_free(&x);
	if (err > 0) { /* nothing changed yet: in full */
		zs_compiled_free(out);
		state_free(s);
		return compile_full(cc, o, ids, out, d, why);
	}
	if (err) {
		zs_compiled_free(out);
		state_free(s);
		return err;
	}
	s->ids_fp = ids_fp(ids);
	zs_compiled_share(out, &s->comp);
	cc->has_pend = true;
	pr_debug("compile: incremental, %zu subjects compiled (%zu workloads, %zu policies changed)",
		 cc->st.subjects, cc->st.workloads, cc->st.policies);
	return 0;
}
