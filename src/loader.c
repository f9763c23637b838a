/* loader.c - load, attach, pin, and later find the BPF side of an
 * attachment (see loader.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel_features.h"
#include "loader.h"
#include "state_version.h"
#include "loader_hooks.h"
#include "loader_internal.h"
#include "mlb.h"
#include "slots.h"

/* Pin names inside an attachment's directory. */
#define PIN_LINK "link"
#define PIN_SETTINGS "settings"
#define PIN_SLOTS "slots"
#define PIN_COUNTERS "counters"
#define PIN_SK_UPLINK "sk_uplink"
#define PIN_STATE "state"
#define PIN_HEALTH "health"
#define PIN_DEST_RULES "dest_rules"
#define PIN_STICKY "sticky"
#define PIN_CONNS "conns"
#define PIN_LAN_FLOWS LOADER_PIN_LAN_FLOWS

/* An attachment directory: MLB_PIN_ROOT plus a number. */
#define PIN_DIR_LEN 128

int loader_ensure_bpffs(struct mlb_err *err)
{
	struct statfs st;

	if (statfs(MLB_BPFFS, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(MLB_BPFFS, 0700) && errno != EEXIST)
		return mlb_fail(err, "creating %s: %s", MLB_BPFFS,
				strerror(errno));
	if (mount("bpf", MLB_BPFFS, "bpf", 0, "mode=0700"))
		return mlb_fail(err, "cannot mount bpffs at %s: %s",
				MLB_BPFFS, strerror(errno));
	return 0;
}

void loader_pin_dir(uint64_t cgroup_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%" PRIu64, MLB_PIN_ROOT, cgroup_id);
}

void loader_staging_dir(uint64_t cgroup_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/new-%" PRIu64, MLB_PIN_ROOT, cgroup_id);
}


bool loader_is_attached(uint64_t cgroup_id)
{
	char dir[PIN_DIR_LEN], path[PATH_MAX];

	loader_pin_dir(cgroup_id, dir, sizeof(dir));
	loader_pin_path(dir, PIN_STATE, path, sizeof(path));
	return access(path, F_OK) == 0;
}


/* Remove every pin in dir (detaching the links), then dir itself. */
static int remove_pin_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 0, gone;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		loader_pin_path(dir, de->d_name, path, sizeof(path));
		gone = loader_unpin(path);
		if (gone)
			ret = gone;
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		ret = -errno;
	return ret;
}

static int write_settings(struct mlb_bpf *skel, const struct mlb_state *state,
			  struct mlb_err *err)
{
	struct mlb_config cfg = {
		.active_table = 0,
		.nuplinks = state->nuplinks,
		.flags = state->record_sockets ? MLB_F_RECORD_SOCKETS : 0,
		.mark_mask = state->mark_mask,
		.mark_base = state->mark_base,
		.mark_shift = (__u32)__builtin_ctz(state->mark_mask),
		.sticky_ns = state->sticky_seconds * 1000000000ULL,
		.balance = state->balance,
	};
	__u32 key = 0;

	for (unsigned i = 0; i < state->nuplinks; i++) {
		cfg.marks[i] = state->uplinks[i].mark;
		cfg.weight[i] = state->uplinks[i].weight;
		cfg.live |= 1ULL << i;
	}
	/* last-resort=unreachable is one more "uplink" after the real ones,
	 * with weight 0 until every real one is down. */
	if (state->last_resort == MLB_LAST_RESORT_UNREACHABLE &&
	    state->nuplinks < MLB_MAX_UPLINKS) {
		cfg.marks[state->nuplinks] = state->unreachable_mark;
		cfg.nuplinks++;
	}
	if (bpf_map__update_elem(skel->maps.settings, &key, sizeof(key), &cfg,
				 sizeof(cfg), BPF_ANY))
		return mlb_fail(err, "writing settings map: %s",
				strerror(errno));
	return 0;
}

