// SPDX-License-Identifier: MIT
/* Reading and decoding one request on the daemon's side; see request.h. */
#include "proto/request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "proto/proto.h"
#include "util/base.h"

int zs_reqbuf_read(struct zs_reqbuf *b, int fd)
{
	size_t max = b->max ? b->max : ZS_MAX_REQUEST;

	for (;;) {
		if (b->n == b->cap) {
			if (b->cap >= max + 1)
				return -E2BIG;
			size_t cap = b->cap ? b->cap * 2 : 65536;
			b->cap = cap < max + 1 ? cap : max + 1; /* one past: "too big" is seen */
			b->buf = zs_xrealloc(b->buf, b->cap, 1);
		}
		ssize_t r = recv(fd, b->buf + b->n, b->cap - b->n, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		if (r == 0)
			return 1;
		b->n += (size_t)r;
		if (b->n > max)
			return -E2BIG;
	}
}

void zs_reqbuf_free(struct zs_reqbuf *b)
{
	free(b->buf);
	*b = (struct zs_reqbuf){ .max = b->max };
}

json_t *zs_request_decode(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!req) {
		snprintf(err, errlen, "request is not JSON: %s (byte %d)", jerr.text, jerr.position);
		return NULL;
	}
	if (!json_is_object(req) || !json_is_string(json_object_get(req, ZS_K_VERB))) {
		snprintf(err, errlen, "request is not an object naming its \"%s\"", ZS_K_VERB);
		json_decref(req);
		return NULL;
	}
	return req;
}
