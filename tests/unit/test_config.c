/* test_config.c - the configuration file: what a valid file gives, the
 * defaults, how inih's lines are read (comments, continuations, long
 * lines), every refusal with its line and message, the attach request of
 * a policy, and the example file shipped in examples/.
 *
 * Run from the top of the source tree (tests/run.sh does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "config.h"

#define EXAMPLE "examples/mlb-bpf.conf"

static struct mlb_config_file *cf;
static struct mlb_err err;

static int setup(void **state)
{
	(void)state;
	cf = calloc(1, sizeof(*cf));
	return cf ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(cf);
	return 0;
}

static int parse(const char *text)
{
	memset(&err, 0, sizeof(err));
	return config_parse_string(text, "t.conf", cf, &err);
}

/* text must be refused with exactly message. */
static void refused(const char *text, const char *message)
{
	if (parse(text) != -1)
		fail_msg("accepted:\n%s\nexpected: %s", text, message);
	if (strcmp(err.msg, message) != 0)
		fail_msg("for:\n%s\nexpected: %s\nactual:   %s", text, message,
			 err.msg);
}

struct refusal {
	const char *text;
	const char *message;		/* NULL: the end of a table */
};

/* One test per table of refusals (its state). */
static void test_refusals(void **state)
{
	for (const struct refusal *r = *state; r->message; r++)
		refused(r->text, r->message);
}
#define REFUSALS(table) { #table, test_refusals, NULL, NULL, (void *)table }

static uint32_t ipv4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void assert_dest(const struct mlb_dest_spec *d, const char *addr,
			unsigned len, unsigned action, const char *ifname)
{
	unsigned char want[16] = { 0 };
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(family, addr, want), 1);
	assert_int_equal(d->family, family);
	assert_memory_equal(d->addr, want, family == AF_INET ? 4 : 16);
	assert_int_equal(d->prefixlen, len);
	assert_int_equal(d->action, action);
	if (ifname)
		assert_string_equal(d->ifname, ifname);
}

static const char full_file[] =
	"# every key\n"
	"[global]\n"
	"netns = lab\n"
	"mark-base = 0x100\n"
	"mark-mask = 0xf00\n"
	"table-base = 200\n"
	"priority = 500\n"
	"masquerade = yes\n"
	"last-resort = unreachable\n"
	"bypass = 10.8.0.0/16, 2001:db8:8::/48\n"
	"pin = 203.0.113.0/24:wlan0\n"
	"sticky = 600\n"
	"\n"
	"[uplink eth0]\n"
	"weight = 3\n"
	"gateway = 192.0.2.1\n"
	"gateway6 = fe80::1\n"
	"probe = 198.51.100.1, 198.51.100.2\n"
	"probe-type = tcp:443\n"
	"interval = 0.5\n"
	"timeout = 2\n"
	"down = 4\n"
	"up = 2\n"
	"\n"
	"[uplink wlan0]\n"
	"\n"
	"[policy /sys/fs/cgroup/]\n"
	"uplinks = eth0:5, wlan0\n"
	"bypass = 192.168.0.0/16\n"
	"pin = 198.51.100.0/24:eth0\n"
	"sticky = off\n"
	"record-sockets = yes\n"
	"lan = br-lan, lan1\n"
	"\n"
	"[policy /sys/fs/cgroup/user.slice]\n";

