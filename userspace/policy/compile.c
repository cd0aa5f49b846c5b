// SPDX-License-Identifier: MIT
/*
 * Policy compiler; see compile.h for the contract.
 *
 * For each subject identity and direction the rules become "atoms":
 * (peer, [lo, hi] over proto << 16 | port, precedence, verdict, rule), which
 * compile_entries.c turns into disjoint aligned prefixes.
 *
 * CIDR peers: every prefix a policy names (cidr or except) gets an identity
 * of its own. An address's CIDR identity is that of the longest policy prefix
 * holding it, so "address in cidr C but in no except E" becomes "identity of
 * a prefix P with P inside C and inside no E": exact, and a set of identities
 * like any selector's. The ipcache carries it next to the owner identity;
 * compile_ipcache.c numbers the prefixes and builds the ipcache.
 *
 * Selectors are matched through an index of label key=value -> identities,
 * and each subject only sees the policies that select it, so the compile is
 * near linear in workloads + rules.
 *
 * The steps are functions compile_cache.c calls too (compile_int.h): it
 * recompiles only the subjects a change touches. What the result means for
 * a packet (lookups, verdicts) is in query.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"
#include "policy/compile_int.h"

/* label "key=value" (or a namespace) -> indices of wids carrying it. */
struct lidx_slot {
	char *key; /* NULL: empty slot */
	ZS_VEC(uint32_t) wids;
};

