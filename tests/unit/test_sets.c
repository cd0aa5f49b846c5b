// SPDX-License-Identifier: MIT
/*
 * AddressSets and CIDR membership classes (issue 13; docs/DESIGN-NOTES.md,
 * "CIDR identities"): the kind and its errors (file:line:col), prefix lists
 * (file:line), the classes of nested and overlapping sets, inline CIDRs and
 * excepts against the reference evaluator (reference.h) over random
 * estates, one identity and one policy entry per subject and rule for a
 * 100k-member blocklist compiled in well under a second, a new member of an
 * existing class costing one ipcache entry and nothing else, and inline
 * CIDRs keeping their identities (keys) as before sets.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "reference.h"
#include "daemon/sets.h"
#include "proto/proto.h"
#include "policy/compile.h"
#include "policy/diff.h"
#include "policy/explain.h"
#include "policy/parse.h"
#include "tests/lib/fixture.h"

#define TCP 6

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The CIDR identity the ipcache gives an address (0: in no policy prefix). */
static uint32_t cidr_of(const struct zs_compiled *c, const char *addr)
{
	struct zs_prefix a;
	struct zs_c_peer p;

	assert_int_equal(zs_prefix_parse(addr, &a, false), 0);
	zs_compiled_peer(c, &a, &p);
	return p.cidr;
}

static uint8_t verdict(const struct zs_compiled *c, const char *src, const char *dst)
{
	struct zs_prefix s, d;
	struct zs_c_decision out;

	assert_int_equal(zs_prefix_parse(src, &s, false), 0);
	assert_int_equal(zs_prefix_parse(dst, &d, false), 0);
	zs_compiled_decide(c, &s, &d, TCP, 80, &out);
	return out.verdict;
}

static bool has_error(const struct zs_diags *d, const char *text)
{
	for (size_t i = 0; i < d->msgs.n; i++)
		if (strstr(d->msgs.v[i], text))
			return true;
	return false;
}

static void print_diags(const struct zs_diags *d)
{
	for (size_t i = 0; i < d->msgs.n; i++)
		printf("  %s\n", d->msgs.v[i]);
}

/* ---- the kind, the peer, prefix lists: errors with positions ------------- */

static void test_parse_set(void **state)
{
	struct fx_parsed *t = *state;
	const char *y = "apiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: tor}\n"
			"spec:\n  prefixes:\n    - 203.0.113.9\n    - 2001:db8::/48\n"
			"    - 198.51.100.0/24\n    - 203.0.113.9/32\n";

	assert_int_equal(zs_parse_buffer("s.yaml", y, strlen(y), &t->o, &t->d), 0);
	assert_int_equal(t->o.sets.n, 1);
	assert_string_equal(t->o.sets.v[0].name, "tor");
	assert_int_equal(t->o.sets.v[0].n, 3); /* sorted, the duplicate once */
	assert_int_equal(t->o.sets.v[0].members[0].family, 4);
	assert_int_equal(t->o.sets.v[0].members[2].family, 6);
}

static void test_parse_set_errors(void **state)
{
	struct fx_parsed *t = *state;
	const char *y = "apiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: tor}\n"
			"spec:\n  prefixes:\n    - 203.0.113.9\n    - 10.1.2.3/8\n    - nonsense\n"
			"---\napiVersion: zeroseg.io/v1\nkind: AddressSet\n"
			"metadata: {name: x, namespace: a}\nspec: {prefixes: []}\n"
			"---\napiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p}\n"
			"spec:\n  selector: {}\n  egress:\n    - to: [{addressSet: tor, cidr: 10.0.0.0/8}]\n"
			"    - to: [{addressSet: Bad_Name}]\n";

	assert_int_equal(zs_parse_buffer("s.yaml", y, strlen(y), &t->o, &t->d), -EINVAL);
	print_diags(&t->d);
	assert_true(has_error(&t->d, "s.yaml:7:7: prefix: \"10.1.2.3/8\" has host bits set"));
	assert_true(has_error(&t->d, "s.yaml:8:7: prefix: \"nonsense\" is not an address"));
	assert_true(has_error(&t->d, "s.yaml:12:32: metadata.namespace: this kind is not namespaced"));
	assert_true(has_error(&t->d, "s.yaml:21:25: peer: addressSet stands alone"));
	assert_true(has_error(&t->d, "s.yaml:22:25: addressSet: \"Bad_Name\""));
	assert_int_equal(t->o.sets.n, 0); /* nothing of a bad batch is kept */
	assert_int_equal(t->o.policies.n, 0);
}

