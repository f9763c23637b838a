/* containers.c - put the mark-restoring program on containers' veths and
 * take it off those that went (see containers.h; the veths are found in
 * containers_veth.c).
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "containers.h"
#include "containers_veth.h"
#include "loader.h"
#include "tc.h"

/* The veth's entry first, so that the program knows the peer's namespace
 * from the first packet it sees there. */
static int attach_one(const struct mlb_state *state,
		      const struct container_maps *m, const char *dir,
		      const struct container_veth *c, struct mlb_err *err)
{
	if (bpf_map_update_elem(m->veths, &c->ifindex, &c->v, BPF_ANY))
		return mlb_fail(err, "recording veth %s: %s", c->v.ifname,
				strerror(errno));
	if (tc_attach(state->tc_mode, m->prog, dir, state->cgroup_id,
		      (int)c->ifindex, err)) {
		char name[IF_NAMESIZE];
		struct mlb_err ignored;

		container_maps_forget(m, c->ifindex);
		/* its container stopped meanwhile: nothing to balance */
		if (!if_indextoname(c->ifindex, name)) {
			tc_detach(state->tc_mode, dir, state->cgroup_id,
				  (int)c->ifindex, &ignored);
			return 0;
		}
		return mlb_fail_prefix(err, "veth %s", c->v.ifname);
	}
	return 0;
}

/* Program off, then entry: the program never runs without its entry. */
static void detach_one(const struct mlb_state *state,
		       const struct container_maps *m, const char *dir,
		       uint32_t ifindex)
{
	struct mlb_err ignored;

	tc_detach(state->tc_mode, dir, state->cgroup_id, (int)ifindex,
		  &ignored);
	container_maps_forget(m, ifindex);
}

/* What attaching and refreshing both start from: the attachment's maps,
 * the container veths there are now, and its pin directory. */
struct veth_pass {
	struct container_maps m;
	struct container_veth *veths;
	unsigned n;
	char dir[128];
};

static int pass_begin(const struct mlb_state *state, struct veth_pass *p,
		      struct mlb_err *err)
{
	if (container_maps_open(state->cgroup_id, &p->m, err))
		return -1;
	if (container_veths_find(state, &p->veths, &p->n, err)) {
		container_maps_close(&p->m);
		return -1;
	}
	loader_pin_dir(state->cgroup_id, p->dir, sizeof(p->dir));
	return 0;
}

static void pass_end(struct veth_pass *p)
{
	free(p->veths);
	container_maps_close(&p->m);
}

int containers_attach(const struct mlb_state *state, struct mlb_err *err)
{
	struct veth_pass p;
	unsigned done;
	bool failed = false;

	if (pass_begin(state, &p, err))
		return -1;
	for (done = 0; done < p.n && !failed; done++)
		failed = attach_one(state, &p.m, p.dir, &p.veths[done],
				    err) != 0;
	if (failed)		/* all or nothing */
		for (unsigned i = 0; i + 1 < done; i++)
			detach_one(state, &p.m, p.dir, p.veths[i].ifindex);
	pass_end(&p);
	return failed ? -1 : 0;
}

static const struct container_veth *find(const struct container_veth *veths,
					 unsigned n, uint32_t ifindex)
{
	for (unsigned i = 0; i < n; i++)
		if (veths[i].ifindex == ifindex)
			return &veths[i];
	return NULL;
}

/* Drop the entries of veths that are gone (an index reused by another
 * interface counts as gone).  The program stays where it is still ours
 * and the interface is now an uplink or a --lan one: that module puts its
 * own program there. */
static void forget_gone(const struct mlb_state *state,
			const struct container_maps *m, const char *dir,
			const struct container_veth *veths, unsigned n)
{
	uint32_t key, next, gone[MLB_MAX_VETHS];
	unsigned ngone = 0;
	bool first = true;

	while (ngone < MLB_MAX_VETHS &&
	       bpf_map_get_next_key(m->veths, first ? NULL : &key,
				    &next) == 0) {
		const struct container_veth *now = find(veths, n, next);
		struct mlb_veth v;

		if (!now || bpf_map_lookup_elem(m->veths, &next, &v) ||
		    strcmp(v.ifname, now->v.ifname))
			gone[ngone++] = next;
		key = next;
		first = false;
	}
	for (unsigned i = 0; i < ngone; i++) {
		if (tc_is_attached(state->tc_mode, state->cgroup_id,
				   (int)gone[i], m->prog_id) ||
		    !find(veths, n, gone[i]))
			detach_one(state, m, dir, gone[i]);
		else
			container_maps_forget(m, gone[i]);
	}
}

int containers_refresh(const struct mlb_state *state, struct mlb_err *err)
{
	struct veth_pass p;
	struct mlb_err one;
	int ret = 0;

	if (pass_begin(state, &p, err))
		return -1;
	forget_gone(state, &p.m, p.dir, p.veths, p.n);
	/* Each veth on its own: one that fails (gone meanwhile) does not
	 * keep the others from being balanced. */
	for (unsigned i = 0; i < p.n; i++) {
		const struct container_veth *c = &p.veths[i];
		struct mlb_veth v;

		if (bpf_map_lookup_elem(p.m.veths, &c->ifindex, &v) == 0 &&
		    v.netnsid == c->v.netnsid &&
		    tc_is_attached(state->tc_mode, state->cgroup_id,
				   (int)c->ifindex, p.m.prog_id))
			continue;
		if (attach_one(state, &p.m, p.dir, c, &one) && !ret) {
			*err = one;
			ret = -1;
		}
	}
	pass_end(&p);
	return ret;
}