/* Build the slot table for weights into table id `which`. */
static int write_slot_table(int slots_fd, __u32 which, const unsigned *weights,
			    unsigned n, struct mlb_err *err)
{
	struct mlb_slot_table *table = calloc(1, sizeof(*table));
	unsigned len = 0;
	int ret = 0;

	if (!table)
		return mlb_fail(err, "out of memory");
	if (mlb_build_slots(weights, n, table->uplink, MLB_MAX_SLOTS, &len)) {
		ret = mlb_fail(err, "weights need more than %d slots",
			       MLB_MAX_SLOTS);
		goto out;
	}
	table->len = len;
	if (bpf_map_update_elem(slots_fd, &which, table, BPF_ANY))
		ret = mlb_fail(err, "writing slot table: %s", strerror(errno));
out:
	free(table);
	return ret;
}

/* The trie key of a destination rule (IPv4 as IPv4-mapped IPv6). */
static struct mlb_dest_key dest_key(const struct mlb_state_dest *d)
{
	struct mlb_dest_key key = { 0 };

	if (d->family == AF_INET) {
		key.prefixlen = 96 + d->prefixlen;
		key.addr.word[2] = htonl(0xffff);
		key.addr.word[3] = d->addr[0];
	} else {
		key.prefixlen = d->prefixlen;
		memcpy(key.addr.word, d->addr, sizeof(key.addr.word));
	}
	return key;
}

static bool is_wanted(const struct mlb_state *state,
		      const struct mlb_dest_key *key)
{
	for (unsigned d = 0; d < state->ndests; d++) {
		struct mlb_dest_key want = dest_key(&state->dests[d]);

		if (!memcmp(&want, key, sizeof(want)))
			return true;
	}
	return false;
}

/* Make the trie hold exactly the state's rules: note the keys it holds,
 * write every wanted rule, then delete the noted keys no longer wanted. */
static int write_dest_rules(int fd, const struct mlb_state *state,
			    struct mlb_err *err)
{
	struct mlb_dest_key old[MLB_MAX_DEST_RULES];
	unsigned nold = 0;

	while (nold < MLB_MAX_DEST_RULES &&
	       bpf_map_get_next_key(fd, nold ? &old[nold - 1] : NULL,
				    &old[nold]) == 0)
		nold++;
	for (unsigned d = 0; d < state->ndests; d++) {
		struct mlb_dest_key key = dest_key(&state->dests[d]);
		struct mlb_dest_rule rule = {
			.action = state->dests[d].action,
			.uplink = state->dests[d].uplink,
		};

		if (bpf_map_update_elem(fd, &key, &rule, BPF_ANY))
			return mlb_fail(err, "writing destination rules: %s",
					strerror(errno));
	}
	for (unsigned k = 0; k < nold; k++)
		if (!is_wanted(state, &old[k]) &&
		    bpf_map_delete_elem(fd, &old[k]) && errno != ENOENT)
			return mlb_fail(err, "removing a destination rule: %s",
					strerror(errno));
	return 0;
}

/* The tc programs (forward.h) are pinned as programs too: watch puts them
 * on interfaces that appear later without loading anything.  The LAN
 * program is loaded (and pinned) only for an attachment with --lan: it
 * needs the kernel's conntrack kfuncs, which the others do not. */
static int pin_tc_programs(struct mlb_bpf *skel, const char *dir,
			   struct mlb_err *err)
{
	struct {
		struct bpf_program *prog;
		const char *name;
	} progs[] = {
		{ skel->progs.mlb_tc_container, LOADER_PIN_TC_CONTAINER },
		{ skel->progs.mlb_tc_lan, LOADER_PIN_TC_LAN },
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!bpf_program__autoload(progs[i].prog))
			continue;
		loader_pin_path(dir, progs[i].name, path, sizeof(path));
		if (bpf_program__pin(progs[i].prog, path))
			return mlb_fail(err, "pinning %s: %s", path,
					strerror(errno));
	}
	return 0;
}

