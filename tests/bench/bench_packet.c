// SPDX-License-Identifier: MIT
/*
 * Per-packet cost of the enforcement program, through BPF_PROG_TEST_RUN on
 * the real zs_tc_from_ep (a workload's packet at its own interface: the hook
 * that decides for both ends), against an empty tc program
 * (tests/bench/empty_tc.bpf.c) run the same way, with 10..100k rules in
 * force. What each row measures:
 *
 *   established allowed  x REPEAT  a SYN a:40000 -> b:80 creates the entry
 *                                  (allowed); then one ACK of that flow run
 *                                  REPEAT times: the conntrack hit path
 *                                  (parse, endpoint, anti-spoof, CT lookup,
 *                                  counters). The kernel's per-run average.
 *   established denied   x REPEAT  the same for a SYN a:40001 -> b:81, which
 *                                  policy denies: its repeats hit the deny
 *                                  entry (one record per second, counted).
 *   new allowed          1/call    FLOWS distinct SYNs a:<sport> -> b:80, one
 *                                  test run each (repeat 1): every one is a
 *                                  new flow, judged by policy (ipcache, both
 *                                  ends' policy lookups), CT entry created,
 *                                  flow event to the ring buffer (drained as
 *                                  the daemon would). Median of the calls.
 *   new denied           1/call    the same to b:81: judged, denied, a deny
 *                                  entry and an event.
 *   established allowed  1/call    the ACK of the first row, measured like the
 *                                  new flows: a cross-check of the method.
 *   new allowed          x NEW     a SYN a -> b:80 run NEW times through the
 *   new denied           x NEW     bench build of the program
 *                                  (build/bench/tc_newflow.bpf.o, -DZS_BENCH_NEW_FLOWS,
 *                                  tests/bench/bench_newflow.h) where each run takes the next
 *                                  source port: NEW new flows in a row, as in a
 *                                  flood of connections, caches warm. Conntrack is
 *                                  emptied and the ring drained between runs.
 *   empty tc program     every method: the floor it is compared with (for x NEW,
 *                                  empty_newflow.bpf.o, paying the same counter).
 *
 * With repeat 1 the kernel's duration is one run plus its fixed overhead (two
 * clock reads, bh disable/enable), which the empty program's figure measured
 * the same way cancels: deltas are the program's own cost. Each figure is the
 * median of REPS runs (of REPEAT packets, or of the median of FLOWS calls).
 * Every size is loaded first; each round then measures every size in turn.
 *
 * Policy with R rules in force (generated text through the real parser,
 * compiler and writer): workloads a (10.2.0.1, interface zb-a) and b
 * (10.2.0.2, zb-b), and 100 remote peers p<k> (10.3.0.<k+1>, each its own
 * identity). a's egress has R/2 rules, b's ingress the rest; each side has
 * the one rule the measured flow needs (a -> b TCP 80) and fillers, filler j
 * allowing peer p<j%100> on TCP port 10000 + 2*(j/100) (never adjacent: one
 * policy map entry per rule). So every rule is carried by the measured
 * flow's two subjects.
 *
 * Runs as root in a network namespace of its own (unshare; its veths go with
 * it), pinned to one CPU. bench_packet [--quick] [--rules LIST] [--repeat N]
 * [--reps N] [--flows N] [--empty-obj PATH]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_util.h"
#include "policy/compile.h"
#include "datapath/datapath.h"
#include "policy/parse.h"
#include "tests/lib/fixture.h"
#include "tests/lib/pkt.h"

#define PEERS 100
#define FILLER_PORT 10000
#define MAX_SIZES 8
#define SPORT_NEW 1024      /* new flows: 1024 + i */
#define SPORT_EST_ALLOW 40000 /* above every new flow's port (flows * reps <= 38000) */
#define SPORT_EST_DENY 40001
#define TARGET_EST_NS 30.0
#define TARGET_NEW_NS 150.0
#define TARGET_FLAT 0.10

enum path {
	P_EMPTY_REP,
	P_EST_ALLOW,
	P_EST_DENY,
	P_EMPTY_ONE,
	P_NEW_ALLOW,
	P_NEW_DENY,
	P_EST_ONE,
	P_EMPTY_NEW,
	P_NEW_ALLOW_REP,
	P_NEW_DENY_REP,
	P_COUNT,
};

