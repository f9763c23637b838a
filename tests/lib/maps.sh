# maps.sh - what an attachment's BPF maps hold and cost, for the scale
# test and bench/scale.sh (sourced after bed.sh).
#
# The maps are found from the programs attached to the cgroup itself
# (bpftool cgroup show, not the effective ones), so the cursor, which has
# no pin, is counted too, and a sibling attachment's maps are not.

# map_ids CGROUP: the ids of every map its attached programs use.
map_ids() {
	local prog
	for prog in $(bpftool cgroup show "$1" -j | jq '.[].id'); do
		bpftool prog show id "$prog" -j | jq '.map_ids[]?'
	done | sort -nu
}

# map_memory CGROUP: "NAME TYPE MAX_ENTRIES BYTES" per map, by name; BYTES
# is the kernel's own account of the map's memory (bytes_memlock, from
# the map's fdinfo).
map_memory() {
	local id
	for id in $(map_ids "$1"); do
		bpftool map show id "$id" -j |
			jq -r '"\(.name) \(.type) \(.max_entries) \(.bytes_memlock)"'
	done | sort
}

# map_entries CGROUP NAME: the entries the attachment's map NAME holds now.
map_entries() {
	bpftool map dump pinned "/sys/fs/bpf/mlb/$(stat -c %i "$1")/$2" -j |
		jq length
}

# map_max_entries CGROUP NAME
map_max_entries() {
	bpftool map show pinned "/sys/fs/bpf/mlb/$(stat -c %i "$1")/$2" -j |
		jq .max_entries
}

# marks_vs_counters CROUT STATUS_JSON: for each uplink "NAME MARK_TALLY
# COUNTER", the sockets crr saw with the uplink's mark (from its "mark 0xM
# N" lines) and the program's counter for the uplink.
marks_vs_counters() {
	jq -r '.attachments[0].uplinks[] | "\(.name) \(.mark) \(.sockets)"' "$2" |
	while read -r name mark counter; do
		echo "$name $(awk -v m="$(printf '0x%x' "$mark")" \
			'$1 == "mark" && $2 == m { n = $3 } END { print n + 0 }' "$1") $counter"
	done
}