int loader_open_program(uint64_t cgroup_id, const char *name,
			struct mlb_err *err)
{
	char dir[PIN_DIR_LEN], path[PATH_MAX];
	int fd;

	loader_pin_dir(cgroup_id, dir, sizeof(dir));
	loader_pin_path(dir, name, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return mlb_fail(err, "opening %s: %s", path, strerror(errno));
	return fd;
}

static int pin_all(struct mlb_bpf *skel, struct bpf_link *link,
		   const char *dir, struct mlb_err *err)
{
	struct {
		struct bpf_map *map;
		const char *name;
	} maps[] = {
		{ skel->maps.settings, PIN_SETTINGS },
		{ skel->maps.slots, PIN_SLOTS },
		{ skel->maps.counters, PIN_COUNTERS },
		{ skel->maps.sk_uplink, PIN_SK_UPLINK },
		{ skel->maps.state, PIN_STATE },
		{ skel->maps.health, PIN_HEALTH },
		{ skel->maps.dest_rules, PIN_DEST_RULES },
		{ skel->maps.sticky, PIN_STICKY },
		{ skel->maps.conns, PIN_CONNS },
		{ skel->maps.lan_flows, PIN_LAN_FLOWS },
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (!bpf_map__autocreate(maps[i].map))
			continue;	/* left out for this kernel */
		loader_pin_path(dir, maps[i].name, path, sizeof(path));
		if (bpf_map__pin(maps[i].map, path))
			return mlb_fail(err, "pinning %s: %s", path,
					strerror(errno));
	}
	loader_pin_path(dir, PIN_LINK, path, sizeof(path));
	if (bpf_link__pin(link, path))
		return mlb_fail(err, "pinning %s: %s", path, strerror(errno));
	return 0;
}

int loader_attach(const struct mlb_state *state, int cgroup_fd,
		  struct mlb_err *err)
{
	char dir[PIN_DIR_LEN], tmpdir[PIN_DIR_LEN];
	unsigned weights[MLB_MAX_UPLINKS];
	struct bpf_link *link = NULL;
	struct mlb_bpf *skel;
	__u32 key = 0;
	int ret = -1;

	loader_pin_dir(state->cgroup_id, dir, sizeof(dir));
	loader_staging_dir(state->cgroup_id, tmpdir, sizeof(tmpdir));

	skel = mlb_bpf__open();
	if (!skel)
		return mlb_fail(err, "opening BPF object: %s", strerror(errno));
	if (bpf_map__set_value_size(skel->maps.state, sizeof(*state)) ||
	    bpf_map__set_value_size(skel->maps.health,
				    sizeof(struct mlb_health))) {
		mlb_fail(err, "sizing state map: %s", strerror(errno));
		goto cleanup;
	}
	if (loader_fit(skel, state, err))
		goto cleanup;
	if (mlb_bpf__load(skel)) {
		int e = errno;

		/* a feature missing is said in its one line; anything else
		 * is the verifier's to explain */
		if (features_check_state(state, err) == 0)
			mlb_fail(err, "loading BPF program: %s (run with "
				 "--verbose for the verifier log)",
				 strerror(e));
		goto cleanup;
	}

	for (unsigned i = 0; i < state->nuplinks; i++)
		weights[i] = state->uplinks[i].weight;
	if (write_settings(skel, state, err) ||
	    write_dest_rules(bpf_map__fd(skel->maps.dest_rules), state, err) ||
	    write_slot_table(bpf_map__fd(skel->maps.slots), 0, weights,
			     state->nuplinks, err))
		goto cleanup;
	if (bpf_map__update_elem(skel->maps.state, &key, sizeof(key), state,
				 sizeof(*state), BPF_ANY)) {
		mlb_fail(err, "writing state map: %s", strerror(errno));
		goto cleanup;
	}

