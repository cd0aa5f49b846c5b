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
 */
#include "compile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../bpf/abi.h"

#define SPACE_MAX 0xffffffu /* 24 bits: proto << 16 | port */

enum prec {
	PREC_DEFAULT = 1, /* posture default: allow (kubernetes) or audit */
	PREC_ALLOW = 2,
	PREC_AUDIT = 3, /* a deny rule of an audit-mode policy */
	PREC_DENY = 4,
};

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
};

struct cctx {
	const struct zs_objects *o;
	struct zs_identities *ids;
	struct zs_compiled *out;
	struct zs_diags *d;
	ZS_VEC(struct wid) wids; /* sorted by id */
	uint32_t *taken;         /* open-addressing set of rule ids in use */
	size_t taken_cap;
	int errors;
};

static struct wid *wid_find(struct cctx *c, uint32_t id)
{
	for (size_t i = 0; i < c->wids.n; i++)
		if (c->wids.v[i].id == id)
			return &c->wids.v[i];
	return NULL;
}

static int cmp_wid(const void *a, const void *b)
{
	const struct wid *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
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

typedef ZS_VEC(uint32_t) ids_t;

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
		zs_diag(c->d, &peer->mark, "cidr peers are not supported yet");
		c->errors++;
		return;
	}
	for (size_t i = 0; i < c->wids.n; i++) {
		struct wid *w = &c->wids.v[i];
		/* Without a namespaceSelector a selector means the policy's own namespace. */
		if (peer->has_ns_selector ? !zs_selector_matches(&peer->ns_selector, &w->ns_labels) :
					    strcmp(w->ns, p->ns))
			continue;
		if (peer->has_selector && !zs_selector_matches(&peer->selector, w->labels))
			continue;
		*ZS_VEC_PUSH(out) = w->id;
	}
}

