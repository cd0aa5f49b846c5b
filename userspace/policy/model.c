// SPDX-License-Identifier: MIT
/* Object lifetimes, label sets, and merging batches into the daemon's state. */
#include "policy/model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const kind_names[] = {
	[ZS_KIND_WORKLOAD] = "Workload",   [ZS_KIND_POLICY] = "Policy",
	[ZS_KIND_NETWORKPOLICY] = "NetworkPolicy", [ZS_KIND_NAMESPACE] = "Namespace",
	[ZS_KIND_CONFIG] = "Config", [ZS_KIND_ADDRESSSET] = "AddressSet",
};

const char *zs_kind_name(enum zs_kind k)
{
	return k < ZS_ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

int zs_kind_parse(const char *s, enum zs_kind *out)
{
	static const struct {
		const char *name;
		enum zs_kind kind;
	} aliases[] = {
		{ "workload", ZS_KIND_WORKLOAD },   { "workloads", ZS_KIND_WORKLOAD },
		{ "policy", ZS_KIND_POLICY },       { "policies", ZS_KIND_POLICY },
		{ "networkpolicy", ZS_KIND_NETWORKPOLICY }, { "networkpolicies", ZS_KIND_NETWORKPOLICY },
		{ "namespace", ZS_KIND_NAMESPACE }, { "namespaces", ZS_KIND_NAMESPACE },
		{ "config", ZS_KIND_CONFIG },
		{ "addressset", ZS_KIND_ADDRESSSET }, { "addresssets", ZS_KIND_ADDRESSSET },
		{ "set", ZS_KIND_ADDRESSSET },      { "sets", ZS_KIND_ADDRESSSET },
	};
	for (size_t i = 0; i < ZS_ARRAY_SIZE(aliases); i++)
		if (!strcasecmp(s, aliases[i].name)) {
			*out = aliases[i].kind;
			return 0;
		}
	return -EINVAL;
}

void zs_objects_init(struct zs_objects *o)
{
	memset(o, 0, sizeof(*o));
}

void zs_labels_free(zs_labels_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void zs_labels_set(zs_labels_t *l, const char *key, const char *value)
{
	size_t i = 0;

	while (i < l->n && strcmp(l->v[i].key, key) < 0)
		i++;
	if (i < l->n && !strcmp(l->v[i].key, key)) {
		free(l->v[i].value);
		l->v[i].value = zs_xstrdup(value);
		return;
	}
	ZS_VEC_PUSH(l);
	memmove(&l->v[i + 1], &l->v[i], (l->n - 1 - i) * sizeof(l->v[0]));
	l->v[i].key = zs_xstrdup(key);
	l->v[i].value = zs_xstrdup(value);
}

bool zs_labels_equal(const zs_labels_t *a, const zs_labels_t *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) || strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

const char *zs_labels_get(const zs_labels_t *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, key))
			return l->v[i].value;
	return NULL;
}

static void selector_free(struct zs_selector *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->req[i].key);
		for (size_t j = 0; j < s->req[i].nvalues; j++)
			free(s->req[i].values[j]);
		free(s->req[i].values);
	}
	free(s->req);
	memset(s, 0, sizeof(*s));
}

static void rules_free(struct zs_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < r[i].npeers; j++) {
			selector_free(&r[i].peers[j].selector);
			selector_free(&r[i].peers[j].ns_selector);
			free(r[i].peers[j].except);
			free(r[i].peers[j].set);
		}
		free(r[i].peers);
		for (size_t j = 0; j < r[i].nports; j++)
			free(r[i].ports[j].name);
		free(r[i].ports);
	}
	free(r);
}

void zs_policy_free(struct zs_policy *p)
{
	free(p->name);
	free(p->ns);
	selector_free(&p->selector);
	rules_free(p->ingress, p->ningress);
	rules_free(p->egress, p->negress);
	free(p->json);
	memset(p, 0, sizeof(*p));
}

