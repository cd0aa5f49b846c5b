/* SPDX-License-Identifier: MIT */
/*
 * What the CLI's files share (private to userspace/cli/): the command and
 * option tables, from which getopt_long's arrays and every usage and --help
 * text are generated (options.c); the request to the daemon and the output
 * every command prints the same way (render.c); policy file collection
 * (files.c); and the commands themselves (cmd_*.c), listed in main.c.
 *
 * Commands return the process's exit code: 0, 1 (the request or the input
 * failed), 2 (usage, or the daemon could not be reached).
 */
#ifndef ZS_CLI_H
#define ZS_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifndef ZS_VERSION
#define ZS_VERSION "0.1.0"
#endif

/* ---- option and command tables (options.c) ------------------------------ */

enum cli_opt_flags {
	CLI_REQUIRED = 1 << 0, /* the synopsis shows it without brackets (the command checks) */
	CLI_REPEAT = 1 << 1,   /* may be given more than once */
	CLI_SYN_LONG = 1 << 2, /* the synopsis names the long form although a short one exists */
	CLI_FORM2 = 1 << 3,    /* belongs to the command's second form (cli_cmd.args[1]) */
};

enum cli_opt_kind {
	CLI_FLAG,   /* sets a bool */
	CLI_STRING, /* stores the argument (const char *) */
	CLI_UINT,   /* an unsigned long in [min, max], else "not a number in range" */
};

/*
 * One option of a command. The value lands `off` bytes into the command's
 * options struct, or `parse` handles it (and returns 0 or an exit code).
 */
struct cli_opt {
	const char *name;   /* long name, without "--" */
	char short_name;    /* 0: none */
	const char *arg;    /* the argument's name in usage text; NULL: takes none */
	const char *help;
	const char *def;    /* default shown in --help, NULL: none */
	unsigned long long def_num; /* numeric default shown in --help, 0: none */
	unsigned flags;     /* enum cli_opt_flags */
	enum cli_opt_kind kind;
	size_t off;
	unsigned long min, max; /* CLI_UINT */
	int (*parse)(void *opts, const char *arg);
};

/* Where a field is, checked against the kind at compile time. */
#define CLI_AT(type, field, T) \
	.off = offsetof(type, field) + 0 * sizeof(_Generic(((type *)0)->field, T: 1))
#define CLI_SET_FLAG(type, field) .kind = CLI_FLAG, CLI_AT(type, field, bool)
#define CLI_SET_STRING(type, field) .kind = CLI_STRING, CLI_AT(type, field, const char *)
#define CLI_SET_UINT(type, field, lo, hi) \
	.kind = CLI_UINT, CLI_AT(type, field, unsigned long), .min = (lo), .max = (hi)

struct cli_cmd {
	const char *name;
	int (*run)(const struct cli_cmd *cmd, int argc, char **argv);
	const struct cli_opt *opts; /* ends with an entry without name; NULL: none */
	const char *args[2];        /* positional arguments of each form; NULL: none */
	bool client;                /* talks to the daemon: usage shows [--socket PATH] */
	const char *help;           /* what it does; the options follow from `opts` */
};

/* getopt_long over the command's table into `opts`; 0, or the exit code. Leaves optind. */
int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, void *opts);
/* A decimal number in [min, max] (the whole of `s`); 0 or -1. */
int cli_number(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* "usage: zeroseg SYNOPSIS" on stderr; returns 2. */
int cli_usage_err(const struct cli_cmd *cmd);
/* --help: the synopsis, what it does, and the options with their defaults. */
void cli_help(FILE *f, const struct cli_cmd *cmd);
/* One line per command (for `zeroseg --help`). */
void cli_list_commands(FILE *f, const struct cli_cmd *cmds, size_t n);
/* An options table as an indented list with defaults (also main's global options). */
void cli_print_options(FILE *f, const struct cli_opt *opts);

/* ---- the daemon's answers (render.c) ------------------------------------ */

/* The socket the client commands talk to (main's --socket). */
extern const char *cli_socket;

typedef int (*cli_line_fn)(json_t *msg, void *arg);
/* Sends `req`; `line` gets each JSON line of the answer. 2 when unreachable. */
int cli_request(json_t *req, cli_line_fn line, void *arg);
/* The answer's ZS_K_ERRORS, one a line on stderr; returns 1. */
int cli_print_errors(json_t *msg);
/* Whether the answer says ZS_K_OK. */
bool cli_ok(json_t *msg);
/* k=v,k=v (or "-") on stdout. */
void cli_print_labels(json_t *labels);
/* The value, indented, on stdout. */
void cli_print_json(json_t *v);
const char *cli_str(json_t *obj, const char *key);
long long cli_int(json_t *obj, const char *key);

/* ---- files (files.c) ---------------------------------------------------- */

/* Adds FILE, every policy file of DIR (sorted), or - (stdin) to `files`. */
int cli_add_path(json_t *files, const char *path);

/* ---- the commands ------------------------------------------------------- */

int cmd_daemon(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_apply(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_delete(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_check(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_diff(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_get(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_flows(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_status(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_explain(const struct cli_cmd *cmd, int argc, char **argv);
int cmd_set(const struct cli_cmd *cmd, int argc, char **argv);

extern const struct cli_opt daemon_opts[], apply_opts[], delete_opts[], get_opts[],
	flows_opts[], explain_opts[], set_opts[];

#endif /* ZS_CLI_H */
