/* SPDX-License-Identifier: MIT */
/*
 * The control protocol between the daemon and its clients (the CLI, and any
 * future client such as a CNI plugin), defined once.
 *
 * A client connects to the daemon's Unix socket, sends one JSON object and
 * shuts down its writing side; the daemon answers with JSON lines (one
 * answer, or a stream for `flows --follow`) and closes. Every request names
 * its verb in ZS_K_VERB; every answer carries ZS_K_OK and, when it failed,
 * ZS_K_ERRORS (a list of strings a person reads).
 */
#ifndef ZS_PROTO_H
#define ZS_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#define ZS_DEFAULT_SOCKET "/run/zeroseg/zeroseg.sock"
/*
 * The largest request the daemon reads: four policy files at the parser's
 * 16 MiB bound (ZS_MAX_POLICY_BYTES). Reading, decoding and parsing a
 * request peaks at several times its size, so this bounds the daemon's
 * memory per client (a 250 MB request once peaked at 1.48 GB).
 */
#ifndef ZS_MAX_REQUEST
#define ZS_MAX_REQUEST (64u << 20)
#endif
/* The time a client has to send its whole request, and to take its answer. */
#ifndef ZS_REQUEST_TIMEOUT_MS
#define ZS_REQUEST_TIMEOUT_MS 5000
#endif
/* Clients served at once; more are refused with an answer saying so. */
#ifndef ZS_MAX_CLIENTS
#define ZS_MAX_CLIENTS 64
#endif

/* The verbs; their wire names are in zs_verb_names (proto.c). */
enum zs_verb {
	ZS_VERB_UNKNOWN = 0,
	ZS_VERB_APPLY,   /* files -> revision */
	ZS_VERB_DELETE,  /* files, or kind + namespace + name -> revision */
	ZS_VERB_DIFF,    /* files -> object and map-entry changes */
	ZS_VERB_GET,     /* what -> objects */
	ZS_VERB_EXPLAIN, /* from, to, proto, port -> both sides' decisions */
	ZS_VERB_STATUS,  /* -> the daemon's state and counters */
	ZS_VERB_FLOWS,   /* follow, last -> flow records, streamed */
	ZS_VERB_SET,     /* name, op, prefixes, files -> revision, added, removed, members */
	ZS_VERB_MAX,
};

/* Keys of requests and answers. */
#define ZS_K_VERB "cmd"
#define ZS_K_OK "ok"
#define ZS_K_ERRORS "errors"
#define ZS_K_FILES "files"     /* [{name, content}] */
#define ZS_K_FILE_NAME "name"
#define ZS_K_FILE_CONTENT "content"
#define ZS_K_KIND "kind"
#define ZS_K_NAMESPACE "namespace"
#define ZS_K_NAME "name"
#define ZS_K_WHAT "what"
#define ZS_K_FROM "from"
#define ZS_K_TO "to"
#define ZS_K_PROTO "proto"
#define ZS_K_PORT "port"
#define ZS_K_FOLLOW "follow"
#define ZS_K_LAST "last"
#define ZS_K_REVISION "revision"
/* The last line of a stream the daemon ends itself: {ok: true, end: true} (records carry no ok). */
#define ZS_K_END "end"
#define ZS_K_UNCHANGED "unchanged" /* an apply that changed nothing: the revision stays */
/* set: ZS_K_NAME, ZS_K_OP, ZS_K_PREFIXES (the command line's) and ZS_K_FILES (prefix lists). */
#define ZS_K_OP "op"             /* ZS_SET_ADD, ZS_SET_REMOVE or ZS_SET_REPLACE */
#define ZS_SET_ADD "add"
#define ZS_SET_REMOVE "remove"
#define ZS_SET_REPLACE "replace" /* the request's members, and no others (a feed's sync) */
#define ZS_K_PREFIXES "prefixes" /* [string] */
#define ZS_K_ALLOW_EMPTY "allow_empty" /* set replace: true lets it empty the set */
#define ZS_K_ADDED "added"       /* set's answer: members added, removed, held now */
#define ZS_K_REMOVED "removed"
#define ZS_K_MEMBERS "members"   /* also get's: true lists every member of a set */

const char *zs_verb_name(enum zs_verb v);
/* ZS_VERB_UNKNOWN for NULL or a name no verb has. */
enum zs_verb zs_verb_parse(const char *name);

#endif /* ZS_PROTO_H */
