// SPDX-License-Identifier: MIT
/*
 * Shared blocks of a compiled state: its strings and entry arrays are
 * reference counted (compile_int.h), so that the compile cache and every
 * state made from it hold what did not change once; and zs_compiled_free,
 * which drops a state's references.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "policy/compile_int.h"

/* ---- shared blocks ------------------------------------------------------ */

struct rc_head {
	atomic_size_t refs;
	size_t pad; /* 16 bytes: the block stays aligned for any entry */
};

void *zs_rc_alloc(size_t size)
{
	struct rc_head *h = zs_xcalloc(1, sizeof(*h) + size + 1);

	atomic_init(&h->refs, 1);
	return h + 1;
}

void *zs_rc_ref(void *p)
{
	if (p)
		atomic_fetch_add_explicit(&((struct rc_head *)p - 1)->refs, 1, memory_order_relaxed);
	return p;
}

void zs_rc_unref(void *p)
{
	struct rc_head *h = p ? (struct rc_head *)p - 1 : NULL;

	if (h && atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1)
		free(h);
}

char *zs_rc_strdup(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *d = s ? zs_rc_alloc(n) : NULL;

	if (d)
		memcpy(d, s, n + 1);
	return d;
}

void zs_compiled_share_ipcache(struct zs_compiled *c)
{
	for (size_t i = 0; i < c->ipcache.n; i++) {
		struct zs_c_ipcache *ip = &c->ipcache.v[i];
		char *ifname = zs_rc_strdup(ip->ifname), *workload = zs_rc_strdup(ip->workload);
		free(ip->ifname);
		free(ip->workload);
		ip->ifname = ifname;
		ip->workload = workload;
	}
}

#define VEC_COPY(dst, src)                                                       \
	do {                                                                     \
		(dst).n = (dst).cap = (src).n;                                   \
		(dst).v = zs_xcalloc((src).n + 1, sizeof(*(src).v));             \
		zs_memcpy((dst).v, (src).v, (src).n * sizeof(*(src).v));        \
	} while (0)

void zs_compiled_share(const struct zs_compiled *c, struct zs_compiled *out)
{
	*out = *c;
	VEC_COPY(out->endpoints, c->endpoints);
	VEC_COPY(out->ipcache, c->ipcache);
	VEC_COPY(out->subjects, c->subjects);
	VEC_COPY(out->rules, c->rules);
	for (size_t i = 0; i < c->endpoints.n; i++) {
		zs_rc_ref(c->endpoints.v[i].ifname);
		zs_rc_ref(c->endpoints.v[i].workload);
	}
	for (size_t i = 0; i < c->ipcache.n; i++) {
		zs_rc_ref(c->ipcache.v[i].ifname);
		zs_rc_ref(c->ipcache.v[i].workload);
	}
	for (size_t i = 0; i < c->subjects.n; i++)
		zs_rc_ref(c->subjects.v[i].e);
	for (size_t i = 0; i < c->rules.n; i++)
		zs_rc_ref(c->rules.v[i].policy);
}

void zs_compiled_free(struct zs_compiled *c)
{
	for (size_t i = 0; i < c->endpoints.n; i++) {
		zs_rc_unref(c->endpoints.v[i].ifname);
		zs_rc_unref(c->endpoints.v[i].workload);
	}
	for (size_t i = 0; i < c->ipcache.n; i++) {
		zs_rc_unref(c->ipcache.v[i].ifname);
		zs_rc_unref(c->ipcache.v[i].workload);
	}
	for (size_t i = 0; i < c->subjects.n; i++)
		zs_rc_unref(c->subjects.v[i].e);
	for (size_t i = 0; i < c->rules.n; i++)
		zs_rc_unref(c->rules.v[i].policy);
	free(c->endpoints.v);
	free(c->ipcache.v);
	free(c->subjects.v);
	free(c->rules.v);
	memset(c, 0, sizeof(*c));
}
