#!/bin/bash
# vm-boot: systemd
# vm-budget: 1200
# vm-needs: debs
# The Debian packages as an administrator of a SAN host uses them, systemd as PID 1 and no
# network: apt-get install starts and enables nothing; enable = yes and systemctl enable
# --now serve, and a real path failure reaches a subscriber; after a stop D-Bus activation
# starts it; an upgrade keeps the edited conffile and brings the running service back as
# the new version; the Cockpit page's package shows in Cockpit's menu; remove leaves a
# name nothing can activate and no unit, purge the conffile too. run.sh builds the
# packages on the host (test/vm/debs.sh): /vmtest/debs and, one version later, debs/next.
# shellcheck source=../lib.sh
. "${VM_LIB:?run me through test/vm/run.sh}"

S=systemd-package
B=$VM_SERVICE_NAME
R=/org/kernel/linux/storage/multipath1
U=multipath-dbus.service
DEBS=/vmtest/debs
CONF=$VM_SERVICE_CONF
# One of the journal catalog's message ids (catalog/multipath-dbus.catalog).
CATALOG_ID=$(sed -n 's/^-- \([0-9a-f]\{32\}\).*/\1/p' "$VM_REPO/catalog/multipath-dbus.catalog" | head -n 1)
export DEBIAN_FRONTEND=noninteractive

apt_get() { # ARGS...: apt-get -y -q ARGS; on failure, prints its last lines
	local out
	out=$(apt-get -y -q "$@" 2>&1) && return 0
	echo "$out" | tail -n 5 | tr '\n' '|'
	return 1
}
status_of() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null; }
has_catalog() { journalctl --list-catalog --no-pager 2>/dev/null | grep -q "^$CATALOG_ID "; }
call_health() { busctl --system --timeout=60 get-property "$B" "$R" "$B.Manager" Health 2>&1; }

deb1=$(ls "$DEBS"/multipath-dbus_*.deb) && next=$(ls "$DEBS"/next/multipath-dbus_*.deb) || {
	vm_fail "$S.setup" "no packages in $DEBS (run.sh builds them with test/vm/debs.sh)"
	exit 1
}
V1=$(dpkg-deb -f "$deb1" Version) V2=$(dpkg-deb -f "$next" Version)
vm_multipath_up 2 2 add_host=2 vpd_use_hostno=0 max_luns=2 || {
	vm_fail "$S.setup" "multipathd.service did not build 2 maps x 2 paths"
	exit 1
}

# 1. Install: nothing runs, nothing is enabled, nothing owns the name.
t0=$EPOCHREALTIME
if ! out=$(apt_get install "$deb1"); then
	vm_fail "$S.install" "apt-get install $deb1: $out (network interfaces: $(ls /sys/class/net | tr '\n' ' '))"
	exit 1
fi
vm_metric package_install "$(vm_elapsed_s "$t0")" s
state="$(systemctl is-enabled "$U" 2>&1) $(systemctl is-active "$U" 2>&1)"
if [ "$state" = "disabled inactive" ] && ! vm_name_owned && grep -q '^enable = no$' "$CONF" &&
	[ "$(multipath-dbus --version)" = "$V1" ]; then
	vm_pass "$S.install" "apt-get install $(basename "$deb1") with no network: $U $state, $B not owned, $CONF says enable = no, multipath-dbus --version $V1"
else
	vm_fail "$S.install" "$U: $state; owned: $(vm_name_owned && echo yes || echo no); $(grep '^enable' "$CONF"); --version $(multipath-dbus --version 2>&1)"
fi
# The maintainer scripts and dpkg's triggers: systemd knows the unit, journald the catalog.
if systemctl cat "$U" >/dev/null 2>&1 && has_catalog; then
	vm_pass "$S.triggers" "systemd loaded $U; journalctl --list-catalog has $CATALOG_ID"
else
	vm_fail "$S.triggers" "systemctl cat $U: $(systemctl cat "$U" 2>&1 | head -n 1); catalog $CATALOG_ID: $(has_catalog && echo listed || echo missing)"
