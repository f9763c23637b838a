/* kernel_features.c - probe the running kernel for what mlb-bpf uses (see
 * kernel_features.h).
 *
 * Each probe asks the kernel the way the real thing would fail: a program
 * of the hook's type and attach type is loaded, a helper is called from it
 * (the verifier names a helper it does not offer there), a map is made,
 * a link is created towards an invalid cgroup (a kernel that has cgroup
 * links says EBADF, one without the command EINVAL), kfuncs are looked up
 * in BTF.  Nothing is attached and nothing stays behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel_features.h"
#include "json.h"

/* The first release of each, from the kernel's history (README, Kernels,
 * names the commits).  Where mlb-bpf needs a helper inside a hook, the
 * later of the two counts. */
static const struct feature_info table[FEAT_COUNT] = {
	[FEAT_BTF] = { "btf", "the kernel's BTF", "5.4", "every attachment",
		       "/sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF=y)" },
	[FEAT_CGROUP_SOCK] = { "cgroup_sock_create",
			       "cgroup/sock_create programs", "4.10",
			       "every attachment",
			       "BPF_CGROUP_INET_SOCK_CREATE" },
	[FEAT_CGROUP_LINK] = { "cgroup_link", "BPF links for cgroups", "5.7",
			       "every attachment",
			       "BPF_LINK_CREATE for cgroups" },
	[FEAT_LRU_HASH] = { "lru_hash", "LRU hash maps", "4.10",
			    "every attachment", "BPF_MAP_TYPE_LRU_HASH" },
	[FEAT_LPM_TRIE] = { "lpm_trie", "LPM trie maps", "4.11",
			    "every attachment", "BPF_MAP_TYPE_LPM_TRIE" },
	[FEAT_TC] = { "tc_sk_lookup", "tc programs with socket lookup",
		      "4.20", "every attachment",
		      "bpf_sk_lookup_tcp in tc programs" },
	[FEAT_CONNECT] = { "cgroup_connect",
			   "bpf_setsockopt in cgroup/connect4 and connect6",
			   "5.8", "--bypass, --pin, --sticky",
			   "bpf_setsockopt in cgroup/connect4" },
	[FEAT_SENDMSG] = { "cgroup_sendmsg",
			   "bpf_setsockopt in cgroup/sendmsg4 and sendmsg6",
			   "5.12", "--bypass, --pin, --sticky",
			   "bpf_setsockopt in cgroup/sendmsg4" },
	[FEAT_SK_STORAGE] = { "sk_storage",
			      "socket storage in cgroup/sock_create", "5.9",
			      "--record-sockets, --balance least-conn and "
			      "adaptive",
			      "bpf_sk_storage_get in cgroup/sock_create" },
	[FEAT_CT_KFUNCS] = { "ct_kfuncs", "the conntrack kfuncs", "5.18",
			     "--lan", "bpf_skb_ct_lookup" },
	[FEAT_TCX] = { "tcx", "tcx links", "6.6",
		       "none (containers and --lan use clsact without it)",
		       "BPF_TCX_INGRESS" },
};

const struct feature_info *features_info(enum mlb_feature f)
{
	return f < FEAT_COUNT ? &table[f] : NULL;
}

bool features_required(enum mlb_feature f)
{
	return f <= FEAT_TC;
}

/* ---- pure helpers ------------------------------------------------------ */

int features_parse_version(const char *release, struct kernel_version *v)
{
	unsigned n[3] = { 0, 0, 0 };
	const char *p = release;
	int i;

	/* up to three numbers joined by dots; what follows the last one
	 * (a distribution's "-18-amd64") is not the version */
	for (i = 0; i < 3; i++) {
		char *end;

		if (*p < '0' || *p > '9')
			break;
		n[i] = (unsigned)strtoul(p, &end, 10);
		p = end;
		if (*p != '.') {
			i++;
			break;
		}
		p++;
	}
	if (i < 2)
		return -1;	/* no minor number */
	v->major = n[0];
	v->minor = n[1];
	v->patch = n[2];
	return 0;
}

int features_version_cmp(const struct kernel_version *a,
			 const struct kernel_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	return 0;
}

