// SPDX-License-Identifier: MIT
/*
 * explain: the daemon's verdict on a new flow between two workloads or
 * addresses, with the source's egress and the destination's ingress check
 * and the policy and rule that decide each (or default deny); as text or as
 * the daemon's JSON answer.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "proto/proto.h"
#include "util/util.h"

struct explain_opts {
	const char *from, *to, *port, *output;
};

const struct cli_opt explain_opts[] = {
	{ .name = "from", .arg = "WORKLOAD|ADDRESS", .flags = CLI_REQUIRED,
	  CLI_SET_STRING(struct explain_opts, from),
	  .help = "the source: NAMESPACE/NAME or NAME (namespace default), or an address" },
	{ .name = "to", .arg = "WORKLOAD|ADDRESS", .flags = CLI_REQUIRED,
	  CLI_SET_STRING(struct explain_opts, to), .help = "the destination, as --from" },
	{ .name = "port", .arg = "PORT/PROTO", .flags = CLI_REQUIRED, CLI_SET_STRING(struct explain_opts, port),
	  .help = "5432/tcp, 53/udp, 8/icmp (type; type.code also), 128/icmpv6, sctp (any port)" },
	{ .name = "output", .short_name = 'o', .arg = "json", CLI_SET_STRING(struct explain_opts, output),
	  .help = "the daemon's answer as JSON" },
	{ 0 },
};

/* One side's check: "egress   allowed      shop/web: allow rule 1 of shop/db-ingress". */
static void print_side(const char *what, json_t *s)
{
	if (!json_is_true(json_object_get(s, "checked"))) {
		printf("%-8s -            (%s)\n", what, cli_str(s, "why"));
		return;
	}
	printf("%-8s %-12s %s", what, cli_str(s, "verdict"), cli_str(s, "subject"));
	if (json_object_get(s, "policy")) {
		printf(": %s rule %lld of %s", cli_str(s, "action"), cli_int(s, "rule"), cli_str(s, "policy"));
		if (json_object_get(s, "source"))
			printf(" (%s)", cli_str(s, "source"));
	} else {
		printf(": %s", cli_str(s, "why"));
	}
	printf("\n");
}

/* One end: "from     shop/web 10.0.0.2 (identity 256, local)". */
static void print_end(const char *what, json_t *e)
{
	json_t *w = json_object_get(e, "workload");
	printf("%-8s %s %s (identity %lld%s%s%s)\n", what, w ? json_string_value(w) : cli_str(e, "entity"),
	       cli_str(e, "address"), cli_int(e, "identity"), json_object_get(e, "cidr") ? ", cidr " : "",
	       json_object_get(e, "cidr") ? cli_str(e, "cidr") : "",
	       json_is_true(json_object_get(e, "local")) ? ", local" : "");
}

static int on_explain(json_t *msg, void *arg)
{
	const char *output = arg;

	if (!cli_ok(msg))
		return cli_print_errors(msg);
	if (output && !strcmp(output, "json")) {
		json_object_del(msg, ZS_K_OK);
		cli_print_json(msg);
		return 0;
	}
	print_end("from", json_object_get(msg, ZS_K_FROM));
	print_end("to", json_object_get(msg, ZS_K_TO));
	print_side("egress", json_object_get(msg, "egress"));
	print_side("ingress", json_object_get(msg, "ingress"));
	printf("verdict  %s (revision %lld)\n", cli_str(msg, "verdict"), cli_int(msg, ZS_K_REVISION));
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

int cmd_explain(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct explain_opts o = { 0 };
	int proto, pnum, rc = cli_parse(cmd, argc, argv, &o);

	if (rc)
		return rc;
	if (!o.from || !o.to || !o.port || optind != argc)
		return cli_usage_err(cmd);
	if (parse_port_arg(o.port, &proto, &pnum)) {
		fprintf(stderr, "zeroseg: --port %s: want PORT/PROTO (5432/tcp, 53/udp, 8/icmp)\n", o.port);
		return 2;
	}
	json_t *req = json_pack("{s:s,s:s,s:s,s:i,s:i}", ZS_K_VERB, zs_verb_name(ZS_VERB_EXPLAIN), ZS_K_FROM,
				o.from, ZS_K_TO, o.to, ZS_K_PROTO, proto, ZS_K_PORT, pnum);
	rc = cli_request(req, on_explain, (void *)o.output);
	json_decref(req);
	return rc;
}
