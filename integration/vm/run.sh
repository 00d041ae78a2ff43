#!/usr/bin/env bash
# integration/vm/run.sh: run berth's cgroup checks in a pure cgroup v2 guest with
# systemd (see README.md). Hands the guest the freshly built berth
# (target/release/berth, or $BERTH), a busybox rootfs and the bundles of
# bundles.py, and runs cgroup-check.sh there in one boot. Exits with its status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
berth=${BERTH:-$repo/target/release/berth}
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$berth" ] || { echo "vm: $berth is not built (make build)" >&2; exit 2; }
[ -x "$busybox" ] || { echo "vm: $busybox missing (apt-get install busybox-static)" >&2; exit 2; }

payload=$(mktemp -d "${TMPDIR:-/tmp}/berth-vm-payload.XXXXXX")
trap 'rm -rf "$payload"' EXIT
cp "$berth" "$payload/berth"
cp "$here/cgroup-check.sh" "$payload/"
r=$payload/rootfs
mkdir -p "$r"/{bin,proc,sys,dev,tmp,etc,root,run}
cp "$busybox" "$r/bin/busybox"
for a in $("$busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
echo 'root:x:0:' > "$r/etc/group"
"$berth" spec --bundle "$payload"
python3 "$here/bundles.py" "$payload/config.json" "$payload/bundles"

start=$SECONDS
rc=0
"$here/run-in-guest.sh" "$payload" './cgroup-check.sh' || rc=$?
echo "vm: guest run took $((SECONDS - start)) s (exit $rc)"
exit $rc
