// SPDX-License-Identifier: MIT
/*
 * What every client command does the same way: send its request to the
 * daemon (proto/client.h) and say so in one sentence when the daemon cannot
 * be reached; print an answer's errors; and the small pieces of the tables
 * and documents the commands print (labels, indented JSON, fields).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "proto/client.h"
#include "proto/proto.h"

const char *cli_socket = ZS_DEFAULT_SOCKET;

int cli_request(json_t *req, cli_line_fn line, void *arg)
{
	enum zs_client_stage stage;
	int rc = zs_client_request(cli_socket, req, line, arg, &stage);

	if (rc < 0) {
		if (stage == ZS_CLIENT_ANSWER) {
			fprintf(stderr, "zeroseg: no answer from the daemon\n");
			return 1;
		}
		if (stage == ZS_CLIENT_CONNECT)
			fprintf(stderr, "zeroseg: cannot reach the daemon at %s: %s\n", cli_socket,
				strerror(-rc));
		else
			fprintf(stderr, "zeroseg: sending to the daemon: %s\n", strerror(-rc));
		return 2;
	}
	return rc;
}

bool cli_ok(json_t *msg)
{
	return json_is_true(json_object_get(msg, ZS_K_OK));
}

int cli_print_errors(json_t *msg)
{
	json_t *errs = json_object_get(msg, ZS_K_ERRORS), *e;
	size_t i;

	json_array_foreach(errs, i, e)
		fprintf(stderr, "%s\n", json_string_value(e));
	return 1;
}

const char *cli_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

long long cli_int(json_t *obj, const char *key)
{
	return (long long)json_integer_value(json_object_get(obj, key));
}

void cli_print_labels(json_t *labels)
{
	const char *k;
	json_t *v;
	bool first = true;

	json_object_foreach(labels, k, v)
	{
		printf("%s%s=%s", first ? "" : ",", k, json_string_value(v));
		first = false;
	}
	if (first)
		printf("-");
}

void cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2));

	printf("%s\n", s);
	free(s);
}
