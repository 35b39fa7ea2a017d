#include "core/util/clock.h"

#include <chrono>

namespace ktlog {

uint64_t RealClock::NowMillis() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

const RealClock* RealClock::Get() {
  static const RealClock* clock = new RealClock();
  return clock;
}

uint64_t SteadyClock::NowMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const SteadyClock* SteadyClock::Get() {
  static const SteadyClock* clock = new SteadyClock();
  return clock;
}

}  // namespace ktlog
