#include "fim/watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/fd.h"
#include "core/text.h"
#include "fim/internal.h"

namespace mamori::fim {

using namespace detail;
using Clock = std::chrono::steady_clock;

Result<WatchBackend> parse_backend(std::string_view s) {
  if (s == "auto") return WatchBackend::kAuto;
  if (s == "fanotify") return WatchBackend::kFanotify;
  if (s == "inotify") return WatchBackend::kInotify;
  return Error::invalid("unknown watch backend '" + std::string(s) + "' (auto, fanotify, inotify)");
}

std::string writer_text(int pid, std::string_view exe, std::string_view comm, int64_t uid) {
  if (pid <= 0) return "";
  std::string s = fmt::format("pid {}", pid);
  if (!exe.empty()) s += " " + sanitize(exe);
  if (!comm.empty()) s += fmt::format(" ({})", sanitize(comm));
  if (uid >= 0) s += fmt::format(", uid {}", uid);
  if (exe.empty() && comm.empty()) s += " (exited before it could be identified)";
  return s;
}

namespace {

// The process behind an event, read from /proc while it (probably) still runs.
struct Who {
  int pid = 0;
  std::string exe, comm;
  int64_t uid = -1;
  std::string text() const { return writer_text(pid, exe, comm, uid); }
};

Who who_of(int pid) {
  Who w;
  w.pid = pid;
  if (pid <= 0) return w;
  char buf[4096];
  ssize_t n = ::readlink(fmt::format("/proc/{}/exe", pid).c_str(), buf, sizeof buf - 1);
  if (n > 0) w.exe.assign(buf, static_cast<size_t>(n));
  // /proc files report size 0: read them as streams.
  std::ifstream comm(fmt::format("/proc/{}/comm", pid));
  std::getline(comm, w.comm);
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("Uid:")) {
      w.uid = std::atoll(line.c_str() + 4);
      break;
    }
  return w;
}

struct RawEvent {
  std::string path;  // in-root absolute
  Who who;
  bool dir = false;
};

}  // namespace

// Records are packed (a name makes the next one unaligned): every field is copied out with
// memcpy, never read through a cast pointer; lengths are checked against the buffer.
void detail::decode_fanotify(const char* buf, size_t n,
                             const std::function<void(const FanEvent&)>& fn) {
  size_t off = 0;
  while (off + sizeof(fanotify_event_metadata) <= n) {
    fanotify_event_metadata md;
    std::memcpy(&md, buf + off, sizeof md);
    if (md.event_len < sizeof md || md.metadata_len < sizeof md || md.event_len > n - off) break;
    const char* ev = buf + off;
    off += md.event_len;
    if (md.vers != FANOTIFY_METADATA_VERSION) continue;
    FanEvent out;
    out.mask = md.mask;
    out.pid = md.pid;
    out.overflow = (md.mask & FAN_Q_OVERFLOW) != 0;
    if (!out.overflow && md.metadata_len <= md.event_len) {
      const char* p = ev + md.metadata_len;
      const char* end = ev + md.event_len;
      while (static_cast<size_t>(end - p) >= sizeof(fanotify_event_info_header)) {
        fanotify_event_info_header hdr;
        std::memcpy(&hdr, p, sizeof hdr);
        if (hdr.len < sizeof hdr || hdr.len > static_cast<size_t>(end - p)) break;
        const char* rec_end = p + hdr.len;
        if (hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME ||
            hdr.info_type == FAN_EVENT_INFO_TYPE_DFID) {
          const char* q = p + sizeof hdr;
          file_handle head;
          if (static_cast<size_t>(rec_end - q) >= sizeof(__kernel_fsid_t) + sizeof head) {
            std::memcpy(&head, q + sizeof(__kernel_fsid_t), sizeof head);
            size_t total = sizeof(__kernel_fsid_t) + sizeof head + head.handle_bytes;
            if (head.handle_bytes <= MAX_HANDLE_SZ && total <= static_cast<size_t>(rec_end - q)) {
              out.key.assign(q, total);
              const char* name = q + total;
              if (hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME && name < rec_end)
                out.name.assign(name, ::strnlen(name, static_cast<size_t>(rec_end - name)));
              break;
            }
          }
        }
        p = rec_end;
      }
    }
    fn(out);
  }
}

