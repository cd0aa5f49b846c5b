// SPDX-License-Identifier: MIT
/*
 * zs_validate: the checks that span objects, run on every batch a parse
 * produces and on every whole state the daemon would commit. No two workloads
 * share an interface or an address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parse.h"

struct owner_ref {
	const char *ifname;            /* or NULL */
	const struct zs_prefix *addr;  /* or NULL */
	size_t w;                      /* workload index */
};

static int cmp_ifname_ref(const void *a, const void *b)
{
	const struct owner_ref *x = a, *y = b;
	int r = strcmp(x->ifname, y->ifname);
	return r ? r : (x->w > y->w) - (x->w < y->w);
}

static int cmp_addr_ref(const void *a, const void *b)
{
	const struct owner_ref *x = a, *y = b;
	int r = zs_prefix_cmp(x->addr, y->addr);
	return r ? r : (x->w > y->w) - (x->w < y->w);
}

/*
 * No two workloads share an interface or an address. Sorted, so a 10k
 * workload estate validates in milliseconds; the later workload (in file
 * order) is the one reported.
 */
int zs_validate(const struct zs_objects *o, struct zs_diags *d)
{
	ZS_VEC(struct owner_ref) ifs = { 0 }, addrs = { 0 };
	int errors = 0;

	for (size_t i = 0; i < o->workloads.n; i++) {
		const struct zs_workload *w = &o->workloads.v[i];
		if (w->ifname)
			*ZS_VEC_PUSH(&ifs) = (struct owner_ref){ .ifname = w->ifname, .w = i };
		for (size_t a = 0; a < w->naddrs; a++)
			*ZS_VEC_PUSH(&addrs) = (struct owner_ref){ .addr = &w->addrs[a], .w = i };
	}
	zs_qsort(ifs.v, ifs.n, sizeof(*ifs.v), cmp_ifname_ref);
	zs_qsort(addrs.v, addrs.n, sizeof(*addrs.v), cmp_addr_ref);
	for (size_t i = 1; i < ifs.n; i++) {
		size_t first = i - 1;
		while (i < ifs.n && !strcmp(ifs.v[i].ifname, ifs.v[first].ifname)) {
			const struct zs_workload *a = &o->workloads.v[ifs.v[i].w];
			const struct zs_workload *b = &o->workloads.v[ifs.v[first].w];
			zs_diag(d, &a->mark, "Workload %s/%s: interface %s is already %s/%s's", a->ns,
				a->name, a->ifname, b->ns, b->name);
			errors++;
			i++;
		}
	}
	for (size_t i = 1; i < addrs.n; i++) {
		size_t first = i - 1;
		while (i < addrs.n && !zs_prefix_cmp(addrs.v[i].addr, addrs.v[first].addr)) {
			const struct zs_workload *a = &o->workloads.v[addrs.v[i].w];
			const struct zs_workload *b = &o->workloads.v[addrs.v[first].w];
			char buf[64];
			zs_diag(d, &a->mark, "Workload %s/%s: address %s is already %s/%s's", a->ns,
				a->name, zs_prefix_str(addrs.v[i].addr, buf, sizeof(buf)), b->ns, b->name);
			errors++;
			i++;
		}
	}
	free(ifs.v);
	free(addrs.v);
	return errors ? -EINVAL : 0;
}
