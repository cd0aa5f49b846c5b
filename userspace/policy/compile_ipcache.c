// SPDX-License-Identifier: MIT
/*
 * The compiler's address side: CIDR identities and the ipcache.
 *
 * The addresses policies name (inline cidr and except prefixes, the members
 * of the AddressSets peers reference) fall into membership classes: the
 * addresses held by exactly the same inline prefixes and sets. Each class
 * has one CIDR identity, and the ipcache gives every address the identity
 * of its class; a peer `cidr C except E` is the classes inside C and no E, a
 * peer `addressSet S` the classes in S (docs/DESIGN-NOTES.md, "CIDR
 * identities"). So a 100k-member blocklist of disjoint addresses is one
 * identity and one policy entry per subject and rule, and a new member of an
 * existing class is one more ipcache entry and nothing else. With inline
 * prefixes only, a class is "longest inline prefix P" and its identity is
 * P's, as it always was. Classes come from one sort and one sweep with a
 * stack of the prefixes open at each point: n log n.
 */
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"
#include "policy/compile_int.h"

#define NONE UINT32_MAX
/* Nested distinct prefixes of one family: at most 129 (/0../128). */
#define MAX_DEPTH 130

/* A prefix to sweep: inline (tag NONE) or a member of referenced set `tag`. */
struct item {
	struct zs_prefix p;
	uint32_t tag;
};

/* A collection of referenced sets: pool[off, off + n), ascending; 0 is the empty one. */
struct coll {
	uint32_t off, n;
};

/* A membership class: the longest inline prefix (index into inl, or NONE) and the sets. */
struct cls {
	uint32_t inl, coll;
};

