// SPDX-License-Identifier: MIT
/*
 * flows: the daemon's recent flow records, and with --follow the stream of
 * new ones, filtered here (telemetry/flowfilter.h) and printed as JSON lines,
 * one compact line each, or a table. With a filter the whole history is
 * asked for and the last N matches are kept here, so --last counts matches.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "proto/proto.h"
#include "telemetry/flowfilter.h"
#include "telemetry/flows.h"
#include "telemetry/recent.h" /* ZS_RECENT_FLOWS */

#define FLOWS_OUTPUT "compact"

struct flows_view {
	const char *output; /* "json", "compact", "table" */
	struct zs_flow_filter filter;
	bool filtered;
	long last;          /* with a filter: keep only the last N matches of the history */
	bool follow;
	ZS_VEC(json_t *) held;
	bool header_done;
};

/* ---- options -------------------------------------------------------------- */

static int set_last(void *opts, const char *arg)
{
	((struct flows_view *)opts)->last = strtol(arg, NULL, 10);
	return 0;
}

static int set_end(struct flows_view *v, struct zs_end_match *m, const char *opt, const char *arg)
{
	v->filtered = true;
	if (zs_end_match_parse(m, arg)) {
		fprintf(stderr, "zeroseg: --%s %s: want NS/NAME, k=v[,k=v], or a CIDR\n", opt, arg);
		return 2;
	}
	return 0;
}

static int set_from(void *opts, const char *arg)
{
	struct flows_view *v = opts;
	return set_end(v, &v->filter.from, "from", arg);
}

static int set_to(void *opts, const char *arg)
{
	struct flows_view *v = opts;
	return set_end(v, &v->filter.to, "to", arg);
}

static int set_verdict(void *opts, const char *arg)
{
	struct flows_view *v = opts;

	v->filtered = true;
	v->filter.verdict = arg;
	if (strcmp(arg, "allowed") && strcmp(arg, "denied") && strcmp(arg, "audit")) {
		fprintf(stderr, "zeroseg: --verdict %s: allowed, denied or audit\n", arg);
		return 2;
	}
	return 0;
}

static int set_port(void *opts, const char *arg)
{
	struct flows_view *v = opts;

	v->filtered = true;
	v->filter.port = strtol(arg, NULL, 10);
	if (v->filter.port < 0 || v->filter.port > 65535) {
		fprintf(stderr, "zeroseg: --port %s: 0..65535\n", arg);
		return 2;
	}
	return 0;
}

static int set_protocol(void *opts, const char *arg)
{
	struct flows_view *v = opts;

	v->filtered = true;
	v->filter.protocol = arg;
	return 0;
}

static int set_type(void *opts, const char *arg)
{
	struct flows_view *v = opts;

	v->filtered = true;
	v->filter.type = arg;
	return 0;
}

static int set_since(void *opts, const char *arg)
{
	struct flows_view *v = opts;

	v->filtered = true;
	if (zs_flow_filter_since(&v->filter, arg, zs_now_ns(CLOCK_REALTIME))) {
		fprintf(stderr, "zeroseg: --since %s: a duration (90s, 5m, 2h, 1d) or an RFC 3339 time\n", arg);
		return 2;
	}
	return 0;
}

const struct cli_opt flows_opts[] = {
	{ .name = "follow", .short_name = 'F', .flags = CLI_SYN_LONG, CLI_SET_FLAG(struct flows_view, follow),
	  .help = "streams new records as they come" },
	{ .name = "last", .short_name = 'n', .arg = "N", .flags = CLI_SYN_LONG, .parse = set_last,
	  .def_num = ZS_RECENT_FLOWS, .help = "the last N records, or with a filter the last N that match" },
	{ .name = "from", .arg = "X", .parse = set_from,
	  .help = "the source: a workload (NS/NAME or NAME), labels (k=v[,k=v]) or a CIDR" },
	{ .name = "to", .arg = "X", .parse = set_to, .help = "the destination, as --from" },
	{ .name = "verdict", .arg = "V", .parse = set_verdict, .help = "allowed|denied|audit" },
	{ .name = "port", .arg = "N", .parse = set_port, .help = "destination port" },
	{ .name = "protocol", .arg = "P", .parse = set_protocol, .help = "TCP|UDP|ICMP..." },
	{ .name = "type", .arg = "T", .parse = set_type, .help = "new|update|end|revoked|denied|lost|tamper" },
	{ .name = "since", .arg = "T", .parse = set_since, .help = "5m | 2h | an RFC 3339 time" },
	{ .name = "output", .short_name = 'o', .arg = "json|compact|table",
	  CLI_SET_STRING(struct flows_view, output), .def = FLOWS_OUTPUT, .help = "the output format" },
	{ 0 },
};

