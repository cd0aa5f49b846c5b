// SPDX-License-Identifier: MIT
/* Flow record filters; see flowfilter.h. */
#define _GNU_SOURCE
#include "telemetry/flowfilter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void zs_flow_filter_init(struct zs_flow_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->port = -1;
}

void zs_flow_filter_free(struct zs_flow_filter *f)
{
	zs_labels_free(&f->from.labels);
	zs_labels_free(&f->to.labels);
}

int zs_end_match_parse(struct zs_end_match *m, const char *s)
{
	if (!*s)
		return -EINVAL;
	if (!zs_prefix_parse(s, &m->cidr, true)) {
		m->kind = ZS_END_CIDR;
		return 0;
	}
	/* An address with a bad prefix length is a typo, not a workload named "33". */
	const char *slash = strchr(s, '/');
	if (slash) {
		char addr[INET6_ADDRSTRLEN];
		unsigned char buf[16];
		size_t n = (size_t)(slash - s);
		if (n < sizeof(addr)) {
			memcpy(addr, s, n);
			addr[n] = '\0';
			if (inet_pton(AF_INET, addr, buf) == 1 || inet_pton(AF_INET6, addr, buf) == 1)
				return -EINVAL;
		}
	}
	if (strchr(s, '=')) {
		char *copy = zs_xstrdup(s), *save = NULL;
		for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(kv, '=');
			if (!eq || eq == kv) {
				free(copy);
				return -EINVAL;
			}
			*eq = '\0';
			zs_labels_set(&m->labels, kv, eq + 1);
		}
		free(copy);
		m->kind = ZS_END_SELECTOR;
		return 0;
	}
	if (strlen(s) >= sizeof(m->workload))
		return -EINVAL;
	strcpy(m->workload, s);
	m->kind = ZS_END_WORKLOAD;
	return 0;
}

int zs_flow_filter_since(struct zs_flow_filter *f, const char *s, uint64_t now_ns)
{
	char *end;
	double v = strtod(s, &end);
	uint64_t unit = 0;

	if (end != s && end[0] && !end[1]) {
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: break;
		}
	}
	if (unit && v >= 0) {
		double back = v * (double)unit * 1e9; /* converted only when it fits (found by fuzzing) */
		zs_rfc3339(back < (double)now_ns ? now_ns - (uint64_t)back : 0, f->since, sizeof(f->since));
		return 0;
	}
	/* An RFC 3339 UTC time, compared as text (the records' format is fixed width). */
	if (strlen(s) < 20 || strlen(s) >= sizeof(f->since) || s[4] != '-' || s[10] != 'T')
		return -EINVAL;
	strcpy(f->since, s);
	return 0;
}

static bool end_matches(const struct zs_end_match *m, json_t *end)
{
	const char *wl = json_string_value(json_object_get(end, "workload"));

	switch (m->kind) {
	case ZS_END_ANY:
		return true;
	case ZS_END_WORKLOAD: {
		if (!wl)
			return false;
		if (strchr(m->workload, '/'))
			return !strcmp(wl, m->workload);
		const char *slash = strchr(wl, '/');
		return !strcmp(slash ? slash + 1 : wl, m->workload);
	}
	case ZS_END_SELECTOR: {
		json_t *labels = json_object_get(end, "labels");
		for (size_t i = 0; i < m->labels.n; i++) {
			const char *v = json_string_value(json_object_get(labels, m->labels.v[i].key));
			if (!v || strcmp(v, m->labels.v[i].value))
				return false;
		}
		return true;
	}
	case ZS_END_CIDR: {
		struct zs_prefix a;
		const char *ip = json_string_value(json_object_get(end, "ip"));
		return ip && !zs_prefix_parse(ip, &a, false) && zs_prefix_contains(&m->cidr, &a);
	}
	}
	return false;
}

bool zs_flow_filter_match(const struct zs_flow_filter *f, json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	const char *t = json_string_value(json_object_get(rec, "time"));

	if (f->type && (!type || strcasecmp(type, f->type)))
		return false;
	if (f->since[0] && (!t || strcmp(t, f->since) < 0))
		return false;
	/* Loss and tampering are shown unless another type was asked for. */
	if (type && (!strcmp(type, "lost") || !strcmp(type, "tamper")))
		return !f->verdict && !f->protocol && f->port < 0 && !f->from.kind && !f->to.kind;
	if (f->verdict && strcmp(json_string_value(json_object_get(rec, "verdict")) ?: "", f->verdict))
		return false;
	if (f->protocol) {
		json_t *p = json_object_get(rec, "protocol");
		char num[16];
		const char *ps = json_is_string(p) ? json_string_value(p) : num;
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(p));
		if (strcasecmp(ps, f->protocol))
			return false;
	}
	json_t *src = json_object_get(rec, "src"), *dst = json_object_get(rec, "dst");
	if (f->port >= 0 && json_integer_value(json_object_get(dst, "port")) != f->port)
		return false;
	return end_matches(&f->from, src) && end_matches(&f->to, dst);
}
