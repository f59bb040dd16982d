#!/usr/bin/env bash
# The .deb as a user gets it: built with the Tauri bundler (scripts/bundle.sh
# --debug, which reuses the suite's build), checked for what it declares and
# holds, installed with dpkg -i on this machine, the installed app started
# under Xvfb on a private session bus (its window opens, its tray appears,
# Quit in the tray ends it), and the installed relcal run. Removed at the end.
#
#   tests/package/install.sh          (make test-package)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
work="$(mktemp -d)"
sudo_cmd=()
# Never waits for a password: without root or password-less sudo it fails, saying so.
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo -n)
installed=""
cleanup() {
  [ -n "$installed" ] && "${sudo_cmd[@]}" dpkg -r relcal >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "package: $*" >&2; exit 1; }

# It installs and removes the package named relcal: never over one already there.
if dpkg-query -W -f='${Status}' relcal 2>/dev/null | grep -q "install ok"; then
  fail "a relcal package is installed on this machine; remove it (dpkg -r relcal) to run this test"
fi
rm -f target/debug/bundle/deb/*.deb target/debug/bundle/rpm/*.rpm
scripts/bundle.sh --debug >"$work/bundle.log" 2>&1 || { cat "$work/bundle.log" >&2; fail "scripts/bundle.sh --debug failed"; }
deb=$(ls target/debug/bundle/deb/*.deb)
rpm=$(ls target/debug/bundle/rpm/*.rpm)

# What it declares.
[ "$(dpkg-deb -f "$deb" Package)" = relcal ] || fail "the package is not named relcal"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1; do
  [[ ", $depends," == *", $d,"* ]] || fail "Depends lacks $d: $depends"
done
# What it holds: the app, the CLI beside it, icons and a desktop entry.
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in usr/bin/relcal-app usr/bin/relcal usr/share/applications/Relcal.desktop \
  usr/share/icons/hicolor/32x32/apps/relcal-app.png usr/share/icons/hicolor/128x128/apps/relcal-app.png; do
  grep -qx "$f" <<<"$contents" || fail "the .deb lacks /$f"
done
entry=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO usr/share/applications/Relcal.desktop)
for line in "Categories=Office;ProjectManagement;" "Exec=relcal-app" "Icon=relcal-app" "Name=Relcal" "Type=Application"; do
  grep -qxF "$line" <<<"$entry" || fail "the desktop entry lacks $line:
$entry"
done
# The .rpm is an RPM (its lead's magic number) of a real size.
[ "$(head -c 4 "$rpm" | od -An -tx1 | tr -d ' \n')" = edabeedb ] || fail "$rpm is not an RPM package"
[ "$(stat -c %s "$rpm")" -gt 1000000 ] || fail "$rpm is too small to hold the app"

# Installed on this machine.
installed=1
"${sudo_cmd[@]}" dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i failed"; }
dpkg-query -W -f='${Status}' relcal | grep -q "install ok installed" || fail "dpkg does not list relcal as installed"
[ "$(/usr/bin/relcal --version)" = "relcal $(dpkg-deb -f "$deb" Version)" ] || fail "the installed relcal says: $(/usr/bin/relcal --version)"
/usr/bin/relcal import "$root/assets/demo-plan.json" --db "$work/cal.db" >/dev/null || fail "the installed relcal cannot import"

# The installed app, started as the desktop entry starts it.
mkdir -p "$work/home"
cat >"$work/session.sh" <<INNER
set -euo pipefail
desk() { /usr/bin/python3 "$root/tests/desktop/desk.py" "\$@"; }
HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" RELCAL_DB="$work/cal.db" RELCAL_LOG=warn relcal-app >"$work/app.log" 2>&1 &
app=\$!
tray=null
for _ in \$(seq 1 60); do
  sleep 0.5
  tray=\$(desk tray)
  [ "\$tray" != null ] && break
done
echo "\$tray" >"$work/tray.json"
desk windows >"$work/windows.json"
desk tray-click "Quit Relcal" >/dev/null || true
for _ in \$(seq 1 40); do
  kill -0 \$app 2>/dev/null || { echo ended >"$work/ended"; break; }
  sleep 0.25
done
kill \$app 2>/dev/null || true
INNER
PATH="/usr/bin:$PATH" xvfb-run -a dbus-run-session -- bash "$work/session.sh" 2>/dev/null
grep -q "Quit Relcal" "$work/tray.json" || { cat "$work/app.log" >&2; fail "the installed app showed no tray"; }
grep -q '"shown": true' "$work/windows.json" || fail "the installed app opened no window: $(cat "$work/windows.json")"
[ -f "$work/ended" ] || fail "Quit in the tray did not end the installed app"
echo "ok - the .deb declares its dependencies, holds the app, the CLI, icons and a desktop entry; installed with dpkg -i, relcal-app starts and quits from its tray and relcal runs ($(basename "$deb"), $(basename "$rpm"))"
