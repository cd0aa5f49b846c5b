// SPDX-License-Identifier: MIT
/*
 * zs-probe: the traffic tool of the tests and the demo. Bounded in time.
 *   zs-probe serve [--tcp PORT]... [--udp PORT]... [--seconds N]   echo servers
 *   zs-probe tcp ADDR PORT [--ms N]    connect, send, expect the echo: exit 0/1
 *   zs-probe udp ADDR PORT [--ms N]    one datagram there and back: exit 0/1
 *   zs-probe matrix [--ms N] [--port tcp|udp/PORT]... ADDR...
 *        every (ADDR, port) at once, under one deadline; one line per target,
 *        in order: "ADDR tcp/80 ok|blocked|refused". Exit 0 once all are judged.
 *   zs-probe icmp ADDR [--ms N]        ICMP or ICMPv6 echo there and back: exit 0/1
 *   zs-probe sink [--udp PORT]... [--tcp PORT]... [--seconds N]
 *        counts what arrives (UDP datagrams are echoed, TCP bytes are not);
 *        at the end, or on SIGTERM, one line per port:
 *        "udp/P received N datagrams", "tcp/P received N bytes in C connections"
 *   zs-probe stream udp ADDR PORT [--pps N] [--seconds N] [--drain-ms N]
 *        numbered datagrams at a steady rate, their echoes counted:
 *        "sent N echoed M lost L"; exit 0 when every one came back.
 *        SIGTERM ends either stream early, and what was sent is judged.
 *   zs-probe stream tcp ADDR PORT [--bps N] [--seconds N] [--drain-ms N]
 *        one connection, written at a steady rate, then closed and the peer's
 *        close awaited: "sent N bytes, R retransmits, longest wait W ms, closed";
 *        exit 0 when all was written and acknowledged without reset or stall
 *   zs-probe hold ADDR PORT [--every-ms N] [--timeout-ms N] [--seconds N]
 *        one TCP connection to an echo server, a message every N ms; prints
 *        "connected", then "held N messages" (exit 0) or "stopped after N
 *        messages at T: ..." (exit 1, T in ms since the epoch: the send of the
 *        first message without an echo). Exit 2: no connection.
 *   zs-probe flood udp ADDR PORT [--seconds N] [--size B]
 *        B-byte datagrams (default 64) as fast as the socket takes them, in
 *        sendmmsg batches, for N seconds (default 5) or until SIGTERM; send
 *        errors (an ICMP error that came back, ENOBUFS) are counted, not fatal:
 *        "sent N datagrams in T ms, R pps, E send errors"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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

static long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A socket connected to ADDR PORT within ms, or -1. Non-blocking. */
static int connect_to(int type, const char *addr, int port, long ms)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (parse_addr(addr, port, &ss, &len))
		return -1;
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		goto err;
	if (type == SOCK_STREAM) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int err = 0;
		socklen_t el = sizeof(err);
		if (poll(&p, 1, (int)ms) <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)
			goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

/* Numeric options, "--NAME N" each, none negative: into the variable named for it. */
struct num_opt {
	const char *name;
	long *val;
};

static int parse_num_opts(int argc, char **argv, const struct num_opt *opts)
{
	for (int i = 0; i < argc; i++) {
		const struct num_opt *o = opts;
		while (o->name && strcmp(argv[i], o->name))
			o++;
		if (!o->name || i + 1 >= argc)
			return -1;
		*o->val = atol(argv[++i]);
		if (*o->val < 0)
			return -1;
	}
	return 0;
}

