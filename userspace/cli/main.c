// SPDX-License-Identifier: MIT
/*
 * zeroseg: the CLI and the daemon in one binary. This file is the command
 * table and main(): the global options, and dispatch to a command (one file
 * per command family, cmd_*.c). Each command's options are a table beside
 * it, from which its parser and its --help are generated (options.c). The
 * CLI is a client of the daemon's Unix socket, except `check`, which
 * validates offline, and `daemon`, which runs it.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "proto/proto.h"
#include "util/util.h"

/* name, function, options, positional arguments (of each form), talks to the daemon, what it does */
static const struct cli_cmd cmds[] = {
	{ "daemon", cmd_daemon, daemon_opts, { NULL }, false,
	  "Runs the controller in the foreground until SIGTERM. Enforcement stays when it stops." },
	{ "apply", cmd_apply, apply_opts, { NULL }, true,
	  "Applies every object of the files as one transaction and prints the new revision. "
	  "On invalid input nothing changes; errors name file:line:col." },
	{ "delete", cmd_delete, delete_opts, { NULL, "KIND NAME" }, true,
	  "Removes the named objects, as one transaction." },
	{ "get", cmd_get, get_opts, { "workloads|policies|identities|namespaces|sets [NAME]" }, true,
	  "Lists objects the daemon holds. Sets show their member counts; "
	  "--members (or a set's NAME) lists the members too." },
	{ "set", cmd_set, set_opts, { "add|remove|replace NAME [PREFIX...]" }, true,
	  "Adds members to an AddressSet (creating it), removes them, or replaces them all "
	  "(replace with nothing empties it), as one transaction; only what changes is "
	  "written. Files are prefix lists (one a line, # comments); on invalid input "
	  "nothing changes and errors name file:line." },
	{ "flows", cmd_flows, flows_opts, { NULL }, true,
	  "Shows recent flow records; --follow streams new ones." },
	{ "status", cmd_status, NULL, { NULL }, true,
	  "Revision, counts, packet counters by reason, lost events." },
	{ "check", cmd_check, apply_opts, { NULL }, false,
	  "Validates and compiles policy files offline (no daemon). Exit 1 on error." },
	{ "diff", cmd_diff, apply_opts, { NULL }, true,
	  "What an apply of the files would change: objects created or configured, and map "
	  "entries.\n"
	  "Exit 0: no change, 1: changes, 2: error (kubectl's convention)." },
	{ "explain", cmd_explain, explain_opts, { NULL }, true,
	  "The verdict on a new flow: the source's egress and the destination's ingress check, "
	  "the policy and rule that decide each (or default deny)." },
};

/* For the help text only: main() parses these by hand, before the command. */
static const struct cli_opt global_opts[] = {
	{ .name = "socket", .arg = "PATH", .def = ZS_DEFAULT_SOCKET, .help = "the daemon's control socket" },
	{ .name = "version", .help = "prints the version" },
	{ .name = "help", .short_name = 'h', .help = "this text; 'zeroseg COMMAND --help' for a command's" },
	{ 0 },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: zeroseg [--socket PATH] COMMAND [ARGS]\n       zeroseg --version\n\noptions:\n");
	cli_print_options(f, global_opts);
	fprintf(f, "\ncommands:\n");
	cli_list_commands(f, cmds, ZS_ARRAY_SIZE(cmds));
	fprintf(f, "\n'zeroseg COMMAND --help' for more.\n");
}

/* --help or -h anywhere among the command's arguments. */
static bool want_help(const struct cli_cmd *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli_help(stdout, cmd);
			return true;
		}
	return false;
}

static int run(const struct cli_cmd *cmd, int argc, char **argv)
{
	return want_help(cmd, argc, argv) ? 0 : cmd->run(cmd, argc, argv);
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	int i = 1;

	/* Installed as zerosegd too: that name is the daemon. */
	if (!strcmp(base ? base + 1 : argv[0], "zerosegd"))
		return run(&cmds[0], argc, argv);

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("zeroseg %s\n", ZS_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			cli_socket = argv[++i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			cli_socket = argv[i] + 9;
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
		if (!strcmp(argv[i], cmds[c].name))
			return run(&cmds[c], argc - i, argv + i);
	fprintf(stderr, "zeroseg: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return 2;
}
