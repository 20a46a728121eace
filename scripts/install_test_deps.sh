#!/usr/bin/env bash
# System packages the test suite drives for real: Debian's chromium (the browser test).
# Idempotent; skipped when already present. Needs root (CI and the dev machines are root).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and this is not root: the browser test will be skipped" >&2
  fi
fi