static uint16_t inet_csum(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/*
 * ICMP echo over a raw socket (ping is not among the dependencies, and ping
 * sockets need net.ipv4.ping_group_range). The kernel fills in the ICMPv6
 * checksum; the ICMP one is ours. A raw socket sees every ICMP packet from
 * the peer, so a reply counts only with our id and a sequence we sent.
 */
static int icmp_echo(const char *addr, long ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint8_t pkt[64], buf[512];
	uint16_t id = (uint16_t)(getpid() ^ (now_ms() & 0xffff));
	long end = now_ms() + ms, next = 0;
	int seq = 0;

	if (parse_addr(addr, 0, &ss, &len))
		return 2;
	int v6 = ss.ss_family == AF_INET6;
	int fd = socket(ss.ss_family, SOCK_RAW | SOCK_NONBLOCK, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	if (fd < 0) {
		perror("zs-probe: raw socket");
		return 2;
	}
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return 1;
	}
	for (long now = now_ms(); now < end; now = now_ms()) {
		/* Resend now and then: one lost request is not a denial. */
		if (now >= next && seq < 16) {
			memset(pkt, 0, sizeof(pkt));
			pkt[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
			memcpy(pkt + 4, &(uint16_t){ htons(id) }, 2);
			memcpy(pkt + 6, &(uint16_t){ htons((uint16_t)++seq) }, 2);
			memcpy(pkt + 8, "zeroseg-probe", 13);
			if (!v6)
				memcpy(pkt + 2, &(uint16_t){ inet_csum(pkt, sizeof(pkt)) }, 2);
			send(fd, pkt, sizeof(pkt), 0);
			next = now + 100;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long wait = (next < end ? next : end) - now;
		if (poll(&p, 1, (int)(wait > 0 ? wait : 0)) <= 0)
			continue;
		ssize_t r;
		while ((r = recv(fd, buf, sizeof(buf), 0)) > 0) {
			uint8_t *ih = buf;
			if (!v6) { /* IPv4 raw sockets deliver the IP header too */
				size_t hl = (size_t)(buf[0] & 0xf) * 4;
				if ((size_t)r < hl + 8)
					continue;
				ih += hl;
				r -= (ssize_t)hl;
			}
			uint16_t rid, rseq;
			if (r < 8)
				continue;
			memcpy(&rid, ih + 4, 2);
			memcpy(&rseq, ih + 6, 2);
			if (ih[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) &&
			    ntohs(rid) == id && ntohs(rseq) >= 1 && ntohs(rseq) <= seq) {
				close(fd);
				return 0;
			}
		}
	}
	close(fd);
	return 1;
}

/*
 * A receive queue that holds a second or so of a stream, so that a counter
 * busy elsewhere for a moment does not count its own overflow as loss.
 * Past net.core.rmem_max when we may (root), else as much as it allows.
 */
static void big_rcvbuf(int fd)
{
	int rcv = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
}

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * The counting sink: what arrived is the measure, so a denied flow can be
 * shown to deliver nothing at all (an echo that does not come back would not
 * say which direction was dropped). UDP is echoed for the sender's own count.
 */
struct sink_port {
	int type, port;
	unsigned long long count, conns;
};

struct sink {
	struct sink_port ports[MAX_FDS];
	struct pollfd pfd[MAX_FDS]; /* the listeners first, one per port, then connections */
	int owner[MAX_FDS];         /* pfd[i] belongs to ports[owner[i]] */
	int nports, n;
};

/* Reads what is queued on pfd[i], without waiting. Returns 1 if it closed pfd[i]. */
static int sink_read(struct sink *k, int i)
{
	struct sink_port *sp = &k->ports[k->owner[i]];
	char buf[65536];
	ssize_t r;

	if (i < k->nports && sp->type == SOCK_STREAM) {
		int c;
		while ((c = accept4(k->pfd[i].fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
			if (k->n == MAX_FDS) {
				close(c);
				continue;
			}
			k->pfd[k->n] = (struct pollfd){ .fd = c, .events = POLLIN };
			k->owner[k->n++] = k->owner[i];
			sp->conns++;
		}
	} else if (i < k->nports) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		while ((r = recvfrom(k->pfd[i].fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >= 0) {
			sp->count++;
			sendto(k->pfd[i].fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
			fl = sizeof(from);
		}
	} else {
		while ((r = recv(k->pfd[i].fd, buf, sizeof(buf), 0)) > 0)
			sp->count += (unsigned long long)r;
		if (r == 0 || errno != EAGAIN) {
			close(k->pfd[i].fd);
			k->pfd[i] = k->pfd[k->n - 1];
			k->owner[i] = k->owner[k->n - 1];
			k->n--;
			return 1;
		}
	}
	return 0;
}

static int sink(int argc, char **argv)
{
	static struct sink k;
	long seconds = 60;
	struct sigaction sa = { .sa_handler = on_stop };

	for (int i = 0; i < argc; i++) {
		if (i + 1 >= argc)
			return 2;
		if (!strcmp(argv[i], "--seconds")) {
			seconds = atol(argv[++i]);
			continue;
		}
		int udp = !strcmp(argv[i], "--udp");
		if ((!udp && strcmp(argv[i], "--tcp")) || k.nports >= MAX_FDS / 2)
			return 2;
		struct sink_port *sp = &k.ports[k.nports];
		sp->type = udp ? SOCK_DGRAM : SOCK_STREAM;
		sp->port = atoi(argv[++i]);
		int fd = listener(sp->type, sp->port);
		if (fd < 0)
			return 1;
		if (udp)
			big_rcvbuf(fd);
		k.pfd[k.n] = (struct pollfd){ .fd = fd, .events = POLLIN };
		k.owner[k.n++] = k.nports++;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	long end = now_ms() + seconds * 1000;
	while (!stop_requested && now_ms() < end) {
		if (poll(k.pfd, (nfds_t)k.n, 100) <= 0)
			continue;
		for (int i = 0; i < k.n; i++)
			if (k.pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				i -= sink_read(&k, i);
	}
	/* What is still queued arrived too: count it before reporting. */
	for (int i = 0; i < k.n; i++)
		i -= sink_read(&k, i);
	for (int i = 0; i < k.nports; i++) {
		if (k.ports[i].type == SOCK_DGRAM)
			printf("udp/%d received %llu datagrams\n", k.ports[i].port, k.ports[i].count);
		else
			printf("tcp/%d received %llu bytes in %llu connections\n", k.ports[i].port,
			       k.ports[i].count, k.ports[i].conns);
	}
	return 0;
}

/*
 * Numbered datagrams at a steady rate, each echoed by a sink: the sender can
 * tell exactly which ones did not make the round trip. Datagrams still in
 * flight when sending stops get drain_ms to come back.
 */
struct stream_dgram {
	char magic[8];
	uint32_t seq;
	char pad[20];
};

static int stream_udp(const char *addr, int port, long pps, long seconds, long drain_ms)
{
	long total = pps * seconds, sent = 0, echoed = 0, errors = 0;
	uint8_t *seen = calloc((size_t)total + 1, 1);
	int fd = connect_to(SOCK_DGRAM, addr, port, 0);

	if (!seen || fd < 0 || pps < 1 || pps > 100000) {
		fprintf(stderr, "zs-probe: stream udp: bad arguments or no socket\n");
		return 2;
	}
	big_rcvbuf(fd);
	long start = now_ms(), last_send = start;
	for (;;) {
		long now = now_ms();
		if (stop_requested && sent < total)
			total = sent; /* told to stop: what was sent is the stream */
		if (sent == total && now - last_send >= drain_ms)
			break;
		long due = (now - start) * pps / 1000 + 1;
		while (sent < total && sent < due) {
			struct stream_dgram d = { .magic = "zs-strm", .seq = (uint32_t)sent };
			if (send(fd, &d, sizeof(d), 0) < 0) {
				if (errno == EAGAIN || errno == ENOBUFS)
					break; /* sent later, still counted once */
				errors++; /* e.g. ECONNREFUSED: an ICMP error came back */
			}
			sent++;
			last_send = now;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 1) <= 0)
			continue;
		struct stream_dgram d;
		ssize_t r;
		while ((r = recv(fd, &d, sizeof(d), 0)) >= 0 || errno == ECONNREFUSED) {
			if (r == (ssize_t)sizeof(d) && !memcmp(d.magic, "zs-strm", 8) &&
			    d.seq < (uint32_t)total && !seen[d.seq]) {
				seen[d.seq] = 1;
				echoed++;
			}
		}
	}
	printf("sent %ld echoed %ld lost %ld", sent, echoed, sent - echoed);
	if (errors)
		printf(" send-errors %ld", errors);
	for (long i = 0, shown = 0; i < sent && echoed < sent && shown < 8; i++)
		if (!seen[i])
			printf("%s%ld", shown++ ? "," : " lost-seqs ", i);
	printf("\n");
	close(fd);
	free(seen);
	return sent == total && echoed == sent && !errors ? 0 : 1;
}

/*
 * One TCP connection written at a steady rate. A packet the firewall drops
 * shows as a retransmit (the kernel's own count, TCP_INFO), a longer drop as
 * a wait for send buffer space, a revocation as a reset or a stall.
 */
static int stream_tcp(const char *addr, int port, long bps, long seconds, long drain_ms)
{
	static char chunk[1024];
	long long total = (long long)bps * seconds, sent = 0;
	long max_wait = 0, stall_ms = 1000;
	const char *how = "closed";
	int fd = connect_to(SOCK_STREAM, addr, port, 1000);

	if (fd < 0) {
		printf("sent 0 bytes, no connection\n");
		return 1;
	}
	memset(chunk, 'z', sizeof(chunk));
	long start = now_ms(), waiting_since = 0;
	while (sent < total) {
		long now = now_ms();
		if (stop_requested) {
			total = sent; /* told to stop: what was sent is the stream */
			break;
		}
		long long due = (long long)(now - start) * bps / 1000 + (long long)sizeof(chunk);
		if (due > total)
			due = total;
		while (sent < due) {
			size_t len = (size_t)(due - sent < (long long)sizeof(chunk) ? due - sent : (long long)sizeof(chunk));
			ssize_t w = send(fd, chunk, len, MSG_NOSIGNAL);
			if (w < 0 && errno == EAGAIN) {
				if (!waiting_since)
					waiting_since = now;
				break;
			}
			if (w < 0) {
				how = strerror(errno);
				goto out;
			}
			if (waiting_since && now - waiting_since > max_wait)
				max_wait = now - waiting_since;
			waiting_since = 0;
			sent += w;
		}
		if (waiting_since && now - waiting_since > stall_ms) {
			how = "stalled";
			goto out;
		}
		struct pollfd p = { .fd = fd, .events = waiting_since ? POLLOUT : 0 };
		poll(&p, 1, 1);
		if (p.revents & (POLLERR | POLLHUP)) {
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			how = err ? strerror(err) : "hung up";
			goto out;
		}
	}
	/* All written: the peer's close after ours means it read every byte. */
	shutdown(fd, SHUT_WR);
	how = "no close from the peer";
	for (long end = now_ms() + drain_ms; now_ms() < end;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char buf[256];
		if (poll(&p, 1, (int)(end - now_ms() > 0 ? end - now_ms() : 0)) <= 0)
			continue;
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r == 0) {
			how = "closed";
			break;
		}
		if (r < 0 && errno != EAGAIN) {
			how = strerror(errno);
			break;
		}
	}
out:;
	struct tcp_info ti = { 0 };
	socklen_t tl = sizeof(ti);
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	printf("sent %lld bytes, %u retransmits, longest wait %ld ms, %s\n", sent,
	       ti.tcpi_total_retrans, max_wait, how);
	close(fd);
	return sent == total && !strcmp(how, "closed") ? 0 : 1;
}

static int stream(int argc, char **argv)
{
	long pps = 2000, bps = 1 << 20, seconds = 5, drain_ms = 300;
	const struct num_opt opts[] = { { "--pps", &pps }, { "--bps", &bps }, { "--seconds", &seconds },
					{ "--drain-ms", &drain_ms }, { NULL, NULL } };
	struct sigaction sa = { .sa_handler = on_stop };

	if (argc < 3 || parse_num_opts(argc - 3, argv + 3, opts))
		return 2;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!strcmp(argv[0], "udp"))
		return stream_udp(argv[1], atoi(argv[2]), pps, seconds, drain_ms);
	if (!strcmp(argv[0], "tcp") && bps > 0)
		return stream_tcp(argv[1], atoi(argv[2]), bps, seconds, drain_ms);
	return 2;
}

/*
 * A long-lived connection that shows when it stops: a message every every_ms
 * to an echo server, each echo awaited for timeout_ms. The time printed is
 * wall-clock, so a script can set it against the moment it changed policy.
 */
static int hold(int argc, char **argv)
{
	long every_ms = 50, timeout_ms = 500, seconds = 10, n = 0;
	const struct num_opt opts[] = { { "--every-ms", &every_ms }, { "--timeout-ms", &timeout_ms },
					{ "--seconds", &seconds }, { NULL, NULL } };

	if (argc < 2 || parse_num_opts(argc - 2, argv + 2, opts))
		return 2;
	int fd = connect_to(SOCK_STREAM, argv[0], atoi(argv[1]), 1000);
	if (fd < 0) {
		printf("no connection\n");
		return 2;
	}
	printf("connected\n");
	fflush(stdout);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));

	long end = now_ms() + seconds * 1000;
	for (long next = now_ms(); next < end; next += every_ms) {
		char msg[32], buf[32];
		int len = snprintf(msg, sizeof(msg), "zs-hold %08ld\n", n);
		long sent_at = wall_ms(), deadline = now_ms() + timeout_ms;
		ssize_t got = 0;

		if (send(fd, msg, (size_t)len, MSG_NOSIGNAL) != len) {
			printf("stopped after %ld messages at %ld: send: %s\n", n, sent_at, strerror(errno));
			return 1;
		}
		while (got < len) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			long left = deadline - now_ms();
			if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
				printf("stopped after %ld messages at %ld: no echo within %ld ms\n", n,
				       sent_at, timeout_ms);
				return 1;
			}
			ssize_t r = recv(fd, buf + got, (size_t)(len - got), 0);
			if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
				printf("stopped after %ld messages at %ld: %s\n", n, sent_at,
				       r ? strerror(errno) : "closed by the peer");
				return 1;
			}
			got += r > 0 ? r : 0;
		}
		if (memcmp(buf, msg, (size_t)len)) {
			printf("stopped after %ld messages at %ld: wrong echo\n", n, sent_at);
			return 1;
		}
		n++;
		long wait = next + every_ms - now_ms();
		if (wait > 0)
			poll(NULL, 0, (int)wait);
	}
	printf("held %ld messages\n", n);
	close(fd);
	return 0;
}

/*
 * The attacker of the "under attack" bench: one connected socket (the route
 * looked up once, as a flooder would), the same datagram over and over. A
 * datagram a full queue drops on the way is still counted as sent: the socket
 * took it, and what became of it is the firewall's count, not ours.
 */
#define FLOOD_BATCH 64

static int flood(int argc, char **argv)
{
	static char payload[65507];
	struct mmsghdr msgs[FLOOD_BATCH];
	struct iovec iov;
	long seconds = 5, size = 64, sent = 0, errors = 0;
	const struct num_opt opts[] = { { "--seconds", &seconds }, { "--size", &size }, { NULL, NULL } };
	struct sigaction sa = { .sa_handler = on_stop };

	if (argc < 3 || strcmp(argv[0], "udp") || parse_num_opts(argc - 3, argv + 3, opts) ||
	    size > (long)sizeof(payload))
		return 2;
	int fd = connect_to(SOCK_DGRAM, argv[1], atoi(argv[2]), 0);
	if (fd < 0) {
		fprintf(stderr, "zs-probe: flood: bad address or no socket\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(payload, 'z', (size_t)size);
	iov = (struct iovec){ .iov_base = payload, .iov_len = (size_t)size };
	for (int i = 0; i < FLOOD_BATCH; i++)
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };

	long start = now_ms(), end = start + seconds * 1000, now = start;
	while (!stop_requested && (now = now_ms()) < end) {
		int r = sendmmsg(fd, msgs, FLOOD_BATCH, 0);
		if (r > 0) {
			sent += r;
		} else if (errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, 1);
		} else {
			errors++; /* ECONNREFUSED, ENOBUFS, ...: the next batch goes out anyway */
		}
	}
	long ms = now - start > 0 ? now - start : 1;
	printf("sent %ld datagrams in %ld ms, %lld pps, %ld send errors\n", sent, ms,
	       (long long)sent * 1000 / ms, errors);
	close(fd);
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
	if (argc >= 2 && !strcmp(argv[1], "sink"))
		return sink(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "stream"))
		return stream(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "hold"))
		return hold(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "flood"))
		return flood(argc - 2, argv + 2);
	if (argc == 3 || (argc == 5 && !strcmp(argv[3], "--ms"))) {
		if (!strcmp(argv[1], "icmp"))
			return icmp_echo(argv[2], argc == 5 ? atol(argv[4]) : 1000);
	}
	fprintf(stderr, "usage: zs-probe serve [--tcp PORT]... [--udp PORT]... [--seconds N]\n"
			"       zs-probe tcp|udp ADDR PORT [--ms N]\n"
			"       zs-probe icmp ADDR [--ms N]\n"
			"       zs-probe matrix [--ms N] [--port tcp|udp/PORT]... ADDR...\n"
			"       zs-probe sink [--udp PORT]... [--tcp PORT]... [--seconds N]\n"
			"       zs-probe stream udp ADDR PORT [--pps N] [--seconds N] [--drain-ms N]\n"
			"       zs-probe stream tcp ADDR PORT [--bps N] [--seconds N] [--drain-ms N]\n"
			"       zs-probe hold ADDR PORT [--every-ms N] [--timeout-ms N] [--seconds N]\n"
			"       zs-probe flood udp ADDR PORT [--seconds N] [--size B]\n");
	return 2;
}
