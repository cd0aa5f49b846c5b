// SPDX-License-Identifier: MIT
/*
 * The compiler's address side. Every prefix a policy names (cidr and each
 * except) gets an identity of its own; an address's CIDR identity is that of
 * the longest policy prefix holding it, so "in cidr C but in no except E"
 * becomes a set of identities like any selector's (docs/DESIGN-NOTES.md,
 * "CIDR identities"). The ipcache holds every workload, host and policy
 * prefix with its owner identity and its CIDR identity.
 */
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"
#include "policy/compile_int.h"

static int cmp_cidr(const void *a, const void *b)
{
	return zs_prefix_cmp(&((const struct cidr *)a)->p, &((const struct cidr *)b)->p);
}

static void add_cidr(struct cctx *c, const struct zs_prefix *p)
{
	struct cidr *x = ZS_VEC_PUSH(&c->cidrs);
	x->p = *p;
}

/* Every prefix a policy names, unique and sorted, each with its identity. */
void zs_compile_cidrs(struct cctx *c)
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
					if (!peer->has_cidr)
						continue;
					add_cidr(c, &peer->cidr);
					for (size_t e = 0; e < peer->nexcept; e++)
						add_cidr(c, &peer->except[e]);
				}
		}
	}
	zs_qsort(c->cidrs.v, c->cidrs.n, sizeof(*c->cidrs.v), cmp_cidr);
	size_t n = 0;
	for (size_t i = 0; i < c->cidrs.n; i++)
		if (!n || zs_prefix_cmp(&c->cidrs.v[n - 1].p, &c->cidrs.v[i].p))
			c->cidrs.v[n++] = c->cidrs.v[i];
	c->cidrs.n = n;
	if (!n)
		return;
	uint32_t *id = zs_xcalloc(n, sizeof(*id));
	zs_identity_get_cidrs(c->ids, &c->cidrs.v[0].p, sizeof(*c->cidrs.v), n, id);
	for (size_t i = 0; i < n; i++)
		c->cidrs.v[i].id = id[i];
	free(id);
}

/* p's address has `outer`'s first outer->len bits (p's own length aside). */
static bool addr_within(const struct zs_prefix *outer, const struct zs_prefix *p)
{
	unsigned bytes = outer->len / 8, bits = outer->len % 8;

	if (p->family != outer->family || memcmp(p->addr, outer->addr, bytes))
		return false;
	return !bits || !((p->addr[bytes] ^ outer->addr[bytes]) & (0xff00 >> bits));
}

/*
 * The policy prefixes whose address lies in `outer`: one run [*lo, return)
 * of the sorted list (family, address, length), from outer's own address on.
 * Those in it shorter than outer (at outer's address) are not inside it.
 */
static size_t cidr_run(const struct cctx *c, const struct zs_prefix *outer, size_t *lo)
{
	struct zs_prefix key = *outer;
	size_t l = 0, h = c->cidrs.n;

	zs_prefix_truncate(&key, outer->len);
	key.len = 0;
	while (l < h) {
		size_t mid = l + (h - l) / 2;
		if (zs_prefix_cmp(&c->cidrs.v[mid].p, &key) < 0)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	while (h < c->cidrs.n && addr_within(outer, &c->cidrs.v[h].p))
		h++;
	return h;
}

/*
 * The identities of the policy prefixes inside peer's cidr and inside none
 * of its excepts, in the list's order. Prefixes nest or are disjoint, so
 * those inside a prefix are one run of the sorted list: found by binary
 * search, not by testing every prefix (which made N inline /32 peers cost
 * N^2: 100k took minutes). An except holding the cidr leaves nothing; one
 * inside it strikes out its own run.
 */
void zs_compile_cidr_peer(const struct cctx *c, const struct zs_peer *peer, ids_t *out)
{
	size_t lo, hi = cidr_run(c, &peer->cidr, &lo), elo, ehi;
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
		ehi = cidr_run(c, x, &elo);
		for (size_t i = elo; i < ehi; i++)
			struck[i - lo] |= c->cidrs.v[i].p.len >= x->len;
	}
	for (size_t i = lo; i < hi; i++)
		if (c->cidrs.v[i].p.len >= peer->cidr.len && !(struck && struck[i - lo]))
			*ZS_VEC_PUSH(out) = c->cidrs.v[i].id;
	free(struck);
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

/*
 * The ipcache: every workload, host and policy prefix, each with the owner
 * and CIDR identity of its longest enclosing prefixes (itself included), so
 * the datapath's one LPM lookup answers both for any address.
 */
void zs_compile_ipcache(struct cctx *c)
{
	owners_t own = { 0 };
	ZS_VEC(struct zs_prefix) all = { 0 };

	collect_owners(c, &own);
	for (size_t i = 0; i < own.n; i++)
		*ZS_VEC_PUSH(&all) = own.v[i].p;
	for (size_t i = 0; i < c->cidrs.n; i++)
		*ZS_VEC_PUSH(&all) = c->cidrs.v[i].p;
	zs_qsort(all.v, all.n, sizeof(*all.v), (int (*)(const void *, const void *))zs_prefix_cmp);

	for (size_t i = 0; i < all.n; i++) {
		if (i && !zs_prefix_cmp(&all.v[i - 1], &all.v[i]))
			continue;
		struct zs_c_ipcache *ip = ZS_VEC_PUSH(&c->out->ipcache);
		const struct owner *ow = NULL;
		const struct cidr *cid = NULL;
		struct zs_prefix q = all.v[i];

		for (int len = q.len; len >= 0 && (!ow || !cid); len--) {
			zs_prefix_truncate(&q, (unsigned)len);
			if (!ow) {
				struct owner key = { .p = q };
				ow = zs_bsearch(&key, own.v, own.n, sizeof(key), cmp_owner);
			}
			if (!cid) {
				struct cidr key = { .p = q };
				cid = zs_bsearch(&key, c->cidrs.v, c->cidrs.n, sizeof(key), cmp_cidr);
			}
		}
		ip->prefix = all.v[i];
		ip->identity = ow ? ow->identity : ZS_ID_WORLD;
		ip->cidr = cid ? cid->id : 0;
		if (ow && ow->w) {
			ip->ifname = ow->w->ifname ? zs_xstrdup(ow->w->ifname) : NULL;
			ip->workload = zs_xasprintf("%s/%s", ow->w->ns, ow->w->name);
		}
	}
	free(own.v);
	free(all.v);
	ipcache_lens(c->out);
}
