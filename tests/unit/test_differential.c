// SPDX-License-Identifier: MIT
/*
 * Differential test: the compiled map entries, read through the datapath's
 * lookup logic (zs_compiled_decide, the userspace emulation of
 * bpf/lib/decide.h and policy.h), against the reference evaluator
 * (reference.h) over thousands of random policy sets and packets.
 *
 * ZS_SEED=N reproduces a run; ZS_DIFF_SETS and ZS_DIFF_PACKETS size it.
 * On a mismatch the seed, the objects and the packet are printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "reference.h"
#include "policy/compile.h"
#include "policy/parse.h"
#include "tests/lib/fixture.h"

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

#define NWL 10
static const char *const apps[] = { "a", "b", "c" };
static const char *const nss[] = { "n0", "n1", "n2" };

static void gen_selector(struct fx_text *t, const char *key)
{
	static const char *const ops[] = { "In", "NotIn", "Exists", "DoesNotExist" };
	unsigned k = rnd(10);

	if (k < 2) {
		fx_printf(t, "%s: {}", key);
	} else if (k < 6) {
		fx_printf(t, "%s: {matchLabels: {app: %s}}", key, apps[rnd(3)]);
	} else {
		unsigned op = rnd(4);
		const char *lk = chance(50) ? "app" : "tier";
		fx_printf(t, "%s: {matchExpressions: [{key: %s, operator: %s", key, lk, ops[op]);
		if (op < 2)
			fx_printf(t, ", values: [%s, %s]", lk[0] == 'a' ? apps[rnd(3)] : "x",
			    lk[0] == 'a' ? apps[rnd(3)] : "y");
		fx_printf(t, "}]}");
	}
}

static void gen_ns_selector(struct fx_text *t, const char *key)
{
	switch (rnd(4)) {
	case 0:
		fx_printf(t, "%s: {}", key);
		break;
	case 1:
		fx_printf(t, "%s: {matchLabels: {team: red}}", key);
		break;
	case 2:
		fx_printf(t, "%s: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [%s]}]}",
		    key, nss[rnd(3)]);
		break;
	default:
		fx_printf(t, "%s: {matchExpressions: [{key: team, operator: DoesNotExist}]}", key);
	}
}

static void gen_cidr(struct fx_text *t, bool k8s)
{
	unsigned k = rnd(5);
	const char *cidr = NULL;
	char ex[64] = "";

	if (k == 0) {
		cidr = "10.0.0.0/16";
		snprintf(ex, sizeof(ex), "10.0.%u.0/24", rnd(NWL));
	} else if (k == 1) {
		static char buf[32];
		snprintf(buf, sizeof(buf), "10.0.%u.0/24", rnd(NWL));
		cidr = buf;
	} else if (k == 2) {
		cidr = "fd00::/64";
		snprintf(ex, sizeof(ex), "fd00::%x/128", rnd(NWL) + 1);
	} else if (k == 3) {
		cidr = "0.0.0.0/0";
		snprintf(ex, sizeof(ex), "10.0.0.0/%u", 8 + rnd(17));
	} else {
		static char buf[32];
		snprintf(buf, sizeof(buf), "10.0.%u.1/32", rnd(NWL));
		cidr = buf;
	}
	if (k8s)
		fx_printf(t, "{ipBlock: {cidr: \"%s\"%s%s%s}}", cidr, *ex ? ", except: [\"" : "", ex,
		    *ex ? "\"]" : "");
	else
		fx_printf(t, "{cidr: \"%s\"%s%s%s}", cidr, *ex ? ", except: [\"" : "", ex, *ex ? "\"]" : "");
}

static void gen_peer(struct fx_text *t, bool k8s, bool named_ports_egress)
{
	unsigned k = rnd(named_ports_egress ? 3 : (k8s ? 5 : 10));

	switch (k) {
	case 0:
		fx_printf(t, "{");
		gen_selector(t, k8s ? "podSelector" : "selector");
		fx_printf(t, "}");
		break;
	case 1:
		fx_printf(t, "{");
		gen_ns_selector(t, "namespaceSelector");
		fx_printf(t, "}");
		break;
	case 2:
		fx_printf(t, "{");
		gen_selector(t, k8s ? "podSelector" : "selector");
		fx_printf(t, ", ");
		gen_ns_selector(t, "namespaceSelector");
		fx_printf(t, "}");
		break;
	case 3:
	case 4:
		gen_cidr(t, k8s);
		break;
	case 5:
		fx_printf(t, "{entity: host}");
		break;
	case 6:
		fx_printf(t, "{entity: world}");
		break;
	case 8:
		fx_printf(t, "{addressSet: s%u}", rnd(2));
		break;
	default:
		fx_printf(t, "{entity: all}");
	}
}

static void gen_port(struct fx_text *t, bool k8s, bool allow_named)
{
	static const unsigned nums[] = { 53, 79, 80, 81, 443, 8080 };
	unsigned k = rnd(k8s ? 6 : 9);

	if (!allow_named && (k == 3 || k == 4))
		k = 0;
	switch (k) {
	case 0:
		fx_printf(t, "{port: %u}", nums[rnd(6)]);
		break;
	case 1:
		fx_printf(t, "{protocol: UDP, port: %u}", nums[rnd(6)]);
		break;
	case 2: {
		unsigned p = nums[rnd(6)];
		fx_printf(t, "{protocol: %s, port: %u, endPort: %u}", chance(70) ? "TCP" : "SCTP", p,
		    p + rnd(3000));
		break;
	}
	case 3:
		fx_printf(t, "{port: http}");
		break;
	case 4:
		fx_printf(t, "{protocol: UDP, port: dns}");
		break;
	case 5:
		fx_printf(t, "{protocol: SCTP}");
		break;
	case 6:
		fx_printf(t, "{protocol: any}");
		break;
	case 7:
		fx_printf(t, "{protocol: ICMP, type: 8}");
		break;
	default:
		fx_printf(t, "{protocol: ICMPv6, type: 128, code: 0}");
	}
}

static void gen_rules(struct fx_text *t, bool k8s, bool ingress)
{
	unsigned n = rnd(4);

	fx_printf(t, "  %s:%s\n", ingress ? "ingress" : "egress", n ? "" : " []");
	for (unsigned r = 0; r < n; r++) {
		bool named = chance(30);
		fx_printf(t, "  - {");
		if (chance(75)) {
			unsigned np = 1 + rnd(2);
			fx_printf(t, "%s: [", ingress ? "from" : "to");
			for (unsigned i = 0; i < np; i++) {
				if (i)
					fx_printf(t, ", ");
				gen_peer(t, k8s, named && !ingress);
			}
			fx_printf(t, "], ");
		}
		if (chance(70)) {
			unsigned np = 1 + rnd(2);
			fx_printf(t, "ports: [");
			for (unsigned i = 0; i < np; i++) {
				if (i)
					fx_printf(t, ", ");
				gen_port(t, k8s, named);
			}
			fx_printf(t, "], ");
		}
		if (!k8s && chance(25))
			fx_printf(t, "action: deny, ");
		fx_printf(t, "}\n");
	}
}

static void gen_config(struct fx_text *t)
{
	fx_printf(t, "---\napiVersion: zeroseg.io/v1\nkind: Config\nspec: {posture: %s}\n",
	    chance(50) ? "deny" : "kubernetes");
}

static void gen_namespace(struct fx_text *t, unsigned i)
{
	static const char *const teams[] = { "red", "blue", "green" };
	fx_printf(t, "---\napiVersion: zeroseg.io/v1\nkind: Namespace\nmetadata: {name: n%u, labels: {team: %s}}\n",
	    i, i < 2 && chance(70) ? teams[i] : teams[rnd(3)]);
}

/* Workload i: address 10.0.i.1 (or .2), so addresses stay unique. */
static void gen_workload(struct fx_text *t, unsigned i)
{
	fx_printf(t, "---\napiVersion: zeroseg.io/v1\nkind: Workload\nmetadata: {name: w%u, namespace: %s, labels: {",
	    i, nss[rnd(3)]);
	if (chance(90))
		fx_printf(t, "app: %s, ", apps[rnd(3)]);
	if (chance(50))
		fx_printf(t, "tier: %s", chance(50) ? "x" : "y");
	fx_printf(t, "}}\nspec:\n");
	if (chance(80))
		fx_printf(t, "  interface: if%u\n", i);
	unsigned last = i < NWL && chance(80) ? 1 : 2;
	if (chance(30))
		fx_printf(t, "  addresses: [10.0.%u.%u, \"fd00::%x\"]\n", i, last, i + 1);
	else
		fx_printf(t, "  addresses: [10.0.%u.%u]\n", i, last);
	if (chance(60)) {
		fx_printf(t, "  ports: [");
		if (chance(70))
			fx_printf(t, "{name: http, port: %u}", chance(50) ? 80 : 8080);
		else
			fx_printf(t, "{name: http, port: 81}");
		if (chance(40))
			fx_printf(t, ", {name: dns, port: 53, protocol: UDP}");
		fx_printf(t, "]\n");
	}
}

