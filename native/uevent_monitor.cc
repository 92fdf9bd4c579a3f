// Kernel uevents from a NETLINK_KOBJECT_UEVENT socket, watched with uv_poll on the
// Node loop. Only datagrams the kernel itself sent (port 0, uid 0) are delivered:
// anyone may unicast to our port, and a forged PATH_REINSTATED must not count.
#include "addon.h"
#include "fd_poll.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>

namespace mpnative {
namespace {

// Bounds one wakeup so a uevent storm cannot starve the rest of the loop; what is
// left stays readable and is picked up on the next iteration.
constexpr int kMaxDatagramsPerWakeup = 256;
// Kernel uevents are a few KiB at most; anything cut short by this is dropped.
constexpr size_t kDatagramBufferBytes = 64 * 1024;
constexpr uint32_t kKernelUeventGroup = 1;

// Returns the bound socket, or -errno with *failed naming the call that failed.
int OpenSocket(double requested_receive_buffer, const char** failed) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  if (fd < 0) {
    *failed = "socket";
    return -errno;
  }
  auto fail = [fd, failed](const char* call) {
    int err = errno;
    close(fd);
    *failed = call;
    return -err;
  };
  if (requested_receive_buffer > 0) {
    int size = requested_receive_buffer >= INT_MAX ? INT_MAX : static_cast<int>(requested_receive_buffer);
    // FORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0) {
      return fail("setsockopt");
    }
  }
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return fail("setsockopt");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = kKernelUeventGroup;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return fail("bind");
  return fd;
}

bool SentByKernel(msghdr* msg, const sockaddr_nl& from) {
  if (msg->msg_namelen < sizeof from || from.nl_pid != 0) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
        c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      return cred.uid == 0;
    }
  }
  return false;
}

class UeventMonitor : public Napi::ObjectWrap<UeventMonitor> {
 public:
  static Napi::Function DefineClass(Napi::Env env) {
    return ObjectWrap<UeventMonitor>::DefineClass(env, "UeventMonitor",
                                                  {
                                                      InstanceMethod("close", &UeventMonitor::Close),
                                                      InstanceMethod("ref", &UeventMonitor::RefHandle),
                                                      InstanceMethod("unref", &UeventMonitor::UnrefHandle),
                                                      InstanceMethod("stats", &UeventMonitor::Stats),
                                                  });
  }

