// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the control protocol's request decoding, as the daemon
 * does it (daemon/control.c reads one JSON object; daemon/handlers.c picks
 * the verb and reads its keys): JSON -> verb -> keys, and the policy files of
 * apply, diff and delete through the parser. Any bytes from a client decode
 * to a request or to an error, never to a crash.
 */
#include <errno.h>
#include <jansson.h>

#include "policy/parse.h"
#include "proto/proto.h"
#include "tests/fuzz/fuzz.h"

/* The files of a request, parsed as apply/diff (objects) or delete (refs) parse them. */
static void decode_files(json_t *files, bool refs_only)
{
	struct zs_objects o;
	struct zs_diags d = { 0 };
	zs_refs_t refs = { 0 };
	json_t *f;
	size_t i;

	zs_objects_init(&o);
	json_array_foreach(files, i, f)
	{
		const char *name = json_string_value(json_object_get(f, ZS_K_FILE_NAME)) ?: "<input>";
		const char *content = json_string_value(json_object_get(f, ZS_K_FILE_CONTENT)) ?: "";
		if (refs_only)
			zs_parse_refs(name, content, strlen(content), &refs, &d);
		else
			zs_parse_buffer(name, content, strlen(content), &o, &d);
	}
	zs_refs_free(&refs);
	zs_diags_free(&d);
	zs_objects_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *req = json_loadb((const char *)data, size, 0, &jerr);

	if (!req)
		return 0;
	enum zs_verb v = zs_verb_parse(json_string_value(json_object_get(req, ZS_K_VERB)));
	if (v < ZS_VERB_UNKNOWN || v >= ZS_VERB_MAX)
		abort();
	if (v != ZS_VERB_UNKNOWN && strcmp(zs_verb_name(v), json_string_value(json_object_get(req, ZS_K_VERB))))
		abort();
	json_t *files = json_object_get(req, ZS_K_FILES);
	switch (v) {
	case ZS_VERB_APPLY:
	case ZS_VERB_DIFF:
		decode_files(files, false);
		break;
	case ZS_VERB_DELETE:
		decode_files(files, true);
		(void)json_string_value(json_object_get(req, ZS_K_KIND));
		(void)json_string_value(json_object_get(req, ZS_K_NAMESPACE));
		(void)json_string_value(json_object_get(req, ZS_K_NAME));
		break;
	case ZS_VERB_EXPLAIN:
		(void)json_string_value(json_object_get(req, ZS_K_FROM));
		(void)json_string_value(json_object_get(req, ZS_K_TO));
		(void)json_integer_value(json_object_get(req, ZS_K_PROTO));
		(void)json_integer_value(json_object_get(req, ZS_K_PORT));
		break;
	case ZS_VERB_FLOWS:
		(void)json_integer_value(json_object_get(req, ZS_K_LAST));
		(void)json_is_true(json_object_get(req, ZS_K_FOLLOW));
		break;
	default:
		break;
	}
	json_decref(req);
	return 0;
}
