// SPDX-License-Identifier: MIT
/*
 * zs-probe: the traffic tool of the tests and the demo. Bounded in time.
 *   zs-probe serve [--tcp PORT]... [--udp PORT]... [--seconds N]   echo servers
 *   zs-probe tcp ADDR PORT [--ms N]    connect, send, expect the echo: exit 0/1
 *   zs-probe udp ADDR PORT [--ms N]    one datagram there and back: exit 0/1
 *   zs-probe matrix [--ms N] [--port tcp|udp/PORT]... ADDR...
 *        every (ADDR, port) at once, under one deadline; one line per target,
 *        in order: "ADDR tcp/80 ok|blocked|refused". Exit 0 once all are judged.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 64

static int parse_addr(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int listener(int type, int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, type | SOCK_NONBLOCK, 0), one = 1, zero = 0;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || (type == SOCK_STREAM && listen(fd, 64))) {
		perror("zs-probe: bind");
		close(fd);
		return -1;
	}
	return fd;
}

static int serve(int argc, char **argv)
{
	struct pollfd pfd[MAX_FDS];
	int kind[MAX_FDS]; /* 0 tcp listener, 1 udp, 2 tcp conn */
	int n = 0;
	long seconds = 60;

	for (int i = 0; i < argc; i++) {
		if (i + 1 >= argc)
			return 2;
		if (!strcmp(argv[i], "--seconds")) {
			seconds = atol(argv[++i]);
			continue;
		}
		int udp = !strcmp(argv[i], "--udp");
		if (!udp && strcmp(argv[i], "--tcp"))
			return 2;
		int fd = listener(udp ? SOCK_DGRAM : SOCK_STREAM, atoi(argv[++i]));
		if (fd < 0 || n >= MAX_FDS)
			return 1;
		pfd[n].fd = fd;
		pfd[n].events = POLLIN;
		kind[n++] = udp;
	}
	long end = now_ms() + seconds * 1000;
	while (now_ms() < end) {
		if (poll(pfd, (nfds_t)n, 200) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char buf[2048];
			if (kind[i] == 0) {
				int c = accept4(pfd[i].fd, NULL, NULL, SOCK_NONBLOCK);
				if (c >= 0 && n < MAX_FDS) {
					pfd[n].fd = c;
					pfd[n].events = POLLIN;
					pfd[n].revents = 0;
					kind[n++] = 2;
				} else if (c >= 0) {
					close(c);
				}
			} else if (kind[i] == 1) {
				struct sockaddr_storage from;
				socklen_t fl = sizeof(from);
				ssize_t r = recvfrom(pfd[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
				if (r > 0)
					sendto(pfd[i].fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
			} else {
				ssize_t r = recv(pfd[i].fd, buf, sizeof(buf), 0);
				if (r > 0) {
					send(pfd[i].fd, buf, (size_t)r, MSG_NOSIGNAL);
				} else if (r == 0 || errno != EAGAIN) {
					close(pfd[i].fd);
					pfd[i] = pfd[n - 1];
					kind[i] = kind[n - 1];
					n--;
					i--;
				}
			}
		}
	}
	return 0;
}

static int probe(int type, const char *addr, int port, long ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char msg[] = "zeroseg-probe\n";
	char buf[64];
	long end = now_ms() + ms;

	if (parse_addr(addr, port, &ss, &len))
		return 2;
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 2;
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
		close(fd);
		return 1;
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, (int)ms) <= 0 || (p.revents & (POLLERR | POLLHUP))) {
		close(fd);
		return 1;
	}
	int sent = 0;
	while (now_ms() < end) {
		/* UDP: resend now and then, a lost datagram is not a denial. */
		if (!sent || (type == SOCK_DGRAM && sent < 3)) {
			if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) < 0 && type == SOCK_STREAM)
				break;
			sent++;
		}
		p.events = POLLIN;
		long left = end - now_ms();
		if (poll(&p, 1, (int)(left < 300 ? left : 300)) > 0) {
			ssize_t r = recv(fd, buf, sizeof(buf), 0);
			if (r == (ssize_t)(sizeof(msg) - 1) && !memcmp(buf, msg, (size_t)r)) {
				close(fd);
				return 0;
			}
			if (r <= 0 && type == SOCK_STREAM)
				break;
		}
	}
	close(fd);
	return 1;
}

/*
 * The matrix probe. A blocked TCP connect costs its whole timeout, so every
 * target is probed at once and the deadline is paid once, not per target:
 * non-blocking connects, the echo awaited with one poll() over all sockets.
 * A UDP datagram is resent every 100 ms (a lost datagram is not a denial).
 * "refused" (RST, ICMP unreachable) means nobody answered, not a firewall.
 */
enum mx_state { MX_CONNECTING, MX_WAITING, MX_OK, MX_BLOCKED, MX_REFUSED };

struct mx_target {
	const char *addr;
	int type, port, fd;
	enum mx_state state;
	int sent;
};

static const char mx_msg[] = "zeroseg-probe\n";

static void mx_done(struct mx_target *t, enum mx_state st)
{
	t->state = st;
	close(t->fd);
	t->fd = -1;
}

static void mx_send(struct mx_target *t)
{
	if (send(t->fd, mx_msg, sizeof(mx_msg) - 1, MSG_NOSIGNAL) < 0) {
		if (errno == ECONNREFUSED)
			mx_done(t, MX_REFUSED);
		else if (t->type == SOCK_STREAM && errno != EAGAIN)
			mx_done(t, MX_BLOCKED);
		return;
	}
	t->sent++;
	t->state = MX_WAITING;
}