static const struct {
	const char *name, *method;
	enum path base; /* the empty program's row it is compared with */
	double target;  /* delta target, ns; 0: none */
} paths[P_COUNT] = {
	[P_EMPTY_REP] = { "empty tc program", "repeat", P_EMPTY_REP, 0 },
	[P_EST_ALLOW] = { "established allowed", "repeat", P_EMPTY_REP, TARGET_EST_NS },
	[P_EST_DENY] = { "established denied", "repeat", P_EMPTY_REP, 0 },
	[P_EMPTY_ONE] = { "empty tc program", "1/call", P_EMPTY_ONE, 0 },
	[P_NEW_ALLOW] = { "new allowed", "1/call", P_EMPTY_ONE, TARGET_NEW_NS },
	[P_NEW_DENY] = { "new denied", "1/call", P_EMPTY_ONE, TARGET_NEW_NS },
	[P_EST_ONE] = { "established allowed", "1/call", P_EMPTY_ONE, TARGET_EST_NS },
	[P_EMPTY_NEW] = { "empty tc program", "new", P_EMPTY_NEW, 0 },
	[P_NEW_ALLOW_REP] = { "new allowed", "new", P_EMPTY_NEW, TARGET_NEW_NS },
	[P_NEW_DENY_REP] = { "new denied", "new", P_EMPTY_NEW, TARGET_NEW_NS },
};

struct opts {
	size_t rules[MAX_SIZES], nrules;
	unsigned repeat, reps, flows, new_repeat;
	const char *empty_obj;
};

struct size_result {
	size_t rules, entries;
	int status;
	double ns[P_COUNT];
};

static int empty_fd, empty_new_fd;
static char *newflow_obj;
static unsigned ifindex_a;

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/* ---- packets (tests/lib/pkt.h) ------------------------------------------ */

struct frame {
	__u8 buf[128];
	size_t len;
};

/* TCP 10.2.0.1:sport -> 10.2.0.2:dport with `flags`, as a from a's eth0. */
static void frame_tcp(struct frame *f, unsigned sport, unsigned dport, __u8 flags)
{
	f->len = pkt_build(&(struct pkt)TCP("10.2.0.1", sport, "10.2.0.2", dport, flags), f->buf,
			   sizeof(f->buf));
}

/* One BPF_PROG_TEST_RUN: 0 and *ns (the kernel's per-run average), or -errno. */
static int run(int prog, const struct frame *f, unsigned repeat, int want, double *ns)
{
	struct pkt_run r;
	int err = pkt_run_tc(prog, f->buf, f->len, ifindex_a, 0, repeat, &r);

	if (err)
		return err;
	if ((int)r.retval != want) {
		fprintf(stderr, "bench_packet: verdict %d, expected %d\n", (int)r.retval, want);
		return -EPROTO;
	}
	*ns = r.duration;
	return 0;
}

/* ---- the policy ------------------------------------------------------------ */

static void gen_filler(FILE *f, const char *dir, size_t j)
{
	fprintf(f,
		"    - %s: [{selector: {matchLabels: {app: p%zu}}}]\n"
		"      ports: [{protocol: TCP, port: %zu}]\n",
		dir, j % PEERS, FILLER_PORT + 2 * (j / PEERS));
}

/*
 * The policy of one side of the measured flow: `rules` rules in `dir`
 * (egress or ingress, peers under `key`), fillers first, then the flow's own
 * (peer app `peer`, TCP 80).
 */
static void gen_side(FILE *f, const char *name, const char *app, const char *dir, const char *key,
		     size_t rules, const char *peer)
{
	fprintf(f,
		"---\napiVersion: zeroseg.io/v1\nkind: Policy\n"
		"metadata: {name: %s, namespace: bench}\n"
		"spec:\n  selector: {matchLabels: {app: %s}}\n  %s:\n",
		name, app, dir);
	for (size_t j = 0; j + 1 < rules; j++)
		gen_filler(f, key, j);
	fprintf(f,
		"    - %s: [{selector: {matchLabels: {app: %s}}}]\n"
		"      ports: [{protocol: TCP, port: 80}]\n",
		key, peer);
}

