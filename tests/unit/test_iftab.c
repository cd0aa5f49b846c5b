// SPDX-License-Identifier: MIT
/*
 * The daemon's interface snapshot (userspace/datapath.c, zs_iftab): one
 * netlink dump answers name -> index and index -> name as the kernel does,
 * and says "none" for what the snapshot does not hold.
 */
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datapath/datapath.h"

static void test_snapshot_answers_as_the_kernel(void **state)
{
	struct zs_iftab t;
	struct if_nameindex *all = if_nameindex();
	(void)state;

	assert_non_null(all);
	assert_int_equal(zs_iftab_load(&t), 0);
	assert_true(t.n > 0); /* lo at least */
	for (struct if_nameindex *i = all; i->if_index; i++) {
		assert_int_equal(zs_iftab_index(&t, i->if_name), i->if_index);
		assert_string_equal(zs_iftab_name(&t, i->if_index), i->if_name);
	}
	assert_int_equal(zs_iftab_index(&t, "zs-no-such-if"), 0);
	assert_null(zs_iftab_name(&t, 0x7fffffff));
	zs_iftab_free(&t);
	zs_iftab_free(&t); /* freed twice: harmless, as after a failed load */
	if_freenameindex(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_answers_as_the_kernel),
	};
	return cmocka_run_group_tests_name("iftab", tests, NULL, NULL);
}
