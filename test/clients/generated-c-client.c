/*
 * A client built from nothing but dbus/org.kernel.linux.storage.multipath1.xml and
 * gdbus-codegen (--c-namespace Mpd --c-generate-object-manager), as a C developer would
 * write one. Usage: generated-c-client BUS-ADDRESS
 *
 * 1. Reads every property of every object through the generated object manager client and
 *    the generated proxies' GObject properties (one per property of the XML, named by it):
 *      PROP <object> <interface> <property> <value as JSON>
 * 2. Connects the generated "path-failed" / "path-reinstated" handlers of every map, says
 *      SUBSCRIBED
 *    and prints each signal:  SIGNAL <map> <member> <path> <dev_t> <valid_paths> <serial>
 * 3. Once a path has failed and come back (the test's doing), fails it with the generated
 *    mpd_path_call_fail_sync and reinstates it with mpd_path_call_reinstate_sync, and after
 *    each prints what the generated typed getter then reads:
 *      EFFECT <path> DmState <state>
 * Exits 0 after that, 1 on any error or if it has not got there within 30 s.
 */
#include <stdio.h>
#include <string.h>
#include "mpd-generated.h"

#define BUS_NAME "org.kernel.linux.storage.multipath1"
#define ROOT "/org/kernel/linux/storage/multipath1"

static GMainLoop *loop;
static GDBusObjectManager *manager;
static int status = 1;
/* The path the test failed and reinstated: the one this client then manages. */
static char *failed_by_test;
static gboolean managing;

static void json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      g_string_append_printf (out, "\\%c", *s);
    else if ((guchar) *s < 0x20)
      g_string_append_printf (out, "\\u%04x", *s);
    else
      g_string_append_c (out, *s);
  }
  g_string_append_c (out, '"');
}

/* The containers the XML uses (a(ss)) as JSON arrays. */
static void json_variant (GString *out, GVariant *v)
{
  if (g_variant_is_container (v)) {
    g_string_append_c (out, '[');
    for (gsize i = 0; i < g_variant_n_children (v); i++) {
      g_autoptr (GVariant) child = g_variant_get_child_value (v, i);
      if (i) g_string_append_c (out, ',');
      json_variant (out, child);
    }
    g_string_append_c (out, ']');
  } else if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING)) {
    json_string (out, g_variant_get_string (v, NULL));
  } else {
    g_printerr ("unexpected type %s in a variant property\n", g_variant_get_type_string (v));
    exit (1);
  }
}

/* A generated proxy's GObject property as JSON; the GValue types gdbus-codegen maps D-Bus types to. */
static void json_value (GString *out, const GValue *value)
{
  GType t = G_VALUE_TYPE (value);
  if (t == G_TYPE_STRING) json_string (out, g_value_get_string (value) ? g_value_get_string (value) : "");
  else if (t == G_TYPE_BOOLEAN) g_string_append (out, g_value_get_boolean (value) ? "true" : "false");
  else if (t == G_TYPE_UINT) g_string_append_printf (out, "%u", g_value_get_uint (value));
  else if (t == G_TYPE_INT) g_string_append_printf (out, "%d", g_value_get_int (value));
  else if (t == G_TYPE_UINT64) g_string_append_printf (out, "%" G_GUINT64_FORMAT, g_value_get_uint64 (value));
  else if (t == G_TYPE_STRV) {
    const char *const *v = g_value_get_boxed (value);
    g_string_append_c (out, '[');
    for (gsize i = 0; v && v[i]; i++) {
      if (i) g_string_append_c (out, ',');
      json_string (out, v[i]);
    }
    g_string_append_c (out, ']');
  } else if (t == G_TYPE_VARIANT && g_value_get_variant (value)) json_variant (out, g_value_get_variant (value));
  else {
    g_printerr ("unexpected GValue type %s\n", g_type_name (t));
    exit (1);
  }
}

static void print_properties (GDBusObject *object, GDBusProxy *proxy)
{
  guint n;
  g_autofree GParamSpec **specs = g_object_class_list_properties (G_OBJECT_GET_CLASS (proxy), &n);
  for (guint i = 0; i < n; i++) {
    /* GDBusProxy's own (g-name, g-object-path, …) are not the interface's. */
    if (specs[i]->owner_type == G_TYPE_DBUS_PROXY) continue;
    GParamSpec *target = g_param_spec_get_redirect_target (specs[i]);
    /* gdbus-codegen gives each GObject property the D-Bus property's name as its nick. */
    const char *name = g_param_spec_get_nick (target ? target : specs[i]);
    g_autoptr (GVariant) cached = g_dbus_proxy_get_cached_property (proxy, name);
    if (!cached) {
      g_printerr ("%s %s: the object manager has no value of %s\n", g_dbus_object_get_object_path (object), g_dbus_proxy_get_interface_name (proxy), name);
      exit (1);
    }
    g_auto (GValue) value = G_VALUE_INIT;
    g_value_init (&value, specs[i]->value_type);
    g_object_get_property (G_OBJECT (proxy), specs[i]->name, &value);
    g_autoptr (GString) json = g_string_new (NULL);
    json_value (json, &value);
    printf ("PROP\t%s\t%s\t%s\t%s\n", g_dbus_object_get_object_path (object), g_dbus_proxy_get_interface_name (proxy), name, json->str);
  }
}

