// SPDX-License-Identifier: MIT
/*
 * Control-plane benchmark: how long the daemon's path takes from policy text
 * to the kernel maps, for 1k..100k rules over 100..10k workloads. Each size
 * runs in a child process (its own peak RSS, its own maps, a time limit):
 *
 *   generate YAML -> zs_parse_buffer  (parse, reported on its own)
 *   zs_validate, zs_objects_clone      (what every daemon transaction adds)
 *   zs_compile                         (compile)
 *   zs_writer_apply on fresh real maps (load; the first apply, sweep included)
 *   one rule added to one app's policy, compile + apply again (incremental)
 *
 * The estate (printed with the table): W workloads w<N> in namespace bench,
 * interface b<N> (it does not exist: the writer skips the endpoint entry but
 * writes the ipcache entry), address 10.<N>/32; A = W/10 apps, label app=app<K>,
 * 10 replicas each, so one identity per app. One Policy per app selects it,
 * with R/A ingress rules; rule j of app K allows
 *   from: [{selector: {matchLabels: {app: app<(K+1+j) % A>}}}]
 *   ports: [{protocol: TCP, port: 1024 + j / A}]
 * A "rule" is one (peer selector, port) pair; each is one policy map entry.
 *
 * Run as root (it loads the datapath): bench_compile [--quick] [--pin-dir DIR].
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bench_util.h"
#include "policy/compile.h"
#include "datapath/datapath.h"
#include "policy/parse.h"
#include "policy/serial.h"
#include "tests/lib/fixture.h"

#define REPLICAS 10     /* workloads per app (one identity) */
#define PORT_BASE 1024
#define TARGET_RULES 100000
#define TARGET_WORKLOADS 10000
#define TARGET_MS 1000.0

struct opts {
	bool quick;
	const char *pin_dir; /* a bpffs directory of our own, or NULL: no pins */
	size_t rules[8], nrules;
	size_t wls[8], nwls;
	unsigned incr_reps;     /* at most */
	unsigned incr_budget_ms; /* and stop after this long (at least 6 reps) */
	unsigned timeout_s;     /* per size */
};

/* What one child measures; sent to the parent through a pipe. */
struct result {
	int status; /* 0 ok, -errno */
	bool loaded; /* the first apply went through */
	char note[160];
	size_t rules, workloads, apps, identities, entries, ipcache;
	double parse_ms, validate_ms, clone_ms, compile_ms, open_ms, load_ms;
	unsigned incr_n, b2b_n;
	double incr_p50, incr_p99, incr_max, b2b_p50, b2b_p99;
	double cinc_p50, cinc_p99, wr_p50; /* the incremental compile alone; the writer alone */
	unsigned cinc_full;                /* changes the cache compiled in full */
	double rss_mb, peak_mb, maps_mb;
};

/* ---- helpers ------------------------------------------------------------ */

/* A /proc/self/status field in kB ("VmRSS", "VmHWM"), as MB. */
static double status_mb(const char *field)
{
	char line[256];
	double mb = 0;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			mb = strtod(line + n + 1, NULL) / 1024;
			break;
		}
	fclose(f);
	return mb;
}

/* The kernel's memory accounting of a map ("memlock:" in its fdinfo), bytes. */
static double map_memlock(int fd)
{
	char path[64], line[256];
	double bytes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "memlock:", 8)) {
			bytes = strtod(line + 8, NULL);
			break;
		}
	fclose(f);
	return bytes;
}

/* ---- the generator -------------------------------------------------------- */

/* Rules of app `k` when `rules` are spread over `apps`. */
static size_t rules_of(size_t rules, size_t apps, size_t k)
{
	return rules / apps + (k < rules % apps);
}

static void gen_rule(FILE *f, size_t apps, size_t k, size_t j)
{
	fprintf(f,
		"    - from: [{selector: {matchLabels: {app: app%zu}}}]\n"
		"      ports: [{protocol: TCP, port: %zu}]\n",
		(k + 1 + j) % apps, PORT_BASE + j / apps);
}

static void gen_policy_head(FILE *f, size_t k)
{
	fprintf(f,
		"---\napiVersion: zeroseg.io/v1\nkind: Policy\n"
		"metadata: {name: app%zu-in, namespace: bench}\n"
		"spec:\n  selector: {matchLabels: {app: app%zu}}\n  ingress:\n",
		k, k);
}