static void test_full_file(void **state)
{
	const struct mlb_uplink_spec *eth0 = &cf->uplinks[0];
	const struct mlb_config_policy *root = &cf->policies[0];
	const struct mlb_config_policy *user = &cf->policies[1];

	(void)state;
	assert_int_equal(parse(full_file), 0);
	assert_string_equal(cf->netns, "lab");
	assert_int_equal(cf->mark_base, 0x100);
	assert_int_equal(cf->mark_mask, 0xf00);
	assert_int_equal(cf->table_base, 200);
	assert_int_equal(cf->priority, 500);
	assert_true(cf->masquerade);
	assert_int_equal(cf->last_resort, MLB_LAST_RESORT_UNREACHABLE);

	assert_int_equal(cf->nuplinks, 2);
	assert_string_equal(eth0->ifname, "eth0");
	assert_int_equal(cf->uplink_lines[0], 14);
	assert_int_equal(eth0->weight, 3);
	assert_true(eth0->has_gateway);
	assert_int_equal(eth0->gateway.s_addr, ipv4("192.0.2.1"));
	assert_true(eth0->has_gateway6);
	assert_int_equal(eth0->nprobes, 2);
	assert_int_equal(eth0->probes[1].s_addr, ipv4("198.51.100.2"));
	assert_int_equal(eth0->probe_type, MLB_PROBE_TCP);
	assert_int_equal(eth0->probe_port, 443);
	assert_int_equal(eth0->interval_ms, 500);
	assert_int_equal(eth0->timeout_ms, 2000);
	assert_int_equal(eth0->down, 4);
	assert_int_equal(eth0->up, 2);
	assert_string_equal(cf->uplinks[1].ifname, "wlan0");
	assert_int_equal(cf->uplinks[1].weight, 1);
	assert_int_equal(cf->uplink_lines[1], 25);

	assert_int_equal(cf->npolicies, 2);
	assert_string_equal(root->cgroup, "/sys/fs/cgroup");
	assert_int_equal(root->line, 27);
	assert_int_equal(root->weights[0], 5);
	assert_int_equal(root->weights[1], 1);
	assert_int_equal(root->sticky_seconds, 0);
	assert_true(root->record_sockets);
	assert_int_equal(root->ndests, 5);		/* [global]'s first */
	assert_dest(&root->dests[0], "10.8.0.0", 16, MLB_DEST_BYPASS, NULL);
	assert_dest(&root->dests[1], "2001:db8:8::", 48, MLB_DEST_BYPASS, NULL);
	assert_dest(&root->dests[2], "203.0.113.0", 24, MLB_DEST_PIN, "wlan0");
	assert_dest(&root->dests[3], "192.168.0.0", 16, MLB_DEST_BYPASS, NULL);
	assert_dest(&root->dests[4], "198.51.100.0", 24, MLB_DEST_PIN, "eth0");

	assert_string_equal(user->cgroup, "/sys/fs/cgroup/user.slice");
	assert_int_equal(user->weights[0], 3);		/* the defaults */
	assert_int_equal(user->weights[1], 1);
	assert_int_equal(user->sticky_seconds, 600);	/* [global]'s */
	assert_false(user->record_sockets);
	assert_int_equal(user->ndests, 3);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("[uplink eth0]\n"), 0);
	assert_string_equal(cf->netns, "");
	assert_int_equal(cf->mark_base, MLB_DEFAULT_MARK_BASE);
	assert_int_equal(cf->mark_mask, MLB_DEFAULT_MARK_MASK);
	assert_int_equal(cf->table_base, MLB_DEFAULT_TABLE_BASE);
	assert_int_equal(cf->priority, MLB_DEFAULT_PRIORITY);
	assert_false(cf->masquerade);	/* conntrack-free by default */
	assert_int_equal(parse("[global]\nmasquerade = no\n[uplink eth0]\n"), 0);
	assert_false(cf->masquerade);
	assert_int_equal(parse("[uplink eth0]\n"), 0);
	assert_int_equal(cf->last_resort, MLB_LAST_RESORT_MAIN);
	assert_int_equal(cf->nuplinks, 1);
	assert_int_equal(cf->uplinks[0].weight, 1);
	assert_false(cf->uplinks[0].has_gateway);
	assert_int_equal(cf->npolicies, 0);	/* nothing is balanced */
}

/* A policy may name uplinks the file defines further down; without
 * uplinks= it takes every uplink with its default weight. */
static void test_uplinks_after_policies(void **state)
{
	(void)state;
	assert_int_equal(parse("[policy /sys/fs/cgroup/a]\n"
			       "uplinks = wlan0:4, eth1\n"
			       "pin = 192.0.2.0/24:eth1\n"
			       "[policy /sys/fs/cgroup/b]\n"
			       "[uplink eth0]\n"
			       "[uplink eth1]\n"
			       "weight = 2\n"
			       "[uplink wlan0]\n"), 0);
	assert_int_equal(cf->nuplinks, 3);
	assert_int_equal(cf->policies[0].weights[0], 0);	/* eth0 */
	assert_int_equal(cf->policies[0].weights[1], 2);	/* eth1 */
	assert_int_equal(cf->policies[0].weights[2], 4);	/* wlan0 */
	assert_int_equal(cf->policies[1].weights[0], 1);
	assert_int_equal(cf->policies[1].weights[1], 2);
	assert_int_equal(cf->policies[1].weights[2], 1);
	assert_int_equal(cf->policies[1].ndests, 0);
}

/* [global] may come last; its rules still go first in every policy. */
static void test_global_last(void **state)
{
	(void)state;
	assert_int_equal(parse("[uplink eth0]\n"
			       "[policy /a]\n"
			       "bypass = 10.1.0.0/16\n"
			       "[global]\n"
			       "bypass = 10.2.0.0/16\n"
			       "sticky = 30\n"), 0);
	assert_int_equal(cf->policies[0].ndests, 2);
	assert_dest(&cf->policies[0].dests[0], "10.2.0.0", 16,
		    MLB_DEST_BYPASS, NULL);
	assert_dest(&cf->policies[0].dests[1], "10.1.0.0", 16,
		    MLB_DEST_BYPASS, NULL);
	assert_int_equal(cf->policies[0].sticky_seconds, 30);
}

