/* test_options.c - uplink specs, numbers, mark arithmetic, tables and
 * priorities: what is accepted, and what each refusal says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "options.h"

static struct mlb_err err;

#define assert_error_says(text) \
	assert_non_null(strstr(err.msg, (text)))

static void test_uplink_plain(void **state)
{
	struct mlb_uplink_spec u;

	(void)state;
	assert_int_equal(mlb_parse_uplink("eth0", &u, &err), 0);
	assert_string_equal(u.ifname, "eth0");
	assert_int_equal(u.weight, 1);
	assert_false(u.has_gateway);
}

static void test_uplink_with_keys_in_any_order(void **state)
{
	struct mlb_uplink_spec u;
	struct in_addr gw;

	(void)state;
	inet_pton(AF_INET, "10.25.0.254", &gw);
	assert_int_equal(mlb_parse_uplink("eth1,weight=3,gateway=10.25.0.254",
					  &u, &err), 0);
	assert_string_equal(u.ifname, "eth1");
	assert_int_equal(u.weight, 3);
	assert_true(u.has_gateway);
	assert_int_equal(u.gateway.s_addr, gw.s_addr);
	assert_int_equal(mlb_parse_uplink("wlan0,gateway=10.25.0.254,weight=1000",
					  &u, &err), 0);
	assert_int_equal(u.weight, 1000);
	assert_int_equal(u.gateway.s_addr, gw.s_addr);
}

static void test_uplink_bad_weights(void **state)
{
	const char *bad[] = { "0", "-1", "abc", "1001", "3x", "", "+3", " 3",
			      "99999999999999999999" };
	struct mlb_uplink_spec u;
	char arg[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(arg, sizeof(arg), "eth0,weight=%s", bad[i]);
		assert_int_equal(mlb_parse_uplink(arg, &u, &err), -1);
		assert_error_says("weight must be an integer from 1 to 1000");
		assert_error_says(arg);
	}
}

static void test_uplink_bad_specs(void **state)
{
	struct mlb_uplink_spec u;

	(void)state;
	assert_int_equal(mlb_parse_uplink("eth0,foo=1", &u, &err), -1);
	assert_error_says("unknown key \"foo\"");
	assert_int_equal(mlb_parse_uplink("eth0,gateway=1.2.3", &u, &err), -1);
	assert_error_says("gateway \"1.2.3\" is not an IPv4 address");
	assert_int_equal(mlb_parse_uplink("eth0,gateway=2001:db8::1", &u, &err),
			 -1);
	assert_error_says("not an IPv4 address");
	assert_int_equal(mlb_parse_uplink("eth0,weight=2,weight=3", &u, &err),
			 -1);
	assert_error_says("weight is given twice");
	assert_int_equal(mlb_parse_uplink("", &u, &err), -1);
	assert_error_says("not an interface name");
	assert_int_equal(mlb_parse_uplink(",weight=2", &u, &err), -1);
	assert_int_equal(mlb_parse_uplink("averyveryverylongname0", &u, &err),
			 -1);
	assert_int_equal(mlb_parse_uplink("eth0,", &u, &err), -1);
	assert_int_equal(mlb_parse_uplink("eth0,weight", &u, &err), -1);
	assert_error_says("not key=value");
}

static void test_uplink_health_keys(void **state)
{
	struct mlb_uplink_spec u;
	struct in_addr a, b;

	(void)state;
	inet_pton(AF_INET, "198.51.100.7", &a);
	inet_pton(AF_INET, "203.0.113.9", &b);
	assert_int_equal(mlb_parse_uplink("eth0,probe=198.51.100.7,203.0.113.9,"
					  "probe-type=tcp:443,interval=0.25,"
					  "timeout=2,down=5,up=1,weight=2",
					  &u, &err), 0);
	assert_int_equal(u.nprobes, 2);
	assert_int_equal(u.probes[0].s_addr, a.s_addr);
	assert_int_equal(u.probes[1].s_addr, b.s_addr);
	assert_int_equal(u.probe_type, MLB_PROBE_TCP);
	assert_int_equal(u.probe_port, 443);
	assert_int_equal(u.interval_ms, 250);
	assert_int_equal(u.timeout_ms, 2000);
	assert_int_equal(u.down, 5);
	assert_int_equal(u.up, 1);
	assert_int_equal(u.weight, 2);
	assert_int_equal(mlb_parse_uplink("eth0,probe-type=arp", &u, &err), 0);
	assert_int_equal(u.probe_type, MLB_PROBE_ARP);
	assert_int_equal(u.nprobes, 0);		/* the gateway, later */
	assert_int_equal(mlb_parse_uplink("eth0,probe-type=icmp", &u, &err), 0);
	assert_int_equal(u.probe_type, MLB_PROBE_ICMP);
}

