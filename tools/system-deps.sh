#!/usr/bin/env bash
# Install the Debian packages the test suite needs, if missing (idempotent).
# Called by `make test` (and so by .ci/run). Add a package here, with a comment saying why.
set -euo pipefail

packages=(
    # (areas add their system packages here)
    chromium            # web: headless browser for the Playwright browser tests (never downloaded)
    poppler-utils       # web/report: pdftotext reads the generated PDF report in tests
    libpango-1.0-0      # report: WeasyPrint text layout
    libpangoft2-1.0-0   # report: WeasyPrint font handling
    fonts-dejavu-core   # report: a font with the glyphs the report needs (², µ, ≤)
    postgresql          # store: tools/test-postgres.sh runs the store tests on a throwaway server
)

missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "       install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
