/* slots.h - turning weights into a slot table: smooth weighted
 * round-robin, computed once in userspace so the BPF program only indexes
 * it (socket n gets slot n % len).
 */
#ifndef MLB_SLOTS_H
#define MLB_SLOTS_H

#include <stdint.h>

#include "state.h"

/* Fill slots[0..*len) for weights[0..n).  Weights are first divided by
 * their greatest common divisor; a weight of 0 leaves that uplink out (a
 * dead uplink).  Interleaves smoothly: 3:1 gives 0 0 1 0, not 0 0 0 1.
 * Returns 0, or -1 if the table would exceed max_slots; *len is 0 when
 * every weight is 0. */
int mlb_build_slots(const unsigned *weights, unsigned n, uint8_t *slots,
		    unsigned max_slots, unsigned *len);

/* The weights new sockets get now: each uplink's weight from given (NULL:
 * the state's; --balance adaptive: the ones watch measured), 0 for an
 * uplink health says is down (health may be NULL: none is).
 * With last-resort=unreachable one more entry follows the uplinks, 1 only
 * when no weighted uplink is up.  Returns the number of entries written to
 * weights (room for MLB_MAX_UPLINKS + 1); *live counts the weighted
 * uplinks that are up. */
unsigned mlb_live_weights(const struct mlb_state *state,
			  const struct mlb_health *health,
			  const unsigned *given, unsigned *weights,
			  unsigned *live);

#endif
