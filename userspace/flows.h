/* SPDX-License-Identifier: MIT */
/*
 * Flow events from the datapath -> flow records (JSON objects), named with
 * what the controller knows: workloads, identities, the rule that decided.
 */
#ifndef ZS_FLOWS_H
#define ZS_FLOWS_H

#include <jansson.h>

#include "../bpf/abi.h"
#include "compile.h"
#include "identity.h"

const char *zs_reason_name(unsigned reason);
const char *zs_verdict_name(unsigned verdict);
const char *zs_proto_name(unsigned proto);

/* `realtime_ns` is the event time on the wall clock. */
json_t *zs_flow_record(const struct zs_flow_event *ev, uint64_t realtime_ns,
		       const struct zs_compiled *c, const struct zs_identities *ids);

/* One line for people: time verdict src -> dst proto/port policy. */
void zs_flow_print_compact(FILE *f, json_t *rec);

#endif /* ZS_FLOWS_H */
