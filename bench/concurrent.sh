#!/bin/bash
# bench/concurrent.sh RUNTIME ROOT BUNDLES N
# Create and start N containers at once (bundle BUNDLES/<i> for container c<i>),
# wait for all, then delete them all at once (--force: they run `sleep`).
# Exits non-zero if any step of any container failed.
# bench/concurrent.sh RUNTIME ROOT clean   removes whatever is left in ROOT.
set -u
rt=$1 root=$2

if [ "$3" = clean ]; then
	for id in $("$rt" --root "$root" list -q 2>/dev/null); do
		"$rt" --root "$root" delete --force "$id" >/dev/null 2>&1
	done
	exit 0
fi

bundles=$3 n=$4 fail=0 pids=()
for i in $(seq 1 "$n"); do
	{ "$rt" --root "$root" create --bundle "$bundles/$i" "c$i" && "$rt" --root "$root" start "c$i"; } &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
pids=()
for i in $(seq 1 "$n"); do
	"$rt" --root "$root" delete --force "c$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
exit $fail
