#!/usr/bin/env bash
# Install multipath-dbus as a system service: the program under $PREFIX/lib/multipath-dbus,
# the command in $PREFIX/bin, the D-Bus policy and activation file, the systemd unit, the
# polkit actions and (if absent) /etc/multipath-dbus.conf. DESTDIR stages into another root.
# It installs what the build made (dist/, the addon, the run-time node_modules) and needs no
# network: SAN hosts often have none. The unit and the activation file name $PREFIX/bin; the
# command names the node found now (or NODE=/path/to/node), not whichever PATH finds later.
# The unit goes to UNITDIR (/etc/systemd/system: the admin's; the Debian package, which
# stages with this script, puts it in /lib/systemd/system).
#   scripts/install-system.sh            install
#   scripts/install-system.sh --remove   remove (the config file stays; --purge removes it too)
set -euo pipefail
# What root runs is root's alone to change, whatever the installer's umask: 0755 and 0644.
umask 022
cd "$(dirname "$0")/.."
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}

refuse() { echo "$0: $1; nothing installed or removed" >&2; exit 2; }
# PREFIX and the node path are written into the unit, the activation file and the command's
# first line (through sed): letters, digits and . _ / + - only, absolute, no `..`.
plain_path() { # what value
  [[ $2 =~ ^/[A-Za-z0-9._/+-]*$ && ! $2 =~ (^|/)\.\.(/|$) ]] ||
    refuse "$1 must be a plain absolute path (letters, digits, . _ / + -; no ..), not $(printf %q "$2")"
}
plain_path PREFIX "$PREFIX"
LIB=$DESTDIR$PREFIX/lib/multipath-dbus
BIN=$DESTDIR$PREFIX/bin/multipath-dbus
POLICY=$DESTDIR/usr/share/dbus-1/system.d/org.kernel.linux.storage.multipath1.conf
ACTIVATION=$DESTDIR/usr/share/dbus-1/system-services/org.kernel.linux.storage.multipath1.service
UNITDIR=${UNITDIR:-/etc/systemd/system}
plain_path UNITDIR "$UNITDIR"
UNIT=$DESTDIR$UNITDIR/multipath-dbus.service
POLKIT=$DESTDIR/usr/share/polkit-1/actions/org.kernel.linux.storage.multipath1.policy
CONF=$DESTDIR/etc/multipath-dbus.conf
# journalctl -x explains the service's structured entries from this catalog.
CATALOG=$DESTDIR/usr/lib/systemd/catalog/multipath-dbus.catalog

# The Cockpit page: cockpit/dist (built by npm ci) is the package Cockpit finds in /usr/share/cockpit.
COCKPIT_PAGE=$DESTDIR/usr/share/cockpit/multipath-dbus
cockpit_page() {
  rm -rf "$COCKPIT_PAGE"
  [ "$1" = install ] || return 0
  [ -f cockpit/dist/manifest.json ] || { echo "build first: npm ci (cockpit/dist is missing)" >&2; exit 1; }
  mkdir -p "$COCKPIT_PAGE" && cp -r cockpit/dist/. "$COCKPIT_PAGE/"
}

reload() {
  [ -z "$DESTDIR" ] || return 0
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
  # dbus-daemon re-reads policy on its own; ask anyway so activation files are seen at once.
  busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null 2>&1 || true
  if command -v journalctl >/dev/null; then journalctl --update-catalog || true; fi
}

case "${1:-}" in
  --remove|--purge)
    if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then systemctl disable --now multipath-dbus.service 2>/dev/null || true; fi
    rm -rf "$LIB"
    rm -f "$BIN" "$POLICY" "$ACTIVATION" "$UNIT" "$POLKIT"
    rm -f "$CATALOG"
    cockpit_page remove
    reload
    if [ "$1" = --purge ]; then
      rm -f "$CONF"
      echo "multipath-dbus removed, including ${CONF#"$DESTDIR"}"
    else
      echo "multipath-dbus removed (kept ${CONF#"$DESTDIR"}; --purge removes it too)"
    fi
    exit 0
    ;;
  "") ;;
  *) echo "usage: $0 [--remove|--purge]" >&2; exit 2 ;;
esac

# The service runs as root: a node that another user could replace would run as root too.
root_only() { # path: it and every directory above it, as named and as resolved, writable by root alone
  local p uid mode
  for p in "$1" "$(readlink -f "$1")"; do
    while :; do
      read -r uid mode < <(stat -Lc '%u %a' "$p")
      [ "$uid" = 0 ] || return 1
      # In a sticky directory (/tmp) no one renames what is not theirs.
      if ((8#$mode & 8#022)) && ! { [ -d "$p" ] && ((8#$mode & 8#1000)); }; then return 1; fi
      [ "$p" = / ] && break
      p=$(dirname "$p")
    done
  done
}
NODE=${NODE:-$(command -v node || true)}
[ -n "$NODE" ] || refuse "node not found in PATH (or say NODE=/path/to/node)"
plain_path node "$NODE"
[ -x "$NODE" ] && [ -f "$NODE" ] || refuse "node $NODE is not an executable file"
root_only "$NODE" || refuse "node $NODE (or a directory above it) can be changed by a user other than root"

[ -f dist/cli/main.js ] && [ -f build/Release/multipath_native.node ] || { echo "build first: npm ci" >&2; exit 1; }
MODULES=$("$NODE" scripts/runtime-modules.js) || exit 1 # one file a line
rm -rf "$LIB"
mkdir -p "$LIB" "$(dirname "$BIN")" "$(dirname "$POLICY")" "$(dirname "$ACTIVATION")" "$(dirname "$UNIT")" "$(dirname "$POLKIT")" "$(dirname "$CONF")"
cp -r package.json bin dbus "$LIB/"
# dist/ without its source maps: they point into src/, which is not installed.
find dist -type f ! -name '*.map' -print0 | xargs -0 cp --parents -t "$LIB/"
sed -i "1s|^#!/usr/bin/env -S node |#!/usr/bin/env -S $NODE |" "$LIB/bin/multipath-dbus"
head -n 1 "$LIB/bin/multipath-dbus" | grep -q "^#!/usr/bin/env -S $NODE " || { echo "bin/multipath-dbus: unexpected first line" >&2; exit 1; }
mkdir -p "$LIB/build/Release" && cp build/Release/multipath_native.node "$LIB/build/Release/"
printf '%s\n' "$MODULES" | xargs -d '\n' cp --parents -t "$LIB/"
ln -sf "$PREFIX/lib/multipath-dbus/bin/multipath-dbus" "$BIN"
# The files in dbus/ name the default PREFIX's command; point them at this one.
at_prefix() { sed "s|/usr/local/bin/multipath-dbus|$PREFIX/bin/multipath-dbus|g" "$1"; }
install -m 0644 dbus/org.kernel.linux.storage.multipath1.conf "$POLICY"
at_prefix dbus/org.kernel.linux.storage.multipath1.service >"$ACTIVATION" && chmod 0644 "$ACTIVATION"
at_prefix dbus/multipath-dbus.service >"$UNIT" && chmod 0644 "$UNIT"
install -m 0644 dbus/org.kernel.linux.storage.multipath1.policy "$POLKIT"
install -D -m 0644 catalog/multipath-dbus.catalog "$CATALOG"
[ -e "$CONF" ] || install -m 0644 dbus/multipath-dbus.conf.example "$CONF"
cockpit_page install
reload
echo "multipath-dbus installed in ${LIB#"$DESTDIR"} (run by $NODE); edit ${CONF#"$DESTDIR"} (enable = yes), then: systemctl enable --now multipath-dbus"
