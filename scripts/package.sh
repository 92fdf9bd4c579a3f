#!/usr/bin/env bash
# Debian packages of this built tree (npm ci): OUT/multipath-dbus_<version>_<arch>.deb and
# OUT/multipath-dbus-cockpit_<version>_all.deb (OUT: dist-deb/). No network: debian/rules
# stages what the build made with scripts/install-system.sh. SOURCE_DATE_EPOCH is the
# commit's time (debian/changelog's date outside git), so two builds of one commit in one
# place are byte for byte the same.
#   npm run package [-- OUT]
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-dist-deb}")

# One version everywhere: `multipath-dbus --version` prints package.json's.
version=$(dpkg-parsechangelog -S Version)
npm_version=$(node -p "require('./package.json').version")
[ "$version" = "$npm_version" ] ||
	{ echo "$0: debian/changelog says $version, package.json $npm_version: make them the same" >&2; exit 1; }
[ -f dist/cli/main.js ] && [ -f build/Release/multipath_native.node ] && [ -f cockpit/dist/manifest.json ] ||
	{ echo "$0: build first: npm ci (dist/, build/Release or cockpit/dist is missing)" >&2; exit 1; }
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || dpkg-parsechangelog -S Timestamp)
fi
export SOURCE_DATE_EPOCH LC_ALL=C.UTF-8
dpkg-checkbuilddeps
mkdir -p "$OUT"
rm -f "$OUT"/multipath-dbus_*.deb "$OUT"/multipath-dbus-cockpit_*.deb
debian/rules clean >/dev/null
DEB_OUT=$OUT debian/rules binary >"$OUT/build.log" 2>&1 || { tail -n 30 "$OUT/build.log" >&2; exit 1; }
debian/rules clean >/dev/null
ls -1 "$OUT"/*.deb
