// SPDX-License-Identifier: MIT
/* Objects -> native JSON; see serial.h. */
#include "policy/serial.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parse.h"

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case 6: return "TCP";
	case 17: return "UDP";
	case 132: return "SCTP";
	case 1: return "ICMP";
	case 58: return "ICMPv6";
	default: return "any";
	}
}

json_t *zs_labels_to_json(const zs_labels_t *l)
{
	json_t *o = json_object();

	for (size_t i = 0; i < l->n; i++)
		json_object_set_new(o, l->v[i].key, json_string(l->v[i].value));
	return o;
}

static json_t *selector_to_json(const struct zs_selector *s)
{
	static const char *const ops[] = { "In", "NotIn", "Exists", "DoesNotExist" };
	json_t *o = json_object(), *ex = json_array();

	for (size_t i = 0; i < s->n; i++) {
		const struct zs_requirement *r = &s->req[i];
		json_t *e = json_object(), *vals = json_array();
		json_object_set_new(e, "key", json_string(r->key));
		json_object_set_new(e, "operator", json_string(ops[r->op]));
		for (size_t j = 0; j < r->nvalues; j++)
			json_array_append_new(vals, json_string(r->values[j]));
		if (r->nvalues)
			json_object_set_new(e, "values", vals);
		else
			json_decref(vals);
		json_array_append_new(ex, e);
	}
	if (s->n)
		json_object_set_new(o, "matchExpressions", ex);
	else
		json_decref(ex);
	return o;
}

static json_t *meta(const char *name, const char *ns, const zs_labels_t *labels)
{
	json_t *m = json_object();

	json_object_set_new(m, "name", json_string(name));
	if (ns)
		json_object_set_new(m, "namespace", json_string(ns));
	if (labels && labels->n)
		json_object_set_new(m, "labels", zs_labels_to_json(labels));
	return m;
}

static json_t *header_of(const char *api, const char *kind, json_t *md)
{
	json_t *o = json_object();

	json_object_set_new(o, "apiVersion", json_string(api));
	json_object_set_new(o, "kind", json_string(kind));
	json_object_set_new(o, "metadata", md);
	return o;
}

static json_t *header(const char *kind, json_t *md)
{
	return header_of("zeroseg.io/v1", kind, md);
}

json_t *zs_workload_to_json(const struct zs_workload *w)
{
	json_t *o = header("Workload", meta(w->name, w->ns, &w->labels));
	json_t *spec = json_object(), *addrs = json_array();
	char buf[64];

	if (w->ifname)
		json_object_set_new(spec, "interface", json_string(w->ifname));
	if (w->shield)
		json_object_set_new(spec, "floodShield", json_true());
	for (size_t i = 0; i < w->naddrs; i++)
		json_array_append_new(addrs, json_string(zs_prefix_str(&w->addrs[i], buf, sizeof(buf))));
	json_object_set_new(spec, "addresses", addrs);
	if (w->nports) {
		json_t *ports = json_array();
		for (size_t i = 0; i < w->nports; i++)
			json_array_append_new(ports, json_pack("{s:s,s:i,s:s}", "name", w->ports[i].name,
							       "port", w->ports[i].port, "protocol",
							       proto_name(w->ports[i].proto)));
		json_object_set_new(spec, "ports", ports);
	}
	json_object_set_new(o, "spec", spec);
	return o;
}

static json_t *peer_to_json(const struct zs_peer *p, bool k8s)
{
	static const char *const ents[] = { NULL, "host", "world", "all" };
	json_t *o = json_object();
	char buf[64];

	if (k8s && p->has_cidr) {
		json_t *b = json_object();
		json_object_set_new(b, "cidr", json_string(zs_prefix_str(&p->cidr, buf, sizeof(buf))));
		if (p->nexcept) {
			json_t *ex = json_array();
			for (size_t i = 0; i < p->nexcept; i++)
				json_array_append_new(ex, json_string(zs_prefix_str(&p->except[i], buf, sizeof(buf))));
			json_object_set_new(b, "except", ex);
		}
		json_object_set_new(o, "ipBlock", b);
		return o;
	}
	if (p->has_selector)
		json_object_set_new(o, k8s ? "podSelector" : "selector", selector_to_json(&p->selector));
	if (p->has_ns_selector)
		json_object_set_new(o, "namespaceSelector", selector_to_json(&p->ns_selector));
	if (p->has_cidr) {
		json_object_set_new(o, "cidr", json_string(zs_prefix_str(&p->cidr, buf, sizeof(buf))));
		if (p->nexcept) {
			json_t *ex = json_array();
			for (size_t i = 0; i < p->nexcept; i++)
				json_array_append_new(ex, json_string(zs_prefix_str(&p->except[i], buf, sizeof(buf))));
			json_object_set_new(o, "except", ex);
		}
	}
	if (p->set)
		json_object_set_new(o, "addressSet", json_string(p->set));
	if (p->entity)
		json_object_set_new(o, "entity", json_string(ents[p->entity]));
	return o;
}

