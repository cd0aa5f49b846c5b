// SPDX-License-Identifier: MIT
/*
 * Registration benchmark: the time from `zeroseg apply` of a new Workload to
 * the first packet of it that the datapath lets through, with a daemon and
 * the namespaces set up by scripts/bench_register.sh (which draws them):
 *
 *   newcomer ns --(eth0 | zbr-n)-- host ns [daemon] --(zbr-s | eth0)-- server ns
 *   sender thread                  tc on zbr-n, zbr-s                 receiver thread
 *
 * A sender thread in the newcomer's namespace sends a small UDP datagram to
 * the server every --interval-us for the whole run; a receiver thread in the
 * server's namespace stamps each one it gets (CLOCK_MONOTONIC). The newcomer
 * is not registered: its address is "world" to the server's ingress policy,
 * which only allows app=newcomer, so every datagram is dropped. Each round:
 *
 *   exec    ZEROSEG --version, timed: the CLI's own start, part of every apply
 *   after   --after-ms since the previous round's delete returned (the daemon
 *           retires a change's old policy generation in its 1 s tick, or at
 *           the start of the next change: 1100 measures an idle daemon)
 *   quiet   no datagram arrives for --quiet-ms (the sender keeps sending)
 *   t0      spawn ZEROSEG --socket SOCK apply -f FILE   (the Workload)
 *   first   the first datagram received after t0: registration = first - t0
 *           apply = how long the command took, for comparison
 *   t2      spawn ZEROSEG --socket SOCK delete -f FILE
 *   quiet   again; last = the last datagram received: revocation = last - t2
 *
 * Both threads and this process share one clock on one machine. Resolution:
 * the send interval; for each round, the time between the first allowed
 * datagram's sending and its (dropped) predecessor's, worst round printed. The
 * sender keeps one socket, so each round's first allowed datagram belongs to
 * a flow the datapath has seen denied (its conntrack entry is judged anew
 * under the new revision), as a client retrying would.
 *
 * Run as root (it enters network namespaces):
 *   bench_register --send-ns PATH --recv-ns PATH --to ADDR:PORT --zeroseg BIN
 *                  --socket PATH --file YAML [--reps N] [--interval-us N]
 *                  [--quiet-ms N] [--after-ms N] [--timeout S] [--log FILE]
 *                  [--label TEXT]
 *   bench_register --header     (the table's heading; rows line up under it)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "util/util.h"

#define MAGIC 0x7a737267u /* "zsrg": ours, not a stray datagram */
#define MAX_REPS 1000
#define FIRST_WAIT_NS 5000000000ull /* after apply returns, the first datagram is this late at most */
#define QUIET_WAIT_NS 5000000000ull /* packets stop within this after a delete, or it failed */
#define SENT_RING 4096 /* send times of the latest datagrams, by sequence number */

extern char **environ;

struct opts {
	const char *send_ns, *recv_ns, *zeroseg, *socket, *file, *log, *label;
	struct sockaddr_in to;
	unsigned reps, interval_us, quiet_ms, after_ms, timeout_s;
};

struct dgram {
	uint32_t magic;
	uint32_t pad;
	uint64_t seq;
	uint64_t sent_ns;
};

