// SPDX-License-Identifier: MIT
/*
 * The recent-flows ring and the `flows --follow` followers, as a sink; see
 * recent.h. The ring's slots keep their buffers from line to line, so in a
 * steady state a line costs one memcpy and one send per follower.
 */
#define _GNU_SOURCE
#include "telemetry/recent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "telemetry/sink.h"
#include "util/util.h"

/* A slot's buffer is never smaller: most lines fit the first one it gets. */
#define SLOT_MIN 512

struct slot {
	char *buf;
	size_t len, cap;
};

struct zs_recent {
	struct zs_sink sink;
	struct slot *slots;
	size_t cap;  /* slots */
	size_t n;    /* lines kept, <= cap */
	size_t next; /* the slot the next line goes to */
	ZS_VEC(int) followers;
	uint64_t lost; /* lines a follower could not take whole */
};

/* The line into the next slot, over the oldest when the ring is full. */
static void keep(struct zs_recent *r, const char *line, size_t len)
{
	struct slot *s = &r->slots[r->next];

	if (len > s->cap) {
		size_t cap = SLOT_MIN;
		while (cap < len)
			cap *= 2;
		free(s->buf);
		s->buf = zs_xcalloc(cap, 1);
		s->cap = cap;
	}
	memcpy(s->buf, line, len);
	s->len = len;
	r->next = (r->next + 1) % r->cap;
	if (r->n < r->cap)
		r->n++;
}

static int recent_emit(struct zs_sink *sink, const struct zs_flow_rec *rec, const char *line,
		       size_t len)
{
	struct zs_recent *r = ZS_SINK_OF(sink, struct zs_recent, sink);
	int err = 0;

	(void)rec;
	for (size_t i = 0; i < r->followers.n; i++) {
		ssize_t w = send(r->followers.v[i], line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w != (ssize_t)len) {
			r->lost++; /* a slow follower costs records, never the loop */
			err = -EAGAIN;
		}
	}
	keep(r, line, len);
	return err;
}

static uint64_t recent_lost(const struct zs_sink *sink)
{
	return ZS_SINK_OF(sink, const struct zs_recent, sink)->lost;
}

static void recent_close(struct zs_sink *sink)
{
	struct zs_recent *r = ZS_SINK_OF(sink, struct zs_recent, sink);

	for (size_t i = 0; i < r->followers.n; i++)
		close(r->followers.v[i]);
	free(r->followers.v);
	for (size_t i = 0; i < r->cap; i++)
		free(r->slots[i].buf);
	free(r->slots);
	free(r);
}

static const struct zs_sink_ops recent_ops = {
	.name = "recent",
	.emit = recent_emit,
	.lost = recent_lost,
	.close = recent_close,
};

int zs_recent_open(struct zs_recent **out, size_t cap)
{
	struct zs_recent *r = calloc(1, sizeof(*r));

	if (!cap)
		cap = ZS_RECENT_FLOWS;
	if (r)
		r->slots = calloc(cap, sizeof(*r->slots));
	if (!r || !r->slots) {
		free(r);
		return -ENOMEM;
	}
	r->sink.ops = &recent_ops;
	r->cap = cap;
	*out = r;
	return 0;
}

struct zs_sink *zs_recent_sink(struct zs_recent *r)
{
	return &r->sink;
}

size_t zs_recent_count(const struct zs_recent *r)
{
	return r->n;
}

const char *zs_recent_line(const struct zs_recent *r, size_t i, size_t *len)
{
	if (i >= r->n)
		return NULL;
	const struct slot *s = &r->slots[(r->next + r->cap - r->n + i) % r->cap];
	*len = s->len;
	return s->buf;
}

int zs_recent_replay(const struct zs_recent *r, int fd, size_t last)
{
	size_t from = last && last < r->n ? r->n - last : 0, len;

	for (size_t i = from; i < r->n; i++) {
		const char *line = zs_recent_line(r, i, &len);
		if (send(fd, line, len, MSG_NOSIGNAL) < 0)
			return -errno;
	}
	return 0;
}

int zs_recent_follow(struct zs_recent *r, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	*ZS_VEC_PUSH(&r->followers) = fd;
	return 0;
}

void zs_recent_unfollow(struct zs_recent *r, int fd)
{
	for (size_t i = 0; i < r->followers.n; i++)
		if (r->followers.v[i] == fd) {
			r->followers.v[i] = r->followers.v[--r->followers.n];
			close(fd);
			return;
		}
}

size_t zs_recent_followers(const struct zs_recent *r)
{
	return r->followers.n;
}
