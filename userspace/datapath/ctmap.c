// SPDX-License-Identifier: MIT
/*
 * Conntrack from userspace by a flow's struct zs_ct_key: the datapath keeps
 * IPv4 flows in zs_ct4 under a 16-byte key and IPv6 flows in zs_ct (see
 * bpf/abi.h); everything above this file names a flow by its zs_ct_key, and
 * these functions take it to the table of its family.
 */
#include "datapath/datapath.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

void zs_ct4_key_from(struct zs_ct4_key *k4, const struct zs_ct_key *k)
{
	memset(k4, 0, sizeof(*k4));
	memcpy(k4->addr_lo, k->addr_lo, sizeof(k4->addr_lo));
	memcpy(k4->addr_hi, k->addr_hi, sizeof(k4->addr_hi));
	k4->port_lo = k->port_lo;
	k4->port_hi = k->port_hi;
	k4->proto = k->proto;
	k4->family = k->family;
}

void zs_ct_key_from4(struct zs_ct_key *k, const struct zs_ct4_key *k4)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr_lo, k4->addr_lo, sizeof(k4->addr_lo));
	memcpy(k->addr_hi, k4->addr_hi, sizeof(k4->addr_hi));
	k->port_lo = k4->port_lo;
	k->port_hi = k4->port_hi;
	k->proto = k4->proto;
	k->family = k4->family;
}

/* The fd and the key of the flow's table; *k4 is filled for an IPv4 flow. */
static int table_of(const struct zs_dp *dp, const struct zs_ct_key *k, struct zs_ct4_key *k4,
		    const void **key)
{
	if (k->family == ZS_AF_INET) {
		zs_ct4_key_from(k4, k);
		*key = k4;
		return dp->ct4_fd;
	}
	*key = k;
	return dp->ct_fd;
}

int zs_dp_ct_lookup(const struct zs_dp *dp, const struct zs_ct_key *k, struct zs_ct_entry *e)
{
	struct zs_ct4_key k4;
	const void *key;
	int fd = table_of(dp, k, &k4, &key);

	return bpf_map_lookup_elem(fd, key, e) ? -errno : 0;
}

int zs_dp_ct_update(const struct zs_dp *dp, const struct zs_ct_key *k, const struct zs_ct_entry *e,
		    unsigned long long flags)
{
	struct zs_ct4_key k4;
	const void *key;
	int fd = table_of(dp, k, &k4, &key);

	return bpf_map_update_elem(fd, key, e, flags) ? -errno : 0;
}

int zs_dp_ct_delete(const struct zs_dp *dp, const struct zs_ct_key *k)
{
	struct zs_ct4_key k4;
	const void *key;
	int fd = table_of(dp, k, &k4, &key);

	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}