/* Comments, inline comments, continuation lines, blanks, CRLF, a byte
 * order mark: the rules of inih's default build (Debian's). */
static void test_lines(void **state)
{
	(void)state;
	assert_int_equal(parse("\xef\xbb\xbf; a comment\r\n"
			       "# another\r\n"
			       "   ; an indented comment\r\n"
			       "[ uplink   eth0 ]   ; wired\r\n"
			       "weight = 2 ; an inline comment\r\n"
			       "probe = 192.0.2.1,\r\n"
			       "\r\n"
			       "# a comment does not end the list\r\n"
			       "\t192.0.2.2  192.0.2.3\r\n"
			       "[policy /a]\n"
			       "bypass = 10.1.0.0/16\n"
			       "  10.2.0.0/16, 10.3.0.0/16\n"
			       "bypass = 10.4.0.0/16\n"
			       "uplinks: eth0:2\n"), 0);
	assert_string_equal(cf->uplinks[0].ifname, "eth0");
	assert_int_equal(cf->uplinks[0].weight, 2);
	assert_int_equal(cf->uplinks[0].nprobes, 3);
	assert_int_equal(cf->uplinks[0].probes[2].s_addr, ipv4("192.0.2.3"));
	assert_int_equal(cf->policies[0].ndests, 4);
	assert_int_equal(cf->policies[0].weights[0], 2);
	/* A key's value ends at " ;" only: ';' alone is part of it, and so
	 * is '#', which is refused with a hint. */
	refused("[uplink eth0]\nweight = 2;3\n",
		"t.conf:2: uplink \"eth0\": weight must be an integer from 1 "
		"to 1000");
	refused("[uplink eth0]\nweight = 2 # wired\n",
		"t.conf:2: \"#\" starts a comment only at the start of a line "
		"(after a value, use \" ;\")");
	/* An indented key is more of the key above. */
	refused("[uplink eth0]\n  weight = 2\n  gateway = 192.0.2.1\n",
		"t.conf:3: indented line continues \"weight\" (only bypass, "
		"pin, probe, uplinks and lan take more lines; do not indent "
		"keys)");
	refused("[policy /a]\nbypass = 10.1.0.0/16\n  uplinks = eth0\n",
		"t.conf:3: indented line continues \"bypass\" (only bypass, "
		"pin, probe, uplinks and lan take more lines; do not indent "
		"keys)");
}

/* inih's buffer holds 198 characters and the end of line: a longer line
 * is refused, never cut. */
static void test_long_lines(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "[uplink eth0]\n#%0197d\n", 0);
	assert_int_equal(parse(text), 0);
	snprintf(text, sizeof(text), "[uplink eth0]\n#%0198d\n", 0);
	refused(text, "t.conf:2: line is longer than 198 characters");
	snprintf(text, sizeof(text), "[uplink eth0]\nbypass = %0900d\n", 0);
	refused(text, "t.conf:2: line is longer than 198 characters");
	snprintf(text, sizeof(text), "[policy /%0300d]\n", 0);
	refused(text, "t.conf:1: line is longer than 198 characters");
}

static const struct refusal syntax_errors[] = {
	{ "[uplink eth0]\nweight\n",
	  "t.conf:2: expected [section] or key = value" },
	{ "[uplink eth0\n", "t.conf:1: expected [section] or key = value" },
	{ "[uplink eth0 ;]\n",
	  "t.conf:1: expected [section] or key = value" },
	{ "[uplink eth0]\nweight ; = 2\n",
	  "t.conf:2: expected [section] or key = value" },
	{ "[uplink eth0]\n= 2\n  weight\n",
	  "t.conf:2: unknown key \"\" in [uplink eth0]" },
	{ "netns = lab\n[uplink eth0]\n",
	  "t.conf:1: key \"netns\" before any [section]" },
	{ "[uplink eth0] wired\n",
	  "t.conf:1: unexpected text after [uplink eth0]" },
	{ "[uplink eth0];wired\n",
	  "t.conf:1: unexpected text after [uplink eth0]" },
	/* The first error wins, even over a reference to a later uplink. */
	{ "[policy /a]\nuplinks = eth1\nbad line\n[uplink eth1]\nfoo = 1\n",
	  "t.conf:3: expected [section] or key = value" },
	{ "", "t.conf:1: no [uplink IFACE] section: at least one is needed" },
	{ "[global]\n\n# nothing else\n",
	  "t.conf:3: no [uplink IFACE] section: at least one is needed" },
	{ NULL, NULL },
};

