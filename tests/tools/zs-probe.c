// SPDX-License-Identifier: MIT
/*
 * zs-probe: the traffic tool of the tests and the demo. Bounded in time.
 *   zs-probe serve [--tcp PORT]... [--udp PORT]... [--seconds N]   echo servers
 *   zs-probe tcp ADDR PORT [--ms N]    connect, send, expect the echo: exit 0/1
 *   zs-probe udp ADDR PORT [--ms N]    one datagram there and back: exit 0/1
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return serve(argc - 2, argv + 2);
	if (argc >= 4 && (!strcmp(argv[1], "tcp") || !strcmp(argv[1], "udp"))) {
		long ms = 1000;
		if (argc == 6 && !strcmp(argv[4], "--ms"))
			ms = atol(argv[5]);
		return probe(!strcmp(argv[1], "tcp") ? SOCK_STREAM : SOCK_DGRAM, argv[2], atoi(argv[3]), ms);
	}
	fprintf(stderr, "usage: zs-probe serve [--tcp PORT]... [--udp PORT]... [--seconds N]\n"
			"       zs-probe tcp|udp ADDR PORT [--ms N]\n");
	return 2;
}