static void push_atom(atoms_t *a, uint32_t peer, uint32_t lo, uint32_t hi, uint8_t prec,
		      uint8_t verdict, uint32_t rule_id)
{
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

static void rule_atoms(struct cctx *c, atoms_t *a, const struct zs_policy *p, const struct zs_rule *r,
		       uint8_t dir, uint32_t subject, uint32_t rule_id)
{
	uint8_t prec, verdict;
	ids_t peers = { 0 };

	if (r->action == ZS_ACTION_DENY) {
		prec = p->mode == ZS_MODE_AUDIT ? PREC_AUDIT : PREC_DENY;
		verdict = p->mode == ZS_MODE_AUDIT ? ZS_VERDICT_AUDIT : ZS_VERDICT_DENY;
	} else {
		prec = PREC_ALLOW;
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

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void emit_prefixes(struct zs_subject *s, size_t *cap, uint8_t dir, uint32_t peer, uint32_t lo,
			  uint32_t hi, uint8_t verdict, uint32_t rule_id)
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
	qsort(pts, np, sizeof(*pts), cmp_u32);

	uint32_t run_lo = 0, run_rule = 0;
	uint8_t run_verdict = 0;
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
		if (in_run && (!best || best->verdict != run_verdict || best->rule_id != run_rule)) {
			emit_prefixes(s, cap, dir, peer, run_lo, seg_lo - 1, run_verdict, run_rule);
			in_run = false;
		}
		if (best && !in_run) {
			in_run = true;
			run_lo = seg_lo;
			run_verdict = best->verdict;
			run_rule = best->rule_id;
		}
	}
	if (in_run)
		emit_prefixes(s, cap, dir, peer, run_lo, SPACE_MAX, run_verdict, run_rule);
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
	qsort(a->v, a->n, sizeof(*a->v), cmp_atom_peer);
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

static int cmp_rule(const void *a, const void *b)
{
	const struct zs_c_rule *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_ep(const void *a, const void *b)
{
	const struct zs_c_endpoint *x = a, *y = b;
	return strcmp(x->ifname, y->ifname);
}

static int cmp_ipc(const void *a, const void *b)
{
	const struct zs_c_ipcache *x = a, *y = b;
	return zs_prefix_cmp(&x->prefix, &y->prefix);
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

static void build_wids(struct cctx *c)
{
	const struct zs_objects *o = c->o;

	zs_identities_mark_unused(c->ids);
	for (size_t i = 0; i < o->workloads.n; i++) {
		const struct zs_workload *w = &o->workloads.v[i];
		uint32_t id = zs_identity_get(c->ids, w->ns, &w->labels);
		struct wid *x = wid_find(c, id);
		if (!x) {
			x = ZS_VEC_PUSH(&c->wids);
			x->id = id;
			x->ns = w->ns;
			x->labels = &w->labels;
			zs_namespace_labels(o, w->ns, &x->ns_labels);
		}
		x->local |= w->ifname != NULL;
		*ZS_VEC_PUSH(&x->workloads) = w;
	}
	zs_identities_release_unused(c->ids);
	qsort(c->wids.v, c->wids.n, sizeof(c->wids.v[0]), cmp_wid);
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
		size_t rule_ix = 0;

		for (size_t i = 0; i < c->o->policies.n; i++) {
			const struct zs_policy *p = pols[i];
			size_t nr = dir == ZS_DIR_INGRESS ? p->ningress : p->negress;
			const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;
			bool selects = !strcmp(p->ns, w->ns) && zs_selector_matches(&p->selector, w->labels);

			rule_ix = pol_rule_base[i] + (dir == ZS_DIR_INGRESS ? 0 : p->ningress);
			if (!selects)
				continue;
			if (dir == ZS_DIR_INGRESS ? p->has_ingress : p->has_egress) {
				isolated = true;
				audit |= p->mode == ZS_MODE_AUDIT;
				enforced |= p->mode == ZS_MODE_ENFORCE;
			}
			for (size_t r = 0; r < nr; r++)
				rule_atoms(c, &a, p, &rules[r], dir, w->id, c->out->rules.v[rule_ix + r].id);
		}
		if (!isolated && c->o->posture == ZS_POSTURE_KUBERNETES)
			push_atom(&a, ZS_ID_ANY, 0, SPACE_MAX, PREC_DEFAULT, ZS_VERDICT_ALLOW, 0);
		else if (audit && !enforced) /* a trial policy never opens what another enforces */
			push_atom(&a, ZS_ID_ANY, 0, SPACE_MAX, PREC_DEFAULT, ZS_VERDICT_AUDIT, 0);
		resolve_dir(s, &cap, dir, &a);
		free(a.v);
	}
	qsort(s->e, s->n, sizeof(*s->e), cmp_pentry);
	c->out->total_entries += s->n;
}

int zs_compile(const struct zs_objects *o, struct zs_identities *ids, struct zs_compiled *out,
	       struct zs_diags *d)
{
	struct cctx c = { .o = o, .ids = ids, .out = out, .d = d };
	const struct zs_policy **pols;
	uint32_t *base;

	memset(out, 0, sizeof(*out));
	build_wids(&c);

	/* Policies in name order, rules numbered in that order: deterministic ids. */
	pols = zs_xcalloc(o->policies.n, sizeof(*pols));
	base = zs_xcalloc(o->policies.n, sizeof(*base));
	size_t nrules = 0;
	for (size_t i = 0; i < o->policies.n; i++)
		nrules += o->policies.v[i].ningress + o->policies.v[i].negress;
	for (c.taken_cap = 64; c.taken_cap < nrules * 2; c.taken_cap *= 2)
		;
	c.taken = zs_xcalloc(c.taken_cap, sizeof(*c.taken));
	for (size_t i = 0; i < o->policies.n; i++)
		pols[i] = &o->policies.v[i];
	qsort(pols, o->policies.n, sizeof(*pols), cmp_pol);
	for (size_t i = 0; i < o->policies.n; i++) {
		const struct zs_policy *p = pols[i];
		base[i] = (uint32_t)out->rules.n;
		for (uint8_t dir = ZS_DIR_INGRESS; dir <= ZS_DIR_EGRESS; dir++) {
			size_t nr = dir == ZS_DIR_INGRESS ? p->ningress : p->negress;
			const struct zs_rule *rules = dir == ZS_DIR_INGRESS ? p->ingress : p->egress;
			for (size_t r = 0; r < nr; r++) {
				struct zs_c_rule *cr = ZS_VEC_PUSH(&out->rules);
				cr->id = rule_id_alloc(&c, p, dir, (uint32_t)r);
				cr->policy = zs_xasprintf("%s/%s", p->ns, p->name);
				cr->dir = dir;
				cr->index = (uint32_t)r;
				cr->action = (uint8_t)rules[r].action;
				cr->audit = p->mode == ZS_MODE_AUDIT;
				cr->mark = rules[r].mark;
			}
		}
	}

	for (size_t i = 0; i < c.wids.n; i++)
		if (c.wids.v[i].local)
			compile_subject(&c, &c.wids.v[i], pols, base);

	for (size_t i = 0; i < o->workloads.n; i++) {
		const struct zs_workload *w = &o->workloads.v[i];
		uint32_t id = zs_identity_get(ids, w->ns, &w->labels);
		char *name = zs_xasprintf("%s/%s", w->ns, w->name);
		if (w->ifname) {
			struct zs_c_endpoint *ep = ZS_VEC_PUSH(&out->endpoints);
			ep->ifname = zs_xstrdup(w->ifname);
			ep->workload = zs_xstrdup(name);
			ep->identity = id;
		}
		for (size_t a = 0; a < w->naddrs; a++) {
			struct zs_c_ipcache *ip = ZS_VEC_PUSH(&out->ipcache);
			ip->prefix = w->addrs[a];
			ip->identity = id;
			ip->ifname = w->ifname ? zs_xstrdup(w->ifname) : NULL;
			ip->workload = zs_xstrdup(name);
		}
		free(name);
	}
	qsort(out->endpoints.v, out->endpoints.n, sizeof(out->endpoints.v[0]), cmp_ep);
	qsort(out->ipcache.v, out->ipcache.n, sizeof(out->ipcache.v[0]), cmp_ipc);
	qsort(out->rules.v, out->rules.n, sizeof(out->rules.v[0]), cmp_rule);

	for (size_t i = 0; i < c.wids.n; i++) {
		zs_labels_free(&c.wids.v[i].ns_labels);
		free(c.wids.v[i].workloads.v);
	}
	free(c.wids.v);
	free(pols);
	free(base);
	free(c.taken);
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

const struct zs_c_rule *zs_compiled_rule(const struct zs_compiled *c, uint32_t id)
{
	struct zs_c_rule key = { .id = id };

	return bsearch(&key, c->rules.v, c->rules.n, sizeof(key), cmp_rule);
}

static int cmp_subject(const void *a, const void *b)
{
	uint32_t x = ((const struct zs_subject *)a)->identity;
	uint32_t y = ((const struct zs_subject *)b)->identity;
	return x < y ? -1 : x > y;
}

const struct zs_subject *zs_compiled_subject(const struct zs_compiled *c, uint32_t identity)
{
	struct zs_subject key = { .identity = identity };
	return bsearch(&key, c->subjects.v, c->subjects.n, sizeof(key), cmp_subject);
}

static const struct zs_pentry *lpm(const struct zs_subject *s, uint32_t peer, uint8_t dir,
				   uint32_t value)
{
	const struct zs_pentry *best = NULL;

	for (size_t i = 0; i < s->n; i++) {
		const struct zs_pentry *e = &s->e[i];
		uint32_t mask = e->bits ? (SPACE_MAX << (24 - e->bits)) & SPACE_MAX : 0;
		if (e->dir != dir || e->peer != peer || (value & mask) != e->value)
			continue;
		if (!best || e->bits > best->bits)
			best = e;
	}
	return best;
}

const struct zs_pentry *zs_compiled_lookup(const struct zs_compiled *c, uint32_t subject,
					   uint32_t peer, uint8_t dir, uint8_t proto, uint16_t port)
{
	const struct zs_subject *s = zs_compiled_subject(c, subject);
	uint32_t value = (uint32_t)proto << 16 | port;
	const struct zs_pentry *e;

	if (!s)
		return NULL;
	e = lpm(s, peer, dir, value);
	return e ? e : lpm(s, ZS_ID_ANY, dir, value);
}