static int cmp_wid(const void *a, const void *b)
{
	const struct wid *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static struct wid *wid_find(struct cctx *c, uint32_t id)
{
	struct wid key = { .id = id };
	return zs_bsearch(&key, c->wids.v, c->wids.n, sizeof(key), cmp_wid);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- the label index ---------------------------------------------------- */

static struct lidx_slot *lidx_slot(struct cctx *c, const char *kind, const char *k, const char *v,
				   bool create)
{
	char buf[512];
	int len = snprintf(buf, sizeof(buf), "%s%s=%s", kind, k, v);
	char *key = len < (int)sizeof(buf) ? buf : zs_xasprintf("%s%s=%s", kind, k, v);
	size_t mask = c->lidx_cap - 1, i = zs_fnv1a(key, strlen(key), ZS_FNV_INIT) & mask;
	struct lidx_slot *slot = NULL;

	for (;; i = (i + 1) & mask) {
		if (!c->lidx[i].key) {
			if (create) {
				c->lidx[i].key = zs_xstrdup(key);
				slot = &c->lidx[i];
			}
			break;
		}
		if (!strcmp(c->lidx[i].key, key)) {
			slot = &c->lidx[i];
			break;
		}
	}
	if (key != buf)
		free(key);
	return slot;
}

static void lidx_build(struct cctx *c)
{
	size_t n = c->wids.n;

	for (size_t i = 0; i < c->wids.n; i++)
		n += c->wids.v[i].labels->n;
	for (c->lidx_cap = 64; c->lidx_cap < n * 2; c->lidx_cap *= 2)
		;
	c->lidx = zs_xcalloc(c->lidx_cap, sizeof(*c->lidx));
	for (size_t i = 0; i < c->wids.n; i++) {
		const struct wid *w = &c->wids.v[i];
		*ZS_VEC_PUSH(&lidx_slot(c, "n:", w->ns, "", true)->wids) = (uint32_t)i;
		for (size_t j = 0; j < w->labels->n; j++)
			*ZS_VEC_PUSH(&lidx_slot(c, "l:", w->labels->v[j].key, w->labels->v[j].value,
						true)->wids) = (uint32_t)i;
	}
}

static void lidx_free(struct cctx *c)
{
	for (size_t i = 0; i < c->lidx_cap; i++) {
		free(c->lidx[i].key);
		free(c->lidx[i].wids.v);
	}
	free(c->lidx);
}

/*
 * Calls back the wids (indices, ascending) that may match: every wid with a
 * label an In requirement of `sel` asks for, or of namespace `ns`, or all.
 * The caller still matches each candidate in full.
 */
static void candidates(struct cctx *c, const struct zs_selector *sel, const char *ns, ids_t *out)
{
	const struct zs_requirement *in = NULL;

	for (size_t i = 0; sel && i < sel->n && !in; i++)
		if (sel->req[i].op == ZS_SEL_IN)
			in = &sel->req[i];
	out->n = 0;
	if (in) {
		for (size_t v = 0; v < in->nvalues; v++) {
			struct lidx_slot *s = lidx_slot(c, "l:", in->key, in->values[v], false);
			for (size_t j = 0; s && j < s->wids.n; j++)
				*ZS_VEC_PUSH(out) = s->wids.v[j];
		}
		if (in->nvalues > 1)
			zs_qsort(out->v, out->n, sizeof(*out->v), zs_cmp_u32);
		return;
	}
	if (ns) {
		struct lidx_slot *s = lidx_slot(c, "n:", ns, "", false);
		for (size_t j = 0; s && j < s->wids.n; j++)
			*ZS_VEC_PUSH(out) = s->wids.v[j];
		return;
	}
	for (size_t i = 0; i < c->wids.n; i++)
		*ZS_VEC_PUSH(out) = (uint32_t)i;
}

/* ---- rule ids: a hash of the rule's name, probed on collision ---------- */

uint32_t zs_rule_hash(const struct zs_policy *p, uint8_t dir, uint32_t idx)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s/%s/%d/%u/%u", p->ns, p->name, p->from_k8s, dir, idx);
	char *key = n < (int)sizeof(buf) ? buf :
			zs_xasprintf("%s/%s/%d/%u/%u", p->ns, p->name, p->from_k8s, dir, idx);
	uint32_t id = zs_fnv1a(key, strlen(key), ZS_FNV_INIT) & 0x7fffffffu;

	if (key != buf)
		free(key);
	return id;
}

/* The first id from `id` (a rule's hash) on that no rule before took. */
static uint32_t rule_id_alloc(struct cctx *c, uint32_t id)
{
	for (;; id = (id + 1) & 0x7fffffffu) {
		size_t slot = (id * 2654435761u) & (c->taken_cap - 1);
		bool taken = id == 0;
		while (!taken && c->taken[slot]) {
			taken = c->taken[slot] == id;
			slot = (slot + 1) & (c->taken_cap - 1);
		}
		if (!taken) {
			c->taken[slot] = id;
			return id;
		}
	}
}

/* ---- peers and ports -> atoms ----------------------------------------- */

static void peer_identities(struct cctx *c, const struct zs_policy *p, const struct zs_peer *peer,
			    ids_t *out)
{
	switch (peer->entity) {
	case ZS_ENTITY_HOST:
		*ZS_VEC_PUSH(out) = ZS_ID_HOST;
		return;
	case ZS_ENTITY_WORLD:
		*ZS_VEC_PUSH(out) = ZS_ID_WORLD;
		return;
	case ZS_ENTITY_ALL:
		*ZS_VEC_PUSH(out) = ZS_ID_ANY;
		return;
	case ZS_ENTITY_NONE:
		break;
	}
	if (peer->has_cidr) {
		zs_compile_cidr_peer(c, peer, out);
		return;
	}
	if (peer->set) {
		zs_compile_set_peer(c, peer, out);
		return;
	}
	/* Without a namespaceSelector a selector means the policy's own namespace. */
	ids_t cand = { 0 };
	candidates(c, peer->has_selector ? &peer->selector : NULL,
		   peer->has_ns_selector ? NULL : p->ns, &cand);
	for (size_t i = 0; i < cand.n; i++) {
		struct wid *w = &c->wids.v[cand.v[i]];
		if (peer->has_ns_selector ? !zs_selector_matches(&peer->ns_selector, &w->ns_labels) :
					    strcmp(w->ns, p->ns))
			continue;
		if (peer->has_selector && !zs_selector_matches(&peer->selector, w->labels))
			continue;
		*ZS_VEC_PUSH(out) = w->id;
	}
	free(cand.v);
}

/* Named port `name` on the workloads of identity `id`: one atom per declaration. */
static void named_port_atoms(struct cctx *c, atoms_t *a, uint32_t peer, uint32_t dest_id,
			     const char *name, uint8_t prec, uint8_t verdict, uint32_t rule_id)
{
	struct wid *w = wid_find(c, dest_id);

	for (size_t i = 0; w && i < w->workloads.n; i++) {
		const struct zs_workload *wl = w->workloads.v[i];
		for (size_t j = 0; j < wl->nports; j++)
			if (!strcmp(wl->ports[j].name, name)) {
				uint32_t v = (uint32_t)wl->ports[j].proto << 16 | wl->ports[j].port;
				zs_push_atom(a, peer, v, v, prec, verdict, rule_id);
			}
	}
}

static void port_atoms(struct cctx *c, atoms_t *a, uint8_t dir, uint32_t subject, uint32_t peer,
		       const struct zs_rule *r, uint8_t prec, uint8_t verdict, uint32_t rule_id)
{
	if (r->all_ports) {
		zs_push_atom(a, peer, 0, SPACE_MAX, prec, verdict, rule_id);
		return;
	}
	for (size_t i = 0; i < r->nports; i++) {
		const struct zs_port *pt = &r->ports[i];
		uint32_t base = (uint32_t)pt->proto << 16;

		if (pt->name) {
			/* Resolved on the destination, as Kubernetes does. */
			if (dir == ZS_DIR_INGRESS) {
				named_port_atoms(c, a, peer, subject, pt->name, prec, verdict, rule_id);
			} else if (peer != ZS_ID_ANY) {
				/* Host, world and CIDR peers declare no ports: rejected in rule_atoms. */
				named_port_atoms(c, a, peer, peer, pt->name, prec, verdict, rule_id);
			} else {
				for (size_t w = 0; w < c->wids.n; w++)
					named_port_atoms(c, a, c->wids.v[w].id, c->wids.v[w].id, pt->name,
							 prec, verdict, rule_id);
			}
		} else if (pt->proto == 0) {
			zs_push_atom(a, peer, 0, SPACE_MAX, prec, verdict, rule_id);
		} else if (pt->any_port) {
			zs_push_atom(a, peer, base, base | 0xffff, prec, verdict, rule_id);
		} else if (pt->proto == 1 || pt->proto == 58) {
			uint32_t t = base | (uint32_t)pt->port << 8;
			if (pt->icmp_code < 0)
				zs_push_atom(a, peer, t, t | 0xff, prec, verdict, rule_id);
			else
				zs_push_atom(a, peer, t | (uint32_t)pt->icmp_code, t | (uint32_t)pt->icmp_code,
					  prec, verdict, rule_id);
		} else {
			zs_push_atom(a, peer, base | pt->port, base | pt->end, prec, verdict, rule_id);
		}
	}
}

/* What the compiler cannot make exact is an error, never a silent gap. */
void zs_cctx_check_rule(struct cctx *c, const struct zs_rule *r, uint8_t dir)
{
	if (dir == ZS_DIR_EGRESS && !r->all_ports) {
		bool named = false;
		for (size_t i = 0; i < r->nports; i++)
			named |= r->ports[i].name != NULL;
		for (size_t i = 0; named && i < r->npeers; i++) {
			const struct zs_peer *x = &r->peers[i];
			if (x->has_cidr || x->entity == ZS_ENTITY_HOST || x->entity == ZS_ENTITY_WORLD) {
				zs_diag(c->d, &x->mark,
					"named port in an egress rule with a %s peer: a named port resolves on the destination workload; give the number",
					x->has_cidr ? "cidr" : "host or world");
				c->errors++;
				return;
			}
		}
	}
}

static void rule_atoms(struct cctx *c, atoms_t *a, const struct zs_policy *p, const struct zs_rule *r,
		       uint8_t dir, uint32_t subject, uint32_t rule_id)
{
	uint8_t prec, verdict;
	ids_t peers = { 0 };

	if (r->action == ZS_ACTION_DENY) {
		prec = p->mode == ZS_MODE_AUDIT ? ZS_PREC_AUDIT : ZS_PREC_DENY;
		verdict = p->mode == ZS_MODE_AUDIT ? ZS_VERDICT_AUDIT : ZS_VERDICT_DENY;
	} else {
		prec = ZS_PREC_ALLOW;
		verdict = ZS_VERDICT_ALLOW;
	}
	if (r->all_peers)
		*ZS_VEC_PUSH(&peers) = ZS_ID_ANY;
	for (size_t i = 0; i < r->npeers; i++)
		peer_identities(c, p, &r->peers[i], &peers);
	for (size_t i = 0; i < peers.n; i++)
		port_atoms(c, a, dir, subject, peers.v[i], r, prec, verdict, rule_id);
	free(peers.v);
}

/* ---- workload identities ----------------------------------------------- */

uint64_t zs_labels_key(const char *ns, const zs_labels_t *l)
{
	uint64_t h = zs_h64(ns, strlen(ns) + 1, 0);

	for (size_t i = 0; i < l->n; i++) {
		h = zs_h64(l->v[i].key, strlen(l->v[i].key) + 1, h);
		h = zs_h64(l->v[i].value, strlen(l->v[i].value) + 1, h);
	}
	return h | 1; /* 0: an empty slot */
}

static struct zs_lsidx_slot *lsidx_put(struct zs_lsidx *x, uint64_t key, uint32_t id)
{
	if (2 * (x->n + 1) > x->cap) {
		struct zs_lsidx old = *x;
		x->cap = x->cap ? x->cap * 2 : 64;
		x->v = zs_xcalloc(x->cap, sizeof(*x->v));
		x->n = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.v[i].key)
				lsidx_put(x, old.v[i].key, old.v[i].id);
		free(old.v);
	}
	size_t i = key & (x->cap - 1);
	while (x->v[i].key)
		i = (i + 1) & (x->cap - 1);
	x->v[i].key = key;
	x->v[i].id = id;
	x->n++;
	return &x->v[i];
}

