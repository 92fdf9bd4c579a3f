// device-mapper's global event counter, watched on the Node loop. Since Linux 4.13
// (interface 4.37) /dev/mapper/control is pollable: DM_DEV_ARM_POLL records the counter for
// this open file, and poll() reports POLLIN once it has moved (dm_issue_global_event: a
// table event such as dm-mpath's switch_group or a path failing, a table swapped by a
// resume, a device created, removed or renamed). multipathd's dmevents.c waits the same way.
// Each wakeup re-arms before it tells JS, so a change while JS looks raises the next one.
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "addon.h"
#include "fd_poll.h"

namespace mpnative {
namespace {

// Returns 0 or an errno; ENOTTY or EINVAL from a kernel older than 4.13.
int ArmPoll(int fd) {
  dm_ioctl io{};
  // Minor 0: every v4 kernel accepts it, as in dm_ioctl.cc.
  io.version[0] = DM_VERSION_MAJOR;
  io.data_size = sizeof io;
  io.data_start = sizeof io;
  int rc;
  do {
    rc = ioctl(fd, DM_DEV_ARM_POLL, &io);
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

class DmEventWatch : public Napi::ObjectWrap<DmEventWatch> {
 public:
  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<DmEventWatch>::DefineClass(env, "DmEventWatch", {InstanceMethod("close", &DmEventWatch::Close)});
  }

  // JS main thread. Arguments: controlPath, onEvent(), onError(err).
  explicit DmEventWatch(const Napi::CallbackInfo& info) : ObjectWrap<DmEventWatch>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsString() || !info[1].IsFunction() || !info[2].IsFunction()) {
      Napi::TypeError::New(env, "openDmEventWatch(controlPath, onEvent, onError)").ThrowAsJavaScriptException();
      return;
    }
    std::string path = info[0].As<Napi::String>().Utf8Value();
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      ErrnoError(env, errno, "open", path).ThrowAsJavaScriptException();
      return;
    }
    if (int err = ArmPoll(fd)) {
      close(fd);
      ErrnoError(env, err, "ioctl", "DM_DEV_ARM_POLL").ThrowAsJavaScriptException();
      return;
    }
    const char* failed = "";
    if (int rc = StartPoll(env, fd, this, OnPoll, &handle_, &failed)) {
      ErrnoError(env, -rc, failed, path).ThrowAsJavaScriptException();
      return;
    }
    napi_async_init(env, nullptr, Napi::String::New(env, "DmEventWatch"), &async_context_);
    on_event_ = Napi::Persistent(info[1].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[2].As<Napi::Function>());
    // An open watch lives until closed, like a listening server.
    Ref();
  }

  ~DmEventWatch() override {
    ReleasePoll(&handle_);
    if (async_context_ != nullptr) napi_async_destroy(Env(), async_context_);
  }

 private:
  static void OnPoll(void* owner, int status) { static_cast<DmEventWatch*>(owner)->Wake(status); }

  // JS main thread. Idempotent; nothing is delivered once it returns.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) {
      ReleasePoll(&handle_);
      on_event_.Reset();
      on_error_.Reset();
      napi_async_destroy(Env(), async_context_);
      async_context_ = nullptr;
      Unref();
    }
    return info.Env().Undefined();
  }

  // libuv callback on the JS main thread: re-arm, then tell JS (which may close us).
  void Wake(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Object self = Value();
    int rc = status < 0 ? RestartPoll(handle_) : 0;
    if (rc != 0) {
      Deliver(self, on_error_, {ErrnoError(env, -rc, "uv_poll_start", "").Value()});
      return;
    }
    if (int err = ArmPoll(handle_->fd)) {
      Deliver(self, on_error_, {ErrnoError(env, err, "ioctl", "DM_DEV_ARM_POLL").Value()});
      return;
    }
    Deliver(self, on_event_, {});
  }

  void Deliver(Napi::Object self, Napi::FunctionReference& fn, const std::initializer_list<napi_value>& args) {
    mpnative::Deliver(Env(), self, fn, async_context_, args);
  }

  PollHandle* handle_ = nullptr;
  Napi::FunctionReference on_event_;
  Napi::FunctionReference on_error_;
  napi_async_context async_context_ = nullptr;
};

// JS main thread. openDmEventWatch(controlPath, onEvent(), onError(err)) -> { close };
// throws an errno Error when the node cannot be opened or armed (ENOTTY, EINVAL: kernel < 4.13).
Napi::Value OpenDmEventWatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Function constructor = DmEventWatch::DefineClass(env);
  return constructor.New({info[0], info[1], info[2]});
}

}  // namespace

void RegisterDmEvents(Napi::Env env, Napi::Object exports) {
  exports.Set("openDmEventWatch", Napi::Function::New(env, OpenDmEventWatch, "openDmEventWatch"));
}

}  // namespace mpnative