fi
# Everything dpkg installed is in the places a package of this service may use.
allowed='^/(etc/multipath-dbus\.conf|usr/bin/multipath-dbus|usr/lib/multipath-dbus(/.*)?|lib/systemd/system/multipath-dbus\.service|usr/lib/systemd/catalog/multipath-dbus\.catalog|usr/share/dbus-1/(system\.d|system-services)/org\.kernel\.linux\.storage\.multipath1\.(conf|service)|usr/share/polkit-1/actions/org\.kernel\.linux\.storage\.multipath1\.policy|usr/share/doc/multipath-dbus(/.*)?|usr/share/lintian/overrides/multipath-dbus)$'
# (Directories are skipped: the files in them are listed too; /lib is a link to usr/lib.)
outside=$(dpkg -L multipath-dbus | while read -r f; do [ -d "$f" ] || [[ $f =~ $allowed ]] || echo "$f"; done)
if [ -z "$outside" ]; then
	vm_pass "$S.files" "dpkg -L multipath-dbus: $(dpkg -L multipath-dbus | wc -l) entries, none outside the expected directories, none in /usr/local"
else
	vm_fail "$S.files" "outside the expected directories: $(echo "$outside" | head -n 5 | tr '\n' ' ')"
fi

# 2. Enabled by the admin: the name is owned and a real path failure reaches a subscriber.
sed -i 's/^enable = no$/enable = yes/' "$CONF"
echo '# edited by the admin' >>"$CONF"
t0=$EPOCHREALTIME
if systemctl enable --now "$U" >/dev/null 2>&1 && vm_wait 60 vm_name_owned; then
	vm_pass "$S.enable" "enable = yes, systemctl enable --now: $B owned in $(vm_elapsed_s "$t0") s, $U $(systemctl is-enabled "$U")"
else
	vm_fail "$S.enable" "$(systemctl status --no-pager "$U" 2>&1 | tail -n 8 | tr '\n' '|')"
	exit 1
fi
SIG=$(vm_watch_signals)
SDA=$(vm_dev_t sda)
n=$(vm_lines "$SIG")
vm_mpd "fail path sda" >/dev/null
if line=$(vm_wait_line "$SIG" "Map.PathFailed \(objectpath '$R/paths/sda', '$SDA', uint32 1, " 20 "$n"); then
	vm_pass "$S.path-failed" "multipathd fail path sda: ${line#* }"
else
	vm_fail "$S.path-failed" "no PathFailed for sda; signals: $(tail -n 3 "$SIG" | tr '\n' '|')"
fi
vm_mpd "reinstate path sda" >/dev/null
vm_wait_line "$SIG" "Map.PathReinstated \(objectpath '$R/paths/sda'" 20 "$n" >/dev/null

# 3. Stopped, the first call starts it again through D-Bus activation.
systemctl stop "$U"
t0=$EPOCHREALTIME
if vm_name_owned; then
	vm_fail "$S.activation" "$B still owned after systemctl stop"
elif out=$(call_health) && [ "$out" = 's "optimal"' ] && [ "$(systemctl is-active "$U")" = active ]; then
	vm_pass "$S.activation" "after systemctl stop, the first busctl call answered $out in $(vm_elapsed_s "$t0") s; $U active"
else
	vm_fail "$S.activation" "busctl: $out; $U $(systemctl is-active "$U")"
fi

# 4. Upgrade to the next build while it runs: the edited conffile stays, the service comes
# back as the new version.
pid=$(vm_unit_pid "$U")
t0=$EPOCHREALTIME
if ! out=$(apt_get install "$next"); then
	vm_fail "$S.upgrade" "apt-get install $next: $out"
else
	vm_metric package_upgrade "$(vm_elapsed_s "$t0")" s
	vm_wait 60 vm_name_owned
	now=$(vm_unit_pid "$U")
	version=$(busctl --system get-property "$B" "$R" "$B.Manager" Version 2>&1)
	if [ "$(systemctl is-active "$U")" = active ] && [ -n "$now" ] && [ "$now" != "$pid" ] && [ "$version" = "s \"$V2\"" ] &&
		grep -q '^enable = yes$' "$CONF" && grep -q '^# edited by the admin$' "$CONF" && [ "$(systemctl is-enabled "$U")" = enabled ]; then
		vm_pass "$S.upgrade" "$V1 -> $V2 while running: restarted (pid $pid -> $now), Manager.Version $version, $CONF keeps the admin's edits, still enabled"
	else
		vm_fail "$S.upgrade" "$U $(systemctl is-active "$U") pid $pid -> ${now:-none}; Version $version; conf: $(grep -c -e '^enable = yes$' -e '^# edited by the admin$' "$CONF")/2 edits kept; $(systemctl is-enabled "$U")"
	fi