namespace {

class Source {
 public:
  virtual ~Source() = default;
  virtual int fd() const = 0;
  virtual const char* name() const = 0;
  // Appends what the kernel reported; sets overflow when events were lost.
  virtual void read(std::vector<RawEvent>& out, bool& overflow) = 0;
  // A directory appeared (inotify must watch it; fanotify already sees everything).
  virtual void directory_added(const std::string&) {}
};

bool pseudo(std::string_view p) {
  for (std::string_view x : {"/proc", "/sys", "/dev", "/run"})
    if (p == x || (p.starts_with(x) && p[x.size()] == '/')) return true;
  return false;
}

// The root as the kernel names it (absolute, symlinks resolved).
std::string real_root(const Root& root) {
  char buf[PATH_MAX];
  std::string r =
      ::realpath(root.path("/").c_str(), buf) ? std::string(buf) : root.path("/").string();
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return r;
}

// Host path (as the kernel names it) → in-root path ("" when outside the root).
std::string in_root(const std::string& r, const std::string& host) {
  if (r == "/" || r.empty()) return host;
  if (host == r) return "/";
  if (host.starts_with(r) && host[r.size()] == '/') return host.substr(r.size());
  return "";
}

std::string join(const std::string& dir, std::string_view name) {
  if (name.empty() || name == ".") return dir;
  return (dir == "/" ? "" : dir) + "/" + std::string(name);
}

// fanotify with FAN_MARK_FILESYSTEM and FAN_REPORT_DFID_NAME: one mark sees every change on a
// filesystem, and each event carries the directory handle, the name and the pid.
class FanotifySource : public Source {
 public:
  static Result<std::unique_ptr<Source>> open(const Root& root,
                                              const std::vector<std::string>& paths,
                                              std::string& detail_out) {
    int fd = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
                             O_RDONLY | O_CLOEXEC | O_LARGEFILE);
    if (fd < 0) return Error::unavailable(fmt::format("fanotify_init: {}", std::strerror(errno)));
    auto src = std::unique_ptr<FanotifySource>(new FanotifySource(root, fd));
    const uint64_t mask = FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO |
                          FAN_CLOSE_WRITE | FAN_MODIFY | FAN_ATTRIB | FAN_ONDIR;
    std::set<dev_t> marked;
    for (const auto& p : paths) {
      std::string host = root.path(p).string();
      struct stat st {};
      if (::lstat(host.c_str(), &st) != 0 || !marked.insert(st.st_dev).second) continue;
      if (::fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, host.c_str()) !=
          0)
        return Error::unavailable(
            fmt::format("fanotify_mark {}: {}", sanitize(host), std::strerror(errno)));
      // An fd on the filesystem, to turn the events' handles back into paths (not O_PATH:
      // open_by_handle_at does not accept one).
      UniqueFd mfd(::open(host.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
      struct statfs sfs {};
      if (!mfd || ::fstatfs(mfd.get(), &sfs) != 0)
        return Error::unavailable(fmt::format("{}: {}", sanitize(host), std::strerror(errno)));
      __kernel_fsid_t fsid;
      std::memcpy(&fsid, &sfs.f_fsid, sizeof fsid);
      src->mounts_.push_back({fsid, std::move(mfd)});
    }
    detail_out = fmt::format("{} filesystem(s)", marked.size());
    return std::unique_ptr<Source>(std::move(src));
  }
  int fd() const override { return fd_.get(); }
  const char* name() const override { return "fanotify"; }

