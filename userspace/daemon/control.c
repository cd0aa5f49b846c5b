// SPDX-License-Identifier: MIT
/*
 * The control socket: a Unix stream socket born 0600 in a 0700 directory,
 * and the peer's capability checked on every connection (CAP_NET_ADMIN, the
 * capability the daemon steers the network with, or the daemon's own user).
 * A client sends one JSON request and shuts its writing side; the answer is
 * one JSON line (proto/proto.h), or a stream of records.
 *
 * No client can stall the loop: requests are gathered without blocking
 * (proto/request.h), each client has ZS_REQUEST_TIMEOUT_MS to send its whole
 * request and as long again to take its answer, ZS_MAX_REQUEST bytes at most,
 * and ZS_MAX_CLIENTS are served at once; past any bound it gets an error
 * answer (if it will take it) and is dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon_int.h"

/*
 * Is a daemon answering on `path`? Then it is not ours to take. A socket
 * file nobody listens on (ECONNREFUSED) is stale: a daemon that died.
 */
static int socket_claim(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	strcpy(sa.sun_path, path);
	err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	close(fd);
	if (!err) {
		pr_warn("%s: another daemon answers on it; not taking it over", path);
		return -EADDRINUSE;
	}
	if (err == -ECONNREFUSED && unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int control_open(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *dir = zs_xstrdup(d->opts->socket), *slash = strrchr(dir, '/');
	struct stat st;
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
	err = socket_claim(sa.sun_path);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177); /* the socket is born 0600: no window for chmod to close */
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (err || listen(fd, 64) || stat(sa.sun_path, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	d->sock_dev = st.st_dev;
	d->sock_ino = st.st_ino;
	d->listen_fd = fd;
	return 0;
}

/* Frees the slot; closes its fd unless `keep_fd`. */
static void conn_free(struct daemon *d, unsigned slot, bool keep_fd)
{
	struct conn *c = &d->conns[slot];

	if (c->fd < 0)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (!keep_fd)
		close(c->fd);
	zs_reqbuf_free(&c->in);
	free(c->out);
	*c = (struct conn){ .fd = -1 };
}

static void conn_drop(struct daemon *d, unsigned slot)
{
	conn_free(d, slot, false);
}

void control_close(struct daemon *d)
{
	struct stat st;

	for (unsigned i = 0; i < ZS_MAX_CLIENTS; i++)
		conn_drop(d, i);
	if (d->listen_fd < 0)
		return;
	close(d->listen_fd);
	/* Only our own socket file: a later daemon may have replaced a stale one. */
	if (!stat(d->opts->socket, &st) && st.st_dev == d->sock_dev && st.st_ino == d->sock_ino)
		unlink(d->opts->socket);
}

/* A one-line answer to a client we will not keep, sent if it fits now. */
static void refuse(int fd, const char *msg)
{
	json_t *a = answer_error(msg);
	char *s = json_dumps(a, JSON_COMPACT);
	char *line = zs_xasprintf("%s\n", s);

	send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	free(line);
	free(s);
	json_decref(a);
	close(fd);
}

void control_accept(struct daemon *d)
{
	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		unsigned slot;

		if (fd < 0)
			return;
		if (!zs_peer_allowed(fd)) {
			refuse(fd, "permission denied");
			continue;
		}
		for (slot = 0; slot < ZS_MAX_CLIENTS && d->conns[slot].fd >= 0; slot++)
			;
		if (slot == ZS_MAX_CLIENTS) {
			refuse(fd, "too many clients; try again");
			continue;
		}
		d->conns[slot] = (struct conn){
			.fd = fd,
			.id = ++d->conn_ids,
			.state = CONN_READ,
			.deadline_ns = zs_now_ns(CLOCK_MONOTONIC) + ZS_REQUEST_TIMEOUT_MS * 1000000ull,
		};
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = (uint64_t)EV_CLIENT << 32 | slot };
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev))
			conn_drop(d, slot);
	}
}

static void conn_watch(struct daemon *d, unsigned slot, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)EV_CLIENT << 32 | slot };

	epoll_ctl(d->epfd, EPOLL_CTL_MOD, d->conns[slot].fd, &ev);
}

/* The answer is out: close, or (a follower) hand the fd to the recent-flows ring. */
static void conn_done(struct daemon *d, unsigned slot)
{
	struct conn *c = &d->conns[slot];
	int fd = c->fd;

	if (!c->follow) {
		conn_drop(d, slot);
		return;
	}
	conn_free(d, slot, true); /* the ring owns the fd from here */
	if (zs_recent_follow(d->recent, fd)) {
		close(fd);
		return;
	}
	/* The client has shut its write half already: only a full hang-up ends it. */
	daemon_poll_add(d, fd, EPOLLHUP, EV_FOLLOWER);
}