void features_refusal(char *buf, size_t len, const char *who,
		      const struct feature_info *f, const char *release,
		      const char *lacks)
{
	struct kernel_version v;
	char version[32];

	/* "6.1.0", not "6.1.0-18-amd64": the number is what the reader
	 * compares with the one the feature needs */
	if (features_parse_version(release, &v) == 0)
		snprintf(version, sizeof(version), "%u.%u.%u", v.major,
			 v.minor, v.patch);
	else
		snprintf(version, sizeof(version), "%s", release);
	snprintf(buf, len, "%s needs %s (Linux %s+): this kernel (%s) lacks %s",
		 who, f->name, f->since, version,
		 lacks && *lacks ? lacks : f->lacks);
}

bool features_listed(const char *list, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = list; p && *p; ) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && !strncmp(p, key, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* ---- probes ------------------------------------------------------------ */

/* r0 = 1; exit: valid for every hook used here (1 lets the socket be). */
static const struct bpf_insn return_one[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
	{ .code = BPF_JMP | BPF_EXIT },
};

static int load(enum bpf_prog_type type, enum bpf_attach_type attach,
		const struct bpf_insn *insns, size_t n, char *log,
		size_t log_len)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = attach,
		    .log_buf = log,
		    .log_size = log ? (__u32)log_len : 0,
		    .log_level = log ? 1 : 0);

	return bpf_prog_load(type, NULL, "GPL", insns, n, &opts);
}

static bool hook_exists(enum bpf_prog_type type, enum bpf_attach_type attach)
{
	int fd = load(type, attach, return_one, 2, NULL, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Whether programs of this type and attach type may call helper.  The
 * call has no arguments set up, so the verifier refuses it either way;
 * what it says tells the two apart, as libbpf_probe_bpf_helper() reads
 * it (which has no attach type to give). */
static bool helper_exists(enum bpf_prog_type type, enum bpf_attach_type attach,
			  enum bpf_func_id helper)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = helper },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	char log[4096] = "";
	int fd = load(type, attach, insns, 2, log, sizeof(log));

	if (fd >= 0) {
		close(fd);
		return true;
	}
	return !strstr(log, "invalid func ") && !strstr(log, "unknown func ") &&
	       !strstr(log, "cannot use helper ");
}

static bool map_exists(enum bpf_map_type type)
{
	return libbpf_probe_bpf_map_type(type, NULL) == 1;
}

static enum feature_state absent(struct feature_result *out, const char *what)
{
	snprintf(out->detail, sizeof(out->detail), "%s", what);
	return out->state = FEATURE_ABSENT;
}

static enum feature_state present(struct feature_result *out)
{
	out->detail[0] = '\0';
	return out->state = FEATURE_PRESENT;
}

static const char *btf_path(void)
{
	const char *path = getenv("MLB_KERNEL_BTF");

	return path && *path ? path : "/sys/kernel/btf/vmlinux";
}

/* A kernel with cgroup links looks the target cgroup up after the
 * program, and fails on fd -1 with EBADF; one without BPF_LINK_CREATE
 * refuses the command with EINVAL. */
static enum feature_state probe_cgroup_link(struct feature_result *out)
{
	int prog = load(BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE,
			return_one, 2, NULL, 0), link, e;

	if (prog < 0)
		return absent(out, "cgroup/sock_create programs");
	link = bpf_link_create(prog, -1, BPF_CGROUP_INET_SOCK_CREATE, NULL);
	e = errno;
	if (link >= 0)
		close(link);
	close(prog);
	return link >= 0 || e == EBADF ? present(out) :
	       absent(out, table[FEAT_CGROUP_LINK].lacks);
}

/* Both families' hooks, each with bpf_setsockopt (SO_MARK). */
static enum feature_state probe_sock_addr(struct feature_result *out,
					  enum bpf_attach_type v4,
					  enum bpf_attach_type v6,
					  const char *name4, const char *name6)
{
	char what[64];

	if (!hook_exists(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, v4) ||
	    !hook_exists(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, v6)) {
		snprintf(what, sizeof(what), "%s programs", name4);
		return absent(out, what);
	}
	if (!helper_exists(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, v4,
			   BPF_FUNC_setsockopt)) {
		snprintf(what, sizeof(what), "bpf_setsockopt in %s", name4);
		return absent(out, what);
	}
	if (!helper_exists(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, v6,
			   BPF_FUNC_setsockopt)) {
		snprintf(what, sizeof(what), "bpf_setsockopt in %s", name6);
		return absent(out, what);
	}
	return present(out);
}

