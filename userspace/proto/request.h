/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of reading one request: bytes gathered without blocking
 * up to ZS_MAX_REQUEST (zs_reqbuf), and the request decoded from them
 * (zs_request_decode, a pure function: the fuzz target's entry point).
 */
#ifndef ZS_PROTO_REQUEST_H
#define ZS_PROTO_REQUEST_H

#include <jansson.h>
#include <stddef.h>

struct zs_reqbuf {
	char *buf;
	size_t n, cap;
	size_t max; /* refuse past this many bytes; 0: ZS_MAX_REQUEST */
};

/*
 * Reads what `fd` (non-blocking) has now. Returns 1 when the request is
 * whole (the client shut its writing side), 0 when more is to come, -E2BIG
 * past the limit, or -errno. Never blocks.
 */
int zs_reqbuf_read(struct zs_reqbuf *b, int fd);
void zs_reqbuf_free(struct zs_reqbuf *b);

/*
 * The request in buf[0..len): a JSON object naming its verb. NULL with a
 * sentence in `err` when it is not one. The result is the caller's.
 */
json_t *zs_request_decode(const char *buf, size_t len, char *err, size_t errlen);

#endif /* ZS_PROTO_REQUEST_H */
