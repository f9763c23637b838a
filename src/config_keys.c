/* config_keys.c - the keys of the configuration file: which section takes
 * each, and how its value is read and checked (see config_internal.h).
 * The parser's error messages and its uplink lookup live here too, below
 * config.c, which reads the lines and sections and uses both.
 * Nothing here touches the kernel or any file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "options.h"

static const struct key keys[K_COUNT];

/* Errors */

int config_vfail_at(struct parser *p, unsigned line, const char *fmt,
		    va_list ap)
{
	char msg[sizeof(p->err->msg)];

	if (p->failed || p->collecting)
		return -1;
	p->failed = true;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return mlb_fail(p->err, "%s:%u: %s", p->name, line, msg);
}

/* Pass on a message of options.c.  It names command-line options
 * ("--mark-mask"); in the file they are keys, so the dashes go (not in
 * quoted values). */
int config_relay(struct parser *p, unsigned line, const struct mlb_err *e)
{
	char msg[sizeof(e->msg)];
	bool quoted = false;
	size_t n = 0;

	for (const char *s = e->msg; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		if (!quoted && s[0] == '-' && s[1] == '-' &&
		    islower((unsigned char)s[2]) &&
		    (s == e->msg || s[-1] == ' ')) {
			s++;
			continue;
		}
		msg[n++] = *s;
	}
	msg[n] = '\0';
	return fail_at(p, line, "%s", msg);
}

/* Uplinks */

int config_find_uplink(const struct mlb_config_file *cf, const char *name)
{
	for (unsigned u = 0; u < cf->nuplinks; u++)
		if (strcmp(cf->uplinks[u].ifname, name) == 0)
			return (int)u;
	return -1;
}

/* Values */

static int parse_bool(struct parser *p, const char *key, const char *value,
		      bool *out)
{
	static const char *const words[] = {
		"no", "yes", "false", "true", "off", "on", "0", "1",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(value, words[i]) == 0) {
			*out = i % 2;
			return 0;
		}
	return fail(p, "%s \"%s\" must be yes or no (or true/false, on/off, "
		    "1/0)", key, value);
}

static int set_netns(struct parser *p, const struct key *key,
		     const char *value)
{
	bool path = strchr(value, '/') != NULL;
	bool name_ok = true;

	for (const char *s = value; *s; s++)
		if (isspace((unsigned char)*s))
			name_ok = false;
	if (path ? value[0] != '/' : !name_ok || strcmp(value, ".") == 0 ||
	    strcmp(value, "..") == 0)
		return fail(p, "%s \"%s\" must be a name (under /run/netns) or "
			    "an absolute path", key->name, value);
	if (strlen(value) >= sizeof(p->cf->netns))
		return fail(p, "%s \"%.40s...\" is too long", key->name, value);
	strcpy(p->cf->netns, value);
	return 0;
}

static int set_number(struct parser *p, const struct key *key,
		      const char *value)
{
	struct mlb_config_file *cf = p->cf;
	uint32_t *const fields[K_COUNT] = {
		[K_MARK_BASE] = &cf->mark_base,
		[K_MARK_MASK] = &cf->mark_mask,
		[K_TABLE_BASE] = &cf->table_base,
		[K_PRIORITY] = &cf->priority,
	};
	struct mlb_err e;

	if (mlb_parse_u32(value, key->name, fields[key - keys], &e))
		return config_relay(p, p->line, &e);
	return 0;
}

static int set_masquerade(struct parser *p, const struct key *key,
			  const char *value)
{
	return parse_bool(p, key->name, value, &p->cf->masquerade);
}

static int set_record_sockets(struct parser *p, const struct key *key,
			      const char *value)
{
	return parse_bool(p, key->name, value,
			  &p->cf->policies[p->index].record_sockets);
}

static int set_last_resort(struct parser *p, const struct key *key,
			   const char *value)
{
	if (strcmp(value, "main") == 0)
		p->cf->last_resort = MLB_LAST_RESORT_MAIN;
	else if (strcmp(value, "unreachable") == 0)
		p->cf->last_resort = MLB_LAST_RESORT_UNREACHABLE;
	else
		return fail(p, "%s \"%s\" must be main or unreachable",
			    key->name, value);
	return 0;
}

static int set_sticky(struct parser *p, const struct key *key,
		      const char *value)
{
	unsigned *out = &p->sticky_seconds;
	struct mlb_err ignored;
	uint32_t seconds = 0;

	if (p->section == SECTION_POLICY) {
		out = &p->cf->policies[p->index].sticky_seconds;
		p->policies[p->index].sticky_given = true;
	}
	if (strcmp(value, "off") != 0 &&
	    (mlb_parse_u32(value, key->name, &seconds, &ignored) ||
	     seconds < 1 || seconds > STICKY_MAX))
		return fail(p, "%s \"%s\" must be a number of seconds from 1 "
			    "to %d, or off", key->name, value, STICKY_MAX);
	*out = seconds;
	return 0;
}

