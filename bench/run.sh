#!/bin/bash
# bench/run.sh: berth, crun and runc side by side on one busybox bundle.
#
# Every runtime runs inside one private mount namespace in which the cgroup2
# mount of a hybrid layout is unmounted (crun refuses the hybrid layout), so all
# three see the same cgroup v1 layout. Each measure is taken in BENCH_ROUNDS
# rounds; in each round every runtime gets BENCH_RUNS hyperfine runs, in a
# rotating order, so that load from other users of the machine falls on all
# three alike. The samples of all rounds are merged into one table.
#
# Environment:
#   BERTH=path          berth binary (default: target/release/berth)
#   BENCH_ROUNDS=3      rounds per measure
#   BENCH_RUNS=10       hyperfine runs per runtime and round (concurrent: BENCH_CONC_RUNS=1)
#   BENCH_ONLY="a b"    only these measure keys (run create start delete exec rss
#                       run_seccomp run_memory conc10 conc100 conc100_seccomp
#                       conc100_memory size)
#   BENCH_RUNTIMES="berth crun runc"   (NAME=PATH entries add other builds)
#   BENCH_OUT=dir       where the report and raw hyperfine JSON go (default: build/bench)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

if [ -z "${BENCH_INNER:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root (namespaces, cgroups)" >&2; exit 1; }
	export BENCH_INNER=1
	# shellcheck disable=SC2016
	exec unshare -m sh -c '
		mount --make-rprivate /
		if [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ]; then
			for m in $(findmnt -n -r -t cgroup2 -o TARGET); do umount "$m"; done
		fi
		exec "$0" "$@"' "$0" "$@"
fi

export LC_ALL=C
BERTH=${BERTH:-$repo/target/release/berth}
ROUNDS=${BENCH_ROUNDS:-3}
RUNS=${BENCH_RUNS:-10}
CONC_RUNS=${BENCH_CONC_RUNS:-1}
ONLY=${BENCH_ONLY:-}
read -r -a RTSPEC <<<"${BENCH_RUNTIMES:-berth crun runc}"
OUT=${BENCH_OUT:-$repo/build/bench}
BUSYBOX=${BUSYBOX:-/bin/busybox}
PY="python3 $here/bench.py"

