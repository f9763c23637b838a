/* kernel_features.h - what the running kernel offers of what mlb-bpf
 * uses: each feature probed (a tiny program or map loaded, BTF searched),
 * never guessed from the version string, since distributions backport;
 * the first Linux release that has it, from the kernel's history; the
 * options that need it; the one line that refuses an option whose
 * feature is missing; and `mlb-bpf features`, which shows them all.
 * (Not "features.h": that name is glibc's, found through -Iinclude.)
 *
 * A test build (-DMLB_TEST_HOOKS, the ASan binary only) hides features
 * named in MLB_TEST_HIDE_FEATURES (keys, comma-separated): their probe
 * says absent, so a test can see each refusal and fallback on a kernel
 * that has everything.
 */
#ifndef MLB_KERNEL_FEATURES_H
#define MLB_KERNEL_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "state.h"

/* enum bpf_attach_type's BPF_TCX_INGRESS (uapi 6.6), which older headers
 * (libbpf 1.1, Debian 12) do not have: the tcx probe asks with it, and
 * tc.c attaches with it. */
#define MLB_BPF_TCX_INGRESS 46

enum mlb_feature {
	/* needed by every attachment */
	FEAT_BTF,		/* CO-RE relocations, kfunc discovery */
	FEAT_CGROUP_SOCK,	/* cgroup/sock_create: the socket's mark */
	FEAT_CGROUP_LINK,	/* the pinned link that keeps it attached */
	FEAT_LRU_HASH,		/* sticky, container and LAN flow maps */
	FEAT_LPM_TRIE,		/* destination rules */
	FEAT_TC,		/* the container program (socket lookup) */
	/* needed by some options */
	FEAT_CONNECT,		/* --bypass, --pin, --sticky at connect() */
	FEAT_SENDMSG,		/* the same at sendmsg() (unconnected UDP) */
	FEAT_SK_STORAGE,	/* --record-sockets */
	FEAT_CT_KFUNCS,		/* --lan */
	/* preferred, with a fallback */
	FEAT_TCX,		/* tc programs as links; clsact otherwise */
	FEAT_COUNT
};

enum feature_state {
	FEATURE_ABSENT,
	FEATURE_PRESENT,
	/* cannot tell yet: nf_conntrack is a module not loaded; the
	 * masquerade table of a --lan attachment loads it */
	FEATURE_UNKNOWN,
};

struct feature_info {
	const char *key;	/* "ct_kfuncs": JSON, MLB_TEST_HIDE_FEATURES */
	const char *name;	/* "the conntrack kfuncs", for the one line */
	const char *since;	/* first Linux release with it: "5.18" */
	const char *needed_by;	/* "--lan"; "every attachment" */
	const char *lacks;	/* what an absent one lacks, by default */
};

struct feature_result {
	enum feature_state state;
	char detail[160];	/* absent or unknown: what is missing */
};

const struct feature_info *features_info(enum mlb_feature f);

/* Whether every attachment needs f (refused without it). */
bool features_required(enum mlb_feature f);

/* Ask the running kernel.  Needs CAP_BPF (or CAP_SYS_ADMIN). */
enum feature_state features_probe(enum mlb_feature f,
				  struct feature_result *out);

/* Present (unknown counts as absent). */
bool features_have(enum mlb_feature f);

/* Refuse, with the one line, when f is absent: "WHO needs NAME (Linux
 * SINCE+): this kernel (VERSION) lacks WHAT".  An unknown state passes
 * unless strict. */
int features_require(enum mlb_feature f, const char *who, bool strict,
		     struct mlb_err *err);

/* Everything an attachment as recorded in state needs, before anything
 * is changed: every attachment's features, then its options'. */
int features_check_state(const struct mlb_state *state, struct mlb_err *err);

/* `mlb-bpf features [--json]`: every feature, present or not, with its
 * first release and the options that need it, and the running kernel. */
int features_show(FILE *out, bool json, struct mlb_err *err);

/* ---- pure helpers, for the above and the unit tests ---- */

struct kernel_version {
	unsigned major, minor, patch;
};

/* "6.1.0-18-amd64" -> 6.1.0; -1 if it does not start with N.N. */
int features_parse_version(const char *release, struct kernel_version *v);

/* <0, 0, >0 as a is older than, the same as, newer than b. */
int features_version_cmp(const struct kernel_version *a,
			 const struct kernel_version *b);

/* The refusal line for f (without the "mlb-bpf: " prefix). */
void features_refusal(char *buf, size_t len, const char *who,
		      const struct feature_info *f, const char *release,
		      const char *lacks);

/* Whether key is one of the comma-separated keys of list. */
bool features_listed(const char *list, const char *key);

#endif