void zs_workload_free(struct zs_workload *w)
{
	free(w->name);
	free(w->ns);
	zs_labels_free(&w->labels);
	free(w->ifname);
	free(w->addrs);
	for (size_t i = 0; i < w->nports; i++)
		free(w->ports[i].name);
	free(w->ports);
	free(w->json);
	memset(w, 0, sizeof(*w));
}

void zs_namespace_free(struct zs_namespace *n)
{
	free(n->name);
	zs_labels_free(&n->labels);
	free(n->json);
	memset(n, 0, sizeof(*n));
}

void zs_addrset_free(struct zs_addrset *s)
{
	free(s->name);
	free(s->members);
	free(s->json);
	memset(s, 0, sizeof(*s));
}

static int cmp_prefix(const void *a, const void *b)
{
	return zs_prefix_cmp(a, b);
}

void zs_addrset_normalize(struct zs_addrset *s)
{
	size_t n = 0;

	zs_qsort(s->members, s->n, sizeof(*s->members), cmp_prefix);
	for (size_t i = 0; i < s->n; i++)
		if (!n || zs_prefix_cmp(&s->members[n - 1], &s->members[i]))
			s->members[n++] = s->members[i];
	s->n = n;
}

const struct zs_addrset *zs_objects_set(const struct zs_objects *o, const char *name)
{
	for (size_t i = 0; i < o->sets.n; i++)
		if (!strcmp(o->sets.v[i].name, name))
			return &o->sets.v[i];
	return NULL;
}

void zs_objects_free(struct zs_objects *o)
{
	for (size_t i = 0; i < o->workloads.n; i++)
		zs_workload_free(&o->workloads.v[i]);
	for (size_t i = 0; i < o->policies.n; i++)
		zs_policy_free(&o->policies.v[i]);
	for (size_t i = 0; i < o->namespaces.n; i++)
		zs_namespace_free(&o->namespaces.v[i]);
	for (size_t i = 0; i < o->sets.n; i++)
		zs_addrset_free(&o->sets.v[i]);
	for (size_t i = 0; i < o->files.n; i++)
		free(o->files.v[i]);
	free(o->workloads.v);
	free(o->policies.v);
	free(o->namespaces.v);
	free(o->sets.v);
	free(o->files.v);
	free(o->host_addrs.v);
	memset(o, 0, sizeof(*o));
}

const char *zs_objects_file(struct zs_objects *o, const char *name)
{
	for (size_t i = 0; i < o->files.n; i++)
		if (!strcmp(o->files.v[i], name))
			return o->files.v[i];
	char **slot = ZS_VEC_PUSH(&o->files);
	*slot = zs_xstrdup(name);
	return *slot;
}

static bool same_id(const char *ns1, const char *n1, const char *ns2, const char *n2)
{
	return !strcmp(ns1, ns2) && !strcmp(n1, n2);
}

/*
 * An index of a vector's objects by identity for one merge: open addressing,
 * slot = object index + 1 (0: empty). A merge of n objects into m costs
 * O(n + m), not O(n * m): the first apply of a large estate is one merge.
 */
struct id_index {
	size_t *slot;
	size_t mask;
};

