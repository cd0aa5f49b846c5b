/* SPDX-License-Identifier: MIT */
/*
 * What the writer's two files share (writer.c: keys, state, apply;
 * settle.c: settle and the first apply's sweep). Not for other parts.
 */
#ifndef ZS_DATAPATH_WRITER_INT_H
#define ZS_DATAPATH_WRITER_INT_H

#include "datapath/writer.h"

/* Orders of the writer's endpoint and ipcache sets (by ifindex, by prefix). */
int zs_w_cmp_endpoint(const void *a, const void *b);
int zs_w_cmp_ipcache(const void *a, const void *b);

/* The writer's state as the maps hold it now (before this apply), by key. */
struct zs_w_subject *zs_w_find_subject(struct zs_w_subject *v, size_t n, uint32_t id);
struct zs_w_subject *zs_w_old_subject(struct zs_writer *w, uint32_t id);
struct zs_w_endpoint *zs_w_old_endpoint(struct zs_writer *w, uint32_t ifindex);
struct zs_w_ipcache *zs_w_old_ipcache(struct zs_writer *w, const struct zs_prefix *p);
/*
 * n updates of map m (keys, vals: arrays of ksize and vsize bytes): one
 * batch where the ops have it, else (or when the batch fails) one by one,
 * all of them; 0 or the first error.
 */
int zs_w_update_many(struct zs_writer *w, enum zs_map m, const void *keys, size_t ksize,
		     const void *vals, size_t vsize, size_t n);
void zs_w_delete_entries(struct zs_writer *w, uint32_t handle, const struct zs_pentry *e, size_t n);
/* Frees the state before the last flip (empty when nothing is pending). */
void zs_w_free_prev(struct zs_writer *w);
/*
 * Deletes map entries an earlier daemon left that the current state does not
 * use: `foreign` policy entries were there before, `held` (1 << zs_map) says
 * which other maps held keys before (a map empty then holds only ours).
 */
void zs_w_sweep(struct zs_writer *w, size_t foreign, unsigned held);

#endif /* ZS_DATAPATH_WRITER_INT_H */