static void test_prefix_list(void **state)
{
	zs_prefixes_t out = { 0 };
	struct zs_diags d = { 0 };
	const char *good = "# feed of 2026-12-01\n\n  10.0.0.1  # a host\n2001:db8::/32\r\n10.9.0.0/16";
	const char *bad = "10.0.0.1\n10.0.0.0/33\n\n  bogus # why\n10.0.0.1 10.0.0.2\n";
	(void)state;

	assert_int_equal(zs_parse_prefix_list("feed.txt", good, strlen(good), &out, &d), 0);
	assert_int_equal(out.n, 3);
	assert_int_equal(out.v[1].family, 6);
	assert_int_equal(out.v[2].len, 16);
	assert_int_equal(zs_parse_prefix_list("bad.txt", bad, strlen(bad), &out, &d), -EINVAL);
	print_diags(&d);
	assert_int_equal(out.n, 3); /* as it was */
	assert_true(has_error(&d, "bad.txt:2:1: prefix: \"10.0.0.0/33\""));
	assert_true(has_error(&d, "bad.txt:4:3: prefix: \"bogus\""));
	assert_true(has_error(&d, "bad.txt:5:1: prefix list: \"10.0.0.1 10.0.0.2\": one address"));
	assert_int_equal(d.msgs.n, 3);
	free(out.v);
	zs_diags_free(&d);
}

static const char *const subject =
	"apiVersion: zeroseg.io/v1\nkind: Workload\nmetadata: {name: web, labels: {app: web}}\n"
	"spec: {interface: if-web, addresses: [10.0.0.1]}\n---\n";

static void test_unknown_set_is_an_error(void **state)
{
	struct fx_estate e = { 0 };
	struct zs_diags d = { 0 };
	struct zs_compiled c;
	char *y = zs_xasprintf("%sapiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p}\n"
			       "spec:\n  selector: {}\n  egress:\n    - to: [{addressSet: nope}]\n"
			       "      action: deny\n", subject);
	(void)state;

	zs_objects_init(&e.o);
	assert_int_equal(fx_estate_load(&e, y), 0);
	assert_int_equal(zs_compile(&e.o, &e.ids, &c, &d), -EINVAL);
	print_diags(&d);
	assert_true(has_error(&d, "t.yaml:12:12: peer: no AddressSet \"nope\""));
	zs_diags_free(&d);
	fx_estate_free(&e);
	free(y);
}

/* ---- classes ----------------------------------------------------------------- */

/*
 * Sets S = {10.0.0.0/8, 10.1.2.3}, T = {10.1.0.0/16, 10.1.2.3}, and the
 * inline peer 10.1.2.0/24 except 10.1.2.128/25: web may reach S, is denied
 * T, and may reach the inline peer.
 */
static const char *const nested =
	"apiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: s}\n"
	"spec: {prefixes: [10.0.0.0/8, 10.1.2.3]}\n---\n"
	"apiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: t}\n"
	"spec: {prefixes: [10.1.0.0/16, 10.1.2.3]}\n---\n"
	"apiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: unused}\n"
	"spec: {prefixes: [172.16.0.0/12]}\n---\n"
	"apiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p}\n"
	"spec:\n  selector: {matchLabels: {app: web}}\n  egress:\n"
	"    - to: [{addressSet: s}]\n"
	"    - to: [{addressSet: t}]\n      action: deny\n"
	"    - to: [{cidr: 10.1.2.0/24, except: [10.1.2.128/25]}]\n";

