/* SPDX-License-Identifier: MIT */
/*
 * For userspace/store/ only: the file back end's own state, shared by
 * file.c (open, prepare, publish, abort) and file_load.c (load: the
 * snapshot, then the log's committed changes).
 */
#ifndef ZS_STORE_FILE_INT_H
#define ZS_STORE_FILE_INT_H

#include "store/log.h"
#include "store/store.h"

/* A committed identity as the store last wrote it: its number and a hash of its label set. */
struct id_sum {
	uint32_t id;
	uint64_t h;
};
typedef ZS_VEC(struct id_sum) id_sums_t;

struct store_file {
	struct zs_store s; /* name: the snapshot's path */
	char *path;        /* DIR/state.json: the snapshot */
	char *log_path;    /* DIR/state.log: the changes since */
	struct store_log log;
	uint64_t seq;       /* the last committed change */
	bool need_snapshot; /* the next commit writes the whole state (nothing known yet, a version 1 file) */
	struct elems live;  /* the committed objects' texts */
	id_sums_t ids;      /* the committed identities, by id */
	size_t ids_bytes;   /* their JSON, about */
};

#define FILE_OF(st) ((struct store_file *)(st))

/* The sums of `ids` (sorted by id) into *out, and about how many bytes their JSON takes. */
void id_sums_of(const struct zs_identities *ids, id_sums_t *out, size_t *bytes);

/* file_load.c: the store's load op. */
int file_load(struct zs_store *st, struct zs_objects *objs, struct zs_identities *ids,
	      struct zs_diags *diags);

#endif /* ZS_STORE_FILE_INT_H */
