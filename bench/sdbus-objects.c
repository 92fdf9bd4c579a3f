/* The reference for object reads: sd-bus (C) serving the same objects, interfaces and
 * property values as our service, under an ObjectManager (sd_bus_add_object_manager).
 * The objects come from a description the benchmark writes from our own GetManagedObjects,
 * so both servers answer the same question with the same data.
 *
 * usage: sdbus-objects ADDRESS FILE MANAGER_PATH BUS_NAME
 * FILE, one record per line, fields separated by TAB:
 *   O <object path>                 starts an object
 *   I <interface>                   starts an interface of it
 *   P <name> <signature> <value>    a property: s, o, b (0/1), u, i, t as text; ao as paths
 *                                   separated by 0x1f; a(ss) as pairs separated by 0x1f,
 *                                   the two halves by 0x1e
 * Owns BUS_NAME once everything is registered, says so on stdout ("READY"), then serves
 * until stdin closes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

struct value { char *sig; char *text; };

struct iface {
    char *path, *name;
    size_t n;
    struct value *values;
    char **names;
};

static int get_prop(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
    (void) bus; (void) path; (void) interface; (void) property; (void) error;
    const struct value *v = userdata;
    const char *s = v->sig;
    if (!strcmp(s, "s") || !strcmp(s, "o")) return sd_bus_message_append_basic(reply, s[0], v->text);
    if (!strcmp(s, "b")) { int b = v->text[0] == '1'; return sd_bus_message_append_basic(reply, 'b', &b); }
    if (!strcmp(s, "u")) { uint32_t u = strtoul(v->text, NULL, 10); return sd_bus_message_append_basic(reply, 'u', &u); }
    if (!strcmp(s, "i")) { int32_t i = strtol(v->text, NULL, 10); return sd_bus_message_append_basic(reply, 'i', &i); }
    if (!strcmp(s, "t")) { uint64_t t = strtoull(v->text, NULL, 10); return sd_bus_message_append_basic(reply, 't', &t); }
    int r;
    if (!strcmp(s, "ao") || !strcmp(s, "a(ss)")) {
        int pairs = s[1] == '(';
        r = sd_bus_message_open_container(reply, 'a', pairs ? "(ss)" : "o");
        if (r < 0) return r;
        char *copy = strdup(v->text), *save = NULL;
        for (char *e = strtok_r(copy, "\x1f", &save); e; e = strtok_r(NULL, "\x1f", &save)) {
            if (pairs) {
                char *half = strchr(e, '\x1e');
                if (half) *half++ = 0; else half = "";
                r = sd_bus_message_append(reply, "(ss)", e, half);
            } else {
                r = sd_bus_message_append_basic(reply, 'o', e);
            }
            if (r < 0) break;
        }
        free(copy);
        return r < 0 ? r : sd_bus_message_close_container(reply);
    }
    return -EINVAL;
}

static struct iface *ifaces;
static size_t n_ifaces, cap_ifaces;

static void add_iface(const char *path, const char *name) {
    if (n_ifaces == cap_ifaces) ifaces = realloc(ifaces, (cap_ifaces = cap_ifaces ? cap_ifaces * 2 : 1024) * sizeof *ifaces);
    ifaces[n_ifaces++] = (struct iface) { .path = strdup(path), .name = strdup(name) };
}

static void add_prop(char *name, char *sig, char *text) {
    struct iface *f = &ifaces[n_ifaces - 1];
    f->values = realloc(f->values, (f->n + 1) * sizeof *f->values);
    f->names = realloc(f->names, (f->n + 1) * sizeof *f->names);
    f->values[f->n] = (struct value) { .sig = strdup(sig), .text = strdup(text) };
    f->names[f->n] = strdup(name);
    f->n++;
}

/* One vtable per interface shape (the first object's), shared by every object of it, as a
 * hand-written server would declare it once. */
static const sd_bus_vtable *vtable_for(const struct iface *f) {
    static struct { char *name; sd_bus_vtable *vt; } seen[16];
    static size_t n_seen;
    for (size_t i = 0; i < n_seen; i++) if (!strcmp(seen[i].name, f->name)) return seen[i].vt;
    sd_bus_vtable *vt = calloc(f->n + 2, sizeof *vt);
    vt[0] = (sd_bus_vtable) SD_BUS_VTABLE_START(0);
    for (size_t i = 0; i < f->n; i++)
        vt[i + 1] = (sd_bus_vtable) SD_BUS_PROPERTY(f->names[i], f->values[i].sig, get_prop, i * sizeof(struct value), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE);
    vt[f->n + 1] = (sd_bus_vtable) SD_BUS_VTABLE_END;
    seen[n_seen].name = f->name;
    seen[n_seen++].vt = vt;
    return vt;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s ADDRESS FILE MANAGER_PATH BUS_NAME\n", argv[0]); return 2; }
    FILE *in = fopen(argv[2], "r");
    if (!in) { perror(argv[2]); return 1; }
    char *line = NULL, path[4096] = "";
    size_t len = 0;
    while (getline(&line, &len, in) > 0) {
        line[strcspn(line, "\n")] = 0;
        char *save = NULL, *kind = strtok_r(line, "\t", &save);
        if (!kind) continue;
        char *a = strtok_r(NULL, "\t", &save), *b = strtok_r(NULL, "\t", &save), *c = strtok_r(NULL, "", &save);
        if (!strcmp(kind, "O") && a) snprintf(path, sizeof path, "%s", a);
        else if (!strcmp(kind, "I") && a) add_iface(path, a);
        else if (!strcmp(kind, "P") && a && b && n_ifaces) add_prop(a, b, c ? c : "");
    }
    fclose(in);

    sd_bus *bus = NULL;
    int r = sd_bus_new(&bus);
    if (r >= 0) r = sd_bus_set_address(bus, argv[1]);
    if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
    if (r >= 0) r = sd_bus_start(bus);
    if (r < 0) { fprintf(stderr, "connect: %s\n", strerror(-r)); return 1; }
    r = sd_bus_add_object_manager(bus, NULL, argv[3]);
    for (size_t i = 0; r >= 0 && i < n_ifaces; i++)
        r = sd_bus_add_object_vtable(bus, NULL, ifaces[i].path, ifaces[i].name, vtable_for(&ifaces[i]), ifaces[i].values);
    if (r < 0) { fprintf(stderr, "register: %s\n", strerror(-r)); return 1; }
    r = sd_bus_request_name(bus, argv[4], 0);
    if (r < 0) { fprintf(stderr, "own %s: %s\n", argv[4], strerror(-r)); return 1; }
    printf("READY\n");
    fflush(stdout);

    for (;;) {
        r = sd_bus_process(bus, NULL);
        if (r < 0) { fprintf(stderr, "process: %s\n", strerror(-r)); return 1; }
        if (r > 0) continue;
        struct pollfd fds[2] = { { .fd = sd_bus_get_fd(bus), .events = sd_bus_get_events(bus) }, { .fd = 0, .events = POLLIN } };
        if (poll(fds, 2, -1) < 0) return 1;
        if (fds[1].revents) { char buf[64]; if (read(0, buf, sizeof buf) <= 0) break; }
    }
    sd_bus_flush_close_unref(bus);
    return 0;
}
