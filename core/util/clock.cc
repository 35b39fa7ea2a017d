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

}  // namespace ktlog
