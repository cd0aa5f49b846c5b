// SPDX-License-Identifier: MIT
/*
 * zeroseg: the CLI and the daemon in one binary. The CLI is a client of the
 * daemon's Unix socket, except `check`, which validates offline. Commands
 * are a table; each has its own --help.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "policy/compile.h"
#include "daemon/daemon.h"
#include "proto/client.h"
#include "proto/proto.h"
#include "telemetry/flowfilter.h"
#include "telemetry/flows.h"
#include "policy/parse.h"

#ifndef ZS_VERSION
#define ZS_VERSION "0.1.0"
#endif

static const char *g_socket = ZS_DEFAULT_SOCKET;

/* ---- talking to the daemon -------------------------------------------- */

/* Sends `req`; calls `line` for each JSON line of the answer. */
static int request(json_t *req, zs_client_line_fn line, void *arg)
{
	enum zs_client_stage stage;
	int rc = zs_client_request(g_socket, req, line, arg, &stage);

	if (rc < 0) {
		if (stage == ZS_CLIENT_CONNECT)
			fprintf(stderr, "zeroseg: cannot reach the daemon at %s: %s\n", g_socket, strerror(-rc));
		else
			fprintf(stderr, "zeroseg: sending to the daemon: %s\n", strerror(-rc));
		return 2;
	}
	return rc;
}

static int print_errors(json_t *msg)
{
	json_t *errs = json_object_get(msg, "errors"), *e;
	size_t i;

	json_array_foreach(errs, i, e)
		fprintf(stderr, "%s\n", json_string_value(e));
	return 1;
}

/* ---- files ------------------------------------------------------------- */

static bool is_policy_file(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Expands FILE|DIR|- into {"name","content"} entries of `files`. */
static int add_path(json_t *files, const char *path)
{
	struct stat st;
	char *content;
	int err;

	if (strcmp(path, "-") && !stat(path, &st) && S_ISDIR(st.st_mode)) {
		DIR *dir = opendir(path);
		struct dirent *de;
		ZS_VEC(char *) names = { 0 };
		if (!dir) {
			fprintf(stderr, "zeroseg: %s: %s\n", path, strerror(errno));
			return -errno;
		}
		while ((de = readdir(dir)))
			if (de->d_name[0] != '.' && is_policy_file(de->d_name))
				*ZS_VEC_PUSH(&names) = zs_xasprintf("%s/%s", path, de->d_name);
		closedir(dir);
		qsort(names.v, names.n, sizeof(char *), cmp_str);
		err = 0;
		for (size_t i = 0; i < names.n; i++) {
			if (!err)
				err = add_path(files, names.v[i]);
			free(names.v[i]);
		}
		free(names.v);
		return err;
	}
	err = zs_read_file(path, &content, NULL);
	if (err) {
		fprintf(stderr, "zeroseg: %s: %s\n", path, strerror(-err));
		return err;
	}
	json_array_append_new(files, json_pack("{s:s,s:s}", "name", strcmp(path, "-") ? path : "<stdin>",
					       "content", content));
	free(content);
	return 0;
}

/* ---- commands ---------------------------------------------------------- */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static const struct cmd *g_cmd;

static int usage_err(void)
{
	fprintf(stderr, "usage: zeroseg %s\n", g_cmd->usage);
	return 2;
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: zeroseg %s\n\n%s\n", g_cmd->usage, g_cmd->help);
			return true;
		}
	return false;
}

static int collect_files(int argc, char **argv, json_t *files, const char **output)
{
	static const struct option lo[] = { { "filename", required_argument, 0, 'f' },
					     { "output", required_argument, 0, 'o' },
					     { 0, 0, 0, 0 } };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:", lo, NULL)) != -1) {
		if (c == 'f') {
			if (add_path(files, optarg))
				return 1;
		} else if (c == 'o' && output) {
			*output = optarg;
		} else {
			return usage_err();
		}
	}
	return 0;
}

static int on_result(json_t *msg, void *arg)
{
	const char *verb = arg;

	if (!json_is_true(json_object_get(msg, "ok")))
		return print_errors(msg);
	printf("%s: revision %lld (%lld objects)\n", verb,
	       (long long)json_integer_value(json_object_get(msg, "revision")),
	       (long long)json_integer_value(json_object_get(msg, "objects")));
	return 0;
}

