#!/usr/bin/env bash
# The token in a real OS keyring: gnome-keyring's Secret Service on a private
# session D-Bus. `relcal login` keeps the token there (read from standard
# input, never from a file or the command line), `relcal sync` uses it against
# a real relcal-server, `relcal logout` forgets it, and the token never lands
# in the desktop database in clear.
#
#   tests/keyring/keyring.sh            (make test-keyring builds the binaries first)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
relcal="${RELCAL_CLI:-$root/target/debug/relcal}"
server_bin="${RELCAL_SERVER:-$root/target/debug/relcal-server}"
work="$(mktemp -d)"
export RELCAL_LOG=warn
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

"$server_bin" import --db "$work/server.db" "$root/assets/demo-plan.json" >/dev/null
token="$("$server_bin" token create --db "$work/server.db" --user ana --role editor)"
"$server_bin" --db "$work/server.db" --listen 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.05; done
url="$(sed -n 's/^listening on //p' "$work/server.out")"
[ -n "$url" ] || { echo "not ok - relcal-server did not start: $(cat "$work/server.err")"; exit 1; }

cat > "$work/session.sh" <<INNER
set -euo pipefail
export HOME="$work/home"
mkdir -p "\$HOME"
unset RELCAL_TOKEN
# The keyring daemon, unlocked with a throwaway password, serving the Secret Service.
printf 'throwaway' | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
printf '%s\n' "$token" | "$relcal" login --server "$url/" >"$work/login.log"
"$relcal" sync --db "$work/desk.db" --server "$url" >"$work/sync1.log"
"$relcal" logout --server "$url" >"$work/logout.log"
set +e
"$relcal" sync --db "$work/desk.db" --server "$url" >"$work/sync2.log" 2>"$work/sync2.err"
echo \$? >"$work/sync2.code"
INNER
dbus-run-session -- bash "$work/session.sh" 2>"$work/session.err" || {
  echo "not ok - the keyring session failed:"; cat "$work/session.err"; exit 1; }

fail() { echo "not ok - $1"; exit 1; }
grep -q "is in the OS keyring" "$work/login.log" || fail "login: $(cat "$work/login.log")"
grep -q "pulled 16" "$work/sync1.log" || fail "sync with the keyring's token: $(cat "$work/sync1.log")"
[ "$(cat "$work/sync2.code")" = 2 ] || fail "sync after logout exited $(cat "$work/sync2.code"), not 2"
grep -q "RELCAL_TOKEN" "$work/sync2.err" || fail "the error after logout does not name RELCAL_TOKEN: $(cat "$work/sync2.err")"
if grep -a -q "$token" "$work/desk.db"* 2>/dev/null; then fail "the token is in the desktop database in clear"; fi
echo "ok - relcal login keeps the token in a real Secret Service keyring; sync uses it; logout forgets it"