static void test_nested_classes(void **state)
{
	struct fx_estate e = { 0 };
	char *y = zs_xasprintf("%s%s", subject, nested);
	(void)state;

	assert_int_equal(fx_estate_init(&e, y), 0);
	/* Classes: {s} (10/8), {s,t} (10.1/16), {s,t,C} (10.1.2/24), {s,t,C,E}
	 * (10.1.2.128/25); 10.1.2.3 is in {s,t,C} too (no new class). */
	uint32_t s = cidr_of(&e.c, "10.9.9.9"), st = cidr_of(&e.c, "10.1.9.9");
	uint32_t stc = cidr_of(&e.c, "10.1.2.9"), stce = cidr_of(&e.c, "10.1.2.200");
	assert_true(s >= ZS_ID_FIRST_CIDR && st >= ZS_ID_FIRST_CIDR);
	assert_true(s != st && st != stc && stc != stce && s != stc && s != stce && st != stce);
	assert_int_equal(cidr_of(&e.c, "10.1.2.3"), stc);
	assert_int_equal(cidr_of(&e.c, "10.0.0.1"), s); /* web's own address, inside s */
	assert_int_equal(cidr_of(&e.c, "172.16.0.1"), 0); /* an unused set: nothing */
	assert_int_equal(cidr_of(&e.c, "11.0.0.1"), 0);
	/* 4 classes: 4 CIDR identities, with readable keys. */
	size_t n = 0;
	for (size_t i = 0; i < e.ids.v.n; i++)
		n += e.ids.v.v[i].id >= ZS_ID_FIRST_CIDR;
	assert_int_equal(n, 4);
	const struct zs_identity *id = zs_identity_find(&e.ids, stce);
	assert_non_null(id);
	assert_string_equal(zs_labels_get(&id->labels, ZS_CIDR_LABEL),
			    "10.1.2.128/25 + set:s + set:t");
	assert_string_equal(zs_labels_get(&zs_identity_find(&e.ids, s)->labels, ZS_CIDR_LABEL),
			    "set:s");
	assert_int_equal(verdict(&e.c, "10.0.0.1", "10.9.9.9"), ZS_VERDICT_ALLOW);
	assert_int_equal(verdict(&e.c, "10.0.0.1", "10.1.9.9"), ZS_VERDICT_DENY);
	assert_int_equal(verdict(&e.c, "10.0.0.1", "10.1.2.3"), ZS_VERDICT_DENY);
	assert_int_equal(verdict(&e.c, "10.0.0.1", "11.1.2.3"), ZS_VERDICT_DENY);
	fx_estate_free(&e);
	free(y);
}

/* Without sets an inline prefix's class is keyed by the prefix: the identities of before. */
static void test_inline_keys_unchanged(void **state)
{
	struct fx_estate e = { 0 };
	char *y = zs_xasprintf("%sapiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p}\n"
			       "spec:\n  selector: {}\n  egress:\n"
			       "    - to: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]\n"
			       "    - to: [{cidr: \"fd00::/64\"}]\n", subject);
	(void)state;

	assert_int_equal(fx_estate_init(&e, y), 0);
	struct zs_prefix p[3];
	uint32_t want[3];
	zs_prefix_parse("10.0.0.0/8", &p[0], true);
	zs_prefix_parse("10.1.0.0/16", &p[1], true);
	zs_prefix_parse("fd00::/64", &p[2], true);
	struct zs_identities fresh = { 0 };
	zs_identity_get_cidrs(&fresh, p, sizeof(p[0]), 3, want);
	assert_int_equal(cidr_of(&e.c, "10.9.0.1"), want[0]);
	assert_int_equal(cidr_of(&e.c, "10.1.0.1"), want[1]);
	assert_int_equal(cidr_of(&e.c, "fd00::9"), want[2]);
	zs_identities_free(&fresh);
	fx_estate_free(&e);
	free(y);
}

/* ---- the blocklist at 100k ------------------------------------------------- */