static void gen_policy(struct fx_text *t, size_t rules)
{
	size_t eg = rules / 2, in = rules - eg;
	FILE *f;

	fx_text_open(t);
	f = t->f;
	fprintf(f, "apiVersion: zeroseg.io/v1\nkind: Workload\n"
		   "metadata: {name: a, namespace: bench, labels: {app: a}}\n"
		   "spec: {interface: zb-a, addresses: [10.2.0.1]}\n"
		   "---\napiVersion: zeroseg.io/v1\nkind: Workload\n"
		   "metadata: {name: b, namespace: bench, labels: {app: b}}\n"
		   "spec: {interface: zb-b, addresses: [10.2.0.2]}\n");
	for (size_t k = 0; k < PEERS; k++)
		fprintf(f,
			"---\napiVersion: zeroseg.io/v1\nkind: Workload\n"
			"metadata: {name: p%zu, namespace: bench, labels: {app: p%zu}}\n"
			"spec: {addresses: [10.3.0.%zu]}\n",
			k, k, k + 1);
	gen_side(f, "a-out", "a", "egress", "to", eg, "b");
	gen_side(f, "b-in", "b", "ingress", "from", in, "a");
	fx_text_close(t);
}

/* Parses, compiles and writes R rules into dp; the number of policy entries. */
static int load_policy(struct zs_dp *dp, size_t rules, size_t *entries)
{
	struct fx_text t;
	struct fx_estate e;
	int ret;

	gen_policy(&t, rules);
	ret = fx_estate_init(&e, t.s);
	if (!ret) {
		*entries = e.c.total_entries;
		ret = fx_write(&e.c, &zs_dp_map_ops, dp);
	}
	fx_estate_free(&e);
	fx_text_free(&t);
	return ret;
}

/* ---- one size -------------------------------------------------------------- */

static int drop_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* Median of `flows` one-packet runs; new flows take sport base + i. */
static int run_calls(int prog, struct ring_buffer *rb, unsigned flows, unsigned sport_base,
		     unsigned dport, __u8 flags, int want, double *samples, double *out)
{
	struct frame p;
	int err;

	for (unsigned i = 0; i < flows; i++) {
		frame_tcp(&p, sport_base ? sport_base + i : SPORT_EST_ALLOW, dport, flags);
		err = run(prog, &p, 1, want, &samples[i]);
		if (err)
			return err;
		if (rb && i % 256 == 255)
			ring_buffer__consume(rb);
	}
	if (rb)
		ring_buffer__consume(rb);
	*out = median(samples, flows);
	return 0;
}

/* Empties the IPv4 conntrack map: the next run's flows are all new again. */
static int ct_clear(int fd)
{
	static struct zs_ct4_key keys[65536 * 2];
	struct zs_ct4_key k;
	size_t n = 0;
	int err = bpf_map_get_next_key(fd, NULL, &k);

	while (!err && n < sizeof(keys) / sizeof(keys[0])) {
		keys[n++] = k;
		err = bpf_map_get_next_key(fd, &k, &k);
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &keys[i]);
	return n < sizeof(keys) / sizeof(keys[0]) ? 0 : -E2BIG;
}

/*
 * One size: its datapath (the real program) and its bench build (new flows
 * with repeats, build/bench/tc_newflow.bpf.o), both holding the same policy,
 * and the samples of every row. All sizes are set up first; then each round
 * measures every size in turn, so that a noisy spell of the machine is shared
 * by all sizes rather than landing on one.
 */
struct size_ctx {
	struct zs_dp dp, ndp;
	struct bpf_object *nobj;
	struct ring_buffer *rb, *nrb;
	struct frame est, deny, syn80, syn81;
	double *reps[P_COUNT], *samples;
	bool dp_open;
};

