#!/usr/bin/env bash
# Installs what Relcal needs on Debian/Ubuntu, skipping whatever is already there.
#   scripts/setup.sh app    system libraries for building and running the app, and the UI's npm packages
#   scripts/setup.sh test   the above, plus Xvfb, WebKitWebDriver, tauri-driver and friends for the tests
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-app}"
app_packages=(
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libssl-dev pkg-config build-essential
)
test_packages=(xvfb xauth webkit2gtk-driver dbus-x11 dbus-bin dbus-daemon dunst imagemagick sqlite3 chromium postgresql gnome-keyring
  python3-xlib libglib2.0-bin xdotool)

packages=("${app_packages[@]}")
[ "$mode" = test ] && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "setup: Rust is missing; install it from https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup: Node.js 20+ and npm are missing" >&2; exit 1; }

# The UI's packages, exactly as locked.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  npm --prefix ui ci --no-audit --no-fund
fi

# The independent iCalendar parser the export is tested against (tests/ics/).
if [ "$mode" = test ] && ! python3 -c "import icalendar, dateutil" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check -r tests/ics/requirements.txt
fi

if [ "$mode" = test ] && ! command -v tauri-driver >/dev/null; then
  cargo install tauri-driver --locked --version 2.1.0
fi
