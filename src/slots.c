/* slots.c - smooth weighted round-robin slot tables (see slots.h). */
#include <stdbool.h>

#include "slots.h"

static unsigned gcd(unsigned a, unsigned b)
{
	while (b) {
		unsigned t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int mlb_build_slots(const unsigned *weights, unsigned n, uint8_t *slots,
		    unsigned max_slots, unsigned *len)
{
	long long current[256] = { 0 };
	unsigned reduced[256];
	unsigned divisor = 0, total = 0;

	*len = 0;
	if (n > 256)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (weights[i])
			divisor = gcd(divisor, weights[i]);
	if (divisor == 0)
		return 0;	/* every uplink left out */
	for (unsigned i = 0; i < n; i++) {
		reduced[i] = weights[i] / divisor;
		total += reduced[i];
	}
	if (total > max_slots)
		return -1;
	/* nginx's smooth weighted round-robin: every step each uplink earns
	 * its weight, the richest is picked and pays the total.  Over one
	 * cycle each uplink is picked exactly its weight's times, spread
	 * as evenly as possible. */
	for (unsigned s = 0; s < total; s++) {
		unsigned best = n;

		for (unsigned i = 0; i < n; i++) {
			if (!reduced[i])
				continue;
			current[i] += reduced[i];
			if (best == n || current[i] > current[best])
				best = i;
		}
		current[best] -= total;
		slots[s] = (uint8_t)best;
	}
	*len = total;
	return 0;
}

unsigned mlb_live_weights(const struct mlb_state *state,
			  const struct mlb_health *health,
			  const unsigned *given, unsigned *weights,
			  unsigned *live)
{
	unsigned n = state->nuplinks < MLB_MAX_UPLINKS ? state->nuplinks :
							MLB_MAX_UPLINKS;

	*live = 0;
	for (unsigned i = 0; i < n; i++) {
		bool down = health && health[i].state == MLB_HEALTH_DOWN;

		weights[i] = down ? 0 : given ? given[i] :
					    state->uplinks[i].weight;
		*live += weights[i] != 0;
	}
	if (state->last_resort == MLB_LAST_RESORT_UNREACHABLE)
		weights[n++] = *live ? 0 : 1;
	return n;
}
