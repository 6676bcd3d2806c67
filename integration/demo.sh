#!/usr/bin/env bash
# make demo: serve the built-in demo library with the fake API on loopback
# and mount it with ghlfs. Ctrl-C unmounts and stops the fake. Changes made
# in the mount are kept in .demo/ across runs (rm -rf .demo to start over).
set -euo pipefail
BIN=${BIN:-bin}
MNT=${MNT:-mnt}
STATE=${STATE:-.demo}
mkdir -p "$MNT" "$STATE/data" "$STATE/cache"
# ghlfs refuses a cache dir that other users may write (a umask of 002).
chmod go-w "$STATE/cache"

# The demo's token is no secret, but it still travels the way a real one
# does: through the environment, never the command line.
export GHLFAKE_TOKEN=demo-token GHL_TOKEN=demo-token GHL_LOCATION_ID=demo-location

# The fake runs in a session of its own: Ctrl-C reaches ghlfs, which
# uploads what is due before it exits, and the fake is stopped after it.
# It listens on the port of the last run where it can: the port is part
# of the library's identity, and the listings and pending uploads kept in
# $STATE/cache are that server's (on another port they are not shown, nor
# sent: pending files would be set aside).
start_fake() {
	fifo=$(mktemp -u)
	mkfifo "$fifo"
	setsid "$BIN/ghlfake" --listen "127.0.0.1:$1" --location demo-location --seed demo --data "$STATE/data" >"$fifo" 2>>"$STATE/ghlfake.log" &
	fake=$!
	first=
	read -r first <"$fifo" || true
	rm -f "$fifo"
	url=${first#ghlfake listening on }
}
start_fake "$(cat "$STATE/port" 2>/dev/null || echo 0)"
case $url in http://*) ;; *) start_fake 0 ;; esac
case $url in http://*) ;; *) echo "ghlfake did not start: $first" >&2; kill $fake 2>/dev/null; exit 1 ;; esac
echo "${url##*:}" >"$STATE/port"

cleanup() {
	trap - INT TERM EXIT
	[ -n "${ghlfs:-}" ] && kill -TERM "$ghlfs" 2>/dev/null && wait "$ghlfs" 2>/dev/null || true
	kill -TERM "$fake" 2>/dev/null && wait "$fake" 2>/dev/null || true
	echo "demo stopped; $MNT unmounted"
}
trap cleanup INT TERM EXIT

"$BIN/ghlfs" mount --api-url "$url" --cache-dir "$STATE/cache" --social-csv "$MNT" &
ghlfs=$!
for _ in $(seq 100); do
	if mountpoint -q "$MNT" 2>/dev/null || grep -qs " $(realpath "$MNT") " /proc/self/mountinfo; then
		break
	fi
	kill -0 "$ghlfs" 2>/dev/null || { echo "ghlfs exited" >&2; exit 1; }
	sleep 0.1
done
cat <<MSG

  The demo library is mounted at $(realpath "$MNT") (fake API at $url).
  Try:  ls -la $MNT   find $MNT   cp $MNT/Logos/*.png /tmp/   mkdir $MNT/New
        ls -l $MNT/.social-csv-imports   (the social planner's CSV imports: --social-csv)
  Ctrl-C to unmount and stop.

MSG
wait "$ghlfs"
