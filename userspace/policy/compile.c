// SPDX-License-Identifier: MIT
/*
 * Policy compiler; see compile.h for the contract.
 *
 * For each subject identity and direction the rules become "atoms":
 * (peer, [lo, hi] over proto << 16 | port, precedence, verdict, rule). Atoms
 * for a specific peer are merged with the any-peer atoms (so the datapath's
 * first lookup, when it hits, is final), cut into elementary intervals where
 * the highest precedence wins (deny > audit > allow > posture default), and
 * each interval is emitted as aligned prefixes.
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
 * What the result means for a packet (lookups, verdicts) is in query.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"
#include "policy/compile_int.h"

struct atom {
	uint32_t peer;
	uint32_t lo, hi;
	uint32_t rule_id;
	uint8_t prec;
	uint8_t verdict;
};
typedef ZS_VEC(struct atom) atoms_t;

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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
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
			zs_qsort(out->v, out->n, sizeof(*out->v), cmp_u32);
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

static uint32_t rule_id_alloc(struct cctx *c, const struct zs_policy *p, uint8_t dir, uint32_t idx)
{
	char *key = zs_xasprintf("%s/%s/%d/%u/%u", p->ns, p->name, p->from_k8s, dir, idx);
	uint32_t id = zs_fnv1a(key, strlen(key), ZS_FNV_INIT) & 0x7fffffffu;

	free(key);
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

static void push_atom(atoms_t *a, uint32_t peer, uint32_t lo, uint32_t hi, uint8_t prec,
		      uint8_t verdict, uint32_t rule_id)
{
	if (lo > hi)
		return;
	struct atom *x = ZS_VEC_PUSH(a);
	x->peer = peer;
	x->lo = lo;
	x->hi = hi;
	x->prec = prec;
	x->verdict = verdict;
	x->rule_id = rule_id;
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
				push_atom(a, peer, v, v, prec, verdict, rule_id);
			}
	}
}

static void port_atoms(struct cctx *c, atoms_t *a, uint8_t dir, uint32_t subject, uint32_t peer,
		       const struct zs_rule *r, uint8_t prec, uint8_t verdict, uint32_t rule_id)
{
	if (r->all_ports) {
		push_atom(a, peer, 0, SPACE_MAX, prec, verdict, rule_id);
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
			push_atom(a, peer, 0, SPACE_MAX, prec, verdict, rule_id);
		} else if (pt->any_port) {
			push_atom(a, peer, base, base | 0xffff, prec, verdict, rule_id);
		} else if (pt->proto == 1 || pt->proto == 58) {
			uint32_t t = base | (uint32_t)pt->port << 8;
			if (pt->icmp_code < 0)
				push_atom(a, peer, t, t | 0xff, prec, verdict, rule_id);
			else
				push_atom(a, peer, t | (uint32_t)pt->icmp_code, t | (uint32_t)pt->icmp_code,
					  prec, verdict, rule_id);
		} else {
			push_atom(a, peer, base | pt->port, base | pt->end, prec, verdict, rule_id);
		}
	}
}

/* What the compiler cannot make exact is an error, never a silent gap. */
static void check_rule(struct cctx *c, const struct zs_rule *r, uint8_t dir)
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

/* ---- atoms -> entries ------------------------------------------------- */

static void emit_prefixes(struct zs_subject *s, size_t *cap, uint8_t dir, uint32_t peer, uint32_t lo,
			  uint32_t hi, uint8_t prec, uint8_t verdict, uint32_t rule_id)
{
	uint64_t cur = lo;

	while (cur <= hi) {
		unsigned bits = 24;
		/* Widen while aligned and still inside [cur, hi]. */
		while (bits > 0) {
			uint64_t size = 1ull << (24 - bits + 1);
			if (cur % size || cur + size - 1 > hi)
				break;
			bits--;
		}
		if (s->n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			s->e = zs_xrealloc(s->e, *cap, sizeof(*s->e));
		}
		struct zs_pentry *e = &s->e[s->n++];
		memset(e, 0, sizeof(*e));
		e->peer = peer;
		e->value = (uint32_t)cur;
		e->bits = (uint8_t)bits;
		e->dir = dir;
		e->verdict = verdict;
		e->prec = prec;
		e->rule_id = rule_id;
		cur += 1ull << (24 - bits);
	}
}