struct cidr_classes {
	const struct zs_addrset **sets; /* referenced sets, by name */
	size_t nsets;
	ZS_VEC(struct coll) colls;
	ZS_VEC(uint32_t) pool;
	ZS_VEC(struct cls) cls;
	uint32_t *coll_ht, *cls_ht; /* open addressing, index + 1; 0: empty */
	size_t ht_mask;
	uint32_t *cls_id;                 /* identity of each class */
	ZS_VEC(struct zs_prefix) inl;     /* inline prefixes, sorted, unique */
	uint32_t *inl_first, *by_inl;     /* classes of each inline prefix (CSR) */
	uint32_t *set_first, *by_set;     /* classes of each set (CSR) */
};

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int r = zs_prefix_cmp(&x->p, &y->p);
	return r ? r : (x->tag > y->tag) - (x->tag < y->tag);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* p's address has `outer`'s first outer->len bits (p's own length aside). */
static bool addr_within(const struct zs_prefix *outer, const struct zs_prefix *p)
{
	unsigned bytes = outer->len / 8, bits = outer->len % 8;

	if (p->family != outer->family || memcmp(p->addr, outer->addr, bytes))
		return false;
	return !bits || !((p->addr[bytes] ^ outer->addr[bytes]) & (0xff00 >> bits));
}

static bool inside(const struct zs_prefix *outer, const struct zs_prefix *p)
{
	return p->len >= outer->len && addr_within(outer, p);
}

static uint32_t hash_u32s(const uint32_t *v, size_t n, uint32_t h)
{
	return zs_fnv1a(v, n * sizeof(*v), h);
}

/* The collection `coll` plus set s (interned: equal collections, one index). */
static uint32_t coll_add(struct cidr_classes *cc, uint32_t coll, uint32_t s)
{
	struct coll base = cc->colls.v[coll];
	uint32_t tmp[64], *v = base.n < 64 ? tmp : zs_xcalloc(base.n + 1, sizeof(*v));
	size_t n = 0, i;

	for (i = 0; i < base.n && cc->pool.v[base.off + i] < s; i++)
		v[n++] = cc->pool.v[base.off + i];
	if (i < base.n && cc->pool.v[base.off + i] == s) {
		if (v != tmp)
			free(v);
		return coll;
	}
	v[n++] = s;
	for (; i < base.n; i++)
		v[n++] = cc->pool.v[base.off + i];
	size_t slot = hash_u32s(v, n, ZS_FNV_INIT) & cc->ht_mask;
	for (;; slot = (slot + 1) & cc->ht_mask) {
		uint32_t k = cc->coll_ht[slot];
		if (!k)
			break;
		const struct coll *x = &cc->colls.v[k - 1];
		if (x->n == n && !memcmp(&cc->pool.v[x->off], v, n * sizeof(*v)))
			break;
	}
	if (!cc->coll_ht[slot]) {
		struct coll *x = ZS_VEC_PUSH(&cc->colls);
		x->off = (uint32_t)cc->pool.n;
		x->n = (uint32_t)n;
		for (i = 0; i < n; i++)
			*ZS_VEC_PUSH(&cc->pool) = v[i];
		cc->coll_ht[slot] = (uint32_t)cc->colls.n;
	}
	if (v != tmp)
		free(v);
	return cc->coll_ht[slot] - 1;
}

/* The class (inl, coll), interned. */
static uint32_t class_of(struct cidr_classes *cc, uint32_t inl, uint32_t coll)
{
	uint32_t key[2] = { inl, coll };
	size_t slot = hash_u32s(key, 2, ZS_FNV_INIT) & cc->ht_mask;

	for (;; slot = (slot + 1) & cc->ht_mask) {
		uint32_t k = cc->cls_ht[slot];
		if (!k) {
			*ZS_VEC_PUSH(&cc->cls) = (struct cls){ inl, coll };
			cc->cls_ht[slot] = (uint32_t)cc->cls.n;
			return (uint32_t)cc->cls.n - 1;
		}
		if (cc->cls.v[k - 1].inl == inl && cc->cls.v[k - 1].coll == coll)
			return k - 1;
	}
}

typedef ZS_VEC(struct item) items_t;
typedef ZS_VEC(const char *) names_t;

static void push_item(items_t *it, const struct zs_prefix *p, uint32_t tag)
{
	struct item *x = ZS_VEC_PUSH(it);
	x->p = *p;
	x->tag = tag;
}

/* A set peer's checks: the set exists, no named port toward it in egress. */
static void check_set_peer(struct cctx *c, const struct zs_rule *r, bool egress,
			   const struct zs_peer *peer, names_t *names)
{
	if (!zs_objects_set(c->o, peer->set)) {
		zs_diag(c->d, &peer->mark, "peer: no AddressSet \"%s\"", peer->set);
		c->errors++;
		return;
	}
	for (size_t i = 0; egress && !r->all_ports && i < r->nports; i++)
		if (r->ports[i].name) {
			zs_diag(c->d, &peer->mark,
				"named port in an egress rule with an addressSet peer: a named port resolves on the destination workload; give the number");
			c->errors++;
			return;
		}
	*ZS_VEC_PUSH(names) = peer->set;
}

/* Every inline prefix as an item; the names of the sets peers reference, sorted, unique. */
static void gather(struct cctx *c, items_t *it, names_t *names)
{
	const struct zs_objects *o = c->o;

	for (size_t i = 0; i < o->policies.n; i++) {
		const struct zs_policy *p = &o->policies.v[i];
		for (int dir = 0; dir < 2; dir++) {
			size_t nr = dir ? p->negress : p->ningress;
			const struct zs_rule *r = dir ? p->egress : p->ingress;
			for (size_t j = 0; j < nr; j++)
				for (size_t k = 0; k < r[j].npeers; k++) {
					const struct zs_peer *peer = &r[j].peers[k];
					if (peer->set)
						check_set_peer(c, &r[j], dir, peer, names);
					if (!peer->has_cidr)
						continue;
					push_item(it, &peer->cidr, NONE);
					for (size_t e = 0; e < peer->nexcept; e++)
						push_item(it, &peer->except[e], NONE);
				}
		}
	}
	zs_qsort(names->v, names->n, sizeof(*names->v), cmp_name);
	size_t n = 0;
	for (size_t i = 0; i < names->n; i++)
		if (!n || strcmp(names->v[n - 1], names->v[i]))
			names->v[n++] = names->v[i];
	names->n = n;
}

/*
 * The sweep: items sorted, each distinct prefix Q becomes a policy prefix
 * whose class is what holds Q: the prefixes open at Q (the stack: those
 * holding it, nested) and Q's own tags.
 */
static void sweep(struct cctx *c, const items_t *it)
{
	struct cidr_classes *cc = c->classes;
	struct {
		const struct zs_prefix *p;
		uint32_t inl, coll;
	} stack[MAX_DEPTH];
	size_t sp = 0;

	for (size_t i = 0, j; i < it->n; i = j) {
		const struct zs_prefix *q = &it->v[i].p;
		while (sp && !inside(stack[sp - 1].p, q))
			sp--;
		uint32_t inl = sp ? stack[sp - 1].inl : NONE, coll = sp ? stack[sp - 1].coll : 0;
		for (j = i; j < it->n && !zs_prefix_cmp(&it->v[j].p, q); j++) {
			if (it->v[j].tag != NONE) {
				coll = coll_add(cc, coll, it->v[j].tag);
			} else if (inl == NONE || zs_prefix_cmp(&cc->inl.v[inl], q)) {
				inl = (uint32_t)cc->inl.n;
				*ZS_VEC_PUSH(&cc->inl) = *q;
			}
		}
		if (sp < MAX_DEPTH)
			stack[sp++] = (__typeof__(stack[0])){ q, inl, coll };
		struct cidr *x = ZS_VEC_PUSH(&c->cidrs);
		x->p = *q;
		x->id = class_of(cc, inl, coll); /* the class index, until numbered */
	}
}

/* A class's key: the longest inline prefix's text, then " + set:NAME" for each set. */
static char *class_key(const struct cidr_classes *cc, const struct cls *k)
{
	const struct coll *co = &cc->colls.v[k->coll];
	size_t len = 64;
	char buf[64], *out, *at;

	for (uint32_t i = 0; i < co->n; i++)
		len += strlen(cc->sets[cc->pool.v[co->off + i]]->name) + 8;
	out = at = zs_xcalloc(len, 1);
	if (k->inl != NONE)
		at += sprintf(at, "%s", zs_prefix_str(&cc->inl.v[k->inl], buf, sizeof(buf)));
	for (uint32_t i = 0; i < co->n; i++)
		at += sprintf(at, "%sset:%s", at == out ? "" : " + ",
			      cc->sets[cc->pool.v[co->off + i]]->name);
	return out;
}

/* CSR of classes by inline prefix and by set. */
static void index_classes(struct cidr_classes *cc)
{
	size_t ninl = cc->inl.n, ncls = cc->cls.n, total = 0;
	uint32_t *at;

	cc->inl_first = zs_xcalloc(ninl + 2, sizeof(uint32_t));
	cc->by_inl = zs_xcalloc(ncls + 1, sizeof(uint32_t));
	cc->set_first = zs_xcalloc(cc->nsets + 2, sizeof(uint32_t));
	for (size_t k = 0; k < ncls; k++) {
		const struct coll *co = &cc->colls.v[cc->cls.v[k].coll];
		if (cc->cls.v[k].inl != NONE)
			cc->inl_first[cc->cls.v[k].inl + 1]++;
		for (uint32_t i = 0; i < co->n; i++)
			cc->set_first[cc->pool.v[co->off + i] + 1]++;
		total += co->n;
	}
	for (size_t i = 0; i < ninl; i++)
		cc->inl_first[i + 1] += cc->inl_first[i];
	for (size_t i = 0; i < cc->nsets; i++)
		cc->set_first[i + 1] += cc->set_first[i];
	cc->by_set = zs_xcalloc(total + 1, sizeof(uint32_t));
	at = zs_xcalloc(ninl + cc->nsets + 1, sizeof(uint32_t));
	for (size_t k = 0; k < ncls; k++) {
		const struct coll *co = &cc->colls.v[cc->cls.v[k].coll];
		uint32_t inl = cc->cls.v[k].inl;
		if (inl != NONE)
			cc->by_inl[cc->inl_first[inl] + at[inl]++] = (uint32_t)k;
		for (uint32_t i = 0; i < co->n; i++) {
			uint32_t s = cc->pool.v[co->off + i];
			cc->by_set[cc->set_first[s] + at[ninl + s]++] = (uint32_t)k;
		}
	}
	free(at);
}

/* Numbers the classes (stable: keyed by their keys) and gives each policy prefix its class's. */
static void number_classes(struct cctx *c)
{
	struct cidr_classes *cc = c->classes;
	size_t n = cc->cls.n;
	char **keys = zs_xcalloc(n + 1, sizeof(*keys));

	cc->cls_id = zs_xcalloc(n + 1, sizeof(uint32_t));
	for (size_t k = 0; k < n; k++)
		keys[k] = class_key(cc, &cc->cls.v[k]);
	zs_identity_get_classes(c->ids, (const char *const *)keys, n, cc->cls_id);
	for (size_t k = 0; k < n; k++)
		free(keys[k]);
	free(keys);
	for (size_t i = 0; i < c->cidrs.n; i++)
		c->cidrs.v[i].id = cc->cls_id[c->cidrs.v[i].id];
}

/*
 * it->v holds nruns sorted runs, run r at [at[r], at[r + 1]): merged pairwise
 * into one sorted list, O(n log runs). A set's members are sorted already
 * (model.h), so a 100k-member set is not sorted again at every compile.
 */
static void merge_runs(items_t *it, size_t *at, size_t nruns)
{
	struct item *buf = zs_xcalloc(it->n + 1, sizeof(*buf)), *src = it->v, *dst = buf, *t;

	while (nruns > 1) {
		size_t k = 0;
		for (size_t r = 0; r < nruns; r += 2) {
			size_t i = at[r], m = at[r + 1], end = r + 1 < nruns ? at[r + 2] : m, j = m;
			size_t o = i;
			while (i < m || j < end)
				dst[o++] = j == end || (i < m && cmp_item(&src[i], &src[j]) <= 0) ?
						   src[i++] :
						   src[j++];
			at[k++] = at[r];
		}
		at[k] = it->n;
		nruns = k;
		t = src, src = dst, dst = t;
	}
	zs_memcpy(it->v, src, it->n * sizeof(*src));
	free(buf);
}

/* Whether a set's members are in order (so one run of the merge). */
static bool members_sorted(const struct zs_addrset *s)
{
	for (size_t i = 1; i < s->n; i++)
		if (zs_prefix_cmp(&s->members[i - 1], &s->members[i]) > 0)
			return false;
	return true;
}

/* The items: the inline prefixes (sorted here) and each referenced set's members, merged. */
static void collect_items(struct cctx *c, items_t *it, const names_t *names)
{
	struct cidr_classes *cc = c->classes;
	size_t *at = zs_xcalloc(names->n + 3, sizeof(*at)), nruns = 1;

	zs_qsort(it->v, it->n, sizeof(*it->v), cmp_item);
	at[1] = it->n;
	for (size_t s = 0; s < names->n; s++) {
		const struct zs_addrset *set = zs_objects_set(c->o, names->v[s]);
		size_t first = it->n;
		cc->sets[s] = set;
		for (size_t m = 0; m < set->n; m++)
			push_item(it, &set->members[m], (uint32_t)s);
		if (!members_sorted(set))
			zs_qsort(&it->v[first], set->n, sizeof(*it->v), cmp_item);
		at[++nruns] = it->n;
	}
	merge_runs(it, at, nruns);
	free(at);
}

void zs_compile_cidrs(struct cctx *c)
{
	struct cidr_classes *cc;

	zs_compile_cidrs_free(c); /* a compile run again on the same context */
	c->cidrs.n = 0;
	cc = c->classes = zs_xcalloc(1, sizeof(*cc));
	items_t it = { 0 };
	names_t names = { 0 };
	size_t cap = 16;

	gather(c, &it, &names);
	cc->nsets = names.n;
	cc->sets = zs_xcalloc(names.n + 1, sizeof(*cc->sets));
	collect_items(c, &it, &names);
	free(names.v);
	while (cap < 2 * (it.n + 1))
		cap *= 2;
	cc->ht_mask = cap - 1;
	cc->coll_ht = zs_xcalloc(cap, sizeof(uint32_t));
	cc->cls_ht = zs_xcalloc(cap, sizeof(uint32_t));
	ZS_VEC_PUSH(&cc->colls); /* 0: the empty collection */
	sweep(c, &it);
	free(it.v);
	index_classes(cc);
	number_classes(c);
}

void zs_compile_cidrs_free(struct cctx *c)
{
	struct cidr_classes *cc = c->classes;

	c->classes = NULL;
	if (!cc)
		return;
	free(cc->sets);
	free(cc->colls.v);
	free(cc->pool.v);
	free(cc->cls.v);
	free(cc->coll_ht);
	free(cc->cls_ht);
	free(cc->cls_id);
	free(cc->inl.v);
	free(cc->inl_first);
	free(cc->by_inl);
	free(cc->set_first);
	free(cc->by_set);
	free(cc);
}

/*
 * The inline prefixes whose address lies in `outer`: one run [*lo, return)
 * of the sorted list (family, address, length), from outer's own address on.
 * Those in it shorter than outer (at outer's address) are not inside it.
 */
static size_t inl_run(const struct cidr_classes *cc, const struct zs_prefix *outer, size_t *lo)
{
	struct zs_prefix key = *outer;
	size_t l = 0, h = cc->inl.n;

	zs_prefix_truncate(&key, outer->len);
	key.len = 0;
	while (l < h) {
		size_t mid = l + (h - l) / 2;
		if (zs_prefix_cmp(&cc->inl.v[mid], &key) < 0)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	while (h < cc->inl.n && addr_within(outer, &cc->inl.v[h]))
		h++;
	return h;
}

/*
 * The classes whose longest inline prefix is inside peer's cidr and inside
 * none of its excepts (an address is in cidr C exactly when its longest
 * inline prefix is inside C: prefixes nest), in prefix order. Those inside
 * a prefix are one run of the sorted list: found by binary search, not by
 * testing every prefix (which made N inline /32 peers cost N^2). An except
 * holding the cidr leaves nothing; one inside it strikes out its own run.
 */
void zs_compile_cidr_peer(const struct cctx *c, const struct zs_peer *peer, ids_t *out)
{
	const struct cidr_classes *cc = c->classes;
	size_t lo, hi = inl_run(cc, &peer->cidr, &lo), elo, ehi;
	bool *struck = NULL;

	for (size_t e = 0; e < peer->nexcept; e++) {
		const struct zs_prefix *x = &peer->except[e];
		if (zs_prefix_contains(x, &peer->cidr)) {
			free(struck);
			return;
		}
		if (!zs_prefix_contains(&peer->cidr, x))
			continue;
		if (!struck)
			struck = zs_xcalloc(hi - lo + 1, sizeof(*struck));
		ehi = inl_run(cc, x, &elo);
		for (size_t i = elo; i < ehi; i++)
			struck[i - lo] |= cc->inl.v[i].len >= x->len;
	}
	for (size_t i = lo; i < hi; i++)
		if (cc->inl.v[i].len >= peer->cidr.len && !(struck && struck[i - lo]))
			for (uint32_t k = cc->inl_first[i]; k < cc->inl_first[i + 1]; k++)
				*ZS_VEC_PUSH(out) = cc->cls_id[cc->by_inl[k]];
	free(struck);
}

void zs_compile_set_peer(const struct cctx *c, const struct zs_peer *peer, ids_t *out)
{
	const struct cidr_classes *cc = c->classes;
	size_t l = 0, h = cc->nsets;

	while (l < h) {
		size_t mid = l + (h - l) / 2;
		int r = strcmp(cc->sets[mid]->name, peer->set);
		if (!r) {
			for (uint32_t k = cc->set_first[mid]; k < cc->set_first[mid + 1]; k++)
				*ZS_VEC_PUSH(out) = cc->cls_id[cc->by_set[k]];
			return;
		}
		if (r < 0)
			l = mid + 1;
		else
			h = mid;
	}
}

/* An owner of addresses: a workload, or the host. */
struct owner {
	struct zs_prefix p;
	uint32_t identity;
	const struct zs_workload *w;
};

static int cmp_owner(const void *a, const void *b)
{
	return zs_prefix_cmp(&((const struct owner *)a)->p, &((const struct owner *)b)->p);
}

typedef ZS_VEC(struct owner) owners_t;

/* The addresses of workloads and of the host, sorted and unique. */
static void collect_owners(struct cctx *c, owners_t *own)
{
	const struct zs_objects *o = c->o;

	for (size_t i = 0; i < o->workloads.n; i++) {
		const struct zs_workload *w = &o->workloads.v[i];
		uint32_t id = c->wl_id[i];
		for (size_t a = 0; a < w->naddrs; a++) {
			struct owner *x = ZS_VEC_PUSH(own);
			x->p = w->addrs[a];
			x->identity = id;
			x->w = w;
		}
	}
	for (size_t i = 0; i < o->host_addrs.n; i++) {
		struct owner *x = ZS_VEC_PUSH(own);
		x->p = o->host_addrs.v[i];
		x->identity = ZS_ID_HOST;
	}
	/* A workload's address wins over the same host address. */
	zs_qsort(own->v, own->n, sizeof(*own->v), cmp_owner);
	size_t n = 0;
	for (size_t i = 0; i < own->n; i++) {
		if (n && !zs_prefix_cmp(&own->v[n - 1].p, &own->v[i].p)) {
			if (own->v[i].w)
				own->v[n - 1] = own->v[i];
			continue;
		}
		own->v[n++] = own->v[i];
	}
	own->n = n;
}

/* The prefix lengths the ipcache holds, longest first, per family. */
static void ipcache_lens(struct zs_compiled *out)
{
	bool has4[33] = { false }, has6[129] = { false };

	for (size_t i = 0; i < out->ipcache.n; i++) {
		const struct zs_prefix *p = &out->ipcache.v[i].prefix;
		if (p->family == 4)
			has4[p->len] = true;
		else
			has6[p->len] = true;
	}
	for (int len = 32; len >= 0; len--)
		if (has4[len])
			out->lens4[out->nlens4++] = (uint8_t)len;
	for (int len = 128; len >= 0; len--)
		if (has6[len])
			out->lens6[out->nlens6++] = (uint8_t)len;
}

/* The next prefix of two sorted lists, the smaller head (both when equal). */
static const struct zs_prefix *next_prefix(const owners_t *own, size_t oi, const struct cctx *c,
					   size_t ci)
{
	const struct zs_prefix *a = oi < own->n ? &own->v[oi].p : NULL;
	const struct zs_prefix *b = ci < c->cidrs.n ? &c->cidrs.v[ci].p : NULL;

	if (!a || !b)
		return a ? a : b;
	return zs_prefix_cmp(a, b) <= 0 ? a : b;
}

/*
 * The ipcache: every workload, host and policy prefix, each with the owner
 * and CIDR identity of its longest enclosing prefixes (itself included), so
 * the datapath's one LPM lookup answers both for any address. One merge of
 * the two sorted lists, with a stack of the open prefixes of each: the
 * longest enclosing one is the top.
 */
void zs_compile_ipcache(struct cctx *c)
{
	owners_t own = { 0 };
	const struct owner *os[MAX_DEPTH];
	const struct cidr *cs[MAX_DEPTH];
	size_t oi = 0, ci = 0, osp = 0, csp = 0;
	const struct zs_prefix *q;

	collect_owners(c, &own);
	while ((q = next_prefix(&own, oi, c, ci))) {
		struct zs_prefix p = *q;
		while (osp && !inside(&os[osp - 1]->p, &p))
			osp--;
		while (csp && !inside(&cs[csp - 1]->p, &p))
			csp--;
		/* Distinct nested prefixes are at most MAX_DEPTH deep: the stacks never fill. */
		if (oi < own.n && !zs_prefix_cmp(&own.v[oi].p, &p) && osp < MAX_DEPTH)
			os[osp++] = &own.v[oi];
		if (oi < own.n && !zs_prefix_cmp(&own.v[oi].p, &p))
			oi++;
		if (ci < c->cidrs.n && !zs_prefix_cmp(&c->cidrs.v[ci].p, &p) && csp < MAX_DEPTH)
			cs[csp++] = &c->cidrs.v[ci];
		if (ci < c->cidrs.n && !zs_prefix_cmp(&c->cidrs.v[ci].p, &p))
			ci++;

		struct zs_c_ipcache *ip = ZS_VEC_PUSH(&c->out->ipcache);
		const struct owner *ow = osp ? os[osp - 1] : NULL;
		ip->prefix = p;
		ip->identity = ow ? ow->identity : ZS_ID_WORLD;
		ip->cidr = csp ? cs[csp - 1]->id : 0;
		if (ow && ow->w) {
			ip->ifname = ow->w->ifname ? zs_xstrdup(ow->w->ifname) : NULL;
			ip->workload = zs_xasprintf("%s/%s", ow->w->ns, ow->w->name);
		}
	}
	free(own.v);
	ipcache_lens(c->out);
	zs_compile_cidrs_free(c);
}
