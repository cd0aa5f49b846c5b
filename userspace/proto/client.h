/* SPDX-License-Identifier: MIT */
/*
 * The one client of the control protocol (proto.h): connect, send a request,
 * hand each JSON line of the answer to a callback. The CLI uses it; so will
 * any other client, so none can drift from the daemon.
 */
#ifndef ZS_PROTO_CLIENT_H
#define ZS_PROTO_CLIENT_H

#include <jansson.h>

/*
 * Called for each line of the answer. Returns the value the request should
 * end with (>= 0), or < 0 to stop reading (the request then returns 0).
 */
typedef int (*zs_client_line_fn)(json_t *msg, void *arg);

/* Where a failed request stopped, for the message a person reads. */
enum zs_client_stage { ZS_CLIENT_CONNECT, ZS_CLIENT_SEND, ZS_CLIENT_ANSWER };

/*
 * Sends `req` to the daemon at `socket` and reads its answer. Returns the
 * last value `line` returned (0 when it was never called), or -errno when the
 * daemon could not be reached or the request not sent (*stage says which),
 * or -ENODATA (stage ZS_CLIENT_ANSWER) when the answer never came whole: the
 * connection ended before a line carrying ZS_K_OK, or in the middle of a
 * line. A stream (`flows`) is whole only with the ZS_K_END line the daemon
 * ends it with; a `flows --follow` stream has none (the daemon never ends it
 * while it runs), so one that ends at all (daemon stopped or died) fails so.
 */
int zs_client_request(const char *socket, json_t *req, zs_client_line_fn line, void *arg,
		      enum zs_client_stage *stage);
/* The same over a connected socket `fd` (left open): -ENODATA for no whole answer. */
int zs_client_request_fd(int fd, json_t *req, zs_client_line_fn line, void *arg);

#endif /* ZS_PROTO_CLIENT_H */
