// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the NetworkPolicy parser (policy/parse_k8s.c and the
 * rules it shares). The input is the rest of a networking.k8s.io/v1
 * NetworkPolicy document after its header, so every mutation lands in the
 * Kubernetes syntax's metadata and spec rather than in the header check.
 */
#include <errno.h>

#include "policy/parse.h"
#include "tests/fuzz/fuzz.h"

#define HEADER "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zs_objects o;
	struct zs_diags d = { 0 };
	char *s = fuzz_text(HEADER, data, size);

	zs_objects_init(&o);
	int err = zs_parse_buffer("fuzz.yaml", s, strlen(HEADER) + size, &o, &d);
	if ((err != 0 && err != -EINVAL) || (err && !d.msgs.n))
		abort();
	zs_diags_free(&d);
	zs_objects_free(&o);
	free(s);
	return 0;
}
