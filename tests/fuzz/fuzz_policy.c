// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the policy parser (native kinds, and any kind a file may
 * hold) on any bytes, then the checks across objects. Whatever the input,
 * it returns 0 or -EINVAL with diagnostics, within the bounds of parse.h.
 */
#include <errno.h>

#include "policy/parse.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zs_objects o;
	struct zs_diags d = { 0 };
	char *s = fuzz_text("", data, size);
	zs_refs_t refs = { 0 };

	zs_objects_init(&o);
	int err = zs_parse_buffer("fuzz.yaml", s, size, &o, &d);
	if (err != 0 && err != -EINVAL)
		abort();
	if (!err && zs_validate(&o, &d) != 0 && !d.msgs.n)
		abort(); /* a refusal always says why */
	if (err && !d.msgs.n)
		abort();
	zs_parse_refs("fuzz.yaml", s, size, &refs, &d);
	zs_refs_free(&refs);
	zs_diags_free(&d);
	zs_objects_free(&o);
	free(s);
	return 0;
}
