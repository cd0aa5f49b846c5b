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
struct mnl_socket;

struct zs_dp {
	struct zs_datapath *skel;
	/* Set for the length of a transaction: the writer's name lookups use it
	 * (an interface newer than the snapshot comes with a netlink event). */
	const struct zs_iftab *iftab;
	int fd[ZS_MAP_COUNT];
	int ct_fd;  /* conntrack, IPv6 flows (struct zs_ct_key) */
	int ct4_fd; /* conntrack, IPv4 flows (struct zs_ct4_key): see zs_dp_ct_* */
	int events_fd;
	int reasons_fd;
	int stats_fd;
	int inflight_fd; /* packets inside a full path, per CPU (the writer's quiesce) */
	int from_ep_fd; /* program fds */
	int to_ep_fd;
	int xdp_uplink_fd;
	int xdp_shield_fd;
	/* Our programs' ids: what an interface must carry (zs_dp_verify). */
	unsigned from_ep_id, to_ep_id, xdp_uplink_id, xdp_shield_id;
	struct mnl_socket *tc_nl; /* zs_dp_verify's netlink socket, opened at first use */
	unsigned tc_seq;
	unsigned ct_max; /* each conntrack table's capacity (one per family) */
};

/*
 * Makes `dir` a directory on bpffs: mounts bpffs on /sys/fs/bpf when `dir`
 * is under it and it has none (a fresh sysfs), else on `dir` unless it is
 * on bpffs already. Says where the pins live, and warns when a mount it
 * made is in a private mount namespace (the pins will not outlive it).
 */
int zs_bpffs_ensure(const char *dir);
struct zs_dp_opts {
	unsigned ct_max; /* conntrack entries per family; 0: ZS_MAX_CT */
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

/*
 * The hooks an interface carries our programs on, as bits. A workload's
 * interface wants the tc pair (and the shield where it asks for one); an
 * uplink wants the XDP prefilter.
 */
enum zs_dp_hook {
	ZS_DP_HOOK_TC_INGRESS = 1u << 0, /* zs_tc_from_ep */
	ZS_DP_HOOK_TC_EGRESS = 1u << 1,  /* zs_tc_to_ep */
	ZS_DP_HOOK_XDP_SHIELD = 1u << 2, /* zs_xdp_shield, native or generic */
	ZS_DP_HOOK_XDP_UPLINK = 1u << 3, /* zs_xdp_uplink, native or generic */
};
#define ZS_DP_HOOK_TC (ZS_DP_HOOK_TC_INGRESS | ZS_DP_HOOK_TC_EGRESS)
/* In zs_dp_verify's *foreign: another qdisc than clsact at ffff: (an `ingress` one). */
#define ZS_DP_FOREIGN_QDISC (1u << 8)
/* "tc-ingress", "tc-egress", "xdp" (both XDP programs) for one bit; "?" else. */
const char *zs_dp_hook_name(unsigned hook);
/*
 * Which of the hooks in `want` on `ifindex` do not run our program (the
 * qdisc or filter deleted, XDP detached, or another program in our place),
 * as bits; those holding another program are also set in *foreign, and
 * ZS_DP_FOREIGN_QDISC with both tc bits when another qdisc than clsact
 * holds ffff:. The kernel is asked, not a list we keep. -errno when it
 * cannot tell (-ENODEV: the interface is gone).
 */
int zs_dp_verify(struct zs_dp *dp, unsigned ifindex, unsigned want, unsigned *foreign);
/*
 * Puts our programs back on the hooks in `missing` (as attach does: another
 * qdisc at ffff: is replaced by clsact), then verifies them: 0, -EPROTO when
 * the kernel still does not show them in force, or -errno.
 */
int zs_dp_repair(struct zs_dp *dp, unsigned ifindex, unsigned missing);
/* Removes every pin zs_dp_open made under `pin_dir`. */
int zs_dp_unpin(const char *pin_dir);
/*
 * Pins that have gone from under the pin directory (removed by hand, the
 * bpffs unmounted) made again from the maps this process holds: the same
 * maps, so what they hold (the revision in zs_config among it) is kept.
 * `repinned(ctx, path, err)` is called for each pin found missing (err: 0
 * when it is back). Returns how many were missing. Nothing to do for a
 * datapath opened without pins.
 */
int zs_dp_repin(struct zs_dp *dp, void (*repinned)(void *ctx, const char *path, int err), void *ctx);

extern const struct zs_map_ops zs_dp_map_ops; /* ctx: struct zs_dp * */

/*
 * Conntrack by a flow's struct zs_ct_key, in the table of its family (ctmap.c;
 * bpf/abi.h says why there are two): 0 or -errno.
 */
int zs_dp_ct_lookup(const struct zs_dp *dp, const struct zs_ct_key *k, struct zs_ct_entry *e);
int zs_dp_ct_update(const struct zs_dp *dp, const struct zs_ct_key *k, const struct zs_ct_entry *e,
		    unsigned long long flags);
int zs_dp_ct_delete(const struct zs_dp *dp, const struct zs_ct_key *k);
/* An IPv4 flow's key between the two forms (zs_ct_key: family ZS_AF_INET). */
void zs_ct4_key_from(struct zs_ct4_key *k4, const struct zs_ct_key *k);
void zs_ct_key_from4(struct zs_ct_key *k, const struct zs_ct4_key *k4);

#endif /* ZS_DATAPATH_H */
