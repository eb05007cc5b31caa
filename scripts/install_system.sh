#!/usr/bin/env bash
# System packages the test suite uses beyond Python: Debian's Chromium (the web page's browser test,
# driven by Playwright with executablePath=/usr/bin/chromium) and PostgreSQL (the shared session store).
# Tests that need them skip with a reason when they are absent. Needs root (CI runs as root).
set -euo pipefail
if ! command -v apt-get >/dev/null; then echo "no apt-get: skipping system packages"; exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
NEED=()
[ -x /usr/bin/chromium ] || NEED+=(chromium)
command -v pg_ctlcluster >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || NEED+=(postgresql)
if [ ${#NEED[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${NEED[@]}" >/dev/null
fi
echo "system packages: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), postgresql $(ls /usr/lib/postgresql 2>/dev/null | tr '\n' ' ')"
