/* config.c - the configuration file (see config.h): inih splits it into
 * keys and values, this module gives them meaning and checks the whole.
 *
 * inih calls a handler for each key but says nothing of section headers
 * (a section without keys would go unseen), passes no line numbers, keeps
 * only 49 characters of a section name and splits a line longer than its
 * buffer.  So the text reaches inih through next_line(), which counts the
 * lines, refuses one that does not fit inih's buffer, reads section
 * headers itself, and notices a line on which inih found no key (a syntax
 * error): the first error of the file is the one reported, with its line.
 *
 * next_line() reads a line the way inih's default build (Debian's too)
 * will: a UTF-8 byte order mark on line 1 is skipped; a line whose first
 * non-blank character is ';' or '#' is a comment; an indented line after
 * a key continues that key's value (Python configparser style, even after
 * blank and comment lines); ';' after whitespace starts a comment at the
 * end of a line, '#' there does not.
 *
 * The text is read twice.  The first pass only collects the [uplink]
 * sections, so that a policy's uplinks and pins may name an uplink defined
 * further down; the second does everything else, in file order.  Nothing
 * here touches the kernel or any file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "config.h"

#define STICKY_MAX 86400
#define FILE_MAX (1 << 20)		/* bytes config_parse_file reads */

enum section { SECTION_NONE, SECTION_GLOBAL, SECTION_UPLINK, SECTION_POLICY };
#define IN(section) (1u << (section))

/* The keys of the file, in the order of keys[]. */
enum {
	K_NETNS, K_MARK_BASE, K_MARK_MASK, K_TABLE_BASE, K_PRIORITY,
	K_MASQUERADE, K_LAST_RESORT, K_BYPASS, K_PIN, K_STICKY,
	K_WEIGHT, K_GATEWAY, K_GATEWAY6, K_PROBE, K_PROBE_TYPE, K_INTERVAL,
	K_TIMEOUT, K_DOWN, K_UP, K_UPLINKS, K_RECORD_SOCKETS, K_COUNT
};

struct parser;

/* A key takes its whole value (set) or each item of a list (add). */
struct key {
	const char *name;
	unsigned sections;		/* IN(SECTION_*) */
	unsigned flags;			/* KEY_* */
	int (*set)(struct parser *p, const struct key *key, const char *value);
	int (*add)(struct parser *p, const struct key *key, char *item);
};
#define KEY_LIST 0x1		/* items separated by ',' or blanks; an
				 * indented line lists more */
#define KEY_REPEATS 0x2		/* may be given again: the items add up */
static const struct key keys[K_COUNT];

/* What the second pass keeps of a policy besides its mlb_config_policy. */
struct policy_extra {
	uint64_t listed;		/* uplinks named by uplinks= */
	uint64_t bare;			/* of those, named without a weight */
	bool sticky_given;
	unsigned dest_lines[MLB_STATE_MAX_DESTS];
};

struct parser {
	const char *name;		/* of the file, for messages */
	const char *next;		/* text not yet given to inih */
	unsigned line;			/* the line inih has now */
	bool collecting;		/* first pass: [uplink] sections only */
	struct mlb_config_file *cf;
	struct mlb_err *err;
	bool failed;

	/* The line inih has now, as it will read it. */
	bool wants_key;			/* inih must find a key on it */
	bool continues;			/* more of the last key's value */
	bool got_key;			/* and the handler was called */
	bool after_key;			/* a key since the last header */
	const struct key *last_key;

	enum section section;
	unsigned index;			/* of the uplink or policy */
	char label[300];		/* "[uplink eth0]" */
	unsigned *seen;			/* line of each key given in it */
	unsigned section_seen[K_COUNT];
	unsigned global_seen[K_COUNT];
	unsigned global_line;		/* of [global], 0: none yet */

	/* [global]'s destination rules and sticky, for every policy. */
	struct mlb_dest_spec dests[MLB_STATE_MAX_DESTS];
	unsigned dest_lines[MLB_STATE_MAX_DESTS];
	unsigned ndests;
	unsigned sticky_seconds;

	struct policy_extra policies[MLB_CONFIG_MAX_POLICIES];
};

/* Errors */

