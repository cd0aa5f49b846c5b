// SPDX-License-Identifier: MIT
/*
 * The bounds of parse.h, checked before a document tree is built: one pass
 * over libyaml's event stream (no tree, constant memory but for the
 * anchors) counts nesting depth, nodes, and what each alias expands to.
 * libyaml's loader shares an anchored node between its aliases, so every
 * walk of the tree visits it once per alias: without this pass a file of a
 * few KB (a "billion laughs") costs billions of visits, a recursive alias
 * never ends, and deep nesting costs time quadratic in the depth. The pass
 * stops at the first event past a bound, so a refusal costs work bounded
 * by the limits, not by the input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parse_int.h"

struct anchor {
	char *name;
	uint64_t size; /* nodes it expands to; 0 while it is still open */
};

/* A list or mapping being read: nodes so far (itself included), its anchor or -1. */
struct frame {
	uint64_t nodes;
	int anchor;
};

struct bounds {
	const char *file;
	struct zs_diags *d;
	struct frame stack[ZS_MAX_DEPTH];
	int depth;
	struct anchor anchors[ZS_MAX_ANCHORS];
	int n_anchors;
	uint64_t nodes, alias_nodes; /* in the whole file */
};

static int refuse(struct bounds *b, const yaml_event_t *ev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct bounds *b, const yaml_event_t *ev, const char *fmt, ...)
{
	struct zs_mark m = { .file = b->file, .line = (int)ev->start_mark.line + 1,
			     .col = (int)ev->start_mark.column + 1 };
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	zs_diag(b->d, &m, "%s", msg);
	return -E2BIG;
}

static void anchors_reset(struct bounds *b)
{
	for (int i = 0; i < b->n_anchors; i++)
		free(b->anchors[i].name);
	b->n_anchors = 0;
}

/* The latest anchor of that name (YAML lets a later one replace it), or NULL. */
static struct anchor *anchor_find(struct bounds *b, const char *name)
{
	for (int i = b->n_anchors - 1; i >= 0; i--)
		if (!strcmp(b->anchors[i].name, name))
			return &b->anchors[i];
	return NULL;
}

/* Records an anchor: its index, -1 if `name` is NULL (no anchor), or -E2BIG after a refusal. */
static int anchor_add(struct bounds *b, const yaml_event_t *ev, const unsigned char *name,
		      uint64_t size)
{
	if (!name)
		return -1;
	if (b->n_anchors >= ZS_MAX_ANCHORS)
		return refuse(b, ev, "more than %d anchors in one document", ZS_MAX_ANCHORS);
	b->anchors[b->n_anchors] = (struct anchor){ zs_xstrdup((const char *)name), size };
	return b->n_anchors++;
}

/* Counts `n` more nodes, in the open list or mapping and in the file. */
static int count(struct bounds *b, const yaml_event_t *ev, uint64_t n)
{
	if (b->depth)
		b->stack[b->depth - 1].nodes += n;
	b->nodes += n;
	if (b->nodes > ZS_MAX_NODES)
		return refuse(b, ev, "more than %u nodes in one file", (unsigned)ZS_MAX_NODES);
	return 0;
}

static int on_alias(struct bounds *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct anchor *a = anchor_find(b, name);

	if (!a)
		return 0; /* the loader reports the undefined alias */
	if (!a->size)
		return refuse(b, ev, "alias *%.*s is inside the node it refers to", ZS_MAX_QUOTE, name);
	b->alias_nodes += a->size;
	if (b->alias_nodes > ZS_MAX_ALIAS_NODES)
		return refuse(b, ev, "aliases expand to more than %d nodes in one file (at *%.*s)",
			      ZS_MAX_ALIAS_NODES, ZS_MAX_QUOTE, name);
	return count(b, ev, a->size);
}

static int on_open(struct bounds *b, const yaml_event_t *ev, const unsigned char *anchor)
{
	int err;

	if (b->depth >= ZS_MAX_DEPTH)
		return refuse(b, ev, "nested deeper than %d levels", ZS_MAX_DEPTH);
	if ((err = count(b, ev, 1)))
		return err;
	int a = anchor_add(b, ev, anchor, 0);
	if (a < -1)
		return a;
	b->stack[b->depth++] = (struct frame){ .nodes = 1, .anchor = a };
	return 0;
}

static void on_close(struct bounds *b)
{
	struct frame f = b->stack[--b->depth];

	if (f.anchor >= 0)
		b->anchors[f.anchor].size = f.nodes;
	if (b->depth)
		b->stack[b->depth - 1].nodes += f.nodes - 1; /* the 1 was counted at open */
}

/* One event; 1 at the end of the stream, 0 to go on, or -E2BIG after a refusal. */
static int on_event(struct bounds *b, const yaml_event_t *ev)
{
	int err;

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		anchors_reset(b);
		return 0;
	case YAML_SCALAR_EVENT:
		if ((err = count(b, ev, 1)))
			return err;
		return anchor_add(b, ev, ev->data.scalar.anchor, 1) < -1 ? -E2BIG : 0;
	case YAML_SEQUENCE_START_EVENT:
		return on_open(b, ev, ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return on_open(b, ev, ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth)
			on_close(b);
		return 0;
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	default:
		return 0;
	}
}

int zs_yaml_bounds(const char *file, const char *buf, size_t len, struct zs_diags *d)
{
	struct bounds *b = zs_xcalloc(1, sizeof(*b));
	yaml_parser_t parser;
	int err = 0;

	b->file = file;
	b->d = d;
	if (len > ZS_MAX_POLICY_BYTES) {
		struct zs_mark m = { .file = file, .line = 1, .col = 1 };
		zs_diag(d, &m, "%zu bytes, more than the limit of %u", len, (unsigned)ZS_MAX_POLICY_BYTES);
		free(b);
		return -E2BIG;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(b);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!err) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			err = zs_yaml_syntax_err(&parser, file, buf, len, d);
			break;
		}
		err = on_event(b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	anchors_reset(b);
	free(b);
	return err < 0 ? err : 0;
}