static void test_uplink_bad_health_keys(void **state)
{
	struct mlb_uplink_spec u;

	(void)state;
	assert_int_equal(mlb_parse_uplink("eth0,probe-type=udp", &u, &err), -1);
	assert_error_says("must be icmp, tcp:PORT or arp");
	assert_int_equal(mlb_parse_uplink("eth0,probe-type=tcp:0", &u, &err), -1);
	assert_int_equal(mlb_parse_uplink("eth0,probe-type=tcp:", &u, &err), -1);
	assert_int_equal(mlb_parse_uplink("eth0,probe=example.com", &u, &err), -1);
	assert_error_says("probe \"example.com\" is not an IPv4 address");
	assert_int_equal(mlb_parse_uplink("eth0,probe=1.1.1.1,2.2.2.2,3.3.3.3,"
					  "4.4.4.4,5.5.5.5", &u, &err), -1);
	assert_error_says("at most 4 probe addresses");
	assert_int_equal(mlb_parse_uplink("eth0,weight=2,1.1.1.1", &u, &err), -1);
	assert_error_says("is not key=value");
	assert_int_equal(mlb_parse_uplink("eth0,down=0", &u, &err), -1);
	assert_error_says("down must be an integer from 1 to 100");
	assert_int_equal(mlb_parse_uplink("eth0,up=101", &u, &err), -1);
	assert_int_equal(mlb_parse_uplink("eth0,interval=0", &u, &err), -1);
	assert_error_says("must be a number of seconds");
	assert_int_equal(mlb_parse_uplink("eth0,interval=-1", &u, &err), -1);
	assert_int_equal(mlb_parse_uplink("eth0,timeout=1.2345", &u, &err), -1);
	assert_int_equal(mlb_parse_uplink("eth0,timeout=3601", &u, &err), -1);
	assert_int_equal(mlb_parse_uplink("eth0,interval=1s", &u, &err), -1);
	assert_int_equal(mlb_parse_uplink("eth0,probe=1.1.1.1,probe=2.2.2.2",
					  &u, &err), -1);
	assert_error_says("probe is given twice");
}

static void test_seconds(void **state)
{
	unsigned ms;

	(void)state;
	assert_int_equal(mlb_parse_seconds("1", "--interval", &ms, &err), 0);
	assert_int_equal(ms, 1000);
	assert_int_equal(mlb_parse_seconds("0.001", "--interval", &ms, &err), 0);
	assert_int_equal(ms, 1);
	assert_int_equal(mlb_parse_seconds("3600", "--interval", &ms, &err), 0);
	assert_int_equal(ms, 3600000);
	assert_int_equal(mlb_parse_seconds("2.5", "--timeout", &ms, &err), 0);
	assert_int_equal(ms, 2500);
	assert_int_equal(mlb_parse_seconds("0.0", "--timeout", &ms, &err), -1);
	assert_error_says("--timeout \"0.0\" must be a number of seconds");
	assert_int_equal(mlb_parse_seconds(".5", "--timeout", &ms, &err), -1);
	assert_int_equal(mlb_parse_seconds("5.", "--timeout", &ms, &err), -1);
	assert_int_equal(mlb_parse_seconds("99999999999", "--timeout", &ms,
					   &err), -1);
}

