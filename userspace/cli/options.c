// SPDX-License-Identifier: MIT
/*
 * The option tables at work: getopt_long's long-option array and short-option
 * string are generated from a command's table, each parsed value lands in the
 * command's options struct, and every usage line and --help text is written
 * from the same tables (names, argument names, help, defaults), so what the
 * help says and what the parser accepts cannot drift apart.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/util.h"

/* Text is wrapped to this many columns. */
#define CLI_COLS 80
/* Option names start no further right than this in --help. */
#define CLI_HELP_COL 32
/* Enough for the largest table (the daemon's). */
#define CLI_MAX_OPTS 32
/* getopt_long's value for an option without a short name: past any char. */
#define CLI_LONG_ONLY 256

static size_t count_opts(const struct cli_opt *opts)
{
	size_t n = 0;

	while (opts && opts[n].name)
		n++;
	return n;
}

/* ---- parsing -------------------------------------------------------------- */

static void build_getopt(const struct cli_opt *opts, size_t n, struct option *lo, char *shorts)
{
	for (size_t i = 0; i < n; i++) {
		lo[i] = (struct option){ opts[i].name, opts[i].arg ? required_argument : no_argument, NULL,
					 opts[i].short_name ? opts[i].short_name : CLI_LONG_ONLY + (int)i };
		if (opts[i].short_name) {
			*shorts++ = opts[i].short_name;
			if (opts[i].arg)
				*shorts++ = ':';
		}
	}
	lo[n] = (struct option){ 0 };
	*shorts = 0;
}

static const struct cli_opt *find_opt(const struct cli_opt *opts, size_t n, int c)
{
	if (c >= CLI_LONG_ONLY && (size_t)(c - CLI_LONG_ONLY) < n)
		return &opts[c - CLI_LONG_ONLY];
	for (size_t i = 0; i < n; i++)
		if (opts[i].short_name && opts[i].short_name == c)
			return &opts[i];
	return NULL;
}