static int cmd_apply(int argc, char **argv)
{
	json_t *files = json_array();
	int rc = collect_files(argc, argv, files, NULL);

	if (!rc && (optind != argc || !json_array_size(files)))
		rc = usage_err();
	if (rc) {
		json_decref(files);
		return rc;
	}
	json_t *req = json_pack("{s:s,s:o}", "cmd", "apply", "files", files);
	rc = request(req, on_result, "applied");
	json_decref(req);
	return rc;
}

static int cmd_delete(int argc, char **argv)
{
	static const struct option lo[] = { { "filename", required_argument, 0, 'f' },
					    { "namespace", required_argument, 0, 'n' },
					    { 0, 0, 0, 0 } };
	json_t *files = json_array(), *req;
	const char *ns = "default";
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:n:", lo, NULL)) != -1) {
		if (c == 'f' && add_path(files, optarg)) {
			json_decref(files);
			return 1;
		} else if (c == 'n') {
			ns = optarg;
		} else if (c != 'f') {
			json_decref(files);
			return usage_err();
		}
	}
	if (json_array_size(files) && optind == argc) {
		req = json_pack("{s:s,s:o}", "cmd", "delete", "files", files);
	} else if (!json_array_size(files) && argc - optind == 2) {
		json_decref(files);
		req = json_pack("{s:s,s:s,s:s,s:s}", "cmd", "delete", "kind", argv[optind], "name",
				argv[optind + 1], "namespace", ns);
	} else {
		json_decref(files);
		return usage_err();
	}
	rc = request(req, on_result, "deleted");
	json_decref(req);
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	json_t *files = json_array(), *f;
	struct zs_objects objs;
	struct zs_diags diags = { 0 };
	struct zs_identities ids = { 0 };
	struct zs_compiled comp;
	size_t i;
	int rc = collect_files(argc, argv, files, NULL), err = 0;

	if (!rc && (optind != argc || !json_array_size(files)))
		rc = usage_err();
	if (rc) {
		json_decref(files);
		return rc;
	}
	zs_objects_init(&objs);
	json_array_foreach(files, i, f)
	{
		const char *content = json_string_value(json_object_get(f, "content"));
		if (zs_parse_buffer(json_string_value(json_object_get(f, "name")), content,
				    strlen(content), &objs, &diags))
			err = -EINVAL;
	}
	if (!err)
		err = zs_validate(&objs, &diags);
	if (!err && !(err = zs_compile(&objs, &ids, &comp, &diags))) {
		printf("ok: %zu workloads, %zu policies, %zu identities, %zu policy entries\n",
		       objs.workloads.n, objs.policies.n, ids.v.n, comp.total_entries);
		zs_compiled_free(&comp);
	}
	zs_diags_print(&diags, stderr);
	zs_diags_free(&diags);
	zs_identities_free(&ids);
	zs_objects_free(&objs);
	json_decref(files);
	return err ? 1 : 0;
}

/* ---- diff -------------------------------------------------------------- */

static int on_diff(json_t *msg, void *arg)
{
	json_t *objs = json_object_get(msg, "objects"), *o;
	size_t i;
	(void)arg;

	if (!json_is_true(json_object_get(msg, "ok"))) {
		print_errors(msg);
		return 2;
	}
	json_array_foreach(objs, i, o)
	{
		const char *ch = json_string_value(json_object_get(o, "change"));
		const char *ns = json_string_value(json_object_get(o, "namespace"));
		printf("%c %s %s%s%s: %s\n", !strcmp(ch, "created") ? '+' : !strcmp(ch, "unchanged") ? '=' : '~',
		       json_string_value(json_object_get(o, "kind")), ns ? ns : "", ns ? "/" : "",
		       json_string_value(json_object_get(o, "name")), ch);
	}
	json_t *e = json_object_get(msg, "entries");
	json_t *pol = json_object_get(e, "policy"), *ip = json_object_get(e, "ipcache");
	printf("policy map: +%lld -%lld entries; ipcache: +%lld -%lld ~%lld; endpoints: %lld changed\n",
	       (long long)json_integer_value(json_object_get(pol, "added")),
	       (long long)json_integer_value(json_object_get(pol, "removed")),
	       (long long)json_integer_value(json_object_get(ip, "added")),
	       (long long)json_integer_value(json_object_get(ip, "removed")),
	       (long long)json_integer_value(json_object_get(ip, "changed")),
	       (long long)json_integer_value(json_object_get(e, "endpoints")));
	return json_is_true(json_object_get(msg, "changed")) ? 1 : 0;
}

