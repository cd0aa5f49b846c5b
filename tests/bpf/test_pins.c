// SPDX-License-Identifier: MIT
/*
 * The datapath's pins under a bpffs directory of their own: zs_dp_open
 * mounts bpffs there and pins its maps, and zs_dp_unpin removes exactly
 * what the open pinned (the names come from the skeleton, not from a list
 * kept by hand): the directory is left as it was when mounted, bpffs's own
 * entries included. A second unpin finds nothing and is harmless.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <cmocka.h>

#include "datapath/datapath.h"

static char dir[] = "/tmp/zs-pins.XXXXXX";

/* The names in `dir`, sorted, one space after each. */
static char *listing(void)
{
	struct dirent **e;
	int n = scandir(dir, &e, NULL, alphasort);
	size_t len = 0, cap = 1;
	char *s;

	assert_true(n >= 0);
	for (int i = 0; i < n; i++)
		cap += strlen(e[i]->d_name) + 1;
	s = calloc(1, cap);
	for (int i = 0; i < n; i++) {
		if (strcmp(e[i]->d_name, ".") && strcmp(e[i]->d_name, ".."))
			len += (size_t)sprintf(s + len, "%s ", e[i]->d_name);
		free(e[i]);
	}
	free(e);
	return s;
}

static void test_unpin_removes_what_open_pinned(void **state)
{
	struct zs_dp dp;
	(void)state;

	assert_int_equal(zs_bpffs_ensure(dir), 0);
	char *empty = listing();
	assert_int_equal(zs_dp_open(&dp, dir), 0);
	zs_dp_close(&dp);
	char *pinned = listing();
	printf("bpffs as mounted: %s\npinned after open: %s\n", empty, pinned);
	assert_true(strlen(pinned) > strlen(empty));
	assert_non_null(strstr(pinned, "zs_ct ")); /* the daemon's flows survive a restart */
	assert_non_null(strstr(pinned, "zs_ct4 ")); /* its IPv4 flows too */
	assert_non_null(strstr(pinned, "zs_config "));

	assert_int_equal(zs_dp_unpin(dir), 0);
	char *after = listing();
	assert_string_equal(after, empty);
	assert_int_equal(zs_dp_unpin(dir), 0); /* nothing left to remove */
	char *again = listing();
	assert_string_equal(again, empty);
	free(empty);
	free(pinned);
	free(after);
	free(again);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	umount2(dir, MNT_DETACH);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unpin_removes_what_open_pinned),
	};
	return cmocka_run_group_tests_name("datapath pins", tests, setup, teardown);
}
