// SPDX-License-Identifier: MIT
/*
 * Why a flow would be allowed or denied; see explain.h. Ends are resolved
 * from the objects (a workload's address) or parsed as addresses, then
 * judged by zs_compiled_decide, the compiled state's emulation of the
 * datapath's decision.
 */
#include "policy/explain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/abi.h"

/* A workload ("ns/name" or "name" in default) or an address, as an address. */
static int resolve(const struct zs_objects *o, const char *what, uint8_t family,
		   struct zs_prefix *out, const struct zs_workload **wl)
{
	const char *slash = strchr(what, '/');
	char ns[256] = "default";
	const char *name = what;

	*wl = NULL;
	if (!zs_prefix_parse(what, out, false))
		return 0;
	if (slash) {
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - what), what);
		name = slash + 1;
	}
	for (size_t i = 0; i < o->workloads.n; i++) {
		const struct zs_workload *w = &o->workloads.v[i];
		if (strcmp(w->ns, ns) || strcmp(w->name, name))
			continue;
		*wl = w;
		for (size_t a = 0; a < w->naddrs; a++)
			if (!family || w->addrs[a].family == family) {
				*out = w->addrs[a];
				return 0;
			}
		return -EAFNOSUPPORT;
	}
	return -ENOENT;
}

static const char *verdict_name(uint8_t v)
{
	return v == ZS_VERDICT_ALLOW ? "allow" :
	       v == ZS_VERDICT_AUDIT ? "audit" :
	       v == ZS_VERDICT_DENY  ? "deny" :
				       "default-deny";
}

/* One side's check: who, the verdict, and the rule that decided or why none did. */
static json_t *side(const struct zs_compiled *c, const struct zs_c_check *k, const char *who)
{
	if (!k->checked)
		return json_pack("{s:b,s:s}", "checked", 0, "why",
				 "not a local workload: its own host checks this side");
	const struct zs_c_rule *r = k->rule_id ? zs_compiled_rule(c, k->rule_id) : NULL;
	json_t *o = json_pack("{s:b,s:s,s:s}", "checked", 1, "subject", who, "verdict",
			      verdict_name(k->verdict));
	if (r) {
		json_object_set_new(o, "policy", json_string(r->policy));
		json_object_set_new(o, "rule", json_integer(r->index));
		json_object_set_new(o, "action", json_string(r->action == ZS_ACTION_DENY ? "deny" : "allow"));
		if (r->mark.file && strcmp(r->mark.file, "<state>")) {
			char *at = zs_xasprintf("%s:%d:%d", r->mark.file, r->mark.line, r->mark.col);
			json_object_set_new(o, "source", json_string(at));
			free(at);
		}
	} else if (k->verdict == ZS_VERDICT_NONE) {
		json_object_set_new(o, "why", json_string("no rule allows it (default deny)"));
	} else {
		json_object_set_new(o, "why", json_string("posture default: no policy isolates this direction"));
	}
	return o;
}

/* One end: its address, identity, what it is, its policy CIDR, whether it is local. */
static json_t *end(const struct zs_identities *ids, const struct zs_prefix *a,
		   const struct zs_workload *w, const struct zs_c_peer *p)
{
	char buf[64];
	json_t *o = json_pack("{s:s,s:I}", "address", zs_prefix_str(a, buf, sizeof(buf)), "identity",
			      (json_int_t)p->identity);
	if (w) {
		char *n = zs_xasprintf("%s/%s", w->ns, w->name);
		json_object_set_new(o, "workload", json_string(n));
		free(n);
	} else if (p->entry && p->entry->workload) {
		json_object_set_new(o, "workload", json_string(p->entry->workload));
	} else {
		json_object_set_new(o, "entity", json_string(p->identity == ZS_ID_HOST ? "host" : "world"));
	}
	if (p->cidr) {
		const struct zs_identity *id = zs_identity_find(ids, p->cidr);
		json_object_set_new(o, "cidr", json_string(id && id->labels.n ? id->labels.v[0].value : "?"));
	}
	json_object_set_new(o, "local", json_boolean(p->local));
	return o;
}

int zs_explain(const struct zs_objects *o, const struct zs_identities *ids,
	       const struct zs_compiled *c, const struct zs_explain_query *q, json_t **out,
	       const char **which)
{
	const struct zs_workload *fw, *tw;
	struct zs_prefix src, dst;
	struct zs_c_decision cd;
	int err;

	/* Two workloads: pick a family both have (the first address of the source's). */
	err = resolve(o, q->from, 0, &src, &fw);
	*which = err == -ENOENT ? q->from : q->to;
	if (!err)
		err = resolve(o, q->to, src.family, &dst, &tw);
	if (!err && dst.family != src.family)
		err = -EAFNOSUPPORT;
	if (err)
		return err;
	zs_compiled_decide(c, &src, &dst, (uint8_t)q->proto, (uint16_t)q->port, &cd);
	*out = json_pack("{s:o,s:o,s:i,s:i,s:o,s:o,s:s}", "from", end(ids, &src, fw, &cd.src), "to",
			 end(ids, &dst, tw, &cd.dst), "protocol", q->proto, "port", q->port, "egress",
			 side(c, &cd.egress, fw ? q->from : "source"), "ingress",
			 side(c, &cd.ingress, tw ? q->to : "destination"), "verdict",
			 cd.verdict == ZS_VERDICT_ALLOW ? "allowed" :
			 cd.verdict == ZS_VERDICT_AUDIT ? "audit" :
							  "denied");
	return 0;
}
