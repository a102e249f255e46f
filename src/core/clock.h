#pragma once
// The time, injected: services and scans ask a Clock, so that tests fix the time instead of
// waiting for it.
//
// Example:
//   SystemClock clock;
//   int64_t started = clock.now();

#include <cstdint>
#include <ctime>

namespace mamori {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now() const = 0;  // unix seconds
};

class SystemClock final : public Clock {
 public:
  int64_t now() const override { return static_cast<int64_t>(std::time(nullptr)); }
};

}  // namespace mamori