	if (mkdir(MLB_PIN_ROOT, 0700) && errno != EEXIST) {
		mlb_fail(err, "creating %s: %s", MLB_PIN_ROOT, strerror(errno));
		goto cleanup;
	}
	remove_pin_dir(tmpdir);	/* left by an interrupted attach */
	if (mkdir(tmpdir, 0700)) {
		mlb_fail(err, "creating %s: %s", tmpdir, strerror(errno));
		goto cleanup;
	}

	link = bpf_program__attach_cgroup(skel->progs.mlb_sock_create,
					  cgroup_fd);
	if (!link) {
		int e = errno;

		mlb_fail(err, "attaching to cgroup %s: %s%s", state->cgroup_path,
			 strerror(e),
			 e == EINVAL || e == EOPNOTSUPP ?
			 " (kernel without cgroup BPF links?)" : "");
		goto cleanup;
	}
	if (pin_all(skel, link, tmpdir, err) ||
	    loader_pin_hooks(skel, tmpdir, err) ||
	    pin_tc_programs(skel, tmpdir, err) ||
	    loader_sync_hooks(cgroup_fd, tmpdir, state, err))
		goto cleanup;
	/* Publish all pins at once: status and detach never see a partial
	 * attachment. */
	if (rename(tmpdir, dir)) {
		mlb_fail(err, "publishing pins in %s: %s", dir, strerror(errno));
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (ret)
		remove_pin_dir(tmpdir);
	bpf_link__destroy(link);	/* the pin keeps it attached */
	mlb_bpf__destroy(skel);
	return ret;
}

static int open_pin(const char *dir, const char *name, struct mlb_err *err)
{
	char path[PATH_MAX];
	int fd;

	loader_pin_path(dir, name, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return mlb_fail(err, "opening %s: %s", path, strerror(errno));
	return fd;
}

int loader_open(uint64_t cgroup_id, struct mlb_pins *pins, struct mlb_err *err)
{
	char dir[PIN_DIR_LEN];

	memset(pins, 0, sizeof(*pins));
	pins->link = pins->settings = pins->slots = -1;
	pins->counters = pins->sk_uplink = pins->state = pins->health = -1;
	pins->dest_rules = pins->sticky = pins->conns = -1;
	pins->cgroup_id = cgroup_id;
	if (!loader_is_attached(cgroup_id))
		return mlb_fail(err, "nothing attached");
	loader_pin_dir(cgroup_id, dir, sizeof(dir));
	if ((pins->link = open_pin(dir, PIN_LINK, err)) < 0 ||
	    (pins->settings = open_pin(dir, PIN_SETTINGS, err)) < 0 ||
	    (pins->slots = open_pin(dir, PIN_SLOTS, err)) < 0 ||
	    (pins->counters = open_pin(dir, PIN_COUNTERS, err)) < 0 ||
	    (pins->state = open_pin(dir, PIN_STATE, err)) < 0 ||
	    (pins->health = open_pin(dir, PIN_HEALTH, err)) < 0 ||
	    (pins->dest_rules = open_pin(dir, PIN_DEST_RULES, err)) < 0 ||
	    (pins->sticky = open_pin(dir, PIN_STICKY, err)) < 0) {
		loader_close(pins);
		return -1;
	}
	/* made only where the kernel has socket storage (loader_fit.c) */
	pins->sk_uplink = open_pin(dir, PIN_SK_UPLINK, NULL);
	if ((pins->conns = open_pin(dir, PIN_CONNS, err)) < 0) {
		loader_close(pins);
		return -1;
	}
	return 0;
}

void loader_close(struct mlb_pins *pins)
{
	int *fds[] = { &pins->link, &pins->settings, &pins->slots,
		       &pins->counters, &pins->sk_uplink, &pins->state,
		       &pins->health, &pins->dest_rules, &pins->sticky,
		       &pins->conns };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int loader_read_state(const struct mlb_pins *pins, struct mlb_state *out,
		      struct mlb_err *err)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key = 0;
	char what[64];
	static struct mlb_state stored;

	if (bpf_obj_get_info_by_fd(pins->state, &info, &len))
		return mlb_fail(err, "reading state map info: %s",
				strerror(errno));
	snprintf(what, sizeof(what), "the record of cgroup %" PRIu64,
		 pins->cgroup_id);
	/* A newer mlb-bpf's record may be larger than ours: only its
	 * version word is read then, to say so. */
	if (info.value_size > sizeof(stored)) {
		__u32 version = 0;
		char *whole = calloc(1, info.value_size);

		if (whole && !bpf_map_lookup_elem(pins->state, &key, whole))
			memcpy(&version, whole, sizeof(version));
		free(whole);
		if (version <= MLB_STATE_VERSION)
			version = MLB_STATE_VERSION + 1;
		return mlb_state_from_stored(&version, info.value_size, out,
					     what, err);
	}
	memset(&stored, 0, sizeof(stored));
	if (bpf_map_lookup_elem(pins->state, &key, &stored))
		return mlb_fail(err, "reading state map: %s", strerror(errno));
	if (mlb_state_from_stored(&stored, info.value_size, out, what, err))
		return -1;
	if (out->nuplinks > MLB_MAX_UPLINKS)
		return mlb_fail(err, "%s is corrupt", what);
	return 0;
}

int loader_read_record(uint64_t cgroup_id, struct mlb_state *out,
		       struct mlb_err *err)
{
	struct mlb_pins pins = { .cgroup_id = cgroup_id };
	char dir[PIN_DIR_LEN];
	int ret;

	loader_pin_dir(cgroup_id, dir, sizeof(dir));
	pins.state = open_pin(dir, PIN_STATE, err);
	if (pins.state < 0)
		return -1;
	ret = loader_read_state(&pins, out, err);
	close(pins.state);
	return ret;
}

int loader_read_counts(const struct mlb_pins *pins, unsigned nuplinks,
		       uint64_t *counts, struct mlb_err *err)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *percpu;

	if (ncpus <= 0)
		return mlb_fail(err, "counting CPUs: %s", strerror(-ncpus));
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return mlb_fail(err, "out of memory");
	for (__u32 i = 0; i < nuplinks; i++) {
		counts[i] = 0;
		if (bpf_map_lookup_elem(pins->counters, &i, percpu)) {
			free(percpu);
			return mlb_fail(err, "reading counters: %s",
					strerror(errno));
		}
		for (int c = 0; c < ncpus; c++)
			counts[i] += percpu[c];
	}
	free(percpu);
	return 0;
}

int loader_read_conns(const struct mlb_pins *pins, unsigned nuplinks,
		      uint64_t *live, struct mlb_err *err)
{
	struct mlb_conns c;
	__u32 key = 0;

	if (bpf_map_lookup_elem(pins->conns, &key, &c))
		return mlb_fail(err, "reading live connections: %s",
				strerror(errno));
	for (unsigned i = 0; i < nuplinks && i < MLB_MAX_UPLINKS; i++)
		live[i] = c.live[i];
	return 0;
}

int loader_prog_info(const struct mlb_pins *pins, struct mlb_prog_info *out,
		     struct mlb_err *err)
{
	struct bpf_link_info link = {};
	struct bpf_prog_info prog = {};
	__u32 len = sizeof(link);
	int prog_fd;