/* kubectl's convention: 0 no change, 1 changes, 2 error. */
static int cmd_diff(int argc, char **argv)
{
	json_t *files = json_array();
	int rc = collect_files(argc, argv, files, NULL);

	if (!rc && (optind != argc || !json_array_size(files)))
		rc = usage_err();
	if (rc) {
		json_decref(files);
		return 2;
	}
	json_t *req = json_pack("{s:s,s:o}", "cmd", "diff", "files", files);
	rc = request(req, on_diff, NULL);
	json_decref(req);
	return rc;
}

/* ---- explain ----------------------------------------------------------- */

static void print_side(const char *what, json_t *s)
{
	if (!json_is_true(json_object_get(s, "checked"))) {
		printf("%-8s -            (%s)\n", what, json_string_value(json_object_get(s, "why")));
		return;
	}
	printf("%-8s %-12s %s", what, json_string_value(json_object_get(s, "verdict")),
	       json_string_value(json_object_get(s, "subject")));
	if (json_object_get(s, "policy")) {
		printf(": %s rule %lld of %s", json_string_value(json_object_get(s, "action")),
		       (long long)json_integer_value(json_object_get(s, "rule")),
		       json_string_value(json_object_get(s, "policy")));
		if (json_object_get(s, "source"))
			printf(" (%s)", json_string_value(json_object_get(s, "source")));
	} else {
		printf(": %s", json_string_value(json_object_get(s, "why")));
	}
	printf("\n");
}

static void print_end(const char *what, json_t *e)
{
	json_t *w = json_object_get(e, "workload");
	printf("%-8s %s %s (identity %lld%s%s%s)\n", what,
	       w ? json_string_value(w) : json_string_value(json_object_get(e, "entity")),
	       json_string_value(json_object_get(e, "address")),
	       (long long)json_integer_value(json_object_get(e, "identity")),
	       json_object_get(e, "cidr") ? ", cidr " : "",
	       json_object_get(e, "cidr") ? json_string_value(json_object_get(e, "cidr")) : "",
	       json_is_true(json_object_get(e, "local")) ? ", local" : "");
}

static int on_explain(json_t *msg, void *arg)
{
	const char *output = arg;

	if (!json_is_true(json_object_get(msg, "ok")))
		return print_errors(msg);
	if (output && !strcmp(output, "json")) {
		json_object_del(msg, "ok");
		json_dumpf(msg, stdout, JSON_INDENT(2));
		printf("\n");
		return 0;
	}
	print_end("from", json_object_get(msg, "from"));
	print_end("to", json_object_get(msg, "to"));
	print_side("egress", json_object_get(msg, "egress"));
	print_side("ingress", json_object_get(msg, "ingress"));
	printf("verdict  %s (revision %lld)\n", json_string_value(json_object_get(msg, "verdict")),
	       (long long)json_integer_value(json_object_get(msg, "revision")));
	return 0;
}

/* "5432/tcp", "53/udp", "8/icmp" (type; type.code also), "sctp" (any port). */
static int parse_port_arg(const char *s, int *proto, int *port)
{
	static const struct { const char *n; int p; } names[] = {
		{ "tcp", 6 }, { "udp", 17 }, { "sctp", 132 }, { "icmp", 1 }, { "icmpv6", 58 },
	};
	const char *slash = strchr(s, '/');
	const char *pn = slash ? slash + 1 : "tcp";
	char *end;
	long v, code = 0;

	*proto = -1;
	for (size_t i = 0; i < ZS_ARRAY_SIZE(names); i++)
		if (!strcasecmp(pn, names[i].n))
			*proto = names[i].p;
	if (*proto < 0)
		return -1;
	v = strtol(s, &end, 10);
	if (end == s)
		return -1;
	if (*proto == 1 || *proto == 58) {
		if (*end == '.')
			code = strtol(end + 1, &end, 10);
		if (v < 0 || v > 255 || code < 0 || code > 255)
			return -1;
		*port = (int)(v << 8 | code);
	} else {
		if (v < 1 || v > 65535)
			return -1;
		*port = (int)v;
	}
	return end == (slash ? slash : s + strlen(s)) ? 0 : -1;
}

