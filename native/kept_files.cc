// Attribute files kept open and read again from offset 0, many in one call: the NVMe
// silent-state poll reads thousands a second, and open/read/close through fs.*Sync costs
// about 7 us a file where a pread of a kept sysfs fd costs 1.5–2 (kernfs formats the value
// again on every read from offset 0: seq_read_iter resets its buffer there). Main thread
// only, as all of the addon; a failed read is a value (-errno), never an exception, so one
// device gone does not cost the others' values.
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

#include "addon.h"

namespace mpnative {
namespace {

// preadAll(fds: Int32Array, buffer: Buffer, slot: number, results: Int32Array): for each i,
// up to `slot` bytes of fds[i] from offset 0 into buffer[i * slot ...]; results[i] = the
// byte count, or -errno. A negative fd (released) is not read: -EBADF.
Napi::Value PreadAll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "preadAll(fds: Int32Array, buffer: Buffer, slot: number, results: Int32Array)";
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsBuffer() || !info[2].IsNumber() || !info[3].IsTypedArray()) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray fdsArray = info[0].As<Napi::TypedArray>();
  Napi::TypedArray resultsArray = info[3].As<Napi::TypedArray>();
  if (fdsArray.TypedArrayType() != napi_int32_array || resultsArray.TypedArrayType() != napi_int32_array) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Int32Array fds = info[0].As<Napi::Int32Array>();
  Napi::Int32Array results = info[3].As<Napi::Int32Array>();
  Napi::Buffer<uint8_t> buffer = info[1].As<Napi::Buffer<uint8_t>>();
  int64_t slot = info[2].As<Napi::Number>().Int64Value();
  size_t count = fds.ElementLength();
  if (slot <= 0 || results.ElementLength() < count || static_cast<uint64_t>(slot) * count > buffer.Length()) {
    Napi::RangeError::New(env, "preadAll: results or buffer too small for the fds").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (size_t i = 0; i < count; i++) {
    if (fds[i] < 0) {
      results[i] = -EBADF;
      continue;
    }
    ssize_t n;
    do {
      n = pread(fds[i], buffer.Data() + i * slot, static_cast<size_t>(slot), 0);
    } while (n < 0 && errno == EINTR);
    results[i] = n < 0 ? -errno : static_cast<int32_t>(n);
  }
  return env.Undefined();
}

// fileLimit() -> RLIMIT_NOFILE's soft limit (Node raised it to the hard one at start), or
// -errno: what bounds how many files a caller may keep open.
Napi::Value FileLimit(const Napi::CallbackInfo& info) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return Napi::Number::New(info.Env(), -errno);
  return Napi::Number::New(info.Env(), limit.rlim_cur == RLIM_INFINITY ? 1 << 30 : static_cast<double>(limit.rlim_cur));
}

}  // namespace

void RegisterKeptFiles(Napi::Env env, Napi::Object exports) {
  exports.Set("preadAll", Napi::Function::New(env, PreadAll, "preadAll"));
  exports.Set("fileLimit", Napi::Function::New(env, FileLimit, "fileLimit"));
}

}  // namespace mpnative
