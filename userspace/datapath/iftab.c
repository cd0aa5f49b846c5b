// SPDX-License-Identifier: MIT
/*
 * The interface snapshot of iftab.h: if_nameindex() once, then two sorted
 * copies (by name, by index) that answer each question with a binary search.
 */
#include "datapath/iftab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/base.h"

static int cmp_if_name(const void *a, const void *b)
{
	return strcmp(((const struct if_nameindex *)a)->if_name,
		      ((const struct if_nameindex *)b)->if_name);
}

static int cmp_if_index(const void *a, const void *b)
{
	unsigned x = ((const struct if_nameindex *)a)->if_index;
	unsigned y = ((const struct if_nameindex *)b)->if_index;
	return (x > y) - (x < y);
}

int zs_iftab_load(struct zs_iftab *t)
{
	memset(t, 0, sizeof(*t));
	t->all = if_nameindex();
	if (!t->all)
		return -errno;
	while (t->all[t->n].if_index)
		t->n++;
	t->by_name = zs_xcalloc(t->n + 1, sizeof(*t->by_name));
	t->by_index = zs_xcalloc(t->n + 1, sizeof(*t->by_index));
	memcpy(t->by_name, t->all, t->n * sizeof(*t->all));
	memcpy(t->by_index, t->all, t->n * sizeof(*t->all));
	qsort(t->by_name, t->n, sizeof(*t->by_name), cmp_if_name);
	qsort(t->by_index, t->n, sizeof(*t->by_index), cmp_if_index);
	return 0;
}

void zs_iftab_free(struct zs_iftab *t)
{
	if (t->all)
		if_freenameindex(t->all);
	free(t->by_name);
	free(t->by_index);
	memset(t, 0, sizeof(*t));
}

unsigned zs_iftab_index(const struct zs_iftab *t, const char *name)
{
	struct if_nameindex key = { .if_name = (char *)name };
	const struct if_nameindex *e =
		t->n ? bsearch(&key, t->by_name, t->n, sizeof(key), cmp_if_name) : NULL;
	return e ? e->if_index : 0;
}

const char *zs_iftab_name(const struct zs_iftab *t, unsigned ifindex)
{
	struct if_nameindex key = { .if_index = ifindex };
	const struct if_nameindex *e =
		t->n ? bsearch(&key, t->by_index, t->n, sizeof(key), cmp_if_index) : NULL;
	return e ? e->if_name : NULL;
}
