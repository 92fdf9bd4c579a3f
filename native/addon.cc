// Module entry point and the shared errno error builder.
#include "addon.h"

#include <uv.h>

#include <cstring>

namespace mpnative {

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& subject) {
  std::string message = syscall;
  if (!subject.empty()) {
    message += ' ';
    message += subject;
  }
  message += ": ";
  message += std::strerror(err);
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, err));
  // libuv's table is the one Node's own errors use, so codes match fs/net errors.
  error.Set("code", Napi::String::New(env, uv_err_name(-err)));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void Deliver(Napi::Env env, Napi::Object self, Napi::FunctionReference& fn, napi_async_context context,
             const std::initializer_list<napi_value>& args) {
  fn.MakeCallback(self, args, context);
  if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
}

}  // namespace mpnative

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  mpnative::RegisterUeventMonitor(env, exports);
  mpnative::RegisterDmIoctl(env, exports);
  mpnative::RegisterDmEvents(env, exports);
  mpnative::RegisterUnixSockets(env, exports);
  mpnative::RegisterMallocTuning(env, exports);
  mpnative::RegisterKeptFiles(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(multipath_native, Init)
