// SPDX-License-Identifier: MIT
/*
 * Unit tests for the files the daemon creates (util/file.c, the flow log in
 * telemetry/jsonl.c): they are made 0600 whatever the umask and never through
 * a symlink (a dangling link planted at the path must not make root create
 * its target); the state directory's lock is held by one opener at a time,
 * the refused one learning the holder's pid.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/fixture.h"
#include "telemetry/jsonl.h"
#include "util/util.h"

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 0777;
}

/* The flow log: made 0600 even under umask 0. */
static void test_flow_log_is_0600(void **state)
{
	struct fx_tmpdir *t = *state;
	char *path = zs_xasprintf("%s/flows.jsonl", t->path);
	mode_t mask = umask(0);
	struct zs_jsonl log;

	assert_int_equal(zs_jsonl_open(&log, path, 0, 0), 0);
	zs_jsonl_write(&log, "{}\n", 3);
	zs_jsonl_close(&log);
	umask(mask);
	assert_int_equal(mode_of(path), 0600);
	free(path);
}

/* A dangling symlink at the flow log's path: refused, its target never made. */
static void test_flow_log_refuses_symlink(void **state)
{
	struct fx_tmpdir *t = *state;
	char *path = zs_xasprintf("%s/flows.jsonl", t->path);
	char *target = zs_xasprintf("%s/planted", t->path);
	struct zs_jsonl log;

	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(zs_jsonl_open(&log, path, 0, 0), -ELOOP);
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	free(target);
	free(path);
}

/* A state file written atomically: 0600, and a symlink at its path is replaced, not followed. */
static void test_write_atomic_is_0600_and_replaces_symlink(void **state)
{
	struct fx_tmpdir *t = *state;
	char *path = zs_xasprintf("%s/state.json", t->path);
	char *target = zs_xasprintf("%s/planted", t->path);
	mode_t mask = umask(0);

	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(zs_write_atomic(path, "{}\n", 3), 0);
	umask(mask);
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(mode_of(path), 0600); /* lstat: a regular file now */
	free(target);
	free(path);
}

/* One holder at a time; the refused learns its pid; closing releases it. */
static void test_lock_one_holder(void **state)
{
	struct fx_tmpdir *t = *state;
	char *path = zs_xasprintf("%s/lock", t->path);
	int fd = -1, fd2 = -1, holder = -1;

	assert_int_equal(zs_lock_file(path, &fd, &holder), 0);
	assert_true(fd >= 0);
	assert_int_equal(mode_of(path), 0600);
	/* flock is per open file: a second open, even in this process, is refused. */
	assert_int_equal(zs_lock_file(path, &fd2, &holder), -EWOULDBLOCK);
	assert_int_equal(fd2, -1);
	assert_int_equal(holder, (int)getpid());
	close(fd);
	assert_int_equal(zs_lock_file(path, &fd2, &holder), 0);
	close(fd2);
	free(path);
}

/* The lock file is never opened through a symlink. */
static void test_lock_refuses_symlink(void **state)
{
	struct fx_tmpdir *t = *state;
	char *path = zs_xasprintf("%s/lock", t->path);
	char *target = zs_xasprintf("%s/planted", t->path);
	int fd = -1, holder;

	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(zs_lock_file(path, &fd, &holder), -ELOOP);
	assert_int_equal(access(target, F_OK), -1);
	free(target);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flow_log_is_0600, fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_flow_log_refuses_symlink, fx_tmpdir_setup,
						fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_is_0600_and_replaces_symlink,
						fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_lock_one_holder, fx_tmpdir_setup, fx_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_lock_refuses_symlink, fx_tmpdir_setup,
						fx_tmpdir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
