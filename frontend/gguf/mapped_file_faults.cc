#include "frontend/gguf/mapped_file_faults.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace bitjit::gguf {
namespace {

// Slots the signal handler reads without locks: `begin` is published last (release) and cleared
// first, so a slot with a begin has its end and path.
struct Slot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<const char*> path{nullptr};
};
constexpr int kSlots = 64;
Slot slots[kSlots];
std::mutex slots_mutex;  // between registrations only
struct sigaction previous_action;

void WriteAll(const char* s) {
  for (size_t left = std::strlen(s); left > 0;) {
    const ssize_t n = ::write(2, s, left);
    if (n <= 0) return;
    s += n;
    left -= static_cast<size_t>(n);
  }
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (const Slot& slot : slots) {
    const uintptr_t begin = slot.begin.load(std::memory_order_acquire);
    if (begin != 0 && addr >= begin && addr < slot.end.load(std::memory_order_relaxed)) {
      WriteAll("error: ");
      WriteAll(slot.path.load(std::memory_order_relaxed));
      WriteAll(
          " changed while in use (it is shorter than when it was opened); a model file must "
          "not be modified while bitjit runs it\n");
      ::_exit(2);
    }
  }
  // Not a model file's fault: whatever handled SIGBUS before.
  if (previous_action.sa_flags & SA_SIGINFO) {
    previous_action.sa_sigaction(sig, info, context);
  } else if (previous_action.sa_handler != SIG_IGN && previous_action.sa_handler != SIG_DFL) {
    previous_action.sa_handler(sig);
  } else {
    ::signal(SIGBUS, SIG_DFL);  // returning re-runs the access, which now crashes
  }
}

}  // namespace

void RegisterMappedFile(const void* begin, size_t size, const char* path) {
  std::lock_guard<std::mutex> lock(slots_mutex);
  for (Slot& slot : slots) {
    if (slot.begin.load(std::memory_order_relaxed) != 0) continue;
    slot.end.store(reinterpret_cast<uintptr_t>(begin) + size, std::memory_order_relaxed);
    slot.path.store(path, std::memory_order_relaxed);
    slot.begin.store(reinterpret_cast<uintptr_t>(begin), std::memory_order_release);
    return;
  }
}

void UnregisterMappedFile(const void* begin) {
  std::lock_guard<std::mutex> lock(slots_mutex);
  for (Slot& slot : slots) {
    if (slot.begin.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(begin)) {
      slot.begin.store(0, std::memory_order_release);
    }
  }
}

void HandleFaultsInMappedFiles() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = OnSigbus;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &previous_action);
  });
}

}  // namespace bitjit::gguf