/* web denied n members of set bad (11.128.0.0 + 3 i) and allowed 11.0.0.0/8. */
static char *blocklist(size_t n, const char *extra)
{
	struct fx_text t;

	fx_text_open(&t);
	fx_printf(&t, "%sapiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p}\n"
		      "spec:\n  selector: {}\n  ingress:\n    - from: [{addressSet: bad}]\n"
		      "      action: deny\n    - from: [{cidr: 11.0.0.0/8}]\n"
		      "---\napiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: bad}\n"
		      "spec:\n  prefixes:\n", subject);
	for (size_t i = 0; i < n; i++) {
		uint32_t a = (11u << 24 | 128u << 16) + 3 * (uint32_t)((i * 7919) % n);
		fx_printf(&t, "    - %u.%u.%u.%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	}
	if (extra)
		fx_printf(&t, "%s", extra);
	fx_text_close(&t);
	return t.s;
}

static void test_blocklist_100k_one_class(void **state)
{
	struct zs_objects o;
	struct zs_identities ids = { 0 };
	struct zs_compiled c = { 0 }, one = { 0 };
	char *y = blocklist(100000, NULL);
	double ms;
	(void)state;

	zs_objects_init(&o);
	ms = now_ms();
	assert_int_equal(fx_parse(&o, "bl.yaml", y, 0), 0);
	printf("parse of a 100k-member AddressSet: %.0f ms\n", now_ms() - ms);
	ms = now_ms();
	assert_int_equal(fx_compile(&o, &ids, &c), 0);
	ms = now_ms() - ms;
	printf("compile of one rule denying a 100k-member set: %.0f ms\n", ms);
	assert_true(ms < 1000);
	assert_int_equal(c.ipcache.n, 100000 + 1 + 1);
	/* One class for all 100k members; the /8 another. */
	size_t ncidr = 0;
	for (size_t i = 0; i < ids.v.n; i++)
		ncidr += ids.v.v[i].id >= ZS_ID_FIRST_CIDR;
	assert_int_equal(ncidr, 2);
	assert_int_equal(verdict(&c, "11.128.0.3", "10.0.0.1"), ZS_VERDICT_DENY);
	assert_int_equal(verdict(&c, "11.128.0.4", "10.0.0.1"), ZS_VERDICT_ALLOW);
	/* The policy entries are those of a one-member set. */
	struct zs_objects o1;
	struct zs_identities ids1 = { 0 };
	char *y1 = blocklist(1, NULL);
	zs_objects_init(&o1);
	assert_int_equal(fx_parse(&o1, "bl1.yaml", y1, 0), 0);
	assert_int_equal(fx_compile(&o1, &ids1, &one), 0);
	assert_int_equal(c.total_entries, one.total_entries);
	printf("policy entries: %zu (100k members) = %zu (1 member)\n", c.total_entries,
	       one.total_entries);
	zs_compiled_free(&one);
	zs_identities_free(&ids1);
	zs_objects_free(&o1);
	free(y1);
	zs_compiled_free(&c);
	zs_identities_free(&ids);
	zs_objects_free(&o);
	free(y);
}

/* A new member in an existing class: one ipcache entry more, nothing else changes. */
static void test_add_member_one_entry(void **state)
{
	struct fx_estate e = { 0 };
	char *y = blocklist(1000, NULL);
	(void)state;

	assert_int_equal(fx_estate_init(&e, y), 0);
	struct zs_compiled before = e.c;
	memset(&e.c, 0, sizeof(e.c));
	struct zs_addrset *s = &e.o.sets.v[0];
	s->members = realloc(s->members, (s->n + 1) * sizeof(*s->members));
	zs_prefix_parse("11.200.0.7", &s->members[s->n++], false);
	zs_addrset_normalize(s);
	assert_int_equal(fx_estate_compile(&e), 0);

	assert_int_equal(e.c.ipcache.n, before.ipcache.n + 1);
	size_t differ = 0;
	for (size_t i = 0, j = 0; j < e.c.ipcache.n; j++) {
		const struct zs_c_ipcache *a = i < before.ipcache.n ? &before.ipcache.v[i] : NULL;
		const struct zs_c_ipcache *b = &e.c.ipcache.v[j];
		if (a && !zs_prefix_cmp(&a->prefix, &b->prefix) && a->identity == b->identity &&
		    a->cidr == b->cidr) {
			i++;
			continue;
		}
		differ++;
		assert_int_equal(b->cidr, cidr_of(&before, "11.128.0.0")); /* the set's class */
	}
	assert_int_equal(differ, 1);
	assert_int_equal(e.c.subjects.n, before.subjects.n);
	for (size_t i = 0; i < before.subjects.n; i++) {
		assert_int_equal(e.c.subjects.v[i].identity, before.subjects.v[i].identity);
		assert_int_equal(e.c.subjects.v[i].n, before.subjects.v[i].n);
		assert_memory_equal(e.c.subjects.v[i].e, before.subjects.v[i].e,
				    before.subjects.v[i].n * sizeof(*before.subjects.v[i].e));
	}
	zs_compiled_free(&before);
	fx_estate_free(&e);
	free(y);
}

/* explain names the set's class; diff counts members, not JSON lines. */
static void test_explain_and_diff(void **state)
{
	struct fx_estate e = { 0 };
	struct zs_objects batch;
	char *y = blocklist(100, NULL);
	struct zs_explain_query q = { .from = "11.128.0.3", .to = "default/web", .proto = TCP,
				      .port = 80 };
	const char *which;
	json_t *why, *ch;
	(void)state;

	assert_int_equal(fx_estate_init(&e, y), 0);
	assert_int_equal(zs_explain(&e.o, &e.ids, &e.c, &q, &why, &which), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(why, "from"), "cidr")),
			    "11.0.0.0/8 + set:bad"); /* the policy's allow names the /8 */
	assert_string_equal(json_string_value(json_object_get(why, "verdict")), "denied");
	assert_string_equal(json_string_value(json_object_get(json_object_get(why, "ingress"),
							      "policy")),
			    "default/p");
	json_decref(why);

	const char *next = "apiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: bad}\n"
			   "spec: {prefixes: [11.128.0.0, 11.128.0.3, 12.0.0.1]}\n---\n"
			   "apiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: new}\n"
			   "spec: {prefixes: [13.0.0.0/8]}\n";
	zs_objects_init(&batch);
	assert_int_equal(fx_parse(&batch, "next.yaml", next, 0), 0);
	json_t *d = zs_diff_objects(&e.o, &batch);
	assert_int_equal(json_array_size(d), 2);
	for (size_t i = 0; i < 2; i++) {
		ch = json_array_get(d, i);
		const char *name = json_string_value(json_object_get(ch, "name"));
		bool bad = !strcmp(name, "bad");
		assert_string_equal(json_string_value(json_object_get(ch, "change")),
				    bad ? "configured" : "created");
		assert_int_equal(json_integer_value(json_object_get(ch, "added")), 1);
		assert_int_equal(json_integer_value(json_object_get(ch, "removed")), bad ? 98 : 0);
	}
	json_decref(d);
	zs_objects_free(&batch);
	fx_estate_free(&e);
	free(y);
}