static MpdPath *path_proxy (const char *object_path)
{
  g_autoptr (GDBusObject) object = g_dbus_object_manager_get_object (manager, object_path);
  return object ? mpd_object_get_path (MPD_OBJECT (object)) : NULL;
}

/* Call Fail or Reinstate, then let the main loop deliver the PropertiesChanged that the
   service sent before its reply, until the generated getter reads the state expected. */
static gboolean manage (MpdPath *path, gboolean fail)
{
  const char *want = fail ? "failed" : "active";
  /* No option exists yet: an empty a{sv} (floating; the generated call takes it). */
  GVariant *options = g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0);
  g_autoptr (GError) error = NULL;
  gboolean ok = fail ? mpd_path_call_fail_sync (path, options, NULL, &error) : mpd_path_call_reinstate_sync (path, options, NULL, &error);
  if (!ok) {
    g_printerr ("%s: %s\n", fail ? "Fail" : "Reinstate", error->message);
    return FALSE;
  }
  while (g_strcmp0 (mpd_path_get_dm_state (path), want) != 0) g_main_context_iteration (NULL, TRUE);
  printf ("EFFECT\t%s\tDmState\t%s\n", g_dbus_proxy_get_object_path (G_DBUS_PROXY (path)), mpd_path_get_dm_state (path));
  return TRUE;
}

static gboolean manage_failed_path (gpointer data)
{
  MpdPath *path = path_proxy (failed_by_test);
  if (!path) g_printerr ("no Path object at %s\n", failed_by_test);
  else if (manage (path, TRUE) && manage (path, FALSE)) status = 0;
  g_clear_object (&path);
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void on_path_event (MpdMap *map, const char *path, const char *dev_t, guint valid_paths, guint dm_seqnum, guint64 serial, gpointer member)
{
  printf ("SIGNAL\t%s\t%s\t%s\t%s\t%u\t%" G_GUINT64_FORMAT "\n", g_dbus_proxy_get_object_path (G_DBUS_PROXY (map)), (const char *) member, path, dev_t, valid_paths,
          serial);
  if (!strcmp (member, "PathFailed") && !failed_by_test) failed_by_test = g_strdup (path);
  /* The test's reinstatement: manage that path from the main loop (not from within a handler). */
  else if (!strcmp (member, "PathReinstated") && !g_strcmp0 (path, failed_by_test) && !managing) {
    managing = TRUE;
    g_idle_add (manage_failed_path, NULL);
  }
}

static gboolean give_up (gpointer data)
{
  g_printerr ("gave up after 30 s\n");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  if (argc != 2) {
    g_printerr ("usage: %s BUS-ADDRESS\n", argv[0]);
    return 2;
  }
  setvbuf (stdout, NULL, _IOLBF, 0);
  g_autoptr (GDBusConnection) bus = g_dbus_connection_new_for_address_sync (
      argv[1], G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
  if (!bus) {
    g_printerr ("connect: %s\n", error->message);
    return 1;
  }
  /* Subscribes to the service's signals, then reads GetManagedObjects: nothing is missed in between. */
  manager = mpd_object_manager_client_new_sync (bus, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_NONE, BUS_NAME, ROOT, NULL, &error);
  if (!manager) {
    g_printerr ("object manager: %s\n", error->message);
    return 1;
  }
  GList *objects = g_dbus_object_manager_get_objects (manager);
  for (GList *o = objects; o; o = o->next) {
    GList *interfaces = g_dbus_object_get_interfaces (o->data);
    for (GList *i = interfaces; i; i = i->next) print_properties (o->data, i->data);
    g_list_free_full (interfaces, g_object_unref);
    MpdMap *map = mpd_object_peek_map (o->data);
    if (map) {
      g_signal_connect (map, "path-failed", G_CALLBACK (on_path_event), "PathFailed");
      g_signal_connect (map, "path-reinstated", G_CALLBACK (on_path_event), "PathReinstated");
    }
  }
  printf ("SUBSCRIBED\n");
  loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add_seconds (30, give_up, NULL);
  g_main_loop_run (loop);
  g_list_free_full (objects, g_object_unref);
  g_object_unref (manager);
  return status;
}
