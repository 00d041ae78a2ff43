#!/bin/bash
# integration/registry/registry.sh -- Debian's docker-registry for tests and
# the bench, plain HTTP on loopback, each with its own config and storage.
#
#   registry.sh serve --addr HOST:PORT --dir D [--htpasswd FILE] [--from STORE]
#                     [--until-eof] [--remove]
#       run in the foreground: config D/config.yml, storage D/data (a copy of
#       STORE when given, e.g. build/images/registry), log D/registry.log.
#       Stops the registry (by its pid) on TERM/INT, when it exits, or with
#       --until-eof when stdin reaches EOF (a test holds the pipe: the
#       registry goes when the test process does, however it ends).
#       --remove deletes D afterwards.
#   registry.sh start [--auth] [--addr HOST:PORT] [--dir D]
#       in the background, storage copied from the test images (images.sh),
#       pid file D/pid; --auth adds htpasswd basic auth (user $AUTH_USER,
#       password $AUTH_PASSWORD). Defaults: 127.0.0.1:5000 (5001 with
#       --auth), D = build/registry/<port>.
#   registry.sh stop [--addr HOST:PORT | --dir D]   stop what start started, by pid
#   registry.sh wait HOST:PORT [SECONDS]            until /v2/ answers
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
AUTH_USER=berth-test
AUTH_PASSWORD=berth-test-password

die() { printf 'registry.sh: error: %s\n' "$*" >&2; exit 2; }

wait_ready() { # wait_ready ADDR SECONDS: any HTTP answer from /v2/ (200, or 401 with auth)
	local end=$(($(date +%s) + ${2:-15}))
	until curl -s -o /dev/null --max-time 1 "http://$1/v2/"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

write_config() { # write_config ADDR DIR HTPASSWD
	{
		cat <<-YML
		version: 0.1
		log:
		  level: info
		storage:
		  filesystem:
		    rootdirectory: $2/data
		  delete:
		    enabled: true
		  maintenance:
		    uploadpurging:
		      enabled: false
		http:
		  addr: $1
		YML
		if [ -n "$3" ]; then
			cat <<-YML
			auth:
			  htpasswd:
			    realm: berth-test
			    path: $3
			YML
		fi
	} >"$2/config.yml"
}

serve() {
	local addr="" dir="" htpasswd="" from="" until_eof="" remove="" reg eof
	while [ $# -gt 0 ]; do
		case $1 in
		--addr) addr=$2; shift ;;
		--dir) dir=$2; shift ;;
		--htpasswd) htpasswd=$2; shift ;;
		--from) from=$2; shift ;;
		--until-eof) until_eof=1 ;;
		--remove) remove=1 ;;
		*) die "serve: unknown flag $1" ;;
		esac
		shift
	done
	[ -n "$addr" ] && [ -n "$dir" ] || die "serve needs --addr and --dir"
	mkdir -p "$dir"
	if [ -n "$from" ]; then
		rm -rf "$dir/data"
		cp -a "$from" "$dir/data"
	fi
	mkdir -p "$dir/data"
	write_config "$addr" "$dir" "$htpasswd"
	docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
	reg=$!
	# shellcheck disable=SC2317
	finish() {
		kill -TERM "$reg" 2>/dev/null || true
		wait "$reg" 2>/dev/null || true
		[ -z "$remove" ] || rm -rf "$dir"
	}
	trap 'finish; exit 0' TERM INT
	if [ -n "$until_eof" ]; then
		# A background job's stdin would be /dev/null: hand it ours explicitly.
		exec 3<&0
		cat <&3 >/dev/null &
		eof=$!
		wait -n "$reg" "$eof" || true
		kill "$eof" 2>/dev/null || true
	else
		wait "$reg" || true
	fi
	finish
}

default_dir() { echo "$repo/build/registry/${1##*:}"; }

start() {
	local addr="" dir="" auth="" images hp=""
	while [ $# -gt 0 ]; do
		case $1 in
		--addr) addr=$2; shift ;;
		--dir) dir=$2; shift ;;
		--auth) auth=1 ;;
		*) die "start: unknown flag $1" ;;
		esac
		shift
	done
	[ -n "$addr" ] || { [ -n "$auth" ] && addr=127.0.0.1:5001 || addr=127.0.0.1:5000; }
	[ -n "$dir" ] || dir=$(default_dir "$addr")
	if [ -f "$dir/pid" ] && [ -d "/proc/$(cat "$dir/pid")" ]; then
		die "a registry is already running from $dir (pid $(cat "$dir/pid")); registry.sh stop --dir $dir"
	fi
	# Another server on the port would answer our readiness check instead.
	if curl -s -o /dev/null --max-time 1 "http://$addr/v2/"; then
		die "something already answers on http://$addr/ (registry.sh start --addr HOST:PORT for another port)"
	fi
	images=$("$here/images.sh")
	mkdir -p "$dir"
	if [ -n "$auth" ]; then
		hp=$dir/htpasswd
		htpasswd -Bbc "$hp" "$AUTH_USER" "$AUTH_PASSWORD" 2>/dev/null
	fi
	setsid "$0" serve --addr "$addr" --dir "$dir" --from "$images/registry" ${hp:+--htpasswd "$hp"} \
		</dev/null >"$dir/serve.out" 2>&1 &
	echo $! >"$dir/pid"
	if ! wait_ready "$addr" 30 || ! grep -q "listening on $addr" "$dir/registry.log"; then
		tail -n 20 "$dir/registry.log" >&2 || true
		stop --dir "$dir"
		die "registry did not answer on http://$addr/v2/"
	fi
	echo "registry on $addr (pid $(cat "$dir/pid"), dir $dir)${auth:+, user $AUTH_USER password $AUTH_PASSWORD}" >&2
}

stop() {
	local dir="" pid i
	case ${1:-} in
	--addr) dir=$(default_dir "$2") ;;
	--dir) dir=$2 ;;
	"") dir=$(default_dir 127.0.0.1:5000) ;;
	*) die "stop: unknown flag $1" ;;
	esac
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	# Only the process we started: its command line names this script and serve.
	if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "registry.sh serve"; then
		kill -TERM "$pid"
		for i in $(seq 50); do
			[ -d "/proc/$pid" ] || break
			sleep 0.1
		done
	fi
	rm -f "$dir/pid"
}

case ${1:-} in
serve) shift; serve "$@" ;;
start) shift; start "$@" ;;
stop) shift; stop "$@" ;;
wait) wait_ready "$2" "${3:-15}" ;;
*) sed -n '2,22p' "$0" >&2; exit 2 ;;
esac
