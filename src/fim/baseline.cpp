// Writing, reading and partly re-recording a baseline.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/text.h"
#include "fim/baseline_io.h"
#include "fim/fim.h"
#include "fim/internal.h"
#include "fim/pipeline.h"
#include "fim/walk.h"

namespace mamori::fim {

using namespace detail;

namespace detail {
Status for_each_entry(const std::string& baseline, BaselineInfo& info,
                      const std::function<void(Entry&&)>& fn) {
  BaselineReader rd;
  MAMORI_TRY(rd.open(baseline), "fim");
  for (;;) {
    auto e = rd.next();
    if (!e) return e.error();
    if (!*e) break;
    fn(std::move(**e));
  }
  info = rd.info();
  return ok();
}

std::string header_line(const BaselineInfo& info) {
  std::string header = fmt::format("#mamori-fim-baseline v1 hash={} created={}",
                                   hash_name(info.hash), info.created_at);
  for (const auto& p : info.paths) header += " path=" + esc(p);
  header += " policy=" + esc(info.policy.to_toml());
  return header + "\n";
}

// Writes a baseline to a temp file beside `out` (a random name, created O_EXCL|O_NOFOLLOW,
// mode 0600), renamed over it once complete.
class BaselineWriter {
 public:
  explicit BaselineWriter(std::string out) : out_(std::move(out)), tmp_(temp_path_for(out_)) {}
  ~BaselineWriter() {
    if (fd_ && !done_) ::unlink(tmp_.c_str());
  }
  Status open(const BaselineInfo& info) {
    fd_.reset(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd_) return errno_error(tmp_, errno);
    if (::fchmod(fd_.get(), 0600) != 0) return errno_error(tmp_, errno);
    EVP_DigestInit_ex(md_.get(), EVP_sha512(), nullptr);
    buf_.reserve(kChunk + 4096);
    buf_ += header_line(info);
    return ok();
  }
  void add(const Entry& e) { add_line(format_entry(e)); }
  void add_line(const std::string& line) {  // a line format_entry() made (on a worker)
    buf_ += line;
    ++entries_;
    if (buf_.size() >= kChunk) flush();  // one write(2) per megabyte of baseline
  }
  uint64_t entries() const { return entries_; }
  // The SHA-512 of everything written (valid after commit).
  const std::string& sha512() const { return sha512_; }
  Status commit() {
    buf_ += fmt::format("#end {}\n", entries_);
    flush();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md_.get(), md, &len);
    sha512_.assign(reinterpret_cast<char*>(md), len);
    if (write_errno_ != 0) return errno_error(tmp_, write_errno_);
    if (::fsync(fd_.get()) != 0) return errno_error(tmp_, errno);
    if (::close(fd_.release()) != 0) return errno_error(tmp_, errno);
    if (::rename(tmp_.c_str(), out_.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp_.c_str());
      return errno_error(out_, e);
    }
    done_ = true;
    return ok();
  }

