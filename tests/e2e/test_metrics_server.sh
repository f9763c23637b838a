#!/bin/bash
# test_metrics_server.sh - watch's /metrics server (libmicrohttpd) against
# bad clients: garbage and oversized requests get an error or a closed
# connection and watch lives on; slow clients holding connections stop
# neither other scrapes nor a failover (seen at the gateways); 200
# concurrent scrapes all succeed; the scrape is the command's text, read
# by promtool; memory stays flat over 1000 scrapes.  The hostile part
# runs against the ASan copy of mlb-bpf, which must stop clean.
. "$(dirname "$0")/../lib/e2e.sh"
cleanup() {
	for p in ${WATCH:-} ${SLOW:-}; do
		kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
	done
	bed_server_stop "${SRV:-}"
	bed_destroy
	rm -rf "$WORK"
}
trap cleanup EXIT

PORT=9377
URL=http://127.0.0.1:$PORT
WATCH_ASAN=${MLB_ASAN:-$MLB}

bed_create
bed_counters_start
SRV=$(bed_server_start "$WORK/srv")
bed_snapshot > "$WORK/before"

# start_watch BINARY LOG: watch in the client namespace, serving metrics.
start_watch() {
	nsenter --net="/run/netns/$CLI" "$1" watch --cgroup "$CG" \
		--metrics-listen "127.0.0.1:$PORT" 2>> "$2" &
	WATCH=$!
	for _ in $(seq 100); do
		grep -q "serving metrics" "$2" && break
		sleep 0.1
	done
}
# code [CURL ARGS...]: the HTTP status curl gets (000: no answer).
code() {
	in_cli curl -sS --max-time 30 -o /dev/null -w '%{http_code}' "$@" \
		2>/dev/null
}
# answer_to: what the server answers the raw bytes on stdin: the status
# code, "closed" when it closes without a word, "hung" after 10 s.
answer_to() {
	local out
	out=$(in_cli timeout 10 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 3
		cat >&3
		read -r _ status _ <&3 && echo "$status" || echo closed' \
		_ "$PORT")
	[ $? -eq 124 ] && out=hung
	echo "$out"
}
# refusal WHAT VALUE: VALUE is an error status (4xx, 5xx), "closed" or
# curl's 000 (closed); never a 200, never hung.
refusal() {
	if [[ $2 =~ ^([45][0-9][0-9]|closed|000)$ ]]; then
		tap_ok "$1 (got $2)"
	else
		tap_fail "$1"
		echo "#   got: $2"
	fi
}
# watch_lives: the process runs and a scrape still answers 200.
watch_lives() {
	kill -0 "$WATCH" && [ "$(code "$URL/metrics")" = 200 ]
}
# connections N: N new connections from the cgroup; "UP0 UP1", the SYNs
# each gateway saw.
connections() {
	bed_counters_reset
	in_cgroup "$CRR" client --connect "$SERVER:5000" --count "$1" > /dev/null
	echo "$(bed_counter gw0_syn) $(bed_counter gw1_syn)"
}
# held: client-side connections to the server that are still open.
held() {
	in_cli ss -Htn state established "( dport = :$PORT )" | wc -l
}
# shape FILE: the exposition without sample values (they move).
shape() {
	awk '/^#/ { print; next } { $NF = ""; print }' "$1"
}
# scrapes N PARALLEL: N scrapes, PARALLEL at a time; prints how many
# answered 200.
scrapes() {
	local args=() i
	for ((i = 0; i < $1; i++)); do
		args+=(-o /dev/null "$URL/metrics")
	done
	in_cli curl -sS -Z --parallel-max "$2" --max-time 60 \
		-w '%{http_code}\n' "${args[@]}" 2>/dev/null | grep -cx 200
}
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$WATCH/status"
}

FAST="probe=$SERVER,interval=0.2,timeout=0.2,down=3,up=2"
check "attach" "$MLB" attach --netns "$CLI" --cgroup "$CG" \
	--uplink "up0,$FAST" --uplink "up1,$FAST"
start_watch "$WATCH_ASAN" "$WORK/asan.log"
check "watch marks up0 up" wait_health 0 up
check "watch marks up1 up" wait_health 1 up

# -- a scrape is the command's text, with its content type
check_eq "GET /metrics answers 200 with the exposition's type" \
	"200 text/plain; version=0.0.4; charset=utf-8" \
	"$(in_cli curl -sS --max-time 30 -o "$WORK/s1" \
	-w '%{http_code} %{content_type}' "$URL/metrics")"
check "promtool accepts the scrape" sh -c \
	"promtool check metrics < '$WORK/s1' && grep -q '^mlb_uplink_up{' '$WORK/s1'"
"$MLB" metrics --cgroup "$CG" > "$WORK/m1"
check_same "the scrape has the command's families, samples and labels" \
	<(shape "$WORK/m1") <(shape "$WORK/s1")
check_eq "HEAD: 200, no body" "200 0" "$(in_cli curl -sS --max-time 30 -I \
	-o /dev/null -w '%{http_code} %{size_download}' "$URL/metrics")"
check_eq "a query string is the same path" 200 "$(code "$URL/metrics?x=1")"
check_eq "another path is 404" 404 "$(code "$URL/other")"
check_eq "POST is 405" 405 "$(code -d x "$URL/metrics")"
check "and 405 names what is allowed" sh -c "nsenter --net=/run/netns/$CLI \
	curl -sS --max-time 30 -X DELETE -D - -o /dev/null '$URL/metrics' |
	grep -qi '^Allow: GET, HEAD'"