static const struct refusal section_errors[] = {
	{ "[foo]\n", "t.conf:1: unknown section [foo] (expected [global], "
	  "[uplink IFACE] or [policy PATH])" },
	{ "[uplinks eth0]\n", "t.conf:1: unknown section [uplinks eth0] "
	  "(expected [global], [uplink IFACE] or [policy PATH])" },
	{ "[]\n", "t.conf:1: unknown section [] (expected [global], "
	  "[uplink IFACE] or [policy PATH])" },
	{ "[global eth0]\n", "t.conf:1: [global] takes no argument" },
	{ "[uplink]\n",
	  "t.conf:1: [uplink] needs an interface name: [uplink IFACE]" },
	{ "[policy  ]\n",
	  "t.conf:1: [policy] needs a cgroup path: [policy PATH]" },
	{ "[uplink eth0]\n[uplink eth1]\n\n[uplink eth0]\n",
	  "t.conf:4: [uplink eth0] is given twice (first at line 1)" },
	{ "[global]\n[uplink eth0]\n[global]\n",
	  "t.conf:3: [global] is given twice (first at line 1)" },
	{ "[uplink eth0]\n[policy /sys/fs/cgroup/a]\n"
	  "[policy /sys/fs/cgroup/a//]\n", "t.conf:3: "
	  "[policy /sys/fs/cgroup/a] is given twice (first at line 2)" },
	{ "[uplink eth0/1]\n",
	  "t.conf:1: [uplink eth0/1]: \"eth0/1\" is not an interface name" },
	{ "[uplink eth0:1]\n",
	  "t.conf:1: [uplink eth0:1]: \"eth0:1\" is not an interface name" },
	{ "[uplink eth0,weight=2]\n", "t.conf:1: [uplink eth0,weight=2]: "
	  "\"eth0,weight=2\" is not an interface name" },
	{ "[uplink averyveryverylongname0]\n",
	  "t.conf:1: [uplink averyveryverylongname0]: "
	  "\"averyveryverylongname0\" is not an interface name" },
	{ "[uplink eth0 eth1]\n", "t.conf:1: [uplink eth0 eth1]: "
	  "\"eth0 eth1\" is not an interface name" },
	{ "[uplink eth0]\n[policy user.slice]\n",
	  "t.conf:2: [policy user.slice]: the cgroup path must be absolute" },
	{ NULL, NULL },
};

static const struct refusal key_errors[] = {
	{ "[uplink eth0]\nfoo = 1\n",
	  "t.conf:2: unknown key \"foo\" in [uplink eth0]" },
	{ "[global]\nweight = 2\n",
	  "t.conf:2: unknown key \"weight\" in [global]" },
	{ "[uplink eth0]\n[policy /a]\ngateway = 192.0.2.1\n",
	  "t.conf:3: unknown key \"gateway\" in [policy /a]" },
	{ "[uplink eth0]\nrecord-sockets = yes\n",
	  "t.conf:2: unknown key \"record-sockets\" in [uplink eth0]" },
	{ "[uplink eth0]\nweight = 2\n\nweight = 3\n",
	  "t.conf:4: weight is given twice in [uplink eth0] "
	  "(first at line 2)" },
	{ "[uplink eth0]\nprobe = 192.0.2.1\nprobe = 192.0.2.2\n",
	  "t.conf:3: probe is given twice in [uplink eth0] (first at line 2)" },
	{ "[uplink eth0]\n[policy /a]\nsticky = 5\nsticky = off\n",
	  "t.conf:4: sticky is given twice in [policy /a] (first at line 3)" },
	{ "[global]\nnetns = a\nnetns = b\n",
	  "t.conf:3: netns is given twice in [global] (first at line 2)" },
	{ "[uplink eth0]\ngateway =\n", "t.conf:2: gateway has no value" },
	{ "[uplink eth0]\n[policy /a]\nuplinks = ;\n",
	  "t.conf:3: uplinks has no value" },
	{ NULL, NULL },
};

