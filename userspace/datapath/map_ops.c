// SPDX-License-Identifier: MIT
/*
 * zs_dp_map_ops: the writer's ops table (writer.h) on the loaded maps. Each
 * op is one bpf() call on the map's fd, 0 or -errno; interface names resolve
 * through the transaction's snapshot when there is one; quiesce is quiesce.c.
 */
#include "datapath/datapath.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <net/if.h>

#include "datapath/quiesce.h"

static int dp_update(void *ctx, enum zs_map m, const void *key, const void *val)
{
	struct zs_dp *dp = ctx;
	return bpf_map_update_elem(dp->fd[m], key, val, BPF_ANY) ? -errno : 0;
}

/*
 * One bpf() call for n entries (BPF_MAP_UPDATE_BATCH: ~1 us an entry here
 * against ~3 us for one call each, at 100k policy entries). A kernel without
 * batch updates on the map type fails it; the caller then writes one by one.
 */
static int dp_update_batch(void *ctx, enum zs_map m, const void *keys, const void *vals, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);
	struct zs_dp *dp = ctx;
	__u32 count = (__u32)n;

	if (bpf_map_update_batch(dp->fd[m], keys, vals, &count, &o))
		return -errno;
	return count == n ? 0 : -EIO;
}

static int dp_lookup(void *ctx, enum zs_map m, const void *key, void *val)
{
	struct zs_dp *dp = ctx;
	return bpf_map_lookup_elem(dp->fd[m], key, val) ? -errno : 0;
}

static int dp_del(void *ctx, enum zs_map m, const void *key)
{
	struct zs_dp *dp = ctx;
	return bpf_map_delete_elem(dp->fd[m], key) ? -errno : 0;
}

static int dp_next_key(void *ctx, enum zs_map m, const void *key, void *next)
{
	struct zs_dp *dp = ctx;
	return bpf_map_get_next_key(dp->fd[m], key, next) ? -errno : 0;
}

static unsigned dp_ifindex(void *ctx, const char *ifname)
{
	const struct zs_dp *dp = ctx;

	return dp && dp->iftab ? zs_iftab_index(dp->iftab, ifname) : if_nametoindex(ifname);
}

const struct zs_map_ops zs_dp_map_ops = {
	.quiesce = zs_dp_quiesce,
	.update = dp_update,
	.update_batch = dp_update_batch,
	.lookup = dp_lookup,
	.del = dp_del,
	.next_key = dp_next_key,
	.ifindex = dp_ifindex,
};
