// SPDX-License-Identifier: MIT
/*
 * Telemetry benchmark: flow events from the real tc program, through the ring
 * buffer, to the sinks the daemon uses, and what a slow sink costs.
 *
 * The program is bpf/datapath.bpf.c built with -DZS_DENY_REPORT_NS=0 (the Makefile's
 * build/bench/tc_events.bpf.o): a denied flow's every packet is then reported,
 * so each bpf_prog_test_run_opts() repeat of one denied TCP SYN goes down the
 * real deny path and either submits a ZS_EV_FLOW_DENIED event or counts
 * ZS_STAT_EVENTS_LOST. The first run creates the flow's conntrack entry (its
 * ZS_EV_FLOW_NEW is drained before anything is measured). A producer thread
 * runs the packet with `repeat`; a consumer thread polls the ring and, per
 * event, does what the sink says:
 *
 *   ring     count the event (the ring buffer alone);
 *   records  zs_flow_rec_from_event + zs_flow_rec_json (the record, no I/O);
 *   jsonl    the same + zs_jsonl_write to a file (flushed after each poll, as
 *            the daemon does; rotated at 100 MiB, one kept) on tmpfs.
 *
 * Every row checks produced == delivered + lost (the per-CPU counter's delta)
 * and fails otherwise. "max" rows run the producer flat out (what the
 * consumer can take, and its CPU cost per event); the "paced" row produces at
 * the target rate (1M events/s) and should lose nothing. The stalled-sink
 * scenario pauses the sink for 1 s inside its callback while the producer
 * goes on at the target rate: the lost events are counted, every packet still
 * gets its verdict, and the producer's time per packet is shown for the sink
 * running and stalled.
 *
 * Run as root (own network namespace, loads BPF):
 *   bench_events [--quick] [--obj FILE] [--dir DIR] [--events N] [--rate N] [--timeout S]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "bpf/abi.h"
#include "policy/compile.h"
#include "datapath/datapath.h"
#include "telemetry/flows.h"
#include "telemetry/jsonl.h"
#include "policy/parse.h"
#include "datapath/writer.h"
#include "bench_util.h"
#include "tests/lib/fixture.h"
#include "tests/lib/pkt.h"

#define TARGET_EPS 1000000.0 /* events per second the path must keep up with */
#define JSONL_MAX_BYTES (100ull << 20) /* the daemon's default --flow-log-max-kb */

static const char policy[] =
	"apiVersion: zeroseg.io/v1\nkind: Workload\n"
	"metadata: {name: a, namespace: t, labels: {app: a}}\n"
	"spec: {interface: zb-a, addresses: [10.2.0.1]}\n"
	"---\napiVersion: zeroseg.io/v1\nkind: Workload\n"
	"metadata: {name: b, namespace: t, labels: {app: b}}\n"
	"spec: {interface: zb-b, addresses: [10.2.0.2]}\n"
	"---\napiVersion: zeroseg.io/v1\nkind: Policy\n"
	"metadata: {name: a-to-b, namespace: t}\n"
	"spec:\n  selector: {matchLabels: {app: a}}\n"
	"  egress: [{to: [{selector: {matchLabels: {app: b}}}], ports: [{port: 80}]}]\n";

struct opts {
	bool quick;
	const char *obj;
	const char *dir; /* for the JSON lines file; NULL: a fresh one in /dev/shm */
	uint64_t events; /* per "max" row */
	double rate;     /* paced rows, events/s */
	unsigned timeout_s;
};

enum sink { SINK_RING, SINK_RECORDS, SINK_JSONL };
static const char *const sink_names[] = { "ring", "records", "jsonl" };

struct bench {
	struct bpf_object *obj;
	struct zs_dp dp; /* fd[] and the fds we use, from obj's maps; no skeleton */
	struct zs_compiled comp;
	struct zs_identities ids;
	uint64_t mono_to_real;
	int ncpu;
	unsigned ifindex;
	unsigned ring_slots; /* events the ring holds */
	char *dir;
	char *log_path;
	bool own_dir;
	struct zs_flow_event first; /* the flow's first event, for the per-step costs */
	__u8 pkt[64];
	size_t pkt_len;
};