static void gen_policy(struct fx_text *t, unsigned i, bool k8s)
{
	if (k8s) {
		fx_printf(t, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: k%u, namespace: %s}\nspec:\n  ",
		    i, nss[rnd(3)]);
		gen_selector(t, "podSelector");
		fx_printf(t, "\n");
		unsigned types = rnd(4); /* 0: omitted, 1 ingress, 2 egress, 3 both */
		bool in = types != 2, eg = types >= 2 || (types == 0 && chance(50));
		if (types == 1)
			fx_printf(t, "  policyTypes: [Ingress]\n");
		else if (types == 2)
			fx_printf(t, "  policyTypes: [Egress]\n");
		else if (types == 3)
			fx_printf(t, "  policyTypes: [Ingress, Egress]\n");
		if (in && (types || chance(70)))
			gen_rules(t, true, true);
		if (eg)
			gen_rules(t, true, false);
	} else {
		fx_printf(t, "---\napiVersion: zeroseg.io/v1\nkind: Policy\nmetadata: {name: p%u, namespace: %s}\nspec:\n  ",
		    i, nss[rnd(3)]);
		gen_selector(t, "selector");
		fx_printf(t, "\n");
		if (chance(15))
			fx_printf(t, "  mode: audit\n");
		bool in = chance(70), eg = !in || chance(50);
		if (in)
			gen_rules(t, false, true);
		if (eg)
			gen_rules(t, false, false);
	}
}