void zs_lsidx_build(struct zs_lsidx *x, const struct zs_identities *ids)
{
	for (size_t i = 0; i < ids->v.n; i++)
		if (ids->v.v[i].id < ZS_ID_FIRST_CIDR)
			lsidx_put(x, zs_labels_key(ids->v.v[i].ns, &ids->v.v[i].labels),
				  ids->v.v[i].id);
}

void zs_lsidx_free(struct zs_lsidx *x)
{
	free(x->v);
	memset(x, 0, sizeof(*x));
}

static int cmp_identity_id(const void *a, const void *b)
{
	uint32_t x = ((const struct zs_identity *)a)->id, y = ((const struct zs_identity *)b)->id;
	return x < y ? -1 : x > y;
}

/*
 * zs_identity_get through the index: the same number (found, or the lowest
 * free one allocated), without zs_identity_get's walk over every identity
 * for each workload (10k workloads over 1k identities: ~90 ms). Entries of
 * released identities may linger: each hit is checked against `ids`.
 */
uint32_t zs_lsidx_get(struct zs_lsidx *x, struct zs_identities *ids, const char *ns,
		      const zs_labels_t *l)
{
	uint64_t key = zs_labels_key(ns, l);

	for (size_t i = x->cap ? key & (x->cap - 1) : 0; x->cap && x->v[i].key;
	     i = (i + 1) & (x->cap - 1)) {
		if (x->v[i].key != key)
			continue;
		struct zs_identity k = { .id = x->v[i].id }, *id;
		id = zs_bsearch(&k, ids->v.v, ids->v.n, sizeof(k), cmp_identity_id);
		if (id && !strcmp(id->ns, ns) && zs_labels_equal(&id->labels, l)) {
			id->used = true;
			return id->id;
		}
	}
	uint32_t id = zs_identity_get(ids, ns, l);
	lsidx_put(x, key, id);
	return id;
}

