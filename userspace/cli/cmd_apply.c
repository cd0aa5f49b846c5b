// SPDX-License-Identifier: MIT
/*
 * The commands that take policy files: apply and delete (one transaction in
 * the daemon each), diff (what an apply would change), and check (validates
 * and compiles offline, without a daemon). They share the -f option and its
 * options struct.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/compile.h"
#include "policy/parse.h"
#include "proto/proto.h"

/* A delete by KIND NAME without -n. */
#define CLI_DEFAULT_NAMESPACE "default"

struct files_opts {
	json_t *files; /* ZS_K_FILES: {name, content} of every -f */
	const char *ns;
};

static int add_files(void *opts, const char *arg)
{
	return cli_add_path(((struct files_opts *)opts)->files, arg) ? 1 : 0;
}

/* apply, check and diff. */
const struct cli_opt apply_opts[] = {
	{ .name = "filename", .short_name = 'f', .arg = "FILE|DIR|-", .parse = add_files,
	  .flags = CLI_REQUIRED | CLI_REPEAT,
	  .help = "a policy file, a directory of them (.yaml, .yml, .json), or - for stdin" },
	{ 0 },
};

const struct cli_opt delete_opts[] = {
	{ .name = "filename", .short_name = 'f', .arg = "FILE|DIR|-", .parse = add_files,
	  .flags = CLI_REQUIRED | CLI_REPEAT,
	  .help = "the objects of a policy file, a directory of them, or - for stdin" },
	{ .name = "namespace", .short_name = 'n', .arg = "NAMESPACE", .flags = CLI_FORM2,
	  CLI_SET_STRING(struct files_opts, ns), .def = CLI_DEFAULT_NAMESPACE,
	  .help = "the namespace of KIND NAME" },
	{ 0 },
};

/* Parses -f into `files`; the command takes no other argument, and at least one file. */
static int parse_files(const struct cli_cmd *cmd, int argc, char **argv, struct files_opts *o)
{
	int rc = cli_parse(cmd, argc, argv, o);

	if (!rc && (optind != argc || !json_array_size(o->files)))
		rc = cli_usage_err(cmd);
	return rc;
}

/*
 * Prints "<verb>: revision N (M objects)", `arg` being the verb's past
 * tense, or "unchanged: revision N (M objects)" when nothing changed.
 */
static int on_result(json_t *msg, void *arg)
{
	if (!cli_ok(msg))
		return cli_print_errors(msg);
	printf("%s: revision %lld (%lld objects)\n",
	       json_is_true(json_object_get(msg, ZS_K_UNCHANGED)) ? "unchanged" : (const char *)arg,
	       cli_int(msg, ZS_K_REVISION), cli_int(msg, "objects"));
	return 0;
}

int cmd_apply(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct files_opts o = { .files = json_array() };
	int rc = parse_files(cmd, argc, argv, &o);

	if (rc) {
		json_decref(o.files);
		return rc;
	}
	json_t *req = json_pack("{s:s,s:o}", ZS_K_VERB, zs_verb_name(ZS_VERB_APPLY), ZS_K_FILES, o.files);
	rc = cli_request(req, on_result, "applied");
	json_decref(req);
	return rc;
}

int cmd_delete(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct files_opts o = { .files = json_array(), .ns = CLI_DEFAULT_NAMESPACE };
	const char *verb = zs_verb_name(ZS_VERB_DELETE);
	json_t *req;
	int rc = cli_parse(cmd, argc, argv, &o);

	if (rc) {
		json_decref(o.files);
		return rc;
	}
	if (json_array_size(o.files) && optind == argc) {
		req = json_pack("{s:s,s:o}", ZS_K_VERB, verb, ZS_K_FILES, o.files);
	} else if (!json_array_size(o.files) && argc - optind == 2) {
		json_decref(o.files);
		req = json_pack("{s:s,s:s,s:s,s:s}", ZS_K_VERB, verb, ZS_K_KIND, argv[optind], ZS_K_NAME,
				argv[optind + 1], ZS_K_NAMESPACE, o.ns);
	} else {
		json_decref(o.files);
		return cli_usage_err(cmd);
	}
	rc = cli_request(req, on_result, "deleted");
	json_decref(req);
	return rc;
}

/* Parses, validates and compiles the files as the daemon would; prints the diagnostics. */
static int check_files(json_t *files)
{
	struct zs_objects objs;
	struct zs_diags diags = { 0 };
	struct zs_identities ids = { 0 };
	struct zs_compiled comp;
	json_t *f;
	size_t i;
	int err = 0;

	zs_objects_init(&objs);
	json_array_foreach(files, i, f)
	{
		const char *content = cli_str(f, ZS_K_FILE_CONTENT);
		if (zs_parse_buffer(cli_str(f, ZS_K_FILE_NAME), content, strlen(content), &objs, &diags))
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
	return err;
}

int cmd_check(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct files_opts o = { .files = json_array() };
	int rc = parse_files(cmd, argc, argv, &o);

	if (!rc)
		rc = check_files(o.files) ? 1 : 0;
	json_decref(o.files);
	return rc;
}

/* One line per object ("+ Policy shop/db: created"), then the map entries. */
static int on_diff(json_t *msg, void *arg)
{
	json_t *objs = json_object_get(msg, "objects"), *o;
	size_t i;
	(void)arg;

	if (!cli_ok(msg)) {
		cli_print_errors(msg);
		return 2;
	}
	json_array_foreach(objs, i, o)
	{
		const char *ch = cli_str(o, "change");
		const char *ns = cli_str(o, ZS_K_NAMESPACE);
		printf("%c %s %s%s%s: %s", !strcmp(ch, "created") ? '+' : !strcmp(ch, "unchanged") ? '=' : '~',
		       cli_str(o, ZS_K_KIND), ns ? ns : "", ns ? "/" : "", cli_str(o, ZS_K_NAME), ch);
		if (json_object_get(o, ZS_K_ADDED)) /* an AddressSet: its members */
			printf(" (+%lld -%lld members)", cli_int(o, ZS_K_ADDED), cli_int(o, ZS_K_REMOVED));
		printf("\n");
	}
	json_t *e = json_object_get(msg, "entries");
	json_t *pol = json_object_get(e, "policy"), *ip = json_object_get(e, "ipcache");
	printf("policy map: +%lld -%lld entries; ipcache: +%lld -%lld ~%lld; endpoints: %lld changed\n",
	       cli_int(pol, "added"), cli_int(pol, "removed"), cli_int(ip, "added"), cli_int(ip, "removed"),
	       cli_int(ip, "changed"), cli_int(e, "endpoints"));
	return json_is_true(json_object_get(msg, "changed")) ? 1 : 0;
}

/* kubectl's convention: 0 no change, 1 changes, 2 error. */
int cmd_diff(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct files_opts o = { .files = json_array() };

	if (parse_files(cmd, argc, argv, &o)) {
		json_decref(o.files);
		return 2;
	}
	json_t *req = json_pack("{s:s,s:o}", ZS_K_VERB, zs_verb_name(ZS_VERB_DIFF), ZS_K_FILES, o.files);
	int rc = cli_request(req, on_diff, NULL);
	json_decref(req);
	return rc;
}
