/* SPDX-License-Identifier: MIT */
/*
 * The datapath from userspace: load the tc object with its maps pinned under
 * a bpffs directory (adopting pins an earlier daemon left), attach and detach
 * the programs on interfaces, and the real map ops for the writer.
 *
 * skel.c: open, load, pins, bpffs; attach.c: tc and XDP; map_ops.c: the
 * writer's ops on the loaded maps, with quiesce.c's wait; iftab.h: the
 * interface snapshot a transaction resolves names with.
 */
#ifndef ZS_DATAPATH_H
#define ZS_DATAPATH_H

#include <stdbool.h>

#include "datapath/iftab.h"
#include "datapath/writer.h"

struct zs_datapath;

struct zs_dp {
	struct zs_datapath *skel;
	/* Set for the length of a transaction: the writer's name lookups use it
	 * (an interface newer than the snapshot comes with a netlink event). */
	const struct zs_iftab *iftab;
	int fd[ZS_MAP_COUNT];
	int ct_fd;
	int events_fd;
	int reasons_fd;
	int stats_fd;
	int inflight_fd; /* packets inside a full path, per CPU (the writer's quiesce) */
	int from_ep_fd; /* program fds */
	int to_ep_fd;
	int xdp_uplink_fd;
	int xdp_shield_fd;
	unsigned ct_max; /* the conntrack table's capacity */
};

/*
 * Makes `dir` a directory on bpffs: mounts bpffs on /sys/fs/bpf when `dir`
 * is under it and it has none (a fresh sysfs), else on `dir` unless it is
 * on bpffs already. Says where the pins live, and warns when a mount it
 * made is in a private mount namespace (the pins will not outlive it).
 */
int zs_bpffs_ensure(const char *dir);
struct zs_dp_opts {
	unsigned ct_max; /* conntrack entries; 0: ZS_MAX_CT */
};

/* `pin_dir` NULL: maps are not pinned (packet tests). */
int zs_dp_open(struct zs_dp *dp, const char *pin_dir);
int zs_dp_open_opts(struct zs_dp *dp, const char *pin_dir, const struct zs_dp_opts *o);
void zs_dp_close(struct zs_dp *dp);
int zs_dp_attach(struct zs_dp *dp, unsigned ifindex);
int zs_dp_detach(unsigned ifindex);
/*
 * XDP: the uplink prefilter or a workload's flood shield, in native mode
 * where the driver has it, generic otherwise. *mode says which ("native",
 * "generic").
 */
int zs_dp_attach_xdp(struct zs_dp *dp, unsigned ifindex, bool shield, const char **mode);
int zs_dp_detach_xdp(unsigned ifindex);
/* Removes every pin zs_dp_open made under `pin_dir`. */
int zs_dp_unpin(const char *pin_dir);

extern const struct zs_map_ops zs_dp_map_ops; /* ctx: struct zs_dp * */

#endif /* ZS_DATAPATH_H */