static void mx_start(struct mx_target *t)
{
	struct sockaddr_storage ss;
	socklen_t len;

	t->fd = -1;
	t->state = MX_BLOCKED;
	if (parse_addr(t->addr, t->port, &ss, &len))
		return;
	t->fd = socket(ss.ss_family, t->type | SOCK_NONBLOCK, 0);
	if (t->fd < 0)
		return;
	t->state = MX_CONNECTING;
	if (connect(t->fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
		mx_done(t, errno == ECONNREFUSED ? MX_REFUSED : MX_BLOCKED);
		return;
	}
	if (t->type == SOCK_DGRAM)
		mx_send(t);
}

static void mx_event(struct mx_target *t, short revents)
{
	char buf[64];

	if (t->state == MX_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err)
			mx_done(t, err == ECONNREFUSED ? MX_REFUSED : MX_BLOCKED);
		else if (revents & POLLOUT)
			mx_send(t);
		return;
	}
	ssize_t r = recv(t->fd, buf, sizeof(buf), 0);
	if (r == (ssize_t)(sizeof(mx_msg) - 1) && !memcmp(buf, mx_msg, (size_t)r))
		mx_done(t, MX_OK);
	else if (r < 0 && errno == ECONNREFUSED)
		mx_done(t, MX_REFUSED);
	else if (t->type == SOCK_STREAM && (r == 0 || (r < 0 && errno != EAGAIN)))
		mx_done(t, MX_BLOCKED);
}

static int matrix(int argc, char **argv)
{
	static const char *const names[] = { "ok", "blocked", "refused" };
	struct { int type, port; } ports[16];
	int nports = 0, naddrs = 0;
	const char **addrs = calloc((size_t)argc + 1, sizeof(*addrs));
	long ms = 500;

	if (!addrs)
		return 2;
	for (int i = 0; i < argc; i++) {
		char proto[8];
		int port;
		if (!strcmp(argv[i], "--ms") && i + 1 < argc) {
			ms = atol(argv[++i]);
		} else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			if (nports == (int)(sizeof(ports) / sizeof(ports[0])) ||
			    sscanf(argv[++i], "%7[a-z]/%d", proto, &port) != 2 || port < 1 || port > 65535 ||
			    (strcmp(proto, "tcp") && strcmp(proto, "udp")))
				return 2;
			ports[nports].type = strcmp(proto, "tcp") ? SOCK_DGRAM : SOCK_STREAM;
			ports[nports++].port = port;
		} else {
			addrs[naddrs++] = argv[i];
		}
	}
	if (!nports || !naddrs)
		return 2;

	int n = naddrs * nports;
	struct mx_target *t = calloc((size_t)n, sizeof(*t));
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	int *idx = calloc((size_t)n, sizeof(*idx));
	if (!t || !pfd || !idx)
		return 2;
	for (int a = 0; a < naddrs; a++)
		for (int p = 0; p < nports; p++) {
			struct mx_target *x = &t[a * nports + p];
			x->addr = addrs[a];
			x->type = ports[p].type;
			x->port = ports[p].port;
			mx_start(x);
		}

	long start = now_ms(), end = start + ms, next_resend = start + 100;
	for (;;) {
		long now = now_ms();
		int np = 0;
		bool resend = now >= next_resend;
		if (resend)
			next_resend = now + 100;
		for (int i = 0; i < n; i++) {
			if (t[i].state != MX_CONNECTING && t[i].state != MX_WAITING)
				continue;
			if (resend && t[i].type == SOCK_DGRAM)
				mx_send(&t[i]);
			if (t[i].fd < 0)
				continue;
			pfd[np].fd = t[i].fd;
			pfd[np].events = t[i].state == MX_CONNECTING ? POLLOUT : POLLIN;
			idx[np++] = i;
		}
		if (!np || now >= end)
			break;
		long wait = (end < next_resend ? end : next_resend) - now;
		if (poll(pfd, (nfds_t)np, (int)wait) <= 0)
			continue;
		for (int k = 0; k < np; k++)
			if (pfd[k].revents)
				mx_event(&t[idx[k]], pfd[k].revents);
	}
	for (int i = 0; i < n; i++) {
		if (t[i].state == MX_CONNECTING || t[i].state == MX_WAITING)
			mx_done(&t[i], MX_BLOCKED);
		printf("%s %s/%d %s\n", t[i].addr, t[i].type == SOCK_STREAM ? "tcp" : "udp", t[i].port,
		       names[t[i].state - MX_OK]);
	}
	free(idx);
	free(pfd);
	free(t);
	free(addrs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return serve(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "matrix"))
		return matrix(argc - 2, argv + 2);
	if (argc >= 4 && (!strcmp(argv[1], "tcp") || !strcmp(argv[1], "udp"))) {
		long ms = 1000;
		if (argc == 6 && !strcmp(argv[4], "--ms"))
			ms = atol(argv[5]);
		return probe(!strcmp(argv[1], "tcp") ? SOCK_STREAM : SOCK_DGRAM, argv[2], atoi(argv[3]), ms);
	}
	fprintf(stderr, "usage: zs-probe serve [--tcp PORT]... [--udp PORT]... [--seconds N]\n"
			"       zs-probe tcp|udp ADDR PORT [--ms N]\n"
			"       zs-probe matrix [--ms N] [--port tcp|udp/PORT]... ADDR...\n");
	return 2;
}