static enum feature_state probe_sk_storage(struct feature_result *out)
{
	if (!map_exists(BPF_MAP_TYPE_SK_STORAGE))
		return absent(out, "BPF_MAP_TYPE_SK_STORAGE");
	if (!helper_exists(BPF_PROG_TYPE_CGROUP_SOCK,
			   BPF_CGROUP_INET_SOCK_CREATE,
			   BPF_FUNC_sk_storage_get))
		return absent(out, table[FEAT_SK_STORAGE].lacks);
	return present(out);
}

/* Asking the loopback device (ifindex 1 in every namespace) which tcx
 * programs it has fails with EINVAL on kernels without tcx. */
static enum feature_state probe_tcx(struct feature_result *out)
{
	__u32 count = 0;

	if (bpf_prog_query(1, MLB_BPF_TCX_INGRESS, 0, NULL, NULL, &count))
		return absent(out, table[FEAT_TCX].lacks);
	return present(out);
}

static bool has_func(const struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

/* Whether struct nf_conn has a mark (CONFIG_NF_CONNTRACK_MARK), which the
 * LAN program reads (the nft rule of the attachment writes it). */
static bool has_ct_mark(const struct btf *btf)
{
	int id = btf ? btf__find_by_name_kind(btf, "nf_conn",
					      BTF_KIND_STRUCT) : -1;
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	const struct btf_member *m = t ? btf_members(t) : NULL;

	for (int i = 0; t && i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, m[i].name_off), "mark"))
			return true;
	return false;
}

/* Whether this kernel ships nf_conntrack as a module file (modules.dep
 * names it, compressed or not). */
static bool conntrack_module_exists(void)
{
	struct utsname u;
	char path[256], line[1024];
	bool found = false;
	FILE *f;

	if (uname(&u))
		return false;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (colon) {
			*colon = '\0';
			found = strstr(line, "/nf_conntrack.ko") != NULL;
		}
	}
	fclose(f);
	return found;
}

/* The kfuncs are in vmlinux's BTF when nf_conntrack is built in, in the
 * module's own BTF (/sys/kernel/btf/nf_conntrack) when it is a loaded
 * module; a module not loaded yet cannot be asked. */
static enum feature_state probe_ct_kfuncs(struct feature_result *out)
{
	static const char *const kfuncs[] = { "bpf_skb_ct_lookup",
					      "bpf_ct_release" };
	struct btf *vmlinux = btf__load_vmlinux_btf(), *module = NULL;
	const struct btf *btf = vmlinux;
	enum feature_state state = FEATURE_PRESENT;

	if (!vmlinux)
		return absent(out, "BTF (/sys/kernel/btf/vmlinux)");
	if (has_func(vmlinux, kfuncs[0]))
		;		/* nf_conntrack built in, with the kfuncs */
	else if (access("/sys/kernel/btf/nf_conntrack", F_OK) == 0)
		btf = module = btf__load_module_btf("nf_conntrack", vmlinux);
	else if (access("/sys/module/nf_conntrack", F_OK) == 0)
		;		/* built in or loaded, without them */
	else if (conntrack_module_exists())
		state = FEATURE_UNKNOWN;
	else
		state = absent(out, "nf_conntrack (CONFIG_NF_CONNTRACK)");
	for (size_t i = 0; state == FEATURE_PRESENT && i < 2; i++)
		if (!has_func(btf, kfuncs[i]))
			state = absent(out, kfuncs[i]);
	if (state == FEATURE_PRESENT && !has_ct_mark(btf))
		state = absent(out, "nf_conn.mark (CONFIG_NF_CONNTRACK_MARK)");
	if (state == FEATURE_UNKNOWN) {
		out->state = state;
		snprintf(out->detail, sizeof(out->detail), "nf_conntrack, a "
			 "module not loaded yet (attach --lan loads it)");
	} else if (state == FEATURE_PRESENT) {
		present(out);
	}
	btf__free(module);
	btf__free(vmlinux);
	return state;
}

