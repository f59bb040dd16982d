# Relcal. Two entry points: `make run` (start the app) and `make test` (everything CI checks).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO_FEATURES := --features relcal-app/custom-protocol
NEXTEST := $(shell command -v cargo-nextest >/dev/null && echo "nextest run" || echo test)

.PHONY: run test setup setup-test ui app lint test-rust test-ui test-browser e2e test-notify test-keyring test-package bundle bindings

## Start the desktop app (installs missing system packages and npm packages first).
run: setup ui
	cargo run -p relcal-app $(CARGO_FEATURES) -- $(if $(DB),--db $(DB),)

## Run every check and test: format, lints, UI type check and unit tests, browser tests, Rust tests, e2e in the real window.
test: setup-test ui lint test-ui test-browser test-rust e2e test-notify test-keyring test-package

setup:
	scripts/setup.sh app

setup-test:
	scripts/setup.sh test

ui:
	npm --prefix ui run build

# The app embeds ui/dist, so it is built after the UI.
app: ui
	cargo build -p relcal-app $(CARGO_FEATURES)

lint: ui
	cargo fmt --all --check
	cargo clippy --workspace --all-targets $(CARGO_FEATURES) -- -D warnings
	npm --prefix ui run check
	npm --prefix ui run format:check

test-ui:
	npm --prefix ui test

# The UI alone in Chromium, IPC mocked (ui/tests/browser.mjs).
test-browser:
	npm --prefix ui run test:browser

# Includes the check that ui/src/lib/bindings.ts matches the Rust types.
test-rust: ui
	cargo $(NEXTEST) --workspace $(CARGO_FEATURES)

e2e: app
	cargo build -p relcal-cli -p relcal-server
	xvfb-run -a -s "-screen 0 1400x900x24" node tests/e2e/smoke.mjs
	xvfb-run -a -s "-screen 0 1400x900x24" node tests/e2e/background.mjs

# Real desktop notifications: relcal notify to dunst on a private session D-Bus,
# and the app's tray menu read over D-Bus.
test-notify: app
	cargo build -p relcal-cli
	tests/notify/delivery.sh
	tests/notify/tray.sh

# The token in a real OS keyring (gnome-keyring's Secret Service on a private session bus).
test-keyring:
	cargo build -p relcal-cli -p relcal-server
	tests/keyring/keyring.sh

# The .deb built by the Tauri bundler, installed with dpkg -i, the installed app and CLI run.
test-package: app
	tests/package/install.sh

## Build the Linux packages (.deb and .rpm, release build) into target/release/bundle/.
bundle: setup
	scripts/bundle.sh

## Regenerate the TypeScript bindings from the Rust types.
bindings: ui
	RELCAL_UPDATE_BINDINGS=1 cargo test -p relcal-app $(CARGO_FEATURES) --lib typescript_bindings_are_current
