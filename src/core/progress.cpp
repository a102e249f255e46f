#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/text.h"

namespace mamori {

Progress::Progress(bool enabled, std::string label, std::chrono::milliseconds delay)
    : label_(std::move(label)), delay_(delay) {
  if (enabled && ::isatty(STDERR_FILENO)) thread_ = std::thread([this] { run(); });
}

Progress::~Progress() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Progress::update(std::string status) {
  std::lock_guard lock(mu_);
  status_ = std::move(status);
}

void Progress::run() {
  static constexpr const char* kSpin[] = {"|", "/", "-", "\\"};
  std::unique_lock lock(mu_);
  if (cv_.wait_for(lock, delay_, [this] { return stop_; })) return;
  auto start = std::chrono::steady_clock::now() - delay_;
  for (unsigned tick = 0; !stop_; ++tick) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string line = sanitize(status_);
    if (line.size() > 60) line = line.substr(0, 57) + "...";
    std::fprintf(stderr, "\r\033[K%s %s %s (%.1fs)", kSpin[tick % 4], label_.c_str(), line.c_str(),
                 secs);
    std::fflush(stderr);
    drawn_ = true;
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
  }
  if (drawn_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

}  // namespace mamori
