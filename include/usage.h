/* usage.h - the help texts of mlb-bpf and its commands (usage.c). */
#ifndef MLB_USAGE_H
#define MLB_USAGE_H

extern const char main_usage[];
extern const char attach_usage[];
extern const char detach_usage[];
extern const char status_usage[];
extern const char metrics_usage[];
extern const char repair_usage[];
extern const char apply_usage[];
extern const char watch_usage[];
extern const char features_usage[];

#endif