/*
 * Resolves the atoms of one (subject, dir, peer group) into entries for `peer`.
 * `sets` are the atom lists that apply (the peer's own and the any-peer ones).
 */
static void resolve(struct zs_subject *s, size_t *cap, uint8_t dir, uint32_t peer,
		    const struct atom *const *atoms, size_t n)
{
	uint32_t *pts = zs_xcalloc(n * 2, sizeof(*pts));
	size_t np = 0;

	for (size_t i = 0; i < n; i++) {
		pts[np++] = atoms[i]->lo;
		if (atoms[i]->hi < SPACE_MAX)
			pts[np++] = atoms[i]->hi + 1;
	}
	zs_qsort(pts, np, sizeof(*pts), cmp_u32);

	uint32_t run_lo = 0, run_rule = 0;
	uint8_t run_verdict = 0, run_prec = 0;
	bool in_run = false;
	for (size_t i = 0; i < np; i++) {
		if (i && pts[i] == pts[i - 1])
			continue;
		uint32_t seg_lo = pts[i];
		const struct atom *best = NULL;
		for (size_t j = 0; j < n; j++) {
			const struct atom *a = atoms[j];
			if (a->lo > seg_lo || a->hi < seg_lo)
				continue;
			if (!best || a->prec > best->prec ||
			    (a->prec == best->prec && a->rule_id < best->rule_id))
				best = a;
		}
		/* Close the running interval when the winner changes. */
		if (in_run && (!best || best->verdict != run_verdict || best->rule_id != run_rule ||
			       best->prec != run_prec)) {
			emit_prefixes(s, cap, dir, peer, run_lo, seg_lo - 1, run_prec, run_verdict,
				      run_rule);
			in_run = false;
		}
		if (best && !in_run) {
			in_run = true;
			run_lo = seg_lo;
			run_verdict = best->verdict;
			run_prec = best->prec;
			run_rule = best->rule_id;
		}
	}
	if (in_run)
		emit_prefixes(s, cap, dir, peer, run_lo, SPACE_MAX, run_prec, run_verdict, run_rule);
	free(pts);
}

static int cmp_atom_peer(const void *a, const void *b)
{
	const struct atom *x = a, *y = b;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->rule_id < y->rule_id ? -1 : x->rule_id > y->rule_id;
}

static void resolve_dir(struct zs_subject *s, size_t *cap, uint8_t dir, atoms_t *a)
{
	const struct atom **set;
	size_t nany = 0;

	if (!a->n)
		return;
	zs_qsort(a->v, a->n, sizeof(*a->v), cmp_atom_peer);
	while (nany < a->n && a->v[nany].peer == ZS_ID_ANY)
		nany++;
	set = zs_xcalloc(a->n, sizeof(*set));
	for (size_t i = 0; i < nany; i++)
		set[i] = &a->v[i];
	if (nany)
		resolve(s, cap, dir, ZS_ID_ANY, set, nany);
	for (size_t i = nany; i < a->n;) {
		size_t j = i, n = nany;
		while (j < a->n && a->v[j].peer == a->v[i].peer)
			set[n++] = &a->v[j++];
		resolve(s, cap, dir, a->v[i].peer, set, n);
		i = j;
	}
	free(set);
}

/* ---- workload identities ----------------------------------------------- */

/*
 * A workload's identity: its namespace and labels, and its named ports (as
 * labels zeroseg.io/port.NAME = PROTO/NUMBER), so every workload of one
 * identity resolves a named port to the same number, as policy keyed by
 * identity needs.
 */
static uint32_t workload_identity(struct cctx *c, const struct zs_workload *w)
{
	zs_labels_t l = { 0 };
	uint32_t id;

	if (!w->nports)
		return zs_identity_get(c->ids, w->ns, &w->labels);
	for (size_t i = 0; i < w->labels.n; i++)
		zs_labels_set(&l, w->labels.v[i].key, w->labels.v[i].value);
	for (size_t i = 0; i < w->nports; i++) {
		char key[64], val[32];
		snprintf(key, sizeof(key), "zeroseg.io/port.%s", w->ports[i].name);
		snprintf(val, sizeof(val), "%u/%u", w->ports[i].proto, w->ports[i].port);
		zs_labels_set(&l, key, val);
	}
	id = zs_identity_get(c->ids, w->ns, &l);
	zs_labels_free(&l);
	return id;
}