static int set_balance(struct parser *p, const struct key *key,
		       const char *value)
{
	struct mlb_err e;

	if (mlb_parse_balance(value, key->name,
			      &p->cf->policies[p->index].balance, &e))
		return config_relay(p, p->line, &e);
	return 0;
}

static int set_floor(struct parser *p, const struct key *key,
		     const char *value)
{
	struct mlb_err e;

	if (mlb_parse_floor(value, key->name,
			    &p->cf->policies[p->index].floor_pct, &e))
		return config_relay(p, p->line, &e);
	return 0;
}

static int set_uplink_key(struct parser *p, const struct key *key,
			  const char *value)
{
	struct mlb_err e;

	if (mlb_uplink_set(&p->cf->uplinks[p->index], key->name, value, &e))
		return config_relay(p, p->line, &e);
	return 0;
}

/* Lists: each item of value in turn (separated by ',' or blanks). */
static int add_items(struct parser *p, const struct key *key,
		     const char *value)
{
	char copy[1024], *item, *save;
	unsigned n = 0;

	if (strlen(value) >= sizeof(copy))
		return fail(p, "%s: the list is too long", key->name);
	strcpy(copy, value);
	for (item = strtok_r(copy, ", \t", &save); item;
	     item = strtok_r(NULL, ", \t", &save), n++)
		if (key->add(p, key, item))
			return -1;
	if (n == 0)
		return fail(p, "%s: nothing listed", key->name);
	return 0;
}

/* One bypass or pin rule, into [global]'s list or the policy's. */
static int add_dest(struct parser *p, const struct key *key, char *item)
{
	bool global = p->section == SECTION_GLOBAL;
	struct mlb_config_policy *policy = &p->cf->policies[p->index];
	unsigned *n = global ? &p->ndests : &policy->ndests;
	unsigned *lines = global ? p->dest_lines :
		p->policies[p->index].dest_lines;
	struct mlb_dest_spec *dest;
	struct mlb_err e;

	if (*n >= MLB_STATE_MAX_DESTS)
		return fail(p, "more than %d bypass and pin rules in %s",
			    MLB_STATE_MAX_DESTS, p->label);
	dest = global ? &p->dests[*n] : &policy->dests[*n];
	if (mlb_parse_dest(item, key == &keys[K_PIN] ? MLB_DEST_PIN :
			   MLB_DEST_BYPASS, dest, &e))
		return config_relay(p, p->line, &e);
	if (dest->action == MLB_DEST_PIN &&
	    config_find_uplink(p->cf, dest->ifname) < 0)
		return fail(p, "%s \"%s\": %s is not an [uplink] of this file",
			    key->name, item, dest->ifname);
	lines[(*n)++] = p->line;
	return 0;
}

/* One "IFACE[:WEIGHT]" of a policy's uplinks. */
static int add_policy_uplink(struct parser *p, const struct key *key,
			     char *item)
{
	struct policy_extra *extra = &p->policies[p->index];
	char *colon = strchr(item, ':');
	struct mlb_err ignored;
	uint32_t weight = 0;
	uint64_t bit;
	int u;

	if (colon)
		*colon++ = '\0';
	u = config_find_uplink(p->cf, item);
	if (u < 0)
		return fail(p, "%s: \"%s\" is not an [uplink] of this file",
			    key->name, item);
	bit = 1ULL << u;
	if (extra->listed & bit)
		return fail(p, "%s: %s is listed twice", key->name, item);
	if (colon && (mlb_parse_u32(colon, key->name, &weight, &ignored) ||
		      weight < MLB_WEIGHT_MIN || weight > MLB_WEIGHT_MAX))
		return fail(p, "%s: weight \"%s\" of %s must be an integer "
			    "from %d to %d", key->name, colon, item,
			    MLB_WEIGHT_MIN, MLB_WEIGHT_MAX);
	extra->listed |= bit;
	if (!colon)
		extra->bare |= bit;
	p->cf->policies[p->index].weights[u] = weight;
	return 0;
}

/* One --lan interface of a policy. */
static int add_lan(struct parser *p, const struct key *key, char *item)
{
	struct mlb_config_policy *policy = &p->cf->policies[p->index];
	struct mlb_err e;

	if (config_find_uplink(p->cf, item) >= 0)
		return fail(p, "%s: %s is an [uplink] of this file", key->name,
			    item);
	for (unsigned q = 0; q < p->index; q++)
		for (unsigned i = 0; i < p->cf->policies[q].nlan; i++)
			if (!strcmp(p->cf->policies[q].lan[i], item))
				return fail(p, "%s: %s is already in [policy "
					    "%s]", key->name, item,
					    p->cf->policies[q].cgroup);
	if (mlb_add_lan(policy->lan, &policy->nlan, item, &e))
		return config_relay(p, p->line, &e);
	return 0;
}

