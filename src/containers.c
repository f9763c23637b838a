/* containers.c - find containers' veths and put the mark-restoring program
 * on them (see containers.h).
 */
#include "containers.h"

int containers_attach(const struct mlb_state *state, struct mlb_err *err)
{
	(void)state;
	(void)err;
	return 0;
}

int containers_refresh(const struct mlb_state *state, struct mlb_err *err)
{
	(void)state;
	(void)err;
	return 0;
}
