// SPDX-License-Identifier: MIT
/*
 * get: the objects the daemon holds (workloads, policies, identities,
 * namespaces, address sets), as a table with a header line or as JSON. A
 * set shows its member count; its members only when asked (--members, or
 * `get sets NAME`): a blocklist may hold 100k.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "proto/proto.h"

struct get_opts {
	const char *what; /* the positional argument, as given ("workloads", "identity"...) */
	const char *output;
	const char *name; /* sets: the one set wanted */
	bool members;     /* sets: every member too */
};

const struct cli_opt get_opts[] = {
	{ .name = "output", .short_name = 'o', .arg = "json|table", CLI_SET_STRING(struct get_opts, output),
	  .def = "table", .help = "the output format" },
	{ .name = "members", CLI_SET_FLAG(struct get_opts, members),
	  .help = "sets: list every member (by default only their count)" },
	{ 0 },
};

static void print_identities(json_t *items)
{
	json_t *it;
	size_t i;

	printf("%-10s %-16s %s\n", "IDENTITY", "NAMESPACE", "LABELS");
	json_array_foreach(items, i, it)
	{
		printf("%-10lld %-16s ", cli_int(it, "id"), cli_str(it, ZS_K_NAMESPACE));
		cli_print_labels(json_object_get(it, "labels"));
		printf("\n");
	}
}

static void print_workloads(json_t *items)
{
	json_t *it;
	size_t i;

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
		printf("%-16s %-20s %-10lld %-16s %-30s ", cli_str(md, ZS_K_NAMESPACE), cli_str(md, ZS_K_NAME),
		       cli_int(json_object_get(it, "status"), "identity"),
		       cli_str(spec, "interface") ?: "(remote)", addrs);
		cli_print_labels(json_object_get(md, "labels"));
		printf("\n");
	}
}

/* Policies, and anything else asked for (namespaces): the policy columns. */
static void print_policies(json_t *items)
{
	json_t *it;
	size_t i;

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
		printf("%-16s %-24s %-8s %-8s %s\n", cli_str(md, ZS_K_NAMESPACE), cli_str(md, ZS_K_NAME),
		       cli_str(spec, "mode") ?: "enforce", ins, egs);
	}
}

/* NAME MEMBERS, then (asked for) the members, one an indented line. */
static void print_sets(json_t *items)
{
	json_t *it, *m;
	size_t i, j;

	printf("%-32s %s\n", "NAME", "MEMBERS");
	json_array_foreach(items, i, it)
	{
		printf("%-32s %lld\n", cli_str(json_object_get(it, "metadata"), ZS_K_NAME),
		       cli_int(json_object_get(it, "status"), ZS_K_MEMBERS));
		json_array_foreach(json_object_get(json_object_get(it, "spec"), "prefixes"), j, m)
			printf("  %s\n", json_string_value(m));
	}
}

static int on_get(json_t *msg, void *arg)
{
	const struct get_opts *o = arg;
	json_t *items = json_object_get(msg, "items");

	if (!cli_ok(msg))
		return cli_print_errors(msg);
	if (o->output && !strcmp(o->output, "json"))
		cli_print_json(items);
	else if (!strncmp(o->what, "identit", 7))
		print_identities(items);
	else if (!strncmp(o->what, "workload", 8))
		print_workloads(items);
	else if (!strncmp(o->what, "set", 3) || !strncasecmp(o->what, "addressset", 10))
		print_sets(items);
	else
		print_policies(items);
	return 0;
}

int cmd_get(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct get_opts o = { 0 };
	int rc = cli_parse(cmd, argc, argv, &o);

	if (rc || argc - optind < 1 || argc - optind > 2)
		return rc ? rc : cli_usage_err(cmd);
	if (o.output && strcmp(o.output, "json") && strcmp(o.output, "table"))
		return cli_usage_err(cmd);
	o.what = argv[optind];
	o.name = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (o.name && strncmp(o.what, "set", 3) && strncasecmp(o.what, "addressset", 10))
		return cli_usage_err(cmd);
	json_t *req = json_pack("{s:s,s:s,s:b}", ZS_K_VERB, zs_verb_name(ZS_VERB_GET), ZS_K_WHAT,
				o.what, ZS_K_MEMBERS, o.members);
	if (o.name)
		json_object_set_new(req, ZS_K_NAME, json_string(o.name));
	rc = cli_request(req, on_get, &o);
	json_decref(req);
	return rc;
}
