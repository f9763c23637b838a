/* main.c - the mlb-bpf command line: parse options, dispatch to a
 * command, print the one error line.
 *
 * Exit status: 0 success, 1 failure, 2 bad usage or input, 3 nothing
 * attached (detach/status of a cgroup without an attachment), 4 the
 * kernel does not hold what the records say (status, repair; each line
 * says what to run).
 */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "apply.h"
#include "attach.h"
#include "attachment.h"
#include "config.h"
#include "journal.h"
#include "kernel_features.h"
#include "options.h"
#include "preflight.h"
#include "repair.h"
#include "state.h"
#include "metrics.h"
#include "metrics_http.h"
#include "status.h"
#include "usage.h"
#include "watch.h"

#define EXIT_USAGE 2
#define EXIT_NOT_ATTACHED 3
#define EXIT_INCONSISTENT 4

static bool verbose;

static void error_line(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void error_line(const char *fmt, ...)
{
	va_list ap;

	fputs("mlb-bpf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* getopt_long (with opterr off) returned '?' or ':' for argv[optind - 1]:
 * one line saying which option and where help is. */
static int option_error(const char *command, int c, char **argv)
{
	const char *opt = argv[optind - 1];

	error_line("%s: %s option \"%s\" (try 'mlb-bpf %s --help')", command,
		   c == ':' ? "missing argument for" : "unknown", opt, command);
	return EXIT_USAGE;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	/* Failures are reported once by the command layer; libbpf's own
	 * lines (and the verifier log) only with --verbose. */
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Map an operation's result to an exit status, printing its error. */
static int finish(int ret, const struct mlb_err *err)
{
	/* what was repaired on the way: killed commands' leftovers */
	journal_report(stderr, "mlb-bpf: ");
	if (ret == 0)
		return EXIT_SUCCESS;
	error_line("%s", err->msg);
	if (ret == ATTACHMENT_BAD_INPUT)
		return EXIT_USAGE;
	if (ret == STATUS_INCONSISTENT)
		return EXIT_INCONSISTENT;
	return ret == ATTACHMENT_NONE ? EXIT_NOT_ATTACHED : EXIT_FAILURE;
}

enum {
	OPT_MARK_BASE = 256,
	OPT_MARK_MASK,
	OPT_TABLE_BASE,
	OPT_PRIORITY,
	OPT_MASQUERADE,
	OPT_NO_MASQUERADE,
	OPT_RECORD_SOCKETS,
	OPT_LAST_RESORT,
	OPT_INTERVAL,
	OPT_TIMEOUT,
	OPT_DOWN,
	OPT_UP,
	OPT_PROBE_TYPE,
	OPT_BYPASS,
	OPT_PIN,
	OPT_STICKY,
	OPT_BALANCE,
	OPT_FLOOR,
	OPT_LAN,
	OPT_METRICS_LISTEN,
};

/* --bypass and --pin take one rule or a comma-separated list. */
static int add_dest_rules(struct attach_request *req, const char *arg,
			  unsigned action)
{
	char copy[1024], *item, *save;
	struct mlb_err err;

	snprintf(copy, sizeof(copy), "%s", arg);
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		if (req->ndests >= MLB_STATE_MAX_DESTS) {
			error_line("at most %d --bypass and --pin rules",
				   MLB_STATE_MAX_DESTS);
			return -1;
		}
		if (mlb_parse_dest(item, action, &req->dests[req->ndests],
				   &err)) {
			error_line("%s", err.msg);
			return -1;
		}
		req->ndests++;
	}
	return 0;
}

static int cmd_attach(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "uplink", required_argument, NULL, 'u' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "netns", required_argument, NULL, 'n' },
		{ "mark-base", required_argument, NULL, OPT_MARK_BASE },
		{ "mark-mask", required_argument, NULL, OPT_MARK_MASK },
		{ "table-base", required_argument, NULL, OPT_TABLE_BASE },
		{ "priority", required_argument, NULL, OPT_PRIORITY },
		{ "masquerade", no_argument, NULL, OPT_MASQUERADE },
		{ "no-masquerade", no_argument, NULL, OPT_NO_MASQUERADE },
		{ "record-sockets", no_argument, NULL, OPT_RECORD_SOCKETS },
		{ "last-resort", required_argument, NULL, OPT_LAST_RESORT },
		{ "bypass", required_argument, NULL, OPT_BYPASS },
		{ "pin", required_argument, NULL, OPT_PIN },
		{ "sticky", required_argument, NULL, OPT_STICKY },
		{ "balance", required_argument, NULL, OPT_BALANCE },
		{ "floor", required_argument, NULL, OPT_FLOOR },
		{ "lan", required_argument, NULL, OPT_LAN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct attach_request req = {
		.mark_base = MLB_DEFAULT_MARK_BASE,
		.mark_mask = MLB_DEFAULT_MARK_MASK,
		.table_base = MLB_DEFAULT_TABLE_BASE,
		.priority = MLB_DEFAULT_PRIORITY,
		.masquerade = false,	/* --masquerade */
	};
	struct mlb_err err = {};
	uint32_t *number, number32;
	const char *what;
	int c;

	while ((c = getopt_long(argc, argv, ":u:c:n:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (req.nuplinks >= MLB_MAX_UPLINKS) {
				error_line("at most %d uplinks are supported",
					   MLB_MAX_UPLINKS);
				return EXIT_USAGE;
			}
			if (mlb_parse_uplink(optarg,
					     &req.uplinks[req.nuplinks], &err)) {
				error_line("%s", err.msg);
				return EXIT_USAGE;
			}
			req.nuplinks++;
			continue;
		case 'c':
			req.cgroup = optarg;
			continue;
		case 'n':
			req.netns = optarg;
			continue;
		case OPT_MASQUERADE:
			req.masquerade = true;
			continue;
		case OPT_NO_MASQUERADE:
			req.masquerade = false;
			continue;
		case OPT_RECORD_SOCKETS:
			req.record_sockets = true;
			continue;
		case OPT_BYPASS:
		case OPT_PIN:
			if (add_dest_rules(&req, optarg, c == OPT_PIN ?
					   MLB_DEST_PIN : MLB_DEST_BYPASS))
				return EXIT_USAGE;
			continue;
		case OPT_LAN:
			if (mlb_add_lan(req.lan, &req.nlan, optarg, &err)) {
				error_line("%s", err.msg);
				return EXIT_USAGE;
			}
			continue;
		case OPT_STICKY:
			if (mlb_parse_u32(optarg, "--sticky", &number32, &err) ||
			    number32 < 1 || number32 > 86400) {
				error_line("--sticky \"%s\" must be a number of "
					   "seconds from 1 to 86400", optarg);
				return EXIT_USAGE;
			}
			req.sticky_seconds = number32;
			continue;
		case OPT_BALANCE:
			if (mlb_parse_balance(optarg, "--balance", &req.balance,
					      &err)) {
				error_line("%s", err.msg);
				return EXIT_USAGE;
			}
			continue;
		case OPT_FLOOR:
			if (mlb_parse_floor(optarg, "--floor", &req.floor_pct,
					    &err)) {
				error_line("%s", err.msg);
				return EXIT_USAGE;
			}
			continue;
		case OPT_LAST_RESORT:
			if (!strcmp(optarg, "main")) {
				req.last_resort = MLB_LAST_RESORT_MAIN;
			} else if (!strcmp(optarg, "unreachable")) {
				req.last_resort = MLB_LAST_RESORT_UNREACHABLE;
			} else {
				error_line("--last-resort \"%s\" must be main "
					   "or unreachable", optarg);
				return EXIT_USAGE;
			}
			continue;
		case 'v':
			verbose = true;
			continue;
		case 'h':
			fputs(attach_usage, stdout);
			return EXIT_SUCCESS;
		case OPT_MARK_BASE:
			number = &req.mark_base, what = "--mark-base";
			break;
		case OPT_MARK_MASK:
			number = &req.mark_mask, what = "--mark-mask";
			break;
		case OPT_TABLE_BASE:
			number = &req.table_base, what = "--table-base";
			break;
		case OPT_PRIORITY:
			number = &req.priority, what = "--priority";
			break;
		default:
			return option_error("attach", c, argv);
		}
		if (mlb_parse_u32(optarg, what, number, &err)) {
			error_line("%s", err.msg);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		error_line("attach: unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if (req.nuplinks == 0) {
		error_line("attach: give at least one --uplink IFACE "
			   "(try 'mlb-bpf attach --help')");
		return EXIT_USAGE;
	}
	if (req.nuplinks == 1)
		fprintf(stderr, "mlb-bpf: warning: only one uplink, so every "
			"socket gets the same one\n");
	return finish(attach_cgroup(&req, &err), &err);
}

static int cmd_detach(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "all", no_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cgroup = NULL;
	struct mlb_err err = {};
	bool all = false;
	int c;

	while ((c = getopt_long(argc, argv, ":c:avh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cgroup = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(detach_usage, stdout);
			return EXIT_SUCCESS;
		default:
			return option_error("detach", c, argv);
		}
	}
	if (optind < argc) {
		error_line("detach: unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if (all && cgroup) {
		error_line("detach: give --cgroup or --all, not both");
		return EXIT_USAGE;
	}
	return finish(attach_detach(cgroup, all, &err), &err);
}

static int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cgroup = NULL;
	struct mlb_err err = {};
	bool json = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":c:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cgroup = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(status_usage, stdout);
			return EXIT_SUCCESS;
		default:
			return option_error("status", c, argv);
		}
	}
	if (optind < argc) {
		error_line("status: unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	ret = status_show(cgroup, json, &err);
	return finish(ret, &err);
}

static int cmd_metrics(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char cgroup[PATH_MAX];
	const char *under = NULL;
	struct mlb_err err = {};
	uint64_t id;
	int c;

	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (attachment_cgroup_id(optarg, &id, cgroup,
						 sizeof(cgroup), &err))
				return finish(ATTACHMENT_BAD_INPUT, &err);
			under = cgroup;
			break;
		case 'h':
			fputs(metrics_usage, stdout);
			return EXIT_SUCCESS;
		default:
			return option_error("metrics", c, argv);
		}
	}
	if (optind < argc) {
		error_line("metrics: unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	/* without, the pins cannot be read: a silently empty text */
	if (preflight_privileges(&err))
		return finish(-1, &err);
	return finish(metrics_write(stdout, under, &err), &err);
}

static int cmd_repair(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cgroup = NULL;
	struct mlb_err err = {};
	int c, ret;

	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cgroup = optarg;
			break;
		case 'h':
			fputs(repair_usage, stdout);
			return EXIT_SUCCESS;
		default:
			return option_error("repair", c, argv);
		}
	}
	if (optind < argc) {
		error_line("repair: unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if (preflight_privileges(&err))
		return finish(-1, &err);
	ret = repair_run(cgroup, stdout, &err);
	if (ret != MLB_INCONSISTENT)
		return finish(ret, &err);
	journal_report(stderr, "mlb-bpf: ");
	return EXIT_INCONSISTENT;
}

static int cmd_apply(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = MLB_CONFIG_DEFAULT_PATH;
	struct mlb_config_file *cf;
	struct mlb_err err = {};
	bool check = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(apply_usage, stdout);
			return EXIT_SUCCESS;
		default:
			return option_error("apply", c, argv);
		}
	}
	if (optind < argc) {
		error_line("apply: unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if (preflight_privileges(&err) == 0)
		return finish(apply_file(path, check, stdout, &err), &err);
	if (!check)
		return finish(-1, &err);
	/* --check without privileges: the file alone. */
	cf = calloc(1, sizeof(*cf));
	if (!cf) {
		error_line("out of memory");
		return EXIT_FAILURE;
	}
	ret = config_parse_file(path, cf, &err);
	if (ret == 0)
		printf("%s: valid: %u uplinks, %u policies (run as root to "
		       "compare it with what is attached)\n", path,
		       cf->nuplinks, cf->npolicies);
	free(cf);
	return ret ? finish(ATTACHMENT_BAD_INPUT, &err) : EXIT_SUCCESS;
}

static int parse_count_option(const char *arg, const char *what,
			      unsigned *out)
{
	struct mlb_err err;
	uint32_t v;

	if (mlb_parse_u32(arg, what, &v, &err) || v < 1 ||
	    v > MLB_COUNT_MAX) {
		error_line("%s \"%s\" must be an integer from 1 to %d", what,
			   arg, MLB_COUNT_MAX);
		return -1;
	}
	*out = v;
	return 0;
}

static int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "probe-type", required_argument, NULL, OPT_PROBE_TYPE },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "down", required_argument, NULL, OPT_DOWN },
		{ "up", required_argument, NULL, OPT_UP },
		{ "metrics-listen", required_argument, NULL,
		  OPT_METRICS_LISTEN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char cgroup[PATH_MAX];
	struct watch_defaults d;
	struct mlb_uplink_spec probe_spec;
	uint64_t cgroup_id;
	struct mlb_err err = {};
	char spec[64];
	int c;

	watch_default_settings(&d);
	while ((c = getopt_long(argc, argv, ":c:g:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'g':
			if (attachment_cgroup_id(optarg, &cgroup_id, cgroup,
						 sizeof(cgroup), &err))
				return finish(ATTACHMENT_BAD_INPUT, &err);
			d.cgroup_path = cgroup;
			break;
		case OPT_PROBE_TYPE:
			/* the same words as the uplink key */
			snprintf(spec, sizeof(spec), "x,probe-type=%s", optarg);
			if (mlb_parse_uplink(spec, &probe_spec, &err)) {
				error_line("--probe-type \"%s\" must be icmp, "
					   "tcp:PORT or arp", optarg);
				return EXIT_USAGE;
			}
			d.probe_type = probe_spec.probe_type;
			d.probe_port = probe_spec.probe_port;
			break;
		case OPT_INTERVAL:
		case OPT_TIMEOUT:
			if (mlb_parse_seconds(optarg, c == OPT_INTERVAL ?
					      "--interval" : "--timeout",
					      c == OPT_INTERVAL ?
					      &d.interval_ms : &d.timeout_ms,
					      &err)) {
				error_line("%s", err.msg);
				return EXIT_USAGE;
			}
			break;
		case OPT_DOWN:
		case OPT_UP:
			if (parse_count_option(optarg, c == OPT_DOWN ? "--down" :
					       "--up", c == OPT_DOWN ? &d.down :
					       &d.up))
				return EXIT_USAGE;
			break;
		case OPT_METRICS_LISTEN: {
			struct sockaddr_storage addr;
			socklen_t len;

			if (metrics_http_parse(optarg, &addr, &len, &err)) {
				error_line("watch: %s", err.msg);
				return EXIT_USAGE;
			}
			d.metrics_listen = optarg;
			break;
		}
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(watch_usage, stdout);
			return EXIT_SUCCESS;
		default:
			return option_error("watch", c, argv);
		}
	}
	if (optind < argc) {
		error_line("watch: unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if (preflight_privileges(&err))
		return finish(-1, &err);
	return finish(watch_run(&d, &err), &err);
}

static int cmd_features(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct mlb_err err = {};
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, ":jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(features_usage, stdout);
			return EXIT_SUCCESS;
		default:
			return option_error("features", c, argv);
		}
	}
	if (optind < argc) {
		error_line("features: unexpected argument \"%s\"",
			   argv[optind]);
		return EXIT_USAGE;
	}
	/* the probes load programs: without privileges every one would
	 * say "absent" */
	if (preflight_privileges(&err))
		return finish(-1, &err);
	return finish(features_show(stdout, json, &err), &err);
}

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "attach", cmd_attach, attach_usage },
	{ "detach", cmd_detach, detach_usage },
	{ "status", cmd_status, status_usage },
	{ "metrics", cmd_metrics, metrics_usage },
	{ "watch", cmd_watch, watch_usage },
	{ "repair", cmd_repair, repair_usage },
	{ "apply", cmd_apply, apply_usage },
	{ "features", cmd_features, features_usage },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2) {
		fputs(main_usage, stdout);
		return EXIT_SUCCESS;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		error_line("unknown command \"%s\" (try 'mlb-bpf --help')",
			   argv[1]);
		return EXIT_USAGE;
	}
	fputs(cmd->usage, stdout);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	const struct command *cmd;

	libbpf_set_print(libbpf_print);
	if (argc < 2) {
		fputs(main_usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return cmd_help(1, argv);
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("mlb-bpf %s (libbpf %s)\n", MLB_VERSION,
		       libbpf_version_string());
		return EXIT_SUCCESS;
	}
	if (!strcmp(argv[1], "help"))
		return cmd_help(argc - 1, argv + 1);
	cmd = find_command(argv[1]);
	if (!cmd) {
		error_line("unknown command \"%s\" (try 'mlb-bpf --help')",
			   argv[1]);
		return EXIT_USAGE;
	}
	opterr = 0;
	journal_set_command(cmd->name);
	return cmd->run(argc - 1, argv + 1);
}