/*
 * A workload's identity: its namespace and labels, and its named ports (as
 * labels zeroseg.io/port.NAME = PROTO/NUMBER), so every workload of one
 * identity resolves a named port to the same number, as policy keyed by
 * identity needs.
 */
void zs_workload_labels(const struct zs_workload *w, zs_labels_t *l)
{
	for (size_t i = 0; i < w->labels.n; i++)
		zs_labels_set(l, w->labels.v[i].key, w->labels.v[i].value);
	for (size_t i = 0; i < w->nports; i++) {
		char key[64], val[32];
		snprintf(key, sizeof(key), "zeroseg.io/port.%s", w->ports[i].name);
		snprintf(val, sizeof(val), "%u/%u", w->ports[i].proto, w->ports[i].port);
		zs_labels_set(l, key, val);
	}
}

uint32_t zs_workload_identity(struct zs_lsidx *x, struct zs_identities *ids,
			      const struct zs_workload *w)
{
	zs_labels_t l = { 0 };
	uint32_t id;

	if (!w->nports)
		return zs_lsidx_get(x, ids, w->ns, &w->labels);
	zs_workload_labels(w, &l);
	id = zs_lsidx_get(x, ids, w->ns, &l);
	zs_labels_free(&l);
	return id;
}

/* Each workload's identity (allocated, unused ones released) and the policy CIDRs'. */
static void build_ids(struct cctx *c)
{
	const struct zs_objects *o = c->o;
	struct zs_lsidx x = { 0 };

	c->wl_id = zs_xcalloc(o->workloads.n + 1, sizeof(*c->wl_id));
	zs_identities_mark_unused(c->ids);
	zs_lsidx_build(&x, c->ids);
	for (size_t i = 0; i < o->workloads.n; i++)
		c->wl_id[i] = zs_workload_identity(&x, c->ids, &o->workloads.v[i]);
	zs_lsidx_free(&x);
	zs_compile_cidrs(c);
	zs_identities_release_unused(c->ids);
}

