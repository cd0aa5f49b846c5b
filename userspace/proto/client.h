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
enum zs_client_stage { ZS_CLIENT_CONNECT, ZS_CLIENT_SEND };

/*
 * Sends `req` to the daemon at `socket` and reads its answer. Returns the
 * last value `line` returned (0 when it was never called), or -errno when the
 * daemon could not be reached or the request not sent (*stage says which).
 */
int zs_client_request(const char *socket, json_t *req, zs_client_line_fn line, void *arg,
		      enum zs_client_stage *stage);

#endif /* ZS_PROTO_CLIENT_H */
