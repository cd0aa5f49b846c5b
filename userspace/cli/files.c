// SPDX-License-Identifier: MIT
/*
 * The policy files a command is given: -f FILE, -f DIR (its .yaml, .yml and
 * .json files, sorted by name, hidden ones left out) or -f - (stdin), each
 * read whole into a {name, content} entry of the request's ZS_K_FILES list.
 * A file that cannot be read (permissions, a dangling link, an entry gone
 * since the directory was listed), is larger than ZS_MAX_POLICY_BYTES, or
 * is not UTF-8 text fails the whole command with "FILE:LINE:COL: why":
 * nothing is sent, so no apply ever goes ahead without one of its files.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "policy/parse.h"
#include "proto/proto.h"
#include "util/util.h"

static bool is_policy_file(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") || !strcmp(dot, ".json"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir(json_t *files, const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	ZS_VEC(char *) names = { 0 };
	int err = 0;

	if (!dir) {
		err = -errno;
		fprintf(stderr, "%s:1:1: cannot read the directory: %s\n", path, strerror(-err));
		return err;
	}
	for (errno = 0; (de = readdir(dir)); errno = 0)
		if (de->d_name[0] != '.' && is_policy_file(de->d_name))
			*ZS_VEC_PUSH(&names) = zs_xasprintf("%s/%s", path, de->d_name);
	if (errno) {
		err = -errno;
		fprintf(stderr, "%s:1:1: cannot list the directory: %s\n", path, strerror(-err));
	}
	closedir(dir);
	if (names.n)
		zs_qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		if (!err)
			err = cli_add_path(files, names.v[i]);
		free(names.v[i]);
	}
	free(names.v);
	return err;
}

/* 0 if `content` can go into the request as text; else -EINVAL after saying where it cannot. */
static int check_text(const char *name, const char *content, size_t len)
{
	size_t bad = zs_utf8_bad(content, len);
	int line, col;

	if (len > ZS_MAX_POLICY_BYTES) {
		fprintf(stderr, "%s:1:1: %zu bytes, more than the limit of %u\n", name, len,
			(unsigned)ZS_MAX_POLICY_BYTES);
		return -EFBIG;
	}
	if (bad == len)
		return 0;
	zs_text_pos(content, bad, &line, &col);
	fprintf(stderr, "%s:%d:%d: %s (byte 0x%02x at offset %zu)\n", name, line, col,
		content[bad] ? "not valid UTF-8" : "a NUL byte: not text", (unsigned char)content[bad], bad);
	return -EINVAL;
}

int cli_add_path(json_t *files, const char *path)
{
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	struct stat st;
	char *content;
	size_t len;
	json_t *f;
	int err;

	if (strcmp(path, "-") && !stat(path, &st) && S_ISDIR(st.st_mode))
		return add_dir(files, path);
	err = zs_read_file(path, &content, &len);
	if (err) {
		fprintf(stderr, "%s:1:1: cannot read: %s\n", name, strerror(-err));
		return err;
	}
	err = check_text(name, content, len);
	f = err ? NULL : json_pack("{s:s,s:s%}", ZS_K_FILE_NAME, name, ZS_K_FILE_CONTENT, content, len);
	free(content);
	if (!err && (!f || json_array_append_new(files, f))) {
		fprintf(stderr, "%s:1:1: cannot be sent\n", name);
		err = -ENOMEM;
	}
	return err;
}