void zs_cctx_group(struct cctx *c)
{
	const struct zs_objects *o = c->o;

	/* One wid per identity: sort workload indices by identity, group. */
	uint64_t *order = zs_xcalloc(o->workloads.n + 1, sizeof(*order));
	for (size_t i = 0; i < o->workloads.n; i++)
		order[i] = (uint64_t)c->wl_id[i] << 32 | i;
	zs_qsort(order, o->workloads.n, sizeof(*order), cmp_u64);
	for (size_t i = 0; i < o->workloads.n; i++) {
		const struct zs_workload *w = &o->workloads.v[(uint32_t)order[i]];
		uint32_t id = (uint32_t)(order[i] >> 32);
		struct wid *x = c->wids.n ? &c->wids.v[c->wids.n - 1] : NULL;
		if (!x || x->id != id) {
			x = ZS_VEC_PUSH(&c->wids);
			x->id = id;
			x->ns = w->ns;
			x->labels = &w->labels;
			zs_namespace_labels(o, w->ns, &x->ns_labels);
		}
		x->local |= w->ifname != NULL;
		*ZS_VEC_PUSH(&x->workloads) = w;
	}
	free(order);
	lidx_build(c);
}

/* ---- the whole compile ------------------------------------------------ */

static int cmp_pol(const void *a, const void *b)
{
	const struct zs_policy *x = *(const struct zs_policy *const *)a;
	const struct zs_policy *y = *(const struct zs_policy *const *)b;
	int r = strcmp(x->ns, y->ns);
	if (!r)
		r = strcmp(x->name, y->name);
	return r ? r : (int)x->from_k8s - (int)y->from_k8s;
}

static int cmp_ep(const void *a, const void *b)
{
	const struct zs_c_endpoint *x = a, *y = b;
	return strcmp(x->ifname, y->ifname);
}

void zs_cctx_sort_policies(struct cctx *c)
{
	const struct zs_objects *o = c->o;

	c->pols = zs_xcalloc(o->policies.n + 1, sizeof(*c->pols));
	for (size_t i = 0; i < o->policies.n; i++)
		c->pols[i] = &o->policies.v[i];
	zs_qsort(c->pols, o->policies.n, sizeof(*c->pols), cmp_pol);
}

void zs_cctx_assign(struct cctx *c)
{
	ids_t cand = { 0 };

	for (size_t i = 0; i < c->o->policies.n; i++) {
		const struct zs_policy *p = c->pols[i];
		candidates(c, &p->selector, p->ns, &cand);
		for (size_t j = 0; j < cand.n; j++) {
			struct wid *w = &c->wids.v[cand.v[j]];
			if (w->local && !strcmp(p->ns, w->ns) &&
			    zs_selector_matches(&p->selector, w->labels))
				*ZS_VEC_PUSH(&w->policies) = (uint32_t)i;
		}
	}
	free(cand.v);
}