struct consumer {
	struct bench *b;
	enum sink sink;
	struct zs_flow_event *capture; /* setup: the first event is copied here */
	struct ring_buffer *rb;
	struct zs_jsonl log;
	int cpu;
	uint64_t delivered; /* ZS_EV_FLOW_DENIED events */
	uint64_t other;     /* anything else: must stay 0 */
	uint64_t bytes;     /* JSON produced */
	uint64_t cpu_ns;    /* the thread's user + system time */
	int err;
	atomic_bool done;       /* the producer has finished */
	_Atomic uint64_t stall_at; /* CLOCK_MONOTONIC ns; 0: never */
	uint64_t stall_ns;
	atomic_bool stalled;
	bool stall_done;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	return zs_now_ns(CLOCK_MONOTONIC);
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static uint64_t events_lost(const struct bench *b)
{
	uint64_t ps[b->ncpu], lost = 0;
	__u32 k = ZS_STAT_EVENTS_LOST;

	if (bpf_map_lookup_elem(b->dp.stats_fd, &k, ps))
		return 0;
	for (int c = 0; c < b->ncpu; c++)
		lost += ps[c];
	return lost;
}

/* One call: `repeat` runs of the denied packet. Returns 0 or -errno; *ns_per_run from the kernel. */
static int run_packet(const struct bench *b, unsigned repeat, unsigned *ns_per_run)
{
	struct pkt_run r;
	int err = pkt_run_tc(b->dp.from_ep_fd, b->pkt, b->pkt_len, b->ifindex, 0, repeat, &r);

	if (err)
		return err;
	if (r.retval != TC_ACT_SHOT) {
		fprintf(stderr, "bench_events: the denied packet got verdict %u, not TC_ACT_SHOT\n",
			r.retval);
		return -EPROTO;
	}
	if (ns_per_run)
		*ns_per_run = r.duration;
	return 0;
}

/* ---- the consumer -------------------------------------------------------- */

static int on_event(void *ctx, void *data, size_t len)
{
	struct consumer *c = ctx;
	const struct zs_flow_event *ev = data;
	struct zs_flow_rec r;
	char line[4096];
	size_t n;

	if (c->capture && len >= sizeof(*ev)) {
		*c->capture = *ev;
		c->capture = NULL;
		return 0;
	}
	if (len < sizeof(*ev) || ev->type != ZS_EV_FLOW_DENIED) {
		c->other++;
		return 0;
	}
	c->delivered++;
	if (c->sink != SINK_RING) {
		zs_flow_rec_from_event(&r, ev, c->b->mono_to_real, &c->b->comp, &c->b->ids);
		n = zs_flow_rec_json(&r, line, sizeof(line));
		c->bytes += n;
		if (c->sink == SINK_JSONL && n)
			zs_jsonl_write(&c->log, line, n);
	}
	/* A stalled sink: blocks the consumer once, for stall_ns (a write to a stuck disk). */
	uint64_t at = atomic_load(&c->stall_at);
	if (at && !c->stall_done && now_ns() >= at) {
		struct timespec ts = { .tv_sec = (time_t)(c->stall_ns / 1000000000ull),
				       .tv_nsec = (long)(c->stall_ns % 1000000000ull) };
		atomic_store(&c->stalled, true);
		nanosleep(&ts, NULL);
		atomic_store(&c->stalled, false);
		c->stall_done = true;
	}
	return 0;
}

static void *consumer_main(void *arg)
{
	struct consumer *c = arg;
	struct rusage ru;
	int n;

	pin_to(c->cpu);
	while (!atomic_load(&c->done)) {
		n = ring_buffer__poll(c->rb, 10);
		if (n < 0 && n != -EINTR) {
			c->err = n;
			break;
		}
		if (c->sink == SINK_JSONL)
			zs_jsonl_flush(&c->log);
	}
	/* Everything the producer submitted is in the ring now: drain it. */
	while ((n = ring_buffer__consume(c->rb)) > 0)
		;
	if (n < 0 && !c->err)
		c->err = n;
	if (c->sink == SINK_JSONL)
		zs_jsonl_flush(&c->log);
	if (!getrusage(RUSAGE_THREAD, &ru))
		c->cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
			    ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
	return NULL;
}

/* ---- one scenario ---------------------------------------------------------- */

struct result {
	uint64_t produced, delivered, lost, other;
	uint64_t elapsed_ns;  /* first run to the end of the drain */
	uint64_t kern_ns;     /* the producer's runs, by the kernel's count */
	uint64_t produce_ns;  /* wall time in the producer's runs */
	uint64_t cpu_ns;      /* consumer thread CPU */
	uint64_t bytes;
	/* stalled-sink scenario: the producer's kernel time per packet, by sink state */
	double ns_pkt_running, ns_pkt_stalled;
};

/*
 * Produces `total` events (or for `max_ns`, whichever ends first), flat out
 * (rate 0) or paced at `rate` per second, with the sink stalled for `stall_ns`
 * from `stall_after_ns` on (0: never).
 */
static int scenario(struct bench *b, enum sink sink, uint64_t total, double rate, uint64_t max_ns,
		    uint64_t stall_after_ns, uint64_t stall_ns, struct result *res)
{
	struct consumer c = { .b = b, .sink = sink, .cpu = b->ncpu > 1 ? 1 : -1, .stall_ns = stall_ns };
	uint64_t lost0, t0, t_end, produced = 0, run_ns = 0, kern_ns = 0, stall_runs = 0,
						       stall_kns = 0, norm_runs = 0, norm_kns = 0;
	/* Paced: bursts of 20k (20 ms at 1M/s; the ring holds ~43k). Flat out: 1M per call. */
	unsigned chunk = rate > 0 ? (unsigned)(rate / 50) : 1000000;
	pthread_t th;
	int err = 0;

	if (stall_after_ns)
		chunk = (unsigned)(rate / 200) ?: 1; /* 5 ms: fine enough to tell stalled from running */
	memset(res, 0, sizeof(*res));
	if (sink == SINK_JSONL) {
		err = zs_jsonl_open(&c.log, b->log_path, JSONL_MAX_BYTES, 1);
		if (err) {
			fprintf(stderr, "bench_events: %s: %s\n", b->log_path, strerror(-err));
			return err;
		}
	}
	c.rb = ring_buffer__new(b->dp.events_fd, on_event, &c, NULL);
	if (!c.rb) {
		err = -errno;
		goto out_log;
	}
	lost0 = events_lost(b);
	t0 = now_ns();
	if (stall_after_ns)
		atomic_store(&c.stall_at, t0 + stall_after_ns);
	err = pthread_create(&th, NULL, consumer_main, &c);
	if (err) {
		err = -err;
		goto out_rb;
	}
	pin_to(b->ncpu > 1 ? 0 : -1);
	while (produced < total && !stop) {
		uint64_t now = now_ns();
		if (now - t0 >= max_ns)
			break;
		if (rate > 0) {
			uint64_t due = t0 + (uint64_t)((double)produced / rate * 1e9);
			if (due > now) {
				struct timespec ts = { .tv_sec = (time_t)((due - now) / 1000000000ull),
						       .tv_nsec = (long)((due - now) % 1000000000ull) };
				nanosleep(&ts, NULL);
			}
		}
		unsigned n = total - produced < chunk ? (unsigned)(total - produced) : chunk, per;
		bool st0 = atomic_load(&c.stalled);
		uint64_t r0 = now_ns();
		err = run_packet(b, n, &per);
		uint64_t r1 = now_ns();
		if (err)
			break;
		bool st1 = atomic_load(&c.stalled);
		produced += n;
		run_ns += r1 - r0;
		kern_ns += (uint64_t)per * n;
		if (st0 && st1) {
			stall_runs += n;
			stall_kns += (uint64_t)per * n;
		} else if (!st0 && !st1) {
			norm_runs += n;
			norm_kns += (uint64_t)per * n;
		}
	}
	atomic_store(&c.done, true);
	pthread_join(th, NULL);
	t_end = now_ns();
	if (!err && c.err)
		err = c.err;
	if (!err && stop)
		err = -EINTR;

	res->produced = produced;
	res->delivered = c.delivered;
	res->other = c.other;
	res->lost = events_lost(b) - lost0;
	res->elapsed_ns = t_end - t0;
	res->produce_ns = run_ns;
	res->kern_ns = kern_ns;
	res->cpu_ns = c.cpu_ns;
	res->bytes = c.bytes;
	res->ns_pkt_running = norm_runs ? (double)norm_kns / (double)norm_runs : 0;
	res->ns_pkt_stalled = stall_runs ? (double)stall_kns / (double)stall_runs : 0;
	if (stall_after_ns && !c.stall_done && !err) {
		fprintf(stderr, "bench_events: the sink never stalled (ended too soon)\n");
		err = -ETIME;
	}
out_rb:
	ring_buffer__free(c.rb);
out_log:
	if (sink == SINK_JSONL)
		zs_jsonl_close(&c.log);
	return err;
}

/* ---- setup: the bench variant of the program, a policy written into its maps ---- */

/* a:40000 -> b:22 SYN: a may reach b on 80 only, so default deny. */
static void build_packet(struct bench *b)
{
	b->pkt_len = pkt_build(&(struct pkt)TCP("10.2.0.1", 40000, "10.2.0.2", 22, SYN), b->pkt,
			       sizeof(b->pkt));
}

static int bench_open(struct bench *b, const char *path)
{
	struct bpf_map *m;
	int err = bench_dp_open("bench_events", path, &b->obj, &b->dp);

	if (err)
		return err;
	m = bpf_object__find_map_by_name(b->obj, "zs_events");
	b->ring_slots = bpf_map__max_entries(m) / (sizeof(struct zs_flow_event) + 8);
	return 0;
}

/* The policy compiled into b->comp (kept: the flow records name its rules) and written. */
static int bench_policy(struct bench *b)
{
	struct fx_estate e;
	int rc = fx_estate_init(&e, policy);

	if (!rc)
		rc = fx_write(&e.c, &zs_dp_map_ops, &b->dp);
	/* The compiled state and identities stay with the bench; the objects go. */
	b->comp = e.c;
	b->ids = e.ids;
	zs_objects_free(&e.o);
	return rc;
}

static int bench_init(struct bench *b, const struct opts *o)
{
	int err;

	memset(b, 0, sizeof(*b));
	b->ncpu = libbpf_num_possible_cpus();
	if (b->ncpu <= 0)
		return -EINVAL;
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "bench_events: unshare(CLONE_NEWNET): %s (run as root)\n", strerror(errno));
		return -errno;
	}
	if (system("ip link add zb-a type veth peer name zb-a-p && ip link add zb-b type veth peer name zb-b-p")) {
		fprintf(stderr, "bench_events: creating the veth pairs failed\n");
		return -EIO;
	}
	b->ifindex = if_nametoindex("zb-a");
	build_packet(b);
	if (o->dir) {
		b->dir = strdup(o->dir);
	} else {
		char tmpl[] = "/dev/shm/zs-bench-events.XXXXXX";
		if (!mkdtemp(tmpl)) {
			fprintf(stderr, "bench_events: mkdtemp in /dev/shm: %s\n", strerror(errno));
			return -errno;
		}
		b->dir = strdup(tmpl);
		b->own_dir = true;
	}
	if (asprintf(&b->log_path, "%s/flows.jsonl", b->dir) < 0)
		return -ENOMEM;
	err = bench_open(b, o->obj);
	if (err)
		return err;
	err = bench_policy(b);
	if (err)
		return err;
	b->mono_to_real = zs_now_ns(CLOCK_REALTIME) - zs_now_ns(CLOCK_MONOTONIC);

	/* The flow's first packet: its conntrack entry and its ZS_EV_FLOW_NEW, drained. */
	err = run_packet(b, 1, NULL);
	if (err)
		return err;
	struct consumer c = { .b = b, .capture = &b->first };
	struct ring_buffer *rb = ring_buffer__new(b->dp.events_fd, on_event, &c, NULL);
	if (!rb)
		return -errno;
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	if (c.capture || c.other || b->first.type != ZS_EV_FLOW_NEW) {
		fprintf(stderr, "bench_events: the flow's first packet made no ZS_EV_FLOW_NEW event\n");
		return -EPROTO;
	}
	return 0;
}

