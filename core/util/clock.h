// Clock: the injectable source of wall-clock time, so tests can control
// checkpoint timestamps, record freshness and staleness bounds.
#ifndef KTLOG_CORE_UTIL_CLOCK_H_
#define KTLOG_CORE_UTIL_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace ktlog {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual uint64_t NowMillis() const = 0;
};

// The system's real-time clock. Thread-safe.
class RealClock : public Clock {
 public:
  uint64_t NowMillis() const override;
  // A process-wide instance.
  static const RealClock* Get();
};

// Milliseconds of a monotonic clock (not wall time: it never steps back),
// for measuring intervals such as rate-limit refills. Thread-safe.
class SteadyClock : public Clock {
 public:
  uint64_t NowMillis() const override;
  static const SteadyClock* Get();
};

// A clock that only moves when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(uint64_t now_ms) : now_ms_(now_ms) {}
  uint64_t NowMillis() const override { return now_ms_.load(); }
  void Set(uint64_t now_ms) { now_ms_.store(now_ms); }
  void Advance(uint64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<uint64_t> now_ms_;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_UTIL_CLOCK_H_
