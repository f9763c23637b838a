/* forward.c - attach and remove an attachment's tc programs as one step
 * (see forward.h).
 */
#include "containers.h"
#include "forward.h"
#include "lan.h"
#include "loader.h"
#include "tc.h"

int forward_prepare(struct mlb_state *state, struct mlb_err *err)
{
	return tc_pick_mode(&state->tc_mode, err);
}

int forward_attach(const struct mlb_state *state, struct mlb_err *err)
{
	struct mlb_err ignored;

	if (containers_attach(state, err))
		return mlb_fail_prefix(err, "containers");
	if (lan_attach(state, err)) {
		mlb_fail_prefix(err, "LAN");
		forward_detach(state, &ignored);
		return -1;
	}
	return 0;
}

int forward_refresh(const struct mlb_state *state, struct mlb_err *err)
{
	if (containers_refresh(state, err))
		return mlb_fail_prefix(err, "containers");
	if (lan_refresh(state, err))
		return mlb_fail_prefix(err, "LAN");
	return 0;
}

int forward_detach(const struct mlb_state *state, struct mlb_err *err)
{
	char dir[128];

	loader_pin_dir(state->cgroup_id, dir, sizeof(dir));
	return tc_detach_all(dir, state->cgroup_id, err);
}
