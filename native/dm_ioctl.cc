// The kernel's own device-mapper view through /dev/mapper/control: which devices
// exist and each one's table or status lines, exactly as the kernel prints them.
#include "addon.h"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace mpnative {
namespace {

constexpr size_t kInitialBufferBytes = 16 * 1024;
// A table larger than this is not a multipath table; stop rather than grow forever.
constexpr size_t kMaxBufferBytes = 64 * 1024 * 1024;
// Interface minor version from which DM_LIST_DEVICES entries carry event_nr and flags.
constexpr uint32_t kListTrailerMinor = 37;

class ControlFd {
 public:
  explicit ControlFd(int fd) : fd_(fd) {}
  ~ControlFd() {
    if (fd_ >= 0) close(fd_);
  }
  ControlFd(const ControlFd&) = delete;
  ControlFd& operator=(const ControlFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// One ioctl reply: a dm_ioctl header followed by its data, kept 8-byte aligned
// because the kernel lays out its records on 8-byte boundaries.
class Reply {
 public:
  const dm_ioctl& header() const { return *reinterpret_cast<const dm_ioctl*>(words_.data()); }
  dm_ioctl& header() { return *reinterpret_cast<dm_ioctl*>(words_.data()); }
  const char* bytes() const { return reinterpret_cast<const char*>(words_.data()); }
  size_t size() const { return words_.size() * sizeof(uint64_t); }
  void Reset(size_t bytes) { words_.assign(bytes / sizeof(uint64_t), 0); }
  // The part of the buffer the kernel says it filled, from data_start on.
  size_t DataEnd() const {
    size_t end = header().data_size;
    return end < size() ? end : size();
  }

 private:
  std::vector<uint64_t> words_;
};

bool CopyName(char (&field)[DM_NAME_LEN], const std::string& name) {
  if (name.size() >= DM_NAME_LEN || name.find('\0') != std::string::npos) return false;
  std::memcpy(field, name.data(), name.size());
  return true;
}

std::string Subject(const char* request_name, const std::string& name) {
  return name.empty() ? request_name : std::string(request_name) + " " + name;
}

// Runs one ioctl on `name` (may be empty), growing the buffer while the kernel
// reports DM_BUFFER_FULL_FLAG. Returns 0 or an errno.
int RunIoctl(int fd, unsigned long request, const std::string& name, uint32_t flags, Reply& reply) {
  for (size_t size = kInitialBufferBytes;; size *= 2) {
    reply.Reset(size);
    dm_ioctl& io = reply.header();
    // Minor 0: every v4 kernel accepts it; the reply carries the kernel's own version.
    io.version[0] = DM_VERSION_MAJOR;
    io.data_size = static_cast<uint32_t>(size);
    io.data_start = sizeof(dm_ioctl);
    io.flags = flags;
    if (!CopyName(io.name, name)) return ENAMETOOLONG;
    int rc;
    do {
      rc = ioctl(fd, request, &io);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return errno;
    if ((io.flags & DM_BUFFER_FULL_FLAG) == 0) return 0;
    if (size >= kMaxBufferBytes) return ENOBUFS;
  }
}

int OpenControl(Napi::Env env, const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) ErrnoError(env, errno, "open", path).ThrowAsJavaScriptException();
  return fd;
}

// The kernel packs dev_t as huge_encode_dev(): minor's low byte, then major, then minor's rest.
std::string DevT(uint64_t dev) {
  uint64_t major = (dev & 0xfff00) >> 8;
  uint64_t minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  return std::to_string(major) + ":" + std::to_string(minor);
}

size_t Align8(size_t offset) { return (offset + 7) & ~static_cast<size_t>(7); }

// A NUL-terminated string at `offset` that ends before `end`, or false.
bool StringAt(const char* base, size_t offset, size_t end, std::string& out) {
  if (offset >= end) return false;
  size_t len = strnlen(base + offset, end - offset);
  if (offset + len >= end) return false;
  out.assign(base + offset, len);
  return true;
}

struct Listed {
  std::string name;
  std::string uuid;
  bool uuid_known = false;
  uint64_t dev = 0;
  uint32_t event_nr = 0;
  bool event_nr_known = false;
};

// Walks the dm_name_list records; stops at the first one that would run past the data.
std::vector<Listed> ParseNameList(const Reply& reply) {
  std::vector<Listed> devices;
  const dm_ioctl& io = reply.header();
  const char* base = reply.bytes();
  size_t end = reply.DataEnd();
  bool has_trailer = io.version[1] >= kListTrailerMinor;
  size_t offset = io.data_start;
  while (offset + offsetof(dm_name_list, name) <= end) {
    const auto* record = reinterpret_cast<const dm_name_list*>(base + offset);
    // The kernel marks "no devices" with a zero dev in the first record.
    if (record->dev == 0) break;
    Listed device;
    device.dev = record->dev;
    size_t name_at = offset + offsetof(dm_name_list, name);
    if (!StringAt(base, name_at, end, device.name)) break;
    size_t trailer = Align8(name_at + device.name.size() + 1);
    if (has_trailer && trailer + 2 * sizeof(uint32_t) <= end) {
      std::memcpy(&device.event_nr, base + trailer, sizeof device.event_nr);
      device.event_nr_known = true;
      uint32_t flags;
      std::memcpy(&flags, base + trailer + sizeof(uint32_t), sizeof flags);
      if ((flags & DM_NAME_LIST_FLAG_HAS_UUID) != 0) {
        device.uuid_known = StringAt(base, trailer + 2 * sizeof(uint32_t), end, device.uuid);
      } else if ((flags & DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID) != 0) {
        device.uuid_known = true;
      }
    }
    devices.push_back(device);
    if (record->next == 0) break;
    offset += record->next;
  }
  return devices;
}

// JS main thread. dmListDevices(controlPath) -> [{ name, uuid, devT: "maj:min", eventNr }].
// A device removed between the list and its uuid lookup is left out.
Napi::Value DmListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "dmListDevices(controlPath)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ControlFd control(OpenControl(env, info[0].As<Napi::String>().Utf8Value()));
  if (control.get() < 0) return env.Undefined();
  Reply reply;
  // DM_UUID_FLAG asks kernels since interface 4.45 to put each uuid in the list itself.
  if (int err = RunIoctl(control.get(), DM_LIST_DEVICES, "", DM_UUID_FLAG, reply)) {
    ErrnoError(env, err, "ioctl", "DM_LIST_DEVICES").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array result = Napi::Array::New(env);
  uint32_t count = 0;
  for (Listed& device : ParseNameList(reply)) {
    if (!device.uuid_known || !device.event_nr_known) {
      Reply status;
      int err = RunIoctl(control.get(), DM_DEV_STATUS, device.name, 0, status);
      if (err == ENXIO) continue;
      if (err != 0) {
        ErrnoError(env, err, "ioctl", Subject("DM_DEV_STATUS", device.name)).ThrowAsJavaScriptException();
        return env.Undefined();
      }
      device.uuid.assign(status.header().uuid, strnlen(status.header().uuid, DM_UUID_LEN));
      device.event_nr = status.header().event_nr;
    }
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", device.name);
    entry.Set("uuid", device.uuid);
    entry.Set("devT", DevT(device.dev));
    entry.Set("eventNr", Napi::Number::New(env, device.event_nr));
    result.Set(count++, entry);
  }
  return result;
}

// JS main thread. dmTableStatus(controlPath, name, table) -> [{ start, length, targetType, params }]:
// the table lines (table = true) or the status lines of the device's live table.
Napi::Value DmTableStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsBoolean()) {
    Napi::TypeError::New(env, "dmTableStatus(controlPath, name, table)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ControlFd control(OpenControl(env, info[0].As<Napi::String>().Utf8Value()));
  if (control.get() < 0) return env.Undefined();
  uint32_t flags = info[2].As<Napi::Boolean>().Value() ? DM_STATUS_TABLE_FLAG : 0;
  std::string name = info[1].As<Napi::String>().Utf8Value();
  Reply reply;
  if (int err = RunIoctl(control.get(), DM_TABLE_STATUS, name, flags, reply)) {
    ErrnoError(env, err, "ioctl", Subject("DM_TABLE_STATUS", name)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const dm_ioctl& io = reply.header();
  const char* base = reply.bytes();
  size_t end = reply.DataEnd();
  Napi::Array result = Napi::Array::New(env);
  // Here `next` counts from the first spec, not from the current one.
  size_t offset = io.data_start;
  for (uint32_t i = 0; i < io.target_count && offset + sizeof(dm_target_spec) <= end; ++i) {
    const auto* spec = reinterpret_cast<const dm_target_spec*>(base + offset);
    std::string params;
    if (!StringAt(base, offset + sizeof(dm_target_spec), end, params)) break;
    Napi::Object line = Napi::Object::New(env);
    line.Set("start", Napi::Number::New(env, static_cast<double>(spec->sector_start)));
    line.Set("length", Napi::Number::New(env, static_cast<double>(spec->length)));
    line.Set("targetType", std::string(spec->target_type, strnlen(spec->target_type, DM_MAX_TYPE_NAME)));
    line.Set("params", params);
    result.Set(i, line);
    size_t next = io.data_start + static_cast<size_t>(spec->next);
    if (next <= offset) break;
    offset = next;
  }
  return result;
}

}  // namespace

void RegisterDmIoctl(Napi::Env env, Napi::Object exports) {
  exports.Set("dmListDevices", Napi::Function::New(env, DmListDevices, "dmListDevices"));
  exports.Set("dmTableStatus", Napi::Function::New(env, DmTableStatus, "dmTableStatus"));
}

}  // namespace mpnative
