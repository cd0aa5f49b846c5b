// SPDX-License-Identifier: MIT
/*
 * The writer's after-flip work (writer.h has the sequence): zs_writer_settle
 * retires the old generation once no packet uses it (its handles, endpoint
 * and ipcache slots are synced to the new one, and what nothing uses is
 * deleted), and the first apply's sweep deletes what an earlier daemon left
 * in the maps that this one does not know.
 */
#include "datapath/writer.h"
#include "datapath/writer_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- sweeping what an earlier daemon left and we do not know ---------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static bool handle_live(const uint32_t *live, size_t n, uint32_t h)
{
	return zs_bsearch(&h, live, n, sizeof(h), cmp_u32) != NULL;
}

union sweep_key {
	struct zs_policy_key pk;
	struct zs_handle_key hk;
	struct zs_ipcache_key ik;
	uint32_t ifindex;
};

/* Whether `key` of map `m` is ours: `live` holds our handles, sorted. */
static bool sweep_keeps(struct zs_writer *w, enum zs_map m, const union sweep_key *key,
			const uint32_t *live, size_t nlive)
{
	switch (m) {
	case ZS_MAP_POLICY:
		return handle_live(live, nlive, key->pk.handle);
	case ZS_MAP_HANDLES: {
		uint32_t h;
		return w->ops->lookup(w->ctx, ZS_MAP_HANDLES, &key->hk, &h) == 0 &&
		       handle_live(live, nlive, h) && zs_w_old_subject(w, key->hk.identity) &&
		       zs_w_old_subject(w, key->hk.identity)->handle == h;
	}
	case ZS_MAP_ENDPOINTS:
		return zs_w_old_endpoint(w, key->ifindex) != NULL;
	case ZS_MAP_IPCACHE: {
		struct zs_prefix p = { .family = (uint8_t)key->ik.family,
				       .len = (uint8_t)(key->ik.prefixlen - 32) };
		memcpy(p.addr, key->ik.addr, 16);
		return zs_w_old_ipcache(w, &p) != NULL;
	}
	default:
		return false;
	}
}

/*
 * `foreign`: policy entries the maps held before this (first) apply. When
 * there were none the policy map holds only what we just wrote, and its walk
 * (about 1.5 us a key on an LPM trie: 150 ms at 100k entries) is skipped.
 */
void zs_w_sweep(struct zs_writer *w, size_t foreign, unsigned held)
{
	union sweep_key key, next;
	ZS_VEC(union sweep_key) dead = { 0 };
	static const enum zs_map maps[] = { ZS_MAP_POLICY, ZS_MAP_HANDLES, ZS_MAP_ENDPOINTS,
					    ZS_MAP_IPCACHE };
	size_t nlive = w->subjects.n, stuck = 0;
	uint32_t *live_handles = zs_xcalloc(nlive + 1, sizeof(*live_handles));

	for (size_t i = 0; i < nlive; i++)
		live_handles[i] = w->subjects.v[i].handle;
	zs_qsort(live_handles, nlive, sizeof(*live_handles), cmp_u32);

	for (size_t m = 0; m < ZS_ARRAY_SIZE(maps); m++) {
		int err;
		if (maps[m] == ZS_MAP_POLICY ? !foreign : !(held & 1u << maps[m]))
			continue;
		dead.n = 0;
		memset(&key, 0, sizeof(key));
		for (err = w->ops->next_key(w->ctx, maps[m], NULL, &next); !err;
		     err = w->ops->next_key(w->ctx, maps[m], &key, &next)) {
			key = next;
			if (!sweep_keeps(w, maps[m], &key, live_handles, nlive))
				*ZS_VEC_PUSH(&dead) = key;
		}
		for (size_t i = 0; i < dead.n; i++)
			if (w->ops->del(w->ctx, maps[m], &dead.v[i]) && maps[m] == ZS_MAP_POLICY)
				stuck++;
	}
	free(dead.v);
	free(live_handles);
	/* What is left: our entries (every handle is fresh) and what would not go. */
	w->policy_entries = stuck;
	for (size_t i = 0; i < w->subjects.n; i++)
		w->policy_entries += w->subjects.v[i].n;
}

/* ---- settle: after a flip, once no packet uses the old generation ---- */

/*
 * Handles: the old generation `og` gets each subject's handle where it
 * differs; a gone subject's slot goes, and every handle no longer in use
 * takes its policy entries with it.
 */
