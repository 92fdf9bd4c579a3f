// Unix stream sockets addressed the way multipathd binds them. An abstract name
// ("@name") is matched byte for byte including its length, so the address must be
// exactly offsetof(sun_path) + 1 + strlen(name) long; Node's net pads it to the full
// sun_path and reaches a different socket. The fd is handed to net.Socket/net.Server.
// Datagrams to a path (journald's native socket) are here too: Node's dgram has no AF_UNIX.
#include "addon.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

namespace mpnative {
namespace {

// "@name" -> abstract name of exactly that length; anything else -> filesystem path.
// Returns 0 or an errno.
int ToSockaddr(const std::string& address, sockaddr_un& addr, socklen_t& length) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (address.empty() || address.find('\0') != std::string::npos) return EINVAL;
  bool abstract = address[0] == '@';
  const char* name = address.c_str() + (abstract ? 1 : 0);
  size_t name_length = address.size() - (abstract ? 1 : 0);
  // Room for the abstract name's leading NUL, or the path's terminating one.
  if (name_length > sizeof addr.sun_path - 1) return ENAMETOOLONG;
  std::memcpy(addr.sun_path + (abstract ? 1 : 0), name, name_length);
  length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name_length);
  return 0;
}

bool ReadArguments(const Napi::CallbackInfo& info, const char* usage, std::string& address) {
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(info.Env(), usage).ThrowAsJavaScriptException();
    return false;
  }
  address = info[0].As<Napi::String>().Utf8Value();
  return true;
}

Napi::Value Fail(Napi::Env env, int fd, const char* syscall, const std::string& address) {
  int err = errno;
  if (fd >= 0) close(fd);
  ErrnoError(env, err, syscall, address).ThrowAsJavaScriptException();
  return env.Undefined();
}

// JS main thread. connectUnixStream(address) -> fd of a connected, non-blocking,
// close-on-exec stream socket. A unix connect never waits for the peer to accept:
// it completes at once, or fails with EAGAIN when the listener's backlog is full
// (the socket is non-blocking from the start so a stuck server cannot stall the loop).
Napi::Value ConnectUnixStream(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string address;
  if (!ReadArguments(info, "connectUnixStream(address)", address)) return env.Undefined();
  sockaddr_un addr;
  socklen_t length = 0;
  if (int err = ToSockaddr(address, addr, length)) {
    ErrnoError(env, err, "connect", address).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(env, -1, "socket", address);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0) return Fail(env, fd, "connect", address);
  return Napi::Number::New(env, fd);
}

// JS main thread. listenUnixStream(address, backlog) -> fd of a bound, listening,
// non-blocking, close-on-exec socket, for net.createServer().listen({ fd }).
// An existing filesystem path is not removed: that is the caller's decision.
Napi::Value ListenUnixStream(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string address;
  if (!ReadArguments(info, "listenUnixStream(address, backlog)", address)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "listenUnixStream(address, backlog)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int backlog = info[1].As<Napi::Number>().Int32Value();
  sockaddr_un addr;
  socklen_t length = 0;
  if (int err = ToSockaddr(address, addr, length)) {
    ErrnoError(env, err, "bind", address).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(env, -1, "socket", address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0) return Fail(env, fd, "bind", address);
  if (listen(fd, backlog) != 0) return Fail(env, fd, "listen", address);
  return Napi::Number::New(env, fd);
}

// JS main thread. peerCredentials(fd) -> { pid, uid, gid } of the process that created
// the listening socket we are connected to (SO_PEERCRED, fixed by the kernel at
// connect time). Whether to trust that peer is the caller's decision.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "peerCredentials(fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  ucred cred{};
  socklen_t length = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    ErrnoError(env, errno, "getsockopt", "SO_PEERCRED").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, cred.pid));
  out.Set("uid", Napi::Number::New(env, cred.uid));
  out.Set("gid", Napi::Number::New(env, cred.gid));
  return out;
}

// JS main thread. closeFd(fd): for an fd no net object has taken over yet.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "closeFd(fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  // On Linux the fd is released even when close reports EINTR.
  if (close(fd) != 0 && errno != EINTR) {
    ErrnoError(env, errno, "close", std::to_string(fd)).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// JS main thread. openUnixDatagram() -> fd of an unbound, non-blocking, close-on-exec
// datagram socket, for sendUnixDatagram.
Napi::Value OpenUnixDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(env, -1, "socket", "");
  return Napi::Number::New(env, fd);
}

// JS main thread. sendUnixDatagram(fd, address, buffer): one sendto, never waiting; a
// full receiver is EAGAIN, a datagram too big EMSGSIZE: the caller decides what then.
Napi::Value SendUnixDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "sendUnixDatagram(fd, address, buffer)";
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsBuffer()) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string address = info[1].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> data = info[2].As<Napi::Buffer<uint8_t>>();
  sockaddr_un addr;
  socklen_t length = 0;
  if (int err = ToSockaddr(address, addr, length)) {
    ErrnoError(env, err, "sendto", address).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ssize_t sent = sendto(fd, data.Data(), data.Length(), MSG_NOSIGNAL | MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr), length);
  if (sent < 0) return Fail(env, -1, "sendto", address);
  return env.Undefined();
}

// JS main thread. setSendBuffer(fd, bytes) -> the send buffer the kernel granted
// (getsockopt SO_SNDBUF, which reports twice the request). SO_SNDBUFFORCE passes
// net.core.wmem_max with CAP_NET_ADMIN; without it, SO_SNDBUF is capped there.
Napi::Value SetSendBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "setSendBuffer(fd, bytes)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int size = info[1].As<Napi::Number>().Int32Value();
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) != 0) {
    ErrnoError(env, errno, "setsockopt", "SO_SNDBUF").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int granted = 0;
  socklen_t length = sizeof granted;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &granted, &length) != 0) {
    ErrnoError(env, errno, "getsockopt", "SO_SNDBUF").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, granted);
}

}  // namespace

void RegisterUnixSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("connectUnixStream", Napi::Function::New(env, ConnectUnixStream, "connectUnixStream"));
  exports.Set("listenUnixStream", Napi::Function::New(env, ListenUnixStream, "listenUnixStream"));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  exports.Set("openUnixDatagram", Napi::Function::New(env, OpenUnixDatagram, "openUnixDatagram"));
  exports.Set("sendUnixDatagram", Napi::Function::New(env, SendUnixDatagram, "sendUnixDatagram"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("setSendBuffer", Napi::Function::New(env, SetSendBuffer, "setSendBuffer"));
}

}  // namespace mpnative