/* AddressSet s<i>: a few prefixes around the workloads' addresses (nested, overlapping). */
static void gen_set(struct fx_text *t, unsigned i)
{
	unsigned n = rnd(6);

	fx_printf(t, "---\napiVersion: zeroseg.io/v1\nkind: AddressSet\nmetadata: {name: s%u}\nspec:\n  prefixes: [", i);
	for (unsigned m = 0; m < n; m++) {
		unsigned k = rnd(10);
		fx_printf(t, "%s", m ? ", " : "");
		if (k < 5)
			fx_printf(t, "\"10.0.%u.%u/32\"", rnd(NWL + 2), 1 + rnd(3));
		else if (k < 7)
			fx_printf(t, "\"10.0.%u.0/24\"", rnd(NWL + 2));
		else if (k < 8)
			fx_printf(t, "\"10.0.0.0/%u\"", 12 + rnd(5));
		else
			fx_printf(t, "\"fd00::%x/128\"", rnd(NWL) + 1);
	}
	fx_printf(t, "]\n");
}

static void gen_objects(struct fx_text *t)
{
	gen_config(t);
	gen_set(t, 0);
	gen_set(t, 1);
	gen_namespace(t, 0);
	gen_namespace(t, 1);
	for (unsigned i = 0; i < NWL; i++)
		gen_workload(t, i);
	unsigned np = 1 + rnd(5);
	for (unsigned i = 0; i < np; i++)
		gen_policy(t, i, chance(50));
}

static void gen_addr(const struct zs_objects *o, uint8_t family, struct zs_prefix *a)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->len = family == 4 ? 32 : 128;
	unsigned k = rnd(10);
	if (k < 6) {
		const struct zs_workload *w = &o->workloads.v[rnd((uint32_t)o->workloads.n)];
		for (size_t j = 0; j < w->naddrs; j++)
			if (w->addrs[j].family == family) {
				*a = w->addrs[j];
				return;
			}
	}
	if (family == 6) {
		a->addr[0] = 0xfd;
		a->addr[15] = (uint8_t)(k == 9 ? 200 : rnd(20));
		if (k == 8)
			a->addr[0] = 0x20;
		return;
	}
	if (k == 9) {
		a->addr[0] = 10, a->addr[2] = 200, a->addr[3] = 1; /* the host */
	} else if (k == 8) {
		a->addr[0] = 192, a->addr[1] = 168, a->addr[3] = 7;
	} else {
		a->addr[0] = 10, a->addr[2] = (uint8_t)rnd(NWL + 2), a->addr[3] = (uint8_t)(1 + rnd(3));
	}
}

