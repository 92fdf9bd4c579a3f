#!/bin/bash
# Host side, before the VM boots (a package build under TCG would take minutes): the .debs
# that scenarios saying "# vm-needs: debs" install. OUT/ gets this checkout's packages
# (npm run package); OUT/next/ the same tree one patch version later, packaged as the next
# release would be (a copy with package.json and debian/changelog bumped), to upgrade to.
#   bash test/vm/debs.sh OUT
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(realpath -m "$1")
# Both builds carry the commit's time, as npm run package does in the checkout.
SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct)
export SOURCE_DATE_EPOCH

bash "$REPO/scripts/package.sh" "$OUT" >/dev/null

copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
tar -C "$REPO" --exclude=./node_modules --exclude=./.git --exclude=./test/vm/out --exclude=./dist-deb -cf - . | tar -C "$copy" -xf -
ln -s "$REPO/node_modules" "$copy/node_modules"
version=$(node -p "require('$REPO/package.json').version")
next=$(node -p "'$version'.replace(/^(\d+\.\d+\.)(\d+)$/, (_, ab, c) => ab + (+c + 1))")
[ "$next" != "$version" ] || { echo "$0: cannot bump version $version" >&2; exit 1; }
sed -i "0,/\"version\": \"$version\"/s//\"version\": \"$next\"/" "$copy/package.json"
cd "$REPO"
{
	printf 'multipath-dbus (%s) unstable; urgency=medium\n\n  * The next release (test/vm/debs.sh), to upgrade to.\n\n -- %s  %s\n\n' \
		"$next" "$(dpkg-parsechangelog -S Maintainer)" "$(dpkg-parsechangelog -S Date)"
	cat debian/changelog
} >"$copy/debian/changelog"
bash "$copy/scripts/package.sh" "$OUT/next" >/dev/null
ls -1 "$OUT"/*.deb "$OUT"/next/*.deb
