// SPDX-License-Identifier: MIT
/*
 * The policy files a command is given: -f FILE, -f DIR (its .yaml, .yml and
 * .json files, sorted by name, hidden ones left out) or -f - (stdin), each
 * read whole into a {name, content} entry of the request's ZS_K_FILES list.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
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
		fprintf(stderr, "zeroseg: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.' && is_policy_file(de->d_name))
			*ZS_VEC_PUSH(&names) = zs_xasprintf("%s/%s", path, de->d_name);
	closedir(dir);
	qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < names.n; i++) {
		if (!err)
			err = cli_add_path(files, names.v[i]);
		free(names.v[i]);
	}
	free(names.v);
	return err;
}

int cli_add_path(json_t *files, const char *path)
{
	struct stat st;
	char *content;
	int err;

	if (strcmp(path, "-") && !stat(path, &st) && S_ISDIR(st.st_mode))
		return add_dir(files, path);
	err = zs_read_file(path, &content, NULL);
	if (err) {
		fprintf(stderr, "zeroseg: %s: %s\n", path, strerror(-err));
		return err;
	}
	json_array_append_new(files, json_pack("{s:s,s:s}", ZS_K_FILE_NAME, strcmp(path, "-") ? path : "<stdin>",
					       ZS_K_FILE_CONTENT, content));
	free(content);
	return 0;
}
