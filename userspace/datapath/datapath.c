// SPDX-License-Identifier: MIT
/* Loading, pinning and attaching the datapath; see datapath.h. */
#define _GNU_SOURCE
#include "datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>

#include "datapath.skel.h"

#define ZS_TC_HANDLE 0x7a73 /* "zs" */
#define ZS_TC_PRIO 1

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

static int tc_attach_one(unsigned ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ZS_TC_HANDLE, .priority = ZS_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

int zs_dp_attach(struct zs_dp *dp, unsigned ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err;

	err = bpf_tc_hook_create(&hook); /* the clsact qdisc */
	if (err && err != -EEXIST)
		return err;
	/* Replace in place: a restarted daemon swaps programs with no gap. */
	err = tc_attach_one(ifindex, BPF_TC_INGRESS, dp->from_ep_fd);
	if (!err)
		err = tc_attach_one(ifindex, BPF_TC_EGRESS, dp->to_ep_fd);
	return err;
}

int zs_dp_detach(unsigned ifindex)
{
	int err = 0;

	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex,
			    .attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = ZS_TC_HANDLE, .priority = ZS_TC_PRIO);
		int e = bpf_tc_detach(&hook, &opts);
		if (e && e != -ENOENT && !err)
			err = e;
	}
	return err;
}

int zs_dp_attach_xdp(struct zs_dp *dp, unsigned ifindex, bool shield, const char **mode)
{
	int fd = shield ? dp->xdp_shield_fd : dp->xdp_uplink_fd;
	int err = bpf_xdp_attach((int)ifindex, fd, XDP_FLAGS_DRV_MODE, NULL);

	*mode = "native";
	if (err) {
		/* Replaces a generic-mode program of ours, too. */
		bpf_xdp_detach((int)ifindex, XDP_FLAGS_DRV_MODE, NULL);
		err = bpf_xdp_attach((int)ifindex, fd, XDP_FLAGS_SKB_MODE, NULL);
		*mode = "generic";
	}
	return err;
}

int zs_dp_detach_xdp(unsigned ifindex)
{
	int a = bpf_xdp_detach((int)ifindex, XDP_FLAGS_DRV_MODE, NULL);
	int b = bpf_xdp_detach((int)ifindex, XDP_FLAGS_SKB_MODE, NULL);
	return a && b ? a : 0;
}

/* ---- the writer's ops on real maps ------------------------------------- */

static int dp_update(void *ctx, enum zs_map m, const void *key, const void *val)
{
	struct zs_dp *dp = ctx;
	return bpf_map_update_elem(dp->fd[m], key, val, BPF_ANY) ? -errno : 0;
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

static unsigned dp_ifindex(void *ctx, const char *ifname)
{
	const struct zs_dp *dp = ctx;

	return dp && dp->iftab ? zs_iftab_index(dp->iftab, ifname) : if_nametoindex(ifname);
}

/* PREEMPT_RT runs programs preemptibly: two could nest on one CPU's count. */
static bool kernel_is_rt(void)
{
	static int rt = -1;

	if (rt < 0) {
		char c = 0;
		struct utsname u;
		FILE *f = fopen("/sys/kernel/realtime", "r");
		rt = f && fread(&c, 1, 1, f) == 1 && c == '1';
		if (f)
			fclose(f);
		if (!rt && uname(&u) == 0)
			rt = strstr(u.version, "PREEMPT_RT") != NULL;
	}
	return rt;
}

/*
 * Waits until every CPU that was inside a program's full path when we looked
 * has left it (bpf/lib/maps.h, zs_inflight: odd while inside). The flip was
 * written before this is called; the fence orders it before our read, as
 * the program's atomic add orders its count before its revision read: a
 * packet either saw the new revision or is waited for. 0, or -1 when the
 * counts cannot be used (then the caller takes a grace period).
 */
static int inflight_wait(int fd)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t zero = 0;
	int ret = -1;

	if (fd < 0 || ncpu <= 0 || kernel_is_rt())
		return -1;
	uint64_t *seen = zs_xcalloc((size_t)ncpu, sizeof(*seen));
	uint64_t *now = zs_xcalloc((size_t)ncpu, sizeof(*now));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (bpf_map_lookup_elem(fd, &zero, seen))
		goto out;
	/* A packet's full path takes microseconds: a second is an anomaly, not a wait. */
	uint64_t give_up = zs_now_ns(CLOCK_MONOTONIC) + 1000000000ull;
	while (zs_now_ns(CLOCK_MONOTONIC) < give_up) {
		bool inside = false;
		for (int i = 0; i < ncpu; i++)
			inside |= seen[i] & 1;
		if (!inside) {
			ret = 0;
			break;
		}
		usleep(50);
		if (bpf_map_lookup_elem(fd, &zero, now))
			break;
		for (int i = 0; i < ncpu; i++)
			if (now[i] != seen[i])
				seen[i] = 0; /* that CPU left (and may be in again: a newer packet) */
	}
out:
	free(seen);
	free(now);
	return ret;
}

/*
 * Before the writer touches the generation a flip retired: every packet that
 * may still read it has finished. The in-flight counts answer in
 * microseconds on x86; otherwise (or if they cannot be read) an RCU grace
 * period: every BPF program run holds the RCU read lock.
 */
static void dp_quiesce(void *ctx)
{
	const struct zs_dp *dp = ctx;

#if defined(__x86_64__) || defined(__i386__)
	if (dp && inflight_wait(dp->inflight_fd) == 0)
		return;
#endif
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		usleep(20000); /* no membarrier (nohz_full): a generous wait instead */
}

const struct zs_map_ops zs_dp_map_ops = {
	.quiesce = dp_quiesce,
	.update = dp_update,
	.lookup = dp_lookup,
	.del = dp_del,
	.next_key = dp_next_key,
	.ifindex = dp_ifindex,
};