static void settle_handles(struct zs_writer *w, uint32_t og)
{
	for (size_t i = 0; i < w->subjects.n; i++) {
		const struct zs_w_subject *s = &w->subjects.v[i];
		const struct zs_w_subject *p = zs_w_find_subject(w->prev.subjects.v, w->prev.subjects.n,
							    s->identity);
		if (!p || p->handle != s->handle) {
			struct zs_handle_key hk = { .gen = og, .identity = s->identity };
			w->ops->update(w->ctx, ZS_MAP_HANDLES, &hk, &s->handle);
		}
	}
	for (size_t i = 0; i < w->prev.subjects.n; i++) {
		const struct zs_w_subject *p = &w->prev.subjects.v[i];
		const struct zs_w_subject *now = zs_w_old_subject(w, p->identity);
		if (!now) {
			struct zs_handle_key hk = { .gen = og, .identity = p->identity };
			w->ops->del(w->ctx, ZS_MAP_HANDLES, &hk);
		}
		/* An unchanged subject keeps its handle; any other old handle is dead. */
		if (!now || now->handle != p->handle) {
			zs_w_delete_entries(w, p->handle, p->e, p->n);
			w->policy_entries -= p->n < w->policy_entries ? p->n : w->policy_entries;
		}
	}
}

/* Endpoints: both generations the same where they differ; gone ones deleted. */
static void settle_endpoints(struct zs_writer *w)
{
	for (size_t i = 0; i < w->endpoints.n; i++) {
		const struct zs_w_endpoint *e = &w->endpoints.v[i];
		const struct zs_w_endpoint *p = zs_bsearch(e, w->prev.endpoints.v, w->prev.endpoints.n,
							sizeof(*e), zs_w_cmp_endpoint);
		if (p && p->identity == e->identity)
			continue;
		struct zs_endpoint v = { .flags = ZS_EP_READY };
		v.identity[0] = v.identity[1] = e->identity;
		w->ops->update(w->ctx, ZS_MAP_ENDPOINTS, &e->ifindex, &v);
	}
	for (size_t i = 0; i < w->prev.endpoints.n; i++)
		if (!zs_w_old_endpoint(w, w->prev.endpoints.v[i].ifindex))
			w->ops->del(w->ctx, ZS_MAP_ENDPOINTS, &w->prev.endpoints.v[i].ifindex);
}

/*
 * The ipcache: both generations the same where they differ (in one batch
 * update: a 100k-prefix blocklist's first apply spent ~0.3 s here one call
 * each); gone prefixes deleted. Both lists are sorted by prefix: one merge
 * walk, no search per entry.
 */
static void settle_ipcache(struct zs_writer *w)
{
	const struct zs_w_ipcache *now = w->ipcache.v, *prev = w->prev.ipcache.v;
	size_t nn = w->ipcache.n, np = w->prev.ipcache.n, n = 0;
	struct zs_ipcache_key *k = zs_xcalloc(nn + 1, sizeof(*k));
	struct zs_ipcache_val *v = zs_xcalloc(nn + 1, sizeof(*v));
	struct zs_ipcache_key dk;

	for (size_t i = 0, j = 0; i < nn || j < np;) {
		int c = i == nn ? 1 : j == np ? -1 : zs_prefix_cmp(&now[i].prefix, &prev[j].prefix);
		if (c > 0) { /* gone */
			zs_ipcache_key_make(&dk, &prev[j++].prefix);
			w->ops->del(w->ctx, ZS_MAP_IPCACHE, &dk);
			continue;
		}
		const struct zs_w_ipcache *e = &now[i++], *p = c == 0 ? &prev[j++] : NULL;
		if (p && p->identity == e->identity && p->cidr == e->cidr && p->ifindex == e->ifindex)
			continue;
		zs_ipcache_key_make(&k[n], &e->prefix);
		v[n].ifindex = e->ifindex;
		v[n].identity[0] = v[n].identity[1] = e->identity;
		v[n].cidr[0] = v[n].cidr[1] = e->cidr;
		n++;
	}
	zs_w_update_many(w, ZS_MAP_IPCACHE, k, sizeof(*k), v, sizeof(*v), n);
	free(k);
	free(v);
}

int zs_writer_settle(struct zs_writer *w)
{
	if (!w->pending)
		return 0;
	/* Packets that read the old revision run to completion first. */
	if (w->ops->quiesce)
		w->ops->quiesce(w->ctx);
	settle_handles(w, (w->revision & 1) ^ 1);
	settle_endpoints(w);
	settle_ipcache(w);
	zs_w_free_prev(w);
	w->pending = false;
	return 0;
}