  void read(std::vector<RawEvent>& out, bool& overflow) override {
    static thread_local std::vector<char> buf(256 * 1024);
    std::unordered_map<int, Who> who_cache;
    for (;;) {
      ssize_t len = ::read(fd_.get(), buf.data(), buf.size());
      if (len <= 0) return;  // EAGAIN: drained
      decode_fanotify(buf.data(), static_cast<size_t>(len), [&](const FanEvent& ev) {
        if (ev.overflow) {
          overflow = true;
          return;
        }
        if (ev.pid == ::getpid() || ev.key.empty()) return;  // our own store writes
        // A filesystem mark sees the whole filesystem: resolving every handle would cost two
        // syscalls per event of every process. Directory paths are cached (a directory's path
        // changes only by a rename, and every directory rename clears the cache).
        if ((ev.mask & (FAN_MOVED_FROM | FAN_MOVED_TO)) && (ev.mask & FAN_ONDIR)) dirs_.clear();
        auto hit = dirs_.find(ev.key);
        if (hit == dirs_.end()) {
          auto dir = resolve(ev.key);
          if (!dir) return;
          if (dirs_.size() > 65536) dirs_.clear();
          hit = dirs_.emplace(ev.key, std::move(*dir)).first;
        }
        if (hit->second.empty()) return;  // outside the root: not ours
        std::string p = in_root(real_root_, join(hit->second, ev.name));
        if (p.empty()) return;
        auto it = who_cache.find(ev.pid);
        if (it == who_cache.end()) it = who_cache.emplace(ev.pid, who_of(ev.pid)).first;
        out.push_back({std::move(p), it->second, (ev.mask & FAN_ONDIR) != 0});
      });
    }
  }

 private:
  struct Mount {
    __kernel_fsid_t fsid;
    UniqueFd fd;
  };
  FanotifySource(const Root& root, int fd) : real_root_(real_root(root)), fd_(fd) {}

  // The directory's path, "" when it is outside the root; nullopt when it cannot be resolved.
  std::optional<std::string> resolve(const std::string& key) {
    __kernel_fsid_t fsid;
    union {
      file_handle fh;
      char bytes[sizeof(file_handle) + MAX_HANDLE_SZ];
    } h{};
    if (key.size() < sizeof fsid + sizeof(file_handle) || key.size() - sizeof fsid > sizeof h.bytes)
      return std::nullopt;
    std::memcpy(&fsid, key.data(), sizeof fsid);
    std::memcpy(h.bytes, key.data() + sizeof fsid, key.size() - sizeof fsid);
    int mfd = -1;
    for (const auto& m : mounts_)
      if (std::memcmp(&m.fsid, &fsid, sizeof m.fsid) == 0) mfd = m.fd.get();
    if (mfd < 0) return std::nullopt;  // another filesystem we did not mark
    UniqueFd dfd(::open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC));
    if (!dfd) return std::nullopt;  // the directory is gone (its removal is an event too)
    char link[4096];
    ssize_t n =
        ::readlink(fmt::format("/proc/self/fd/{}", dfd.get()).c_str(), link, sizeof link - 1);
    if (n <= 0) return std::nullopt;
    std::string dir(link, static_cast<size_t>(n));
    if (dir.ends_with(" (deleted)")) return std::nullopt;
    if (real_root_ != "/" && dir != real_root_ &&
        !(dir.starts_with(real_root_) && dir[real_root_.size()] == '/'))
      return std::string();
    return dir;
  }

  std::string real_root_;
  UniqueFd fd_;
  std::vector<Mount> mounts_;
  std::unordered_map<std::string, std::string> dirs_;  // handle → host path ("" = not ours)
};

// inotify: one watch per directory (added as directories appear). It does not say who.
class InotifySource : public Source {
 public:
  static Result<std::unique_ptr<Source>> open(
      const Root& root, const Policy& pol, const std::vector<std::string>& paths,
      std::string& detail_out, const std::function<void(const std::string&)>& notice) {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return Error::unavailable(fmt::format("inotify_init1: {}", std::strerror(errno)));
    auto src = std::unique_ptr<InotifySource>(new InotifySource(root, pol, fd, notice));
    for (const auto& p : paths) src->add_tree(p, true);
    detail_out = fmt::format("{} directories", src->dirs_.size());
    return std::unique_ptr<Source>(std::move(src));
  }
  int fd() const override { return fd_.get(); }
  const char* name() const override { return "inotify"; }

