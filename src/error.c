/* error.c - building one-line error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int mlb_fail(struct mlb_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int mlb_fail_prefix(struct mlb_err *err, const char *fmt, ...)
{
	char prefix[256], rest[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(rest, sizeof(rest), "%s", err->msg);
	/* A message too long for the buffer is cut; that is acceptable for
	 * one error line, so the length is only looked at to say so. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, rest) < 0)
		err->msg[0] = '\0';
	return -1;
}
