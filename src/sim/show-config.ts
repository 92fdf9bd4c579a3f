// What the simulated multipathd answers to `show config`: the settings a tool shows, in
// multipathd's own layout (a real `show config` is ~1,100 lines of built-in hwtable too).
export const SIM_SHOW_CONFIG = `defaults {
	verbosity 2
	polling_interval 5
	path_selector "service-time 0"
	path_grouping_policy "failover"
	uid_attribute "ID_SERIAL"
	prio "const"
	features "0"
	path_checker "tur"
	alias_prefix "mpath"
	failback "manual"
	user_friendly_names "yes"
	find_multipaths "off"
	uxsock_timeout 4000
}
blacklist {
	devnode "!^(sd[a-z]|dasd[a-z]|nvme[0-9])"
	device {
		vendor "DGC"
		product "LUNZ"
	}
}
blacklist_exceptions {
	property "(SCSI_IDENT_|ID_WWN)"
}
devices {
}
overrides {
}
`;