  void read(std::vector<RawEvent>& out, bool& overflow) override {
    alignas(inotify_event) char buf[64 * 1024];
    for (;;) {
      ssize_t len = ::read(fd_.get(), buf, sizeof buf);
      if (len <= 0) return;
      for (char* p = buf; p < buf + len;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        p += sizeof(inotify_event) + ev->len;
        if (ev->mask & IN_Q_OVERFLOW) {
          overflow = true;
          continue;
        }
        auto it = dirs_.find(ev->wd);
        if (it == dirs_.end()) continue;
        if (ev->mask & IN_IGNORED) {
          dirs_.erase(it);
          continue;
        }
        std::string path = ev->len ? join(it->second, ev->name) : it->second;
        out.push_back({path, Who{}, (ev->mask & IN_ISDIR) != 0});
      }
    }
  }
  void directory_added(const std::string& dir) override { add_tree(dir, false); }

 private:
  InotifySource(const Root& root, const Policy& pol, int fd,
                std::function<void(const std::string&)> notice)
      : root_(root), pol_(pol), fd_(fd), notice_(std::move(notice)) {}

  void add_tree(const std::string& top, bool is_top) {
    std::vector<std::string> stack{top};
    struct stat top_st {};
    if (::lstat(root_.path(top).c_str(), &top_st) != 0) return;
    while (!stack.empty()) {
      std::string dir = stack.back();
      stack.pop_back();
      if (pseudo(dir) || (!is_top && pol_.excluded(dir)) || (dir != top && pol_.excluded(dir)))
        continue;
      std::string host = root_.path(dir).string();
      struct stat st {};
      if (::lstat(host.c_str(), &st) != 0) continue;
      if (pol_.one_filesystem && st.st_dev != top_st.st_dev) continue;
      uint32_t mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
                      IN_MODIFY | IN_ATTRIB | IN_DONT_FOLLOW | IN_EXCL_UNLINK;
      if (S_ISDIR(st.st_mode)) mask |= IN_ONLYDIR;
      int wd = ::inotify_add_watch(fd_.get(), host.c_str(), mask);
      if (wd < 0) {
        if (errno == ENOSPC && !limit_warned_) {
          limit_warned_ = true;
          if (notice_)
            notice_("inotify watch limit reached: directories from " + sanitize(dir) +
                    " on are NOT watched (raise fs.inotify.max_user_watches, or run as root for "
                    "fanotify)");
        }
        continue;
      }
      dirs_[wd] = dir;
      if (!S_ISDIR(st.st_mode)) continue;
      if (DIR* d = ::opendir(host.c_str())) {
        while (dirent* de = ::readdir(d)) {
          std::string_view n = de->d_name;
          if (n == "." || n == "..") continue;
          if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
            std::string child = join(dir, n);
            struct stat cst {};
            if (::lstat(root_.path(child).c_str(), &cst) == 0 && S_ISDIR(cst.st_mode))
              stack.push_back(std::move(child));
          }
        }
        ::closedir(d);
      }
    }
  }

  const Root& root_;
  const Policy& pol_;
  UniqueFd fd_;
  std::function<void(const std::string&)> notice_;
  std::unordered_map<int, std::string> dirs_;
  bool limit_warned_ = false;
};

struct Pending {
  Clock::time_point first, last;
  Who who;
};

class Watcher {
 public:
  Watcher(const Root& root, std::string baseline, const WatchOptions& opts)
      : root_(root), baseline_(std::move(baseline)), opts_(opts) {}

  Status run() {
    MAMORI_TRY(for_each_entry(baseline_, info_,
                              [this](Entry&& e) {
                                std::string p = e.path;
                                index_.emplace(std::move(p), std::move(e));
                              }),
               "fim watch");
    packages_.load(root_);
    std::string detail;
    std::unique_ptr<Source> src;
    if (opts_.backend != WatchBackend::kInotify) {
      auto f = FanotifySource::open(root_, info_.paths, detail);
      if (f) {
        src = std::move(*f);
      } else if (opts_.backend == WatchBackend::kFanotify) {
        return f.error().with_context("fim watch");
      } else {
        notice(f.error().message + "; falling back to inotify (it cannot say who changed a file)");
      }
    }
    if (!src) {
      auto i = InotifySource::open(root_, info_.policy, info_.paths, detail, opts_.on_notice);
      if (!i) return i.error().with_context("fim watch");
      src = std::move(*i);
    }
    src_ = src.get();
    notice(fmt::format("watching {} ({} baseline entries) with {} on {}",
                       fmt::join(info_.paths, " "), index_.size(), src->name(), detail));
    std::vector<RawEvent> events;
    while (!(opts_.stop && opts_.stop())) {
      pollfd pfd{src->fd(), POLLIN, 0};
      int timeout = pending_.empty() ? 100 : 20;
      int r = ::poll(&pfd, 1, timeout);
      if (r < 0 && errno != EINTR) return errno_error("fim watch: poll", errno);
      bool overflow = false;
      events.clear();
      if (r > 0) src->read(events, overflow);
      auto now = Clock::now();
      for (auto& ev : events) note(std::move(ev), now);
      if (overflow) rescan();
      flush(now, false);
    }
    flush(Clock::now(), true);
    return ok();
  }