static bool rule_is_winner(const struct zs_compiled *c, uint32_t id, const struct ref_side *s)
{
	const struct zs_c_rule *r = zs_compiled_rule(c, id);

	if (!r)
		return false;
	for (size_t i = 0; i < s->nwin; i++) {
		char *name = zs_xasprintf("%s/%s", s->win[i].p->ns, s->win[i].p->name);
		bool same = !strcmp(name, r->policy) && s->win[i].dir == r->dir &&
			    s->win[i].index == r->index;
		free(name);
		if (same)
			return true;
	}
	return false;
}

static const char *side_diff(const struct zs_compiled *c, const struct zs_c_check *k,
			     const struct ref_side *s)
{
	if (k->checked != s->checked)
		return "checked differs";
	if (!k->checked)
		return NULL;
	if (k->verdict != s->verdict)
		return "verdict differs";
	if (s->prec == ZS_PREC_DEFAULT || s->prec == ZS_PREC_NONE)
		return k->rule_id ? "rule given where the reference has none" : NULL;
	return rule_is_winner(c, k->rule_id, s) ? NULL : "rule is not a winning rule";
}

struct tally {
	unsigned long checked, allowed, bysrc[4];
};

/* `packets` random flows decided by the compiled state and by the reference. */
static void check_packets(const struct zs_objects *o, const struct zs_compiled *c, unsigned packets,
			  unsigned long seed, unsigned set, const char *text, struct tally *tl)
{
	for (unsigned i = 0; i < packets; i++) {
		static const uint8_t protos[] = { 6, 6, 17, 17, 132, 1 };
		uint8_t family = chance(80) ? 4 : 6;
		uint8_t proto = protos[rnd(6)];
		uint16_t port;
		struct zs_prefix src, dst;
		struct zs_c_decision cd;
		struct ref_decision rd;

		if (proto == 1 && family == 6)
			proto = 58;
		if (proto == 1 || proto == 58)
			port = (uint16_t)((rnd(3) == 0 ? 0 : proto == 1 ? 8 : 128) << 8 | rnd(2));
		else {
			static const uint16_t nums[] = { 53, 79, 80, 81, 443, 8080, 3000 };
			port = nums[rnd(7)];
		}
		gen_addr(o, family, &src);
		gen_addr(o, family, &dst);
		zs_compiled_decide(c, &src, &dst, proto, port, &cd);
		ref_decide(o, &src, &dst, proto, port, &rd);
		const char *why = cd.verdict != rd.verdict ? "flow verdict differs" : NULL;
		if (!why && (why = side_diff(c, &cd.egress, &rd.egress)))
			;
		else if (!why)
			why = side_diff(c, &cd.ingress, &rd.ingress);
		if (why) {
			char a[64], b[64];
			printf("%s\n", text);
			fflush(stdout);
			fail_msg("seed %lu set %u packet %u: %s: %s -> %s proto %u port %u: compiled %u (egress %u rule %u, ingress %u rule %u), reference %u (egress %u, ingress %u)",
				 seed, set, i, why, zs_prefix_str(&src, a, sizeof(a)),
				 zs_prefix_str(&dst, b, sizeof(b)), proto, port, cd.verdict,
				 cd.egress.verdict, cd.egress.rule_id, cd.ingress.verdict,
				 cd.ingress.rule_id, rd.verdict, rd.egress.verdict, rd.ingress.verdict);
		}
		tl->checked++;
		tl->allowed += rd.verdict != ZS_VERDICT_DENY;
		tl->bysrc[(rd.egress.checked ? 1 : 0) | (rd.ingress.checked ? 2 : 0)]++;
	}
}

