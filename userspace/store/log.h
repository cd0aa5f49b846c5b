/* SPDX-License-Identifier: MIT */
/*
 * For userspace/store/ only: the file back end's append log (log.c) and the
 * state text's elements (elems.c).
 *
 * The log, DIR/state.log: records, each a 32-byte header (magic, type,
 * sequence number, payload length, a 64-bit checksum over header and
 * payload) and its payload. A record whose header or checksum does not hold
 * (a write torn by a crash, or junk) ends the log: it and all after it are
 * ignored. A change is a DATA record and, once published, a COMMIT record of
 * the same number; a DATA record without its COMMIT is not part of the state.
 */
#ifndef ZS_STORE_LOG_H
#define ZS_STORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A 64-bit hash of len bytes (not cryptographic): checksums and element matching. */
uint64_t store_hash(const void *data, size_t len, uint64_t seed);

enum { LOG_DATA = 1, LOG_COMMIT = 2 };

struct store_log {
	int fd;       /* -1: not open */
	uint64_t end; /* where the next record goes: after the last committed one */
};

/* Opens (creating it 0600, never through a symlink) DIR/state.log. */
int store_log_open(struct store_log *l, const char *path);
void store_log_close(struct store_log *l);

/* One whole record, as log_replay hands it over. */
typedef int (*store_log_fn)(void *ctx, uint64_t seq, const char *payload, size_t len);

/*
 * Reads the log and hands every committed change (a DATA record followed by
 * its COMMIT) to `fn`, in order. What follows the last COMMIT (a torn
 * record, a change prepared and never published) is cut off, so the next
 * record goes there; but when a sound COMMIT of a change after `floor` (the
 * snapshot's) and after those replayed follows a record that does not hold,
 * that is damage, not a torn tail: nothing is cut and -EBADMSG returned.
 * `fn`'s error stops the replay and is returned.
 */
int store_log_replay(struct store_log *l, uint64_t floor, store_log_fn fn, void *ctx);

/*
 * Appends a record at l->end and (sync) fdatasyncs it; l->end moves past it
 * only when all of it is written. On failure the log is cut back to l->end.
 */
int store_log_append(struct store_log *l, uint32_t type, uint64_t seq, const char *payload,
		     size_t len, bool sync);
/* Cuts the log back to `end` (a record written but not wanted: an abort). */
int store_log_cut(struct store_log *l, uint64_t end);

/*
 * The state text's elements: the text is a JSON array "[e0,e1,...]" (what
 * zs_objects_state_json makes), each element one object's compact JSON.
 */
struct elem {
	uint64_t h;      /* store_hash of its text */
	size_t off, len; /* in the text */
};
struct elems {
	char *buf; /* the text, owned */
	size_t len;
	struct elem *v;
	size_t n, cap;
};

/* Splits `buf` (taken) into its elements; -EINVAL if it is not an array of values. */
int elems_split(struct elems *e, char *buf, size_t len);
void elems_free(struct elems *e);
/* The array of the n texts (each one element) into *e. */
void elems_join(struct elems *e, char *const *texts, size_t n);

/*
 * The change from `prev` to the text `buf` (taken, into *next): which of
 * next's elements are new (puts) and which of prev's are gone (dels), as
 * indices. Only the region that differs is read element by element (the
 * common head and tail are compared as bytes). 0 or -EINVAL.
 */
struct elems_delta {
	size_t *puts, nputs; /* indices into next */
	size_t *dels, ndels; /* indices into prev */
};
int elems_diff(const struct elems *prev, char *buf, size_t len, struct elems *next,
	       struct elems_delta *d);
void elems_delta_free(struct elems_delta *d);

#endif /* ZS_STORE_LOG_H */
