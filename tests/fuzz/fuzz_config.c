/* fuzz_config.c - libFuzzer target for the configuration file parser:
 * any text either parses into a file that attach could take, or fails
 * with one line "NAME:LINE: ...".  Built and run by `make fuzz` (and
 * `make test`) with AddressSanitizer and UBSan, so a crash, an overflow,
 * undefined behaviour or a leak fails too.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define NAME "fuzz.conf"

static void fail(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz_config: %s: %s\n", what, msg);
	abort();
}

static void check_error(const struct mlb_err *err)
{
	const char *s = err->msg + strlen(NAME);

	if (!err->msg[0])
		fail("error without a message", "");
	if (strchr(err->msg, '\n'))
		fail("error message of more than one line", err->msg);
	if (strncmp(err->msg, NAME ":", strlen(NAME ":")) != 0)
		fail("error message does not start with the file name",
		     err->msg);
	s++;				/* the ':' */
	if (!isdigit((unsigned char)*s))
		fail("error message has no line number", err->msg);
	while (isdigit((unsigned char)*s))
		s++;
	if (strncmp(s, ": ", 2) != 0)
		fail("error message has no ':' after its line", err->msg);
}

static void check_policy(const struct mlb_config_file *cf,
			 const struct mlb_config_policy *policy)
{
	unsigned used = 0;

	for (unsigned u = 0; u < cf->nuplinks; u++) {
		if (policy->weights[u] > MLB_WEIGHT_MAX)
			fail("weight out of range", policy->cgroup);
		used += policy->weights[u] != 0;
	}
	if (!used)
		fail("policy without an uplink", policy->cgroup);
	if (policy->ndests > MLB_STATE_MAX_DESTS)
		fail("too many destination rules", policy->cgroup);
	if (policy->cgroup[0] != '/')
		fail("relative cgroup path", policy->cgroup);
	if (policy->sticky_seconds > 86400)
		fail("sticky out of range", policy->cgroup);
	for (unsigned d = 0; d < policy->ndests; d++) {
		const struct mlb_dest_spec *dest = &policy->dests[d];
		bool found = false;

		if (dest->action != MLB_DEST_PIN)
			continue;
		for (unsigned u = 0; u < cf->nuplinks; u++)
			found |= !strcmp(cf->uplinks[u].ifname, dest->ifname);
		if (!found)
			fail("pin to an uplink that is not in the file",
			     dest->ifname);
	}
}

static void check_file(const struct mlb_config_file *cf)
{
	struct attach_request req;

	if (cf->nuplinks < 1 || cf->nuplinks > MLB_MAX_UPLINKS)
		fail("number of uplinks out of range", "");
	if (cf->npolicies > MLB_CONFIG_MAX_POLICIES)
		fail("number of policies out of range", "");
	for (unsigned u = 0; u < cf->nuplinks; u++)
		if (cf->uplinks[u].weight < MLB_WEIGHT_MIN ||
		    cf->uplinks[u].weight > MLB_WEIGHT_MAX)
			fail("default weight out of range",
			     cf->uplinks[u].ifname);
	for (unsigned p = 0; p < cf->npolicies; p++) {
		check_policy(cf, &cf->policies[p]);
		config_policy_request(cf, p, &req);
		if (req.nuplinks != cf->nuplinks ||
		    req.ndests != cf->policies[p].ndests)
			fail("request does not match its policy",
			     cf->policies[p].cgroup);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mlb_config_file cf;
	struct mlb_err err = { { 0 } };
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_parse_string(text, NAME, &cf, &err) == 0)
		check_file(&cf);
	else
		check_error(&err);
	free(text);
	return 0;
}
