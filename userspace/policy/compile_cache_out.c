// SPDX-License-Identifier: MIT
/*
 * The compile cache's outputs that move with workloads (compile_cache.c
 * has the rest): subjects kept, rules, endpoints, and the ipcache. Only host-length prefixes of
 * changed workloads are made again: no other entry lies inside one, and
 * the longest old entry holding one (never moved itself) gives its
 * enclosing owner and CIDR identity, as zs_compile_ipcache would.
 */
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"
#include "policy/compile_cache_int.h"

/* Subjects as they were (nothing they depend on changed). */
void cc_subjects_kept(struct incr *x)
{
	const struct c_state *old = x->old;

	for (size_t i = 0; i < old->subj.n; i++) {
		struct c_subj *ns = ZS_VEC_PUSH(&x->s->subj);
		*ns = old->subj.v[i];
		zs_rc_ref(ns->pols);
		struct zs_subject *out = ZS_VEC_PUSH(&x->out->subjects);
		*out = old->comp.subjects.v[i];
		zs_rc_ref(out->e);
		x->out->total_entries += out->n;
	}
}

/* Every rule, from the policy records (marks from the objects as they are now). */
void cc_rules(struct incr *x)
{
	for (size_t i = 0; i < x->o->policies.n; i++) {
		const struct zs_policy *p = &x->o->policies.v[i];
		const struct c_pol *r = SLOT(x->s->pol, x->s->pol_cap, cc_pol_key(p), key);
		for (uint32_t k = 0; k < r->nids; k++) {
			bool in = k < p->ningress;
			zs_c_rule_make(ZS_VEC_PUSH(&x->out->rules), r->ids[k], r->name, p,
				       in ? ZS_DIR_INGRESS : ZS_DIR_EGRESS,
				       in ? k : k - (uint32_t)p->ningress);
		}
	}
	cc_sort_rules(x->out);
}

/* Endpoints: the old ones but those of changed workloads, and theirs now. */
void cc_endpoints(struct incr *x)
{
	const struct zs_compiled *old = &x->old->comp;
	ZS_VEC(struct zs_c_endpoint) add = { 0 };

	for (size_t k = 0; k < x->chg_wl.n; k++) {
		const struct zs_workload *w = &x->o->workloads.v[x->chg_wl.v[k]];
		if (w->ifname)
			zs_c_endpoint_make(ZS_VEC_PUSH(&add), w, x->wl_id[x->chg_wl.v[k]]);
	}
	zs_qsort(add.v, add.n, sizeof(*add.v), zs_cmp_c_endpoint);
	size_t a = 0;
	for (size_t i = 0; i <= old->endpoints.n; i++) {
		const struct zs_c_endpoint *e = i < old->endpoints.n ? &old->endpoints.v[i] : NULL;
		while (a < add.n && (!e || zs_cmp_c_endpoint(&add.v[a], e) < 0))
			*ZS_VEC_PUSH(&x->out->endpoints) = add.v[a++];
		if (!e || cc_key_in(&x->gone_wl, cc_name_key(e->workload)))
			continue;
		struct zs_c_endpoint *n = ZS_VEC_PUSH(&x->out->endpoints);
		*n = *e;
		zs_rc_ref(n->ifname);
		zs_rc_ref(n->workload);
	}
	free(add.v);
}


static bool host_len(const struct zs_prefix *p)
{
	return p->len == (p->family == 4 ? 32 : 128);
}

static int cmp_prefix(const void *a, const void *b)
{
	return zs_prefix_cmp(a, b);
}

static int cmp_ipc(const void *a, const void *b)
{
	return zs_prefix_cmp(&((const struct zs_c_ipcache *)a)->prefix,
			     &((const struct zs_c_ipcache *)b)->prefix);
}

static int cmp_cidr_p(const void *a, const void *b)
{
	return zs_prefix_cmp(&((const struct cidr *)a)->p, &((const struct cidr *)b)->p);
}


/*
 * The prefixes whose entries may change: the old entries of changed and
 * removed workloads, the addresses of changed ones. Host lengths only: no
 * other entry lies inside one (else: in full).
 */
void cc_ipcache_moved(struct incr *x, prefixes_t *moved)
{
	const struct zs_compiled *old = &x->old->comp;

	for (size_t i = 0; i < old->ipcache.n && x->gone_wl.n; i++) {
		const struct zs_c_ipcache *e = &old->ipcache.v[i];
		if (e->workload && cc_key_in(&x->gone_wl, cc_name_key(e->workload)))
			*ZS_VEC_PUSH(moved) = e->prefix;
	}
	for (size_t k = 0; k < x->chg_wl.n; k++) {
		const struct zs_workload *w = &x->o->workloads.v[x->chg_wl.v[k]];
		for (size_t a = 0; a < w->naddrs; a++)
			*ZS_VEC_PUSH(moved) = w->addrs[a];
	}
	zs_qsort(moved->v, moved->n, sizeof(*moved->v), cmp_prefix);
	size_t n = 0;
	for (size_t i = 0; i < moved->n; i++) {
		if (!host_len(&moved->v[i]))
			x->why = "a workload prefix shorter than an address moved";
		if (!n || zs_prefix_cmp(&moved->v[n - 1], &moved->v[i]))
			moved->v[n++] = moved->v[i];
	}
	moved->n = n;
}

