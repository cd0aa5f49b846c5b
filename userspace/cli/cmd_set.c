// SPDX-License-Identifier: MIT
/*
 * set: members into or out of an AddressSet, through the daemon, as one
 * transaction (`zeroseg set add|remove|replace NAME [PREFIX...] [-f FILE|-]...`).
 * Files are prefix lists, one address or prefix a line, `#` comments; the
 * daemon parses them (errors name file:line:col) and changes only what
 * changes. `set add` creates the set if it does not exist; `set replace`
 * makes the members exactly those given (a feed's sync, in one step).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "proto/proto.h"

struct set_opts {
	json_t *files; /* ZS_K_FILES: {name, content} of every -f */
	bool allow_empty; /* replace may leave the set empty */
};

static int add_list(void *opts, const char *arg)
{
	return cli_add_path(((struct set_opts *)opts)->files, arg) ? 1 : 0;
}

const struct cli_opt set_opts[] = {
	{ .name = "filename", .short_name = 'f', .arg = "FILE|-", .parse = add_list,
	  .flags = CLI_REPEAT,
	  .help = "a prefix list: one address or prefix a line, # comments; - for stdin" },
	{ .name = "allow-empty", CLI_SET_FLAG(struct set_opts, allow_empty),
	  .help = "replace: may leave the set empty (refused otherwise: an empty feed is more often a failed download)" },
	{ 0 },
};

/* "set NAME: +A -R (M members): revision N", or "unchanged: ...". */
static int on_set(json_t *msg, void *arg)
{
	if (!cli_ok(msg))
		return cli_print_errors(msg);
	printf("%s %s: +%lld -%lld (%lld members): revision %lld\n",
	       json_is_true(json_object_get(msg, ZS_K_UNCHANGED)) ? "unchanged" : "set",
	       (const char *)arg, cli_int(msg, ZS_K_ADDED), cli_int(msg, ZS_K_REMOVED),
	       cli_int(msg, ZS_K_MEMBERS), cli_int(msg, ZS_K_REVISION));
	return 0;
}

int cmd_set(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct set_opts o = { .files = json_array() };
	json_t *prefixes = json_array(), *req;
	int rc = cli_parse(cmd, argc, argv, &o);

	if (!rc && (argc - optind < 2 ||
		    (strcmp(argv[optind], ZS_SET_ADD) && strcmp(argv[optind], ZS_SET_REMOVE) &&
		     strcmp(argv[optind], ZS_SET_REPLACE)) ||
		    (argc - optind == 2 && !json_array_size(o.files) &&
		     strcmp(argv[optind], ZS_SET_REPLACE))))
		rc = cli_usage_err(cmd);
	if (rc) {
		json_decref(o.files);
		json_decref(prefixes);
		return rc;
	}
	for (int i = optind + 2; i < argc; i++)
		json_array_append_new(prefixes, json_string(argv[i]));
	req = json_pack("{s:s,s:s,s:s,s:o,s:o,s:b}", ZS_K_VERB, zs_verb_name(ZS_VERB_SET), ZS_K_OP,
			argv[optind], ZS_K_NAME, argv[optind + 1], ZS_K_PREFIXES, prefixes, ZS_K_FILES,
			o.files, ZS_K_ALLOW_EMPTY, o.allow_empty);
	rc = cli_request(req, on_set, argv[optind + 1]);
	json_decref(req);
	return rc;
}
