#!/usr/bin/env bash
# Real delivery of desktop notifications: `relcal notify --once` talks to a real
# notification daemon (dunst) on a private session D-Bus under Xvfb, while
# dbus-monitor records every Notify call. The first run must deliver the due
# notice with its summary and body; a second run must deliver nothing new.
#
#   tests/notify/delivery.sh            (make test-notify builds relcal first)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
relcal="${RELCAL_CLI:-$root/target/debug/relcal}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$relcal" import "$root/assets/demo-plan.json" --db "$work/cal.db" >/dev/null
# The demo with an exception for the TLS update (in the holiday freeze, 22 Dec
# 09:00-10:00Z) that expires halfway through it.
python3 - "$root/assets/demo-plan.json" "$work/exception.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
for r in plan["releases"]:
    if r["id"] == "ingress-xmas":
        r["overrides"] = [{"freeze": "holidays", "reason": "certificate expires", "by": "li",
                           "requested_by": "kai", "expires": "2026-12-22T09:30:00Z"}]
json.dump(plan, open(sys.argv[2], "w"))
PY
"$relcal" import "$work/exception.json" --db "$work/exception.db" >/dev/null

cat > "$work/session.sh" <<INNER
set -euo pipefail
dunst -config /dev/null >"$work/dunst.log" 2>&1 &
dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" >"$work/monitor.log" 2>&1 &
monitor=\$!
# Wait until the daemon owns its name on the bus.
for _ in \$(seq 1 50); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications 2>/dev/null | grep -q true; then break; fi
  sleep 0.1
done
# The holiday freeze starts 21 Dec 2026 00:00 in New York (05:00Z): a day ahead.
"$relcal" notify --db "$work/cal.db" --once --now 2026-12-20T05:00:00Z >"$work/run1.log"
"$relcal" notify --db "$work/cal.db" --once --now 2026-12-20T05:00:30Z >"$work/run2.log"
# The exception expires at 09:30 while the release runs in the freeze until 10:00.
"$relcal" notify --db "$work/exception.db" --once --now 2026-12-22T09:30:00Z >"$work/run3.log"
"$relcal" notify --db "$work/exception.db" --once --now 2026-12-22T09:30:30Z >"$work/run4.log"
sleep 0.5
kill \$monitor
INNER
xvfb-run -a dbus-run-session -- bash "$work/session.sh"

fail() { echo "notify delivery: $*" >&2; echo "--- monitor" >&2; cat "$work/monitor.log" >&2; exit 1; }
calls=$(grep -c 'member=Notify' "$work/monitor.log" || true)
[ "$calls" -eq 2 ] || fail "expected exactly 2 Notify calls over four runs (the freeze lead, the expiring exception), saw $calls"
grep -q 'string "Relcal"' "$work/monitor.log" || fail "the app name is not Relcal"
grep -q 'string "Holiday freeze starts in 1 day"' "$work/monitor.log" || fail "no summary 'Holiday freeze starts in 1 day'"
grep -q 'hard freeze · 21 Dec 2026 05:00 UTC (UTC) – 4 Jan 2027 05:00 UTC (UTC) · all teams · Peak trading' "$work/monitor.log" || fail "the body does not say what, when (with its zone) and for whom"
grep -q '1 sent' "$work/run1.log" || fail "the first run did not report 1 sent: $(cat "$work/run1.log")"
grep -q '0 sent' "$work/run2.log" || fail "the second run sent again: $(cat "$work/run2.log")"
grep -q 'string "Exception to Holiday freeze for ingress TLS update expires"' "$work/monitor.log" || fail "no notice of the expiring exception"
grep -q 'the hard freeze applies to it again' "$work/monitor.log" || fail "the exception notice does not say the freeze applies again"
grep -q '1 sent' "$work/run3.log" || fail "the expiry run did not report 1 sent: $(cat "$work/run3.log")"
grep -q '0 sent' "$work/run4.log" || fail "the expiry notice was sent again: $(cat "$work/run4.log")"
echo "ok - relcal notify --once delivered the freeze lead and the expiring exception to dunst, each once"
