// SPDX-License-Identifier: MIT
/*
 * Address sets in: the AddressSet kind of zeroseg.io/v1 (a global object,
 * `spec.prefixes` a list of addresses and prefixes, IPv4 and IPv6), and
 * the plain prefix lists `zeroseg set add|remove -f FILE` reads (one a line,
 * `#` comments). Errors name file:line:col; nothing of a bad input is kept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parse_int.h"

void zs_parse_addrset(struct pctx *c, yaml_node_t *obj, struct zs_objects *out)
{
	static const char *const keys[] = { "prefixes", NULL };
	int before = c->errors;
	yaml_node_t *spec = get(c, obj, "spec"), *list, *e;
	struct meta md;

	if (!zs_parse_meta(c, obj, &md, false, true))
		return;
	if (!spec) {
		zs_yaml_err(c, obj, "AddressSet: spec missing");
		return;
	}
	if (!zs_yaml_want_type(c, spec, YAML_MAPPING_NODE, "spec") ||
	    !zs_yaml_check_keys(c, spec, "AddressSet spec", keys))
		return;
	list = get(c, spec, "prefixes");
	if (!list) {
		zs_yaml_err(c, spec, "AddressSet: spec.prefixes missing (an empty set is [])");
		return;
	}

	struct zs_addrset s = { .name = zs_xstrdup(md.name), .mark = mark_of(c, obj) };
	if (!is_null(list) && zs_yaml_want_type(c, list, YAML_SEQUENCE_NODE, "prefixes")) {
		s.members = zs_xcalloc(seq_len(list) + 1, sizeof(*s.members));
		SEQ_FOREACH(c, list, it, e)
		{
			struct zs_prefix *p = &s.members[s.n];
			zs_parse_cidr(c, e, p, "prefix");
			if (p->family)
				s.n++;
		}
	}
	if (c->errors != before) {
		zs_addrset_free(&s);
		return;
	}
	zs_addrset_normalize(&s);
	*ZS_VEC_PUSH(&out->sets) = s;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* One prefix's text: its parse, or a diagnostic at m. */
static int prefix_at(const char *text, const struct zs_mark *m, struct zs_prefix *out,
		     struct zs_diags *d)
{
	int err = zs_prefix_parse(text, out, true);

	if (err == -EDOM)
		zs_diag(d, m, "prefix: \"%s\" has host bits set", text);
	else if (err)
		zs_diag(d, m, "prefix: \"%s\" is not an address or prefix", text);
	return err ? -EINVAL : 0;
}

int zs_parse_prefix_list(const char *name, const char *buf, size_t len, zs_prefixes_t *out,
			 struct zs_diags *d)
{
	size_t n0 = out->n, pos = 0;
	int line = 0, errors = 0;

	if (len > ZS_MAX_POLICY_BYTES) {
		struct zs_mark m = { .file = name, .line = 1, .col = 1 };
		zs_diag(d, &m, "prefix list: %zu bytes, more than the %u allowed", len,
			ZS_MAX_POLICY_BYTES);
		return -EINVAL;
	}
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len, a = pos, b;

		line++;
		while (a < end && is_space(buf[a]))
			a++;
		b = a;
		while (b < end && !is_space(buf[b]) && buf[b] != '#' && buf[b])
			b++;
		struct zs_mark m = { .file = name, .line = line, .col = (int)(a - pos) + 1 };
		size_t rest = b;
		while (rest < end && is_space(buf[rest]))
			rest++;
		if (rest < end && buf[rest] != '#') {
			char *bad = zs_xasprintf("%.*s", (int)(end - a), buf + a);
			zs_diag(d, &m, "prefix list: \"%s\": one address or prefix a line", bad);
			free(bad);
			errors++;
		} else if (b > a) {
			char *text = zs_xasprintf("%.*s", (int)(b - a), buf + a);
			if (prefix_at(text, &m, ZS_VEC_PUSH(out), d)) {
				out->n--;
				errors++;
			}
			free(text);
		}
		pos = end + 1;
	}
	if (errors) {
		out->n = n0;
		return -EINVAL;
	}
	return 0;
}

int zs_parse_prefix_arg(const char *s, size_t index, struct zs_prefix *out, struct zs_diags *d)
{
	char what[32];
	struct zs_mark m = { .file = what, .line = (int)index + 1, .col = 1 };

	snprintf(what, sizeof(what), "<arguments>");
	return prefix_at(s, &m, out, d);
}