static int vfail_at(struct parser *p, unsigned line, const char *fmt,
		    va_list ap)
{
	char msg[sizeof(p->err->msg)];

	if (p->failed || p->collecting)
		return -1;
	p->failed = true;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return mlb_fail(p->err, "%s:%u: %s", p->name, line, msg);
}

static int __attribute__((format(printf, 3, 4)))
fail_at(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(p, line, fmt, ap);
	va_end(ap);
	return -1;
}

/* An error on the line inih has now. */
static int __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(p, p->line, fmt, ap);
	va_end(ap);
	return -1;
}

/* Pass on a message of options.c.  It names command-line options
 * ("--mark-mask"); in the file they are keys, so the dashes go (not in
 * quoted values). */
static int relay(struct parser *p, unsigned line, const struct mlb_err *e)
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

/* Lines, as inih reads them */

static const char *skip_space(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

/* The ']' that ends a section name, as inih finds it: a ';' after
 * whitespace before it starts a comment, and then there is none. */
static const char *find_close(const char *s)
{
	bool was_space = false;

	for (; *s && *s != ']'; s++) {
		if (was_space && *s == ';')
			break;
		was_space = isspace((unsigned char)*s);
	}
	return s;
}

/* Nothing but blanks, or a " ;" comment, follows. */
static bool only_comment(const char *s)
{
	const char *t = skip_space(s);

	return !*t || (*t == ';' && t > s);
}

static int find_uplink(const struct mlb_config_file *cf, const char *name)
{
	for (unsigned u = 0; u < cf->nuplinks; u++)
		if (strcmp(cf->uplinks[u].ifname, name) == 0)
			return (int)u;
	return -1;
}

static void enter_section(struct parser *p, enum section section,
			  unsigned index)
{
	p->section = section;
	p->index = index;
	if (section == SECTION_GLOBAL) {
		p->seen = p->global_seen;
		return;
	}
	memset(p->section_seen, 0, sizeof(p->section_seen));
	p->seen = p->section_seen;
}

static void open_global(struct parser *p, const char *arg)
{
	if (*arg) {
		fail(p, "[global] takes no argument");
		return;
	}
	if (p->collecting)
		return;
	if (p->global_line) {
		fail(p, "[global] is given twice (first at line %u)",
		     p->global_line);
		return;
	}
	p->global_line = p->line;
	enter_section(p, SECTION_GLOBAL, 0);
}

/* The first pass registers the uplinks; the second finds each again. */
static void open_uplink(struct parser *p, const char *name)
{
	struct mlb_config_file *cf = p->cf;
	struct mlb_uplink_spec spec;
	struct mlb_err ignored;
	int u;

	if (!*name) {
		fail(p, "[uplink] needs an interface name: [uplink IFACE]");
		return;
	}
	if (strchr(name, ',') || mlb_parse_uplink(name, &spec, &ignored)) {
		fail(p, "[uplink %s]: \"%s\" is not an interface name", name,
		     name);
		return;
	}
	u = find_uplink(cf, name);
	if (p->collecting) {
		if (u < 0 && cf->nuplinks < MLB_MAX_UPLINKS) {
			cf->uplinks[cf->nuplinks] = spec;
			cf->uplink_lines[cf->nuplinks++] = p->line;
		}
		return;
	}
	if (u < 0)
		fail(p, "more than %d [uplink] sections", MLB_MAX_UPLINKS);
	else if (cf->uplink_lines[u] != p->line)
		fail(p, "[uplink %s] is given twice (first at line %u)", name,
		     cf->uplink_lines[u]);
	else
		enter_section(p, SECTION_UPLINK, (unsigned)u);
}

static void open_policy(struct parser *p, char *path)
{
	struct mlb_config_file *cf = p->cf;
	struct mlb_config_policy *policy;
	size_t len = strlen(path);

	if (p->collecting)
		return;
	if (!*path) {
		fail(p, "[policy] needs a cgroup path: [policy PATH]");
		return;
	}
	if (path[0] != '/') {
		fail(p, "[policy %s]: the cgroup path must be absolute", path);
		return;
	}
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	for (unsigned i = 0; i < cf->npolicies; i++)
		if (strcmp(cf->policies[i].cgroup, path) == 0) {
			fail(p, "[policy %s] is given twice (first at line %u)",
			     path, cf->policies[i].line);
			return;
		}
	if (cf->npolicies >= MLB_CONFIG_MAX_POLICIES) {
		fail(p, "more than %d [policy] sections",
		     MLB_CONFIG_MAX_POLICIES);
		return;
	}
	policy = &cf->policies[cf->npolicies];
	memset(policy, 0, sizeof(*policy));
	memcpy(policy->cgroup, path, len + 1);
	policy->line = p->line;
	enter_section(p, SECTION_POLICY, cf->npolicies++);
}

static enum section section_named(const char *kind, size_t len)
{
	static const char *const names[] = {
		[SECTION_GLOBAL] = "global",
		[SECTION_UPLINK] = "uplink",
		[SECTION_POLICY] = "policy",
	};

	for (unsigned i = SECTION_GLOBAL; i <= SECTION_POLICY; i++)
		if (strlen(names[i]) == len && !strncmp(kind, names[i], len))
			return (enum section)i;
	return SECTION_NONE;
}

/* A "[...]" line (s at the '['). */
static void read_header(struct parser *p, const char *s)
{
	const char *close = find_close(s + 1), *kind, *end, *rest;
	size_t kind_len, arg_len;
	char arg[sizeof(p->cf->policies[0].cgroup)];	/* the longest name */

	if (*close != ']') {
		fail(p, "expected [section] or key = value");
		return;
	}
	p->after_key = false;			/* inih forgets the last key */
	p->section = SECTION_NONE;
	kind = skip_space(s + 1);
	end = close;
	while (end > kind && isspace((unsigned char)end[-1]))
		end--;
	for (kind_len = 0; kind + kind_len < end &&
	     !isspace((unsigned char)kind[kind_len]); kind_len++)
		;
	rest = skip_space(kind + kind_len);
	if (rest > end)
		rest = end;
	arg_len = (size_t)(end - rest);
	snprintf(p->label, sizeof(p->label), "[%.*s%s%.*s]", (int)kind_len,
		 kind, arg_len ? " " : "", (int)arg_len, rest);
	if (!only_comment(close + 1)) {
		fail(p, "unexpected text after %s", p->label);
		return;
	}
	if (arg_len >= sizeof(arg)) {
		fail(p, "[%.*s ...]: the name is longer than %zu characters",
		     (int)kind_len, kind, sizeof(arg) - 1);
		return;
	}
	memcpy(arg, rest, arg_len);
	arg[arg_len] = '\0';
	switch (section_named(kind, kind_len)) {
	case SECTION_GLOBAL:
		open_global(p, arg);
		break;
	case SECTION_UPLINK:
		open_uplink(p, arg);
		break;
	case SECTION_POLICY:
		open_policy(p, arg);
		break;
	default:
		fail(p, "unknown section %s (expected [global], "
		     "[uplink IFACE] or [policy PATH])", p->label);
	}
}

/* Take note of how inih will read buf, the line p->line. */
static void classify(struct parser *p, const char *buf)
{
	const char *s = buf;

	p->wants_key = p->continues = p->got_key = false;
	if (p->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	s = skip_space(s);
	if (!*s || *s == ';' || *s == '#')
		return;				/* blank or a comment */
	if (p->after_key && s > buf) {
		p->wants_key = p->continues = true;
		return;
	}
	if (*s == '[') {
		read_header(p, s);
		return;
	}
	p->wants_key = true;
}

/* inih's reader: the next line into buf (at most size bytes with the
 * '\0'), or NULL to stop at the end or at the first error. */
static char *next_line(char *buf, int size, void *stream)
{
	struct parser *p = stream;
	size_t len, take;

	if (p->line && p->wants_key && !p->got_key)
		fail(p, "expected [section] or key = value");
	if (p->failed || !*p->next || size < 3)
		return NULL;
	len = strcspn(p->next, "\n");
	take = len + (p->next[len] == '\n');
	p->line++;
	if (len <= (size_t)size - 2) {
		memcpy(buf, p->next, take);
		buf[take] = '\0';
	} else {
		fail(p, "line is longer than %d characters", size - 2);
		buf[0] = '\0';		/* the first pass reads it as blank */
	}
	p->next += take;
	classify(p, buf);
	return p->failed ? NULL : buf;
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
		return relay(p, p->line, &e);
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

static int set_uplink_key(struct parser *p, const struct key *key,
			  const char *value)
{
	struct mlb_err e;

	if (mlb_uplink_set(&p->cf->uplinks[p->index], key->name, value, &e))
		return relay(p, p->line, &e);
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
		return relay(p, p->line, &e);
	if (dest->action == MLB_DEST_PIN &&
	    find_uplink(p->cf, dest->ifname) < 0)
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
	u = find_uplink(p->cf, item);
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
static int on_key(void *user, const char *section, const char *name,
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
			     "pin, probe and uplinks take more lines; do not "
			     "indent keys)", key ? key->name : name);
	return !set_value(p, key, value);
}

/* The whole file */

/* Weights and sticky a policy left to the uplinks and [global], and
 * [global]'s destination rules before its own. */
static int finish_policy(struct parser *p, unsigned i)
{
	struct mlb_config_file *cf = p->cf;
	struct mlb_config_policy *policy = &cf->policies[i];
	struct policy_extra *extra = &p->policies[i];
	uint64_t every = cf->nuplinks == 64 ? ~0ULL :
		(1ULL << cf->nuplinks) - 1;
	uint64_t bare = extra->listed ? extra->bare : every;
	unsigned room = MLB_STATE_MAX_DESTS - p->ndests;

	for (unsigned u = 0; u < cf->nuplinks; u++)
		if (bare >> u & 1)
			policy->weights[u] = cf->uplinks[u].weight;
	if (!extra->sticky_given)
		policy->sticky_seconds = p->sticky_seconds;
	if (policy->ndests > room)
		return fail_at(p, extra->dest_lines[room], "more than %d "
			       "bypass and pin rules in [policy %s] with "
			       "[global]'s %u", MLB_STATE_MAX_DESTS,
			       policy->cgroup, p->ndests);
	memmove(policy->dests + p->ndests, policy->dests,
		policy->ndests * sizeof(policy->dests[0]));
	memcpy(policy->dests, p->dests, p->ndests * sizeof(p->dests[0]));
	policy->ndests += p->ndests;
	return 0;
}

/* The line to blame when marks or tables run out at index bad: the
 * first is the key's fault, the others an uplink's or, after the
 * uplinks, last-resort's. */
static unsigned blame(const struct parser *p, unsigned bad, unsigned key_line)
{
	if (bad == 0 && key_line)
		return key_line;
	if (bad < p->cf->nuplinks)
		return p->cf->uplink_lines[bad];
	return p->global_seen[K_LAST_RESORT];
}

/* Marks, tables and priorities, as attach will check them. */
static int check_numbers(struct parser *p)
{
	struct mlb_config_file *cf = p->cf;
	const unsigned *at = p->global_seen;
	unsigned n = cf->nuplinks +
		(cf->last_resort == MLB_LAST_RESORT_UNREACHABLE);
	uint32_t slots[MLB_MAX_UPLINKS + 1];
	struct mlb_err e;
	unsigned bad;

	if (n > MLB_MAX_UPLINKS)
		return fail_at(p, at[K_LAST_RESORT], "last-resort = "
			       "unreachable needs a mark of its own: at most "
			       "%d uplinks with it", MLB_MAX_UPLINKS - 1);
	if (mlb_assign_marks(cf->mark_base, cf->mark_mask, n, slots, &e)) {
		for (bad = 0; bad < n && !mlb_assign_marks(cf->mark_base,
		     cf->mark_mask, bad + 1, slots, NULL); bad++)
			;
		return relay(p, blame(p, bad, cf->mark_mask && at[K_MARK_BASE] ?
				      at[K_MARK_BASE] : at[K_MARK_MASK]), &e);
	}
	if (mlb_assign_tables(cf->table_base, n, slots, &e)) {
		for (bad = 0; bad < n && !mlb_assign_tables(cf->table_base,
		     bad + 1, slots, NULL); bad++)
			;
		return relay(p, blame(p, bad, at[K_TABLE_BASE]), &e);
	}
	if (mlb_check_priority(cf->priority, &e))
		return relay(p, at[K_PRIORITY], &e);
	return 0;
}

static int finish(struct parser *p)
{
	if (p->cf->nuplinks == 0)
		return fail_at(p, p->line ? p->line : 1, "no [uplink IFACE] "
			       "section: at least one is needed");
	for (unsigned i = 0; i < p->cf->npolicies; i++)
		if (finish_policy(p, i))
			return -1;
	return check_numbers(p);
}

/* One pass over the text. */
static void read_text(struct parser *p, const char *text)
{
	int rc;

	p->next = text;
	p->line = 0;
	p->after_key = false;
	p->section = SECTION_NONE;
	rc = ini_parse_stream(next_line, p, on_key, p);
	/* next_line() has seen every error already; in case it did not: */
	if (rc > 0)
		fail_at(p, (unsigned)rc, "expected [section] or key = value");
	else if (rc < 0)
		fail_at(p, p->line ? p->line : 1, "inih failed (%d)", rc);
}

int config_parse_string(const char *text, const char *name,
			struct mlb_config_file *out, struct mlb_err *err)
{
	struct parser p = { .name = name, .cf = out, .err = err };

	/* Entries past the counts are left as they were: the file is large
	 * and the fuzzer calls this millions of times. */
	out->netns[0] = '\0';
	out->mark_base = MLB_DEFAULT_MARK_BASE;
	out->mark_mask = MLB_DEFAULT_MARK_MASK;
	out->table_base = MLB_DEFAULT_TABLE_BASE;
	out->priority = MLB_DEFAULT_PRIORITY;
	out->masquerade = false;
	out->last_resort = MLB_LAST_RESORT_MAIN;
	out->nuplinks = 0;
	out->npolicies = 0;

	p.collecting = true;
	read_text(&p, text);
	p.collecting = false;
	read_text(&p, text);
	if (!p.failed)
		finish(&p);
	return p.failed ? -1 : 0;
}

/* The whole file, at most FILE_MAX bytes, NUL-terminated. */
static char *read_all(FILE *f, size_t *len)
{
	size_t size = 4096;
	char *text = malloc(size), *bigger;

	*len = 0;
	while (text) {
		*len += fread(text + *len, 1, size - 1 - *len, f);
		if (ferror(f) || *len < size - 1 || size > FILE_MAX)
			break;
		bigger = realloc(text, size * 2);
		if (!bigger)
			free(text);
		text = bigger;
		size *= 2;
	}
	if (text)
		text[*len] = '\0';
	return text;
}

static unsigned line_of(const char *text, const char *at)
{
	unsigned line = 1;

	for (; text < at; text++)
		line += *text == '\n';
	return line;
}

int config_parse_file(const char *path, struct mlb_config_file *out,
		      struct mlb_err *err)
{
	FILE *f = fopen(path, "re");
	const char *nul;
	char *text;
	size_t len;
	int rc = -1;

	if (!f)
		return mlb_fail(err, "cannot read %s: %s", path,
				strerror(errno));
	text = read_all(f, &len);
	if (!text || ferror(f))
		mlb_fail(err, "cannot read %s: %s", path,
			 strerror(text ? errno : ENOMEM));
	else if (len > FILE_MAX)
		mlb_fail(err, "cannot read %s: it is larger than %d bytes",
			 path, FILE_MAX);
	else if ((nul = memchr(text, '\0', len)))
		mlb_fail(err, "%s:%u: a NUL byte: this is not a text file",
			 path, line_of(text, nul));
	else
		rc = config_parse_string(text, path, out, err);
	free(text);
	fclose(f);
	return rc;
}

void config_policy_request(const struct mlb_config_file *cf, unsigned p,
			   struct attach_request *req)
{
	const struct mlb_config_policy *policy = &cf->policies[p];

	memset(req, 0, sizeof(*req));
	req->cgroup = policy->cgroup;
	req->netns = cf->netns[0] ? cf->netns : NULL;
	for (unsigned u = 0; u < cf->nuplinks; u++) {
		req->uplinks[u] = cf->uplinks[u];
		req->uplinks[u].weight = policy->weights[u];
	}
	req->nuplinks = cf->nuplinks;
	req->mark_base = cf->mark_base;
	req->mark_mask = cf->mark_mask;
	req->table_base = cf->table_base;
	req->priority = cf->priority;
	req->masquerade = cf->masquerade;
	req->record_sockets = policy->record_sockets;
	req->last_resort = cf->last_resort;
	memcpy(req->dests, policy->dests,
	       policy->ndests * sizeof(policy->dests[0]));
	req->ndests = policy->ndests;
	req->sticky_seconds = policy->sticky_seconds;
}
