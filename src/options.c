/* options.c - parsing and validating uplink specs, numbers, marks, tables
 * and priorities (see options.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

/* A strictly decimal unsigned number: digits only, whole string. */
static bool parse_decimal(const char *s, unsigned long *out)
{
	char *end;

	if (!*s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool valid_ifname(const char *name, size_t len)
{
	if (len == 0 || len >= IF_NAMESIZE)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || isspace((unsigned char)name[i]) ||
		    name[i] == ':' || name[i] == '=')
			return false;
	return true;
}

int mlb_parse_seconds(const char *arg, const char *what, unsigned *ms,
		      struct mlb_err *err)
{
	unsigned long whole = 0, frac = 0, scale = 1000;
	const char *p = arg;

	if (!isdigit((unsigned char)*p))
		goto bad;
	while (isdigit((unsigned char)*p) && whole <= MLB_SECONDS_MAX)
		whole = whole * 10 + (unsigned long)(*p++ - '0');
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p)) {
			scale /= 10;
			if (scale == 0)
				goto bad;	/* finer than a millisecond */
			frac += (unsigned long)(*p++ - '0') * scale;
		}
	}
	if (*p || whole * 1000 + frac == 0 || whole > MLB_SECONDS_MAX ||
	    (whole == MLB_SECONDS_MAX && frac))
		goto bad;
	*ms = (unsigned)(whole * 1000 + frac);
	return 0;
bad:
	return mlb_fail(err, "%s \"%s\" must be a number of seconds from "
			"0.001 to %d", what, arg, MLB_SECONDS_MAX);
}

static int parse_probe_type(const char *arg, const char *value,
			    struct mlb_uplink_spec *out, struct mlb_err *err)
{
	unsigned long port;

	if (strcmp(value, "icmp") == 0) {
		out->probe_type = MLB_PROBE_ICMP;
		return 0;
	}
	if (strcmp(value, "arp") == 0) {
		out->probe_type = MLB_PROBE_ARP;
		return 0;
	}
	if (strncmp(value, "tcp:", 4) == 0 && parse_decimal(value + 4, &port) &&
	    port >= 1 && port <= 65535) {
		out->probe_type = MLB_PROBE_TCP;
		out->probe_port = (unsigned)port;
		return 0;
	}
	return mlb_fail(err, "uplink \"%s\": probe-type \"%s\" must be icmp, "
			"tcp:PORT or arp", arg, value);
}

static int add_probe(const char *arg, const char *value,
		     struct mlb_uplink_spec *out, struct mlb_err *err)
{
	if (out->nprobes >= MLB_MAX_PROBES)
		return mlb_fail(err, "uplink \"%s\": at most %d probe "
				"addresses", arg, MLB_MAX_PROBES);
	if (inet_pton(AF_INET, value, &out->probes[out->nprobes]) != 1)
		return mlb_fail(err, "uplink \"%s\": probe \"%s\" is not an "
				"IPv4 address", arg, value);
	out->nprobes++;
	return 0;
}

static int parse_count(const char *arg, const char *key, const char *value,
		       unsigned *out, struct mlb_err *err)
{
	unsigned long v;

	if (!parse_decimal(value, &v) || v < 1 || v > MLB_COUNT_MAX)
		return mlb_fail(err, "uplink \"%s\": %s must be an integer "
				"from 1 to %d", arg, key, MLB_COUNT_MAX);
	*out = (unsigned)v;
	return 0;
}

/* Keys of an uplink spec that may be given once each. */
enum { KEY_WEIGHT, KEY_GATEWAY, KEY_GATEWAY6, KEY_PROBE, KEY_PROBE_TYPE,
       KEY_INTERVAL, KEY_TIMEOUT, KEY_DOWN, KEY_UP, KEY_ADAPT, KEY_COUNT };
static const char *const key_names[KEY_COUNT] = {
	"weight", "gateway", "gateway6", "probe", "probe-type", "interval",
	"timeout", "down", "up", "adapt",
};
#define KEY_LIST "weight=, gateway=, gateway6=, probe=, probe-type=, " \
		 "interval=, timeout=, down=, up= or adapt="

static int key_index(const char *key)
{
	int k;

	for (k = 0; k < KEY_COUNT; k++)
		if (strcmp(key, key_names[k]) == 0)
			break;
	return k;
}

