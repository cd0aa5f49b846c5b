// SPDX-License-Identifier: MIT
/* Flow lifecycle; see lifecycle.h. */
#include "telemetry/lifecycle.h"

#include <stdlib.h>
#include <string.h>

#include "telemetry/flows.h"
#include "util/util.h"

#define FIN_LINGER_NS 1000000000ull /* FIN/RST seen, quiet 1 s: ended */

void zs_lifecycle_init(struct zs_lifecycle *lc, uint64_t active_ns, uint64_t idle_ns)
{
	memset(lc, 0, sizeof(*lc));
	lc->active_ns = active_ns;
	lc->idle_ns = idle_ns;
	lc->fin_ns = FIN_LINGER_NS < idle_ns ? FIN_LINGER_NS : idle_ns;
}

void zs_lifecycle_free(struct zs_lifecycle *lc)
{
	free(lc->t);
	memset(lc, 0, sizeof(*lc));
}

static size_t slot_of(const struct zs_lifecycle *lc, const struct zs_ct_key *k)
{
	return zs_fnv1a(k, sizeof(*k), ZS_FNV_INIT) & (lc->cap - 1);
}

static struct zs_lc_flow *find(struct zs_lifecycle *lc, const struct zs_ct_key *k, bool create)
{
	if (create && (lc->n + 1) * 2 > lc->cap) {
		struct zs_lc_flow *old = lc->t;
		size_t oldcap = lc->cap;
		lc->cap = lc->cap ? lc->cap * 2 : 1024;
		lc->t = zs_xcalloc(lc->cap, sizeof(*lc->t));
		lc->n = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].used) {
				struct zs_lc_flow *f = find(lc, &old[i].key, true);
				*f = old[i];
			}
		free(old);
	}
	if (!lc->cap)
		return NULL;
	for (size_t i = slot_of(lc, k);; i = (i + 1) & (lc->cap - 1)) {
		struct zs_lc_flow *f = &lc->t[i];
		if (!f->used) {
			if (!create)
				return NULL;
			memset(f, 0, sizeof(*f));
			f->used = true;
			f->key = *k;
			lc->n++;
			return f;
		}
		if (!memcmp(&f->key, k, sizeof(*k)))
			return f;
	}
}

/* Removes f, re-placing the entries of its probe chain (no tombstones). */
static void erase(struct zs_lifecycle *lc, struct zs_lc_flow *f)
{
	size_t i = (size_t)(f - lc->t);

	f->used = false;
	lc->n--;
	for (size_t j = (i + 1) & (lc->cap - 1); lc->t[j].used; j = (j + 1) & (lc->cap - 1)) {
		struct zs_lc_flow moved = lc->t[j];
		lc->t[j].used = false;
		lc->n--;
		*find(lc, &moved.key, true) = moved;
	}
}

void zs_lifecycle_begin(struct zs_lifecycle *lc)
{
	lc->scan++;
}

enum zs_lc_due zs_lifecycle_see(struct zs_lifecycle *lc, const struct zs_ct_key *k,
				const struct zs_ct_entry *e, uint64_t now, uint8_t *end_reason,
				const struct zs_lc_flow **prev)
{
	uint64_t idle = now > e->last_ns ? now - e->last_ns : 0;
	struct zs_lc_flow *f;

	if (e->verdict == ZS_VERDICT_DENY) {
		/* Denied flows are reported by the datapath; a tracked one was revoked. */
		f = find(lc, k, false);
		if (f)
			erase(lc, f);
		/* The datapath reports drops when the next one comes; the last ones, here. */
		if (e->suppressed && idle >= FIN_LINGER_NS && now - e->report_ns >= FIN_LINGER_NS)
			return ZS_LC_DENIED_TAIL;
		return idle >= lc->idle_ns ? ZS_LC_FORGET : ZS_LC_NOTHING;
	}
	f = find(lc, k, true);
	if (!f->reported_ns)
		f->reported_ns = e->created_ns; /* the datapath's start record */
	f->scan = lc->scan;
	f->last = *e;
	*prev = f;
	if ((e->tcp_flags & 0x05) && idle >= lc->fin_ns) { /* FIN or RST, then quiet */
		*end_reason = ZS_END_OF_FLOW;
		return ZS_LC_END;
	}
	if (idle >= lc->idle_ns) {
		*end_reason = ZS_END_IDLE;
		return ZS_LC_END;
	}
	if (now - f->reported_ns >= lc->active_ns) {
		*end_reason = ZS_END_ACTIVE;
		return ZS_LC_UPDATE;
	}
	return ZS_LC_NOTHING;
}

void zs_lifecycle_reported(struct zs_lifecycle *lc, const struct zs_ct_key *k,
			   const struct zs_ct_entry *e, uint64_t now)
{
	struct zs_lc_flow *f = find(lc, k, false);

	if (!f)
		return;
	f->reported_ns = now;
	memcpy(f->packets, e->packets, sizeof(f->packets));
	memcpy(f->bytes, e->bytes, sizeof(f->bytes));
}

void zs_lifecycle_forget(struct zs_lifecycle *lc, const struct zs_ct_key *k)
{
	struct zs_lc_flow *f = find(lc, k, false);
	if (f)
		erase(lc, f);
}

void zs_lifecycle_sweep(struct zs_lifecycle *lc,
			void (*gone)(void *arg, const struct zs_lc_flow *f), void *arg)
{
	for (size_t i = 0; i < lc->cap;) {
		struct zs_lc_flow *f = &lc->t[i];
		if (f->used && f->scan != lc->scan) {
			gone(arg, f);
			erase(lc, f); /* may move a later entry into slot i: look again */
			continue;
		}
		i++;
	}
}