static void test_dest_rules(void **state)
{
	struct mlb_dest_spec d;
	struct in_addr net;

	(void)state;
	inet_pton(AF_INET, "10.1.0.0", &net);
	assert_int_equal(mlb_parse_dest("10.1.2.3/16", MLB_DEST_BYPASS, &d,
					&err), 0);
	assert_int_equal(d.family, AF_INET);
	assert_memory_equal(d.addr, &net, 4);	/* host bits cleared */
	assert_int_equal(d.prefixlen, 16);
	assert_int_equal(d.action, MLB_DEST_BYPASS);
	assert_int_equal(mlb_parse_dest("192.0.2.7", MLB_DEST_BYPASS, &d, &err),
			 0);
	assert_int_equal(d.prefixlen, 32);
	assert_int_equal(mlb_parse_dest("0.0.0.0/0", MLB_DEST_BYPASS, &d, &err),
			 0);
	assert_memory_equal(d.addr, &(uint32_t){ 0 }, 4);
	assert_int_equal(mlb_parse_dest("203.0.113.0/24:wlan0", MLB_DEST_PIN,
					&d, &err), 0);
	assert_string_equal(d.ifname, "wlan0");
	assert_int_equal(d.prefixlen, 24);

	assert_int_equal(mlb_parse_dest("10.0.0.0/33", MLB_DEST_BYPASS, &d,
					&err), -1);
	assert_error_says("prefix length must be 0 to 32");
	assert_int_equal(mlb_parse_dest("10.0.0/8", MLB_DEST_BYPASS, &d, &err),
			 -1);
	assert_error_says("is not an IPv4 or IPv6 address");
	assert_int_equal(mlb_parse_dest("10.0.0.0/8", MLB_DEST_PIN, &d, &err),
			 -1);
	assert_error_says("--pin \"10.0.0.0/8\" must be PREFIX:IFACE");
	assert_int_equal(mlb_parse_dest("10.0.0.0/8:", MLB_DEST_PIN, &d, &err),
			 -1);
	assert_int_equal(mlb_parse_dest("10.0.0.0/x", MLB_DEST_BYPASS, &d,
					&err), -1);
}

static void test_dest_rules_ipv6(void **state)
{
	struct mlb_dest_spec d;
	struct in6_addr net;

	(void)state;
	inet_pton(AF_INET6, "2001:db8:a:b0::", &net);
	assert_int_equal(mlb_parse_dest("2001:db8:a:bc::1/60", MLB_DEST_BYPASS,
					&d, &err), 0);
	assert_int_equal(d.family, AF_INET6);
	assert_int_equal(d.prefixlen, 60);
	assert_memory_equal(d.addr, &net, 16);	/* host bits cleared */
	assert_int_equal(mlb_parse_dest("2001:db8::7", MLB_DEST_BYPASS, &d,
					&err), 0);
	assert_int_equal(d.prefixlen, 128);
	/* a pin's interface follows the last ':' */
	assert_int_equal(mlb_parse_dest("2001:db8::/32:wlan0", MLB_DEST_PIN,
					&d, &err), 0);
	assert_string_equal(d.ifname, "wlan0");
	assert_int_equal(d.prefixlen, 32);
	assert_int_equal(mlb_parse_dest("2001:db8::1:eth1", MLB_DEST_PIN, &d,
					&err), 0);
	assert_string_equal(d.ifname, "eth1");
	assert_int_equal(d.prefixlen, 128);

	assert_int_equal(mlb_parse_dest("2001:db8::/129", MLB_DEST_BYPASS, &d,
					&err), -1);
	assert_error_says("prefix length must be 0 to 128");
	assert_int_equal(mlb_parse_dest("2001:db8:::1", MLB_DEST_BYPASS, &d,
					&err), -1);
	assert_error_says("is not an IPv4 or IPv6 address");
}

