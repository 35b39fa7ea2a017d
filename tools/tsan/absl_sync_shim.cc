// ThreadSanitizer shim for Debian's abseil (tools/dev sanitize tsan;
// docs/build.md). Debian's libabsl_synchronization is not built with TSan,
// so TSan cannot see that absl::Mutex, CondVar and Notification order
// memory: every hand-over through them would be reported as a race. This
// library, LD_PRELOADed after libtsan, interposes their out-of-line
// functions, calls the real ones (dlsym RTLD_NEXT) and tells TSan what they
// mean: a lock acquires the mutex, an unlock releases it, a notification
// releases and a wait for it acquires. abseil evaluates a waiter's
// Condition with the mutex held but inside its own code, in the waiting
// thread or in whichever thread unlocks: each Condition is wrapped so that
// its evaluation acquires and releases the mutex too. absl::Status counts
// its references inline (seen) but drops them out of line (not seen): those
// unrefs run one at a time under a mutex TSan sees, so the one that frees
// follows every earlier use.
//
// Built by tools/dev with g++ -shared; not part of any shipped binary.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {

#define SHIM_STR_(v) #v
#define SHIM_STR(v) SHIM_STR_(v)
#define ABSL_SONAME(lib) \
  "libabsl_" lib ".so." SHIM_STR(ABSL_LTS_RELEASE_VERSION)

// The real function: next in the global scope, or, when abseil was loaded
// privately (a Python extension module dlopen()ed with RTLD_LOCAL), from
// the abseil library that defines it.
template <class Fn>
Fn Real(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  for (const char* lib :
       {ABSL_SONAME("synchronization"), ABSL_SONAME("status")}) {
    if (f != nullptr) break;
    void* handle = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
    if (handle != nullptr) f = dlsym(handle, name);
  }
  if (f == nullptr) {
    fprintf(stderr, "absl_sync_shim: %s not found\n", name);
    abort();
  }
  return reinterpret_cast<Fn>(f);
}

// A Condition whose evaluation TSan sees as done under `mu`. Lives on the
// stack of the wait that uses it.
struct Watched {
  const absl::Condition* condition;
  absl::Mutex* mu;
};

bool EvalWatched(void* arg) {
  auto* w = static_cast<Watched*>(arg);
  __tsan_acquire(w->mu);
  bool result = w->condition->Eval();
  __tsan_release(w->mu);
  return result;
}

}  // namespace

// Declares `watched`, a Condition standing for `c` evaluated under `this`.
#define WATCH(c)          \
  Watched w_{&(c), this}; \
  const Condition watched(&EvalWatched, static_cast<void*>(&w_))

#define REAL(type, name) static const auto real = Real<type>(name)

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex4LockEv");
  real(this);
  __tsan_acquire(this);
}
void Mutex::Unlock() {
  REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex6UnlockEv");
  __tsan_release(this);
  real(this);
}
void Mutex::ReaderLock() {
  REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  real(this);
  __tsan_acquire(this);
}
void Mutex::ReaderUnlock() {
  REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  __tsan_release(this);
  real(this);
}
bool Mutex::TryLock() {
  REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex7TryLockEv");
  bool ok = real(this);
  if (ok) __tsan_acquire(this);
  return ok;
}
bool Mutex::ReaderTryLock() {
  REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex13ReaderTryLockEv");
  bool ok = real(this);
  if (ok) __tsan_acquire(this);
  return ok;
}
void Mutex::Await(const Condition& c) {
  REAL(void (*)(Mutex*, const Condition&),
       "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  WATCH(c);
  __tsan_release(this);
  real(this, watched);
  __tsan_acquire(this);
}
bool Mutex::AwaitWithTimeout(const Condition& c, absl::Duration d) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Duration),
       "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_"
       "8DurationE");
  WATCH(c);
  __tsan_release(this);
  bool ok = real(this, watched, d);
  __tsan_acquire(this);
  return ok;
}
bool Mutex::AwaitWithDeadline(const Condition& c, absl::Time t) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Time),
       "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  WATCH(c);
  __tsan_release(this);
  bool ok = real(this, watched, t);
  __tsan_acquire(this);
  return ok;
}
void Mutex::LockWhen(const Condition& c) {
  REAL(void (*)(Mutex*, const Condition&),
       "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE");
  WATCH(c);
  real(this, watched);
  __tsan_acquire(this);
}
bool Mutex::LockWhenWithTimeout(const Condition& c, absl::Duration d) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Duration),
       "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_"
       "8DurationE");
  WATCH(c);
  bool ok = real(this, watched, d);
  __tsan_acquire(this);
  return ok;
}
bool Mutex::LockWhenWithDeadline(const Condition& c, absl::Time t) {
  REAL(bool (*)(Mutex*, const Condition&, absl::Time),
       "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_"
       "4TimeE");
  WATCH(c);
  bool ok = real(this, watched, t);
  __tsan_acquire(this);
  return ok;
}
void CondVar::Wait(Mutex* mu) {
  REAL(void (*)(CondVar*, Mutex*),
       "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  __tsan_release(mu);
  real(this, mu);
  __tsan_acquire(mu);
}
bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration d) {
  REAL(bool (*)(CondVar*, Mutex*, absl::Duration),
       "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  __tsan_release(mu);
  bool ok = real(this, mu, d);
  __tsan_acquire(mu);
  return ok;
}
bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time t) {
  REAL(bool (*)(CondVar*, Mutex*, absl::Time),
       "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  __tsan_release(mu);
  bool ok = real(this, mu, t);
  __tsan_acquire(mu);
  return ok;
}
void Notification::Notify() {
  REAL(void (*)(Notification*), "_ZN4absl7debian312Notification6NotifyEv");
  __tsan_release(this);
  real(this);
}
void Notification::WaitForNotification() const {
  REAL(void (*)(const Notification*),
       "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}
bool Notification::WaitForNotificationWithTimeout(absl::Duration d) const {
  REAL(bool (*)(const Notification*, absl::Duration),
       "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_"
       "8DurationE");
  bool ok = real(this, d);
  if (ok) __tsan_acquire(const_cast<Notification*>(this));
  return ok;
}
bool Notification::WaitForNotificationWithDeadline(absl::Time t) const {
  REAL(bool (*)(const Notification*, absl::Time),
       "_ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_"
       "4TimeE");
  bool ok = real(this, t);
  if (ok) __tsan_acquire(const_cast<Notification*>(this));
  return ok;
}

void Status::UnrefNonInlined(uintptr_t rep) {
  REAL(void (*)(uintptr_t), "_ZN4absl7debian36Status15UnrefNonInlinedEm");
  // One unref at a time: the pthread mutex (which TSan sees) orders each
  // thread's uses of the status before the unref that frees it, whose
  // check of the count comes after every earlier unref's decrement.
  static std::mutex one_at_a_time;
  std::lock_guard<std::mutex> lock(one_at_a_time);
  real(rep);
}

ABSL_NAMESPACE_END
}  // namespace absl
