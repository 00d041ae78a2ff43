#!/bin/bash
# bench/orderfile.sh: regenerate src/bin/berth.order, the order in which the
# linker places berth's functions (build.rs), from a trace of the commands the
# bench and the clients run most: create, state, start, delete, run (parent and
# init), exec and kill. Needs root, gdb, nm, busybox and runc (for `runc spec`);
# takes several minutes (a breakpoint on every function).
# The trace misses what lld's identical code folding merged and a few generic
# instances; the committed order also has the names bench/orderfile/icf.py and
# the page-fault rounds of bench/orderfile/coldfaults.py added (their headers
# say how; bench/RESULTS.md, "the hot code in a mapping of its own"): run them
# after this script, or the cold mapping gets faulted in again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [ -z "${ORDER_INNER:-}" ]; then
	export ORDER_INNER=1
	# shellcheck disable=SC2016
	exec unshare -m sh -c 'mount --make-rprivate /
		if [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ]; then
			for m in $(findmnt -n -r -t cgroup2 -o TARGET); do umount "$m"; done
		fi
		exec "$0"' "$0"
fi
W=$(mktemp -d /tmp/berth-order.XXXXXX)
trap 'umount "$W/state" 2>/dev/null; rm -rf "$W"' EXIT
cd "$repo"
# 1. A build with symbols (stripping renames them; remap.py maps them back).
CARGO_PROFILE_RELEASE_STRIP=false cargo build --release
cp target/release/berth "$W/berth"
# 2. The bench's bundle, state on tmpfs.
mkdir -p "$W/rootfs"/{bin,proc,sys,dev,tmp,etc,root} "$W/state"
mount -t tmpfs berth-order "$W/state"
cp "${BUSYBOX:-/bin/busybox}" "$W/rootfs/bin/busybox"
for a in true sleep sh; do ln -s busybox "$W/rootfs/bin/$a"; done
(cd "$W" && runc spec && mv config.json base.json && echo '{}' >seccomp.json)
python3 "$here/bench.py" bundles "$W" "berth-order-$$" 268435456
rm -rf "$W/c"
# 3. The trace.
B=$W/berth R=(--root "$W/state")
export OUT=$W/trace
: >"$OUT"
t() { gdb -q -batch -x "$here/orderfile/trace.py" --args "$B" "${R[@]}" "$@" </dev/null >>"$W/gdb.log" 2>&1; }
t create --bundle "$W/b/true" bench
t state bench
t start bench
sleep 0.3
t delete bench
t run --bundle "$W/b/true" bench
"$B" "${R[@]}" create --bundle "$W/b/sleep" ex </dev/null >/dev/null && "$B" "${R[@]}" start ex
t exec ex /bin/true
t kill ex KILL
sleep 0.3
"$B" "${R[@]}" delete -f ex
FOLLOW=child t run --bundle "$W/b/true" bench
"$B" "${R[@]}" delete -f bench 2>/dev/null || true
for d in /sys/fs/cgroup/*/"berth-order-$$"; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} +; done
awk '!seen[$0]++' "$OUT" >"$W/order"
# 4. The names as the release build spells them (its linker map), then the build.
BERTH_LINK_MAP=$W/map cargo build --release
python3 "$here/orderfile/remap.py" "$W/berth" "$W/order" "$W/map" >src/bin/berth.order
cargo build --release
echo "src/bin/berth.order: $(wc -l <src/bin/berth.order) functions"
