/* test_reconcile.c - what the routing reconcile reports and follows,
 * without a kernel: the repair lines, completeness per uplink and family,
 * following a link into the record (a given gateway stays, a family is
 * never added), and the lines that say what moved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "repair.h"
#include "route.h"

static __u32 ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void test_repair_lines(void **state)
{
	struct route_uplink_check c = { .restored_routes = 2,
					.restored_rules = 1 };
	char buf[128];

	(void)state;
	assert_true(route_describe_repair(&c, 7101, buf, sizeof(buf)));
	assert_string_equal(buf, "table 7101 restored (2 routes, 1 rule)");
	c = (struct route_uplink_check){ .removed = 1 };
	assert_true(route_describe_repair(&c, 7102, buf, sizeof(buf)));
	assert_string_equal(buf, "table 7102: 1 stale object removed");
	c = (struct route_uplink_check){ .restored_routes = 1, .removed = 2 };
	assert_true(route_describe_repair(&c, 7100, buf, sizeof(buf)));
	assert_string_equal(buf, "table 7100 restored (1 route, 0 rules; "
			    "2 stale objects removed)");
	c = (struct route_uplink_check){ .missing = { 3, 0 } };
	assert_false(route_describe_repair(&c, 7100, buf, sizeof(buf)));
}

static void test_complete_per_family(void **state)
{
	struct route_check c = { 0 };
	struct mlb_state s = { .nuplinks = 2 };

	(void)state;
	assert_true(route_complete(&s, &c));
	c.up[1].missing[1] = 2;		/* IPv6 of uplink 1 */
	assert_true(route_uplink_complete(&c, 1, AF_INET));
	assert_false(route_uplink_complete(&c, 1, AF_INET6));
	assert_false(route_uplink_complete(&c, 1, AF_UNSPEC));
	assert_true(route_uplink_complete(&c, 0, AF_UNSPEC));
	assert_false(route_complete(&s, &c));
	c.up[1].missing[1] = 0;
	c.shared.missing[0] = 1;	/* rule P */
	assert_false(route_complete(&s, &c));
}

static void test_follow_link(void **state)
{
	struct mlb_state_uplink u = {
		.ifindex = 4, .addr = ip4("10.0.0.2"), .prefixlen = 24,
		.gateway = ip4("10.0.0.1"),
	};
	struct mlb_link_info link = {
		.ifindex = 9, .has_addr4 = true, .prefixlen = 16,
		.has_gateway = true, .has_addr6 = true,
	};

	(void)state;
	link.addr.s_addr = ip4("10.1.0.2");
	link.gateway.s_addr = ip4("10.1.0.1");
	route_follow_link(&u, &link);
	assert_int_equal(u.ifindex, 9);
	assert_int_equal(u.addr, ip4("10.1.0.2"));
	assert_int_equal(u.prefixlen, 16);
	assert_int_equal(u.gateway, ip4("10.1.0.1"));
	/* IPv6 was not carried: not added */
	assert_true(mlb_addr_is_none(u.addr6));
	/* a given gateway stays; no address keeps the old one */
	u.gateway_given = 1;
	link.gateway.s_addr = ip4("10.1.0.254");
	route_follow_link(&u, &link);
	assert_int_equal(u.gateway, ip4("10.1.0.1"));
	link.has_addr4 = false;
	route_follow_link(&u, &link);
	assert_int_equal(u.addr, ip4("10.1.0.2"));
}

static void test_move_lines(void **state)
{
	struct mlb_state_uplink u = {
		.ifindex = 4, .addr = ip4("10.0.0.2"), .prefixlen = 24,
		.gateway = ip4("10.0.0.1"),
	};
	struct mlb_state_uplink n = u;
	char buf[256];

	(void)state;
	assert_false(repair_describe_move(&u, &n, buf, sizeof(buf)));
	n.ifindex = 7;
	assert_true(repair_describe_move(&u, &n, buf, sizeof(buf)));
	assert_string_equal(buf, "interface index 7 (was 4)");
	n.gateway = ip4("10.0.0.254");
	assert_true(repair_describe_move(&u, &n, buf, sizeof(buf)));
	assert_string_equal(buf, "now 10.0.0.2/24 via 10.0.0.254, "
			    "interface index 7 (was 4)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repair_lines),
		cmocka_unit_test(test_complete_per_family),
		cmocka_unit_test(test_follow_link),
		cmocka_unit_test(test_move_lines),
	};

	return cmocka_run_group_tests_name("reconcile", tests, NULL, NULL);
}
