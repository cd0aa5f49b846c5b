// SPDX-License-Identifier: MIT
/*
 * The datapath object's lifecycle: open the skeleton with its maps pinned
 * under a bpffs directory (mounted if need be), adopting the pins an earlier
 * daemon left, size the conntrack table, load, and take the fds the rest of
 * userspace uses; close; and remove the pins. Which maps are pinned, and
 * where, is the skeleton's to say (LIBBPF_PIN_BY_NAME in bpf/lib/maps.h):
 * nothing here keeps its own list of names.
 */
#include "datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <libgen.h>
#include <libmnl/libmnl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "datapath.skel.h"
#include "util/base.h"
#include "util/file.h"

/* Where the kernel means bpffs to be mounted: a directory of sysfs. */
#define BPFFS_HOME "/sys/fs/bpf"

static bool is_bpffs(const char *dir)
{
	struct statfs st;

	return statfs(dir, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/*
 * 1 when this process's mount namespace is not pid 1's (or, where that
 * cannot be read, not its parent's: `ip netns exec` makes one and execs
 * us), 0 when it is, -1 when neither can be read.
 */
static int mount_ns_private(void)
{
	char self[64], other[64], parent[32];
	ssize_t n = readlink("/proc/self/ns/mnt", self, sizeof(self) - 1), m;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	m = readlink("/proc/1/ns/mnt", other, sizeof(other) - 1);
	if (m <= 0) {
		snprintf(parent, sizeof(parent), "/proc/%d/ns/mnt", (int)getppid());
		m = readlink(parent, other, sizeof(other) - 1);
	}
	if (m <= 0)
		return -1;
	other[m] = '\0';
	return strcmp(self, other) != 0;
}

static int mount_bpffs(const char *at)
{
	if (mount("bpf", at, "bpf", 0, "mode=0700"))
		return -errno;
	pr_info("mounted bpffs on %s", at);
	if (mount_ns_private() == 1)
		pr_warn("bpffs on %s is mounted in a private mount namespace: the pins will go with it when this daemon exits, and a daemon started later will not adopt them; mount bpffs there in the host's namespace to keep them",
			at);
	return 0;
}

/*
 * Containers, `ip netns exec` (a fresh sysfs) and minimal hosts have
 * /sys/fs/bpf without bpffs on it, and sysfs makes no directories: bpffs is
 * mounted there first, as Cilium does. Any other directory is made and
 * bpffs mounted on it unless it is inside one already.
 */
int zs_bpffs_ensure(const char *dir)
{
	size_t home = strlen(BPFFS_HOME);
	int err;

	if (!strncmp(dir, BPFFS_HOME, home) && (dir[home] == '/' || !dir[home]) &&
	    !is_bpffs(BPFFS_HOME) && access(BPFFS_HOME, F_OK) == 0) {
		err = mount_bpffs(BPFFS_HOME);
		if (err)
			return err;
	}
	err = zs_mkdir_p(dir, 0700);
	if (err)
		return err;
	if (!is_bpffs(dir)) {
		err = mount_bpffs(dir);
		if (err)
			return err;
	}
	pr_info("pins under %s", dir);
	return 0;
}

/*
 * The skeleton, opened (not loaded) with `pin_dir` as its pin root, names
 * the pin of each map it pins: exactly those zs_dp_open makes.
 */
int zs_dp_unpin(const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct zs_datapath *skel = zs_datapath__open_opts(&opts);
	struct bpf_map *m;

	if (!skel)
		return -errno;
	bpf_object__for_each_map(m, skel->obj) {
		const char *path = bpf_map__pin_path(m);
		if (path)
			unlink(path);
	}
	zs_datapath__destroy(skel);
	return 0;
}

/*
 * A pin checked by its path alone (a stat: cheap enough for every tick).
 * Its directory may be gone too (removed, or the bpffs unmounted): it is
 * made again, and bpffs mounted on it if need be, as at open.
 */
int zs_dp_repin(struct zs_dp *dp, void (*repinned)(void *ctx, const char *path, int err), void *ctx)
{
	struct bpf_map *m;
	struct stat st;
	int missing = 0;

	if (!dp->skel)
		return 0;
	bpf_object__for_each_map(m, dp->skel->obj) {
		const char *path = bpf_map__pin_path(m);
		if (!path || stat(path, &st) == 0)
			continue;
		char *dir = zs_xstrdup(path);
		int err = zs_bpffs_ensure(dirname(dir));
		free(dir);
		/* bpf_map__pin would see the map as pinned already and do nothing. */
		if (!err && bpf_obj_pin(bpf_map__fd(m), path))
			err = -errno;
		missing++;
		repinned(ctx, path, err);
	}
	return missing;
}

/* The info of the map pinned at `path`: 0, or -1 when there is none. */
static int pinned_info(const char *path, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	int fd = bpf_obj_get(path);
	int err;

	memset(info, 0, sizeof(*info));
	if (fd < 0)
		return -1;
	err = bpf_obj_get_info_by_fd(fd, info, &len);
	close(fd);
	return err ? -1 : 0;
}

/*
 * A pinned conntrack table from another version (its key or entry layout
 * differs) cannot be reused, and would stop the datapath from loading: it is
 * removed and made anew. Flows are then judged again by policy, as after an
 * eviction.
 */
static void drop_stale_ct(const char *ct_pin, size_t key_size)
{
	struct bpf_map_info info;

	if (pinned_info(ct_pin, &info) == 0 &&
	    (info.key_size != key_size || info.value_size != sizeof(struct zs_ct_entry))) {
		pr_warn("conntrack table %s is from another version (entries of %u bytes, now %zu): made anew, flows are judged again",
			ct_pin, info.value_size, sizeof(struct zs_ct_entry));
		unlink(ct_pin);
	}
}

/*
 * The conntrack capacity to load with: `want`, unless a table is pinned at
 * `ct_pin` (NULL: not pinned). A pinned table keeps its size: flows in it
 * survive the restart.
 */
static unsigned ct_capacity(const char *ct_pin, unsigned want)
{
	struct bpf_map_info info;
	unsigned have;

	if (!ct_pin || !want || pinned_info(ct_pin, &info))
		return want;
	have = info.max_entries;
	if (have && have != want) {
		pr_warn("conntrack capacity stays %u (the pinned table's); to change it to %u, stop the daemon and remove %s",
			have, want, ct_pin);
		return have;
	}
	return want;
}

/* A loaded program's id (what an interface's hook reports); 0 when unknown. */
static unsigned prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The fds the writer, the daemon and the tests use, once loaded. */
static void take_fds(struct zs_dp *dp)
{
	dp->fd[ZS_MAP_ENDPOINTS] = bpf_map__fd(dp->skel->maps.zs_endpoints);
	dp->fd[ZS_MAP_IPCACHE] = bpf_map__fd(dp->skel->maps.zs_ipcache);
	dp->fd[ZS_MAP_HANDLES] = bpf_map__fd(dp->skel->maps.zs_handles);
	dp->fd[ZS_MAP_POLICY] = bpf_map__fd(dp->skel->maps.zs_policy);
	dp->fd[ZS_MAP_CONFIG] = bpf_map__fd(dp->skel->maps.zs_config);
	dp->ct_fd = bpf_map__fd(dp->skel->maps.zs_ct);
	dp->ct4_fd = bpf_map__fd(dp->skel->maps.zs_ct4);
	dp->events_fd = bpf_map__fd(dp->skel->maps.zs_events);
	dp->reasons_fd = bpf_map__fd(dp->skel->maps.zs_reasons);
	dp->stats_fd = bpf_map__fd(dp->skel->maps.zs_stats);
	dp->inflight_fd = bpf_map__fd(dp->skel->maps.zs_inflight);
	dp->from_ep_fd = bpf_program__fd(dp->skel->progs.zs_tc_from_ep);
	dp->to_ep_fd = bpf_program__fd(dp->skel->progs.zs_tc_to_ep);
	dp->xdp_uplink_fd = bpf_program__fd(dp->skel->progs.zs_xdp_uplink);
	dp->xdp_shield_fd = bpf_program__fd(dp->skel->progs.zs_xdp_shield);
	dp->ct_max = bpf_map__max_entries(dp->skel->maps.zs_ct);
	dp->from_ep_id = prog_id(dp->from_ep_fd);
	dp->to_ep_id = prog_id(dp->to_ep_fd);
	dp->xdp_uplink_id = prog_id(dp->xdp_uplink_fd);
	dp->xdp_shield_id = prog_id(dp->xdp_shield_fd);
}

int zs_dp_open(struct zs_dp *dp, const char *pin_dir)
{
	struct zs_dp_opts o = { 0 };
	return zs_dp_open_opts(dp, pin_dir, &o);
}

int zs_dp_open_opts(struct zs_dp *dp, const char *pin_dir, const struct zs_dp_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	const char *ct_pin, *ct4_pin;
	struct bpf_map *m;
	unsigned ct_max;
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
	if (!pin_dir) /* else libbpf pins under its default root */
		bpf_object__for_each_map(m, dp->skel->obj)
			bpf_map__set_pin_path(m, NULL);
	ct_pin = bpf_map__pin_path(dp->skel->maps.zs_ct);
	ct4_pin = bpf_map__pin_path(dp->skel->maps.zs_ct4);
	if (ct_pin)
		drop_stale_ct(ct_pin, sizeof(struct zs_ct_key));
	if (ct4_pin)
		drop_stale_ct(ct4_pin, sizeof(struct zs_ct4_key));
	/* Both tables take the size of a pinned one (a daemon before zs_ct4 left only zs_ct). */
	ct_max = ct_capacity(ct_pin, ct_capacity(ct4_pin, o->ct_max));
	if (ct_max) {
		bpf_map__set_max_entries(dp->skel->maps.zs_ct, ct_max);
		bpf_map__set_max_entries(dp->skel->maps.zs_ct4, ct_max);
	}
	err = zs_datapath__load(dp->skel);
	if (err) {
		pr_warn("loading the datapath failed (%s)%s%s", strerror(-err),
			pin_dir ? "; if the pinned maps are from another version, remove " : "",
			pin_dir ? pin_dir : "");
		goto err_skel;
	}
	take_fds(dp);
	return 0;

err_skel:
	zs_datapath__destroy(dp->skel);
	dp->skel = NULL;
	return err;
}

void zs_dp_close(struct zs_dp *dp)
{
	if (dp->tc_nl)
		mnl_socket_close(dp->tc_nl);
	if (dp->skel)
		zs_datapath__destroy(dp->skel);
	memset(dp, 0, sizeof(*dp));
}