/* ---- output --------------------------------------------------------------- */

/* "shop/web 10.0.0.2:5432": the workload (or entity), the address, the port. */
static void flow_end_cell(json_t *e, char *buf, size_t len)
{
	const char *wl = cli_str(e, "workload");
	const char *ent = cli_str(e, "entity");
	json_t *port = json_object_get(e, ZS_K_PORT);
	const char *ip = cli_str(e, "ip") ?: "?";

	if (port)
		snprintf(buf, len, "%s %s:%lld", wl ? wl : ent ? ent : "-", ip,
			 (long long)json_integer_value(port));
	else
		snprintf(buf, len, "%s %s", wl ? wl : ent ? ent : "-", ip);
}

static void flow_print_row(struct flows_view *v, json_t *rec)
{
	char src[96], dst[96];
	json_t *proto = json_object_get(rec, "protocol");

	if (!v->header_done) {
		printf("%-30s %-8s %-8s %-36s %-36s %-7s %s\n", "TIME", "TYPE", "VERDICT", "SOURCE",
		       "DESTINATION", "PROTO", "POLICY");
		v->header_done = true;
	}
	if (!strcmp(cli_str(rec, "type") ?: "", "tamper")) {
		printf("%-30s %-8s %s on %s: %s, %s\n", cli_str(rec, "time") ?: "?", "tamper",
		       cli_str(rec, "hook") ?: "?", cli_str(rec, "interface") ?: cli_str(rec, "pin") ?: "?",
		       cli_str(rec, "found") ?: "?",
		       json_is_true(json_object_get(rec, "repaired")) ? "repaired" : "NOT repaired");
		return;
	}
	if (!json_object_get(rec, "src")) {
		printf("%-30s %-8s lost: %lld events, %lld records\n", cli_str(rec, "time") ?: "?", "lost",
		       cli_int(rec, "events"), cli_int(rec, "records"));
		return;
	}
	flow_end_cell(json_object_get(rec, "src"), src, sizeof(src));
	flow_end_cell(json_object_get(rec, "dst"), dst, sizeof(dst));
	printf("%-30s %-8s %-8s %-36s %-36s %-7s %s\n", cli_str(rec, "time") ?: "?",
	       cli_str(rec, "type") ?: "?", cli_str(rec, "verdict") ?: "?", src, dst,
	       json_is_string(proto) ? json_string_value(proto) : "other", cli_str(rec, "policy") ?: "");
}

static void flow_print(struct flows_view *v, json_t *rec)
{
	if (!strcmp(v->output, "json")) {
		char *s = json_dumps(rec, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
	} else if (!strcmp(v->output, "table")) {
		flow_print_row(v, rec);
	} else {
		zs_flow_print_compact(stdout, rec);
	}
}

static int on_flow(json_t *msg, void *arg)
{
	struct flows_view *v = arg;

	if (json_object_get(msg, ZS_K_OK) && !cli_ok(msg))
		return cli_print_errors(msg);
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

/* Prints the last v->last of the held matches, and lets go of them all. */
static void flush_held(struct flows_view *v)
{
	size_t from = v->last > 0 && (size_t)v->last < v->held.n ? v->held.n - (size_t)v->last : 0;

	for (size_t i = 0; i < v->held.n; i++) {
		if (i >= from)
			flow_print(v, v->held.v[i]);
		json_decref(v->held.v[i]);
	}
	free(v->held.v);
}

int cmd_flows(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct flows_view v = { .output = FLOWS_OUTPUT };
	int rc;

	zs_flow_filter_init(&v.filter);
	rc = cli_parse(cmd, argc, argv, &v);
	if (!rc && (optind != argc || (strcmp(v.output, "json") && strcmp(v.output, "compact") &&
				       strcmp(v.output, "table"))))
		rc = cli_usage_err(cmd);
	if (rc) {
		zs_flow_filter_free(&v.filter);
		return rc;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* With a filter the whole history is asked for, and the last N matches kept here. */
	json_t *req = json_pack("{s:s,s:b,s:I}", ZS_K_VERB, zs_verb_name(ZS_VERB_FLOWS), ZS_K_FOLLOW, v.follow,
				ZS_K_LAST, (json_int_t)(v.filtered ? 0 : v.last));
	if (!v.filtered)
		v.last = 0;
	rc = cli_request(req, on_flow, &v);
	json_decref(req);
	flush_held(&v);
	zs_flow_filter_free(&v.filter);
	return rc;
}
