/* SPDX-License-Identifier: MIT */
/*
 * The map writer: moves the datapath from one compiled state to the next,
 * atomically. Map access goes through an ops table so unit tests replace it
 * with an in-memory fake; the real one (zs_dp_map_ops, map_ops.c) talks to the loaded maps.
 *
 * One apply:
 *   1. subjects whose entries changed get a fresh handle, written in full;
 *   2. the inactive generation's handle slots, endpoint and ipcache
 *      identities are pointed at the new state;
 *   3. the revision is written: one 4-byte store flips every packet over;
 *   4. the other generation is synced, and what is no longer used deleted.
 * A failure before step 3 is rolled back; the old policy stays in force.
 */
#ifndef ZS_WRITER_H
#define ZS_WRITER_H

#include "bpf/abi.h"
#include "policy/compile.h"

enum zs_map {
	ZS_MAP_ENDPOINTS,
	ZS_MAP_IPCACHE,
	ZS_MAP_HANDLES,
	ZS_MAP_POLICY,
	ZS_MAP_CONFIG,
	ZS_MAP_COUNT,
};

struct zs_map_ops {
	int (*update)(void *ctx, enum zs_map m, const void *key, const void *val);
	int (*lookup)(void *ctx, enum zs_map m, const void *key, void *val);
	int (*del)(void *ctx, enum zs_map m, const void *key);
	/*
	 * Optional: n updates at once (keys and vals: arrays of the map's key
	 * and value structs), 0 or -errno, some written on failure. NULL: the
	 * writer calls update per entry.
	 */
	int (*update_batch)(void *ctx, enum zs_map m, const void *keys, const void *vals, size_t n);
	/* Like bpf_map_get_next_key: key NULL for the first; -ENOENT at the end. */
	int (*next_key)(void *ctx, enum zs_map m, const void *key, void *next);
	/* The ifindex of an interface, or 0 when it does not exist (yet). */
	unsigned (*ifindex)(void *ctx, const char *ifname);
	/* Optional: returns once no program run that began earlier is still running. */
	void (*quiesce)(void *ctx);
};

struct zs_w_subject {
	uint32_t identity;
	uint32_t handle;
	size_t n;
	struct zs_pentry *e;
};

struct zs_w_endpoint {
	uint32_t ifindex;
	uint32_t identity;
};

struct zs_w_ipcache {
	struct zs_prefix prefix;
	uint32_t identity;
	uint32_t cidr;
	uint32_t ifindex;
};

struct zs_writer {
	const struct zs_map_ops *ops;
	void *ctx;
	uint32_t revision;
	uint32_t next_handle;
	size_t policy_entries; /* entries in the policy map now */
	/* What the maps hold, sorted so lookups are binary searches. */
	ZS_VEC(struct zs_w_subject) subjects;   /* sorted by identity */
	ZS_VEC(struct zs_w_endpoint) endpoints; /* sorted by ifindex */
	ZS_VEC(struct zs_w_ipcache) ipcache;    /* sorted by prefix */
	/* The state before the last flip, until zs_writer_settle retires it. */
	bool pending;
	struct {
		ZS_VEC(struct zs_w_subject) subjects;
		ZS_VEC(struct zs_w_endpoint) endpoints;
		ZS_VEC(struct zs_w_ipcache) ipcache;
	} prev;
};

/*
 * Adopts what the maps hold now (after a restart): the revision, and the
 * highest handle in use. The first apply then rewrites everything under new
 * handles and sweeps whatever it does not know.
 */
int zs_writer_init(struct zs_writer *w, const struct zs_map_ops *ops, void *ctx);
void zs_writer_free(struct zs_writer *w);
/*
 * Returns 0 (w->revision is the new revision) or -errno, with `err` set.
 * After the flip the old generation is left as it was: a packet that read
 * the old revision just before the flip may still be using it.
 */
int zs_writer_apply(struct zs_writer *w, const struct zs_compiled *c, char *err, size_t errlen);

/*
 * Retires the old generation of the last apply: waits (ops->quiesce) until
 * no packet can still be using it, then points it at the new state and
 * deletes what nothing uses. The next apply does it first; the daemon also
 * calls it shortly after an apply.
 */
int zs_writer_settle(struct zs_writer *w);

/* The policy map key of a compiled entry under `handle`. */
void zs_policy_key_make(struct zs_policy_key *k, uint32_t handle, const struct zs_pentry *e);
void zs_ipcache_key_make(struct zs_ipcache_key *k, const struct zs_prefix *p);

#endif /* ZS_WRITER_H */