static uint64_t id_hash(const char *ns, const char *name, unsigned salt)
{
	uint64_t h = 1469598103934665603ull ^ salt; /* FNV-1a */

	for (const char *p = ns ? ns : ""; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull; /* between the two: "a/bc" != "ab/c" */
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

static void id_index_init(struct id_index *x, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 2)
		cap <<= 1;
	x->slot = zs_xcalloc(cap, sizeof(*x->slot));
	x->mask = cap - 1;
}

/* The slot for hash h: empty, or holding the object `same` accepts. */
static size_t *id_index_probe(struct id_index *x, uint64_t h, bool (*same)(const void *, size_t),
			      const void *ctx)
{
	size_t i = h & x->mask;

	while (x->slot[i] && !same(ctx, x->slot[i] - 1))
		i = (i + 1) & x->mask;
	return &x->slot[i];
}

struct id_probe_ctx {
	const struct zs_objects *into;
	const char *ns, *name;
	bool k8s;
};

static bool same_workload(const void *c, size_t i)
{
	const struct id_probe_ctx *p = c;
	return same_id(p->into->workloads.v[i].ns, p->into->workloads.v[i].name, p->ns, p->name);
}

static bool same_policy(const void *c, size_t i)
{
	const struct id_probe_ctx *p = c;
	return same_id(p->into->policies.v[i].ns, p->into->policies.v[i].name, p->ns, p->name) &&
	       p->into->policies.v[i].from_k8s == p->k8s;
}

static bool same_namespace(const void *c, size_t i)
{
	const struct id_probe_ctx *p = c;
	return !strcmp(p->into->namespaces.v[i].name, p->name);
}

/*
 * Marks point into the source batch's file list; the merged objects keep
 * theirs valid by taking over those names too.
 */
void zs_objects_merge(struct zs_objects *into, struct zs_objects *from)
{
	struct id_index x;
	size_t *slot;

	for (size_t i = 0; i < from->files.n; i++) {
		char **f = ZS_VEC_PUSH(&into->files);
		*f = from->files.v[i];
	}
	from->files.n = 0;

	id_index_init(&x, into->workloads.n + from->workloads.n);
	for (size_t i = 0; i < into->workloads.n; i++) {
		struct id_probe_ctx c = { into, into->workloads.v[i].ns, into->workloads.v[i].name, false };
		*id_index_probe(&x, id_hash(c.ns, c.name, 0), same_workload, &c) = i + 1;
	}
	for (size_t i = 0; i < from->workloads.n; i++) {
		struct zs_workload *w = &from->workloads.v[i];
		struct id_probe_ctx c = { into, w->ns, w->name, false };
		slot = id_index_probe(&x, id_hash(w->ns, w->name, 0), same_workload, &c);
		if (*slot) {
			zs_workload_free(&into->workloads.v[*slot - 1]);
		} else {
			ZS_VEC_PUSH(&into->workloads);
			*slot = into->workloads.n;
		}
		into->workloads.v[*slot - 1] = *w;
	}
	from->workloads.n = 0;
	free(x.slot);

	id_index_init(&x, into->policies.n + from->policies.n);
	for (size_t i = 0; i < into->policies.n; i++) {
		const struct zs_policy *p = &into->policies.v[i];
		struct id_probe_ctx c = { into, p->ns, p->name, p->from_k8s };
		*id_index_probe(&x, id_hash(p->ns, p->name, p->from_k8s), same_policy, &c) = i + 1;
	}
	for (size_t i = 0; i < from->policies.n; i++) {
		struct zs_policy *p = &from->policies.v[i];
		struct id_probe_ctx c = { into, p->ns, p->name, p->from_k8s };
		slot = id_index_probe(&x, id_hash(p->ns, p->name, p->from_k8s), same_policy, &c);
		if (*slot) {
			zs_policy_free(&into->policies.v[*slot - 1]);
		} else {
			ZS_VEC_PUSH(&into->policies);
			*slot = into->policies.n;
		}
		into->policies.v[*slot - 1] = *p;
	}
	from->policies.n = 0;
	free(x.slot);

	id_index_init(&x, into->namespaces.n + from->namespaces.n);
	for (size_t i = 0; i < into->namespaces.n; i++) {
		struct id_probe_ctx c = { into, NULL, into->namespaces.v[i].name, false };
		*id_index_probe(&x, id_hash(NULL, c.name, 0), same_namespace, &c) = i + 1;
	}
	for (size_t i = 0; i < from->namespaces.n; i++) {
		struct zs_namespace *n = &from->namespaces.v[i];
		struct id_probe_ctx c = { into, NULL, n->name, false };
		slot = id_index_probe(&x, id_hash(NULL, n->name, 0), same_namespace, &c);
		if (*slot) {
			zs_namespace_free(&into->namespaces.v[*slot - 1]);
		} else {
			ZS_VEC_PUSH(&into->namespaces);
			*slot = into->namespaces.n;
		}
		into->namespaces.v[*slot - 1] = *n;
	}
	from->namespaces.n = 0;
	free(x.slot);

	/* Sets are few (each may hold many members): found by name. */
	for (size_t i = 0; i < from->sets.n; i++) {
		struct zs_addrset *dst = (struct zs_addrset *)zs_objects_set(into, from->sets.v[i].name);
		if (dst)
			zs_addrset_free(dst);
		else
			dst = ZS_VEC_PUSH(&into->sets);
		*dst = from->sets.v[i];
	}
	from->sets.n = 0;

	if (from->has_config) {
		into->has_config = true;
		into->posture = from->posture;
	}
}

int zs_objects_remove(struct zs_objects *o, const struct zs_ref *ref)
{
	switch (ref->kind) {
	case ZS_KIND_WORKLOAD:
		for (size_t i = 0; i < o->workloads.n; i++)
			if (same_id(o->workloads.v[i].ns, o->workloads.v[i].name, ref->ns, ref->name)) {
				zs_workload_free(&o->workloads.v[i]);
				o->workloads.v[i] = o->workloads.v[--o->workloads.n];
				return 0;
			}
		return -ENOENT;
	case ZS_KIND_POLICY:
	case ZS_KIND_NETWORKPOLICY:
		for (size_t i = 0; i < o->policies.n; i++)
			if (same_id(o->policies.v[i].ns, o->policies.v[i].name, ref->ns, ref->name) &&
			    o->policies.v[i].from_k8s == (ref->kind == ZS_KIND_NETWORKPOLICY)) {
				zs_policy_free(&o->policies.v[i]);
				o->policies.v[i] = o->policies.v[--o->policies.n];
				return 0;
			}
		return -ENOENT;
	case ZS_KIND_NAMESPACE:
		for (size_t i = 0; i < o->namespaces.n; i++)
			if (!strcmp(o->namespaces.v[i].name, ref->name)) {
				zs_namespace_free(&o->namespaces.v[i]);
				o->namespaces.v[i] = o->namespaces.v[--o->namespaces.n];
				return 0;
			}
		return -ENOENT;
	case ZS_KIND_ADDRESSSET:
		for (size_t i = 0; i < o->sets.n; i++)
			if (!strcmp(o->sets.v[i].name, ref->name)) {
				zs_addrset_free(&o->sets.v[i]);
				o->sets.v[i] = o->sets.v[--o->sets.n];
				return 0;
			}
		return -ENOENT;
	case ZS_KIND_CONFIG:
		if (!o->has_config)
			return -ENOENT;
		o->has_config = false;
		o->posture = ZS_POSTURE_DENY;
		return 0;
	}
	return -EINVAL;
}

/* ---- deep copies --------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
	return s ? zs_xstrdup(s) : NULL;
}

static void labels_copy(zs_labels_t *dst, const zs_labels_t *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		zs_labels_set(dst, src->v[i].key, src->v[i].value);
}

static void selector_copy(struct zs_selector *dst, const struct zs_selector *src)
{
	dst->n = src->n;
	dst->req = zs_xcalloc(src->n + 1, sizeof(*dst->req));
	for (size_t i = 0; i < src->n; i++) {
		const struct zs_requirement *r = &src->req[i];
		struct zs_requirement *d = &dst->req[i];
		d->key = zs_xstrdup(r->key);
		d->op = r->op;
		d->nvalues = r->nvalues;
		d->values = zs_xcalloc(r->nvalues + 1, sizeof(char *));
		for (size_t j = 0; j < r->nvalues; j++)
			d->values[j] = zs_xstrdup(r->values[j]);
	}
}

/* Marks point into the objects' file list: re-point them into dst's. */
static struct zs_mark mark_copy(struct zs_objects *dst, struct zs_mark m)
{
	if (m.file)
		m.file = zs_objects_file(dst, m.file);
	return m;
}

static struct zs_rule *rules_copy(struct zs_objects *dst, const struct zs_rule *src, size_t n)
{
	struct zs_rule *out = zs_xcalloc(n + 1, sizeof(*out));

	for (size_t i = 0; i < n; i++) {
		const struct zs_rule *r = &src[i];
		struct zs_rule *d = &out[i];
		*d = *r;
		d->mark = mark_copy(dst, r->mark);
		d->peers = zs_xcalloc(r->npeers + 1, sizeof(*d->peers));
		for (size_t j = 0; j < r->npeers; j++) {
			const struct zs_peer *p = &r->peers[j];
			struct zs_peer *q = &d->peers[j];
			*q = *p;
			q->mark = mark_copy(dst, p->mark);
			selector_copy(&q->selector, &p->selector);
			selector_copy(&q->ns_selector, &p->ns_selector);
			q->except = zs_xcalloc(p->nexcept + 1, sizeof(*q->except));
			zs_memcpy(q->except, p->except, p->nexcept * sizeof(*q->except));
			q->set = dup_or_null(p->set);
		}
		d->ports = zs_xcalloc(r->nports + 1, sizeof(*d->ports));
		for (size_t j = 0; j < r->nports; j++) {
			d->ports[j] = r->ports[j];
			d->ports[j].name = dup_or_null(r->ports[j].name);
			d->ports[j].mark = mark_copy(dst, r->ports[j].mark);
		}
	}
	return out;
}

void zs_objects_copy(const struct zs_objects *src, struct zs_objects *dst)
{
	zs_objects_init(dst);
	for (size_t i = 0; i < src->files.n; i++)
		zs_objects_file(dst, src->files.v[i]);
	dst->has_config = src->has_config;
	dst->posture = src->posture;
	for (size_t i = 0; i < src->workloads.n; i++) {
		const struct zs_workload *w = &src->workloads.v[i];
		struct zs_workload *d = ZS_VEC_PUSH(&dst->workloads);
		*d = *w;
		d->name = zs_xstrdup(w->name);
		d->ns = zs_xstrdup(w->ns);
		labels_copy(&d->labels, &w->labels);
		d->ifname = dup_or_null(w->ifname);
		d->addrs = zs_xcalloc(w->naddrs + 1, sizeof(*d->addrs));
		memcpy(d->addrs, w->addrs, w->naddrs * sizeof(*d->addrs));
		d->ports = zs_xcalloc(w->nports + 1, sizeof(*d->ports));
		for (size_t j = 0; j < w->nports; j++) {
			d->ports[j] = w->ports[j];
			d->ports[j].name = zs_xstrdup(w->ports[j].name);
		}
		d->mark = mark_copy(dst, w->mark);
		d->json = dup_or_null(w->json);
	}
	for (size_t i = 0; i < src->policies.n; i++) {
		const struct zs_policy *p = &src->policies.v[i];
		struct zs_policy *d = ZS_VEC_PUSH(&dst->policies);
		*d = *p;
		d->name = zs_xstrdup(p->name);
		d->ns = zs_xstrdup(p->ns);
		selector_copy(&d->selector, &p->selector);
		d->ingress = rules_copy(dst, p->ingress, p->ningress);
		d->egress = rules_copy(dst, p->egress, p->negress);
		d->mark = mark_copy(dst, p->mark);
		d->json = dup_or_null(p->json);
	}
	for (size_t i = 0; i < src->namespaces.n; i++) {
		const struct zs_namespace *n = &src->namespaces.v[i];
		struct zs_namespace *d = ZS_VEC_PUSH(&dst->namespaces);
		d->name = zs_xstrdup(n->name);
		labels_copy(&d->labels, &n->labels);
		d->mark = mark_copy(dst, n->mark);
		d->json = dup_or_null(n->json);
	}
	for (size_t i = 0; i < src->sets.n; i++) {
		const struct zs_addrset *s = &src->sets.v[i];
		struct zs_addrset *d = ZS_VEC_PUSH(&dst->sets);
		d->name = zs_xstrdup(s->name);
		d->n = s->n;
		d->members = zs_xcalloc(s->n + 1, sizeof(*d->members));
		zs_memcpy(d->members, s->members, s->n * sizeof(*d->members));
		d->mark = mark_copy(dst, s->mark);
		d->json = dup_or_null(s->json);
	}
}