	memset(out, 0, sizeof(*out));
	if (bpf_obj_get_info_by_fd(pins->link, &link, &len))
		return mlb_fail(err, "reading link info: %s", strerror(errno));
	out->link_id = link.id;
	out->prog_id = link.prog_id;
	out->attach_type = link.cgroup.attach_type;
	prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
	if (prog_fd < 0)
		return mlb_fail(err, "opening program %u: %s", link.prog_id,
				strerror(errno));
	len = sizeof(prog);
	if (bpf_obj_get_info_by_fd(prog_fd, &prog, &len)) {
		close(prog_fd);
		return mlb_fail(err, "reading program info: %s",
				strerror(errno));
	}
	close(prog_fd);
	out->run_time_ns = prog.run_time_ns;
	out->run_cnt = prog.run_cnt;
	return 0;
}

int loader_read_attachment(const struct mlb_pins *pins, struct mlb_state *state,
			   uint64_t *counts, struct mlb_health *health,
			   struct mlb_prog_info *prog, struct mlb_err *err)
{
	if (loader_read_state(pins, state, err))
		return -1;
	return loader_read_counts(pins, state->nuplinks +
				  (state->last_resort ==
				   MLB_LAST_RESORT_UNREACHABLE), counts, err) ||
	       loader_read_health(pins, state->nuplinks, health, err) ||
	       loader_prog_info(pins, prog, err) ? -1 : 0;
}

int loader_read_health(const struct mlb_pins *pins, unsigned n,
		       struct mlb_health *out, struct mlb_err *err)
{
	for (__u32 i = 0; i < n; i++)
		if (bpf_map_lookup_elem(pins->health, &i, &out[i]))
			return mlb_fail(err, "reading health map: %s",
					strerror(errno));
	return 0;
}

int loader_write_health(const struct mlb_pins *pins, unsigned i,
			const struct mlb_health *h, struct mlb_err *err)
{
	__u32 key = i;

	if (bpf_map_update_elem(pins->health, &key, h, BPF_ANY))
		return mlb_fail(err, "writing health map: %s",
				strerror(errno));
	return 0;
}

/* An older mlb-bpf's record is in a map of its size: a map of today's
 * size takes its place under the same pin (the programs never use it),
 * and pins->state becomes it. */
static int upgrade_state_map(struct mlb_pins *pins, struct mlb_err *err)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char dir[PIN_DIR_LEN], path[PATH_MAX];
	int fd;

