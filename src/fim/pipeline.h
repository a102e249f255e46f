#pragma once
// Hashing threads that keep the walk's order (internal to the FIM engine).

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mamori::fim::detail {

// Streams items through hashing threads while keeping their order: the walk goes on while
// earlier files are hashed (no batch barrier where one large file idles the other cores), and
// the sink sees items in walk order, on the producer's thread. At most `window` items are in
// flight, so memory stays bounded. With threads <= 1 everything runs inline.
template <typename T>
class OrderedPipeline {
 public:
  OrderedPipeline(unsigned threads, size_t window, std::function<void(T&)> hash,
                  std::function<void(T&)> sink)
      : window_(window), hash_(std::move(hash)), sink_(std::move(sink)) {
    if (threads > 1)
      for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~OrderedPipeline() { finish(); }

  void push(T item, bool needs_hash) {
    if (workers_.empty()) {
      if (needs_hash) hash_(item);
      sink_(item);
      return;
    }
    std::vector<T> ready;
    {
      std::unique_lock l(m_);
      done_cv_.wait(l, [&] { return q_.size() < window_ || q_.front().done; });
      take_ready(ready);
      q_.push_back({std::move(item), !needs_hash});
      if (needs_hash) {
        pending_.push_back(head_ + q_.size() - 1);
        work_cv_.notify_one();
      }
    }
    for (auto& r : ready) sink_(r);
  }

  void finish() {
    if (workers_.empty()) return;
    for (;;) {
      std::vector<T> ready;
      {
        std::unique_lock l(m_);
        done_cv_.wait(l, [&] { return q_.empty() || q_.front().done; });
        if (q_.empty()) break;
        take_ready(ready);
      }
      for (auto& r : ready) sink_(r);
    }
    {
      std::lock_guard l(m_);
      closing_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

 private:
  struct Slot {
    T item;
    bool done;
  };
  void take_ready(std::vector<T>& ready) {
    while (!q_.empty() && q_.front().done) {
      ready.push_back(std::move(q_.front().item));
      q_.pop_front();
      ++head_;
    }
  }
  void work() {
    for (;;) {
      Slot* slot;
      {
        std::unique_lock l(m_);
        work_cv_.wait(l, [&] { return closing_ || !pending_.empty(); });
        if (pending_.empty()) return;
        slot = &q_[pending_.front() - head_];  // deque references survive push_back
        pending_.pop_front();
      }
      hash_(slot->item);
      {
        std::lock_guard l(m_);
        slot->done = true;
      }
      done_cv_.notify_all();
    }
  }

  size_t window_;
  std::function<void(T&)> hash_, sink_;
  std::mutex m_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Slot> q_;
  std::deque<uint64_t> pending_;
  uint64_t head_ = 0;
  bool closing_ = false;
  std::vector<std::thread> workers_;
};

// OrderedPipeline in batches: one lock round per batch instead of per file.
template <typename T>
class BatchPipeline {
 public:
  BatchPipeline(unsigned threads, std::function<void(T&)> work, std::function<void(T&)> sink)
      : pipe_(
            threads, 64,
            [work = std::move(work)](std::vector<T>& b) {
              for (auto& x : b) work(x);
            },
            [sink = std::move(sink)](std::vector<T>& b) {
              for (auto& x : b) sink(x);
            }) {
    cur_.reserve(kBatch);
  }
  void push(T item) {
    cur_.push_back(std::move(item));
    if (cur_.size() >= kBatch) flush();
  }
  void finish() {
    flush();
    pipe_.finish();
  }

 private:
  static constexpr size_t kBatch = 128;
  void flush() {
    if (cur_.empty()) return;
    pipe_.push(std::move(cur_), true);
    cur_ = {};
    cur_.reserve(kBatch);
  }
  OrderedPipeline<std::vector<T>> pipe_;
  std::vector<T> cur_;
};

}  // namespace mamori::fim::detail