void zs_cctx_subject(struct cctx *c, struct wid *w, struct zs_subject *s)
{
	size_t cap = 0;

	memset(s, 0, sizeof(*s));
	s->identity = w->id;
	for (uint8_t dir = ZS_DIR_INGRESS; dir <= ZS_DIR_EGRESS; dir++) {
		atoms_t a = { 0 };
		bool isolated = false, audit = false, enforced = false;

		for (size_t k = 0; k < w->policies.n; k++) {
			size_t i = w->policies.v[k];
			const struct zs_policy *p = c->pols[i];
			size_t nr = dir == ZS_DIR_INGRESS ? p->ningress : p->negress;
			const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;
			size_t rule_ix = c->base[i] + (dir == ZS_DIR_INGRESS ? 0 : p->ningress);

			if (dir == ZS_DIR_INGRESS ? p->has_ingress : p->has_egress) {
				isolated = true;
				audit |= p->mode == ZS_MODE_AUDIT;
				enforced |= p->mode == ZS_MODE_ENFORCE;
			}
			for (size_t r = 0; r < nr; r++)
				rule_atoms(c, &a, p, &rules[r], dir, w->id, c->rule_ids[rule_ix + r]);
		}
		if (!isolated && c->o->posture == ZS_POSTURE_KUBERNETES)
			zs_push_atom(&a, ZS_ID_ANY, 0, SPACE_MAX, ZS_PREC_DEFAULT, ZS_VERDICT_ALLOW, 0);
		else if (audit && !enforced) /* a trial policy never opens what another enforces */
			zs_push_atom(&a, ZS_ID_ANY, 0, SPACE_MAX, ZS_PREC_DEFAULT, ZS_VERDICT_AUDIT, 0);
		zs_resolve_dir(s, &cap, dir, &a);
		free(a.v);
	}
	zs_qsort(s->e, s->n, sizeof(*s->e), zs_cmp_pentry);
	if (s->n) { /* a shared block, so a cache and the states it makes hold it once */
		struct zs_pentry *e = zs_rc_alloc(s->n * sizeof(*e));
		memcpy(e, s->e, s->n * sizeof(*e));
		free(s->e);
		s->e = e;
	}
}

/* One compiled rule (its policy's shared name string referenced). */
void zs_c_rule_make(struct zs_c_rule *cr, uint32_t id, char *name, const struct zs_policy *p,
		    uint8_t dir, uint32_t r)
{
	const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;

	cr->id = id;
	cr->policy = zs_rc_ref(name);
	cr->dir = dir;
	cr->index = r;
	cr->action = (uint8_t)rules[r].action;
	cr->audit = p->mode == ZS_MODE_AUDIT;
	cr->mark = rules[r].mark;
}

char *zs_policy_name(const struct zs_policy *p)
{
	size_t a = strlen(p->ns), b = strlen(p->name);
	char *s = zs_rc_alloc(a + b + 2);

	memcpy(s, p->ns, a);
	s[a] = '/';
	memcpy(s + a + 1, p->name, b + 1);
	return s;
}

/*
 * The compiled rules, policies in name order and rules numbered in that
 * order: deterministic ids. Fills c->base with the index of each one's
 * first rule in c->rule_ids.
 */
