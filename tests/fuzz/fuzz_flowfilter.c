// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the flow-filter parser (telemetry/flowfilter.c). The
 * input is lines: --from, --to, --since, then a flow record (JSON) the
 * filter is matched against, as `zeroseg flows` does with what it is given.
 */
#include <errno.h>
#include <jansson.h>

#include "telemetry/flowfilter.h"
#include "tests/fuzz/fuzz.h"

/* The next line of `*s` (NUL-terminated in place), or "" at the end. */
static char *next_line(char **s)
{
	char *line = *s, *nl = strchr(line, '\n');

	if (nl) {
		*nl = '\0';
		*s = nl + 1;
	} else {
		*s = line + strlen(line);
	}
	return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text("", data, size), *s = text;
	struct zs_flow_filter f;

	zs_flow_filter_init(&f);
	const char *from = next_line(&s), *to = next_line(&s), *since = next_line(&s);
	int e1 = zs_end_match_parse(&f.from, from), e2 = zs_end_match_parse(&f.to, to);
	int e3 = zs_flow_filter_since(&f, since, 1700000000ull * 1000000000ull);
	if ((e1 && e1 != -EINVAL) || (e2 && e2 != -EINVAL) || (e3 && e3 != -EINVAL))
		abort();
	json_t *rec = json_loads(s, 0, NULL);
	if (rec) {
		f.port = json_integer_value(json_object_get(rec, "filter_port")) ?: -1;
		zs_flow_filter_match(&f, rec);
		json_decref(rec);
	}
	zs_flow_filter_free(&f);
	free(text);
	return 0;
}