/* Set one key of an uplink spec (the key is known). */
static int set_uplink_key(const char *arg, int key, const char *name,
			  const char *value, struct mlb_uplink_spec *out,
			  struct mlb_err *err)
{
	unsigned long weight;

	switch (key) {
	case KEY_WEIGHT:
		if (!parse_decimal(value, &weight) ||
		    weight < MLB_WEIGHT_MIN || weight > MLB_WEIGHT_MAX)
			return mlb_fail(err, "uplink \"%s\": weight must be an "
					"integer from %d to %d", arg,
					MLB_WEIGHT_MIN, MLB_WEIGHT_MAX);
		out->weight = (unsigned)weight;
		return 0;
	case KEY_GATEWAY:
		if (inet_pton(AF_INET, value, &out->gateway) != 1)
			return mlb_fail(err, "uplink \"%s\": gateway \"%s\" is "
					"not an IPv4 address", arg, value);
		out->has_gateway = true;
		return 0;
	case KEY_GATEWAY6:
		if (inet_pton(AF_INET6, value, &out->gateway6) != 1 ||
		    IN6_IS_ADDR_UNSPECIFIED(&out->gateway6) ||
		    IN6_IS_ADDR_V4MAPPED(&out->gateway6))
			return mlb_fail(err, "uplink \"%s\": gateway6 \"%s\" is "
					"not an IPv6 address", arg, value);
		out->has_gateway6 = true;
		return 0;
	case KEY_PROBE:
		return add_probe(arg, value, out, err);
	case KEY_PROBE_TYPE:
		return parse_probe_type(arg, value, out, err);
	case KEY_INTERVAL:
	case KEY_TIMEOUT:
		if (mlb_parse_seconds(value, name, key == KEY_INTERVAL ?
				      &out->interval_ms : &out->timeout_ms,
				      err))
			return mlb_fail_prefix(err, "uplink \"%s\"", arg);
		return 0;
	case KEY_DOWN:
		return parse_count(arg, "down", value, &out->down, err);
	case KEY_ADAPT:
		if (strcmp(value, "yes") && strcmp(value, "no"))
			return mlb_fail(err, "uplink \"%s\": adapt must be yes "
					"or no", arg);
		out->fixed = !strcmp(value, "no");
		return 0;
	default:
		return parse_count(arg, "up", value, &out->up, err);
	}
}

int mlb_uplink_set(struct mlb_uplink_spec *out, const char *key,
		   const char *value, struct mlb_err *err)
{
	char copy[256], *item, *save;
	int k = key_index(key);

	if (k == KEY_COUNT)
		return mlb_fail(err, "uplink \"%s\": unknown key \"%s\" "
				"(expected " KEY_LIST ")", out->ifname, key);
	if (k != KEY_PROBE)
		return set_uplink_key(out->ifname, k, key, value, out, err);
	if (strlen(value) >= sizeof(copy))
		return mlb_fail(err, "uplink \"%s\": probe list is too long",
				out->ifname);
	strcpy(copy, value);
	for (item = strtok_r(copy, ", \t", &save); item;
	     item = strtok_r(NULL, ", \t", &save))
		if (add_probe(out->ifname, item, out, err))
			return -1;
	return 0;
}

/* Apply one "key=value" of an uplink spec; a bare address right after
 * probe= is one more probe address ("probe=A,B"). */
static int parse_uplink_key(const char *arg, char *item,
			    struct mlb_uplink_spec *out, bool *seen,
			    bool *after_probe, struct mlb_err *err)
{
	char *eq = strchr(item, '=');
	const char *value;
	int key;

	if (!eq && *after_probe)
		return add_probe(arg, item, out, err);
	if (!eq)
		return mlb_fail(err, "uplink \"%s\": \"%s\" is not key=value "
				"(expected " KEY_LIST ")", arg, item);
	*eq = '\0';
	value = eq + 1;
	key = key_index(item);
	if (key == KEY_COUNT)
		return mlb_fail(err, "uplink \"%s\": unknown key \"%s\" "
				"(expected " KEY_LIST ")", arg, item);
	if (seen[key])
		return mlb_fail(err, "uplink \"%s\": %s is given twice", arg,
				item);
	seen[key] = true;
	*after_probe = key == KEY_PROBE;
	return set_uplink_key(arg, key, item, value, out, err);
}

int mlb_parse_uplink(const char *arg, struct mlb_uplink_spec *out,
		     struct mlb_err *err)
{
	bool seen[KEY_COUNT] = { false }, after_probe = false;
	char copy[256], *item, *save;
	size_t name_len = strcspn(arg, ",");