	if (bpf_obj_get_info_by_fd(pins->state, &info, &len))
		return mlb_fail(err, "reading state map info: %s",
				strerror(errno));
	if (info.value_size == sizeof(struct mlb_state))
		return 0;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "state", sizeof(__u32),
			    sizeof(struct mlb_state), 1, NULL);
	if (fd < 0)
		return mlb_fail(err, "creating a state map of this version: %s",
				strerror(errno));
	loader_pin_dir(pins->cgroup_id, dir, sizeof(dir));
	loader_pin_path(dir, PIN_STATE, path, sizeof(path));
	/* bpffs renames nothing over a pin: the old pin goes, the new one
	 * takes its name (under the writers' lock; a reader in between
	 * finds no record and says so), or the old one comes back */
	if (unlink(path) || bpf_obj_pin(fd, path)) {
		int e = errno;

		if (access(path, F_OK))
			bpf_obj_pin(pins->state, path);
		close(fd);
		return mlb_fail(err, "replacing %s: %s", path, strerror(e));
	}
	close(pins->state);
	pins->state = fd;
	return 0;
}

int loader_write_state(struct mlb_pins *pins, const struct mlb_state *state,
		       struct mlb_err *err)
{
	__u32 key = 0;

	if (upgrade_state_map(pins, err))
		return -1;
	if (bpf_map_update_elem(pins->state, &key, state, BPF_ANY))
		return mlb_fail(err, "writing state map: %s", strerror(errno));
	return 0;
}

/* The settings map holds one struct mlb_config at key 0: the setters
 * below read it whole, change their fields and write it back. */
static int settings_read(const struct mlb_pins *pins, struct mlb_config *cfg,
			 struct mlb_err *err)
{
	__u32 key = 0;

	if (bpf_map_lookup_elem(pins->settings, &key, cfg))
		return mlb_fail(err, "reading settings map: %s",
				strerror(errno));
	return 0;
}

static int settings_write(const struct mlb_pins *pins,
			  const struct mlb_config *cfg, const char *what,
			  struct mlb_err *err)
{
	__u32 key = 0;

