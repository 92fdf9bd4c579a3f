// What the addon's source files share: the one error shape every failure crosses
// into JS as, and the registration hook of each file. Everything here runs on the
// JS main thread; the addon starts no threads.
#pragma once

#include <napi.h>

#include <string>

namespace mpnative {

// An Error whose message reads "<syscall> <subject>: <strerror>" (subject may be
// empty) and which carries errno (positive, as the kernel returned it), code
// ("ENOENT") and syscall, so JS can branch on code without parsing text.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& subject);

// Calls a watcher's JS handler from a libuv callback. A throwing handler is an uncaught
// exception, exactly as in an EventEmitter listener.
void Deliver(Napi::Env env, Napi::Object self, Napi::FunctionReference& fn, napi_async_context context,
             const std::initializer_list<napi_value>& args);

void RegisterUeventMonitor(Napi::Env env, Napi::Object exports);
void RegisterDmIoctl(Napi::Env env, Napi::Object exports);
void RegisterDmEvents(Napi::Env env, Napi::Object exports);
void RegisterUnixSockets(Napi::Env env, Napi::Object exports);
void RegisterMallocTuning(Napi::Env env, Napi::Object exports);
void RegisterKeptFiles(Napi::Env env, Napi::Object exports);

}  // namespace mpnative
