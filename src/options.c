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

/* Apply one "key=value" of an uplink spec. */
static int parse_uplink_key(const char *arg, char *item,
			    struct mlb_uplink_spec *out, bool *seen_weight,
			    struct mlb_err *err)
{
	char *eq = strchr(item, '=');
	unsigned long weight;
	const char *value;

	if (!eq)
		return mlb_fail(err, "uplink \"%s\": \"%s\" is not key=value "
				"(expected weight= or gateway=)", arg, item);
	*eq = '\0';
	value = eq + 1;
	if (strcmp(item, "weight") == 0) {
		if (*seen_weight)
			return mlb_fail(err, "uplink \"%s\": weight is given "
					"twice", arg);
		*seen_weight = true;
		if (!parse_decimal(value, &weight) ||
		    weight < MLB_WEIGHT_MIN || weight > MLB_WEIGHT_MAX)
			return mlb_fail(err, "uplink \"%s\": weight must be an "
					"integer from %d to %d", arg,
					MLB_WEIGHT_MIN, MLB_WEIGHT_MAX);
		out->weight = (unsigned)weight;
		return 0;
	}
	if (strcmp(item, "gateway") == 0) {
		if (out->has_gateway)
			return mlb_fail(err, "uplink \"%s\": gateway is given "
					"twice", arg);
		if (inet_pton(AF_INET, value, &out->gateway) != 1)
			return mlb_fail(err, "uplink \"%s\": gateway \"%s\" is "
					"not an IPv4 address", arg, value);
		out->has_gateway = true;
		return 0;
	}
	return mlb_fail(err, "uplink \"%s\": unknown key \"%s\" (expected "
			"weight= or gateway=)", arg, item);
}

int mlb_parse_uplink(const char *arg, struct mlb_uplink_spec *out,
		     struct mlb_err *err)
{
	bool seen_weight = false;
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
	if (!copy[0])
		return mlb_fail(err, "uplink \"%s\": empty option after ','",
				arg);
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save))
		if (parse_uplink_key(arg, item, out, &seen_weight, err))
			return -1;
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
	if ((uint64_t)priority + 2 >= 32766)
		return mlb_fail(err, "--priority %u leaves no room for 3 rules "
				"before main (32766)", priority);
	return 0;
}
