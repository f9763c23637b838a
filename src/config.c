/* config.c - the configuration file (see config.h): inih splits it into
 * keys and values, this module reads the lines and sections and checks
 * the whole; config_keys.c gives each key its meaning.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include "config.h"
#include "config_internal.h"


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
	u = config_find_uplink(cf, name);
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
	unsigned bad, line;

	if (n > MLB_MAX_UPLINKS)
		return fail_at(p, at[K_LAST_RESORT], "last-resort = "
			       "unreachable needs a mark of its own: at most "
			       "%d uplinks with it", MLB_MAX_UPLINKS - 1);
	if (mlb_assign_marks(cf->mark_base, cf->mark_mask, n, slots, &e)) {
		for (bad = 0; bad < n && !mlb_assign_marks(cf->mark_base,
		     cf->mark_mask, bad + 1, slots, NULL); bad++)
			;
		line = blame(p, bad, cf->mark_mask && at[K_MARK_BASE] ?
			     at[K_MARK_BASE] : at[K_MARK_MASK]);
		return config_relay(p, line, &e);
	}
	if (mlb_assign_tables(cf->table_base, n, slots, &e)) {
		for (bad = 0; bad < n && !mlb_assign_tables(cf->table_base,
		     bad + 1, slots, NULL); bad++)
			;
		return config_relay(p, blame(p, bad, at[K_TABLE_BASE]), &e);
	}
	if (mlb_check_priority(cf->priority, &e))
		return config_relay(p, at[K_PRIORITY], &e);
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
	rc = ini_parse_stream(next_line, p, config_on_key, p);
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
	req->balance = policy->balance;
	req->floor_pct = policy->floor_pct;
	memcpy(req->lan, policy->lan, sizeof(req->lan));
	req->nlan = policy->nlan;
}
