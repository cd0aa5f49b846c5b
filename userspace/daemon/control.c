// SPDX-License-Identifier: MIT
/*
 * The control socket: a Unix stream socket born 0600, and peer credentials
 * checked on every connection (only root or the daemon's own user may steer
 * the firewall). A client sends one JSON request and shuts its writing side;
 * the answer is one JSON line (proto/proto.h), or a stream of records.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon_int.h"

int control_open(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *dir = zs_xstrdup(d->opts->socket), *slash = strrchr(dir, '/');
	int fd, err;

	if (strlen(d->opts->socket) >= sizeof(sa.sun_path)) {
		free(dir);
		return -ENAMETOOLONG;
	}
	if (slash && slash != dir) {
		*slash = '\0';
		zs_mkdir_p(dir, 0700);
	}
	free(dir);
	strcpy(sa.sun_path, d->opts->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path);
	mode_t old = umask(0177); /* the socket is born 0600 */
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err || chmod(sa.sun_path, 0600) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		return err;
	}
	d->listen_fd = fd;
	return 0;
}

void control_reply(int fd, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT);
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t w = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	send(fd, "\n", 1, MSG_NOSIGNAL);
	free(s);
	json_decref(resp);
}

/* The whole request, up to ZS_MAX_REQUEST, NUL-terminated. */
static int read_request(int fd, char **out)
{
	size_t cap = 65536, n = 0;
	char *buf = zs_xcalloc(cap, 1);

	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= ZS_MAX_REQUEST) {
				free(buf);
				return -E2BIG;
			}
			cap *= 2;
			buf = zs_xrealloc(buf, cap, 1);
		}
		ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			free(buf);
			return err;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

void control_accept(struct daemon *d)
{
	int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct timeval tv = { .tv_sec = 10 };
	json_error_t jerr;
	char *buf = NULL;

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		control_reply(fd, answer_error("permission denied"));
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (read_request(fd, &buf)) {
		close(fd);
		return;
	}
	json_t *req = json_loads(buf, 0, &jerr);
	free(buf);
	handle_request(d, fd, req);
	json_decref(req);
}