fi

# 5. The Cockpit page's package beside it: Cockpit's menu lists the page.
t0=$EPOCHREALTIME
if ! out=$(apt_get install "$(ls "$DEBS"/next/multipath-dbus-cockpit_*.deb)"); then
	vm_fail "$S.cockpit" "apt-get install multipath-dbus-cockpit: $out"
elif vm_metric package_install_cockpit "$(vm_elapsed_s "$t0")" s && line=$(cockpit-bridge --packages 2>&1 | grep -E '^multipath-dbus +Multipath +/usr/share/cockpit/multipath-dbus$'); then
	vm_pass "$S.cockpit" "cockpit-bridge --packages: $(echo "$line" | tr -s ' ')"
else
	vm_fail "$S.cockpit" "not in cockpit-bridge --packages: $(cockpit-bridge --packages 2>&1 | tr -s ' ' | tr '\n' '|')"
fi

# 6. Remove: stopped, no unit, nothing can activate the name; the conffile stays.
t0=$EPOCHREALTIME
if ! out=$(apt_get remove multipath-dbus-cockpit multipath-dbus); then
	vm_fail "$S.remove" "apt-get remove: $out"
else
	vm_metric package_remove "$(vm_elapsed_s "$t0")" s
	out=$(call_health)
	if ! vm_name_owned && [ "$(systemctl is-active "$U")" != active ] && ! systemctl cat "$U" >/dev/null 2>&1 &&
		[ ! -e /lib/systemd/system/$U ] && [[ $out == *"not activatable"* || $out == *"ServiceUnknown"* || $out == *"not provided"* ]] &&
		[ -f "$CONF" ] && [ "$(status_of multipath-dbus)" = "deinstall ok config-files" ] && [ ! -e /usr/share/cockpit/multipath-dbus ] && ! has_catalog; then
		vm_pass "$S.remove" "apt-get remove: $U stopped and gone, a call now gets: $out; $CONF kept (dpkg: $(status_of multipath-dbus)); page and catalog gone"
	else
		vm_fail "$S.remove" "owned: $(vm_name_owned && echo yes || echo no); $U $(systemctl is-active "$U"); unit: $(systemctl cat "$U" 2>&1 | head -n 1); busctl: $out; conf: $(ls "$CONF" 2>&1); dpkg: $(status_of multipath-dbus); catalog: $(has_catalog && echo listed || echo gone)"
	fi
fi

# 7. Purge: the conffile and the enablement go too; nothing of the package is left.
t0=$EPOCHREALTIME
if ! out=$(apt_get purge multipath-dbus); then
	vm_fail "$S.purge" "apt-get purge: $out"
else
	vm_metric package_purge "$(vm_elapsed_s "$t0")" s
	# Every file and link the two packages shipped, their own directories (shared ones like
	# /usr/lib stay), the enablement links and their record. (A find over /usr would cross
	# 9p file by file for minutes.)
	left=$(
		(dpkg-deb -c "$next" && dpkg-deb -c "$(ls "$DEBS"/next/multipath-dbus-cockpit_*.deb)") | awk '{ print substr($6, 2) }' |
			while read -r f; do
				if [ ! -d "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then echo "$f"; fi
			done
		ls -d /usr/lib/multipath-dbus /usr/share/doc/multipath-dbus* /usr/share/cockpit/multipath-dbus 2>/dev/null
		find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled -name '*multipath-dbus*' 2>/dev/null
	)
	if [ ! -e "$CONF" ] && [ -z "$left" ] && [ -z "$(status_of multipath-dbus | grep -v not-installed)" ]; then
		vm_pass "$S.purge" "apt-get purge: $CONF gone, no file, link or state of the package left"
	else
		vm_fail "$S.purge" "conf: $(ls "$CONF" 2>&1); left: $(echo "$left" | head -n 5 | tr '\n' ' '); dpkg: $(status_of multipath-dbus)"
	fi
fi
