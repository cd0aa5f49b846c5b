/* SPDX-License-Identifier: MIT */
/*
 * Why a flow would be allowed or denied: both ends as the datapath sees them
 * (address, identity, workload or entity, policy CIDR), each side's check
 * (the source's egress, the destination's ingress) with the rule that
 * decides and where it was written, and the verdict. Pure: the objects,
 * identities and compiled state in, JSON out; it asks the compiled state
 * the same question the datapath asks its maps (zs_compiled_decide).
 */
#ifndef ZS_EXPLAIN_H
#define ZS_EXPLAIN_H

#include <jansson.h>

#include "policy/compile.h"

struct zs_explain_query {
	const char *from; /* "ns/name", "name" (namespace default), or an address */
	const char *to;
	int proto;        /* IP protocol number */
	int port;         /* destination port, or ICMP type << 8 | code */
};

/*
 * 0 and *out:
 *   {"from": END, "to": END, "protocol", "port",
 *    "egress": SIDE, "ingress": SIDE, "verdict": "allowed" | "audit" | "denied"}
 * END: {"address", "identity", "workload" | "entity", "cidr"?, "local"}
 * SIDE: {"checked": false, "why"} for an end that is no local workload, else
 *   {"checked", "subject", "verdict", "policy", "rule", "action", "source"?}
 *   or, no rule deciding, {"checked", "subject", "verdict", "why"}.
 * Two workloads are compared in a family both have (the source's first
 * address's). Errors, with *which the end the message names:
 * -ENOENT (no such workload or address) or -EAFNOSUPPORT (the two ends
 * have no address family in common).
 */
int zs_explain(const struct zs_objects *o, const struct zs_identities *ids,
	       const struct zs_compiled *c, const struct zs_explain_query *q, json_t **out,
	       const char **which);

#endif /* ZS_EXPLAIN_H */
