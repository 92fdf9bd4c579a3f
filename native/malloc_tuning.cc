// glibc malloc knobs for a long-running process whose large buffers come and go: a
// GetManagedObjects reply or a multipathd reading is megabytes, allocated and freed once.
// Left alone, glibc raises its mmap threshold after the first such free, so later ones
// land in the heap and stay resident after they are freed. Main thread only, as all of
// the addon; nothing here can fail in a way JS must handle, so results are booleans.
#include <malloc.h>

#include "addon.h"

namespace mpnative {
namespace {

// setMmapThreshold(bytes): allocations of at least this size get their own mapping,
// returned to the kernel on free. Setting it also turns off glibc's dynamic raise.
Napi::Value SetMmapThreshold(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setMmapThreshold(bytes)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Boolean::New(env, mallopt(M_MMAP_THRESHOLD, info[0].As<Napi::Number>().Int32Value()) == 1);
}

// trimMemory(): give freed heap pages back to the kernel (malloc_trim(0) also releases
// free pages inside the heap, not only at its top). True when anything was released.
Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
}

}  // namespace

void RegisterMallocTuning(Napi::Env env, Napi::Object exports) {
  exports.Set("setMmapThreshold", Napi::Function::New(env, SetMmapThreshold));
  exports.Set("trimMemory", Napi::Function::New(env, TrimMemory));
}

}  // namespace mpnative