	if (bpf_map_update_elem(pins->settings, &key, cfg, BPF_ANY))
		return mlb_fail(err, "%s: %s", what, strerror(errno));
	return 0;
}

int loader_set_weights(const struct mlb_pins *pins, const unsigned *weights,
		       unsigned n, struct mlb_err *err)
{
	struct mlb_config cfg;
	__u32 idle;

	if (settings_read(pins, &cfg, err))
		return -1;
	idle = !(cfg.active_table & 1);
	if (write_slot_table(pins->slots, idle, weights, n, err))
		return -1;
	cfg.active_table = idle;
	cfg.live = 0;
	for (unsigned i = 0; i < MLB_MAX_UPLINKS; i++) {
		cfg.weight[i] = i < n ? weights[i] : 0;
		if (cfg.weight[i])
			cfg.live |= 1ULL << i;
	}
	return settings_write(pins, &cfg, "switching slot table", err);
}

int loader_set_destinations(const struct mlb_pins *pins,
			    const struct mlb_state *state, int cgroup_fd,
			    struct mlb_err *err)
{
	char dir[PIN_DIR_LEN];
	struct mlb_config cfg;

	loader_pin_dir(pins->cgroup_id, dir, sizeof(dir));
	if (settings_read(pins, &cfg, err))
		return -1;
	/* Rules before programs, so a program never runs on a stale trie
	 * it was just attached for; programs off before the last rules go. */
	if (loader_wants_dest_programs(state)) {
		if (write_dest_rules(pins->dest_rules, state, err))
			return -1;
		if (loader_sync_hooks(cgroup_fd, dir, state, err))
			return -1;
	} else if (loader_sync_hooks(cgroup_fd, dir, state, err) ||
		   write_dest_rules(pins->dest_rules, state, err)) {
		return -1;
	}
	cfg.sticky_ns = state->sticky_seconds * 1000000000ULL;
	if (settings_write(pins, &cfg, "writing settings map", err))
		return -1;
	return 0;
}

int loader_set_balance(const struct mlb_pins *pins,
		       const struct mlb_state *state, int cgroup_fd,
		       struct mlb_err *err)
{
	char dir[PIN_DIR_LEN];
	struct mlb_config cfg;

	loader_pin_dir(pins->cgroup_id, dir, sizeof(dir));
	if (settings_read(pins, &cfg, err))
		return -1;
	/* to a counting mode: the counting hooks first, so the first
	 * socket it charges is already discharged on close */
	if (mlb_balance_counts_conns(state->balance) &&
	    loader_sync_hooks(cgroup_fd, dir, state, err))
		return -1;
	cfg.balance = state->balance;
	if (settings_write(pins, &cfg, "writing settings map", err))
		return -1;
	return loader_sync_hooks(cgroup_fd, dir, state, err);
}

int loader_remove(uint64_t cgroup_id, struct mlb_err *err)
{
	char dir[PIN_DIR_LEN];
	int ret;

	loader_pin_dir(cgroup_id, dir, sizeof(dir));
	ret = remove_pin_dir(dir);
	if (ret)
		return mlb_fail(err, "removing pins in %s: %s", dir,
				strerror(-ret));
	loader_staging_dir(cgroup_id, dir, sizeof(dir));
	ret = remove_pin_dir(dir);
	if (ret)
		return mlb_fail(err, "removing pins in %s: %s", dir,
				strerror(-ret));
	rmdir(MLB_PIN_ROOT);	/* only succeeds once it is empty */
	return 0;
}

unsigned loader_list(uint64_t *ids, unsigned max)
{
	DIR *d = opendir(MLB_PIN_ROOT);
	struct dirent *de;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char *end;
		unsigned long long id;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		errno = 0;
		id = strtoull(de->d_name, &end, 10);
		if (errno || *end)
			continue;
		ids[n++] = id;
	}
	closedir(d);
	return n;
}
