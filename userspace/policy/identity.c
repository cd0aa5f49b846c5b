// SPDX-License-Identifier: MIT
/* Identity allocation and label selector matching. */
#include "policy/identity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"

static void labels_copy(zs_labels_t *dst, const zs_labels_t *src)
{
	for (size_t i = 0; i < src->n; i++)
		zs_labels_set(dst, src->v[i].key, src->v[i].value);
}

void zs_identities_free(struct zs_identities *ids)
{
	for (size_t i = 0; i < ids->v.n; i++) {
		free(ids->v.v[i].ns);
		zs_labels_free(&ids->v.v[i].labels);
	}
	free(ids->v.v);
	memset(ids, 0, sizeof(*ids));
}

const struct zs_identity *zs_identity_find(const struct zs_identities *ids, uint32_t id)
{
	size_t lo = 0, hi = ids->v.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ids->v.v[mid].id == id)
			return &ids->v.v[mid];
		if (ids->v.v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct zs_identity *insert_at(struct zs_identities *ids, uint32_t id)
{
	size_t pos = 0;

	while (pos < ids->v.n && ids->v.v[pos].id < id)
		pos++;
	ZS_VEC_PUSH(&ids->v);
	memmove(&ids->v.v[pos + 1], &ids->v.v[pos], (ids->v.n - 1 - pos) * sizeof(ids->v.v[0]));
	memset(&ids->v.v[pos], 0, sizeof(ids->v.v[0]));
	ids->v.v[pos].id = id;
	return &ids->v.v[pos];
}

static uint32_t identity_get(struct zs_identities *ids, const char *ns, const zs_labels_t *labels,
			     uint32_t want)
{
	for (size_t i = 0; i < ids->v.n; i++) {
		struct zs_identity *id = &ids->v.v[i];
		if (!strcmp(id->ns, ns) && zs_labels_equal(&id->labels, labels)) {
			id->used = true;
			return id->id;
		}
	}
	/* The lowest free number: the list is sorted, so the first gap. */
	for (size_t i = 0; i < ids->v.n; i++) {
		if (ids->v.v[i].id < want)
			continue;
		if (ids->v.v[i].id != want)
			break;
		want++;
	}
	struct zs_identity *id = insert_at(ids, want);
	id->ns = zs_xstrdup(ns);
	labels_copy(&id->labels, labels);
	id->used = true;
	return want;
}

uint32_t zs_identity_get(struct zs_identities *ids, const char *ns, const zs_labels_t *labels)
{
	return identity_get(ids, ns, labels, ZS_ID_FIRST_WORKLOAD);
}

uint32_t zs_identity_get_cidr(struct zs_identities *ids, const struct zs_prefix *p)
{
	zs_labels_t l = { 0 };
	char buf[64];
	uint32_t id;

	zs_labels_set(&l, ZS_CIDR_LABEL, zs_prefix_str(p, buf, sizeof(buf)));
	id = identity_get(ids, "", &l, ZS_ID_FIRST_CIDR);
	zs_labels_free(&l);
	return id;
}

/* A CIDR identity held, by its prefix text (zs_identity_get_cidrs' index). */
struct cidr_key {
	const char *text;
	size_t i; /* in ids->v */
};

static int cmp_cidr_key(const void *a, const void *b)
{
	return strcmp(((const struct cidr_key *)a)->text, ((const struct cidr_key *)b)->text);
}

static int cmp_identity(const void *a, const void *b)
{
	uint32_t x = ((const struct zs_identity *)a)->id, y = ((const struct zs_identity *)b)->id;
	return x < y ? -1 : x > y;
}

static bool is_cidr_identity(const struct zs_identity *id)
{
	return !*id->ns && id->labels.n == 1 && !strcmp(id->labels.v[0].key, ZS_CIDR_LABEL);
}

/*
 * The same numbers as zs_identity_get_cidr on each key in turn, in
 * O((held + n) log): the held CIDR identities are sorted by text once and
 * searched; the new ones take the free numbers from ZS_ID_FIRST_CIDR up in
 * order (finding a held one takes no number, so the k'th new key gets the
 * k'th gap, as one call after another would), appended, then sorted by id
 * once. One call per prefix was linear each: 100k prefixes took minutes.
 */
void zs_identity_get_classes(struct zs_identities *ids, const char *const *keys, size_t n,
			     uint32_t *out)
{
	struct cidr_key *k = zs_xcalloc(ids->v.n + 1, sizeof(*k));
	size_t nk = 0, held = ids->v.n, pos = 0, added = 0;
	uint32_t want = ZS_ID_FIRST_CIDR;

	for (size_t i = 0; i < held; i++)
		if (is_cidr_identity(&ids->v.v[i]))
			k[nk++] = (struct cidr_key){ ids->v.v[i].labels.v[0].value, i };
	zs_qsort(k, nk, sizeof(*k), cmp_cidr_key);
	for (size_t j = 0; j < n; j++) {
		struct cidr_key key = { keys[j], 0 };
		const struct cidr_key *hit = zs_bsearch(&key, k, nk, sizeof(*k), cmp_cidr_key);

		if (hit) {
			ids->v.v[hit->i].used = true;
			out[j] = ids->v.v[hit->i].id;
			continue;
		}
		while (pos < held && ids->v.v[pos].id < want)
			pos++;
		while (pos < held && ids->v.v[pos].id == want) {
			pos++;
			want++;
		}
		struct zs_identity *id = ZS_VEC_PUSH(&ids->v);
		memset(id, 0, sizeof(*id));
		id->id = out[j] = want++;
		id->ns = zs_xstrdup("");
		zs_labels_set(&id->labels, ZS_CIDR_LABEL, keys[j]);
		id->used = true;
		added++;
	}
	free(k);
	if (added)
		zs_qsort(ids->v.v, ids->v.n, sizeof(*ids->v.v), cmp_identity);
}

void zs_identity_get_cidrs(struct zs_identities *ids, const struct zs_prefix *p, size_t stride,
			   size_t n, uint32_t *out)
{
	char **text = zs_xcalloc(n + 1, sizeof(*text));
	char buf[64];

	for (size_t j = 0; j < n; j++)
		text[j] = zs_xstrdup(zs_prefix_str((const void *)((const char *)p + j * stride), buf,
						   sizeof(buf)));
	zs_identity_get_classes(ids, (const char *const *)text, n, out);
	for (size_t j = 0; j < n; j++)
		free(text[j]);
	free(text);
}

int zs_identity_restore(struct zs_identities *ids, uint32_t num, const char *ns,
			const zs_labels_t *labels)
{
	bool cidr = !*ns;

	if (num < ZS_ID_FIRST_WORKLOAD || (num >= ZS_ID_FIRST_CIDR) != cidr ||
	    zs_identity_find(ids, num))
		return -EEXIST;
	for (size_t i = 0; i < ids->v.n; i++)
		if (!strcmp(ids->v.v[i].ns, ns) && zs_labels_equal(&ids->v.v[i].labels, labels))
			return -EEXIST;
	struct zs_identity *id = insert_at(ids, num);
	id->ns = zs_xstrdup(ns);
	labels_copy(&id->labels, labels);
	return 0;
}

static uint32_t labels_hash(const char *ns, const zs_labels_t *l)
{
	uint32_t h = zs_fnv1a(ns, strlen(ns) + 1, 2166136261u);

	for (size_t i = 0; i < l->n; i++) {
		h = zs_fnv1a(l->v[i].key, strlen(l->v[i].key) + 1, h);
		h = zs_fnv1a(l->v[i].value, strlen(l->v[i].value) + 1, h);
	}
	return h;
}

/*
 * Open-addressing sets over ids->v (slots hold index + 1), by number and by
 * label set, for zs_identities_restore_all.
 */
struct restore_sets {
	size_t *by_id, *by_labels, mask;
};

static size_t *slot_of_id(const struct restore_sets *r, const struct zs_identities *ids, uint32_t id)
{
	size_t s = (id * 2654435761u) & r->mask;

	while (r->by_id[s] && ids->v.v[r->by_id[s] - 1].id != id)
		s = (s + 1) & r->mask;
	return &r->by_id[s];
}

static size_t *slot_of_labels(const struct restore_sets *r, const struct zs_identities *ids,
			      const char *ns, const zs_labels_t *l)
{
	size_t s = labels_hash(ns, l) & r->mask;

	while (r->by_labels[s]) {
		const struct zs_identity *x = &ids->v.v[r->by_labels[s] - 1];
		if (!strcmp(x->ns, ns) && zs_labels_equal(&x->labels, l))
			break;
		s = (s + 1) & r->mask;
	}
	return &r->by_labels[s];
}

void zs_identities_restore_all(struct zs_identities *ids, struct zs_identities *from)
{
	struct restore_sets r;
	size_t cap = 16, added = 0;

	while (cap < 2 * (ids->v.n + from->v.n))
		cap *= 2;
	r.mask = cap - 1;
	r.by_id = zs_xcalloc(cap, sizeof(size_t));
	r.by_labels = zs_xcalloc(cap, sizeof(size_t));
	for (size_t i = 0; i < ids->v.n; i++) {
		*slot_of_id(&r, ids, ids->v.v[i].id) = i + 1;
		*slot_of_labels(&r, ids, ids->v.v[i].ns, &ids->v.v[i].labels) = i + 1;
	}
	for (size_t i = 0; i < from->v.n; i++) {
		struct zs_identity *x = &from->v.v[i];
		bool cidr = !*x->ns;
		size_t *si = slot_of_id(&r, ids, x->id), *sl;

		if (x->id < ZS_ID_FIRST_WORKLOAD || (x->id >= ZS_ID_FIRST_CIDR) != cidr || *si)
			continue;
		sl = slot_of_labels(&r, ids, x->ns, &x->labels);
		if (*sl)
			continue;
		*ZS_VEC_PUSH(&ids->v) = *x;
		ids->v.v[ids->v.n - 1].used = false;
		*si = *sl = ids->v.n;
		memset(x, 0, sizeof(*x)); /* now ids' */
		x->ns = NULL;
		added++;
	}
	free(r.by_id);
	free(r.by_labels);
	if (added)
		zs_qsort(ids->v.v, ids->v.n, sizeof(*ids->v.v), cmp_identity);
	zs_identities_free(from);
}

void zs_identities_mark_unused(struct zs_identities *ids)
{
	for (size_t i = 0; i < ids->v.n; i++)
		ids->v.v[i].used = false;
}

void zs_identities_release_unused(struct zs_identities *ids)
{
	size_t out = 0;

	for (size_t i = 0; i < ids->v.n; i++) {
		if (ids->v.v[i].used) {
			ids->v.v[out++] = ids->v.v[i];
		} else {
			free(ids->v.v[i].ns);
			zs_labels_free(&ids->v.v[i].labels);
		}
	}
	ids->v.n = out;
}

static bool value_in(const struct zs_requirement *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (!strcmp(r->values[i], v))
			return true;
	return false;
}

bool zs_selector_matches(const struct zs_selector *s, const zs_labels_t *labels)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct zs_requirement *r = &s->req[i];
		const char *v = zs_labels_get(labels, r->key);
		bool ok;

		switch (r->op) {
		case ZS_SEL_IN:
			ok = v && value_in(r, v);
			break;
		case ZS_SEL_NOT_IN:
			ok = !v || !value_in(r, v);
			break;
		case ZS_SEL_EXISTS:
			ok = v != NULL;
			break;
		case ZS_SEL_DOES_NOT_EXIST:
		default:
			ok = v == NULL;
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

void zs_namespace_labels(const struct zs_objects *o, const char *ns, zs_labels_t *out)
{
	for (size_t i = 0; i < o->namespaces.n; i++)
		if (!strcmp(o->namespaces.v[i].name, ns))
			labels_copy(out, &o->namespaces.v[i].labels);
	zs_labels_set(out, "kubernetes.io/metadata.name", ns);
}

void zs_identities_clone(const struct zs_identities *src, struct zs_identities *dst)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->v.n; i++) {
		struct zs_identity *d = ZS_VEC_PUSH(&dst->v);
		d->id = src->v.v[i].id;
		d->ns = zs_xstrdup(src->v.v[i].ns);
		labels_copy(&d->labels, &src->v.v[i].labels);
		d->used = src->v.v[i].used;
	}
}