	memset(out, 0, sizeof(*out));
	out->weight = 1;
	if (strlen(arg) >= sizeof(copy))
		return mlb_fail(err, "uplink \"%.40s...\" is too long", arg);
	if (!valid_ifname(arg, name_len))
		return mlb_fail(err, "uplink \"%s\": \"%.*s\" is not an "
				"interface name", arg, (int)name_len, arg);
	memcpy(out->ifname, arg, name_len);
	out->ifname[name_len] = '\0';
	if (!arg[name_len])
		return 0;
	strcpy(copy, arg + name_len + 1);
	if (!copy[0] || strstr(copy, ",,") || copy[strlen(copy) - 1] == ',')
		return mlb_fail(err, "uplink \"%s\": empty option after ','",
				arg);
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save))
		if (parse_uplink_key(arg, item, out, seen, &after_probe, err))
			return -1;
	return 0;
}

/* Clear the host bits of a prefix of len bits in addr[0..bytes). */
static void clear_host_bits(unsigned char *addr, unsigned bytes, unsigned len)
{
	for (unsigned b = 0; b < bytes; b++) {
		unsigned keep = len > b * 8 ? len - b * 8 : 0;

		if (keep < 8)
			addr[b] &= (unsigned char)(0xff00u >> keep);
	}
}

int mlb_parse_dest(const char *arg, unsigned action, struct mlb_dest_spec *out,
		   struct mlb_err *err)
{
	const char *what = action == MLB_DEST_PIN ? "--pin" : "--bypass";
	char copy[80], *slash, *colon = NULL;
	unsigned long len, max;

	memset(out, 0, sizeof(*out));
	out->action = action;
	if (strlen(arg) >= sizeof(copy))
		return mlb_fail(err, "%s \"%.40s...\" is too long", what, arg);
	strcpy(copy, arg);
	if (action == MLB_DEST_PIN) {
		colon = strrchr(copy, ':');
		if (!colon || !valid_ifname(colon + 1, strlen(colon + 1)))
			return mlb_fail(err, "--pin \"%s\" must be PREFIX:IFACE",
					arg);
		*colon = '\0';
		strcpy(out->ifname, colon + 1);
	}
	slash = strchr(copy, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, copy, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, copy, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return mlb_fail(err, "%s \"%s\": \"%s\" is not an IPv4 or "
				"IPv6 address", what, arg, copy);
	}
	len = max;
	if (slash && (!parse_decimal(slash + 1, &len) || len > max))
		return mlb_fail(err, "%s \"%s\": prefix length must be "
				"0 to %lu", what, arg, max);
	out->prefixlen = (unsigned)len;
	clear_host_bits(out->addr, (unsigned)max / 8, out->prefixlen);
	return 0;
}

int mlb_parse_u32(const char *arg, const char *what, uint32_t *out,
		  struct mlb_err *err)
{
	unsigned long long v;
	char *end;
	int base = 10;
	const char *digits = arg;

	if (arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X')) {
		base = 16;
		digits = arg + 2;
	}
	if (!*digits || !isxdigit((unsigned char)*digits) ||
	    (base == 10 && !isdigit((unsigned char)*digits)))
		return mlb_fail(err, "%s \"%s\" is not a number", what, arg);
	errno = 0;
	v = strtoull(digits, &end, base);
	if (*end)
		return mlb_fail(err, "%s \"%s\" is not a number", what, arg);
	if (errno || v > UINT32_MAX)
		return mlb_fail(err, "%s \"%s\" is out of range (0 to "
				"4294967295)", what, arg);
	*out = (uint32_t)v;
	return 0;
}

int mlb_add_lan(char (*names)[IF_NAMESIZE], unsigned *n, const char *arg,
		struct mlb_err *err)
{
	if (!valid_ifname(arg, strlen(arg)))
		return mlb_fail(err, "--lan \"%s\" is not an interface name",
				arg);
	for (unsigned i = 0; i < *n; i++)
		if (!strcmp(names[i], arg))
			return mlb_fail(err, "--lan \"%s\" is given twice", arg);
	if (*n >= MLB_MAX_LAN)
		return mlb_fail(err, "at most %d --lan interfaces", MLB_MAX_LAN);
	strcpy(names[(*n)++], arg);
	return 0;
}

