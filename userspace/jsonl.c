// SPDX-License-Identifier: MIT
/* JSON lines sink with rotation; see jsonl.h. */
#define _GNU_SOURCE
#include "jsonl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int reopen(struct zs_jsonl *s)
{
	struct stat st;

	s->f = fopen(s->path, "ae");
	if (!s->f)
		return -errno;
	s->size = fstat(fileno(s->f), &st) ? 0 : (uint64_t)st.st_size;
	return 0;
}

int zs_jsonl_open(struct zs_jsonl *s, const char *path, uint64_t max_bytes, unsigned keep)
{
	memset(s, 0, sizeof(*s));
	s->max_bytes = max_bytes;
	s->keep = keep;
	if (!strcmp(path, "-")) {
		s->f = stdout;
		return 0;
	}
	s->path = zs_xstrdup(path);
	return reopen(s);
}

/* FILE.(keep-1) -> FILE.keep ... FILE -> FILE.1, then a fresh FILE. */
static void rotate(struct zs_jsonl *s)
{
	fclose(s->f);
	s->f = NULL;
	for (unsigned i = s->keep; i > 0; i--) {
		char *from = i > 1 ? zs_xasprintf("%s.%u", s->path, i - 1) : zs_xstrdup(s->path);
		char *to = zs_xasprintf("%s.%u", s->path, i);
		rename(from, to);
		free(from);
		free(to);
	}
	if (!s->keep)
		unlink(s->path);
	if (reopen(s))
		pr_warn("flow log %s: cannot reopen after rotation: %s", s->path, strerror(errno));
}

void zs_jsonl_write(struct zs_jsonl *s, const char *line, size_t len)
{
	if (s->path && s->max_bytes && s->size + len > s->max_bytes && s->size)
		rotate(s);
	if (!s->f || fwrite(line, 1, len, s->f) != len) {
		s->lost++;
		return;
	}
	s->size += len;
	s->written++;
}

void zs_jsonl_flush(struct zs_jsonl *s)
{
	if (s->f && fflush(s->f))
		clearerr(s->f); /* what was buffered is gone: counted as it failed to write */
}

void zs_jsonl_close(struct zs_jsonl *s)
{
	if (s->f && s->f != stdout)
		fclose(s->f);
	else if (s->f)
		fflush(s->f);
	free(s->path);
	memset(s, 0, sizeof(*s));
}