static const struct refusal value_errors[] = {
	{ "[uplink eth0]\nweight = 0\n",
	  "t.conf:2: uplink \"eth0\": weight must be an integer from 1 "
	  "to 1000" },
	{ "[uplink eth0]\n\ngateway = 192.0.2\n",
	  "t.conf:3: uplink \"eth0\": gateway \"192.0.2\" is not an IPv4 "
	  "address" },
	{ "[uplink eth0]\ninterval = 0\n",
	  "t.conf:2: uplink \"eth0\": interval \"0\" must be a number of "
	  "seconds from 0.001 to 3600" },
	{ "[uplink eth0]\nprobe = 192.0.2.1\n  192.0.2.2 192.0.2.3\n"
	  "  192.0.2.4, 192.0.2.5\n",
	  "t.conf:4: uplink \"eth0\": at most 4 probe addresses" },
	{ "[global]\nmark-base = 0x1g\n",
	  "t.conf:2: mark-base \"0x1g\" is not a number" },
	{ "[global]\ntable-base = 4294967296\n",
	  "t.conf:2: table-base \"4294967296\" is out of range "
	  "(0 to 4294967295)" },
	{ "[global]\nmasquerade = maybe\n", "t.conf:2: masquerade \"maybe\" "
	  "must be yes or no (or true/false, on/off, 1/0)" },
	{ "[uplink eth0]\n[policy /a]\nrecord-sockets = Yes\n",
	  "t.conf:3: record-sockets \"Yes\" must be yes or no "
	  "(or true/false, on/off, 1/0)" },
	{ "[global]\nlast-resort = drop\n",
	  "t.conf:2: last-resort \"drop\" must be main or unreachable" },
	{ "[global]\nsticky = 0\n", "t.conf:2: sticky \"0\" must be a number "
	  "of seconds from 1 to 86400, or off" },
	{ "[uplink eth0]\n[policy /a]\nsticky = 86401\n", "t.conf:3: sticky "
	  "\"86401\" must be a number of seconds from 1 to 86400, or off" },
	{ "[global]\nnetns = run/netns/lab\n", "t.conf:2: netns "
	  "\"run/netns/lab\" must be a name (under /run/netns) or an "
	  "absolute path" },
	{ "[global]\nnetns = ..\n", "t.conf:2: netns \"..\" must be a name "
	  "(under /run/netns) or an absolute path" },
	{ "[global]\nnetns = my lab\n", "t.conf:2: netns \"my lab\" must be a "
	  "name (under /run/netns) or an absolute path" },
	{ NULL, NULL },
};

static const struct refusal dest_errors[] = {
	{ "[global]\nbypass = 10.0.0.0/33\n",
	  "t.conf:2: bypass \"10.0.0.0/33\": prefix length must be 0 to 32" },
	{ "[global]\nbypass = 10.0.0.0/8 example.com\n",
	  "t.conf:2: bypass \"example.com\": \"example.com\" is not an IPv4 "
	  "or IPv6 address" },
	{ "[global]\nbypass = ,\n", "t.conf:2: bypass: nothing listed" },
	{ "[uplink eth0]\n[global]\npin = 10.1.0.0/16\n",
	  "t.conf:3: pin \"10.1.0.0/16\" must be PREFIX:IFACE" },
	{ "[uplink eth0]\n[global]\npin = 10.1.0.0/16:eth9\n",
	  "t.conf:3: pin \"10.1.0.0/16:eth9\": eth9 is not an [uplink] of "
	  "this file" },
	{ "[uplink eth0]\n[policy /a]\npin = 10.1.0.0/16:eth0,\n"
	  "  2001:db8::/32:wlan0\n",
	  "t.conf:4: pin \"2001:db8::/32:wlan0\": wlan0 is not an [uplink] "
	  "of this file" },
	{ NULL, NULL },
};

static const struct refusal policy_uplink_errors[] = {
	{ "[policy /a]\nuplinks = eth0, eth9\n[uplink eth0]\n",
	  "t.conf:2: uplinks: \"eth9\" is not an [uplink] of this file" },
	{ "[uplink eth0]\n[policy /a]\nuplinks = eth0:0\n",
	  "t.conf:3: uplinks: weight \"0\" of eth0 must be an integer from 1 "
	  "to 1000" },
	{ "[uplink eth0]\n[policy /a]\nuplinks = eth0:1001\n",
	  "t.conf:3: uplinks: weight \"1001\" of eth0 must be an integer "
	  "from 1 to 1000" },
	{ "[uplink eth0]\n[policy /a]\nuplinks = eth0:\n",
	  "t.conf:3: uplinks: weight \"\" of eth0 must be an integer from 1 "
	  "to 1000" },
	{ "[uplink eth0]\n[policy /a]\nuplinks = eth0\n  eth0:2\n",
	  "t.conf:4: uplinks: eth0 is listed twice" },
	{ "[uplink eth0]\n[policy /a]\nuplinks = ,,\n",
	  "t.conf:3: uplinks: nothing listed" },
	{ "[uplink eth0]\n[policy /a]\nuplinks = eth0\nuplinks = eth0\n",
	  "t.conf:4: uplinks is given twice in [policy /a] "
	  "(first at line 3)" },
	{ NULL, NULL },
};

