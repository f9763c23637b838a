/* error.h - one error message, built where the failure is understood and
 * printed once by the command layer ("Error: ...").
 */
#ifndef MLB_ERROR_H
#define MLB_ERROR_H

#include <stddef.h>

struct mlb_err {
	char msg[512];
};

/* Format the message; returns -1 so callers can `return mlb_fail(...)`. */
int mlb_fail(struct mlb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix an existing message with context ("routing: ..."); returns -1. */
int mlb_fail_prefix(struct mlb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
