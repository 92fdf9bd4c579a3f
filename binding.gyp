{
  "targets": [{
    "target_name": "multipath_native",
    "sources": [
      "native/addon.cc",
      "native/uevent_monitor.cc",
      "native/dm_ioctl.cc",
      "native/dm_events.cc",
      "native/fd_poll.cc",
      "native/unix_connect.cc",
      "native/malloc_tuning.cc",
      "native/kept_files.cc"
    ],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
  }]
}