declare -A BIN=([berth]=$BERTH [crun]=$(command -v crun || true) [runc]=$(command -v runc || true))
# NAME=PATH adds a runtime binary under a name, e.g. to compare two berth builds.
RUNTIMES=()
for r in "${RTSPEC[@]}"; do
	if [[ $r == *=* ]]; then BIN[${r%%=*}]=${r#*=}; r=${r%%=*}; fi
	RUNTIMES+=("$r")
done
for rt in "${RUNTIMES[@]}"; do
	[ -x "${BIN[$rt]}" ] || { echo "bench/run.sh: $rt not found (${BIN[$rt]:-not on PATH})" >&2; exit 1; }
done
for tool in hyperfine python3 /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is missing (make bench installs it)" >&2; exit 1; }
done

W=$(mktemp -d /tmp/berth-bench.XXXXXX)
# State roots on tmpfs, as /run is: on a disk mounted with `discard`, freeing a
# state file's blocks waits for the device, for every runtime alike.
mkdir "$W/state"
mount -t tmpfs -o mode=0711 berth-bench "$W/state"
CG=berth-bench-$$
RES=$OUT/raw
rm -rf "$RES" && mkdir -p "$RES"
: >"$RES/measures"
LOG=$OUT/bench.log
: >"$LOG"

cleanup() {
	set +e
	for rt in "${RUNTIMES[@]}"; do
		"$here/concurrent.sh" "${BIN[$rt]}" "$W/state/$rt" clean
	done
	# Only our own cgroups: the run's parent in every hierarchy, leaves first.
	for h in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
		[ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	umount "$W/state"
	rm -rf "$W"
}
trap cleanup EXIT

# --- bundles ------------------------------------------------------------------
mkdir -p "$W/rootfs"/{bin,proc,sys,dev,tmp,etc,root}
cp "$BUSYBOX" "$W/rootfs/bin/busybox"
for a in true sleep sh; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/rootfs/etc/passwd"
echo 'root:x:0:' >"$W/rootfs/etc/group"
(cd "$W" && runc spec && mv config.json base.json)
caps=$(python3 -c 'import json,sys;print(json.dumps(json.load(open(sys.argv[1]))["process"]["capabilities"]["bounding"]))' "$W/base.json")
$PY seccomp "$here/seccomp-containers-common.json" "$caps" >"$W/seccomp.json"

$PY bundles "$W" "$CG" 268435456

# --- measuring ----------------------------------------------------------------
wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

# Runtimes in a different order each round.
order() {
	local r=$1 n=${#RUNTIMES[@]} i
	for ((i = 0; i < n; i++)); do echo "${RUNTIMES[$(((i + r) % n))]}"; done
}

# Replace @RT@, @ROOT@ and @W@ in a command template for one runtime.
expand() {
	local s=$1 rt=$2
	s=${s//@RT@/${BIN[$rt]}}
	s=${s//@ROOT@/$W/state/$rt}
	s=${s//@W@/$W}
	printf '%s' "$s"
}

# measure KEY TITLE RUNS SETUP PREPARE COMMAND TEARDOWN
# SETUP/TEARDOWN run once around each runtime's runs in a round, PREPARE before
# every run (untimed); COMMAND is timed by hyperfine without a shell.
measure() {
	local key=$1 title=$2 runs=$3 setup=$4 prep=$5 cmd=$6 teardown=$7 r rt out
	wanted "$key" || return 0
	printf '%s\t%s\n' "$key" "$title" >>"$RES/measures"
	for ((r = 1; r <= ROUNDS; r++)); do
		for rt in $(order "$r"); do
			out=$RES/$key.$rt.$r.json
			expand "$setup" "$rt" >"$W/setup.sh"
			expand "$prep" "$rt" >"$W/prep-$rt.sh"
			expand "$teardown" "$rt" >"$W/teardown.sh"
			local args=(-N --style none --runs "$runs" --export-json "$out")
			[ -n "$prep" ] && args+=(--prepare "sh $W/prep-$rt.sh")
			echo "== $key $rt round $r" >>"$LOG"
			if ! sh "$W/setup.sh" >>"$LOG" 2>&1 ||
				! hyperfine "${args[@]}" "$(expand "$cmd" "$rt")" >>"$LOG" 2>&1; then
				echo '{"failed": true}' >"$out"
				echo "bench: $key failed for $rt (see $LOG)" >&2
			fi
			sh "$W/teardown.sh" >>"$LOG" 2>&1 || true
		done
	done
	echo "bench: $key done" >&2
}

RT='@RT@ --root @ROOT@'
CLEAN="$here/concurrent.sh @RT@ @ROOT@ clean"
WAIT_STOPPED="until $RT state bench 2>/dev/null | grep -q '\"stopped\"'; do :; done"

measure run 'run /bin/true' "$RUNS" "$CLEAN" "" \
	"$RT run --bundle @W@/b/true bench" "$CLEAN"
measure create 'create' "$RUNS" "$CLEAN" "$CLEAN" \
	"$RT create --bundle @W@/b/true bench" "$CLEAN"
measure start 'start' "$RUNS" "$CLEAN" "$CLEAN; $RT create --bundle @W@/b/true bench" \
	"$RT start bench" "$CLEAN"
measure delete 'delete (stopped)' "$RUNS" "$CLEAN" \
	"$CLEAN; $RT create --bundle @W@/b/true bench && $RT start bench && $WAIT_STOPPED" \
	"$RT delete bench" "$CLEAN"
measure exec 'exec /bin/true' "$RUNS" "$CLEAN; $RT create --bundle @W@/b/sleep ex && $RT start ex" "" \
	"$RT exec ex /bin/true" "$CLEAN"
measure run_seccomp 'run /bin/true, podman seccomp profile' "$RUNS" "$CLEAN" "" \
	"$RT run --bundle @W@/b/seccomp bench" "$CLEAN"
measure run_memory 'run /bin/true, memory limit' "$RUNS" "$CLEAN" "" \
	"$RT run --bundle @W@/b/memory bench" "$CLEAN"
measure conc10 '10 concurrent create+start, delete' "$CONC_RUNS" "$CLEAN" "$CLEAN" \
	"$here/concurrent.sh @RT@ @ROOT@ @W@/c/plain 10" "$CLEAN"
measure conc100 '100 concurrent create+start, delete' "$CONC_RUNS" "$CLEAN" "$CLEAN" \
	"$here/concurrent.sh @RT@ @ROOT@ @W@/c/plain 100" "$CLEAN"
measure conc100_seccomp '100 concurrent, seccomp profile' "$CONC_RUNS" "$CLEAN" "$CLEAN" \
	"$here/concurrent.sh @RT@ @ROOT@ @W@/c/seccomp 100" "$CLEAN"
measure conc100_memory '100 concurrent, memory limit' "$CONC_RUNS" "$CLEAN" "$CLEAN" \
	"$here/concurrent.sh @RT@ @ROOT@ @W@/c/memory 100" "$CLEAN"

# Peak RSS of `create` (GNU time's maximum resident set size, KiB).
if wanted rss; then
	printf 'rss\tpeak RSS of create\n' >>"$RES/measures"
	for ((r = 1; r <= ROUNDS; r++)); do
		for rt in $(order "$r"); do
			vals=()
			for ((i = 0; i < RUNS; i++)); do
				sh -c "$(expand "$CLEAN" "$rt")"
				# -o: the container's init inherits stdio, so no pipe may wait for it.
				/usr/bin/time -o "$W/rss" -f %M "${BIN[$rt]}" --root "$W/state/$rt" create --bundle "$W/b/true" bench >/dev/null 2>>"$LOG"
				vals+=("$(tail -n1 "$W/rss")")
			done
			sh -c "$(expand "$CLEAN" "$rt")"
			printf '{"unit": "KiB", "results": [{"times": [%s]}]}\n' "$(IFS=,; echo "${vals[*]}")" >"$RES/rss.$rt.$r.json"
		done
	done
fi

if wanted size; then
	printf 'size\tbinary size\n' >>"$RES/measures"
	for rt in "${RUNTIMES[@]}"; do
		printf '{"unit": "B", "results": [{"times": [%s]}]}\n' "$(stat -L -c %s "${BIN[$rt]}")" >"$RES/size.$rt.1.json"
	done
fi

# --- report -------------------------------------------------------------------
{
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- cgroups: v1 (hybrid layout with its cgroup2 mount unmounted in the bench's mount namespace)"
	echo "- versions: $("${BIN[berth]:-$BERTH}" --version | head -n1); $(crun --version | head -n1); $(runc --version | head -n1); $(hyperfine --version)"
	echo "- samples: $ROUNDS rounds × $RUNS runs per runtime ($CONC_RUNS for concurrent), order rotated per round; mean ± stddev (min…max; median); ratios of means (of medians)"
	echo
	$PY report "$RES" "${RUNTIMES[@]}"
} | tee "$OUT/report.md"