static int cmd_explain(int argc, char **argv)
{
	static const struct option lo[] = { { "from", required_argument, 0, 'F' },
					    { "to", required_argument, 0, 'T' },
					    { "port", required_argument, 0, 'p' },
					    { "output", required_argument, 0, 'o' },
					    { 0, 0, 0, 0 } };
	const char *from = NULL, *to = NULL, *port = NULL, *output = NULL;
	int c, proto, pnum;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
		if (c == 'F')
			from = optarg;
		else if (c == 'T')
			to = optarg;
		else if (c == 'p')
			port = optarg;
		else if (c == 'o')
			output = optarg;
		else
			return usage_err();
	}
	if (!from || !to || !port || optind != argc)
		return usage_err();
	if (parse_port_arg(port, &proto, &pnum)) {
		fprintf(stderr, "zeroseg: --port %s: want PORT/PROTO (5432/tcp, 53/udp, 8/icmp)\n", port);
		return 2;
	}
	json_t *req = json_pack("{s:s,s:s,s:s,s:i,s:i}", "cmd", "explain", "from", from, "to", to,
				"proto", proto, "port", pnum);
	int rc = request(req, on_explain, (void *)output);
	json_decref(req);
	return rc;
}

static void print_labels(json_t *labels)
{
	const char *k;
	json_t *v;
	bool first = true;

	json_object_foreach(labels, k, v)
	{
		printf("%s%s=%s", first ? "" : ",", k, json_string_value(v));
		first = false;
	}
	if (first)
		printf("-");
}