/* Only a test build honours MLB_TEST_HIDE_FEATURES: the shipped binary
 * always tells the truth about its kernel. */
static bool hidden(enum mlb_feature f)
{
#ifdef MLB_TEST_HOOKS
	return features_listed(getenv("MLB_TEST_HIDE_FEATURES"), table[f].key);
#else
	(void)f;
	return false;
#endif
}

enum feature_state features_probe(enum mlb_feature f,
				  struct feature_result *out)
{
	char what[128];

	if (f >= FEAT_COUNT)
		return absent(out, "an unknown feature");
	if (hidden(f))
		return absent(out, table[f].lacks);
	switch (f) {
	case FEAT_BTF:
		if (access(btf_path(), R_OK) == 0)
			return present(out);
		snprintf(what, sizeof(what), "%s (CONFIG_DEBUG_INFO_BTF=y)",
			 btf_path());
		return absent(out, what);
	case FEAT_CGROUP_SOCK:
		return hook_exists(BPF_PROG_TYPE_CGROUP_SOCK,
				   BPF_CGROUP_INET_SOCK_CREATE) ? present(out) :
		       absent(out, table[f].lacks);
	case FEAT_CGROUP_LINK:
		return probe_cgroup_link(out);
	case FEAT_LRU_HASH:
		return map_exists(BPF_MAP_TYPE_LRU_HASH) ? present(out) :
		       absent(out, table[f].lacks);
	case FEAT_LPM_TRIE:
		return map_exists(BPF_MAP_TYPE_LPM_TRIE) ? present(out) :
		       absent(out, table[f].lacks);
	case FEAT_TC:
		return helper_exists(BPF_PROG_TYPE_SCHED_CLS, 0,
				     BPF_FUNC_sk_lookup_tcp) &&
		       hook_exists(BPF_PROG_TYPE_SCHED_CLS, 0) ? present(out) :
		       absent(out, table[f].lacks);
	case FEAT_CONNECT:
		return probe_sock_addr(out, BPF_CGROUP_INET4_CONNECT,
				       BPF_CGROUP_INET6_CONNECT,
				       "cgroup/connect4", "cgroup/connect6");
	case FEAT_SENDMSG:
		return probe_sock_addr(out, BPF_CGROUP_UDP4_SENDMSG,
				       BPF_CGROUP_UDP6_SENDMSG,
				       "cgroup/sendmsg4", "cgroup/sendmsg6");
	case FEAT_SK_STORAGE:
		return probe_sk_storage(out);
	case FEAT_CT_KFUNCS:
		return probe_ct_kfuncs(out);
	case FEAT_TCX:
		return probe_tcx(out);
	default:
		return absent(out, "an unknown feature");
	}
}

bool features_have(enum mlb_feature f)
{
	struct feature_result r;

	return features_probe(f, &r) == FEATURE_PRESENT;
}

int features_require(enum mlb_feature f, const char *who, bool strict,
		     struct mlb_err *err)
{
	struct feature_result r;
	enum feature_state state = features_probe(f, &r);
	struct utsname u;

	if (state == FEATURE_PRESENT || (state == FEATURE_UNKNOWN && !strict))
		return 0;
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	features_refusal(err->msg, sizeof(err->msg), who, &table[f], u.release,
			 r.detail);
	return -1;
}

/* The option that asked for the destination programs, as the user wrote
 * it (the configuration file's keys have the same names). */
static const char *destination_option(const struct mlb_state *state)
{
	if (!state->ndests)
		return "--sticky";
	return state->dests[0].action == MLB_DEST_PIN ? "--pin" : "--bypass";
}

static const char *balance_option(const struct mlb_state *state)
{
	return state->balance == MLB_BALANCE_ADAPTIVE ? "--balance adaptive" :
							"--balance least-conn";
}