static const struct refusal lan_errors[] = {
	{ "[uplink eth0]\n[policy /a]\nlan = eth0\n",
	  "t.conf:3: lan: eth0 is an [uplink] of this file" },
	{ "[uplink eth0]\n[policy /a]\nlan = br0, br0\n",
	  "t.conf:3: lan \"br0\" is given twice" },
	{ "[uplink eth0]\n[policy /a]\nlan = br0\n[policy /b]\nlan = br0\n",
	  "t.conf:5: lan: br0 is already in [policy /a]" },
	{ "[uplink eth0]\n[policy /a]\nlan = l0 l1 l2 l3 l4 l5 l6 l7 l8\n",
	  "t.conf:3: at most 8 lan interfaces" },
	{ "[uplink eth0]\n[policy /a]\nlan = a/b\n",
	  "t.conf:3: lan \"a/b\" is not an interface name" },
	{ "[uplink eth0]\nlan = br0\n",
	  "t.conf:2: unknown key \"lan\" in [uplink eth0]" },
	{ "[uplink eth0]\n[global]\nlan = br0\n",
	  "t.conf:3: unknown key \"lan\" in [global]" },
	{ "[uplink eth0]\n[policy /a]\nlan = br0\nlan = br1\n",
	  "t.conf:4: lan is given twice in [policy /a] (first at line 3)" },
	{ NULL, NULL },
};

static const struct refusal number_errors[] = {
	{ "[global]\nmark-mask = 0\n[uplink eth0]\n",
	  "t.conf:2: mark-mask must not be 0" },
	{ "[global]\nmark-base = 0\n[uplink eth0]\n", "t.conf:2: mark-base "
	  "must not be 0 (a socket without a mark is an unbalanced one)" },
	{ "[global]\nmark-mask = 0xf00\n[uplink eth0]\n",
	  "t.conf:2: mark-base 0x10 is outside mark-mask 0xf00" },
	{ "[global]\nmark-base = 0x1\nmark-mask = 0x3\n[uplink eth0]\n"
	  "[uplink eth1]\n[uplink eth2]\n[uplink eth3]\n",
	  "t.conf:7: 4 uplinks need marks up to 0x4, outside mark-mask 0x3" },
	{ "[global]\nmark-base = 0x1\nmark-mask = 0x3\n"
	  "last-resort = unreachable\n[uplink eth0]\n[uplink eth1]\n"
	  "[uplink eth2]\n",
	  "t.conf:4: 4 uplinks need marks up to 0x4, outside mark-mask 0x3" },
	{ "[global]\ntable-base = 254\n[uplink eth0]\n",
	  "t.conf:2: tables 254..254 include reserved table 254 (main); "
	  "choose another table-base" },
	{ "[global]\ntable-base = 252\n[uplink eth0]\n\n[uplink eth1]\n",
	  "t.conf:5: tables 252..253 include reserved table 253 (default); "
	  "choose another table-base" },
	{ "[global]\ntable-base = 4294967294\n[uplink eth0]\n[uplink eth1]\n",
	  "t.conf:4: tables 4294967294..4294967295 go past the largest table "
	  "id; choose another table-base" },
	{ "[global]\npriority = 32764\n[uplink eth0]\n", "t.conf:2: priority "
	  "32764 leaves no room for 4 rules before main (32766)" },
	{ "[uplink eth0]\n[global]\npriority = 0\n", "t.conf:3: priority 0 "
	  "is the local table's; choose 1 or more" },
	{ NULL, NULL },
};

/* n [uplink ethI] sections after head. */
static char *many_uplinks(const char *head, unsigned n)
{
	size_t size = strlen(head) + n * 24 + 1;
	char *text = malloc(size);
	size_t len;

	assert_non_null(text);
	len = (size_t)snprintf(text, size, "%s", head);
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, size - len,
					"[uplink eth%u]\n", i);
	return text;
}

static void test_limits_of_uplinks(void **state)
{
	char *text;

	(void)state;
	text = many_uplinks("", MLB_MAX_UPLINKS);
	assert_int_equal(parse(text), 0);
	assert_int_equal(cf->nuplinks, MLB_MAX_UPLINKS);
	free(text);

	text = many_uplinks("", MLB_MAX_UPLINKS + 1);
	refused(text, "t.conf:65: more than 64 [uplink] sections");
	free(text);

	/* Marks 0x10, 0x20 ... 0xf0 fit 0xf0: the 16th uplink's does not. */
	text = many_uplinks("[global]\nmark-mask = 0xf0\n", MLB_MAX_UPLINKS);
	refused(text, "t.conf:18: 64 uplinks need marks up to 0x400, outside "
		"mark-mask 0xf0");
	free(text);

	text = many_uplinks("[global]\nlast-resort = unreachable\n",
			    MLB_MAX_UPLINKS);
	refused(text, "t.conf:2: last-resort = unreachable needs a mark of its "
		"own: at most 63 uplinks with it");
	free(text);
}

