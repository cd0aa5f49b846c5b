// SPDX-License-Identifier: MIT
/*
 * JSON lines sink with rotation; see jsonl.h. The file takes the line the
 * fan-out encoded as it is: one memcpy into the write buffer per record.
 */
#define _GNU_SOURCE
#include "telemetry/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "telemetry/sink.h"
#include "util/util.h"

/*
 * The log holds who talked to whom: created 0600, and never through a
 * symlink (a link planted at the path, dangling or not, is refused rather
 * than followed to create or append to its target as root).
 */
static int reopen(struct zs_jsonl *s)
{
	struct stat st;
	int fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	s->f = fdopen(fd, "a");
	if (!s->f) {
		int err = -errno;
		close(fd);
		return err;
	}
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
	int err = reopen(s);
	if (err) {
		free(s->path); /* nothing to close after a failed open */
		s->path = NULL;
	}
	return err;
}

/* FILE.(keep-1) -> FILE.keep ... FILE -> FILE.1, then a fresh FILE. */
static void rotate(struct zs_jsonl *s)
{
	if (s->f)
		fclose(s->f);
	s->f = NULL;
	s->size = 0;
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

#define JSONL_BUF (256u << 10)

/* Writes the buffer out; what cannot be written is lost, counted by lines. */
static void drain(struct zs_jsonl *s)
{
	size_t off = 0;

	while (off < s->nbuf && s->f) {
		ssize_t w = write(fileno(s->f), s->buf + off, s->nbuf - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	for (size_t i = off; i < s->nbuf; i++)
		if (s->buf[i] == '\n') {
			s->lost++;
			s->written--;
		}
	s->nbuf = 0;
}

void zs_jsonl_write(struct zs_jsonl *s, const char *line, size_t len)
{
	if (s->path && s->max_bytes && s->size + len > s->max_bytes && s->size) {
		drain(s);
		rotate(s);
	}
	if (!s->f || len > JSONL_BUF) {
		s->lost++;
		return;
	}
	if (!s->buf)
		s->buf = zs_xcalloc(JSONL_BUF, 1);
	if (s->nbuf + len > JSONL_BUF)
		drain(s);
	memcpy(s->buf + s->nbuf, line, len);
	s->nbuf += len;
	s->size += len;
	s->written++;
}

void zs_jsonl_flush(struct zs_jsonl *s)
{
	drain(s);
	if (!s->f && s->path)
		reopen(s); /* a failed reopen after rotation: try again, losses counted meanwhile */
}

void zs_jsonl_close(struct zs_jsonl *s)
{
	drain(s);
	free(s->buf);
	if (s->f && s->f != stdout)
		fclose(s->f);
	else if (s->f)
		fflush(s->f);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

/* ---- the file as a flow record sink ---------------------------------------- */

struct jsonl_sink {
	struct zs_sink sink;
	struct zs_jsonl log;
};

static int sink_emit(struct zs_sink *s, const struct zs_flow_rec *rec, const char *line, size_t len)
{
	struct zs_jsonl *log = &ZS_SINK_OF(s, struct jsonl_sink, sink)->log;
	uint64_t lost = log->lost;

	(void)rec;
	zs_jsonl_write(log, line, len);
	return log->lost == lost ? 0 : -EIO;
}

static void sink_flush(struct zs_sink *s)
{
	zs_jsonl_flush(&ZS_SINK_OF(s, struct jsonl_sink, sink)->log);
}

static void sink_tick(struct zs_sink *s, uint64_t now_ns)
{
	(void)now_ns;
	sink_flush(s);
}

static uint64_t sink_lost(const struct zs_sink *s)
{
	return ZS_SINK_OF(s, const struct jsonl_sink, sink)->log.lost;
}

static void sink_close(struct zs_sink *s)
{
	struct jsonl_sink *js = ZS_SINK_OF(s, struct jsonl_sink, sink);

	zs_jsonl_close(&js->log);
	free(js);
}

static const struct zs_sink_ops jsonl_sink_ops = {
	.name = "jsonl",
	.emit = sink_emit,
	.flush = sink_flush,
	.tick = sink_tick,
	.lost = sink_lost,
	.close = sink_close,
};

int zs_jsonl_sink_open(struct zs_sink **out, const char *path, uint64_t max_bytes, unsigned keep)
{
	struct jsonl_sink *js = zs_xcalloc(1, sizeof(*js));
	int err = zs_jsonl_open(&js->log, path, max_bytes, keep);

	if (err) {
		free(js);
		return err;
	}
	js->sink.ops = &jsonl_sink_ops;
	*out = &js->sink;
	return 0;
}
