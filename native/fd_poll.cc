// See fd_poll.h.
#include "fd_poll.h"

#include <unistd.h>

namespace mpnative {
namespace {

void OnHandleClosed(uv_handle_t* handle) {
  auto* h = static_cast<PollHandle*>(handle->data);
  if (h->cleanup_hook != nullptr) napi_remove_async_cleanup_hook(h->cleanup_hook);
  delete h;
}

// The fd may be closed right after uv_close: libuv has already stopped polling it.
void RequestClose(PollHandle* h) {
  auto* handle = reinterpret_cast<uv_handle_t*>(&h->poll);
  if (uv_is_closing(handle)) return;
  uv_close(handle, OnHandleClosed);
  close(h->fd);
  h->fd = -1;
}

void OnReadable(uv_poll_t* poll, int status, int) {
  auto* h = static_cast<PollHandle*>(poll->data);
  if (h->owner != nullptr) h->on_poll(h->owner, status);
}

// A worker's loop must be free of handles when it exits, even if JS never closed us.
void OnEnvironmentExit(napi_async_cleanup_hook_handle, void* arg) {
  auto* h = static_cast<PollHandle*>(arg);
  if (h->slot != nullptr) ReleasePoll(h->slot);
  RequestClose(h);
}

}  // namespace

int StartPoll(napi_env env, int fd, void* owner, PollCallback on_poll, PollHandle** slot, const char** failed) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto* h = new PollHandle();
  h->fd = fd;
  h->poll.data = h;
  int rc = uv_poll_init(loop, &h->poll, fd);
  if (rc != 0) {
    close(fd);
    delete h;
    *failed = "uv_poll_init";
    return rc;
  }
  rc = uv_poll_start(&h->poll, UV_READABLE, OnReadable);
  if (rc != 0) {
    RequestClose(h);
    *failed = "uv_poll_start";
    return rc;
  }
  napi_add_async_cleanup_hook(env, OnEnvironmentExit, h, &h->cleanup_hook);
  h->owner = owner;
  h->on_poll = on_poll;
  h->slot = slot;
  *slot = h;
  return 0;
}

int RestartPoll(PollHandle* h) { return uv_poll_start(&h->poll, UV_READABLE, OnReadable); }

void ReleasePoll(PollHandle** slot) {
  PollHandle* h = *slot;
  if (h == nullptr) return;
  *slot = nullptr;
  h->owner = nullptr;
  h->slot = nullptr;
  RequestClose(h);
}

}  // namespace mpnative
