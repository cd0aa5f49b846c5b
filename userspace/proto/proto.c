// SPDX-License-Identifier: MIT
/* The verbs' wire names; see proto.h. */
#include "proto/proto.h"

#include <string.h>

static const char *const zs_verb_names[ZS_VERB_MAX] = {
	[ZS_VERB_APPLY] = "apply",     [ZS_VERB_DELETE] = "delete", [ZS_VERB_DIFF] = "diff",
	[ZS_VERB_GET] = "get",         [ZS_VERB_EXPLAIN] = "explain", [ZS_VERB_STATUS] = "status",
	[ZS_VERB_FLOWS] = "flows",     [ZS_VERB_SET] = "set",
};

const char *zs_verb_name(enum zs_verb v)
{
	return v > ZS_VERB_UNKNOWN && v < ZS_VERB_MAX ? zs_verb_names[v] : "unknown";
}

enum zs_verb zs_verb_parse(const char *name)
{
	if (!name)
		return ZS_VERB_UNKNOWN;
	for (int v = ZS_VERB_UNKNOWN + 1; v < ZS_VERB_MAX; v++)
		if (!strcmp(zs_verb_names[v], name))
			return (enum zs_verb)v;
	return ZS_VERB_UNKNOWN;
}
