// SPDX-License-Identifier: MIT
/* The control protocol's client; see client.h. */
#define _GNU_SOURCE
#include "proto/client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/proto.h"
#include "util/base.h"

static int client_connect(const char *socket_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int client_send(int fd, const char *s, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t w = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			return w < 0 ? -errno : -EPIPE;
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	return 0;
}

/*
 * Hands one answer line to `line`. A line carrying ZS_K_OK is an answer (the
 * request got one); one carrying ZS_K_END too closes a stream and is the
 * client's own business. Records carry no ZS_K_OK.
 */
static int client_line(json_t *msg, zs_client_line_fn line, void *arg, bool *answered)
{
	if (!json_object_get(msg, ZS_K_OK))
		return line(msg, arg); /* a record of a stream (which may have an "end" time) */
	*answered = true;
	return json_object_get(msg, ZS_K_END) ? 0 : line(msg, arg);
}

/*
 * Reads JSON lines until the daemon closes or `line` asks to stop. The answer
 * is complete only when a line carrying ZS_K_OK came and no line was cut off:
 * a daemon that died or closed mid-request gives -ENODATA, never silence.
 */
static int client_read(int fd, zs_client_line_fn line, void *arg)
{
	size_t cap = 65536, n = 0;
	char *buf = zs_xcalloc(cap, 1);
	bool answered = false;
	int rc = 0;

	for (;;) {
		ssize_t r = recv(fd, buf + n, cap - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		char *nl;
		while ((nl = memchr(buf, '\n', n))) {
			json_error_t jerr;
			json_t *msg = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
			size_t used = (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, n - used);
			n -= used;
			if (msg) {
				rc = client_line(msg, line, arg, &answered);
				json_decref(msg);
				if (rc < 0)
					goto out;
			}
		}
		if (n == cap) {
			cap *= 2;
			buf = zs_xrealloc(buf, cap, 1);
		}
	}
	if (!answered || n)
		rc = -ENODATA;
out:
	free(buf);
	return rc < 0 && rc != -ENODATA ? 0 : rc;
}

int zs_client_request_fd(int fd, json_t *req, zs_client_line_fn line, void *arg)
{
	char *s = json_dumps(req, JSON_COMPACT);
	int err = client_send(fd, s, strlen(s));

	free(s);
	if (!err)
		return client_read(fd, line, arg);
	/* Refused before it read it all (permission, too many, too large): its answer says why. */
	int rc = client_read(fd, line, arg);
	return rc == -ENODATA ? err : rc;
}

int zs_client_request(const char *socket_path, json_t *req, zs_client_line_fn line, void *arg,
		      enum zs_client_stage *stage)
{
	int fd, err;

	*stage = ZS_CLIENT_CONNECT;
	fd = client_connect(socket_path);
	if (fd < 0)
		return fd;
	*stage = ZS_CLIENT_SEND;
	err = zs_client_request_fd(fd, req, line, arg);
	if (err == -ENODATA)
		*stage = ZS_CLIENT_ANSWER;
	close(fd);
	return err;
}