static json_t *port_to_json(const struct zs_port *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "protocol", json_string(proto_name(p->proto)));
	if (p->proto == 1 || p->proto == 58) {
		if (!p->any_port)
			json_object_set_new(o, "type", json_integer(p->port));
		if (p->icmp_code >= 0)
			json_object_set_new(o, "code", json_integer(p->icmp_code));
		return o;
	}
	if (p->name)
		json_object_set_new(o, "port", json_string(p->name));
	else if (!p->any_port) {
		json_object_set_new(o, "port", json_integer(p->port));
		if (p->end != p->port)
			json_object_set_new(o, "endPort", json_integer(p->end));
	}
	return o;
}

static json_t *rules_to_json(const struct zs_rule *r, size_t n, const char *peers_key, bool k8s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		if (!r[i].all_peers) {
			json_t *ps = json_array();
			for (size_t j = 0; j < r[i].npeers; j++)
				json_array_append_new(ps, peer_to_json(&r[i].peers[j], k8s));
			json_object_set_new(o, peers_key, ps);
		}
		if (!r[i].all_ports) {
			json_t *ps = json_array();
			for (size_t j = 0; j < r[i].nports; j++)
				json_array_append_new(ps, port_to_json(&r[i].ports[j]));
			json_object_set_new(o, "ports", ps);
		}
		if (r[i].action == ZS_ACTION_DENY)
			json_object_set_new(o, "action", json_string("deny"));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *networkpolicy_to_json(const struct zs_policy *p)
{
	json_t *o = header_of("networking.k8s.io/v1", "NetworkPolicy", meta(p->name, p->ns, NULL));
	json_t *spec = json_object(), *types = json_array();

	json_object_set_new(spec, "podSelector", selector_to_json(&p->selector));
	if (p->has_ingress)
		json_array_append_new(types, json_string("Ingress"));
	if (p->has_egress)
		json_array_append_new(types, json_string("Egress"));
	json_object_set_new(spec, "policyTypes", types);
	if (p->ningress)
		json_object_set_new(spec, "ingress", rules_to_json(p->ingress, p->ningress, "from", true));
	if (p->negress)
		json_object_set_new(spec, "egress", rules_to_json(p->egress, p->negress, "to", true));
	json_object_set_new(o, "spec", spec);
	return o;
}

json_t *zs_policy_to_json(const struct zs_policy *p)
{
	if (p->from_k8s)
		return networkpolicy_to_json(p);

	json_t *o = header("Policy", meta(p->name, p->ns, NULL));
	json_t *spec = json_object();

	json_object_set_new(spec, "selector", selector_to_json(&p->selector));
	if (p->mode == ZS_MODE_AUDIT)
		json_object_set_new(spec, "mode", json_string("audit"));
	if (p->has_ingress)
		json_object_set_new(spec, "ingress", rules_to_json(p->ingress, p->ningress, "from", false));
	if (p->has_egress)
		json_object_set_new(spec, "egress", rules_to_json(p->egress, p->negress, "to", false));
	json_object_set_new(o, "spec", spec);
	return o;
}

json_t *zs_namespace_to_json(const struct zs_namespace *n)
{
	return header("Namespace", meta(n->name, NULL, &n->labels));
}

json_t *zs_addrset_to_json(const struct zs_addrset *s)
{
	json_t *o = header("AddressSet", meta(s->name, NULL, NULL));
	json_t *list = json_array();
	char buf[64];

	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(list, json_string(zs_prefix_str(&s->members[i], buf, sizeof(buf))));
	json_object_set_new(o, "spec", json_pack("{s:o}", "prefixes", list));
	return o;
}

static int cmp_names(const char *ns1, const char *n1, const char *ns2, const char *n2)
{
	int r = strcmp(ns1 ? ns1 : "", ns2 ? ns2 : "");
	return r ? r : strcmp(n1, n2);
}

static int cmp_wl(const void *a, const void *b)
{
	const struct zs_workload *x = *(const struct zs_workload *const *)a;
	const struct zs_workload *y = *(const struct zs_workload *const *)b;
	return cmp_names(x->ns, x->name, y->ns, y->name);
}

static int cmp_po(const void *a, const void *b)
{
	const struct zs_policy *x = *(const struct zs_policy *const *)a;
	const struct zs_policy *y = *(const struct zs_policy *const *)b;
	return cmp_names(x->ns, x->name, y->ns, y->name);
}

static json_t *make_config(const void *obj)
{
	const struct zs_objects *o = obj;
	json_t *c = header("Config", meta("default", NULL, NULL));

	json_object_set_new(c, "spec", json_pack("{s:s}", "posture",
						 o->posture == ZS_POSTURE_KUBERNETES ? "kubernetes" : "deny"));
	return c;
}

static int cmp_set(const void *a, const void *b)
{
	const struct zs_addrset *x = *(const struct zs_addrset *const *)a;
	const struct zs_addrset *y = *(const struct zs_addrset *const *)b;
	return strcmp(x->name, y->name);
}

static json_t *make_ns(const void *o) { return zs_namespace_to_json(o); }
static json_t *make_set(const void *o) { return zs_addrset_to_json(o); }
static json_t *make_wl(const void *o) { return zs_workload_to_json(o); }
static json_t *make_po(const void *o) { return zs_policy_to_json(o); }

/* One object: how to make its JSON, and where its kept text lives (NULL: nowhere). */
typedef void objects_visit_fn(void *ctx, json_t *(*make)(const void *), const void *obj,
			      char **kept);

/*
 * Every object in the stable order the state file and `get` show: the
 * config, namespaces, address sets by name, then workloads and policies
 * sorted by namespace/name.
 */
static void objects_each(struct zs_objects *o, objects_visit_fn *visit, void *ctx)
{
	const void **tmp = zs_xcalloc(o->workloads.n + o->policies.n + o->sets.n + 1, sizeof(*tmp));

	if (o->has_config)
		visit(ctx, make_config, o, NULL);
	for (size_t i = 0; i < o->namespaces.n; i++)
		visit(ctx, make_ns, &o->namespaces.v[i], &o->namespaces.v[i].json);
	for (size_t i = 0; i < o->sets.n; i++)
		tmp[i] = &o->sets.v[i];
	zs_qsort(tmp, o->sets.n, sizeof(*tmp), cmp_set);
	for (size_t i = 0; i < o->sets.n; i++) {
		struct zs_addrset *s = (struct zs_addrset *)tmp[i];
		visit(ctx, make_set, s, &s->json);
	}
	for (size_t i = 0; i < o->workloads.n; i++)
		tmp[i] = &o->workloads.v[i];
	zs_qsort(tmp, o->workloads.n, sizeof(*tmp), cmp_wl);
	for (size_t i = 0; i < o->workloads.n; i++) {
		struct zs_workload *w = (struct zs_workload *)tmp[i];
		visit(ctx, make_wl, w, &w->json);
	}
	for (size_t i = 0; i < o->policies.n; i++)
		tmp[i] = &o->policies.v[i];
	zs_qsort(tmp, o->policies.n, sizeof(*tmp), cmp_po);
	for (size_t i = 0; i < o->policies.n; i++) {
		struct zs_policy *p = (struct zs_policy *)tmp[i];
		visit(ctx, make_po, p, &p->json);
	}
	free(tmp);
}

static void append_json(void *ctx, json_t *(*make)(const void *), const void *obj, char **kept)
{
	(void)kept;
	json_array_append_new(ctx, make(obj));
}

json_t *zs_objects_to_json(const struct zs_objects *o)
{
	json_t *a = json_array();

	/* Only reads: the kept texts are for zs_objects_state_json. */
	objects_each((struct zs_objects *)o, append_json, a);
	return a;
}

/* Appends len bytes to *out (size *len, capacity *cap). */
static void buf_put(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
	while (*len + n + 1 > *cap) {
		*cap = *cap ? *cap * 2 : 4096;
		*out = zs_xrealloc(*out, *cap, 1);
	}
	memcpy(*out + *len, s, n);
	*len += n;
	(*out)[*len] = '\0';
}

struct state_text {
	char *out;
	size_t len, cap;
	bool first, ok;
};

/* One array element: the object's kept text (made once, see `json` in model.h). */
/*
 * An AddressSet's state text, written directly: what json_dumps makes of
 * zs_addrset_to_json, without 100k json_t strings (94 ms at 100k members,
 * paid by every `set add`; this takes a few). Names are [a-z0-9.-] and
 * prefixes digits, dots and colons: nothing to escape.
 */
static char *addrset_text(const struct zs_addrset *s)
{
	static const char head[] = "{\"apiVersion\":\"zeroseg.io/v1\",\"kind\":\"AddressSet\","
				   "\"metadata\":{\"name\":\"";
	static const char mid[] = "\"},\"spec\":{\"prefixes\":[";
	char *out = NULL, buf[64];
	size_t len = 0, cap = 0;

	buf_put(&out, &len, &cap, head, strlen(head));
	buf_put(&out, &len, &cap, s->name, strlen(s->name));
	buf_put(&out, &len, &cap, mid, strlen(mid));
	for (size_t i = 0; i < s->n; i++) {
		const struct zs_prefix *p = &s->members[i];
		size_t n = 1;
		buf[0] = '"';
		zs_addr_str(p->family, p->addr, buf + 1, sizeof(buf) - 8);
		n += strlen(buf + 1);
		if (p->len != (p->family == 4 ? 32 : 128))
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "/%u", p->len);
		buf[n++] = '"';
		if (i)
			buf_put(&out, &len, &cap, ",", 1);
		buf_put(&out, &len, &cap, buf, n);
	}
	buf_put(&out, &len, &cap, "]}}", 3);
	return out;
}