static int on_get(json_t *msg, void *arg)
{
	const char *what = ((const char **)arg)[0], *output = ((const char **)arg)[1];
	json_t *items = json_object_get(msg, "items"), *it;
	size_t i;

	if (!json_is_true(json_object_get(msg, "ok")))
		return print_errors(msg);
	if (output && !strcmp(output, "json")) {
		char *s = json_dumps(items, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
		return 0;
	}
	if (!strncmp(what, "identit", 7)) {
		printf("%-10s %-16s %s\n", "IDENTITY", "NAMESPACE", "LABELS");
		json_array_foreach(items, i, it)
		{
			printf("%-10lld %-16s ", (long long)json_integer_value(json_object_get(it, "id")),
			       json_string_value(json_object_get(it, "namespace")));
			print_labels(json_object_get(it, "labels"));
			printf("\n");
		}
		return 0;
	}
	if (!strncmp(what, "workload", 8)) {
		printf("%-16s %-20s %-10s %-16s %-30s %s\n", "NAMESPACE", "NAME", "IDENTITY", "INTERFACE",
		       "ADDRESSES", "LABELS");
		json_array_foreach(items, i, it)
		{
			json_t *md = json_object_get(it, "metadata"), *spec = json_object_get(it, "spec");
			char addrs[256] = "";
			json_t *a;
			size_t j;
			json_array_foreach(json_object_get(spec, "addresses"), j, a)
			{
				size_t l = strlen(addrs);
				snprintf(addrs + l, sizeof(addrs) - l, "%s%s", j ? "," : "", json_string_value(a));
			}
			printf("%-16s %-20s %-10lld %-16s %-30s ",
			       json_string_value(json_object_get(md, "namespace")),
			       json_string_value(json_object_get(md, "name")),
			       (long long)json_integer_value(json_object_get(json_object_get(it, "status"), "identity")),
			       json_string_value(json_object_get(spec, "interface")) ?: "(remote)", addrs);
			print_labels(json_object_get(md, "labels"));
			printf("\n");
		}
		return 0;
	}
	printf("%-16s %-24s %-8s %-8s %s\n", "NAMESPACE", "NAME", "MODE", "INGRESS", "EGRESS");
	json_array_foreach(items, i, it)
	{
		json_t *md = json_object_get(it, "metadata"), *spec = json_object_get(it, "spec");
		json_t *in = json_object_get(spec, "ingress"), *eg = json_object_get(spec, "egress");
		char ins[16] = "-", egs[16] = "-";
		if (in)
			snprintf(ins, sizeof(ins), "%zu rules", json_array_size(in));
		if (eg)
			snprintf(egs, sizeof(egs), "%zu rules", json_array_size(eg));
		printf("%-16s %-24s %-8s %-8s %s\n", json_string_value(json_object_get(md, "namespace")),
		       json_string_value(json_object_get(md, "name")),
		       json_string_value(json_object_get(spec, "mode")) ?: "enforce", ins, egs);
	}
	return 0;
}

static int cmd_get(int argc, char **argv)
{
	const char *output = NULL;
	int rc = collect_files(argc, argv, NULL, &output);
	const char *arg[2];

	if (rc || argc - optind != 1)
		return rc ? rc : usage_err();
	if (output && strcmp(output, "json") && strcmp(output, "table"))
		return usage_err();
	arg[0] = argv[optind];
	arg[1] = output;
	json_t *req = json_pack("{s:s,s:s}", "cmd", "get", "what", argv[optind]);
	rc = request(req, on_get, arg);
	json_decref(req);
	return rc;
}

struct flows_view {
	const char *output; /* "json", "compact", "table" */
	struct zs_flow_filter filter;
	long last;          /* with a filter: keep only the last N matches of the history */
	bool follow;
	ZS_VEC(json_t *) held;
	bool header_done;
};

static void flow_end_cell(json_t *e, char *buf, size_t len)
{
	const char *wl = json_string_value(json_object_get(e, "workload"));
	const char *ent = json_string_value(json_object_get(e, "entity"));
	json_t *port = json_object_get(e, "port");
	const char *ip = json_string_value(json_object_get(e, "ip")) ?: "?";

	if (port)
		snprintf(buf, len, "%s %s:%lld", wl ? wl : ent ? ent : "-", ip,
			 (long long)json_integer_value(port));
	else
		snprintf(buf, len, "%s %s", wl ? wl : ent ? ent : "-", ip);
}

static void flow_print(struct flows_view *v, json_t *rec)
{
	if (!strcmp(v->output, "json")) {
		char *s = json_dumps(rec, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
	} else if (!strcmp(v->output, "table")) {
		char src[96], dst[96];
		json_t *proto = json_object_get(rec, "protocol");
		if (!v->header_done) {
			printf("%-30s %-8s %-8s %-36s %-36s %-7s %s\n", "TIME", "TYPE", "VERDICT", "SOURCE",
			       "DESTINATION", "PROTO", "POLICY");
			v->header_done = true;
		}
		if (!json_object_get(rec, "src")) {
			printf("%-30s %-8s lost: %lld events, %lld records\n",
			       json_string_value(json_object_get(rec, "time")) ?: "?", "lost",
			       (long long)json_integer_value(json_object_get(rec, "events")),
			       (long long)json_integer_value(json_object_get(rec, "records")));
			return;
		}
		flow_end_cell(json_object_get(rec, "src"), src, sizeof(src));
		flow_end_cell(json_object_get(rec, "dst"), dst, sizeof(dst));
		printf("%-30s %-8s %-8s %-36s %-36s %-7s %s\n",
		       json_string_value(json_object_get(rec, "time")) ?: "?",
		       json_string_value(json_object_get(rec, "type")) ?: "?",
		       json_string_value(json_object_get(rec, "verdict")) ?: "?", src, dst,
		       json_is_string(proto) ? json_string_value(proto) : "other",
		       json_string_value(json_object_get(rec, "policy")) ?: "");
	} else {
		zs_flow_print_compact(stdout, rec);
	}
}

static int on_flow(json_t *msg, void *arg)
{
	struct flows_view *v = arg;

	if (json_object_get(msg, "ok") && !json_is_true(json_object_get(msg, "ok")))
		return print_errors(msg);
	if (!zs_flow_filter_match(&v->filter, msg))
		return 0;
	if (v->last > 0 && !v->follow) {
		/* History with a filter: the last N matches, printed at the end. */
		*ZS_VEC_PUSH(&v->held) = json_incref(msg);
		return 0;
	}
	flow_print(v, msg);
	fflush(stdout);
	return 0;
}

static int cmd_flows(int argc, char **argv)
{
	static const struct option lo[] = { { "follow", no_argument, 0, 'F' },
					    { "output", required_argument, 0, 'o' },
					    { "last", required_argument, 0, 'n' },
					    { "from", required_argument, 0, 'f' },
					    { "to", required_argument, 0, 't' },
					    { "verdict", required_argument, 0, 'v' },
					    { "port", required_argument, 0, 'p' },
					    { "protocol", required_argument, 0, 'P' },
					    { "type", required_argument, 0, 'T' },
					    { "since", required_argument, 0, 's' },
					    { 0, 0, 0, 0 } };
	struct flows_view v = { .output = "compact" };
	bool filtered = false;
	int c, rc = 0;

	zs_flow_filter_init(&v.filter);
	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, "Fo:n:", lo, NULL)) != -1) {
		switch (c) {
		case 'F': v.follow = true; break;
		case 'o': v.output = optarg; break;
		case 'n': v.last = strtol(optarg, NULL, 10); break;
		case 'f':
		case 't':
			filtered = true;
			if (zs_end_match_parse(c == 'f' ? &v.filter.from : &v.filter.to, optarg)) {
				fprintf(stderr, "zeroseg: --%s %s: want NS/NAME, k=v[,k=v], or a CIDR\n",
					c == 'f' ? "from" : "to", optarg);
				rc = 2;
			}
			break;
		case 'v':
			filtered = true;
			v.filter.verdict = optarg;
			if (strcmp(optarg, "allowed") && strcmp(optarg, "denied") && strcmp(optarg, "audit")) {
				fprintf(stderr, "zeroseg: --verdict %s: allowed, denied or audit\n", optarg);
				rc = 2;
			}
			break;
		case 'p':
			filtered = true;
			v.filter.port = strtol(optarg, NULL, 10);
			if (v.filter.port < 0 || v.filter.port > 65535) {
				fprintf(stderr, "zeroseg: --port %s: 0..65535\n", optarg);
				rc = 2;
			}
			break;
		case 'P': filtered = true; v.filter.protocol = optarg; break;
		case 'T': filtered = true; v.filter.type = optarg; break;
		case 's':
			filtered = true;
			if (zs_flow_filter_since(&v.filter, optarg, zs_now_ns(CLOCK_REALTIME))) {
				fprintf(stderr, "zeroseg: --since %s: a duration (90s, 5m, 2h, 1d) or an RFC 3339 time\n", optarg);
				rc = 2;
			}
			break;
		default:
			rc = usage_err();
		}
	}
	if (!rc && (optind != argc || (strcmp(v.output, "json") && strcmp(v.output, "compact") &&
				       strcmp(v.output, "table"))))
		rc = usage_err();
	if (rc) {
		zs_flow_filter_free(&v.filter);
		return rc;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* With a filter the whole history is asked for, and the last N matches kept here. */
	json_t *req = json_pack("{s:s,s:b,s:I}", "cmd", "flows", "follow", v.follow, "last",
				(json_int_t)(filtered ? 0 : v.last));
	if (!filtered)
		v.last = 0;
	rc = request(req, on_flow, &v);
	json_decref(req);
	size_t from = v.last > 0 && (size_t)v.last < v.held.n ? v.held.n - (size_t)v.last : 0;
	for (size_t i = 0; i < v.held.n; i++) {
		if (i >= from)
			flow_print(&v, v.held.v[i]);
		json_decref(v.held.v[i]);
	}
	free(v.held.v);
	zs_flow_filter_free(&v.filter);
	return rc;
}

