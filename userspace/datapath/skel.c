// SPDX-License-Identifier: MIT
/*
 * The datapath object's lifecycle: open the skeleton with its maps pinned
 * under a bpffs directory (mounted if need be), adopting the pins an earlier
 * daemon left, size the conntrack table, load, and take the fds the rest of
 * userspace uses; close; and remove the pins.
 */
#include "datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "datapath.skel.h"
#include "util/base.h"
#include "util/file.h"

int zs_bpffs_ensure(const char *dir)
{
	struct statfs st;
	int err = zs_mkdir_p(dir, 0700);

	if (err)
		return err;
	if (statfs(dir, &st))
		return -errno;
	if (st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", dir, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

static const char *const pinned[] = { "zs_endpoints", "zs_ipcache", "zs_handles", "zs_policy",
				       "zs_config",    "zs_ct",      "zs_frags",   "zs_events",
				       "zs_reasons",   "zs_stats",   "zs_inflight" };

int zs_dp_unpin(const char *pin_dir)
{
	for (size_t i = 0; i < ZS_ARRAY_SIZE(pinned); i++) {
		char *p = zs_xasprintf("%s/%s", pin_dir, pinned[i]);
		unlink(p);
		free(p);
	}
	return 0;
}

/* The capacity of a map pinned under pin_dir, or 0 when there is none. */
static unsigned pinned_max_entries(const char *pin_dir, const char *name)
{
	char *p = zs_xasprintf("%s/%s", pin_dir, name);
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(p);
	unsigned max = 0;

	free(p);
	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		max = info.max_entries;
	close(fd);
	return max;
}

/*
 * A pinned conntrack table from another version (its entry layout differs)
 * cannot be reused, and would stop the datapath from loading: it is removed
 * and made anew. Flows are then judged again by policy, as after an eviction.
 */
static void drop_stale_ct(const char *pin_dir)
{
	char *p = zs_xasprintf("%s/zs_ct", pin_dir);
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(p);

	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    (info.key_size != sizeof(struct zs_ct_key) || info.value_size != sizeof(struct zs_ct_entry))) {
		pr_warn("conntrack table %s is from another version (entries of %u bytes, now %zu): made anew, flows are judged again",
			p, info.value_size, sizeof(struct zs_ct_entry));
		unlink(p);
	}
	if (fd >= 0)
		close(fd);
	free(p);
}

int zs_dp_open(struct zs_dp *dp, const char *pin_dir)
{
	struct zs_dp_opts o = { 0 };
	return zs_dp_open_opts(dp, pin_dir, &o);
}

int zs_dp_open_opts(struct zs_dp *dp, const char *pin_dir, const struct zs_dp_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	unsigned ct_max = o->ct_max;
	int err;

	memset(dp, 0, sizeof(*dp));
	if (pin_dir) {
		err = zs_bpffs_ensure(pin_dir);
		if (err) {
			pr_warn("bpffs at %s: %s", pin_dir, strerror(-err));
			return err;
		}
	}
	dp->skel = zs_datapath__open_opts(&opts);
	if (!dp->skel)
		return -errno;
	if (!pin_dir) {
		struct bpf_map *m;
		bpf_object__for_each_map(m, dp->skel->obj)
			bpf_map__set_pin_path(m, NULL);
	} else {
		drop_stale_ct(pin_dir);
	}
	if (pin_dir && ct_max) {
		/* A pinned table keeps its size: flows in it survive the restart. */
		unsigned have = pinned_max_entries(pin_dir, "zs_ct");
		if (have && have != ct_max) {
			pr_warn("conntrack capacity stays %u (the pinned table's); to change it to %u, stop the daemon and remove %s/zs_ct",
				have, ct_max, pin_dir);
			ct_max = have;
		}
	}
	if (ct_max)
		bpf_map__set_max_entries(dp->skel->maps.zs_ct, ct_max);
	err = zs_datapath__load(dp->skel);
	if (err) {
		pr_warn("loading the datapath failed (%s)%s%s", strerror(-err),
			pin_dir ? "; if the pinned maps are from another version, remove " : "",
			pin_dir ? pin_dir : "");
		zs_datapath__destroy(dp->skel);
		dp->skel = NULL;
		return err;
	}
	dp->fd[ZS_MAP_ENDPOINTS] = bpf_map__fd(dp->skel->maps.zs_endpoints);
	dp->fd[ZS_MAP_IPCACHE] = bpf_map__fd(dp->skel->maps.zs_ipcache);
	dp->fd[ZS_MAP_HANDLES] = bpf_map__fd(dp->skel->maps.zs_handles);
	dp->fd[ZS_MAP_POLICY] = bpf_map__fd(dp->skel->maps.zs_policy);
	dp->fd[ZS_MAP_CONFIG] = bpf_map__fd(dp->skel->maps.zs_config);
	dp->ct_fd = bpf_map__fd(dp->skel->maps.zs_ct);
	dp->events_fd = bpf_map__fd(dp->skel->maps.zs_events);
	dp->reasons_fd = bpf_map__fd(dp->skel->maps.zs_reasons);
	dp->stats_fd = bpf_map__fd(dp->skel->maps.zs_stats);
	dp->inflight_fd = bpf_map__fd(dp->skel->maps.zs_inflight);
	dp->from_ep_fd = bpf_program__fd(dp->skel->progs.zs_tc_from_ep);
	dp->to_ep_fd = bpf_program__fd(dp->skel->progs.zs_tc_to_ep);
	dp->xdp_uplink_fd = bpf_program__fd(dp->skel->progs.zs_xdp_uplink);
	dp->xdp_shield_fd = bpf_program__fd(dp->skel->progs.zs_xdp_shield);
	dp->ct_max = bpf_map__max_entries(dp->skel->maps.zs_ct);
	return 0;
}

void zs_dp_close(struct zs_dp *dp)
{
	if (dp->skel)
		zs_datapath__destroy(dp->skel);
	memset(dp, 0, sizeof(*dp));
}