static int size_setup(const struct opts *op, struct size_ctx *x, struct size_result *r)
{
	size_t entries;
	double ns;
	int err;

	for (int i = 0; i < P_COUNT; i++)
		x->reps[i] = zs_xcalloc(op->reps, sizeof(double));
	x->samples = zs_xcalloc(op->flows, sizeof(double));
	err = zs_dp_open(&x->dp, NULL);
	if (err) {
		fprintf(stderr, "bench_packet: loading the datapath: %s\n", strerror(-err));
		return err;
	}
	x->dp_open = true;
	if ((err = load_policy(&x->dp, r->rules, &r->entries)))
		return err;
	if (!(x->rb = ring_buffer__new(x->dp.events_fd, drop_event, NULL, NULL)))
		return -errno;
	if ((err = bench_dp_open("bench_packet", newflow_obj, &x->nobj, &x->ndp)) ||
	    (err = load_policy(&x->ndp, r->rules, &entries)))
		return err;
	if (!(x->nrb = ring_buffer__new(x->ndp.events_fd, drop_event, NULL, NULL)))
		return -errno;

	/* The two established flows: their first packets create the entries. */
	frame_tcp(&x->est, SPORT_EST_ALLOW, 80, 0x02);
	frame_tcp(&x->deny, SPORT_EST_DENY, 81, 0x02);
	if ((err = run(x->dp.from_ep_fd, &x->est, 1, TC_ACT_OK, &ns)) ||
	    (err = run(x->dp.from_ep_fd, &x->deny, 1, TC_ACT_SHOT, &ns)))
		return err;
	frame_tcp(&x->est, SPORT_EST_ALLOW, 80, 0x10);
	frame_tcp(&x->syn80, SPORT_NEW, 80, 0x02);
	frame_tcp(&x->syn81, SPORT_NEW, 81, 0x02);
	ring_buffer__consume(x->rb);
	return 0;
}

/* Round k of one size: every row once. */
static int size_round(const struct opts *op, struct size_ctx *x, unsigned k)
{
	unsigned base = SPORT_NEW + k * op->flows; /* a fresh flow for every call */
	double **reps = x->reps;
	int err;

	if ((err = run(empty_fd, &x->est, op->repeat, TC_ACT_OK, &reps[P_EMPTY_REP][k])) ||
	    (err = run(x->dp.from_ep_fd, &x->est, op->repeat, TC_ACT_OK, &reps[P_EST_ALLOW][k])) ||
	    (err = run(x->dp.from_ep_fd, &x->deny, op->repeat, TC_ACT_SHOT, &reps[P_EST_DENY][k])) ||
	    (err = run_calls(empty_fd, NULL, op->flows, 0, 80, 0x10, TC_ACT_OK, x->samples,
			     &reps[P_EMPTY_ONE][k])) ||
	    (err = run_calls(x->dp.from_ep_fd, x->rb, op->flows, base, 80, 0x02, TC_ACT_OK,
			     x->samples, &reps[P_NEW_ALLOW][k])) ||
	    (err = run_calls(x->dp.from_ep_fd, x->rb, op->flows, base, 81, 0x02, TC_ACT_SHOT,
			     x->samples, &reps[P_NEW_DENY][k])) ||
	    (err = run_calls(x->dp.from_ep_fd, NULL, op->flows, 0, 80, 0x10, TC_ACT_OK, x->samples,
			     &reps[P_EST_ONE][k])))
		return err;
	ring_buffer__consume(x->rb);

	/* New flows with repeats: SYNs to b:80 (allowed), then b:81 (denied). */
	if ((err = run(empty_new_fd, &x->syn80, op->new_repeat, TC_ACT_OK, &reps[P_EMPTY_NEW][k])) ||
	    (err = run(x->ndp.from_ep_fd, &x->syn80, op->new_repeat, TC_ACT_OK,
		       &reps[P_NEW_ALLOW_REP][k])))
		return err;
	ring_buffer__consume(x->nrb);
	if ((err = ct_clear(x->ndp.ct4_fd)) ||
	    (err = run(x->ndp.from_ep_fd, &x->syn81, op->new_repeat, TC_ACT_SHOT,
		       &reps[P_NEW_DENY_REP][k])))
		return err;
	ring_buffer__consume(x->nrb);
	return ct_clear(x->ndp.ct4_fd);
}

static void size_finish(const struct opts *op, struct size_ctx *x, struct size_result *r)
{
	if (!r->status)
		for (int i = 0; i < P_COUNT; i++)
			r->ns[i] = median(x->reps[i], op->reps);
	ring_buffer__free(x->rb);
	ring_buffer__free(x->nrb);
	if (x->dp_open)
		zs_dp_close(&x->dp);
	bpf_object__close(x->nobj);
	for (int i = 0; i < P_COUNT; i++)
		free(x->reps[i]);
	free(x->samples);
}

/* ---- the table ------------------------------------------------------------- */

static void fmt_count(char *buf, size_t len, size_t n)
{
	if (n >= 1000 && n % 1000 == 0)
		snprintf(buf, len, "%zuk", n / 1000);
	else
		snprintf(buf, len, "%zu", n);
}