static void test_compiled_matches_reference(void **state)
{
	unsigned long seed = getenv("ZS_SEED") ? strtoul(getenv("ZS_SEED"), NULL, 0) :
						 (unsigned long)time(NULL);
	unsigned sets = getenv("ZS_DIFF_SETS") ? (unsigned)atoi(getenv("ZS_DIFF_SETS")) : 2000;
	unsigned packets = getenv("ZS_DIFF_PACKETS") ? (unsigned)atoi(getenv("ZS_DIFF_PACKETS")) : 100;
	struct tally tally = { 0 };
	(void)state;

	printf("differential: seed %lu (ZS_SEED=%lu reproduces), %u sets x %u packets\n", seed, seed,
	       sets, packets);
	rng = seed * 2654435761u + 1;
	for (unsigned set = 0; set < sets; set++) {
		struct fx_text t;
		struct fx_estate e;

		fx_text_open(&t);
		gen_objects(&t);
		fx_text_close(&t);
		memset(&e, 0, sizeof(e));
		zs_objects_init(&e.o);
		if (fx_estate_load(&e, t.s))
			fail_msg("seed %lu set %u: generated objects do not parse:\n%s", seed, set, t.s);
		struct zs_prefix *h = ZS_VEC_PUSH(&e.o.host_addrs);
		zs_prefix_parse("10.0.200.1", h, false);
		h = ZS_VEC_PUSH(&e.o.host_addrs);
		zs_prefix_parse("fd00::c8", h, false);
		if (fx_estate_compile(&e))
			fail_msg("seed %lu set %u: generated objects do not compile:\n%s", seed, set, t.s);
		check_packets(&e.o, &e.c, packets, seed, set, t.s, &tally);
		fx_estate_free(&e);
		fx_text_free(&t);
	}
	unsigned long checked = tally.checked, allowed = tally.allowed, *bysrc = tally.bysrc;
	printf("differential: %lu decisions, 0 mismatches (%lu allowed or audit, %lu denied; both sides checked %lu, egress only %lu, ingress only %lu, neither %lu)\n",
	       checked, allowed, checked - allowed, bysrc[3], bysrc[1], bysrc[2], bysrc[0]);
	/* The generator must exercise both outcomes, or the comparison proves little. */
	assert_true(allowed > checked / 20);
	assert_true(checked - allowed > checked / 20);
	assert_true(bysrc[3] > checked / 20);
}

/* ---- incremental compilation: after each change, the same as a full compile ---- */

static void same_str(const char *a, const char *b, const char *what, unsigned step)
{
	if ((a == NULL) != (b == NULL) || (a && strcmp(a, b)))
		fail_msg("step %u: %s differs: %s / %s", step, what, a ? a : "(null)", b ? b : "(null)");
}