static void test_limits_of_policies(void **state)
{
	size_t size = 32 * (MLB_CONFIG_MAX_POLICIES + 2);
	char *text = malloc(size);
	size_t len;

	(void)state;
	assert_non_null(text);
	len = (size_t)snprintf(text, size, "[uplink eth0]\n");
	for (unsigned i = 0; i < MLB_CONFIG_MAX_POLICIES; i++)
		len += (size_t)snprintf(text + len, size - len,
					"[policy /p%u]\n", i);
	assert_int_equal(parse(text), 0);
	assert_int_equal(cf->npolicies, MLB_CONFIG_MAX_POLICIES);
	snprintf(text + len, size - len, "[policy /last]\n");
	refused(text, "t.conf:130: more than 128 [policy] sections");
	free(text);
}

/* n bypass lines of one rule each, 10.I.0.0/16. */
static size_t add_bypasses(char *text, size_t len, size_t size, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, size - len,
					"bypass = 10.%u.0.0/16\n", i);
	return len;
}

static void test_limits_of_dests(void **state)
{
	size_t size = 8192, len;
	char *text = malloc(size);

	(void)state;
	assert_non_null(text);
	len = (size_t)snprintf(text, size, "[uplink eth0]\n[policy /a]\n");
	len = add_bypasses(text, len, size, MLB_STATE_MAX_DESTS);
	assert_int_equal(parse(text), 0);
	assert_int_equal(cf->policies[0].ndests, MLB_STATE_MAX_DESTS);
	add_bypasses(text, len, size, 1);
	refused(text, "t.conf:67: more than 64 bypass and pin rules in "
		"[policy /a]");

	/* 40 of [global]'s and 30 of the policy's: its 25th is one too
	 * many, even with [global] after it. */
	len = (size_t)snprintf(text, size, "[uplink eth0]\n[policy /a]\n");
	len = add_bypasses(text, len, size, 30);
	len += (size_t)snprintf(text + len, size - len, "[global]\n");
	add_bypasses(text, len, size, 40);
	refused(text, "t.conf:27: more than 64 bypass and pin rules in "
		"[policy /a] with [global]'s 40");
	free(text);
}

/* Nothing of one parse is left in the next. */
static void test_parses_are_independent(void **state)
{
	(void)state;
	assert_int_equal(parse(full_file), 0);
	assert_int_equal(parse("[uplink wlan0]\n[policy /b]\n"), 0);
	assert_int_equal(cf->nuplinks, 1);
	assert_int_equal(cf->npolicies, 1);
	assert_false(cf->masquerade);
	assert_string_equal(cf->netns, "");
	assert_int_equal(cf->policies[0].ndests, 0);
	assert_int_equal(cf->policies[0].sticky_seconds, 0);
	assert_false(cf->policies[0].record_sockets);
	assert_int_equal(cf->policies[0].weights[0], 1);
	assert_int_equal(cf->policies[0].weights[1], 0);
	assert_int_equal(cf->uplinks[0].nprobes, 0);
}

static void test_policy_request(void **state)
{
	struct attach_request req;

	(void)state;
	assert_int_equal(parse(full_file), 0);
	config_policy_request(cf, 0, &req);
	assert_string_equal(req.cgroup, "/sys/fs/cgroup");
	assert_string_equal(req.netns, "lab");
	assert_int_equal(req.nuplinks, 2);
	assert_string_equal(req.uplinks[0].ifname, "eth0");
	assert_int_equal(req.uplinks[0].weight, 5);
	assert_int_equal(req.uplinks[0].gateway.s_addr, ipv4("192.0.2.1"));
	assert_int_equal(req.uplinks[0].probe_port, 443);
	assert_string_equal(req.uplinks[1].ifname, "wlan0");
	assert_int_equal(req.uplinks[1].weight, 1);
	assert_int_equal(req.mark_base, 0x100);
	assert_int_equal(req.mark_mask, 0xf00);
	assert_int_equal(req.table_base, 200);
	assert_int_equal(req.priority, 500);
	assert_true(req.masquerade);
	assert_true(req.record_sockets);
	assert_int_equal(req.last_resort, MLB_LAST_RESORT_UNREACHABLE);
	assert_int_equal(req.ndests, 5);
	assert_dest(&req.dests[4], "198.51.100.0", 24, MLB_DEST_PIN, "eth0");
	assert_int_equal(req.sticky_seconds, 0);
	assert_int_equal(req.nlan, 2);
	assert_string_equal(req.lan[0], "br-lan");
	assert_string_equal(req.lan[1], "lan1");
	config_policy_request(cf, 1, &req);
	assert_int_equal(req.nlan, 0);

	/* Every uplink of the file, 0 for one the policy does not use. */
	assert_int_equal(parse("[uplink eth0]\nweight = 7\n[uplink wlan0]\n"
			       "[policy /backup]\nuplinks = wlan0\n"), 0);
	config_policy_request(cf, 0, &req);
	assert_string_equal(req.cgroup, "/backup");
	assert_null(req.netns);
	assert_int_equal(req.nuplinks, 2);
	assert_int_equal(req.uplinks[0].weight, 0);
	assert_int_equal(req.uplinks[1].weight, 1);
	assert_false(req.masquerade);
	assert_int_equal(req.ndests, 0);
}

