/* watch_log.c - watch's log, and the pinned link's id it checks an
 * attachment against (see watch_internal.h). */
#include <stdarg.h>
#include <stdio.h>

#include "watch_internal.h"

void log_line(const char *fmt, ...)
{
	va_list ap;

	fputs("mlb-bpf watch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint32_t current_link_id(uint64_t id)
{
	struct mlb_prog_info info = { 0 };
	struct mlb_pins pins;
	struct mlb_err err;

	if (loader_open(id, &pins, &err))
		return 0;
	if (loader_prog_info(&pins, &info, &err))
		info.link_id = 0;
	loader_close(&pins);
	return info.link_id;
}
