/* SPDX-License-Identifier: MIT */
/*
 * A snapshot of the host's interfaces (one netlink dump through
 * if_nameindex), for the many name <-> index questions of one transaction:
 * one lookup per workload instead of one syscall each.
 */
#ifndef ZS_IFTAB_H
#define ZS_IFTAB_H

#include <net/if.h>
#include <stddef.h>

struct zs_iftab {
	struct if_nameindex *all; /* as if_nameindex() returned it */
	struct if_nameindex *by_name, *by_index; /* sorted copies */
	size_t n;
};

int zs_iftab_load(struct zs_iftab *t);
void zs_iftab_free(struct zs_iftab *t);
/* 0 when there is no such interface in the snapshot. */
unsigned zs_iftab_index(const struct zs_iftab *t, const char *name);
/* NULL when there is no such interface in the snapshot. */
const char *zs_iftab_name(const struct zs_iftab *t, unsigned ifindex);

#endif /* ZS_IFTAB_H */