static void test_example_file(void **state)
{
	const struct mlb_config_policy *p = cf->policies;

	(void)state;
	memset(&err, 0, sizeof(err));
	if (config_parse_file(EXAMPLE, cf, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(cf->nuplinks, 2);
	assert_string_equal(cf->uplinks[0].ifname, "eth0");
	assert_string_equal(cf->uplinks[1].ifname, "wlan0");
	assert_int_equal(cf->npolicies, 3);
	assert_string_equal(p[0].cgroup, "/sys/fs/cgroup");
	assert_int_equal(p[0].weights[0], 1);
	assert_int_equal(p[0].weights[1], 1);
	assert_string_equal(p[1].cgroup,
			    "/sys/fs/cgroup/system.slice/backup.service");
	assert_int_equal(p[1].weights[0], 0);
	assert_int_equal(p[1].weights[1], 1);
	assert_int_equal(p[1].sticky_seconds, 0);
	assert_string_equal(p[2].cgroup, "/sys/fs/cgroup/user.slice");
	assert_int_equal(p[2].weights[0], 3);
	assert_int_equal(p[2].weights[1], 1);
	assert_int_equal(p[2].sticky_seconds, 600);
	assert_int_equal(p[2].ndests, 3);		/* [global]'s */
	assert_int_equal(p[2].dests[2].action, MLB_DEST_PIN);

	if (config_parse_file("examples/router.conf", cf, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(cf->nuplinks, 2);
	assert_int_equal(cf->npolicies, 1);
	assert_int_equal(p[0].weights[1], 2);
	assert_int_equal(p[0].nlan, 1);
	assert_string_equal(p[0].lan[0], "br-lan");
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/mlb-test-config-XXXXXX";
	size_t big = (1 << 20) + 1;
	char expected[128], *text;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, full_file, strlen(full_file));
	assert_int_equal(config_parse_file(path, cf, &err), 0);
	assert_int_equal(cf->npolicies, 2);

	write_file(path, "[uplink eth0]\n\nfoo = 1\n", 23);
	assert_int_equal(config_parse_file(path, cf, &err), -1);
	snprintf(expected, sizeof(expected),
		 "%s:3: unknown key \"foo\" in [uplink eth0]", path);
	assert_string_equal(err.msg, expected);

	write_file(path, "[uplink eth0]\n\nx\0y\n", 19);
	assert_int_equal(config_parse_file(path, cf, &err), -1);
	snprintf(expected, sizeof(expected),
		 "%s:3: a NUL byte: this is not a text file", path);
	assert_string_equal(err.msg, expected);

	/* A text file, but too large for a configuration file. */
	text = malloc(big);
	assert_non_null(text);
	memset(text, '#', big);
	text[big - 1] = '\n';
	write_file(path, text, big);
	free(text);
	assert_int_equal(config_parse_file(path, cf, &err), -1);
	snprintf(expected, sizeof(expected),
		 "cannot read %s: it is larger than 1048576 bytes", path);
	assert_string_equal(err.msg, expected);

	unlink(path);
	assert_int_equal(config_parse_file(path, cf, &err), -1);
	snprintf(expected, sizeof(expected),
		 "cannot read %s: No such file or directory", path);
	assert_string_equal(err.msg, expected);

	assert_int_equal(config_parse_file("/", cf, &err), -1);
	assert_string_equal(err.msg, "cannot read /: Is a directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_uplinks_after_policies),
		cmocka_unit_test(test_global_last),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_long_lines),
		REFUSALS(syntax_errors),
		REFUSALS(section_errors),
		REFUSALS(key_errors),
		REFUSALS(value_errors),
		REFUSALS(dest_errors),
		REFUSALS(policy_uplink_errors),
		REFUSALS(number_errors),
		REFUSALS(lan_errors),
		cmocka_unit_test(test_limits_of_uplinks),
		cmocka_unit_test(test_limits_of_policies),
		cmocka_unit_test(test_limits_of_dests),
		cmocka_unit_test(test_parses_are_independent),
		cmocka_unit_test(test_policy_request),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_parse_file),
	};

	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