static int on_status(json_t *msg, void *arg)
{
	(void)arg;
	if (!json_is_true(json_object_get(msg, "ok")))
		return print_errors(msg);
	json_object_del(msg, "ok");
	char *s = json_dumps(msg, JSON_INDENT(2));
	printf("%s\n", s);
	free(s);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage_err();
	json_t *req = json_pack("{s:s}", "cmd", "status");
	int rc = request(req, on_status, NULL);
	json_decref(req);
	return rc;
}

static int num_arg(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int cmd_daemon(int argc, char **argv)
{
	static const struct option lo[] = { { "socket", required_argument, 0, 's' },
					    { "state-dir", required_argument, 0, 'd' },
					    { "bpffs", required_argument, 0, 'b' },
					    { "flow-log", required_argument, 0, 'l' },
					    { "ct-max", required_argument, 0, 'C' },
					    { "uplink", required_argument, 0, 'U' },
					    { "metrics", required_argument, 0, 'P' },
					    { "ipfix", required_argument, 0, 'X' },
					    { "ipfix-enterprise", required_argument, 0, 'E' },
					    { "flow-log-max-kb", required_argument, 0, 'M' },
					    { "flow-log-keep", required_argument, 0, 'K' },
					    { "active-timeout", required_argument, 0, 'A' },
					    { "idle-timeout", required_argument, 0, 'I' },
					    { "verbose", no_argument, 0, 'v' },
					    { 0, 0, 0, 0 } };
	struct zs_daemon_opts o = { .socket = g_socket, .state_dir = ZS_DEFAULT_STATE,
				    .bpffs = ZS_DEFAULT_BPFFS, .flow_log_max_bytes = 100ull << 20,
				    .flow_log_keep = 5, .version = ZS_VERSION };
	unsigned long v;
	const char *uplinks[16];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'd': o.state_dir = optarg; break;
		case 'b': o.bpffs = optarg; break;
		case 'l': o.flow_log = optarg; break;
		case 'C': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 1024 || v > (1ul << 24)) {
				fprintf(stderr, "zeroseg: --ct-max %s: want 1024..16777216 entries\n", optarg);
				return 2;
			}
			o.ct_max = (unsigned)v;
			break;
		}
		case 'M':
		case 'K':
		case 'A':
		case 'I':
			if (num_arg(optarg, c == 'K' ? 0 : 1, c == 'M' ? 1ul << 30 : 86400, &v)) {
				fprintf(stderr, "zeroseg: %s: not a number in range\n", optarg);
				return 2;
			}
			if (c == 'M')
				o.flow_log_max_bytes = (unsigned long long)v << 10;
			else if (c == 'K')
				o.flow_log_keep = (unsigned)v;
			else if (c == 'A')
				o.active_timeout = (unsigned)v;
			else
				o.idle_timeout = (unsigned)v;
			break;
		case 'P':
			o.metrics = optarg;
			break;
		case 'X':
			o.ipfix = optarg;
			break;
		case 'E':
			if (num_arg(optarg, 1, 0xffffffffu, &v)) {
				fprintf(stderr, "zeroseg: --ipfix-enterprise %s: want a private enterprise number\n", optarg);
				return 2;
			}
			o.ipfix_pen = (unsigned)v;
			break;
		case 'U':
			if (o.nuplinks == ZS_ARRAY_SIZE(uplinks)) {
				fprintf(stderr, "zeroseg: at most %zu uplinks\n", ZS_ARRAY_SIZE(uplinks));
				return 2;
			}
			uplinks[o.nuplinks++] = optarg;
			o.uplinks = uplinks;
			break;
		case 'v': zs_verbose = 1; break;
		default: return usage_err();
		}
	}
	if (optind != argc)
		return usage_err();
	int err = zs_daemon_run(&o);
	if (err)
		fprintf(stderr, "zeroseg: daemon: %s\n", strerror(-err));
	return err ? 1 : 0;
}

