/* test_metrics_http.c - the --metrics-listen address: IPv4 ADDR:PORT and
 * IPv6 [ADDR]:PORT are taken, anything else refused with one line naming
 * what was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "metrics_http.h"

static void test_ipv4(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	struct mlb_err err;
	socklen_t len;

	(void)state;
	assert_int_equal(metrics_http_parse("127.0.0.1:9377", &ss, &len, &err),
			 0);
	assert_int_equal(a->sin_family, AF_INET);
	assert_int_equal(len, sizeof(*a));
	assert_int_equal(ntohs(a->sin_port), 9377);
	assert_int_equal(ntohl(a->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(metrics_http_parse("0.0.0.0:65535", &ss, &len, &err),
			 0);
	assert_int_equal(ntohs(a->sin_port), 65535);
}

static void test_ipv6(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
	struct mlb_err err;
	socklen_t len;

	(void)state;
	assert_int_equal(metrics_http_parse("[::1]:1", &ss, &len, &err), 0);
	assert_int_equal(a->sin6_family, AF_INET6);
	assert_int_equal(len, sizeof(*a));
	assert_int_equal(ntohs(a->sin6_port), 1);
	assert_true(IN6_IS_ADDR_LOOPBACK(&a->sin6_addr));
	assert_int_equal(metrics_http_parse("[::]:9377", &ss, &len, &err), 0);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr));
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"", ":", ":9377", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80",
		"127.0.0.1: 80", "127.0.0.1:80x", "localhost:80", "::1:80",
		"[::1]", "[::1]80", "[::1]:", "[127.0.0.1]:80", "[::1:80",
		"1.2.3:80", "1.2.3.4.5:80", "[::1]:99999999999999999999",
		"[0123456789012345678901234567890123456789012345678]:80",
	};
	struct sockaddr_storage ss;
	struct mlb_err err;
	socklen_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[128];

		err.msg[0] = 0;
		assert_int_equal(metrics_http_parse(bad[i], &ss, &len, &err),
				 -1);
		snprintf(want, sizeof(want), "--metrics-listen \"%s\" must be",
			 bad[i]);
		assert_non_null(strstr(err.msg, want));
		assert_null(strchr(err.msg, '\n'));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests_name("metrics_http", tests, NULL, NULL);
}
