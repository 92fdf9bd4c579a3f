/* The practical limit: N PathFailed signals from sd-bus (C) through the same dbus-daemon.
 * usage: sdbus-emitter ADDRESS N [paced|trivial]
 * paced: one signal per line read on stdin, flushed at once (the latency reference).
 * trivial: the body is the serial alone (t): what dbus-daemon routes at most, the bus's limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) { fprintf(stderr, "usage: %s ADDRESS N [paced|trivial]\n", argv[0]); return 2; }
    long n = atol(argv[2]);
    int paced = argc == 4 && strcmp(argv[3], "paced") == 0;
    int trivial = argc == 4 && strcmp(argv[3], "trivial") == 0;
    char line[16];
    sd_bus *bus = NULL;
    int r = sd_bus_new(&bus);
    if (r >= 0) r = sd_bus_set_address(bus, argv[1]);
    if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
    if (r >= 0) r = sd_bus_start(bus);
    if (r < 0) { fprintf(stderr, "connect: %d\n", r); return 1; }
    for (long i = 1; i <= n; i++) {
        if (paced && !fgets(line, sizeof line, stdin)) break;
        if (trivial)
            r = sd_bus_emit_signal(bus, "/org/kernel/linux/storage/multipath1/maps/bench",
                                   "org.kernel.linux.storage.multipath1.Map", "PathFailed", "t", (uint64_t)i);
        else
            r = sd_bus_emit_signal(bus, "/org/kernel/linux/storage/multipath1/maps/bench",
                                   "org.kernel.linux.storage.multipath1.Map", "PathFailed", "osuut",
                                   "/org/kernel/linux/storage/multipath1/paths/sdb", "8:16", 1u, (unsigned)i, (uint64_t)i);
        if (r < 0) { fprintf(stderr, "emit: %d\n", r); return 1; }
        /* Keep the outbound queue short, as a real emitter would. */
        if (paced || i % 256 == 0) sd_bus_flush(bus);
    }
    sd_bus_flush(bus);
    sd_bus_flush_close_unref(bus);
    return 0;
}