int mlb_check_duplicates(const struct mlb_uplink_spec *specs, unsigned n,
			 struct mlb_err *err)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (strcmp(specs[i].ifname, specs[j].ifname) == 0)
				return mlb_fail(err, "uplink \"%s\" is given "
						"twice", specs[i].ifname);
	return 0;
}

int mlb_assign_marks(uint32_t mark_base, uint32_t mark_mask, unsigned n,
		     uint32_t *marks, struct mlb_err *err)
{
	uint32_t step = mark_mask & -mark_mask;	/* lowest set bit */
	uint64_t last;

	if (mark_mask == 0)
		return mlb_fail(err, "--mark-mask must not be 0");
	if (mark_base == 0)
		return mlb_fail(err, "--mark-base must not be 0 (a socket "
				"without a mark is an unbalanced one)");
	if (mark_base & ~mark_mask)
		return mlb_fail(err, "--mark-base 0x%x is outside "
				"--mark-mask 0x%x", mark_base, mark_mask);
	last = mark_base + (uint64_t)(n ? n - 1 : 0) * step;
	for (unsigned i = 0; i < n; i++) {
		uint64_t mark = mark_base + (uint64_t)i * step;

		if (mark > UINT32_MAX || (mark & ~(uint64_t)mark_mask))
			return mlb_fail(err, "%u uplinks need marks up to "
					"0x%llx, outside --mark-mask 0x%x", n,
					(unsigned long long)last, mark_mask);
		marks[i] = (uint32_t)mark;
	}
	return 0;
}

static const char *reserved_table_name(uint64_t table)
{
	switch (table) {
	case 0: return "unspec";
	case 253: return "default";
	case 254: return "main";
	case 255: return "local";
	default: return NULL;
	}
}

int mlb_assign_tables(uint32_t table_base, unsigned n, uint32_t *tables,
		      struct mlb_err *err)
{
	uint64_t last = (uint64_t)table_base + (n ? n - 1 : 0);

	if (last > 0xfffffffeULL)
		return mlb_fail(err, "tables %u..%llu go past the largest "
				"table id; choose another --table-base",
				table_base, (unsigned long long)last);
	for (unsigned i = 0; i < n; i++) {
		uint64_t table = (uint64_t)table_base + i;
		const char *reserved = reserved_table_name(table);

		if (reserved)
			return mlb_fail(err, "tables %u..%llu include reserved "
					"table %llu (%s); choose another "
					"--table-base", table_base,
					(unsigned long long)last,
					(unsigned long long)table, reserved);
		tables[i] = (uint32_t)table;
	}
	return 0;
}

int mlb_check_priority(uint32_t priority, struct mlb_err *err)
{
	if (priority == 0)
		return mlb_fail(err, "--priority 0 is the local table's; "
				"choose 1 or more");
	if ((uint64_t)priority + 3 >= 32766)
		return mlb_fail(err, "--priority %u leaves no room for 4 rules "
				"before main (32766)", priority);
	return 0;
}

/* Indexed by MLB_BALANCE_*. */
static const char *const balance_names[] = {
	[MLB_BALANCE_RR] = "rr",
	[MLB_BALANCE_LEAST_CONN] = "least-conn",
	[MLB_BALANCE_ADAPTIVE] = "adaptive",
};
#define NBALANCE (sizeof(balance_names) / sizeof(balance_names[0]))

int mlb_parse_balance(const char *arg, const char *what, unsigned *out,
		      struct mlb_err *err)
{
	for (unsigned i = 0; i < NBALANCE; i++)
		if (!strcmp(arg, balance_names[i])) {
			*out = i;
			return 0;
		}
	return mlb_fail(err, "%s \"%s\" must be rr, least-conn or "
			"adaptive", what, arg);
}

int mlb_parse_floor(const char *arg, const char *what, unsigned *out,
		    struct mlb_err *err)
{
	unsigned long v;

	if (!parse_decimal(arg, &v) || v < MLB_FLOOR_MIN || v > MLB_FLOOR_MAX)
		return mlb_fail(err, "%s \"%s\" must be a percentage from %d "
				"to %d", what, arg, MLB_FLOOR_MIN,
				MLB_FLOOR_MAX);
	*out = (unsigned)v;
	return 0;
}

const char *mlb_balance_name(unsigned balance)
{
	return balance < NBALANCE ? balance_names[balance] : "unknown";
}