static void print_table(const struct opts *op, const struct size_result *res, size_t n)
{
	char b[32], rep[32], newrep[32];
	bool all_ok = true;

	for (size_t s = 0; s < n; s++)
		all_ok &= !res[s].status;
	if (op->repeat % 1000000 == 0)
		snprintf(rep, sizeof(rep), "x%uM", op->repeat / 1000000);
	else
		snprintf(rep, sizeof(rep), "x%u", op->repeat);
	if (op->new_repeat % 1000 == 0)
		snprintf(newrep, sizeof(newrep), "new%uk", op->new_repeat / 1000);
	else
		snprintf(newrep, sizeof(newrep), "new%u", op->new_repeat);
	printf("per-packet cost: zs_tc_from_ep via BPF_PROG_TEST_RUN, ns/packet, median of %u runs;\n"
	       "(+delta) against the empty tc program measured the same way\n",
	       op->reps);
	printf("%-20s %-7s", "rules in force", "method");
	for (size_t s = 0; s < n; s++) {
		fmt_count(b, sizeof(b), res[s].rules);
		printf(" %13s", b);
	}
	printf(" | %6s | %s\n", "spread", "target (delta)");
	printf("%-20s %-7s", "policy map entries", "");
	for (size_t s = 0; s < n; s++)
		printf(" %13zu", res[s].entries);
	printf(" |\n");
	for (int i = 0; i < P_COUNT; i++) {
		double lo = 1e18, hi = 0;
		bool met = true;

		printf("%-20s %-7s", paths[i].name,
		       i <= P_EST_DENY ? rep : i >= P_EMPTY_NEW ? newrep : paths[i].method);
		for (size_t s = 0; s < n; s++) {
			const struct size_result *r = &res[s];
			double delta = r->ns[i] - r->ns[paths[i].base];
			char cell[32];

			if (r->status) {
				printf(" %13s", "failed");
				continue;
			}
			if (paths[i].base == (enum path)i)
				snprintf(cell, sizeof(cell), "%.0f", r->ns[i]);
			else
				snprintf(cell, sizeof(cell), "%.0f (%+.0f)", r->ns[i], delta);
			printf(" %13s", cell);
			lo = delta < lo ? delta : lo;
			hi = delta > hi ? delta : hi;
			met &= delta <= paths[i].target;
		}
		if (paths[i].base == (enum path)i || !all_ok) {
			printf(" |\n");
			continue;
		}
		printf(" | %5.0f%% |", lo > 0 ? (hi - lo) / lo * 100 : 0);
		if (paths[i].target > 0)
			printf(" <= %.0f ns: %s, flat: %s", paths[i].target, met ? "MET" : "MISSED",
			       lo > 0 && (hi - lo) / lo <= TARGET_FLAT ? "MET" : "MISSED");
		printf("\n");
	}
	printf("x%s = one packet run %s times in the kernel, its average; 1/call = %u distinct\n"
	       "  packets, one test run each, median. established: the conntrack hit (first packet\n"
	       "  created the entry); established denied: repeats of a denied flow hitting its deny\n"
	       "  entry; new: a fresh flow per packet (sport varies), judged by both ends' policy,\n"
	       "  conntrack entry created, event to the ring buffer (drained). 1/call figures carry a\n"
	       "  fixed overhead (clock reads, bh toggling) that the empty 1/call row cancels, and\n"
	       "  cold caches (a syscall between packets). %s = one SYN run %u times through a\n"
	       "  bench build of the program where each run takes the next source port: %u new\n"
	       "  flows in a row, caches warm (conntrack emptied between runs; the empty row pays\n"
	       "  the same port counter).\n"
	       "spread: (max - min) / min of the delta over the rule counts (flat: <= %.0f%%).\n"
	       "policy: flow a -> b TCP 80; R/2 rules on a's egress, R/2 on b's ingress, all but\n"
	       "  one per side for %d other peers on distinct ports (one map entry each).\n",
	       rep + 1, rep + 1, op->flows, newrep, op->new_repeat, op->new_repeat,
	       TARGET_FLAT * 100, PEERS);
}

/* ---- main ------------------------------------------------------------------ */

/* NAME beside this executable (build/bench/). */
static char *beside_exe(const char *name)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return zs_xstrdup(name);
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	return zs_xasprintf("%s/%s", exe, name);
}

