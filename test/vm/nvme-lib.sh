# NVMe over TCP on the guest's loopback, for scenarios (sourced after lib.sh; bash): an NVMe
# target (nvmet) exporting one null_blk namespace through two ports, each port reporting its
# own ANA state for the namespace's ANA group, and the host (nvme-cli, native multipath)
# connected through both: one head nvme0n1, paths nvme0c0n1 (port 1) and nvme0c1n1 (port 2).
# vm_teardown knows nothing of NVMe: a scenario calls nvme_down on exit (trap).

NVME_NQN=nqn.2014-08.org.kernel:multipath-dbus-vmtest
NVME_CFS=/sys/kernel/config/nvmet
NVME_GROUP=2 # the namespace's ANA group: not the default 1, so ana_grpid is really read

nvme_port_ana() { # port state: the ANA state port N reports for the namespace's group
	printf '%s' "$2" >"$NVME_CFS/ports/$1/ana_groups/$NVME_GROUP/ana_state"
}

nvme_port_link() { # port: export the subsystem through port N (its controllers can connect)
	ln -s "$NVME_CFS/subsystems/$NVME_NQN" "$NVME_CFS/ports/$1/subsystems/$NVME_NQN"
}

nvme_port_unlink() { # port: stop exporting through port N: nvmet deletes its controllers and,
	# the port having no subsystem left, stops listening (the host's reconnects fail)
	rm "$NVME_CFS/ports/$1/subsystems/$NVME_NQN"
}

nvme_target_up() { # state1 state2: the target, port N on 127.0.0.1:441N reporting stateN
	vm_modprobe nvmet nvmet-tcp nvme-tcp null_blk || return 1
	ip link set lo up || return 1
	mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config || return 1
	vm_wait 10 test -b /dev/nullb0 || { vm_log "no /dev/nullb0 after modprobe null_blk"; return 1; }
	local s=$NVME_CFS/subsystems/$NVME_NQN port state
	mkdir "$s" && echo 1 >"$s/attr_allow_any_host" || return 1
	mkdir "$s/namespaces/1" || return 1
	printf '%s' /dev/nullb0 >"$s/namespaces/1/device_path" &&
		echo "$NVME_GROUP" >"$s/namespaces/1/ana_grpid" &&
		echo 1 >"$s/namespaces/1/enable" || return 1
	for port in 1 2; do
		state=${!port}
		mkdir "$NVME_CFS/ports/$port" || return 1
		echo tcp >"$NVME_CFS/ports/$port/addr_trtype"
		echo ipv4 >"$NVME_CFS/ports/$port/addr_adrfam"
		echo 127.0.0.1 >"$NVME_CFS/ports/$port/addr_traddr"
		echo "441$port" >"$NVME_CFS/ports/$port/addr_trsvcid"
		# A new group starts inaccessible on every port (nvmet_ports_make): set it before linking.
		mkdir "$NVME_CFS/ports/$port/ana_groups/$NVME_GROUP" || return 1
		nvme_port_ana "$port" "$state" && nvme_port_link "$port" || return 1
	done
	vm_log "nvmet: $NVME_NQN on 127.0.0.1:4411 ($1) and :4412 ($2), ANA group $NVME_GROUP"
}

nvme_connect_both() { # the host connects through both ports; waits for the two paths
	local port
	for port in 1 2; do
		nvme connect -t tcp -a 127.0.0.1 -s "441$port" -n "$NVME_NQN" >&2 || return 1
	done
	vm_wait 30 nvme_paths_present 2
}

nvme_paths_present() { # count: that many path devices nvmeXcYnZ under the host's controllers
	local p n=0
	for p in /sys/class/nvme/nvme*/nvme*c*n*; do [ -e "$p" ] && n=$((n + 1)); done
	[ "$n" = "$1" ]
}

nvme_sysfs_dump() { # the NVMe part of /sys, as the fixture test/fixtures/kernel-6.1/nvme-sysfs.txt
	# records it: "link REL TARGET" (readlink) and "file REL VALUE" lines, REL under /sys; every
	# attribute the reader reads, and the links it follows
	local d e real
	nvme_dump_files /sys/module/nvme_core/parameters multipath
	for d in /sys/class/nvme-subsystem/nvme-subsys*; do
		[ -L "$d" ] || continue
		echo "link ${d#/sys/} $(readlink "$d")"
		real=$(readlink -f "$d")
		nvme_dump_files "$real" subsysnqn iopolicy model serial firmware_rev
		for e in "$real"/nvme*; do
			if [ -L "$e" ]; then
				echo "link ${e#/sys/} $(readlink "$e")" # a controller of the subsystem
			elif [ -d "$e" ]; then
				nvme_dump_files "$e" nsid wwid nguid uuid size dev # a head
			fi
		done
	done
	for d in /sys/class/nvme/nvme*; do
		[ -L "$d" ] || continue
		echo "link ${d#/sys/} $(readlink "$d")"
		real=$(readlink -f "$d")
		nvme_dump_files "$real" state transport address cntlid subsysnqn
		for e in "$real"/nvme*c*n*; do
			[ -d "$e" ] && nvme_dump_files "$e" nsid wwid nguid uuid size dev ana_state ana_grpid
		done
	done
}

nvme_dump_files() { # dir attr...: "file REL VALUE" for each attribute present
	local a
	for a in "${@:2}"; do
		[ -f "$1/$a" ] && echo "file ${1#/sys/}/$a $(head -c 300 "$1/$a")"
	done
}

nvme_down() { # disconnect the host, dismantle the target, unload the modules
	local port
	nvme disconnect -n "$NVME_NQN" >/dev/null 2>&1
	for port in 1 2; do
		[ -d "$NVME_CFS/ports/$port" ] || continue
		rm -f "$NVME_CFS/ports/$port/subsystems/$NVME_NQN"
		rmdir "$NVME_CFS/ports/$port/ana_groups/$NVME_GROUP" 2>/dev/null
		rmdir "$NVME_CFS/ports/$port"
	done
	if [ -d "$NVME_CFS/subsystems/$NVME_NQN" ]; then
		echo 0 >"$NVME_CFS/subsystems/$NVME_NQN/namespaces/1/enable" 2>/dev/null
		rmdir "$NVME_CFS/subsystems/$NVME_NQN/namespaces/1" "$NVME_CFS/subsystems/$NVME_NQN"
	fi
	modprobe -r nvme-tcp nvmet-tcp nvmet null_blk 2>/dev/null || vm_log "nvme_down: modules still in use"
}