 private:
  static constexpr size_t kChunk = 1 << 20;
  void flush() {
    EVP_DigestUpdate(md_.get(), buf_.data(), buf_.size());
    size_t off = 0;
    while (off < buf_.size() && write_errno_ == 0) {
      ssize_t n = ::write(fd_.get(), buf_.data() + off, buf_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        write_errno_ = errno;
      else
        off += static_cast<size_t>(n);
    }
    buf_.clear();
  }
  std::string out_, tmp_;
  UniqueFd fd_;
  std::string buf_;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md_{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  std::string sha512_;
  uint64_t entries_ = 0;
  int write_errno_ = 0;
  bool done_ = false;
};

}  // namespace detail

Result<BaselineInfo> write_baseline(const Root& root, const FimOptions& opts,
                                    const std::string& out, int64_t now) {
  const Policy& pol = opts.policy;
  if (pol.rules.empty()) return Error::invalid("fim init: no paths to cover");
  auto algo = parse_hash(pol.hash);
  if (!algo) return algo.error();
  BaselineInfo info;
  info.hash = *algo;
  info.created_at = now;
  info.paths = pol.paths();
  info.policy = pol;
  // The recorded policy must read back as itself, or every later check would fail.
  auto back = parse_policy(pol.to_toml(), "effective policy");
  if (!back) return back.error().with_context("fim init: the effective policy does not read back");
  BaselineWriter wr(out);
  MAMORI_TRY(wr.open(info), "fim init");
  Walker w(root, info.paths, pol);
  {
    // Workers stat, hash and format; the producer only walks and writes.
    struct Item {
      Entry e;
      DirRef dir;
      std::string line;
    };
    BatchPipeline<Item> pipe(
        thread_count(opts.threads),
        [&](Item& it) {
          if (complete_entry(root, pol, info.hash, it.e, it.dir))
            it.line = format_entry(it.e);
          else
            it.e.type = 0;
          it.dir.reset();  // the directory closes as soon as its last entry is done
        },
        [&](Item& it) {
          if (it.e.type == 0) return;  // vanished during the walk
          if (it.e.type == 'f' && it.e.hash.empty()) ++info.not_hashed;
          wr.add_line(it.line);
          if (wr.entries() % 8192 == 0 && opts.on_progress)
            opts.on_progress(fmt::format("{} entries", wr.entries()));
        });
    while (auto e = w.next()) pipe.push(Item{std::move(*e), w.parent(), {}});
    pipe.finish();
  }
  for (const auto& u : w.unreadable()) info.warnings.push_back("cannot list directory " + u);
  info.mounts_not_crossed = w.mounts_not_crossed();
  info.entries = wr.entries();
  MAMORI_TRY(wr.commit(), "fim init");
  info.sha512 = wr.sha512();
  return info;
}

Result<BaselineInfo> read_baseline_info(const std::string& baseline) {
  BaselineReader rd;
  MAMORI_TRY(rd.open(baseline), "fim");
  return rd.info();
}

Result<BaselineInfo> update_baseline_paths(const Root& root, const std::string& baseline,
                                           const std::vector<std::string>& paths,
                                           const FimOptions& opts, int64_t now,
                                           const std::string& out) {
  BaselineReader rd;
  MAMORI_TRY(rd.open(baseline), "fim update");
  BaselineInfo info = rd.info();
  const Policy& pol = info.policy;
  auto chosen = [&paths](const std::string& p) {
    return std::any_of(paths.begin(), paths.end(), [&p](const std::string& c) {
      return c == "/" || p == c || (p.starts_with(c) && p[c.size()] == '/');
    });
  };
  for (const auto& c : paths)
    if (!pol.rule_for(c))
      return Error::invalid(
          fmt::format("fim update: {} is not covered by the baseline (its paths: {})", c,
                      fmt::join(info.paths, " ")));
  info.created_at = now;
  info.warnings.clear();
  BaselineWriter wr(out.empty() ? baseline : out);
  MAMORI_TRY(wr.open(info), "fim update");
  Walker w(root, paths, pol);
  auto b = rd.next();
  if (!b) return b.error();
  std::optional<Entry> old = std::move(*b);
  {
    struct Item {
      Entry e;
      bool kept;  // from the old baseline, as it was
      DirRef dir;
    };
    BatchPipeline<Item> pipe(
        thread_count(opts.threads),
        [&](Item& it) {
          if (!it.kept && !complete_entry(root, pol, info.hash, it.e, it.dir)) it.e.type = 0;
          it.dir.reset();
        },
        [&](Item& it) {
          if (it.e.type != 0) wr.add(it.e);
        });
    // Merge: baseline entries outside the chosen paths are kept; inside, the walk replaces them.
    for (;;) {
      std::optional<Entry> cur = w.next();
      while (old && (!cur || path_less(old->path, cur->path) || old->path == cur->path)) {
        if (!chosen(old->path)) pipe.push(Item{std::move(*old), true, nullptr});
        auto n = rd.next();
        if (!n) return n.error();
        old = std::move(*n);
      }
      if (!cur) break;
      pipe.push(Item{std::move(*cur), false, w.parent()});
    }
    pipe.finish();
  }
  for (const auto& u : w.unreadable()) info.warnings.push_back("cannot list directory " + u);
  info.entries = wr.entries();
  MAMORI_TRY(wr.commit(), "fim update");
  info.sha512 = wr.sha512();
  return info;
}

}  // namespace mamori::fim
