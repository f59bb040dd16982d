#!/usr/bin/env bash
# The tray icon of the real app, read over D-Bus: its menu (com.canonical.dbusmenu)
# names the next freeze and counts the open conflicts. Runs the app under Xvfb on
# a private session bus.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
app="${RELCAL_APP:-$root/target/debug/relcal-app}"
relcal="${RELCAL_CLI:-$root/target/debug/relcal}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Two days after the app's clock (RELCAL_NOW when set: crates/api/src/clock.rs).
now_s=$(date -u -d "${RELCAL_NOW:-now}" +%s)
day=$(date -u -d "@$((now_s + 2 * 86400))" +%Y-%m-%d)
start="${day}T10:00:00Z"
end="${day}T18:00:00Z"
cat > "$work/plan.json" <<PLAN
{ "version": 1, "timezone": "UTC",
  "teams": [ { "id": "web", "name": "Web" } ], "services": [ { "id": "site", "team": "web" } ],
  "environments": [ { "id": "live", "name": "Live" } ],
  "freezes": [ { "id": "launch", "name": "Launch freeze", "severity": "hard", "start": "$start", "end": "$end" } ],
  "releases": [ { "id": "r1", "title": "Site 2", "team": "web", "services": ["site"], "environment": "live",
    "start": "${day}T11:00:00Z", "end": "${day}T12:00:00Z", "status": "planned" } ] }
PLAN
"$relcal" import "$work/plan.json" --db "$work/cal.db" >/dev/null
expected="Next freeze: Launch freeze from $(date -u -d "@$((now_s + 2 * 86400))" '+%-d %b %Y') 10:00 UTC (UTC)"

cat > "$work/session.sh" <<INNER
set -euo pipefail
RELCAL_DB="$work/cal.db" RELCAL_LOG=warn "$app" >"$work/app.log" 2>&1 &
app_pid=\$!
layout=""
for _ in \$(seq 1 60); do
  sleep 0.5
  for name in \$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.ListNames | grep -o '":1\.[0-9]*"' | tr -d '"'); do
    out=\$(dbus-send --session --print-reply --dest="\$name" /org/ayatana/NotificationItem/tray_icon_tray_app_relcal/Menu \
      com.canonical.dbusmenu.GetLayout int32:0 int32:-1 array:string:"label" 2>/dev/null || true)
    if echo "\$out" | grep -q "Open conflicts: [0-9]"; then layout="\$out"; break 2; fi
  done
done
echo "\$layout" > "$work/layout.txt"
kill \$app_pid
INNER
xvfb-run -a dbus-run-session -- bash "$work/session.sh" 2>/dev/null

fail() { echo "tray: $*" >&2; cat "$work/layout.txt" >&2; exit 1; }
[ -s "$work/layout.txt" ] || fail "no tray menu with a conflict count appeared on D-Bus"
grep -qF "$expected" "$work/layout.txt" || fail "the tray does not say: $expected"
grep -qF "Open conflicts: 1" "$work/layout.txt" || fail "the tray does not count the 1 open conflict"
grep -qF "Quit Relcal" "$work/layout.txt" || fail "the tray has no Quit"
echo "ok - the tray names the next freeze and counts the open conflicts"