static void test_uplink_set(void **state)
{
	struct mlb_uplink_spec u;

	(void)state;
	mlb_parse_uplink("eth0", &u, &err);
	assert_int_equal(mlb_uplink_set(&u, "weight", "7", &err), 0);
	assert_int_equal(u.weight, 7);
	assert_int_equal(mlb_uplink_set(&u, "probe", "192.0.2.1, 192.0.2.9",
					&err), 0);
	assert_int_equal(u.nprobes, 2);
	assert_int_equal(mlb_uplink_set(&u, "gateway6", "fe80::1", &err), 0);
	assert_true(u.has_gateway6);
	assert_int_equal(mlb_uplink_set(&u, "gateway6", "192.0.2.1", &err), -1);
	assert_error_says("gateway6 \"192.0.2.1\" is not an IPv6 address");
	assert_int_equal(mlb_uplink_set(&u, "colour", "red", &err), -1);
	assert_error_says("uplink \"eth0\": unknown key \"colour\"");
	assert_int_equal(mlb_uplink_set(&u, "weight", "0", &err), -1);
}

static void test_duplicates(void **state)
{
	struct mlb_uplink_spec u[3];

	(void)state;
	mlb_parse_uplink("eth0", &u[0], &err);
	mlb_parse_uplink("eth1", &u[1], &err);
	mlb_parse_uplink("eth0,weight=2", &u[2], &err);
	assert_int_equal(mlb_check_duplicates(u, 2, &err), 0);
	assert_int_equal(mlb_check_duplicates(u, 3, &err), -1);
	assert_error_says("uplink \"eth0\" is given twice");
}