/* ---- the set verb (daemon/sets.c) ------------------------------------------ */

static json_t *set_req(const char *op, const char *name, const char *args, const char *file)
{
	json_t *req = json_pack("{s:s,s:s,s:s,s:[],s:[]}", ZS_K_VERB, "set", ZS_K_OP, op, ZS_K_NAME,
				name, ZS_K_PREFIXES, ZS_K_FILES);
	char *copy = zs_xstrdup(args), *save = NULL;

	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		json_array_append_new(json_object_get(req, ZS_K_PREFIXES), json_string(t));
	free(copy);
	if (file)
		json_array_append_new(json_object_get(req, ZS_K_FILES),
				      json_pack("{s:s,s:s}", ZS_K_FILE_NAME, "feed.txt",
						ZS_K_FILE_CONTENT, file));
	return req;
}

/* Runs one set request on o; returns its error, *unchanged, and the summary's counts. */
static int run_set(struct zs_objects *o, json_t *req, bool *unchanged, long long counts[3],
		   struct zs_diags *d)
{
	json_t *sum = NULL;
	int err = sets_work(req, o, d, unchanged, &sum);

	json_decref(req);
	counts[0] = json_integer_value(json_object_get(sum, ZS_K_ADDED));
	counts[1] = json_integer_value(json_object_get(sum, ZS_K_REMOVED));
	counts[2] = json_integer_value(json_object_get(sum, ZS_K_MEMBERS));
	json_decref(sum);
	return err;
}