/* Byte for byte: every field, strings by content, marks by file name. */
static void same_compiled(const struct zs_compiled *a, const struct zs_compiled *b, unsigned step)
{
	assert_int_equal(a->endpoints.n, b->endpoints.n);
	for (size_t i = 0; i < a->endpoints.n; i++) {
		same_str(a->endpoints.v[i].ifname, b->endpoints.v[i].ifname, "endpoint", step);
		same_str(a->endpoints.v[i].workload, b->endpoints.v[i].workload, "endpoint", step);
		assert_int_equal(a->endpoints.v[i].identity, b->endpoints.v[i].identity);
		assert_int_equal(a->endpoints.v[i].shield, b->endpoints.v[i].shield);
	}
	if (a->ipcache.n != b->ipcache.n) {
		for (int k = 0; k < 2; k++)
			for (size_t i = 0; i < (k ? b : a)->ipcache.n; i++) {
				const struct zs_c_ipcache *x = &(k ? b : a)->ipcache.v[i];
				char buf[64];
				printf("%s %s id %u cidr %u %s\n", k ? "full" : "incr",
				       zs_prefix_str(&x->prefix, buf, sizeof(buf)), x->identity, x->cidr,
				       x->workload ? x->workload : "-");
			}
		fail_msg("step %u: %zu ipcache entries / %zu", step, a->ipcache.n, b->ipcache.n);
	}
	for (size_t i = 0; i < a->ipcache.n; i++) {
		const struct zs_c_ipcache *x = &a->ipcache.v[i], *y = &b->ipcache.v[i];
		assert_memory_equal(&x->prefix, &y->prefix, sizeof(x->prefix));
		if (x->identity != y->identity || x->cidr != y->cidr)
			fail_msg("step %u: ipcache %zu: identity %u/%u cidr %u/%u", step, i,
				 x->identity, y->identity, x->cidr, y->cidr);
		same_str(x->ifname, y->ifname, "ipcache ifname", step);
		same_str(x->workload, y->workload, "ipcache workload", step);
	}
	assert_int_equal(a->nlens4, b->nlens4);
	assert_int_equal(a->nlens6, b->nlens6);
	assert_memory_equal(a->lens4, b->lens4, sizeof(a->lens4));
	assert_memory_equal(a->lens6, b->lens6, sizeof(a->lens6));
	assert_int_equal(a->subjects.n, b->subjects.n);
	for (size_t i = 0; i < a->subjects.n; i++) {
		const struct zs_subject *x = &a->subjects.v[i], *y = &b->subjects.v[i];
		if (x->identity != y->identity || x->n != y->n ||
		    (x->n && memcmp(x->e, y->e, x->n * sizeof(*x->e))))
			fail_msg("step %u: subject %u differs (%zu / %zu entries)", step, x->identity,
				 x->n, y->n);
	}
	assert_int_equal(a->total_entries, b->total_entries);
	assert_int_equal(a->rules.n, b->rules.n);
	for (size_t i = 0; i < a->rules.n; i++) {
		const struct zs_c_rule *x = &a->rules.v[i], *y = &b->rules.v[i];
		if (x->id != y->id || x->dir != y->dir || x->action != y->action ||
		    x->audit != y->audit || x->index != y->index || x->mark.line != y->mark.line ||
		    x->mark.col != y->mark.col)
			fail_msg("step %u: rule %zu differs (id %u / %u)", step, i, x->id, y->id);
		same_str(x->policy, y->policy, "rule policy", step);
		same_str(x->mark.file, y->mark.file, "rule mark", step);
	}
}

static void same_ids(const struct zs_identities *a, const struct zs_identities *b, unsigned step)
{
	if (a->v.n != b->v.n)
		fail_msg("step %u: %zu identities / %zu", step, a->v.n, b->v.n);
	for (size_t i = 0; i < a->v.n; i++) {
		const struct zs_identity *x = &a->v.v[i], *y = &b->v.v[i];
		assert_int_equal(x->id, y->id);
		same_str(x->ns, y->ns, "identity namespace", step);
		assert_int_equal(x->labels.n, y->labels.n);
		for (size_t j = 0; j < x->labels.n; j++) {
			same_str(x->labels.v[j].key, y->labels.v[j].key, "label", step);
			same_str(x->labels.v[j].value, y->labels.v[j].value, "label", step);
		}
	}
}

/* One random change to o (as an apply or delete would make it); its YAML in *t. */
static void mutate(struct zs_objects *o, struct fx_text *t, unsigned *extra)
{
	struct zs_objects batch;
	unsigned k = rnd(100);

	fx_text_open(t);
	if (k < 30)
		gen_workload(t, rnd(NWL + *extra));
	else if (k < 38)
		gen_workload(t, NWL + (*extra)++);
	else if (k < 65)
		gen_policy(t, rnd(6), chance(50));
	else if (k < 70)
		gen_namespace(t, rnd(3));
	else if (k < 73)
		gen_config(t);
	else if (k < 78)
		gen_set(t, rnd(2));
	fx_text_close(t);
	if (k >= 78) { /* a delete */
		struct zs_ref ref = { .kind = k < 90 ? ZS_KIND_WORKLOAD : ZS_KIND_POLICY };
		if (ref.kind == ZS_KIND_WORKLOAD && o->workloads.n) {
			const struct zs_workload *w = &o->workloads.v[rnd((uint32_t)o->workloads.n)];
			ref.ns = w->ns, ref.name = w->name;
		} else if (o->policies.n) {
			const struct zs_policy *p = &o->policies.v[rnd((uint32_t)o->policies.n)];
			ref.ns = p->ns, ref.name = p->name;
			ref.kind = p->from_k8s ? ZS_KIND_NETWORKPOLICY : ZS_KIND_POLICY;
		}
		if (ref.name) {
			char *ns = zs_xstrdup(ref.ns), *name = zs_xstrdup(ref.name);
			ref.ns = ns, ref.name = name;
			assert_int_equal(zs_objects_remove(o, &ref), 0);
			free(ns);
			free(name);
		}
		return;
	}
	zs_objects_init(&batch);
	if (fx_parse(&batch, "<change>", t->s, t->n))
		fail_msg("change does not parse:\n%s", t->s);
	zs_objects_merge(o, &batch);
	zs_objects_free(&batch);
}

