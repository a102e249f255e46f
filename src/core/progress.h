#pragma once
// A progress line on stderr for work that takes longer than a second. It stays
// silent when stderr is not a terminal (cron, CI, pipes) or when disabled
// (-q), and shows nothing for work that finishes within the delay.
//
// Example:
//   Progress progress(/*enabled=*/!quiet, "scan");
//   progress.update("reading dpkg status");
//   ...  // the destructor erases the line

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace mamori {

class Progress {
 public:
  Progress(bool enabled, std::string label,
           std::chrono::milliseconds delay = std::chrono::milliseconds(1000));
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::string status);

 private:
  void run();

  std::string label_;
  std::string status_;
  std::chrono::milliseconds delay_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool drawn_ = false;
  std::thread thread_;
};

}  // namespace mamori