static void test_set_verb(void **state)
{
	struct zs_objects o;
	struct zs_diags d = { 0 };
	long long n[3];
	bool same;
	(void)state;

	zs_objects_init(&o);
	/* add creates; a file and arguments together; duplicates once */
	assert_int_equal(run_set(&o, set_req("add", "bl", "10.0.0.1 10.0.0.2",
					     "# feed\n10.0.0.2\n2001:db8::/32  # v6\n"),
				 &same, n, &d), 0);
	assert_false(same);
	assert_int_equal(n[0], 3);
	assert_int_equal(n[2], 3);
	assert_int_equal(o.sets.n, 1);
	/* again: nothing changes */
	assert_int_equal(run_set(&o, set_req("add", "bl", "10.0.0.1", NULL), &same, n, &d), 0);
	assert_true(same);
	/* a bad line anywhere: an error with file:line, the set as it was */
	assert_int_equal(run_set(&o, set_req("add", "bl", "10.0.0.9", "10.0.0.8\n10.0.0.300\n"),
				 &same, n, &d),
			 -EINVAL);
	assert_true(has_error(&d, "feed.txt:2:1: prefix: \"10.0.0.300\""));
	assert_int_equal(o.sets.v[0].n, 3);
	zs_diags_free(&d);
	assert_int_equal(run_set(&o, set_req("add", "bl", "10.0.0.9 bogus", NULL), &same, n, &d),
			 -EINVAL);
	assert_true(has_error(&d, "<arguments>:2:1: prefix: \"bogus\""));
	assert_int_equal(o.sets.v[0].n, 3);
	zs_diags_free(&d);
	/* remove counts what was there */
	assert_int_equal(run_set(&o, set_req("remove", "bl", "10.0.0.1 10.9.9.9", NULL), &same, n,
				 &d), 0);
	assert_int_equal(n[1], 1);
	assert_int_equal(n[2], 2);
	/* replace: exactly these */
	assert_int_equal(run_set(&o, set_req("replace", "bl", "10.0.0.2 10.0.0.7", NULL), &same, n,
				 &d), 0);
	assert_int_equal(n[0], 1);
	assert_int_equal(n[1], 1);
	assert_int_equal(n[2], 2);
	/* replace with nothing: refused unless asked for (an empty feed), then empties it */
	assert_int_equal(run_set(&o, set_req("replace", "bl", "", "# nothing today\n"), &same, n,
				 &d), -EINVAL);
	assert_true(has_error(&d, "--allow-empty"));
	assert_int_equal(o.sets.v[0].n, 2);
	zs_diags_free(&d);
	json_t *empty = set_req("replace", "bl", "", NULL);
	json_object_set_new(empty, ZS_K_ALLOW_EMPTY, json_true());
	assert_int_equal(run_set(&o, empty, &same, n, &d), 0);
	assert_int_equal(o.sets.v[0].n, 0);
	assert_int_equal(run_set(&o, set_req("add", "bl", "10.0.0.2 10.0.0.7", NULL), &same, n,
				 &d), 0);
	/* errors: no such set to remove from, a bad name, a bad operation */
	assert_int_equal(run_set(&o, set_req("remove", "nope", "10.0.0.2", NULL), &same, n, &d),
			 -EINVAL);
	assert_true(has_error(&d, "no AddressSet \"nope\""));
	assert_int_equal(run_set(&o, set_req("add", "Bad", "10.0.0.2", NULL), &same, n, &d), -EINVAL);
	assert_int_equal(run_set(&o, set_req("flip", "bl", "10.0.0.2", NULL), &same, n, &d), -EINVAL);
	assert_int_equal(o.sets.n, 1);
	zs_diags_free(&d);
	zs_objects_free(&o);
}

/* ---- against the reference evaluator ---------------------------------------- */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* A prefix of the small universe the test probes: 10.R.S.0/L or an address, or fd00::. */
static void gen_prefix(struct fx_text *t)
{
	static const unsigned lens[] = { 8, 16, 20, 24, 26, 30, 32, 32, 32 };
	unsigned len = lens[rnd(9)], b = rnd(4), c = rnd(4) * 64 + rnd(3);

	if (rnd(8) == 0) {
		fx_printf(t, "\"fd00::%x/%u\"", rnd(4) * 16, 124 + rnd(5));
		return;
	}
	uint32_t a = 10u << 24 | b << 16 | c << 8 | rnd(4);
	a &= len ? ~0u << (32 - len) : 0;
	fx_printf(t, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, len);
}

static void gen_estate(struct fx_text *t)
{
	static const char *const sets[] = { "s0", "s1", "s2" };

	fx_printf(t, "apiVersion: zeroseg.io/v1\nkind: Workload\nmetadata: {name: w0, labels: {app: a}}\n"
		     "spec: {interface: if0, addresses: [10.0.0.1, \"fd00::1\"]}\n"
		     "---\napiVersion: zeroseg.io/v1\nkind: Workload\nmetadata: {name: w1, labels: {app: b}}\n"
		     "spec: {interface: if1, addresses: [10.1.64.1]}\n");
	for (unsigned s = 0; s < 3; s++) {
		fx_printf(t, "---\napiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: %s}\n"
			     "spec:\n  prefixes: [", sets[s]);
		for (unsigned m = 0, n = rnd(6); m < n; m++) {
			fx_printf(t, "%s", m ? ", " : "");
			gen_prefix(t);
		}
		fx_printf(t, "]\n");
	}
	for (unsigned p = 0; p < 2; p++) {
		bool eg = rnd(2);
		fx_printf(t, "---\napiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p%u}\n"
			     "spec:\n  selector: {matchLabels: {app: %s}}\n  %s:\n", p, p ? "b" : "a",
			  eg ? "egress" : "ingress");
		for (unsigned r = 0, nr = 1 + rnd(4); r < nr; r++) {
			fx_printf(t, "    - %s: [", eg ? "to" : "from");
			for (unsigned k = 0, np = 1 + rnd(2); k < np; k++) {
				fx_printf(t, "%s", k ? ", " : "");
				if (rnd(2)) {
					fx_printf(t, "{addressSet: %s}", sets[rnd(3)]);
				} else {
					unsigned x = rnd(3);
					fx_printf(t, "{cidr: 10.%u.0.0/16", x);
					if (rnd(2))
						fx_printf(t, ", except: [10.%u.%u.0/%u]", x, rnd(2) * 64,
							  rnd(2) ? 18 : 24);
					fx_printf(t, "}");
				}
			}
			fx_printf(t, "]\n%s", rnd(3) ? "" : "      action: deny\n");
		}
	}
}

