#!/usr/bin/env bash
# integration/run-all.sh [-c "CLIENT..."] RUNTIME...
#
# Runs every client harness (integration/<client>/run.sh; default: containerd
# podman docker) against each RUNTIME in turn (a path, or a name looked up on
# PATH), one at a time since they share nothing but the machine. Each run's
# full output goes to $IT_LOGS/<client>-<runtime>.log (default
# build/integration). Prints the closing line of each run as it ends, then a
# table client x runtime and, last, the totals as "N passed, M failed".
# Exits 1 when any step of any run failed or a harness could not run.
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLIENTS="containerd podman docker"
if [ "${1:-}" = -c ]; then CLIENTS=$2; shift 2; fi
[ $# -ge 1 ] || { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2; }
LOGS=${IT_LOGS:-build/integration}
mkdir -p "$LOGS"

declare -A RESULT
runtimes=()
total_pass=0 total_fail=0 bad=0
for rt in "$@"; do
  path=$rt
  [[ $rt == */* ]] || path=$(command -v "$rt") || { echo "runtime not found on PATH: $rt" >&2; exit 2; }
  name=$(basename "$path"); runtimes+=("$name")
  for client in $CLIENTS; do
    log=$LOGS/$client-$name.log
    t0=$(date +%s)
    "$HERE/$client/run.sh" "$path" > "$log" 2>&1; rc=$?
    secs=$(( $(date +%s) - t0 ))
    last=$(tail -n 1 "$log")
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
      p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
      total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
      RESULT[$client,$name]="$p/$((p + f)) (${secs}s)"
    else
      RESULT[$client,$name]="harness error rc=$rc (${secs}s)"; bad=1
      total_fail=$((total_fail + 1))
    fi
    [ "$rc" -eq 0 ] || bad=1
    printf '%-10s %-8s %s  [%s]\n' "$client" "$name" "${RESULT[$client,$name]}" "$log"
    grep -E '^(FAIL|note:)' "$log" | sed 's/^/    /'
  done
done

echo
printf '%-12s' client; for n in "${runtimes[@]}"; do printf '%-22s' "$n"; done; echo
for client in $CLIENTS; do
  printf '%-12s' "$client"
  for n in "${runtimes[@]}"; do printf '%-22s' "${RESULT[$client,$n]}"; done; echo
done
printf '%d passed, %d failed\n' "$total_pass" "$total_fail"
exit $bad