static void bench_free(struct bench *b)
{
	if (b->log_path) {
		char *rot = NULL;
		unlink(b->log_path);
		if (asprintf(&rot, "%s.1", b->log_path) >= 0) {
			unlink(rot);
			free(rot);
		}
	}
	if (b->own_dir && b->dir)
		rmdir(b->dir);
	free(b->log_path);
	free(b->dir);
	bpf_object__close(b->obj);
	zs_compiled_free(&b->comp);
	zs_identities_free(&b->ids);
}

/* ---- where a consumer's time goes: each step alone, one thread, one event ---- */

static double per_call_ns(uint64_t t0, unsigned n)
{
	return (double)(now_ns() - t0) / n;
}

static int steps(struct bench *b, unsigned n)
{
	struct zs_flow_event ev = b->first;
	struct zs_flow_rec r;
	struct zs_jsonl log;
	char line[4096], ifname[IF_NAMESIZE];
	size_t len = 0;
	uint64_t t;
	double name, rec, json, ts3, write;
	int err;

	ev.type = ZS_EV_FLOW_DENIED;
	t = now_ns();
	for (unsigned i = 0; i < n; i++)
		if (!if_indextoname(ev.ifindex, ifname))
			return -errno;
	name = per_call_ns(t, n);
	t = now_ns();
	for (unsigned i = 0; i < n; i++)
		zs_flow_rec_from_event(&r, &ev, b->mono_to_real, &b->comp, &b->ids);
	rec = per_call_ns(t, n);
	t = now_ns();
	for (unsigned i = 0; i < n; i++)
		len = zs_flow_rec_json(&r, line, sizeof(line));
	json = per_call_ns(t, n);
	t = now_ns();
	for (unsigned i = 0; i < n; i++) {
		char ts[64];
		for (int k = 0; k < 3; k++) /* time, start, end */
			zs_rfc3339(r.time_ns + (uint64_t)k, ts, sizeof(ts));
	}
	ts3 = per_call_ns(t, n);
	err = zs_jsonl_open(&log, b->log_path, JSONL_MAX_BYTES, 1);
	if (err)
		return err;
	t = now_ns();
	for (unsigned i = 0; i < n; i++) {
		zs_jsonl_write(&log, line, len);
		if (i % 64 == 63)
			zs_jsonl_flush(&log);
	}
	zs_jsonl_flush(&log);
	write = per_call_ns(t, n);
	zs_jsonl_close(&log);
	unlink(b->log_path);

	double total = rec + json + write;
	printf("\nper event, each step alone (one thread, the same event %u times; a %zu-byte line):\n", n, len);
	printf("  %-50s %7.0f ns  %3.0f%%\n", "zs_flow_rec_from_event", rec, 100 * rec / total);
	printf("  %-50s %7.0f ns  %3.0f%%\n", "  of which if_indextoname (socket, ioctl, close)", name,
	       100 * name / total);
	printf("  %-50s %7.0f ns  %3.0f%%\n", "zs_flow_rec_json (JSON by hand, no printf)", json, 100 * json / total);
	printf("  %-50s %7.0f ns  %3.0f%%\n", "  of which 3 x zs_rfc3339 (gmtime_r, strftime)", ts3,
	       100 * ts3 / total);
	printf("  %-50s %7.0f ns  %3.0f%%\n", "zs_jsonl_write (tmpfs, flushed every 64)", write,
	       100 * write / total);
	printf("  %-50s %7.0f ns  -> at most %.0f events/s on one core\n", "total", total, 1e9 / total);
	return 0;
}