#define GLOBAL IN(SECTION_GLOBAL)
#define UPLINK IN(SECTION_UPLINK)
#define POLICY IN(SECTION_POLICY)
static const struct key keys[K_COUNT] = {
	[K_NETNS] = { "netns", GLOBAL, 0, .set = set_netns },
	[K_MARK_BASE] = { "mark-base", GLOBAL, 0, .set = set_number },
	[K_MARK_MASK] = { "mark-mask", GLOBAL, 0, .set = set_number },
	[K_TABLE_BASE] = { "table-base", GLOBAL, 0, .set = set_number },
	[K_PRIORITY] = { "priority", GLOBAL, 0, .set = set_number },
	[K_MASQUERADE] = { "masquerade", GLOBAL, 0, .set = set_masquerade },
	[K_LAST_RESORT] = { "last-resort", GLOBAL, 0, .set = set_last_resort },
	[K_BYPASS] = { "bypass", GLOBAL | POLICY, KEY_LIST | KEY_REPEATS,
		       .set = add_items, .add = add_dest },
	[K_PIN] = { "pin", GLOBAL | POLICY, KEY_LIST | KEY_REPEATS,
		    .set = add_items, .add = add_dest },
	[K_STICKY] = { "sticky", GLOBAL | POLICY, 0, .set = set_sticky },
	[K_WEIGHT] = { "weight", UPLINK, 0, .set = set_uplink_key },
	[K_GATEWAY] = { "gateway", UPLINK, 0, .set = set_uplink_key },
	[K_GATEWAY6] = { "gateway6", UPLINK, 0, .set = set_uplink_key },
	[K_PROBE] = { "probe", UPLINK, KEY_LIST, .set = set_uplink_key },
	[K_PROBE_TYPE] = { "probe-type", UPLINK, 0, .set = set_uplink_key },
	[K_INTERVAL] = { "interval", UPLINK, 0, .set = set_uplink_key },
	[K_TIMEOUT] = { "timeout", UPLINK, 0, .set = set_uplink_key },
	[K_DOWN] = { "down", UPLINK, 0, .set = set_uplink_key },
	[K_UP] = { "up", UPLINK, 0, .set = set_uplink_key },
	[K_UPLINKS] = { "uplinks", POLICY, KEY_LIST, .set = add_items,
			.add = add_policy_uplink },
	[K_RECORD_SOCKETS] = { "record-sockets", POLICY, 0,
			       .set = set_record_sockets },
	[K_LAN] = { "lan", POLICY, KEY_LIST, .set = add_items, .add = add_lan },
	[K_BALANCE] = { "balance", POLICY, 0, .set = set_balance },
	[K_FLOOR] = { "floor", POLICY, 0, .set = set_floor },
	[K_ADAPT] = { "adapt", UPLINK, 0, .set = set_uplink_key },
};

/* Keys */

static const struct key *find_key(const char *name, enum section section)
{
	for (unsigned k = 0; k < K_COUNT; k++)
		if ((keys[k].sections & IN(section)) &&
		    strcmp(keys[k].name, name) == 0)
			return &keys[k];
	return NULL;
}

/* inih's default build ends a value at " ;" but not at " #". */
static int set_value(struct parser *p, const struct key *key,
		     const char *value)
{
	for (const char *s = value; *s; s++)
		if (*s == '#' && s > value && isspace((unsigned char)s[-1]))
			return fail(p, "\"#\" starts a comment only at the "
				    "start of a line (after a value, use "
				    "\" ;\")");
	return key->set(p, key, value);
}

static int set_key(struct parser *p, const char *name, const char *value)
{
	const struct key *key;
	unsigned *seen;

	if (p->section == SECTION_NONE)
		return fail(p, "key \"%s\" before any [section]", name);
	key = find_key(name, p->section);
	if (!key)
		return fail(p, "unknown key \"%s\" in %s", name, p->label);
	seen = &p->seen[key - keys];
	if (*seen && !(key->flags & KEY_REPEATS))
		return fail(p, "%s is given twice in %s (first at line %u)",
			    name, p->label, *seen);
	if (!*seen)
		*seen = p->line;
	p->last_key = key;
	if (!*value)
		return fail(p, "%s has no value", name);
	return set_value(p, key, value);
}

/* inih's handler, for a "key = value" line or an indented line that
 * continues the last value.  Returns 0 on error. */
int config_on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parser *p = user;
	const struct key *key = p->last_key;

	(void)section;			/* next_line() reads the headers */
	p->got_key = true;
	if (!p->continues)
		p->after_key = name[0] != '\0';
	if (p->collecting || p->failed)
		return 1;
	if (!p->continues)
		return !set_key(p, name, value);
	if (!key || !(key->flags & KEY_LIST) || strchr(value, '='))
		return !fail(p, "indented line continues \"%s\" (only bypass, "
			     "pin, probe, uplinks and lan take more lines; do "
			     "not indent keys)", key ? key->name : name);
	return !set_value(p, key, value);
}