static void test_lan(void **state)
{
	char names[MLB_MAX_LAN][IF_NAMESIZE];
	char name[IF_NAMESIZE];
	unsigned n = 0;

	(void)state;
	assert_int_equal(mlb_add_lan(names, &n, "br-lan", &err), 0);
	assert_int_equal(mlb_add_lan(names, &n, "lan0", &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "lan0");
	assert_int_equal(mlb_add_lan(names, &n, "lan0", &err), -1);
	assert_error_says("--lan \"lan0\" is given twice");
	assert_int_equal(mlb_add_lan(names, &n, "a/b", &err), -1);
	assert_error_says("--lan \"a/b\" is not an interface name");
	assert_int_equal(mlb_add_lan(names, &n, "", &err), -1);
	assert_error_says("--lan \"\" is not an interface name");
	assert_int_equal(mlb_add_lan(names, &n, "abcdefghijklmnop", &err), -1);
	assert_error_says("--lan \"abcdefghijklmnop\" is not an interface "
			  "name");
	while (n < MLB_MAX_LAN) {
		snprintf(name, sizeof(name), "l%u", n);
		assert_int_equal(mlb_add_lan(names, &n, name, &err), 0);
	}
	assert_int_equal(mlb_add_lan(names, &n, "one-more", &err), -1);
	assert_error_says("at most 8 --lan interfaces");
	assert_int_equal(n, MLB_MAX_LAN);
}

static void test_numbers(void **state)
{
	uint32_t v;

	(void)state;
	assert_int_equal(mlb_parse_u32("7100", "--table-base", &v, &err), 0);
	assert_int_equal(v, 7100);
	assert_int_equal(mlb_parse_u32("0xff", "--mark-mask", &v, &err), 0);
	assert_int_equal(v, 0xff);
	assert_int_equal(mlb_parse_u32("4294967295", "--x", &v, &err), 0);
	assert_int_equal(v, 4294967295u);
	assert_int_equal(mlb_parse_u32("4294967296", "--x", &v, &err), -1);
	assert_error_says("out of range");
	assert_int_equal(mlb_parse_u32("zz", "--mark-base", &v, &err), -1);
	assert_error_says("--mark-base \"zz\" is not a number");
	assert_int_equal(mlb_parse_u32("-1", "--x", &v, &err), -1);
	assert_int_equal(mlb_parse_u32("", "--x", &v, &err), -1);
	assert_int_equal(mlb_parse_u32("0x", "--x", &v, &err), -1);
	assert_int_equal(mlb_parse_u32("12 ", "--x", &v, &err), -1);
}

static void test_marks(void **state)
{
	uint32_t m[MLB_MAX_UPLINKS];

	(void)state;
	assert_int_equal(mlb_assign_marks(0x10, 0xff, 3, m, &err), 0);
	assert_int_equal(m[0], 0x10);
	assert_int_equal(m[1], 0x11);
	assert_int_equal(m[2], 0x12);
	/* Step is the lowest bit of the mask. */
	assert_int_equal(mlb_assign_marks(0x100000, 0xf00000, 2, m, &err), 0);
	assert_int_equal(m[1], 0x200000);
	/* 64 uplinks fit the default mask. */
	assert_int_equal(mlb_assign_marks(0x10, 0xff, 64, m, &err), 0);
	assert_int_equal(m[63], 0x4f);
}

static void test_bad_marks(void **state)
{
	uint32_t m[MLB_MAX_UPLINKS];

	(void)state;
	assert_int_equal(mlb_assign_marks(0x300, 0xff, 2, m, &err), -1);
	assert_error_says("--mark-base 0x300 is outside --mark-mask 0xff");
	assert_int_equal(mlb_assign_marks(0xff, 0xff, 2, m, &err), -1);
	assert_error_says("2 uplinks need marks up to 0x100, outside "
			  "--mark-mask 0xff");
	assert_int_equal(mlb_assign_marks(0x10, 0, 2, m, &err), -1);
	assert_error_says("--mark-mask must not be 0");
	assert_int_equal(mlb_assign_marks(0, 0xff, 2, m, &err), -1);
	assert_error_says("--mark-base must not be 0");
	assert_int_equal(mlb_assign_marks(0x110000, 0xf00000, 2, m, &err), -1);
	assert_int_equal(mlb_assign_marks(0xf0000000, 0xf0000000, 2, m, &err),
			 -1);
	assert_error_says("outside --mark-mask");
}

static void test_tables(void **state)
{
	uint32_t t[MLB_MAX_UPLINKS];

	(void)state;
	assert_int_equal(mlb_assign_tables(7100, 2, t, &err), 0);
	assert_int_equal(t[0], 7100);
	assert_int_equal(t[1], 7101);
	assert_int_equal(mlb_assign_tables(1, 2, t, &err), 0);
	assert_int_equal(mlb_assign_tables(256, 64, t, &err), 0);
	assert_int_equal(mlb_assign_tables(252, 2, t, &err), -1);
	assert_error_says("tables 252..253 include reserved table 253 (default)");
	assert_int_equal(mlb_assign_tables(254, 1, t, &err), -1);
	assert_error_says("(main)");
	assert_int_equal(mlb_assign_tables(0, 2, t, &err), -1);
	assert_error_says("reserved table 0");
	assert_int_equal(mlb_assign_tables(0xfffffffe, 2, t, &err), -1);
	assert_error_says("largest table id");
}

static void test_priority(void **state)
{
	(void)state;
	assert_int_equal(mlb_check_priority(7100, &err), 0);
	assert_int_equal(mlb_check_priority(1, &err), 0);
	assert_int_equal(mlb_check_priority(32762, &err), 0);
	assert_int_equal(mlb_check_priority(32763, &err), -1);
	assert_error_says("no room for 4 rules before main (32766)");
	assert_int_equal(mlb_check_priority(0, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uplink_plain),
		cmocka_unit_test(test_uplink_with_keys_in_any_order),
		cmocka_unit_test(test_uplink_bad_weights),
		cmocka_unit_test(test_uplink_bad_specs),
		cmocka_unit_test(test_uplink_health_keys),
		cmocka_unit_test(test_uplink_bad_health_keys),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_dest_rules),
		cmocka_unit_test(test_dest_rules_ipv6),
		cmocka_unit_test(test_uplink_set),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_lan),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_bad_marks),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_priority),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