/* ---- report ----------------------------------------------------------------- */

static bool row(const char *sink, const char *mode, const struct result *r)
{
	double secs = (double)r->elapsed_ns / 1e9;
	double eps = secs > 0 ? (double)r->delivered / secs : 0;
	double ns_pkt = r->produced ? (double)r->kern_ns / (double)r->produced : 0;
	double ns_ev = r->delivered ? (double)r->cpu_ns / (double)r->delivered : 0;
	double loss = r->produced ? 100.0 * (double)r->lost / (double)r->produced : 0;
	bool ok = r->produced == r->delivered + r->lost && !r->other;

	printf("%-8s %-11s | %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %6.2f | %9.0f %9.0f | %7.0f %10.0f | %s\n",
	       sink, mode, r->produced, r->delivered, r->lost, loss, eps, ns_pkt, ns_ev,
	       ns_ev > 0 ? 1e9 / ns_ev : 0, ok ? "ok" : "MISMATCH");
	if (!ok)
		fprintf(stderr, "bench_events: %s %s: produced %" PRIu64 " != delivered %" PRIu64
				" + lost %" PRIu64 " (other events %" PRIu64 ")\n",
			sink, mode, r->produced, r->delivered, r->lost, r->other);
	return ok;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_events [--quick] [--obj FILE] [--dir DIR] [--events N] [--rate N] [--timeout S]\n"
		   "  --obj FILE   the tc program built with -DZS_DENY_REPORT_NS=0\n"
		   "               (default build/bench/tc_events.bpf.o)\n"
		   "  --dir DIR    where the JSON lines file goes (default: a new directory in /dev/shm)\n"
		   "  --events N   events per flat-out row (default 8M, --quick 2M)\n"
		   "  --rate N     the paced rows' events/s (default 1000000)\n"
		   "  --timeout S  give up after S seconds (default 120)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, 0, 'q' },	{ "obj", required_argument, 0, 'o' },
		{ "dir", required_argument, 0, 'd' },	{ "events", required_argument, 0, 'n' },
		{ "rate", required_argument, 0, 'r' },	{ "timeout", required_argument, 0, 't' },
		{ "help", no_argument, 0, 'h' },	{ 0 }
	};
	struct opts o = { .obj = "build/bench/tc_events.bpf.o", .rate = TARGET_EPS, .timeout_s = 120 };
	struct bench b;
	struct result r, paced = { 0 };
	bool ok = true;
	int c, err;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'q': o.quick = true; break;
		case 'o': o.obj = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'n': o.events = strtoull(optarg, NULL, 0); break;
		case 'r': o.rate = strtod(optarg, NULL); break;
		case 't': o.timeout_s = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.events)
		o.events = o.quick ? 2000000 : 8000000;
	if (o.rate <= 0) {
		usage(stderr);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGALRM, on_signal);
	alarm(o.timeout_s);
	libbpf_set_print(NULL);

	err = bench_init(&b, &o);
	if (err) {
		fprintf(stderr, "bench_events: setup failed: %s\n", strerror(-err));
		bench_free(&b);
		return 1;
	}
	uint64_t max_ns = (o.quick ? 10ull : 30ull) * 1000000000ull; /* per row, at most */
	uint64_t paced_n = (uint64_t)(o.rate * (o.quick ? 1 : 3));

	printf("flow events through the real tc program (-DZS_DENY_REPORT_NS=0: every repeat of a denied\n"
	       "packet is reported) -> ring buffer (%u events) -> sink; producer on CPU 0, consumer on CPU %s\n",
	       b.ring_slots, b.ncpu > 1 ? "1" : "0 too");
	struct statfs sf;
	bool tmpfs = !statfs(b.dir, &sf) && sf.f_type == TMPFS_MAGIC;
	printf("sinks: ring = count only; records = zs_flow_rec_from_event + zs_flow_rec_json; jsonl = records\n"
	       "+ zs_jsonl_write to %s (%s), flushed after each poll\n",
	       b.log_path, tmpfs ? "tmpfs" : "not tmpfs");
	printf("%-8s %-11s | %9s %9s %9s %6s | %9s %9s | %7s %10s | %s\n", "sink", "producer", "produced",
	       "delivered", "lost", "loss", "events/s", "producer", "consumer", "capacity", "produced =");
	printf("%-8s %-11s | %9s %9s %9s %6s | %9s %9s | %7s %10s | %s\n", "", "", "", "", "(counted)", "%",
	       "delivered", "ns/pkt", "ns/event", "events/s", "deliv.+lost");
	static const enum sink max_sinks[] = { SINK_RING, SINK_RECORDS, SINK_JSONL };
	double jsonl_eps = 0;
	for (size_t i = 0; i < 3 && !stop; i++) {
		err = scenario(&b, max_sinks[i], o.events, 0, max_ns, 0, 0, &r);
		if (err)
			goto fail;
		ok &= row(sink_names[max_sinks[i]], "max", &r);
		if (max_sinks[i] == SINK_JSONL && r.elapsed_ns)
			jsonl_eps = (double)r.delivered / ((double)r.elapsed_ns / 1e9);
	}
	char mode[32];
	snprintf(mode, sizeof(mode), "paced %.2gM/s", o.rate / 1e6);
	err = scenario(&b, SINK_JSONL, paced_n, o.rate, max_ns, 0, 0, &paced);
	if (err)
		goto fail;
	ok &= row("jsonl", mode, &paced);
	double eps = paced.elapsed_ns ? (double)paced.delivered / ((double)paced.elapsed_ns / 1e9) : 0;
	bool met = paced.lost == 0 && eps >= 0.98 * TARGET_EPS && o.rate >= TARGET_EPS;
	printf("target: %.0f events/s to the JSON lines sink with no loss: %s (%.0f events/s, %" PRIu64
	       " lost)\n",
	       TARGET_EPS, met ? "MET" : "MISSED", eps, paced.lost);
	err = steps(&b, o.quick ? 5000 : 20000);
	if (err)
		goto fail;

	/*
	 * The sink stalls 1 s in, while packets keep coming: at the rate if the
	 * sink keeps up with it, else at 80% of what it can take (so what is lost
	 * is the stall's). Long enough to overflow the ring several times over.
	 */
	double srate = o.rate;
	if (jsonl_eps < o.rate / 0.8)
		srate = 0.8 * jsonl_eps;
	uint64_t stall_ns = (uint64_t)(3e9 * b.ring_slots / srate);
	if (stall_ns < 1000000000ull)
		stall_ns = 1000000000ull;
	double secs = 2.0 + (double)stall_ns / 1e9;
	printf("\nstalled sink: the jsonl sink blocks %.1f s inside its callback, 1 s in; producer paced at %.0f/s%s\n",
	       (double)stall_ns / 1e9, srate,
	       srate < o.rate ? " (80% of the sink's flat-out rate: it cannot take the target)" : "");
	snprintf(mode, sizeof(mode), "stall %.1f s", (double)stall_ns / 1e9);
	err = scenario(&b, SINK_JSONL, (uint64_t)(srate * secs), srate, (uint64_t)((secs + 5) * 1e9),
		       1000000000ull, stall_ns, &r);
	if (err)
		goto fail;
	ok &= row("jsonl", mode, &r);
	double expect = srate * (double)stall_ns / 1e9 - b.ring_slots;
	printf("lost %" PRIu64 " events, all counted (about %.0f expected: the stall's events less the ring's %u)\n",
	       r.lost, expect > 0 ? expect : 0, b.ring_slots);
	bool same = r.ns_pkt_stalled > 0 && r.ns_pkt_stalled <= r.ns_pkt_running * 1.10;
	printf("every packet got its verdict (TC_ACT_SHOT); the program's time per packet: %.0f ns with the\n"
	       "sink running, %.0f ns with it stalled (%+.0f%%): %s\n",
	       r.ns_pkt_running, r.ns_pkt_stalled,
	       r.ns_pkt_running > 0 ? 100.0 * (r.ns_pkt_stalled / r.ns_pkt_running - 1) : 0,
	       same ? "packets unaffected" : "SLOWER when stalled");
	ok &= r.lost > 0 && same;
	bench_free(&b);
	return ok ? 0 : 1;
fail:
	fprintf(stderr, "bench_events: %s\n", stop ? "interrupted or timed out" : strerror(-err));
	bench_free(&b);
	return 1;
}