int cli_number(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int store(const struct cli_opt *o, void *opts, const char *arg)
{
	char *field = (char *)opts + o->off;

	if (o->parse)
		return o->parse(opts, arg);
	switch (o->kind) {
	case CLI_FLAG:
		*(bool *)field = true;
		return 0;
	case CLI_STRING:
		*(const char **)field = arg;
		return 0;
	case CLI_UINT:
		if (cli_number(arg, o->min, o->max, (unsigned long *)field)) {
			fprintf(stderr, "zeroseg: %s: not a number in range\n", arg);
			return 2;
		}
		return 0;
	}
	return 2;
}

int cli_parse(const struct cli_cmd *cmd, int argc, char **argv, void *opts)
{
	size_t n = count_opts(cmd->opts);
	struct option lo[CLI_MAX_OPTS + 1];
	char shorts[2 * CLI_MAX_OPTS + 1];
	int c, rc;

	if (n > CLI_MAX_OPTS)
		abort(); /* a table grew past CLI_MAX_OPTS */
	build_getopt(cmd->opts, n, lo, shorts);
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		const struct cli_opt *o = find_opt(cmd->opts, n, c);
		if (!o)
			return cli_usage_err(cmd);
		rc = store(o, opts, optarg);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- text ----------------------------------------------------------------- */

/* A line being written: where it is, and where a wrapped line starts. */
struct line {
	FILE *f;
	int col, indent;
	bool empty; /* nothing on it since the last line break */
};

/* Puts `len` bytes of `item` on the line after a space, or on a new line if they do not fit. */
static void put_item(struct line *l, const char *item, size_t len)
{
	if (!l->empty && l->col + 1 + (int)len > CLI_COLS) {
		fprintf(l->f, "\n%*s", l->indent, "");
		l->col = l->indent;
	} else if (!l->empty) {
		fputc(' ', l->f);
		l->col++;
	}
	fprintf(l->f, "%.*s", (int)len, item);
	l->col += (int)len;
	l->empty = false;
}

/* Prints `text` from column `col`, word by word, wrapped at `indent`; a '\n' in it breaks the line. */
static void wrap(FILE *f, const char *text, int col, int indent)
{
	struct line l = { f, col, indent, true };

	while (*text) {
		size_t len = strcspn(text, " \n");
		put_item(&l, text, len);
		text += len;
		if (*text == '\n') {
			fprintf(f, "\n%*s", indent, "");
			l.col = indent;
			l.empty = true;
		}
		if (*text)
			text++;
	}
}

/* One option as the synopsis shows it: "-f FILE [-f ...]", "[--last N]", "[--uplink IF]...". */
static char *synopsis_item(const struct cli_opt *o)
{
	bool req = o->flags & CLI_REQUIRED, repeat = o->flags & CLI_REPEAT;
	char *name = o->short_name && !(o->flags & CLI_SYN_LONG) ? zs_xasprintf("-%c", o->short_name)
								 : zs_xasprintf("--%s", o->name);
	const char *arg = o->arg ? o->arg : "", *sp = o->arg ? " " : "";
	char *item;

	if (req && repeat)
		item = zs_xasprintf("%s%s%s [%s ...]", name, sp, arg, name);
	else if (req)
		item = zs_xasprintf("%s%s%s", name, sp, arg);
	else
		item = zs_xasprintf("[%s%s%s]%s", name, sp, arg, repeat ? "..." : "");
	free(name);
	return item;
}

static void put_str(struct line *l, const char *s)
{
	put_item(l, s, strlen(s));
}

/*
 * The command's synopsis from `col`, wrapped at `indent`: [--socket PATH] for
 * a client, then each form (positional arguments, then its options).
 */
static void synopsis(FILE *f, const struct cli_cmd *cmd, int col, int indent)
{
	struct line l = { f, col, indent, true };
	int forms = cmd->args[1] ? 2 : 1;

	for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
		if (o->flags & CLI_FORM2)
			forms = 2;
	if (cmd->client)
		put_str(&l, "[--socket PATH]");
	for (int form = 0; form < forms; form++) {
		if (form)
			put_str(&l, "|");
		put_str(&l, cmd->name);
		if (cmd->args[form])
			put_str(&l, cmd->args[form]);
		for (const struct cli_opt *o = cmd->opts; o && o->name; o++) {
			if (!!(o->flags & CLI_FORM2) != (form == 1))
				continue;
			char *item = synopsis_item(o);
			put_str(&l, item);
			free(item);
		}
	}
	fputc('\n', f);
}

int cli_usage_err(const struct cli_cmd *cmd)
{
	fputs("usage: zeroseg ", stderr);
	synopsis(stderr, cmd, 15, 15);
	return 2;
}

void cli_print_options(FILE *f, const struct cli_opt *opts)
{
	size_t n = count_opts(opts);
	char *left[CLI_MAX_OPTS];
	int width = 0;

	for (size_t i = 0; i < n && i < CLI_MAX_OPTS; i++) {
		const struct cli_opt *o = &opts[i];
		char sh[8] = "    ";
		if (o->short_name)
			snprintf(sh, sizeof(sh), "-%c, ", o->short_name);
		left[i] = zs_xasprintf("  %s--%s%s%s", sh, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		if ((int)strlen(left[i]) + 2 > width)
			width = (int)strlen(left[i]) + 2;
	}
	if (width > CLI_HELP_COL)
		width = CLI_HELP_COL;
	for (size_t i = 0; i < n && i < CLI_MAX_OPTS; i++) {
		const struct cli_opt *o = &opts[i];
		char *help = o->def ? zs_xasprintf("%s (default %s)", o->help, o->def)
			     : o->def_num ? zs_xasprintf("%s (default %llu)", o->help, o->def_num)
					  : zs_xstrdup(o->help);
		int len = (int)strlen(left[i]);
		fputs(left[i], f);
		if (len + 1 >= width)
			fprintf(f, "\n%*s", width, "");
		else
			fprintf(f, "%*s", width - len, "");
		wrap(f, help, width, width);
		fputc('\n', f);
		free(help);
		free(left[i]);
	}
}

void cli_help(FILE *f, const struct cli_cmd *cmd)
{
	fputs("usage: zeroseg ", f);
	synopsis(f, cmd, 15, 15);
	fputc('\n', f);
	wrap(f, cmd->help, 0, 0);
	fputc('\n', f);
	if (count_opts(cmd->opts)) {
		fputs("\noptions:\n", f);
		cli_print_options(f, cmd->opts);
	}
}

void cli_list_commands(FILE *f, const struct cli_cmd *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  %-8s ", cmds[i].name);
		synopsis(f, &cmds[i], 11, 13);
	}
}