static void append_text(void *ctx, json_t *(*make)(const void *), const void *obj, char **kept)
{
	struct state_text *st = ctx;
	char *made = NULL;
	const char *t = kept ? *kept : NULL;

	if (!t && make == make_set) {
		made = addrset_text(obj);
		t = made;
		if (kept) {
			*kept = made;
			made = NULL;
		}
	}
	if (!t) {
		json_t *v = make(obj);
		made = json_dumps(v, JSON_COMPACT);
		json_decref(v);
		t = made;
		if (kept) {
			*kept = made; /* the object keeps it */
			made = NULL;
		}
	}
	if (!t) {
		st->ok = false; /* no memory */
		return;
	}
	if (!st->first)
		buf_put(&st->out, &st->len, &st->cap, ",", 1);
	buf_put(&st->out, &st->len, &st->cap, t, strlen(t));
	st->first = false;
	free(made);
}

char *zs_objects_state_json(struct zs_objects *o)
{
	struct state_text st = { .first = true, .ok = true };

	buf_put(&st.out, &st.len, &st.cap, "[", 1);
	objects_each(o, append_text, &st);
	if (!st.ok) { /* an object could not be serialized: no partial state */
		free(st.out);
		return NULL;
	}
	buf_put(&st.out, &st.len, &st.cap, "]", 1);
	return st.out;
}