/* Sends what the client takes now; the rest when it is writable again. */
static void conn_flush(struct daemon *d, unsigned slot)
{
	struct conn *c = &d->conns[slot];

	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_watch(d, slot, EPOLLOUT);
			return;
		}
		if (w <= 0) {
			conn_drop(d, slot);
			return;
		}
		c->out_off += (size_t)w;
	}
	conn_done(d, slot);
}

void control_append(struct conn *c, const char *line, size_t len)
{
	c->out = zs_xrealloc(c->out, c->out_len + len, 1);
	memcpy(c->out + c->out_len, line, len);
	c->out_len += len;
}

void control_answer(struct daemon *d, unsigned slot, json_t *resp)
{
	struct conn *c = &d->conns[slot];

	if (resp) { /* NULL: the lines are queued already (a stream) */
		char *s = json_dumps(resp, JSON_COMPACT);
		json_decref(resp);
		control_append(c, s, strlen(s));
		control_append(c, "\n", 1);
		free(s);
	}
	c->state = CONN_WRITE;
	c->deadline_ns = zs_now_ns(CLOCK_MONOTONIC) + ZS_REQUEST_TIMEOUT_MS * 1000000ull;
	conn_flush(d, slot);
}

/*
 * Requests larger than this are decoded in the job worker, not on the loop
 * (a 63 MiB apply took ~1.4 s to decode): only a change is that large.
 */
#ifndef ZS_DECODE_ON_LOOP_MAX
#define ZS_DECODE_ON_LOOP_MAX (256u << 10)
#endif

/* The request is whole: decode it and hand it to its handler. */
static void conn_request(struct daemon *d, unsigned slot)
{
	struct conn *c = &d->conns[slot];
	char err[256];
	json_t *req;

	conn_watch(d, slot, 0); /* nothing more to read; an answer comes */
	c->state = CONN_WAIT;
	if (c->in.n > ZS_DECODE_ON_LOOP_MAX) {
		char *buf = c->in.buf;
		size_t n = c->in.n;
		c->in = (struct zs_reqbuf){ .max = c->in.max };
		if (jobs_pending(d) >= ZS_MAX_CLIENTS) {
			free(buf);
			control_answer(d, slot, answer_error("too many changes pending; try again"));
			return;
		}
		job_submit_raw(d, (int)slot, buf, n);
		return;
	}
	req = zs_request_decode(c->in.buf, c->in.n, err, sizeof(err));
	zs_reqbuf_free(&c->in);
	if (!req) {
		control_answer(d, slot, answer_error(err));
		return;
	}
	handle_request(d, slot, req);
	json_decref(req);
}

void control_ready(struct daemon *d, unsigned slot, uint32_t events)
{
	struct conn *c = &d->conns[slot];
	int r;

	if (slot >= ZS_MAX_CLIENTS || c->fd < 0)
		return;
	if (c->state == CONN_WRITE) {
		conn_flush(d, slot);
		return;
	}
	if (c->state == CONN_WAIT) {
		if (events & (EPOLLHUP | EPOLLERR))
			conn_drop(d, slot); /* gone while its change waits: the change goes on */
		return;
	}
	r = zs_reqbuf_read(&c->in, c->fd);
	if (r == -E2BIG) {
		char *msg = zs_xasprintf("request larger than %u bytes", (unsigned)ZS_MAX_REQUEST);
		conn_watch(d, slot, 0);
		control_answer(d, slot, answer_error(msg));
		free(msg);
	} else if (r < 0 || (events & (EPOLLERR | EPOLLHUP) && r == 0)) {
		conn_drop(d, slot);
	} else if (r == 1) {
		conn_request(d, slot);
	}
}

int control_expire(struct daemon *d, int max)
{
	uint64_t now = zs_now_ns(CLOCK_MONOTONIC), next = now + (uint64_t)max * 1000000ull;

	for (unsigned i = 0; i < ZS_MAX_CLIENTS; i++) {
		struct conn *c = &d->conns[i];
		if (c->fd < 0 || c->state == CONN_WAIT)
			continue;
		if (c->deadline_ns > now) {
			next = c->deadline_ns < next ? c->deadline_ns : next;
			continue;
		}
		if (c->state == CONN_WRITE) { /* a client that does not take its answer */
			conn_drop(d, i);
			continue;
		}
		pr_info("control: a client sent no whole request within %d ms; dropped",
			ZS_REQUEST_TIMEOUT_MS);
		control_answer(d, i, answer_error("request timed out"));
		if (d->conns[i].fd >= 0) /* the answer did not fit: no second deadline */
			conn_drop(d, i);
	}
	return (int)((next - now + 999999) / 1000000);
}