static void build_wids(struct cctx *c)
{
	const struct zs_objects *o = c->o;
	uint32_t *of = zs_xcalloc(o->workloads.n + 1, sizeof(*of));

	zs_identities_mark_unused(c->ids);
	for (size_t i = 0; i < o->workloads.n; i++)
		of[i] = workload_identity(c, &o->workloads.v[i]);
	zs_compile_cidrs(c);
	zs_identities_release_unused(c->ids);

	/* One wid per identity: sort workload indices by identity, group. */
	uint64_t *order = zs_xcalloc(o->workloads.n + 1, sizeof(*order));
	for (size_t i = 0; i < o->workloads.n; i++)
		order[i] = (uint64_t)of[i] << 32 | i;
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
	c->wl_id = of;
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

static int cmp_pentry(const void *a, const void *b)
{
	const struct zs_pentry *x = a, *y = b;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return (int)x->bits - (int)y->bits;
}

/* Tells each local identity which policies (sorted order) select it. */
static void assign_policies(struct cctx *c, const struct zs_policy *const *pols)
{
	ids_t cand = { 0 };

	for (size_t i = 0; i < c->o->policies.n; i++) {
		const struct zs_policy *p = pols[i];
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

static void compile_subject(struct cctx *c, struct wid *w, const struct zs_policy *const *pols,
			    const uint32_t *pol_rule_base)
{
	struct zs_subject *s = ZS_VEC_PUSH(&c->out->subjects);
	size_t cap = 0;

	s->identity = w->id;
	for (uint8_t dir = ZS_DIR_INGRESS; dir <= ZS_DIR_EGRESS; dir++) {
		atoms_t a = { 0 };
		bool isolated = false, audit = false, enforced = false;

		for (size_t k = 0; k < w->policies.n; k++) {
			size_t i = w->policies.v[k];
			const struct zs_policy *p = pols[i];
			size_t nr = dir == ZS_DIR_INGRESS ? p->ningress : p->negress;
			const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;
			size_t rule_ix = pol_rule_base[i] + (dir == ZS_DIR_INGRESS ? 0 : p->ningress);

			if (dir == ZS_DIR_INGRESS ? p->has_ingress : p->has_egress) {
				isolated = true;
				audit |= p->mode == ZS_MODE_AUDIT;
				enforced |= p->mode == ZS_MODE_ENFORCE;
			}
			for (size_t r = 0; r < nr; r++)
				rule_atoms(c, &a, p, &rules[r], dir, w->id, c->out->rules.v[rule_ix + r].id);
		}
		if (!isolated && c->o->posture == ZS_POSTURE_KUBERNETES)
			push_atom(&a, ZS_ID_ANY, 0, SPACE_MAX, ZS_PREC_DEFAULT, ZS_VERDICT_ALLOW, 0);
		else if (audit && !enforced) /* a trial policy never opens what another enforces */
			push_atom(&a, ZS_ID_ANY, 0, SPACE_MAX, ZS_PREC_DEFAULT, ZS_VERDICT_AUDIT, 0);
		resolve_dir(s, &cap, dir, &a);
		free(a.v);
	}
	zs_qsort(s->e, s->n, sizeof(*s->e), cmp_pentry);
	c->out->total_entries += s->n;
}

/*
 * The compiled rules, policies in name order and rules numbered in that
 * order: deterministic ids. Fills `pols` with the sorted policies and `base`
 * with the index of each one's first rule.
 */
static void number_rules(struct cctx *c, const struct zs_policy **pols, uint32_t *base)
{
	const struct zs_objects *o = c->o;
	size_t nrules = 0;

	for (size_t i = 0; i < o->policies.n; i++)
		nrules += o->policies.v[i].ningress + o->policies.v[i].negress;
	for (c->taken_cap = 64; c->taken_cap < nrules * 2; c->taken_cap *= 2)
		;
	c->taken = zs_xcalloc(c->taken_cap, sizeof(*c->taken));
	for (size_t i = 0; i < o->policies.n; i++)
		pols[i] = &o->policies.v[i];
	zs_qsort(pols, o->policies.n, sizeof(*pols), cmp_pol);
	for (size_t i = 0; i < o->policies.n; i++) {
		const struct zs_policy *p = pols[i];
		base[i] = (uint32_t)c->out->rules.n;
		for (uint8_t dir = ZS_DIR_INGRESS; dir <= ZS_DIR_EGRESS; dir++) {
			size_t nr = dir == ZS_DIR_INGRESS ? p->ningress : p->negress;
			const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;
			for (size_t r = 0; r < nr; r++) {
				struct zs_c_rule *cr = ZS_VEC_PUSH(&c->out->rules);
				cr->id = rule_id_alloc(c, p, dir, (uint32_t)r);
				cr->policy = zs_xasprintf("%s/%s", p->ns, p->name);
				cr->dir = dir;
				cr->index = (uint32_t)r;
				cr->action = (uint8_t)rules[r].action;
				cr->audit = p->mode == ZS_MODE_AUDIT;
				cr->mark = rules[r].mark;
				check_rule(c, &rules[r], dir);
			}
		}
	}
}

/* An endpoint for each workload with an interface on this host. */
static void build_endpoints(struct cctx *c)
{
	const struct zs_objects *o = c->o;

	for (size_t i = 0; i < o->workloads.n; i++) {
		const struct zs_workload *w = &o->workloads.v[i];
		if (!w->ifname)
			continue;
		struct zs_c_endpoint *ep = ZS_VEC_PUSH(&c->out->endpoints);
		ep->ifname = zs_xstrdup(w->ifname);
		ep->workload = zs_xasprintf("%s/%s", w->ns, w->name);
		ep->identity = c->wl_id[i];
		ep->shield = w->shield;
	}
}

static void cctx_free(struct cctx *c)
{
	for (size_t i = 0; i < c->wids.n; i++) {
		zs_labels_free(&c->wids.v[i].ns_labels);
		free(c->wids.v[i].workloads.v);
		free(c->wids.v[i].policies.v);
	}
	free(c->wids.v);
	free(c->cidrs.v);
	free(c->wl_id);
	lidx_free(c);
	free(c->taken);
}

int zs_compile(const struct zs_objects *o, struct zs_identities *ids, struct zs_compiled *out,
	       struct zs_diags *d)
{
	struct cctx c = { .o = o, .ids = ids, .out = out, .d = d };
	const struct zs_policy **pols;
	uint32_t *base;

	memset(out, 0, sizeof(*out));
	build_wids(&c);
	pols = zs_xcalloc(o->policies.n + 1, sizeof(*pols));
	base = zs_xcalloc(o->policies.n + 1, sizeof(*base));
	number_rules(&c, pols, base);
	assign_policies(&c, pols);
	for (size_t i = 0; i < c.wids.n; i++)
		if (c.wids.v[i].local)
			compile_subject(&c, &c.wids.v[i], pols, base);
	build_endpoints(&c);
	zs_compile_ipcache(&c);
	zs_qsort(out->endpoints.v, out->endpoints.n, sizeof(out->endpoints.v[0]), cmp_ep);
	zs_qsort(out->rules.v, out->rules.n, sizeof(out->rules.v[0]), cmp_rule);

	cctx_free(&c);
	free(pols);
	free(base);
	if (c.errors) {
		zs_compiled_free(out);
		return -EINVAL;
	}
	return 0;
}

void zs_compiled_free(struct zs_compiled *c)
{
	for (size_t i = 0; i < c->endpoints.n; i++) {
		free(c->endpoints.v[i].ifname);
		free(c->endpoints.v[i].workload);
	}
	for (size_t i = 0; i < c->ipcache.n; i++) {
		free(c->ipcache.v[i].ifname);
		free(c->ipcache.v[i].workload);
	}
	for (size_t i = 0; i < c->subjects.n; i++)
		free(c->subjects.v[i].e);
	for (size_t i = 0; i < c->rules.n; i++)
		free(c->rules.v[i].policy);
	free(c->endpoints.v);
	free(c->ipcache.v);
	free(c->subjects.v);
	free(c->rules.v);
	memset(c, 0, sizeof(*c));
}

