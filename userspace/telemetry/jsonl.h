/* SPDX-License-Identifier: MIT */
/*
 * The JSON lines sink: a file with size-based rotation (FILE, FILE.1 ...
 * FILE.N, the oldest dropped), or stdout ("-"). FILE is created 0600 and
 * never opened through a symlink (ELOOP). Buffered; the daemon flushes
 * after each batch of records. A failed write costs those records, counted
 * in `lost`, never the daemon's loop.
 */
#ifndef ZS_JSONL_H
#define ZS_JSONL_H

#include <stdint.h>
#include <stdio.h>

struct zs_sink; /* telemetry/sink.h */

struct zs_jsonl {
	FILE *f;            /* the open file (its own buffering is not used) */
	char *buf;          /* records waiting for write(2) */
	size_t nbuf;
	char *path;         /* NULL: stdout */
	uint64_t size;      /* bytes in the current file */
	uint64_t max_bytes; /* rotate past this; 0: never */
	unsigned keep;      /* rotated files kept */
	uint64_t written;   /* records */
	uint64_t lost;      /* records lost to write errors */
};

int zs_jsonl_open(struct zs_jsonl *s, const char *path, uint64_t max_bytes, unsigned keep);
void zs_jsonl_write(struct zs_jsonl *s, const char *line, size_t len);
void zs_jsonl_flush(struct zs_jsonl *s);
void zs_jsonl_close(struct zs_jsonl *s);

/*
 * The file as a flow record sink (sink.h), opened as zs_jsonl_open() does:
 * emit writes the line (the `lost` line too), flush and tick write the
 * buffer out (and retry a failed reopen), lost() is `lost`, close closes
 * the file and frees the sink. 0 or -errno (nothing to close then).
 */
int zs_jsonl_sink_open(struct zs_sink **out, const char *path, uint64_t max_bytes, unsigned keep);

#endif /* ZS_JSONL_H */