struct bench {
	const struct opts *o;
	int send_ns_fd, recv_ns_fd;
	atomic_bool stop;
	atomic_int err;             /* a thread's setup failure, -errno */
	atomic_int ready;           /* threads ready to send / receive */
	_Atomic uint64_t sent;      /* datagrams sent */
	_Atomic uint64_t first_rx;  /* first datagram since main reset it to 0, ns */
	_Atomic uint64_t first_gap; /* its sending minus its predecessor's, ns */
	_Atomic uint64_t last_rx;   /* latest datagram, ns */
	_Atomic uint64_t sent_at[SENT_RING];
	unsigned rounds;      /* completed */
	uint64_t last_change; /* when the last delete returned, ns */
	pthread_t sender, receiver;
};

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static uint64_t now_ns(void)
{
	return zs_now_ns(CLOCK_MONOTONIC);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

/* ---- the two threads ------------------------------------------------------ */

/* A UDP socket in the namespace behind ns_fd (this thread only moves). */
static int socket_in(int ns_fd)
{
	int fd;

	if (setns(ns_fd, CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/*
 * Both threads run SCHED_FIFO (if allowed): on a busy machine a daemon and
 * CLI at work would otherwise delay the sender's next datagram and the
 * receiver's time stamp by milliseconds. They sleep between datagrams, so
 * they take little from the processes measured.
 */
static void realtime(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

static void thread_failed(struct bench *b, int err)
{
	int zero = 0;

	atomic_compare_exchange_strong(&b->err, &zero, err);
	atomic_store(&b->stop, true);
}

/*
 * Paced by absolute deadlines; after a stall (a preempted vCPU) it carries on
 * from now rather than sending the missed datagrams in a burst.
 */
static void *sender_main(void *arg)
{
	struct bench *b = arg;
	uint64_t interval = b->o->interval_us * 1000ull, next, now;
	struct dgram d = { .magic = MAGIC };
	int fd = socket_in(b->send_ns_fd);

	if (fd < 0) {
		thread_failed(b, fd);
		return NULL;
	}
	prctl(PR_SET_TIMERSLACK, 1UL); /* wake at the deadline, not up to 50 us late */
	realtime();
	if (connect(fd, (const struct sockaddr *)&b->o->to, sizeof(b->o->to))) {
		thread_failed(b, -errno);
		close(fd);
		return NULL;
	}
	atomic_fetch_add(&b->ready, 1);
	next = now_ns();
	while (!atomic_load(&b->stop)) {
		struct timespec ts;
		next += interval;
		ts.tv_sec = (time_t)(next / 1000000000u);
		ts.tv_nsec = (long)(next % 1000000000u);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		now = now_ns();
		if (now > next + interval)
			next = now;
		d.seq++;
		d.sent_ns = now;
		atomic_store_explicit(&b->sent_at[d.seq % SENT_RING], now, memory_order_relaxed);
		/* Errors (an ICMP error queued on the socket) do not stop the pace. */
		send(fd, &d, sizeof(d), MSG_DONTWAIT);
		atomic_fetch_add(&b->sent, 1);
	}
	close(fd);
	return NULL;
}

static void *receiver_main(void *arg)
{
	struct bench *b = arg;
	struct timeval tv = { .tv_usec = 20000 }; /* to notice stop */
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = b->o->to.sin_port };
	int fd = socket_in(b->recv_ns_fd);

	if (fd < 0) {
		thread_failed(b, fd);
		return NULL;
	}
	realtime();
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    bind(fd, (const struct sockaddr *)&any, sizeof(any))) {
		thread_failed(b, -errno);
		close(fd);
		return NULL;
	}
	atomic_fetch_add(&b->ready, 1);
	while (!atomic_load(&b->stop)) {
		struct dgram d;
		ssize_t n = recv(fd, &d, sizeof(d), 0);
		uint64_t t = now_ns();
		if (n != (ssize_t)sizeof(d) || d.magic != MAGIC)
			continue;
		atomic_store(&b->last_rx, t);
		if (atomic_load(&b->first_rx))
			continue;
		/* The first through: its predecessor, sent this long before, was not. */
		uint64_t prev = atomic_load_explicit(&b->sent_at[(d.seq - 1) % SENT_RING],
						     memory_order_relaxed);
		atomic_store(&b->first_gap, prev && prev < d.sent_ns ? d.sent_ns - prev : 0);
		atomic_store(&b->first_rx, t); /* main reads first_gap after this */
	}
	close(fd);
	return NULL;
}

/* ---- the rounds ------------------------------------------------------------- */

/*
 * Runs argv (argv[0] a path) with its output appended to the log; 0 when it
 * exited 0. The alarm interrupts the wait (the child is then killed).
 */
static int run(const struct opts *o, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int status, err;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, o->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR || timed_out) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

/* ZEROSEG --socket SOCK VERB -f FILE */
static int run_cli(const struct opts *o, const char *verb)
{
	char *argv[] = { (char *)o->zeroseg, "--socket", (char *)o->socket, (char *)verb, "-f",
			 (char *)o->file, NULL };

	return run(o, argv);
}

/*
 * Returns once no datagram has arrived for quiet_ns while the sender sent a
 * quarter of what it should have in that time (a stalled sender proves
 * nothing: then it waits on); -ETIMEDOUT if they still arrive at the
 * deadline, -EIO if the sender never got going.
 */
static int wait_quiet(struct bench *b, uint64_t quiet_ns, uint64_t deadline)
{
	uint64_t want = quiet_ns / (b->o->interval_us * 1000ull) / 4 + 1;
	uint64_t start = now_ns(), sent0 = atomic_load(&b->sent), seen = atomic_load(&b->last_rx);

	for (;;) {
		uint64_t now = now_ns(), last = atomic_load(&b->last_rx), sent = atomic_load(&b->sent);
		if (atomic_load(&b->err) || timed_out)
			return atomic_load(&b->err) ?: -ETIMEDOUT;
		if (last != seen) { /* one came: start over */
			seen = last;
			start = now;
			sent0 = sent;
		}
		if (now - start >= quiet_ns && sent - sent0 >= want)
			return 0;
		if (now > deadline)
			return sent - sent0 < want ? -EIO : -ETIMEDOUT;
		sleep_ns(1000000);
	}
}

struct round {
	double reg_ms, apply_ms, revoke_ms, exec_ms, res_us;
};

static int one_round(struct bench *b, struct round *r)
{
	const struct opts *o = b->o;
	uint64_t quiet = o->quiet_ms * 1000000ull, t0, t1, t2, first, last;
	char *version[] = { (char *)o->zeroseg, "--version", NULL };
	int err;

	/* The CLI's own start, a part of every apply: exec, dynamic linking, exit. */
	t0 = now_ns();
	err = run(o, version);
	r->exec_ms = (now_ns() - t0) / 1e6;
	if (err) {
		fprintf(stderr, "bench_register: %s --version failed (%s)\n", o->zeroseg, strerror(-err));
		return err;
	}
	while (now_ns() < b->last_change + o->after_ms * 1000000ull)
		sleep_ns(1000000);
	err = wait_quiet(b, quiet, now_ns() + QUIET_WAIT_NS);
	if (err) {
		fprintf(stderr, "bench_register: the unregistered newcomer's datagrams %s\n",
			err == -EIO ? "are not being sent" : "are not dropped");
		return err;
	}
	t0 = now_ns();
	atomic_store(&b->first_rx, 0);
	err = run_cli(o, "apply");
	t1 = now_ns();
	if (err) {
		fprintf(stderr, "bench_register: %s apply -f %s failed (%s); see %s\n", o->zeroseg, o->file,
			strerror(-err), o->log);
		return err;
	}
	while (!(first = atomic_load(&b->first_rx))) {
		if (now_ns() > t1 + FIRST_WAIT_NS || timed_out || atomic_load(&b->err)) {
			fprintf(stderr, "bench_register: no datagram arrived after registering the newcomer\n");
			return -ETIMEDOUT;
		}
		sleep_ns(200000);
	}
	if (first < t0) {
		fprintf(stderr, "bench_register: a datagram got through before the newcomer was registered\n");
		return -EPROTO;
	}
	r->res_us = atomic_load(&b->first_gap) / 1e3;
	t2 = now_ns();
	err = run_cli(o, "delete");
	if (err) {
		fprintf(stderr, "bench_register: %s delete -f %s failed (%s); see %s\n", o->zeroseg, o->file,
			strerror(-err), o->log);
		return err;
	}
	b->last_change = now_ns();
	err = wait_quiet(b, quiet, now_ns() + QUIET_WAIT_NS);
	if (err) {
		fprintf(stderr, "bench_register: datagrams still arrive after the newcomer was deleted\n");
		return err;
	}
	last = atomic_load(&b->last_rx);
	r->reg_ms = (first - t0) / 1e6;
	r->apply_ms = (t1 - t0) / 1e6;
	r->revoke_ms = last > t2 ? (last - t2) / 1e6 : 0;
	return 0;
}

/* ---- main ----------------------------------------------------------------- */

#define ROW_FMT "%-12s %5s %4s | %7s %7s %7s | %7s %7s | %7s %7s | %7s | %5s\n"

static void print_header(void)
{
	printf("%-12s %5s %4s | %-23s | %-15s | %-15s | %7s | %5s\n", "estate", "after", "reps",
	       "apply -> first packet", "apply command", "delete -> last", "exec", "res.");
	printf(ROW_FMT, "rules/wkload", "ms", "", "min", "p50", "max", "p50", "max", "p50", "max", "p50",
	       "max");
	printf(ROW_FMT, "", "", "", "ms", "ms", "ms", "ms", "ms", "ms", "ms", "ms", "us");
}

static int parse_to(const char *s, struct sockaddr_in *sa)
{
	char addr[64];
	const char *colon = strrchr(s, ':');
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, (size_t)(colon - s));
	addr[colon - s] = '\0';
	port = strtoul(colon + 1, NULL, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return port && port < 65536 && inet_pton(AF_INET, addr, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_register --send-ns PATH --recv-ns PATH --to ADDR:PORT --zeroseg BIN\n"
		"                      --socket PATH --file YAML [--reps N] [--interval-us N]\n"
		"                      [--quiet-ms N] [--after-ms N] [--timeout S] [--log FILE]\n"
		"                      [--label TEXT]\n"
		"       bench_register --header\n"
		"  Sends UDP to ADDR:PORT from the netns at --send-ns, receives in the one at\n"
		"  --recv-ns, and times `BIN --socket PATH apply -f YAML` (which registers the\n"
		"  sender's workload) to the first datagram received, then `delete -f YAML` to\n"
		"  the last; --reps rounds, each apply at least --after-ms after the previous\n"
		"  delete. Prints one row of the table --header heads.\n");
}

static int bench_run(struct bench *b, struct round *rs)
{
	int err = 0;

	if (pthread_create(&b->receiver, NULL, receiver_main, b))
		return -EAGAIN;
	if (pthread_create(&b->sender, NULL, sender_main, b)) {
		atomic_store(&b->stop, true);
		pthread_join(b->receiver, NULL);
		return -EAGAIN;
	}
	while (atomic_load(&b->ready) < 2 && !atomic_load(&b->err) && !timed_out)
		sleep_ns(1000000);
	b->last_change = now_ns(); /* the estate's apply came before us */
	for (; b->rounds < b->o->reps && !err; b->rounds += !err)
		err = atomic_load(&b->err) ?: one_round(b, &rs[b->rounds]);
	atomic_store(&b->stop, true);
	pthread_join(b->sender, NULL);
	pthread_join(b->receiver, NULL);
	return err ?: atomic_load(&b->err);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "send-ns", required_argument, 0, 's' }, { "recv-ns", required_argument, 0, 'r' },
		{ "to", required_argument, 0, 'a' },	   { "zeroseg", required_argument, 0, 'z' },
		{ "socket", required_argument, 0, 'S' },  { "file", required_argument, 0, 'f' },
		{ "reps", required_argument, 0, 'n' },	   { "interval-us", required_argument, 0, 'i' },
		{ "quiet-ms", required_argument, 0, 'Q' }, { "after-ms", required_argument, 0, 'A' },
		{ "timeout", required_argument, 0, 't' },
		{ "log", required_argument, 0, 'l' },	   { "label", required_argument, 0, 'L' },
		{ "header", no_argument, 0, 'H' },	   { "help", no_argument, 0, 'h' },
		{ 0 }
	};
	struct opts o = { .log = "/dev/null", .label = "", .reps = 20, .interval_us = 100, .quiet_ms = 20,
			  .timeout_s = 60 };
	struct bench b = { .o = &o, .send_ns_fd = -1, .recv_ns_fd = -1 };
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: waits are interrupted */
	double reg[MAX_REPS], apply[MAX_REPS], revoke[MAX_REPS], exec[MAX_REPS], res[MAX_REPS];
	struct round *rs;
	bool have_to = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.send_ns = optarg; break;
		case 'r': o.recv_ns = optarg; break;
		case 'a':
			if (parse_to(optarg, &o.to)) {
				fprintf(stderr, "bench_register: --to %s: expected IPv4:PORT\n", optarg);
				return 2;
			}
			have_to = true;
			break;
		case 'z': o.zeroseg = optarg; break;
		case 'S': o.socket = optarg; break;
		case 'f': o.file = optarg; break;
		case 'n': o.reps = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'i': o.interval_us = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'Q': o.quiet_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'A': o.after_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 't': o.timeout_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'l': o.log = optarg; break;
		case 'L': o.label = optarg; break;
		case 'H': print_header(); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.send_ns || !o.recv_ns || !have_to || !o.zeroseg || !o.socket || !o.file || !o.reps ||
	    o.reps > MAX_REPS || !o.interval_us || !o.quiet_ms || optind != argc) {
		usage(stderr);
		return 2;
	}
	sigaction(SIGALRM, &sa, NULL);
	alarm(o.timeout_s);
	b.send_ns_fd = open(o.send_ns, O_RDONLY | O_CLOEXEC);
	b.recv_ns_fd = open(o.recv_ns, O_RDONLY | O_CLOEXEC);
	if (b.send_ns_fd < 0 || b.recv_ns_fd < 0) {
		err = -errno;
		fprintf(stderr, "bench_register: %s: %s\n", b.send_ns_fd < 0 ? o.send_ns : o.recv_ns,
			strerror(-err));
		goto out;
	}
	rs = zs_xcalloc(o.reps, sizeof(*rs));
	err = bench_run(&b, rs);
	if (err) {
		fprintf(stderr, "bench_register: stopped in round %u of %u: %s\n", b.rounds + 1, o.reps,
			timed_out ? "timed out (--timeout)" : strerror(-err));
		free(rs);
		goto out;
	}
	for (unsigned i = 0; i < o.reps; i++) {
		reg[i] = rs[i].reg_ms;
		apply[i] = rs[i].apply_ms;
		revoke[i] = rs[i].revoke_ms;
		exec[i] = rs[i].exec_ms;
		res[i] = rs[i].res_us;
	}
	free(rs);
	double *each[] = { reg, apply, revoke, exec, res };
	for (size_t i = 0; i < sizeof(each) / sizeof(each[0]); i++)
		qsort(each[i], o.reps, sizeof(double), cmp_double);
	double v[9] = { reg[0],		       percentile(reg, o.reps, 50),
			reg[o.reps - 1],	       percentile(apply, o.reps, 50),
			apply[o.reps - 1],	       percentile(revoke, o.reps, 50),
			revoke[o.reps - 1],	       percentile(exec, o.reps, 50),
			res[o.reps - 1] };
	char after[16], n[16], f[9][16];
	snprintf(after, sizeof(after), "%u", o.after_ms > o.quiet_ms ? o.after_ms : o.quiet_ms);
	snprintf(n, sizeof(n), "%u", o.reps);
	for (int i = 0; i < 9; i++)
		snprintf(f[i], sizeof(f[i]), i == 8 ? "%.0f" : "%.1f", v[i]);
	printf(ROW_FMT, o.label, after, n, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]);
out:
	if (b.send_ns_fd >= 0)
		close(b.send_ns_fd);
	if (b.recv_ns_fd >= 0)
		close(b.recv_ns_fd);
	return err ? 1 : 0;
}