static int load_empty(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;

	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "bench_packet: loading %s failed\n", path);
		return -1;
	}
	prog = bpf_object__find_program_by_name(obj, "bench_empty_tc");
	return prog ? bpf_program__fd(prog) : -1; /* the object lives until exit */
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_packet [--quick] [--rules LIST] [--repeat N] [--reps N] [--flows N]\n"
		   "                    [--new-repeat N] [--empty-obj PATH]\n"
		   "  LIST: comma separated, k = 1000 (default 10,1k,10k,100k; --quick 10,100k).\n"
		   "  --repeat: runs of one packet per measurement (default 1000000); --reps:\n"
		   "  measurements per figure, the median reported (7; --quick 3); --flows:\n"
		   "  distinct packets per 1/call measurement (5000; flows * reps <= 38000);\n"
		   "  --new-repeat: new flows per run of the bench build (50000, <= 64000).\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },	 { "rules", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'n' }, { "reps", required_argument, NULL, 'k' },
		{ "flows", required_argument, NULL, 'f' }, { "empty-obj", required_argument, NULL, 'e' },
		{ "new-repeat", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },	 { 0 },
	};
	struct opts op = { .repeat = 1000000, .reps = 7, .flows = 5000, .new_repeat = 50000 };
	struct size_result res[MAX_SIZES] = { 0 };
	bool quick = false;
	cpu_set_t cpus;
	int c, failed = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			quick = true;
			break;
		case 'r':
			op.nrules = parse_list(optarg, op.rules, MAX_SIZES);
			break;
		case 'n':
			op.repeat = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			op.reps = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			op.flows = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			op.empty_obj = optarg;
			break;
		case 'N':
			op.new_repeat = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (quick && op.reps == 7)
		op.reps = 3;
	if (!op.nrules)
		op.nrules = parse_list(quick ? "10,100k" : "10,1k,10k,100k", op.rules, MAX_SIZES);
	if (!op.repeat || !op.reps || !op.flows || (size_t)op.flows * op.reps > 38000 ||
	    !op.new_repeat || op.new_repeat > 64000) {
		usage(stderr);
		return 2;
	}
	for (size_t s = 0; s < op.nrules; s++)
		if (op.rules[s] < 2) {
			fprintf(stderr, "bench_packet: at least 2 rules (one per side)\n");
			return 2;
		}
	libbpf_set_print(libbpf_quiet);

	/* A namespace of our own: the interfaces vanish with the process. */
	if (unshare(CLONE_NEWNET) ||
	    system("ip link add zb-a type veth peer name zb-a-p && ip link add zb-b type veth peer name zb-b-p")) {
		fprintf(stderr, "bench_packet: netns/veth setup failed (needs root)\n");
		return 1;
	}
	ifindex_a = if_nametoindex("zb-a");
	/* One CPU (the last): the runs do not migrate, and the figures do not mix CPUs. */
	CPU_ZERO(&cpus);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	char *path = op.empty_obj ? zs_xstrdup(op.empty_obj) : beside_exe("empty_tc.bpf.o");
	empty_fd = load_empty(path);
	free(path);
	path = beside_exe("empty_newflow.bpf.o");
	empty_new_fd = load_empty(path);
	free(path);
	newflow_obj = beside_exe("tc_newflow.bpf.o");
	if (empty_fd < 0 || empty_new_fd < 0)
		return 1;

	static struct size_ctx ctx[MAX_SIZES];
	for (size_t s = 0; s < op.nrules; s++) {
		res[s].rules = op.rules[s];
		res[s].status = size_setup(&op, &ctx[s], &res[s]);
	}
	/* Round k starts at size k mod n: no size always runs first or last. */
	for (unsigned k = 0; k < op.reps; k++)
		for (size_t j = 0; j < op.nrules; j++) {
			size_t s = (k + j) % op.nrules;
			if (!res[s].status)
				res[s].status = size_round(&op, &ctx[s], k);
		}
	for (size_t s = 0; s < op.nrules; s++) {
		size_finish(&op, &ctx[s], &res[s]);
		failed |= res[s].status != 0;
		if (res[s].status)
			fprintf(stderr, "bench_packet: %zu rules: %s\n", op.rules[s],
				strerror(-res[s].status));
	}
	print_table(&op, res, op.nrules);
	return failed ? 1 : 0;
}
