#!/usr/bin/env bash
# Install the two tools the browser and Postman tests need, when they are missing:
#   - newman (the Postman collection runner), from npm, pinned in package.json / package-lock.json,
#     into this repository's node_modules/ (`npm ci`, never a global install);
#   - Chromium, Debian's `chromium` package (`apt-get install`), driven headless by tests/e2e.
#
# Run by `make test` (through `make test-tools`). Idempotent: when both are present it only
# checks versions and returns at once.
#
# On CI (CI=true) a tool that cannot be installed is an error: the script exits non-zero so the
# run fails loudly. On a laptop without Node.js or root it prints how to enable the tests and
# exits 0; the tests in tests/e2e then skip with the same advice.
set -euo pipefail

cd "$(dirname "$0")/.."

on_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

say() { printf 'test-tools: %s\n' "$*"; }

missing=()

# The version package.json pins, read without jq (which may not be installed).
pinned_newman_version() {
    sed -n 's/.*"newman": *"\([^"]*\)".*/\1/p' package.json | head -n 1
}

install_newman() {
    local pinned installed=""
    pinned="$(pinned_newman_version)"
    if [[ -x node_modules/.bin/newman ]] && command -v node >/dev/null 2>&1; then
        installed="$(node_modules/.bin/newman --version 2>/dev/null || true)"
    fi
    if [[ -n "$pinned" && "$installed" == "$pinned" ]]; then
        say "newman $installed already installed (node_modules/.bin/newman)"
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
        say "Node.js/npm not found: cannot install newman."
        say "  To enable the Postman test: install Node.js 18+ with npm (https://nodejs.org or"
        say "  'sudo apt-get install nodejs npm'), then run 'make test-tools' (or 'npm ci')."
        missing+=("newman")
        return 0
    fi
    say "installing newman $pinned with 'npm ci' into node_modules/ ..."
    # --ignore-scripts: newman needs no install scripts, and none should run on a learner's laptop.
    if ! npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; then
        say "'npm ci' failed (no network to the npm registry?)."
        missing+=("newman")
        return 0
    fi
    say "newman $(node_modules/.bin/newman --version) installed"
}

find_chromium() {
    local candidate
    if [[ -n "${CHROMIUM:-}" && -x "${CHROMIUM}" ]]; then
        echo "$CHROMIUM"
        return 0
    fi
    for candidate in chromium chromium-browser google-chrome-stable google-chrome; do
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

install_chromium() {
    local found sudo=()
    if found="$(find_chromium)"; then
        say "Chromium already installed ($found)"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "Chromium not found and this is not a Debian/Ubuntu system (no apt-get)."
        say "  To enable the browser test: install Chromium or Chrome and put it on PATH,"
        say "  or set CHROMIUM=/path/to/chrome."
        missing+=("chromium")
        return 0
    fi
    if [[ "$(id -u)" != "0" ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            say "Chromium not found, and installing it needs root."
            say "  To enable the browser test: sudo apt-get update && sudo apt-get install -y chromium"
            say "  (or set CHROMIUM=/path/to/chrome), then run 'make test' again."
            missing+=("chromium")
            return 0
        fi
    fi
    say "installing Debian's chromium package (apt-get) ..."
    # The package lists on a fresh machine are empty or stale: one update before the install.
    if "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
        say "Chromium installed ($(find_chromium))"
    else
        say "apt-get could not install chromium."
        missing+=("chromium")
    fi
}

install_newman
install_chromium

if ((${#missing[@]})); then
    if on_ci; then
        say "ERROR: CI=true and these test tools could not be installed: ${missing[*]}" >&2
        exit 1
    fi
    say "continuing without: ${missing[*]} (their tests in tests/e2e will skip and say why)"
fi
exit 0
