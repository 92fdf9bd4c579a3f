// A file descriptor polled for readability with uv_poll on the Node loop: what the
// watchers (uevent_monitor.cc, dm_events.cc) share. libuv owns the handle from uv_close
// until its close callback, which can come after the watcher was finalized, or be started
// by an exiting environment; so the handle is an allocation of its own, and it clears its
// owner's pointer to it (`slot`) when it goes first.
#pragma once

#include <napi.h>
#include <uv.h>

namespace mpnative {

// JS main thread: the fd is readable, or libuv failed (status < 0; polling has stopped).
using PollCallback = void (*)(void* owner, int status);

struct PollHandle {
  uv_poll_t poll;
  int fd = -1;
  void* owner = nullptr;
  PollCallback on_poll = nullptr;
  PollHandle** slot = nullptr;
  napi_async_cleanup_hook_handle cleanup_hook = nullptr;
};

// Polls `fd` (taken: closed on failure) and stores the handle in *slot. Returns 0, or a
// negative libuv error with *failed naming the call.
int StartPoll(napi_env env, int fd, void* owner, PollCallback on_poll, PollHandle** slot, const char** failed);

// Polls again after an error (libuv stopped). Returns 0 or a negative libuv error.
int RestartPoll(PollHandle* h);

// Nothing more is delivered and the fd is closed now; the handle frees itself later.
// Clears *slot. Safe with *slot already null.
void ReleasePoll(PollHandle** slot);

}  // namespace mpnative