static void test_incremental_matches_full(void **state)
{
	unsigned long seed = getenv("ZS_SEED") ? strtoul(getenv("ZS_SEED"), NULL, 0) :
						 (unsigned long)time(NULL);
	unsigned sets = getenv("ZS_DIFF_SETS") ? (unsigned)atoi(getenv("ZS_DIFF_SETS")) / 10 : 200;
	struct tally tally = { 0 };
	unsigned long incr = 0, full = 0, steps = 0;
	(void)state;

	printf("incremental: seed %lu (ZS_SEED=%lu reproduces), %u sets x 30 changes\n", seed, seed,
	       sets);
	rng = seed * 2654435761u + 7;
	for (unsigned set = 0; set < sets; set++) {
		struct zs_compile_cache *cc = zs_compile_cache_new();
		struct zs_objects o;
		struct zs_identities ids = { 0 };
		struct zs_compiled c;
		struct zs_diags d = { 0 };
		struct fx_text t;
		unsigned extra = 0;

		fx_text_open(&t);
		gen_objects(&t);
		fx_text_close(&t);
		zs_objects_init(&o);
		if (fx_parse(&o, "<set>", t.s, t.n))
			fail_msg("seed %lu set %u: objects do not parse", seed, set);
		fx_text_free(&t);
		assert_int_equal(zs_compile_cached(cc, &o, &ids, &c, &d), 0);
		zs_compile_cache_adopted(cc);
		for (unsigned step = 0; step < 30; step++, steps++) {
			struct zs_objects next, check;
			struct zs_identities ids_i, ids_f;
			struct zs_compiled ci, cf;
			struct zs_compile_cache_stats st;
			bool adopt = chance(85);

			zs_objects_copy(&o, &next); /* as the daemon's job does */
			mutate(&next, &t, &extra);
			zs_identities_clone(&ids, &ids_i);
			zs_identities_clone(&ids, &ids_f);
			if (zs_validate(&next, &d)) { /* a change the daemon refuses */
				zs_diags_free(&d);
				memset(&d, 0, sizeof(d));
				goto drop;
			}
			int ei = zs_compile_cached(cc, &next, &ids_i, &ci, &d);
			int ef = zs_compile(&next, &ids_f, &cf, &d);
			zs_diags_free(&d);
			memset(&d, 0, sizeof(d));
			if (ei != ef)
				fail_msg("seed %lu set %u step %u: incremental %d, full %d:\n%s", seed,
					 set, step, ei, ef, t.s);
			if (ei)
				goto drop;
			zs_compile_cache_stats(cc, &st);
			st.full ? full++ : incr++;
			same_compiled(&ci, &cf, step);
			same_ids(&ids_i, &ids_f, step);
			zs_objects_copy(&next, &check);
			check_packets(&check, &ci, 20, seed, set, t.s, &tally);
			zs_objects_free(&check);
			zs_compiled_free(&cf);
			zs_identities_free(&ids_f);
			if (!adopt) { /* a failed apply or a diff: the state stays */
				zs_compiled_free(&ci);
				goto drop_i;
			}
			zs_compile_cache_adopted(cc);
			zs_objects_free(&o);
			o = next;
			zs_identities_free(&ids);
			ids = ids_i;
			zs_compiled_free(&c);
			c = ci;
			fx_text_free(&t);
			continue;
drop:
			zs_identities_free(&ids_f);
drop_i:
			zs_identities_free(&ids_i);
			zs_objects_free(&next);
			fx_text_free(&t);
		}
		zs_compiled_free(&c);
		zs_identities_free(&ids);
		zs_objects_free(&o);
		zs_compile_cache_free(cc);
	}
	printf("incremental: %lu changes, %lu compiled incrementally, %lu in full, %lu decisions agree with the reference\n",
	       steps, incr, full, tally.checked);
	/* Most changes must take the incremental path, or the test proves little. */
	assert_true(incr > steps / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compiled_matches_reference),
		cmocka_unit_test(test_incremental_matches_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