# -- garbage and oversized requests
refusal "garbage" "$(printf 'garbage\r\n\r\n' | answer_to)"
refusal "no version" "$(printf 'GET /metrics\r\n\r\n' | answer_to)"
refusal "HTTP/9.9" "$(printf 'GET /metrics HTTP/9.9\r\n\r\n' | answer_to)"
refusal "a header line without a colon" \
	"$(printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n' | answer_to)"
refusal "NUL bytes" "$(printf 'GET /met\0rics HTTP/1.1\r\n\r\n' | answer_to)"
refusal "8 KiB of random bytes" "$(head -c 8192 /dev/urandom | answer_to)"
refusal "a 64 KiB header" "$(code -H "X-Big: $(head -c 65536 /dev/zero |
	tr '\0' x)" "$URL/metrics")"
refusal "a 64 KiB path" "$(code "$URL/metrics?$(head -c 65536 /dev/zero |
	tr '\0' x)")"
refusal "4000 headers" "$(printf 'GET /metrics HTTP/1.1\r\n%s\r\n' \
	"$(for i in $(seq 4000); do printf 'X-%d: y\r\n' "$i"; done)" | answer_to)"
head -c 16000000 /dev/zero > "$WORK/body"
refusal "a 16 MB body" "$(code --data-binary "@$WORK/body" "$URL/metrics")"
check "watch lives on and answers" watch_lives

# -- slow clients: 8 connections that ask one byte a second, for ever
nsenter --net="/run/netns/$CLI" bash -c '
	for fd in $(seq 3 10); do
		eval "exec $fd<>/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET /metrics HTTP/1.1\r\nX-Slow: " >&$fd
	done
	while sleep 1; do
		for fd in $(seq 3 10); do printf x >&$fd || exit 1; done
	done' _ "$PORT" &
SLOW=$!
for _ in $(seq 50); do [ "$(held)" -eq 8 ] && break; sleep 0.1; done
check_eq "8 slow clients hold connections" 8 "$(held)"
check_eq "a scrape meanwhile answers 200" 200 "$(code "$URL/metrics")"
check_eq "both uplinks carry new connections" "20 20" "$(connections 40)"
# silent loss on up0 (the carrier stays up): only probes can tell
in_inet nft add table inet mlbfault
in_inet nft add chain inet mlbfault in '{ type filter hook input priority -10; }'
in_inet nft add rule inet mlbfault in iifname gw0 drop
check "while they are held, failed probes take up0 down" wait_health 0 down
check_eq "and the gateways see every new connection move to up1" "0 40" \
	"$(connections 40)"
in_inet nft delete table inet mlbfault
check "loss over: up0 comes back up" wait_health 0 up
check_eq "both uplinks carry new connections again" "20 20" "$(connections 40)"
check_eq "the 8 slow clients were held throughout" 8 "$(held)"

# -- 200 concurrent scrapes (past the 64 served at once: the rest queue)
mkdir "$WORK/par"
args=()
for i in $(seq 200); do args+=(-o "$WORK/par/$i" "$URL/metrics"); done
in_cli curl -sS -Z --parallel-immediate --parallel-max 200 --max-time 60 \
	-w '%{http_code}\n' "${args[@]}" > "$WORK/par.codes" 2> "$WORK/par.err"
check_eq "200 concurrent scrapes all answer 200" 200 \
	"$(grep -cx 200 "$WORK/par.codes")"
check_eq "and all 200 carry the whole text (up to its last family)" 200 \
	"$(grep -l '^mlb_uplink_transmit_packets_total{' "$WORK"/par/* | wc -l)"
check_eq "the slow clients are still held" 8 "$(held)"
check "watch lives on and answers" watch_lives

# -- the ASan copy stops clean on SIGTERM with the slow clients held
kill "$WATCH"
wait "$WATCH"
check_eq "watch stops with status 0" 0 $?
WATCH=
check "no sanitizer report" sh -c \
	"! grep -E 'Sanitizer|runtime error' '$WORK/asan.log'"
check "the slow clients were let go" sh -c \
	"for _ in \$(seq 50); do kill -0 $SLOW 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
wait "$SLOW" 2>/dev/null
SLOW=

# -- memory: the shipped build (ASan keeps freed memory in quarantine).
# 1000 scrapes after the first 100 leave the resident size within 512
# KiB: a leak of half a kilobyte per scrape would show.
start_watch "$MLB" "$WORK/watch.log"
check_eq "the first 100 scrapes answer 200" 100 "$(scrapes 100 10)"
R1=$(rss_kb)
check_eq "1000 more answer 200" 1000 "$(scrapes 1000 10)"
R2=$(rss_kb)
echo "# VmRSS after 100 scrapes: $R1 kB, after 1100: $R2 kB"
check "resident memory stays flat (within 512 KiB)" \
	test $((R2 - R1)) -le 512
kill "$WATCH"; wait "$WATCH" 2>/dev/null; WATCH=

"$MLB" detach --cgroup "$CG"
bed_snapshot > "$WORK/after"
check_same "nothing left after detach" "$WORK/before" "$WORK/after"
check "the host's own namespace is untouched (no rule, route or nft table of mlb-bpf's added)" bed_host_untouched