static void gen_estate(struct fx_text *b, size_t rules, size_t workloads, size_t apps)
{
	fx_text_open(b);
	for (size_t n = 0; n < workloads; n++) {
		size_t a = n + 1; /* 10.0.0.1 up */
		fprintf(b->f,
			"---\napiVersion: zeroseg.io/v1\nkind: Workload\n"
			"metadata: {name: w%zu, namespace: bench, labels: {app: app%zu}}\n"
			"spec: {interface: b%zu, addresses: [10.%zu.%zu.%zu]}\n",
			n, n / REPLICAS, n, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	}
	for (size_t k = 0; k < apps; k++) {
		gen_policy_head(b->f, k);
		for (size_t j = 0; j < rules_of(rules, apps, k); j++)
			gen_rule(b->f, apps, k, j);
	}
	fx_text_close(b);
}

/*
 * The incremental change: app k's policy gains rule j (the next in its
 * pattern). Parsed as a one-rule policy of the same name, then given the
 * existing rules in front, and merged: the state's policy is replaced, as a
 * daemon apply of the edited policy would.
 */
static int add_rule(struct zs_objects *o, size_t apps, size_t k, size_t j, unsigned iter)
{
	struct zs_objects batch;
	struct zs_policy *old = NULL, *p;
	char name[32];
	struct fx_text b;
	int err;

	fx_text_open(&b);
	gen_policy_head(b.f, k);
	gen_rule(b.f, apps, k, j);
	fx_text_close(&b);
	snprintf(name, sizeof(name), "<incr %u>", iter);
	zs_objects_init(&batch);
	err = fx_parse(&batch, name, b.s, b.n);
	fx_text_free(&b);
	if (err) {
		zs_objects_free(&batch);
		return err;
	}
	snprintf(name, sizeof(name), "app%zu-in", k);
	for (size_t i = 0; i < o->policies.n && !old; i++)
		if (!strcmp(o->policies.v[i].name, name))
			old = &o->policies.v[i];
	p = &batch.policies.v[0];
	if (old) {
		struct zs_rule *r = zs_xcalloc(old->ningress + 1, sizeof(*r));
		memcpy(r, old->ingress, old->ningress * sizeof(*r));
		r[old->ningress] = p->ingress[0];
		free(p->ingress);
		p->ingress = r;
		p->ningress = old->ningress + 1;
		free(old->ingress); /* the rules now belong to the new policy */
		old->ingress = NULL;
		old->ningress = 0;
	}
	zs_objects_merge(o, &batch);
	zs_objects_free(&batch);
	return 0;
}

/*
 * For the daemon measurement (scripts/bench.sh): the estate as DIR/estate.yaml
 * and DIR/incr-<i>.yaml, i = 1..n: app K_i's policy with one rule more, for
 * distinct apps, so each file applied in turn is a one-rule change.
 */
static int emit(size_t rules, size_t workloads, const char *dir, unsigned n)
{
	size_t apps = workloads / REPLICAS;
	struct fx_text b;
	char *path;
	FILE *f;

	gen_estate(&b, rules, workloads, apps);
	path = zs_xasprintf("%s/estate.yaml", dir);
	f = fopen(path, "w");
	if (!f || fwrite(b.s, 1, b.n, f) != b.n || fclose(f)) {
		fprintf(stderr, "bench_compile: %s: %s\n", path, strerror(errno));
		return 1;
	}
	free(path);
	fx_text_free(&b);
	for (unsigned i = 1; i <= n && i <= apps; i++) {
		size_t k = (i * 7919u) % apps;
		path = zs_xasprintf("%s/incr-%u.yaml", dir, i);
		f = fopen(path, "w");
		if (!f) {
			fprintf(stderr, "bench_compile: %s: %s\n", path, strerror(errno));
			return 1;
		}
		gen_policy_head(f, k);
		for (size_t j = 0; j <= rules_of(rules, apps, k); j++)
			gen_rule(f, apps, k, j);
		if (fclose(f)) {
			fprintf(stderr, "bench_compile: %s: %s\n", path, strerror(errno));
			return 1;
		}
		free(path);
	}
	return 0;
}

/* ---- one size ------------------------------------------------------------- */

static int compile(const struct zs_objects *o, struct zs_identities *ids, struct zs_compiled *c,
		   struct result *r)
{
	struct zs_diags d = { 0 };
	int err = zs_compile(o, ids, c, &d);

	if (err) {
		snprintf(r->note, sizeof(r->note), "compile: %s",
			 d.msgs.n ? d.msgs.v[0] : strerror(-err));
		zs_diags_print(&d, stderr);
	}
	zs_diags_free(&d);
	return err;
}

static void run_size(const struct opts *op, size_t rules, size_t workloads, struct result *r)
{
	struct zs_objects o, clone;
	struct zs_identities ids = { 0 };
	struct zs_compiled c = { 0 }, next;
	struct zs_diags d = { 0 };
	struct zs_writer w;
	struct zs_dp dp;
	char err[512] = "";
	double t, t1, *samples, *b2b, *cinc, *wr;
	struct zs_compile_cache *cc = zs_compile_cache_new();
	struct fx_text b;
	size_t apps = workloads / REPLICAS, *extra;

	r->rules = rules;
	r->workloads = workloads;
	r->apps = apps;

	gen_estate(&b, rules, workloads, apps);
	zs_objects_init(&o);
	r->status = bench_parse("<bench>", b.s, b.n, &o, &d, &r->parse_ms, r->note,
				sizeof(r->note));
	fx_text_free(&b);
	if (r->status)
		return;

	t = now_ms();
	r->status = zs_validate(&o, &d);
	r->validate_ms = now_ms() - t;
	t = now_ms();
	if (!r->status)
		r->status = zs_objects_clone(&o, &clone);
	r->clone_ms = now_ms() - t;
	if (r->status) {
		snprintf(r->note, sizeof(r->note), "validate/clone failed");
		return;
	}
	zs_objects_free(&clone);
	free(zs_objects_state_json(&o)); /* each object's kept text, as the daemon holds it */

	t = now_ms();
	r->status = compile(&o, &ids, &c, r);
	r->compile_ms = now_ms() - t;
	if (r->status)
		return;
	zs_identities_free(&ids); /* the cache's first compile: in full, the same result */
	memset(&ids, 0, sizeof(ids));
	zs_compiled_free(&c);
	r->status = zs_compile_cached(cc, &o, &ids, &c, &d);
	if (r->status)
		return;
	zs_compile_cache_adopted(cc);
	r->identities = c.subjects.n;
	r->entries = c.total_entries;
	r->ipcache = c.ipcache.n;

	t = now_ms();
	r->status = zs_dp_open(&dp, op->pin_dir);
	r->open_ms = now_ms() - t;
	if (r->status) {
		snprintf(r->note, sizeof(r->note), "loading the datapath: %s", strerror(-r->status));
		return;
	}
	zs_writer_init(&w, &zs_dp_map_ops, &dp);
	t = now_ms();
	r->status = zs_writer_apply(&w, &c, err, sizeof(err));
	r->load_ms = now_ms() - t;
	if (r->status) {
		snprintf(r->note, sizeof(r->note), "load: %s", err);
		goto out;
	}
	r->loaded = true;

	/* What a daemon holds between applies: objects, identities, compiled, writer. */
	malloc_trim(0);
	r->rss_mb = status_mb("VmRSS");
	for (int m = 0; m < ZS_MAP_COUNT; m++)
		r->maps_mb += map_memlock(dp.fd[m]) / (1024.0 * 1024.0);

	samples = zs_xcalloc(op->incr_reps, sizeof(*samples));
	b2b = zs_xcalloc(op->incr_reps, sizeof(*b2b));
	cinc = zs_xcalloc(op->incr_reps, sizeof(*cinc));
	wr = zs_xcalloc(op->incr_reps, sizeof(*wr));
	extra = zs_xcalloc(apps, sizeof(*extra));
	double start = now_ms();
	for (unsigned i = 0; i < op->incr_reps; i++) {
		size_t k = (i * 7919u) % apps; /* spread over the apps */
		if (i >= 6 && now_ms() - start > op->incr_budget_ms)
			break;
		r->status = add_rule(&o, apps, k, rules_of(rules, apps, k) + extra[k]++, i);
		if (r->status)
			break;
		/* The daemon's job keeps each object's text (its unchanged check): so here. */
		free(zs_objects_state_json(&o));
		/*
		 * Every other change comes after the daemon's tick has retired the
		 * previous one's old generation (settled, as a change a second or
		 * more after the last one); the others come right after the last
		 * change, so zs_writer_apply first retires it (waiting for packets
		 * still reading the old generation).
		 */
		bool settled = i % 2 == 0;
		if (settled)
			zs_writer_settle(&w);
		struct zs_compile_cache_stats st;
		t = now_ms();
		r->status = zs_compile_cached(cc, &o, &ids, &next, &d);
		t1 = now_ms();
		if (r->status)
			break;
		zs_compile_cache_stats(cc, &st);
		r->cinc_full += st.full;
		r->status = zs_writer_apply(&w, &next, err, sizeof(err));
		zs_compile_cache_adopted(cc);
		cinc[i] = t1 - t;
		wr[i] = now_ms() - t1;
		if (settled)
			samples[r->incr_n++] = now_ms() - t;
		else
			b2b[r->b2b_n++] = now_ms() - t;
		zs_compiled_free(&c);
		c = next;
		if (r->status) {
			snprintf(r->note, sizeof(r->note), "incremental apply: %s", err);
			break;
		}
	}
	qsort(samples, r->incr_n, sizeof(*samples), cmp_double);
	r->incr_p50 = percentile(samples, r->incr_n, 50);
	r->incr_p99 = percentile(samples, r->incr_n, 99);
	r->incr_max = r->incr_n ? samples[r->incr_n - 1] : 0;
	qsort(b2b, r->b2b_n, sizeof(*b2b), cmp_double);
	unsigned nc = r->incr_n + r->b2b_n;
	qsort(cinc, nc, sizeof(*cinc), cmp_double);
	qsort(wr, nc, sizeof(*wr), cmp_double);
	r->cinc_p50 = percentile(cinc, nc, 50);
	r->cinc_p99 = percentile(cinc, nc, 99);
	r->wr_p50 = percentile(wr, nc, 50);
	free(cinc);
	free(wr);
	r->b2b_p50 = percentile(b2b, r->b2b_n, 50);
	r->b2b_p99 = percentile(b2b, r->b2b_n, 99);
	free(samples);
	free(b2b);
	free(extra);
out:
	zs_writer_free(&w);
	zs_dp_close(&dp);
	if (op->pin_dir)
		zs_dp_unpin(op->pin_dir);
	zs_compiled_free(&c);
	zs_compile_cache_free(cc);
	zs_identities_free(&ids);
	zs_objects_free(&o);
	zs_diags_free(&d);
	r->peak_mb = status_mb("VmHWM");
}

/* Runs one size in a child under a time limit; the parent keeps its result. */
static void run_child(const struct opts *op, size_t rules, size_t workloads, struct result *r)
{
	int fds[2], st;
	pid_t pid;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->rules = rules;
	r->workloads = workloads;
	r->apps = workloads / REPLICAS;
	if (pipe(fds)) {
		r->status = -errno;
		snprintf(r->note, sizeof(r->note), "pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r->status = -errno;
		snprintf(r->note, sizeof(r->note), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		close(fds[0]);
		alarm(op->timeout_s); /* SIGALRM ends us; the parent reports it */
		run_size(op, rules, workloads, r);
		n = write(fds[1], r, sizeof(*r));
		_exit(n == sizeof(*r) ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], r, sizeof(*r));
	close(fds[0]);
	waitpid(pid, &st, 0);
	if (n != sizeof(*r)) {
		memset(r, 0, sizeof(*r));
		r->rules = rules;
		r->workloads = workloads;
		r->apps = workloads / REPLICAS;
		r->status = -ETIME;
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
			snprintf(r->note, sizeof(r->note), "timed out after %u s", op->timeout_s);
		else
			snprintf(r->note, sizeof(r->note), "child failed (status %#x)", st);
	}
}

/* ---- the table ------------------------------------------------------------ */

static void print_header(void)
{
	printf("%7s %6s %5s %7s | %7s %7s %7s | %8s %8s %8s | %8s %8s %8s %8s %4s | %8s %8s %8s %4s | %6s %6s %6s\n",
	       "rules", "wkload", "ids", "entries", "parse", "valid", "clone", "compile", "load",
	       "total", "incr p50", "p99", "b2b p50", "p99", "n", "cinc p50", "p99", "writer", "full",
	       "RSS", "peak", "maps");
	printf("%7s %6s %5s %7s | %7s %7s %7s | %8s %8s %8s | %8s %8s %8s %8s %4s | %8s %8s %8s %4s | %6s %6s %6s\n",
	       "", "", "", "", "ms", "ms", "ms", "ms", "ms", "ms", "ms", "ms", "ms", "ms", "", "ms", "ms",
	       "ms", "", "MB", "MB", "MB");
}

static void print_row(const struct result *r)
{
	double total = r->compile_ms + r->load_ms;

	printf("%7zu %6zu %5zu %7zu | ", r->rules, r->workloads, r->identities, r->entries);
	if (r->status && !r->compile_ms) {
		printf("%s\n", r->note);
		return;
	}
	printf("%7.1f %7.1f %7.1f | %8.1f ", r->parse_ms, r->validate_ms, r->clone_ms, r->compile_ms);
	if (!r->loaded) {
		printf("%8s %8s | %8s %8s %8s %8s %4s | %8s %8s %8s %4s | %6s %6s %6s  [%s]\n", "-", "-",
		       "-", "-", "-", "-", "", "-", "-", "-", "", "-", "-", "-", r->note);
		return;
	}
	printf("%8.1f %8.1f | ", r->load_ms, total);
	if (r->incr_n)
		printf("%8.1f %8.1f %8.1f %8.1f %4u | %8.2f %8.2f %8.1f %4u | ", r->incr_p50, r->incr_p99,
		       r->b2b_p50, r->b2b_p99, r->incr_n + r->b2b_n, r->cinc_p50, r->cinc_p99,
		       r->wr_p50, r->cinc_full);
	else
		printf("%8s %8s %8s %8s %4s | %8s %8s %8s %4s | ", "-", "-", "-", "-", "", "-", "-", "-",
		       "");
	printf("%6.1f %6.1f %6.1f", r->rss_mb, r->peak_mb, r->maps_mb);
	if (r->rules == TARGET_RULES && r->workloads == TARGET_WORKLOADS && !r->status)
		printf("  <- target %.0f ms: %s", TARGET_MS, total < TARGET_MS ? "MET" : "MISSED");
	if (r->note[0])
		printf("  [%s]", r->note);
	printf("\n");
}

static void print_notes(const struct result *res, size_t n)
{
	double open = 0;
	size_t nopen = 0;

	for (size_t i = 0; i < n; i++)
		if (res[i].open_ms > 0) {
			open += res[i].open_ms;
			nopen++;
		}
	printf("\n"
	       "estate: W workloads w<N> (namespace bench, interface b<N> absent, address 10.<N>/32),\n"
	       "  A = W/%d apps (app=app<K>, %d replicas: one identity each); one Policy per app\n"
	       "  with R/A ingress rules, rule j of app K: from app<(K+1+j)%%A>, TCP port %d+j/A.\n"
	       "  One rule = one (peer selector, port) pair = one policy map entry.\n"
	       "parse: zs_parse_buffer of the generated YAML (its own validate included);\n"
	       "  valid, clone: zs_validate and zs_objects_clone of the whole state, which every\n"
	       "  daemon transaction runs besides compile and load.\n"
	       "compile: zs_compile; load: the first zs_writer_apply on fresh maps (sweep included);\n"
	       "  total = compile + load, the figure the %dk-rule target (< %.0f ms) is about.\n"
	       "incr: one rule added to one app's policy, zs_compile_cached (the daemon's compile:\n"
	       "  the subjects the change touches) + zs_writer_apply; cinc: the compile alone\n"
	       "  (all changes), writer: zs_writer_apply alone (p50), full: changes compiled in full;\n"
	       "  p50/p99 of n/2 changes made after the previous one's old generation was retired\n"
	       "  (zs_writer_settle, untimed: what the daemon's 1 s tick does between changes);\n"
	       "  b2b: the other n/2, right after the previous change, so the apply first retires\n"
	       "  it (waiting for packets still reading it: per-CPU in-flight counts).\n"
	       "RSS: after the load, holding objects, identities, compiled state and writer state\n"
	       "  (malloc_trim'd); peak: the child's VmHWM; maps: memlock of the five writer maps.\n"
	       "datapath open (skeleton load, verifier): %.0f ms on average, not in load.\n"
	       "capacity (bpf/abi.h): policy %u entries (old + new while writing), ipcache %u,\n"
	       "  endpoints %u, handles %u.\n",
	       REPLICAS, REPLICAS, PORT_BASE, TARGET_RULES / 1000, TARGET_MS,
	       nopen ? open / nopen : 0, ZS_MAX_POLICY, ZS_MAX_IPCACHE, ZS_MAX_ENDPOINTS,
	       ZS_MAX_HANDLES);
}

/* ---- main ----------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_compile [--quick] [--pin-dir DIR] [--rules LIST] [--workloads LIST]\n"
		"                     [--incr-reps N] [--incr-budget-ms MS] [--timeout S]\n"
		"       bench_compile --emit DIR --rules R --workloads W [--incr-reps N]\n"
		"  LIST: comma separated, k = 1000 (default rules 1k,10k,100k; workloads\n"
		"  100,1k,10k; --quick: rules 1k,10k). --pin-dir: a bpffs directory to pin\n"
		"  under. --emit: write the estate of R rules over W workloads as\n"
		"  DIR/estate.yaml and N one-rule changes as DIR/incr-<i>.yaml, and exit.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "rules", required_argument, NULL, 'r' },
		{ "workloads", required_argument, NULL, 'w' },
		{ "incr-reps", required_argument, NULL, 'n' },
		{ "incr-budget-ms", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "emit", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts op = { .incr_reps = 100, .incr_budget_ms = 4000, .timeout_s = 60 };
	bool rules_set = false;
	const char *emit_dir = NULL;
	struct result *res;
	size_t nres = 0;
	int c, failed = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			op.quick = true;
			break;
		case 'p':
			op.pin_dir = optarg;
			break;
		case 'r':
			op.nrules = parse_list(optarg, op.rules, ZS_ARRAY_SIZE(op.rules));
			rules_set = true;
			break;
		case 'w':
			op.nwls = parse_list(optarg, op.wls, ZS_ARRAY_SIZE(op.wls));
			break;
		case 'n':
			op.incr_reps = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			op.incr_budget_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			op.timeout_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			emit_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!rules_set)
		op.nrules = parse_list(op.quick ? "1k,10k" : "1k,10k,100k", op.rules,
				       ZS_ARRAY_SIZE(op.rules));
	if (!op.nwls)
		op.nwls = parse_list("100,1k,10k", op.wls, ZS_ARRAY_SIZE(op.wls));
	if (op.quick)
		op.incr_budget_ms = op.incr_budget_ms < 1000 ? op.incr_budget_ms : 1000;
	if (!op.incr_reps)
		op.incr_reps = 1;
	for (size_t i = 0; i < op.nwls; i++)
		if (op.wls[i] < REPLICAS) {
			fprintf(stderr, "bench_compile: at least %d workloads (one app)\n", REPLICAS);
			return 2;
		}
	if (emit_dir) /* the first size given */
		return emit(op.rules[0], op.wls[0], emit_dir, op.incr_reps);
	libbpf_set_print(libbpf_quiet);

	res = zs_xcalloc(op.nrules * op.nwls, sizeof(*res));
	printf("control plane: policy text -> compiled -> kernel maps (ms unless noted)\n");
	print_header();
	fflush(stdout);
	for (size_t i = 0; i < op.nrules; i++)
		for (size_t j = 0; j < op.nwls; j++) {
			struct result *r = &res[nres++];
			run_child(&op, op.rules[i], op.wls[j], r);
			print_row(r);
			fflush(stdout);
			failed |= r->status != 0;
		}
	print_notes(res, nres);
	free(res);
	return failed ? 1 : 0;
}