int features_check_state(const struct mlb_state *state, struct mlb_err *err)
{
	for (int f = 0; f < FEAT_COUNT; f++)
		if (features_required(f) &&
		    features_require(f, "every attachment", true, err))
			return -1;
	if (state->record_sockets &&
	    features_require(FEAT_SK_STORAGE, "--record-sockets", true, err))
		return -1;
	if (mlb_balance_counts_conns(state->balance) &&
	    (features_require(FEAT_SK_STORAGE, balance_option(state), true,
			      err) ||
	     features_require(FEAT_CONNECT, balance_option(state), true,
			      err) ||
	     features_require(FEAT_SENDMSG, balance_option(state), true,
			      err)))
		return -1;
	if ((state->ndests || state->sticky_seconds) &&
	    (features_require(FEAT_CONNECT, destination_option(state), true,
			      err) ||
	     features_require(FEAT_SENDMSG, destination_option(state), true,
			      err)))
		return -1;
	/* nf_conntrack may be a module that the attachment's masquerade
	 * table loads: asked again, strictly, once that table exists */
	if (state->nlan &&
	    features_require(FEAT_CT_KFUNCS, "--lan", false, err))
		return -1;
	return 0;
}

/* ---- mlb-bpf features -------------------------------------------------- */

static const char *state_word(enum feature_state s)
{
	return s == FEATURE_PRESENT ? "yes" : s == FEATURE_UNKNOWN ? "unknown" :
	       "no";
}

/* Whether the running kernel is older than the feature's first release:
 * then it lacks it by age, not by its configuration. */
static bool predates(const struct kernel_version *running, bool known,
		     const struct feature_info *f)
{
	struct kernel_version since;

	return known && features_parse_version(f->since, &since) == 0 &&
	       features_version_cmp(running, &since) < 0;
}

static void show_json(FILE *out, const char *release,
		      const struct feature_result *r,
		      const struct kernel_version *v, bool known)
{
	struct json j;
	char version[32] = "";

	if (known)
		snprintf(version, sizeof(version), "%u.%u.%u", v->major,
			 v->minor, v->patch);
	json_init(&j, out);
	json_object_begin(&j);
	json_key(&j, "kernel");
	json_object_begin(&j);
	json_kv_string(&j, "release", release);
	json_kv_string(&j, "version", version);
	json_object_end(&j);
	json_key(&j, "features");
	json_array_begin(&j);
	for (int f = 0; f < FEAT_COUNT; f++) {
		json_object_begin(&j);
		json_kv_string(&j, "key", table[f].key);
		json_kv_string(&j, "name", table[f].name);
		json_kv_bool(&j, "present", r[f].state == FEATURE_PRESENT);
		json_kv_string(&j, "state", state_word(r[f].state));
		json_kv_string(&j, "since", table[f].since);
		json_kv_bool(&j, "kernel_predates",
			     predates(v, known, &table[f]));
		json_kv_bool(&j, "required", features_required(f));
		json_kv_string(&j, "needed_by", table[f].needed_by);
		json_key(&j, "lacks");
		if (r[f].state == FEATURE_PRESENT)
			json_null(&j);
		else
			json_string(&j, r[f].detail);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
}

static void show_text(FILE *out, const char *release,
		      const struct feature_result *r,
		      const struct kernel_version *v, bool known)
{
	fprintf(out, "kernel %s\n", release);
	fprintf(out, "%-19s %-8s %-6s %s\n", "FEATURE", "PRESENT", "SINCE",
		"NEEDED BY");
	for (int f = 0; f < FEAT_COUNT; f++) {
		fprintf(out, "%-19s %-8s %-6s %s", table[f].key,
			state_word(r[f].state), table[f].since,
			table[f].needed_by);
		if (r[f].state != FEATURE_PRESENT)
			fprintf(out, "; lacks %s%s", r[f].detail,
				predates(v, known, &table[f]) ?
				" (this kernel predates it)" : "");
		fputc('\n', out);
	}
}

int features_show(FILE *out, bool json, struct mlb_err *err)
{
	struct feature_result r[FEAT_COUNT];
	struct kernel_version v = { 0 };
	struct utsname u;
	bool known;

	if (uname(&u))
		return mlb_fail(err, "uname: %s", strerror(errno));
	known = features_parse_version(u.release, &v) == 0;
	for (int f = 0; f < FEAT_COUNT; f++)
		features_probe(f, &r[f]);
	if (json)
		show_json(out, u.release, r, &v, known);
	else
		show_text(out, u.release, r, &v, known);
	return 0;
}