static const struct cmd cmds[] = {
	{ "daemon", cmd_daemon,
	  "daemon [--socket PATH] [--state-dir DIR] [--bpffs DIR] [--flow-log FILE|-] [--ct-max N] [--uplink IF]... [--metrics ADDR:PORT] [--ipfix HOST:PORT] [-v]",
	  "Runs the controller in the foreground until SIGTERM. Defaults: socket " ZS_DEFAULT_SOCKET
	  ",\nstate " ZS_DEFAULT_STATE ", bpffs " ZS_DEFAULT_BPFFS ". Enforcement stays when it stops.\n"
	  "--ct-max: conntrack capacity (default 262144); a pinned table keeps its size.\n"
	  "--uplink IF: an interface to other hosts; an XDP program there drops traffic local\n"
	  "workloads' ingress policy denies before the kernel builds an skb for it.\n"
	  "--flow-log FILE|-: JSON lines (- = stdout); --flow-log-max-kb N (102400) rotates,\n"
	  "--flow-log-keep N (5) rotated files kept. --active-timeout S (60): updates of long\n"
	  "flows; --idle-timeout S (30): a flow with no packet for this long has ended.\n"
	  "--metrics 127.0.0.1:9464: Prometheus text format on GET /metrics (loopback only).\n"
	  "--ipfix HOST:PORT: IPFIX (RFC 7011) over UDP; --ipfix-enterprise PEN numbers our own\n"
	  "elements (default 32473, the documentation PEN; see docs/IPFIX.md)." },
	{ "apply", cmd_apply, "[--socket PATH] apply -f FILE|DIR|- [-f ...]",
	  "Applies every object of the files as one transaction and prints the new revision.\n"
	  "On invalid input nothing changes; errors name file:line:col." },
	{ "delete", cmd_delete, "[--socket PATH] delete -f FILE|DIR|- | delete KIND NAME [-n NAMESPACE]",
	  "Removes the named objects, as one transaction." },
	{ "get", cmd_get, "[--socket PATH] get workloads|policies|identities|namespaces [-o json|table]",
	  "Lists objects the daemon holds." },
	{ "flows", cmd_flows,
	  "[--socket PATH] flows [--follow] [--last N] [--from X] [--to X] [--verdict V] [--port N]\n"
	  "         [--protocol P] [--type T] [--since T] [-o json|compact|table]",
	  "Shows recent flow records (the last 2048); --follow streams new ones.\n"
	  "--from/--to: a workload (NS/NAME or NAME), labels (k=v[,k=v]) or a CIDR. --verdict\n"
	  "allowed|denied|audit; --port: destination port; --protocol TCP|UDP|ICMP...; --type\n"
	  "new|update|end|revoked|denied|lost; --since 5m | 2h | an RFC 3339 time." },
	{ "status", cmd_status, "[--socket PATH] status",
	  "Revision, counts, packet counters by reason, lost events." },
	{ "check", cmd_check, "check -f FILE|DIR|- [-f ...]",
	  "Validates and compiles policy files offline (no daemon). Exit 1 on error." },
	{ "diff", cmd_diff, "[--socket PATH] diff -f FILE|DIR|- [-f ...]",
	  "What an apply of the files would change: objects created or configured, and map entries.\n"
	  "Exit 0: no change, 1: changes, 2: error (kubectl's convention)." },
	{ "explain", cmd_explain,
	  "[--socket PATH] explain --from WORKLOAD|ADDRESS --to WORKLOAD|ADDRESS --port PORT/PROTO [-o json]",
	  "The verdict on a new flow: the source's egress and the destination's ingress check, the\n"
	  "policy and rule that decide each (or default deny). WORKLOAD is NAMESPACE/NAME or NAME\n"
	  "(namespace default). PORT/PROTO: 5432/tcp, 53/udp, 8/icmp, 128/icmpv6." },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: zeroseg [--socket PATH] COMMAND [ARGS]\n       zeroseg --version\n\ncommands:\n");
	for (size_t i = 0; i < ZS_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].usage);
	fprintf(f, "\n'zeroseg COMMAND --help' for more.\n");
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	int i = 1;

	/* Installed as zerosegd too: that name is the daemon. */
	if (!strcmp(base ? base + 1 : argv[0], "zerosegd")) {
		g_cmd = &cmds[0];
		if (want_help(argc, argv))
			return 0;
		return cmd_daemon(argc, argv);
	}

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("zeroseg %s\n", ZS_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			g_socket = argv[++i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			g_socket = argv[i] + 9;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	for (size_t c = 0; c < ZS_ARRAY_SIZE(cmds); c++)
		if (!strcmp(argv[i], cmds[c].name)) {
			g_cmd = &cmds[c];
			if (want_help(argc - i, argv + i))
				return 0;
			return cmds[c].fn(argc - i, argv + i);
		}
	fprintf(stderr, "zeroseg: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return 2;
}