static void number_rules(struct cctx *c)
{
	const struct zs_objects *o = c->o;
	size_t nrules = 0;

	for (size_t i = 0; i < o->policies.n; i++)
		nrules += o->policies.v[i].ningress + o->policies.v[i].negress;
	for (c->taken_cap = 64; c->taken_cap < nrules * 2; c->taken_cap *= 2)
		;
	c->taken = zs_xcalloc(c->taken_cap, sizeof(*c->taken));
	c->base = zs_xcalloc(o->policies.n + 1, sizeof(*c->base));
	c->rule_ids = zs_xcalloc(nrules + 1, sizeof(*c->rule_ids));
	for (size_t i = 0, n = 0; i < o->policies.n; i++) {
		const struct zs_policy *p = c->pols[i];
		char *name = zs_policy_name(p);
		c->base[i] = (uint32_t)n;
		for (uint8_t dir = ZS_DIR_INGRESS; dir <= ZS_DIR_EGRESS; dir++) {
			size_t nr = dir == ZS_DIR_INGRESS ? p->ningress : p->negress;
			const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;
			for (size_t r = 0; r < nr; r++) {
				uint32_t h = zs_rule_hash(p, dir, (uint32_t)r), id = rule_id_alloc(c, h);
				if (id != h)
					*ZS_VEC_PUSH(&c->probes) = (struct zs_probe){ (uint32_t)i, h, id };
				c->rule_ids[n++] = id;
				zs_c_rule_make(ZS_VEC_PUSH(&c->out->rules), id, name, p, dir, (uint32_t)r);
				zs_cctx_check_rule(c, &rules[r], dir);
			}
		}
		zs_rc_unref(name);
	}
}

/* An endpoint for a workload with an interface on this host. */
void zs_c_endpoint_make(struct zs_c_endpoint *ep, const struct zs_workload *w, uint32_t identity)
{
	size_t a = strlen(w->ns), b = strlen(w->name);

	ep->ifname = zs_rc_strdup(w->ifname);
	ep->workload = zs_rc_alloc(a + b + 2);
	memcpy(ep->workload, w->ns, a);
	ep->workload[a] = '/';
	memcpy(ep->workload + a + 1, w->name, b + 1);
	ep->identity = identity;
	ep->shield = w->shield;
}

int zs_cmp_c_endpoint(const void *a, const void *b)
{
	return cmp_ep(a, b);
}

void zs_cctx_free(struct cctx *c)
{
	for (size_t i = 0; i < c->wids.n; i++) {
		zs_labels_free(&c->wids.v[i].ns_labels);
		free(c->wids.v[i].workloads.v);
		free(c->wids.v[i].policies.v);
	}
	free(c->wids.v);
	zs_compile_cidrs_free(c); /* the classes, when no ipcache step took them */
	free(c->cidrs.v);
	free(c->wl_id);
	if (c->lidx)
		lidx_free(c);
	free(c->taken);
	free(c->pols);
	free(c->base);
	free(c->rule_ids);
	free(c->probes.v);
	memset(c, 0, sizeof(*c));
}

int zs_cctx_compile(struct cctx *c)
{
	const struct zs_objects *o = c->o;
	struct zs_compiled *out = c->out;

	memset(out, 0, sizeof(*out));
	build_ids(c);
	zs_cctx_group(c);
	zs_cctx_sort_policies(c);
	number_rules(c);
	zs_cctx_assign(c);
	for (size_t i = 0; i < c->wids.n; i++)
		if (c->wids.v[i].local) {
			struct zs_subject *s = ZS_VEC_PUSH(&out->subjects);
			zs_cctx_subject(c, &c->wids.v[i], s);
			out->total_entries += s->n;
		}
	for (size_t i = 0; i < o->workloads.n; i++)
		if (o->workloads.v[i].ifname)
			zs_c_endpoint_make(ZS_VEC_PUSH(&out->endpoints), &o->workloads.v[i],
					   c->wl_id[i]);
	zs_compile_ipcache(c);
	zs_compiled_share_ipcache(out);
	zs_qsort(out->endpoints.v, out->endpoints.n, sizeof(out->endpoints.v[0]), cmp_ep);
	zs_qsort(out->rules.v, out->rules.n, sizeof(out->rules.v[0]), cmp_rule);
	return c->errors ? -EINVAL : 0;
}

int zs_compile(const struct zs_objects *o, struct zs_identities *ids, struct zs_compiled *out,
	       struct zs_diags *d)
{
	struct cctx c = { .o = o, .ids = ids, .out = out, .d = d };
	int err = zs_cctx_compile(&c);

	zs_cctx_free(&c);
	if (err)
		zs_compiled_free(out);
	return err;
}