  // JS main thread. Arguments: receiveBufferBytes, onDatagram, onOverflow, onError.
  explicit UeventMonitor(const Napi::CallbackInfo& info) : ObjectWrap<UeventMonitor>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsFunction() || !info[2].IsFunction() ||
        !info[3].IsFunction()) {
      Napi::TypeError::New(env, "openUeventMonitor(receiveBufferBytes, onDatagram, onOverflow, onError)")
          .ThrowAsJavaScriptException();
      return;
    }
    const char* failed = "";
    int fd = OpenSocket(info[0].As<Napi::Number>().DoubleValue(), &failed);
    if (fd < 0) {
      ErrnoError(env, -fd, failed, "NETLINK_KOBJECT_UEVENT").ThrowAsJavaScriptException();
      return;
    }
    sockaddr_nl local{};
    socklen_t local_len = sizeof local;
    socklen_t granted_len = sizeof receive_buffer_bytes_;
    const char* query = nullptr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
      query = "getsockname";
    } else if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes_, &granted_len) != 0) {
      query = "getsockopt";
    }
    if (query != nullptr) {
      int err = errno;
      close(fd);
      ErrnoError(env, err, query, "NETLINK_KOBJECT_UEVENT").ThrowAsJavaScriptException();
      return;
    }
    port_id_ = local.nl_pid;

    int rc = StartPoll(env, fd, this, OnPoll, &handle_, &failed);
    if (rc != 0) {
      ErrnoError(env, -rc, failed, "").ThrowAsJavaScriptException();
      return;
    }

    napi_async_init(env, nullptr, Napi::String::New(env, "UeventMonitor"), &async_context_);
    on_datagram_ = Napi::Persistent(info[1].As<Napi::Function>());
    on_overflow_ = Napi::Persistent(info[2].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[3].As<Napi::Function>());
    buffer_.reset(new char[kDatagramBufferBytes]);
    // An open monitor lives until closed, like a listening server.
    Ref();
  }

  ~UeventMonitor() override {
    ReleaseHandle();
    if (async_context_ != nullptr) napi_async_destroy(Env(), async_context_);
  }

 private:
  static void OnPoll(void* owner, int status) { static_cast<UeventMonitor*>(owner)->Drain(status); }

  void ReleaseHandle() {
    closed_ = true;
    ReleasePoll(&handle_);
  }

  // JS main thread. Safe at any time, including from inside one of our callbacks:
  // nothing more is delivered once it returns. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (!closed_) {
      ReleaseHandle();
      on_datagram_.Reset();
      on_overflow_.Reset();
      on_error_.Reset();
      napi_async_destroy(Env(), async_context_);
      async_context_ = nullptr;
      Unref();
    }
    return info.Env().Undefined();
  }

  // JS main thread. Whether the open monitor alone keeps the process alive.
  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  // JS main thread.
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  // JS main thread. Still answers after close (the final counts).
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object stats = Napi::Object::New(env);
    stats.Set("received", Napi::Number::New(env, static_cast<double>(received_)));
    stats.Set("dropped", Napi::Number::New(env, static_cast<double>(dropped_)));
    stats.Set("overflows", Napi::Number::New(env, static_cast<double>(overflows_)));
    stats.Set("receiveBufferBytes", Napi::Number::New(env, receive_buffer_bytes_));
    stats.Set("portId", Napi::Number::New(env, port_id_));
    return stats;
  }

  // libuv callback on the JS main thread. Every JS call can close us, so closed_ is
  // rechecked after each one and handle_ is not touched once it is set.
  // A loss is reported once per wakeup, after the datagrams read in it: they were
  // queued before the loss, so a resync started from onOverflow is newer than all of them.
  void Drain(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    // Held on the stack so a callback that closes us cannot let the wrapper be collected mid-drain.
    Napi::Object self = Value();
    bool overflowed = false;
    if (status >= 0 || Recover(self, overflowed)) ReadQueued(self, overflowed);
    if (overflowed && !closed_) {
      ++overflows_;
      Deliver(self, on_overflow_, {});
    }
  }

  void ReadQueued(Napi::Object self, bool& overflowed) {
    Napi::Env env = Env();
    for (int i = 0; i < kMaxDatagramsPerWakeup && !closed_; ++i) {
      Napi::HandleScope datagram_scope(env);
      sockaddr_nl from{};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
      iovec iov{buffer_.get(), kDatagramBufferBytes};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = recvmsg(handle_->fd, &msg, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == ENOBUFS) {
          // The kernel dropped datagrams for us; the socket stays usable.
          overflowed = true;
          continue;
        }
        Deliver(self, on_error_, {ErrnoError(env, errno, "recvmsg", "NETLINK_KOBJECT_UEVENT").Value()});
        return;
      }
      if ((msg.msg_flags & MSG_TRUNC) != 0 || !SentByKernel(&msg, from)) {
        ++dropped_;
        continue;
      }
      ++received_;
      Deliver(self, on_datagram_, {Napi::Buffer<char>::Copy(env, buffer_.get(), static_cast<size_t>(n))});
    }
  }

  // libuv turns EPOLLERR into UV_EBADF and stops the poll. On this socket that is
  // how an overflow usually arrives: the kernel sets ENOBUFS as the socket error.
  // Reads (and so clears) that error and polls again. Returns whether the socket
  // can be read now.
  bool Recover(Napi::Object self, bool& overflowed) {
    Napi::Env env = Env();
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(handle_->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      Deliver(self, on_error_, {ErrnoError(env, errno, "getsockopt", "NETLINK_KOBJECT_UEVENT").Value()});
      return false;
    }
    if (err == ENOBUFS) {
      overflowed = true;
    } else if (err != 0) {
      Deliver(self, on_error_, {ErrnoError(env, err, "recvmsg", "NETLINK_KOBJECT_UEVENT").Value()});
      if (closed_) return false;
    }
    int rc = RestartPoll(handle_);
    if (rc != 0) {
      Deliver(self, on_error_, {ErrnoError(env, -rc, "uv_poll_start", "").Value()});
      return false;
    }
    return true;
  }

  void Deliver(Napi::Object self, Napi::FunctionReference& fn, const std::initializer_list<napi_value>& args) {
    mpnative::Deliver(Env(), self, fn, async_context_, args);
  }

  PollHandle* handle_ = nullptr;
  bool closed_ = false;
  Napi::FunctionReference on_datagram_;
  Napi::FunctionReference on_overflow_;
  Napi::FunctionReference on_error_;
  napi_async_context async_context_ = nullptr;
  std::unique_ptr<char[]> buffer_;
  uint64_t received_ = 0;
  uint64_t dropped_ = 0;
  uint64_t overflows_ = 0;
  int receive_buffer_bytes_ = 0;
  uint32_t port_id_ = 0;
};

// JS main thread. openUeventMonitor(receiveBufferBytes, onDatagram(Buffer), onOverflow(),
// onError(err)) -> { close, ref, unref, stats }; throws an errno Error if the socket fails.
Napi::Value OpenUeventMonitor(const Napi::CallbackInfo& info) {
  Napi::FunctionReference* constructor = info.Env().GetInstanceData<Napi::FunctionReference>();
  return constructor->New({info[0], info[1], info[2], info[3]});
}

}  // namespace

void RegisterUeventMonitor(Napi::Env env, Napi::Object exports) {
  auto* constructor = new Napi::FunctionReference(Napi::Persistent(UeventMonitor::DefineClass(env)));
  env.SetInstanceData(constructor);
  exports.Set("openUeventMonitor", Napi::Function::New(env, OpenUeventMonitor, "openUeventMonitor"));
}

}  // namespace mpnative
