#!/usr/bin/env bash
# Runs the date-sensitive suites with the app's clock (RELCAL_NOW) set to each
# day of one week, Monday 30 Nov to Sunday 6 Dec 2026, each at an hour that
# moves through the day: the Rust tests (the demo seeding, the CLI), the
# browser tests, the real window's journeys and the tray. It proves the suite
# passes whatever the day; `make test` itself runs on one fixed day.
#   scripts/each-day.sh            all seven days
#   scripts/each-day.sh 2026-12-03T16:45:00Z   one instant
set -euo pipefail
cd "$(dirname "$0")/.."
days=("$@")
if [ "${#days[@]}" -eq 0 ]; then
  days=(2026-11-30T00:30:00Z 2026-12-01T14:30:00Z 2026-12-02T09:00:00Z 2026-12-03T16:45:00Z
        2026-12-04T23:30:00Z 2026-12-05T12:00:00Z 2026-12-06T21:15:00Z)
fi
make app >/dev/null
cargo build -q -p relcal-cli -p relcal-server
for day in "${days[@]}"; do
  echo "== RELCAL_NOW=$day ($(date -u -d "$day" +%A))"
  export RELCAL_NOW="$day"
  cargo nextest run --workspace --features relcal-app/custom-protocol -E 'binary(api) | binary(cli) | binary(hostile) | binary(notify)' 2>&1 | tail -n 2
  npm --prefix ui run -s test:browser | tail -n 1
  xvfb-run -a -s "-screen 0 1400x900x24" node tests/e2e/smoke.mjs | tail -n 1
  tests/notify/tray.sh | tail -n 1
done
