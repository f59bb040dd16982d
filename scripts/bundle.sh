#!/usr/bin/env bash
# Builds Relcal's Linux packages with the Tauri bundler: a .deb and an .rpm
# holding the app (UI embedded), its icons and desktop entry, and the relcal
# CLI in /usr/bin beside it.
#   scripts/bundle.sh           release build: target/release/bundle/{deb,rpm}/
#   scripts/bundle.sh --debug   debug build, as the test suite's (reuses its build): target/debug/bundle/
# No AppImage: the bundler downloads linuxdeploy and its plugins while it
# builds one, and this project builds from package registries only.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
flags=()
if [ "${1:-}" = --debug ]; then
  profile=debug
  flags=(--debug)
fi
[ -x ui/node_modules/.bin/tauri ] || npm --prefix ui ci --no-audit --no-fund

# The CLI first: the packages take it from the same profile's folder.
if [ "$profile" = release ]; then cargo build -p relcal-cli --release; else cargo build -p relcal-cli; fi
cli="../target/$profile/relcal"
config=$(printf '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/relcal":"%s"}},"rpm":{"files":{"/usr/bin/relcal":"%s"}}}}}' "$cli" "$cli")

# From src-tauri: the config's paths (beforeBuildCommand, files) are relative to it.
cd src-tauri
../ui/node_modules/.bin/tauri build "${flags[@]}" --bundles deb,rpm --config "$config" --ci
ls -1 "../target/$profile/bundle/deb/"*.deb "../target/$profile/bundle/rpm/"*.rpm