static void test_classes_match_reference(void **state)
{
	unsigned long seed = getenv("ZS_SEED") ? strtoul(getenv("ZS_SEED"), NULL, 0) :
						 (unsigned long)time(NULL);
	unsigned long checked = 0, denied = 0;
	(void)state;

	printf("sets differential: seed %lu (ZS_SEED reproduces)\n", seed);
	rng = seed * 2654435761u + 1;
	for (unsigned n = 0; n < 1500; n++) {
		struct fx_text t;
		struct fx_estate e = { 0 };

		fx_text_open(&t);
		gen_estate(&t);
		fx_text_close(&t);
		zs_objects_init(&e.o);
		if (fx_estate_load(&e, t.s) || fx_estate_compile(&e))
			fail_msg("seed %lu estate %u does not compile:\n%s", seed, n, t.s);
		for (unsigned i = 0; i < 200; i++) {
			struct zs_prefix a, w;
			struct zs_c_decision cd;
			struct ref_decision rd;
			bool six = rnd(8) == 0;
			char as[64];

			memset(&a, 0, sizeof(a));
			a.family = six ? 6 : 4;
			a.len = six ? 128 : 32;
			if (six) {
				a.addr[0] = 0xfd, a.addr[15] = (uint8_t)rnd(80);
			} else {
				a.addr[0] = 10, a.addr[1] = (uint8_t)rnd(4);
				a.addr[2] = (uint8_t)(rnd(4) * 64 + rnd(3)), a.addr[3] = (uint8_t)rnd(6);
			}
			zs_prefix_parse(rnd(2) ? (six ? "fd00::1" : "10.0.0.1") : "10.1.64.1", &w, false);
			if (w.family != a.family)
				zs_prefix_parse("fd00::1", &w, false);
			bool out = rnd(2);
			const struct zs_prefix *src = out ? &w : &a, *dst = out ? &a : &w;
			zs_compiled_decide(&e.c, src, dst, TCP, 80, &cd);
			ref_decide(&e.o, src, dst, TCP, 80, &rd);
			if (cd.verdict != rd.verdict) {
				printf("%s\n", t.s);
				fail_msg("seed %lu estate %u: %s %s %s: compiled %u, reference %u", seed, n,
					 zs_prefix_str(src, as, sizeof(as)), "->",
					 zs_prefix_str(dst, as + 32, 32), cd.verdict, rd.verdict);
			}
			checked++;
			denied += rd.verdict == ZS_VERDICT_DENY;
		}
		fx_estate_free(&e);
		fx_text_free(&t);
	}
	printf("sets differential: %lu decisions, 0 mismatches (%lu denied)\n", checked, denied);
	assert_true(denied > checked / 20 && checked - denied > checked / 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parse_set, fx_parsed_setup, fx_parsed_teardown),
		cmocka_unit_test_setup_teardown(test_parse_set_errors, fx_parsed_setup,
						fx_parsed_teardown),
		cmocka_unit_test(test_prefix_list),
		cmocka_unit_test(test_unknown_set_is_an_error),
		cmocka_unit_test(test_nested_classes),
		cmocka_unit_test(test_inline_keys_unchanged),
		cmocka_unit_test(test_blocklist_100k_one_class),
		cmocka_unit_test(test_add_member_one_entry),
		cmocka_unit_test(test_explain_and_diff),
		cmocka_unit_test(test_set_verb),
		cmocka_unit_test(test_classes_match_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
