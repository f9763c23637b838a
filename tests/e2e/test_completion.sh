#!/bin/bash
# test_completion.sh - the bash completion (completion/mlb-bpf) in a bash
# subshell with bash-completion loaded: commands, options, uplink keys and
# their values, an interface of a network namespace of the test's own, a
# cgroup directory, attached cgroups for detach, configuration files.
. "$(dirname "$0")/../lib/e2e.sh"
NS=mlbc$$
CGDIR=
cleanup() {
	ip netns del "$NS" 2>/dev/null
	[ -n "$CGDIR" ] && rmdir "$CGDIR/inner" "$CGDIR" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

BASH_COMPLETION=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}
COMPLETION=${COMPLETION:-completion/mlb-bpf}

# A namespace with an interface of its own, and a cgroup with a child.
ip netns add "$NS"
ip -n "$NS" link add cmpl0 type veth peer name cmpl1
CGDIR=$(bed_cgroup_mount)/$NS
mkdir -p "$CGDIR/inner"
mkdir -p "$WORK/etc" "$WORK/nopath"
touch "$WORK/etc/mlb-bpf.conf"

# completions LINE: the words the completion offers for LINE (ending where
# TAB is pressed), one a line, sorted, as readline would insert them (the
# part after the last '=' or ':').  The line is cut into COMP_WORDS as
# bash cuts it: at blanks, and around runs of '=' and ':'.  Runs in a
# fresh bash, with PATH=$CPATH (to find an mlb-bpf or not) and in network
# namespace $CNS if set.
completions() {
	local runner=()
	[ -n "${CNS:-}" ] && runner=(nsenter --net="/run/netns/$CNS")
	"${runner[@]}" env PATH="${CPATH:-$WORK/nopath}:/usr/bin:/bin" \
		bash --norc --noprofile -c '
		. "$1" && . "$2" || exit 1
		line=$3 w=
		words=()
		for ((i = 0; i < ${#line}; i++)); do
			c=${line:i:1}
			if [[ $c == [[:space:]] ]]; then
				[[ $w ]] && words+=("$w")
				w=
			elif [[ $c == [=:] ]]; then
				[[ $w && $w != *[=:] ]] && { words+=("$w"); w=; }
				w+=$c
			else
				[[ $w == *[=:] ]] && { words+=("$w"); w=; }
				w+=$c
			fi
		done
		words+=("$w")
		COMP_WORDS=("${words[@]}")
		COMP_CWORD=$((${#words[@]} - 1))
		COMP_LINE=$line
		COMP_POINT=${#line}
		_mlb_bpf mlb-bpf "${words[-1]}" "${words[-2]}"
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort' \
		complete "$BASH_COMPLETION" "$COMPLETION" "$1"
}

# expect WHAT LINE WORD...: the completion of LINE is exactly WORD...
expect() {
	local what=$1 line=$2
	shift 2
	check_eq "$what" "$(printf '%s\n' "$@" | LC_ALL=C sort)" \
		"$(completions "$line")"
}

expect "commands" "mlb-bpf " \
	apply attach detach features help metrics repair status watch
expect "commands by prefix" "mlb-bpf de" detach
expect "help COMMAND" "mlb-bpf help a" apply attach
expect "detach options" "mlb-bpf detach -" \
	--all --cgroup --help --verbose
expect "status options" "mlb-bpf status --" --cgroup --help --json
expect "features options" "mlb-bpf features --" --help --json
expect "help features" "mlb-bpf help f" features
expect "attach options by prefix" "mlb-bpf attach --uplink up0 --ma" \
	--mark-base --mark-mask --masquerade
expect "watch options by prefix" "mlb-bpf watch --d" --down
expect "metrics options" "mlb-bpf metrics --" --cgroup --help
expect "watch's --metrics-listen" "mlb-bpf watch --me" --metrics-listen
expect "uplink keys" "mlb-bpf attach --uplink eth0," \
	eth0,adapt= eth0,down= eth0,gateway6= eth0,gateway= eth0,interval= \
	eth0,probe-type= eth0,probe= eth0,timeout= eth0,up= eth0,weight=
expect "uplink key after another (after the '=')" \
	"mlb-bpf attach --uplink eth0,weight=3,gate" \
	3,gateway6= 3,gateway=
expect "uplink key in --uplink=SPEC" "mlb-bpf attach --uplink=eth0,in" \
	eth0,interval=
expect "probe-type values of an uplink" \
	"mlb-bpf attach --uplink eth0,probe-type=" arp icmp tcp:
expect "--probe-type values" "mlb-bpf watch --probe-type " arp icmp tcp:
expect "--last-resort values" "mlb-bpf attach --last-resort " \
	main unreachable
expect "--balance values" "mlb-bpf attach --balance " \
	adaptive least-conn rr
expect "adapt values of an uplink" "mlb-bpf attach --uplink eth0,adapt=" \
	no yes
expect "attach's --floor by prefix" "mlb-bpf attach --fl" --floor
CNS=$NS expect "interface of the namespace for --uplink" \
	"mlb-bpf attach --uplink cmpl" cmpl0 cmpl1
CNS=$NS expect "interface of the namespace for --lan" \
	"mlb-bpf attach --uplink up0 --lan cmpl" cmpl0 cmpl1
expect "attach option --lan by prefix" "mlb-bpf attach --la" --lan \
	--last-resort
expect "no interface of another namespace" "mlb-bpf attach --uplink cmpl"
expect "cgroup directory for --cgroup" "mlb-bpf attach --cgroup $CGDIR/in" \
	"$CGDIR/inner"
expect "cgroup directory for -c of status (nothing attached)" \
	"mlb-bpf status -c $CGDIR/" "$CGDIR/inner"
expect "configuration file for apply -c" "mlb-bpf apply -c $WORK/etc/mlb" \
	"$WORK/etc/mlb-bpf.conf"

# An mlb-bpf on PATH that reports one attachment: detach offers it, and
# its help's extra option is offered too.
mkdir "$WORK/bin"
cat > "$WORK/bin/mlb-bpf" <<'EOF'
#!/bin/sh
case "$1 $2" in
"status --json")
	echo '{"attachments":[{"cgroup":"/sys/fs/cgroup/a.slice","cgroup_id":7}]}' ;;
"detach --help")
	echo "  -c, --cgroup PATH   cgroup2 directory"
	echo "      --keep-going    a newer option" ;;
esac
EOF
chmod +x "$WORK/bin/mlb-bpf"
CPATH=$WORK/bin expect "attached cgroups for detach --cgroup" \
	"mlb-bpf detach --cgroup " /sys/fs/cgroup/a.slice
CPATH=$WORK/bin expect "options from the binary's help" \
	"mlb-bpf detach --" --all --cgroup --help --keep-going --verbose