/* The longest old entry strictly holding p (p is host length: no moved one does). */
static const struct zs_c_ipcache *enclosing(const struct zs_compiled *c, const struct zs_prefix *p)
{
	const uint8_t *lens = p->family == 4 ? c->lens4 : c->lens6;
	unsigned n = p->family == 4 ? c->nlens4 : c->nlens6;

	for (unsigned i = 0; i < n; i++) {
		if (lens[i] >= p->len)
			continue;
		struct zs_c_ipcache key = { .prefix = *p };
		zs_prefix_truncate(&key.prefix, lens[i]);
		const struct zs_c_ipcache *e =
			zs_bsearch(&key, c->ipcache.v, c->ipcache.n, sizeof(key), cmp_ipc);
		if (e)
			return e;
	}
	return NULL;
}

/* The new entry for moved prefix p, if it has one; 0 or 1. */
static int ipcache_entry(struct incr *x, const struct zs_prefix *p, struct zs_c_ipcache *e)
{
	const struct zs_workload *own = NULL;
	uint32_t own_id = 0;
	bool host = false;

	for (size_t k = 0; k < x->chg_wl.n && !own; k++) {
		const struct zs_workload *w = &x->o->workloads.v[x->chg_wl.v[k]];
		for (size_t a = 0; a < w->naddrs && !own; a++)
			if (!zs_prefix_cmp(&w->addrs[a], p))
				own = w, own_id = x->wl_id[x->chg_wl.v[k]];
	}
	for (size_t i = 0; i < x->o->host_addrs.n; i++)
		host |= !zs_prefix_cmp(&x->o->host_addrs.v[i], p);
	struct cidr key = { .p = *p };
	const struct cidr *cid = zs_bsearch(&key, x->old->cidrs, x->old->ncidrs, sizeof(key),
					    cmp_cidr_p);
	if (!own && !host && !cid)
		return 0;
	const struct zs_c_ipcache *q = enclosing(&x->old->comp, p);
	memset(e, 0, sizeof(*e));
	e->prefix = *p;
	e->cidr = cid ? cid->id : q ? q->cidr : 0;
	if (own) {
		e->identity = own_id;
		e->ifname = zs_rc_strdup(own->ifname);
		struct zs_c_endpoint tmp;
		zs_c_endpoint_make(&tmp, own, 0); /* for its "ns/name" */
		e->workload = tmp.workload;
		zs_rc_unref(tmp.ifname);
	} else if (host) {
		e->identity = ZS_ID_HOST;
	} else {
		e->identity = q ? q->identity : ZS_ID_WORLD;
		e->ifname = q ? zs_rc_ref(q->ifname) : NULL;
		e->workload = q ? zs_rc_ref(q->workload) : NULL;
	}
	return 1;
}

void cc_ipcache(struct incr *x, const prefixes_t *moved)
{
	const struct zs_compiled *old = &x->old->comp;
	struct zs_compiled *out = x->out;
	size_t m = 0;
	struct zs_c_ipcache e;

	for (size_t i = 0; i <= old->ipcache.n; i++) {
		const struct zs_c_ipcache *o = i < old->ipcache.n ? &old->ipcache.v[i] : NULL;
		bool again = false;
		while (m < moved->n && (!o || zs_prefix_cmp(&moved->v[m], &o->prefix) <= 0)) {
			if (ipcache_entry(x, &moved->v[m], &e))
				*ZS_VEC_PUSH(&out->ipcache) = e;
			again = o && !zs_prefix_cmp(&moved->v[m], &o->prefix);
			m++;
			if (again)
				break;
		}
		if (again)
			continue; /* made again */
		if (!o)
			continue;
		struct zs_c_ipcache *n = ZS_VEC_PUSH(&out->ipcache);
		*n = *o;
		zs_rc_ref(n->ifname);
		zs_rc_ref(n->workload);
	}
	bool has4[33] = { false }, has6[129] = { false };
	for (size_t i = 0; i < out->ipcache.n; i++) {
		const struct zs_prefix *p = &out->ipcache.v[i].prefix;
		(p->family == 4 ? has4 : has6)[p->len] = true;
	}
	for (int len = 32; len >= 0; len--)
		if (has4[len])
			out->lens4[out->nlens4++] = (uint8_t)len;
	for (int len = 128; len >= 0; len--)
		if (has6[len])
			out->lens6[out->nlens6++] = (uint8_t)len;
}

/* Sorts the rules by id (31 bits): LSD radix over (id, index) pairs, then a gather. */
void cc_sort_rules(struct zs_compiled *out)
{
	size_t n = out->rules.n;
	uint64_t *a = zs_xcalloc(n + 1, sizeof(*a)), *b = zs_xcalloc(n + 1, sizeof(*b)), *t;
	struct zs_c_rule *v = zs_xcalloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		a[i] = (uint64_t)out->rules.v[i].id << 32 | i;
	for (unsigned shift = 32; shift < 64; shift += 11) {
		size_t cnt[2048] = { 0 };
		for (size_t i = 0; i < n; i++)
			cnt[(a[i] >> shift) & 2047]++;
		for (size_t i = 0, sum = 0; i < 2048; i++) {
			size_t c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[cnt[(a[i] >> shift) & 2047]++] = a[i];
		t = a, a = b, b = t;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = out->rules.v[(uint32_t)a[i]];
	free(out->rules.v);
	out->rules.v = v;
	out->rules.cap = n + 1;
	free(a);
	free(b);
}
