// SPDX-License-Identifier: MIT
/*
 * Blocklist benchmark (issue 13): one rule denying N /32 addresses, a
 * threat-intel blocklist, written inline (N cidr peers) and as an
 * AddressSet of N members (one addressSet peer). Each N and form runs in a
 * child (its own maps, a time limit), timed step by step as the daemon runs
 * them:
 *
 *   generate YAML -> zs_parse_buffer -> zs_validate -> zs_compile
 *   -> zs_writer_apply (on fresh real maps, or the fake maps with --fake)
 *
 * The estate: one workload (bl/w0, interface bl0 that does not exist, address
 * 10.0.0.1) and one Policy selecting it with one ingress rule:
 *   inline: from: [{cidr: A1/32}, ..., {cidr: AN/32}], action: deny
 *   set:    from: [{addressSet: blocklist}], action: deny, and the AddressSet
 *           blocklist with members A1..AN
 * The addresses are N distinct ones spread over 11.0.0.0/8 (i * 2654435761
 * mod 2^24), in that (unsorted) order.
 *
 * bench_blocklist [--fake] [--timeout S] [--sizes LIST]
 * bench_blocklist [--emit-yaml F] [--emit-set F] [--emit-empty F] [--emit-list F]
 *                 [--emit-nft F] [--sizes N]
 *   writes, for N (the first size): the inline estate, the set estate, the
 *   set estate with an empty set, the N addresses as a prefix list (for
 *   `zeroseg set add -f`), and as an nft ruleset (an interval set and one
 *   drop rule), for scripts/bench_blocklist.sh, which times them side by side.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "policy/compile.h"
#include "policy/parse.h"
#include "tests/lib/fixture.h"

struct result {
	int status;
	char note[160];
	size_t n, prefixes, ipcache, entries;
	double parse_ms, validate_ms, compile_ms, apply_ms;
};

/* The i'th address of the list: distinct for i < 2^24 (an odd multiplier). */
static void addr_of(size_t i, char *buf, size_t len)
{
	uint32_t a = (uint32_t)(i * 2654435761u) & 0xffffff;

	snprintf(buf, len, "11.%u.%u.%u", a >> 16, (a >> 8) & 255, a & 255);
}

enum form { INLINE, SET };

/* The estate of n addresses in one form (SET with n 0: the set empty). */
static void gen(struct fx_text *b, size_t n, enum form form)
{
	char a[32];

	fx_text_open(b);
	fprintf(b->f, "---\napiVersion: zeroseg.io/v1\nkind: Workload\n"
		      "metadata: {name: w0, namespace: bl, labels: {app: web}}\n"
		      "spec: {interface: bl0, addresses: [10.0.0.1]}\n"
		      "---\napiVersion: zeroseg.io/v1\nkind: Policy\n"
		      "metadata: {name: blocklist, namespace: bl}\n"
		      "spec:\n  selector: {matchLabels: {app: web}}\n  ingress:\n"
		      "    - action: deny\n      from:\n");
	if (form == SET)
		fprintf(b->f, "        - {addressSet: blocklist}\n---\napiVersion: zeroseg.io/v1\n"
			      "kind: AddressSet\nmetadata: {name: blocklist}\nspec:\n  prefixes:%s\n",
			n ? "" : " []");
	for (size_t i = 0; i < n; i++) {
		addr_of(i, a, sizeof(a));
		if (form == SET)
			fprintf(b->f, "    - %s\n", a);
		else
			fprintf(b->f, "        - {cidr: %s/32}\n", a);
	}
	fx_text_close(b);
}

static int emit_yaml(const char *path, size_t n, enum form form)
{
	FILE *f = fopen(path, "w");
	struct fx_text b;
	size_t w;

	if (!f) {
		perror(path);
		return 1;
	}
	gen(&b, n, form);
	w = b.n - fwrite(b.s, 1, b.n, f); /* what was not written */
	fx_text_free(&b);
	return fclose(f) || w ? 1 : 0;
}

/* One address a line, as `zeroseg set add -f` reads. */
static int emit_list(const char *path, size_t n)
{
	FILE *f = fopen(path, "w");
	char a[32];

	if (!f) {
		perror(path);
		return 1;
	}
	fprintf(f, "# %zu addresses of the blocklist benchmark\n", n);
	for (size_t i = 0; i < n; i++) {
		addr_of(i, a, sizeof(a));
		fprintf(f, "%s\n", a);
	}
	return fclose(f) ? 1 : 0;
}

static int emit_nft(const char *path, size_t n)
{
	FILE *f = fopen(path, "w");
	char a[32];

	if (!f) {
		perror(path);
		return 1;
	}
	fprintf(f, "table inet zsbl {\n\tset blocklist {\n\t\ttype ipv4_addr\n"
		   "\t\tflags interval\n\t\telements = {\n");
	for (size_t i = 0; i < n; i++) {
		addr_of(i, a, sizeof(a));
		fprintf(f, "\t\t\t%s%s\n", a, i + 1 < n ? "," : "");
	}
	fprintf(f, "\t\t}\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0;\n"
		   "\t\tip saddr @blocklist drop\n\t}\n}\n");
	return fclose(f) ? 1 : 0;
}