char *zs_objects_to_text(const struct zs_objects *o)
{
	json_t *a = zs_objects_to_json(o);
	char *out = zs_objects_json_to_text(a);

	json_decref(a);
	return out;
}

char *zs_objects_json_to_text(const json_t *a)
{
	const json_t *v;
	size_t i, len = 0, cap = 4096;
	char *out = zs_xcalloc(cap, 1);

	json_array_foreach(a, i, v)
	{
		char *s = json_dumps(v, JSON_COMPACT);
		size_t n = strlen(s);
		while (len + n + 8 >= cap) {
			cap *= 2;
			out = zs_xrealloc(out, cap, 1);
		}
		memcpy(out + len, "---\n", 4);
		len += 4;
		memcpy(out + len, s, n);
		len += n;
		out[len++] = '\n';
		out[len] = '\0';
		free(s);
	}
	return out;
}

int zs_objects_clone(const struct zs_objects *src, struct zs_objects *dst)
{
	char *text = zs_objects_to_text(src);
	struct zs_diags d = { 0 };
	int err;

	zs_objects_init(dst);
	err = zs_parse_buffer("<state>", text, strlen(text), dst, &d);
	if (err) {
		pr_warn("internal: state does not parse back:");
		zs_diags_print(&d, stderr);
	}
	zs_diags_free(&d);
	free(text);
	return err;
}