 private:
  void notice(const std::string& s) {
    if (opts_.on_notice) opts_.on_notice(s);
  }

  bool covered(const std::string& p) const {
    return !pseudo(p) && info_.policy.rule_for(p) && !info_.policy.excluded(p);
  }

  void note(RawEvent ev, Clock::time_point now) {
    if (!covered(ev.path)) return;
    auto [it, fresh] = pending_.try_emplace(ev.path, Pending{now, now, ev.who});
    it->second.last = now;
    if (ev.who.pid > 0) it->second.who = std::move(ev.who);
    (void)fresh;
  }

  // Examines the paths whose events have settled.
  void flush(Clock::time_point now, bool all) {
    std::vector<Change> changes;
    std::vector<Who> whos;
    for (auto it = pending_.begin(); it != pending_.end();) {
      auto quiet = std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.last);
      auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.first);
      if (!all && quiet.count() < opts_.quiet_ms && age.count() < opts_.max_delay_ms) {
        ++it;
        continue;
      }
      examine(it->first, it->second.who, changes, whos);
      it = pending_.erase(it);
    }
    report(std::move(changes), whos, "");
  }

  // Compares one path (and, for a directory that appeared or vanished, what is under it).
  void examine(const std::string& path, const Who& who, std::vector<Change>& changes,
               std::vector<Who>& whos) {
    Entry cur;
    cur.path = path;
    InRoot where = in_root_file(root_, path);
    bool exists = !where.missing && stat_entry(where.host, cur, where.at());
    if (exists && wants_hash(info_.policy, cur))
      hash_entry(where.host, info_.hash, cur, where.at());
    auto base = index_.find(path);
    const Who& by = who;
    auto add = [&](Change c) { push(std::move(c), by, changes, whos); };
    if (!exists && base == index_.end()) {
      reported_.erase(path);
      return;  // a temporary file that came and went
    }
    if (exists && base == index_.end()) {
      add(Change{Change::kAdded, Entry{}, cur, {}, "", Change::kNotPackaged});
      if (cur.type == 'd') {
        // A tree moved in arrives as one event: look at everything inside it.
        if (src_) src_->directory_added(path);
        scan_new_tree(path, changes, whos, by);
      }
      return;
    }
    if (!exists) {
      add(Change{Change::kRemoved, base->second, Entry{}, {}, "", Change::kNotPackaged});
      if (base->second.type == 'd') {
        // Everything the baseline had under a vanished directory is gone too.
        std::string prefix = path == "/" ? "/" : path + "/";
        for (auto it = index_.lower_bound(prefix);
             it != index_.end() && it->first.starts_with(prefix); ++it) {
          if (!root_.exists(it->first))
            add(Change{Change::kRemoved, it->second, Entry{}, {}, "", Change::kNotPackaged});
        }
      }
      return;
    }
    const Rule* rule = info_.policy.rule_for(path);
    auto d = differences(base->second, cur, info_.hash, rule ? rule->attrs : kAttrAll);
    if (d.empty()) {
      reported_.erase(path);  // back as recorded
      return;
    }
    add(Change{Change::kChanged, base->second, cur, std::move(d), "", Change::kNotPackaged});
  }

  void scan_new_tree(const std::string& top, std::vector<Change>& changes, std::vector<Who>& whos,
                     const Who& by) {
    std::vector<std::string> stack{top};
    size_t budget = 100000;  // a huge tree: the rest is left to `fim check`
    while (!stack.empty() && budget > 0) {
      std::string dir = stack.back();
      stack.pop_back();
      auto dfd = root_.open_dir(dir);
      DIR* d = dfd ? ::fdopendir(dfd->get()) : nullptr;
      if (!d) continue;
      dfd->release();  // the stream owns it now
      std::vector<std::string> names;
      while (dirent* de = ::readdir(d)) {
        std::string_view n = de->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
      }
      ::closedir(d);
      for (const auto& n : names) {
        if (--budget == 0) break;
        std::string p = join(dir, n);
        if (!covered(p) || index_.contains(p)) continue;
        Entry e;
        e.path = p;
        InRoot where = in_root_file(root_, p);
        if (where.missing || !stat_entry(where.host, e, where.at())) continue;
        if (wants_hash(info_.policy, e)) hash_entry(where.host, info_.hash, e, where.at());
        push(Change{Change::kAdded, Entry{}, e, {}, "", Change::kNotPackaged}, by, changes, whos);
        if (e.type == 'd') stack.push_back(p);
      }
    }
    if (budget == 0)
      notice("a very large tree appeared under " + sanitize(top) +
             ": only its first 100000 entries were examined; run 'mamori fim check'");
  }

  // Queues a change unless the same state of that path was already reported.
  void push(Change c, const Who& by, std::vector<Change>& changes, std::vector<Who>& whos) {
    std::string key = c.kind == Change::kRemoved ? c.before.path : c.after.path;
    judge_against_packages(root_, packages_, c);
    std::string sig = fmt::format("{}|{}|{}|{:o}", static_cast<int>(c.kind),
                                  fmt::join(c.differences, ";"), c.after.hash, c.after.mode);
    auto& last = reported_[key];
    if (last == sig) return;
    last = sig;
    changes.push_back(std::move(c));
    whos.push_back(by);
  }

  // Events were lost: compare everything with the baseline, as `fim check` does.
  void rescan() {
    notice(
        "the kernel's event queue overflowed: rescanning every watched path against the baseline");
    pending_.clear();
    CheckOptions co;
    auto r = check_baseline(root_, baseline_, co);
    if (!r) {
      notice("rescan failed: " + r.error().message);
      return;
    }
    std::vector<Change> changes;
    std::vector<Who> whos;
    for (auto& c : r->changes) push(std::move(c), Who{}, changes, whos);
    report(std::move(changes), whos, "found by a rescan after the event queue overflowed");
    notice(fmt::format("rescan done: {} entries checked", r->checked));
  }

  void report(std::vector<Change> changes, const std::vector<Who>& whos, const std::string& note) {
    if (changes.empty() || !opts_.on_findings) return;
    CheckResult res;
    res.baseline = info_;
    res.changes = std::move(changes);
    auto findings = fim_findings(res);
    for (size_t i = 0; i < findings.size() && i < whos.size(); ++i) {
      if (whos[i].pid > 0) {
        findings[i].evidence += "; changed by " + whos[i].text();
        // the same, for machines (web incident): the pid and uid are the kernel's
        auto& facts = findings[i].facts;
        facts["writer_pid"] = std::to_string(whos[i].pid);
        if (whos[i].uid >= 0) facts["writer_uid"] = std::to_string(whos[i].uid);
        if (!whos[i].exe.empty()) facts["writer_exe"] = valid_utf8(whos[i].exe);
        if (!whos[i].comm.empty()) facts["writer_comm"] = valid_utf8(whos[i].comm);
      } else if (!note.empty())
        findings[i].evidence += "; " + note;
      else if (src_ && std::string_view(src_->name()) == "inotify")
        findings[i].evidence += "; who changed it: not known (inotify does not tell)";
    }
    opts_.on_findings(std::move(findings));
  }

  const Root& root_;
  std::string baseline_;
  const WatchOptions& opts_;
  BaselineInfo info_;
  std::map<std::string, Entry> index_;  // sorted: a directory's entries are one range
  PackageIndex packages_;
  std::map<std::string, Pending> pending_;
  std::unordered_map<std::string, std::string> reported_;  // path → last reported state
  Source* src_ = nullptr;
};

}  // namespace

Status watch(const Root& root, const std::string& baseline, const WatchOptions& opts) {
  Watcher w(root, baseline, opts);
  return w.run();
}

}  // namespace mamori::fim