static void run_size(size_t n, enum form form, bool fake, struct result *r)
{
	struct zs_objects o;
	struct zs_identities ids = { 0 };
	struct zs_compiled c = { 0 };
	struct zs_diags d = { 0 };
	struct fx_fake ff = { 0 };
	struct zs_writer w;
	struct zs_dp dp;
	struct fx_text b;
	char err[512] = "";
	double t;

	r->n = n;
	gen(&b, n, form);
	zs_objects_init(&o);
	r->status = bench_parse("<blocklist>", b.s, b.n, &o, &d, &r->parse_ms, r->note,
				sizeof(r->note));
	fx_text_free(&b);
	if (r->status)
		return;
	t = now_ms();
	r->status = zs_validate(&o, &d);
	r->validate_ms = now_ms() - t;
	if (r->status) {
		snprintf(r->note, sizeof(r->note), "validate: %s", d.msgs.n ? d.msgs.v[0] : "failed");
		return;
	}
	t = now_ms();
	r->status = zs_compile(&o, &ids, &c, &d);
	r->compile_ms = now_ms() - t;
	if (r->status) {
		snprintf(r->note, sizeof(r->note), "compile: %s", d.msgs.n ? d.msgs.v[0] : "failed");
		return;
	}
	r->ipcache = c.ipcache.n;
	r->entries = c.total_entries;
	if (fake) {
		zs_writer_init(&w, &fx_fake_ops, &ff);
	} else {
		r->status = zs_dp_open(&dp, NULL);
		if (r->status) {
			snprintf(r->note, sizeof(r->note), "datapath: %s", strerror(-r->status));
			return;
		}
		zs_writer_init(&w, &zs_dp_map_ops, &dp);
	}
	t = now_ms();
	r->status = zs_writer_apply(&w, &c, err, sizeof(err));
	r->apply_ms = now_ms() - t;
	if (r->status)
		snprintf(r->note, sizeof(r->note), "apply: %s", err);
	zs_writer_free(&w);
	if (fake)
		fx_fake_free(&ff);
	else
		zs_dp_close(&dp);
}

static void run_child(size_t n, enum form form, bool fake, unsigned timeout_s, struct result *r)
{
	int fds[2], st;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->n = n;
	if (pipe(fds)) {
		r->status = -errno;
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		alarm(timeout_s);
		run_size(n, form, fake, r);
		_exit(write(fds[1], r, sizeof(*r)) == sizeof(*r) ? 0 : 1);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], r, sizeof(*r)) != sizeof(*r)) {
		memset(r, 0, sizeof(*r));
		r->n = n;
		r->status = -ETIME;
		snprintf(r->note, sizeof(r->note), "no result within %u s", timeout_s);
	}
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "fake", no_argument, NULL, 'f' },	  { "timeout", required_argument, NULL, 't' },
		{ "sizes", required_argument, NULL, 's' }, { "emit-nft", required_argument, NULL, 'e' },
		{ "emit-yaml", required_argument, NULL, 'y' }, { "emit-set", required_argument, NULL, 'S' },
		{ "emit-empty", required_argument, NULL, 'E' }, { "emit-list", required_argument, NULL, 'l' },
		{ 0 },
	};
	const char *nft = NULL, *yaml = NULL, *set = NULL, *empty = NULL, *list = NULL;
	size_t sizes[8], nsizes = parse_list("5k,10k,20k,50k,100k", sizes, 8);
	unsigned timeout_s = 120;
	bool fake = false;
	int c, failed = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			fake = true;
			break;
		case 't':
			timeout_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			nsizes = parse_list(optarg, sizes, 8);
			break;
		case 'e':
			nft = optarg;
			break;
		case 'y':
			yaml = optarg;
			break;
		case 'S':
			set = optarg;
			break;
		case 'E':
			empty = optarg;
			break;
		case 'l':
			list = optarg;
			break;
		default:
			fprintf(stderr, "usage: bench_blocklist [--fake] [--timeout S] [--sizes LIST]\n"
					"       bench_blocklist [--emit-yaml F] [--emit-set F] [--emit-empty F]"
					" [--emit-list F] [--emit-nft F] [--sizes N]\n");
			return 2;
		}
	}
	if (nft || yaml || set || empty || list)
		return (nft && emit_nft(nft, sizes[0])) | (yaml && emit_yaml(yaml, sizes[0], INLINE)) |
		       (set && emit_yaml(set, sizes[0], SET)) | (empty && emit_yaml(empty, 0, SET)) |
		       (list && emit_list(list, sizes[0]));
	libbpf_set_print(libbpf_quiet);
	printf("blocklist: one rule denying N /32, inline or an AddressSet (ms; apply on %s maps)\n",
	       fake ? "fake" : "real");
	printf("%7s %6s | %8s %8s %8s %8s | %8s | %7s %7s\n", "N", "form", "parse", "validate",
	       "compile", "apply", "total", "ipcache", "entries");
	for (size_t i = 0; i < 2 * nsizes; i++) {
		struct result r;
		enum form form = i % 2 ? SET : INLINE;

		run_child(sizes[i / 2], form, fake, timeout_s, &r);
		printf("%7zu %6s | ", r.n, form == SET ? "set" : "inline");
		if (r.status && !r.compile_ms)
			printf("%s\n", r.note);
		else
			printf("%8.1f %8.1f %8.1f %8.1f | %8.1f | %7zu %7zu%s%s\n", r.parse_ms,
			       r.validate_ms, r.compile_ms, r.apply_ms,
			       r.parse_ms + r.validate_ms + r.compile_ms + r.apply_ms, r.ipcache,
			       r.entries, r.note[0] ? "  " : "", r.note);
		fflush(stdout);
		failed |= r.status != 0;
	}
	return failed;
}
