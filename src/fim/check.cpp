// Comparing the files with a baseline, and the severity of what changed.
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

Result<CheckResult> check_baseline(const Root& root, const std::string& baseline,
                                   const CheckOptions& opts) {
  BaselineReader rd;
  MAMORI_TRY(rd.open(baseline), "fim check");
  CheckResult res;
  HashAlgo algo = rd.info().hash;
  Policy& pol = rd.info().policy;
  for (const auto& x : opts.excludes) pol.exclude.push_back(x);
  // dpkg's checksums are needed only to judge a change: read them at the first one.
  std::optional<PackageIndex> packages;
  auto judge_pkg = [&](Change& c) {
    if (!packages) {
      packages.emplace();
      packages->load(root);
    }
    judge_against_packages(root, *packages, c);
  };
  Walker w(root, rd.info().paths, pol);
  // A baseline line is parsed on a worker; the merge needs only its path.
  struct Item {
    RawLine before;
    std::optional<Entry> old;
    std::optional<Entry> after;
    bool hashed = false;
    std::string error;
    DirRef dir;
    std::vector<std::string> diffs;  // before → after, when both exist (worked out on a worker)
  };
  // Entries present before and after are compared on the worker, and the unchanged ones
  // (nearly all) emptied there, so that the ordered sink on the walking thread stays light.
  auto compare = [&](Item& it) {
    const Rule* rule = pol.rule_for(it.after->path);
    it.diffs = differences(*it.old, *it.after, algo, rule ? rule->attrs : kAttrAll);
    if (it.diffs.empty()) {
      it.old.reset();
      it.after.reset();
      it.before = RawLine{};
    }
  };
  std::string first_error;
  BatchPipeline<Item> pipe(
      thread_count(opts.threads),
      [&](Item& it) {
        if (!it.before.line.empty()) {
          auto e = parse_baseline_entry(it.before.line, it.before.lineno, baseline);
          if (!e) {
            it.error = e.error().message;
            return;
          }
          it.old = std::move(*e);
        }
        if (!it.after) return;
        Entry& a = *it.after;
        const Entry* o = it.old ? &*it.old : nullptr;
        At at = at_of(it.dir, a.path);
        DirRef keep = std::move(it.dir);  // released when this item is done
        if (a.type == kUnstatedRegular) {
          // --full reads everything anyway: open first (complete_regular), as init does.
          if (opts.full && complete_regular(pol, algo, a, at)) {
            it.hashed = !a.hash.empty();
            if (o) compare(it);
            return;
          }
          a.type = 0;
        }
        // The host path is needed where there is no directory fd (top paths) and to read
        // extended attributes (lgetxattr): built only then.
        std::string host = at.dirfd >= 0 ? std::string() : root.path(a.path).string();
        if (a.type == 0) {
          if (!stat_basic(host, a, at)) {
            it.after.reset();  // vanished during the walk: as good as removed
            return;
          }
          // Extended attributes and symlink targets cannot change without the ctime changing
          // (setxattr and a new symlink both set it): the default mode re-reads them only then.
          if (!opts.full && o && o->type == a.type && o->inode == a.inode &&
              o->ctime_ns == a.ctime_ns) {
            a.xattrs = o->xattrs;
            a.target = o->target;
          } else {
            if (host.empty()) host = root.path(a.path).string();
            stat_extras(host, a, at);
          }
        }
        if (wants_hash(pol, a)) {
          const Entry* b = o;
          bool changed_meta = !b || b->size != a.size || b->mtime_ns != a.mtime_ns ||
                              b->ctime_ns != a.ctime_ns || b->inode != a.inode || b->type != 'f';
          if (opts.full || changed_meta) {
            hash_entry(host, algo, a, at);
            it.hashed = true;
          } else {
            a.hash = b->hash;  // trusted: unchanged size, mtime, ctime and inode
          }
        }
        if (o) compare(it);
      },
      [&](Item& it) {
        if (!it.error.empty()) {
          if (first_error.empty()) first_error = it.error;
          return;
        }
        if (it.hashed) ++res.hashed;
        if (++res.checked % 8192 == 0 && opts.on_progress)
          opts.on_progress(fmt::format("{} entries checked", res.checked));
        auto& before = it.old;
        auto& after = it.after;
        if (!before && !after) return;
        if (!before) {
          res.changes.push_back({Change::kAdded, Entry{}, *after, {}, "", Change::kNotPackaged});
          judge_pkg(res.changes.back());
        } else if (!after) {
          res.changes.push_back({Change::kRemoved, *before, Entry{}, {}, "", Change::kNotPackaged});
        } else {
          res.changes.push_back(
              {Change::kChanged, *before, *after, std::move(it.diffs), "", Change::kNotPackaged});
          judge_pkg(res.changes.back());
        }
      });
  auto unreadable_parent = [&](const std::string& p) {
    for (const auto& u : w.unreadable()) {
      std::string dir = u.substr(0, u.rfind(": "));
      if (p.starts_with(dir) && p.size() > dir.size() && p[dir.size()] == '/') return true;
    }
    return false;
  };
  // Merge the walk with the baseline (both in path_less order).
  auto b = rd.next_raw();
  if (!b) return b.error();
  std::optional<RawLine> old = std::move(*b);
  for (;;) {
    std::optional<Entry> cur = w.next();
    while (old && (!cur || path_less(old->path, cur->path))) {  // gone: removed
      if (unreadable_parent(old->path)) {
        ++res.unchecked;  // its directory could not be listed: unknown, not removed
      } else {
        pipe.push(Item{std::move(*old), std::nullopt, std::nullopt, false, {}, nullptr, {}});
      }
      auto n = rd.next_raw();
      if (!n) return n.error();
      old = std::move(*n);
    }
    if (!cur) break;
    if (old && old->path == cur->path) {
      pipe.push(Item{std::move(*old), std::nullopt, std::move(cur), false, {}, w.parent(), {}});
      auto n = rd.next_raw();
      if (!n) return n.error();
      old = std::move(*n);
    } else {
      pipe.push(Item{RawLine{}, std::nullopt, std::move(cur), false, {}, w.parent(), {}});
    }
  }
  pipe.finish();
  if (!first_error.empty()) return Error::data_loss(first_error);
  res.baseline = rd.info();
  for (const auto& u : w.unreadable()) res.warnings.push_back("cannot list directory " + u);
  if (res.unchecked)
    res.warnings.push_back(
        fmt::format("{} baseline entries were not checked: their directory could not be listed",
                    res.unchecked));
  return res;
}

namespace detail {

// How much a change matters, and why: the policy's rule for the path and its alerts, then what
// the change itself says (a set-user-ID bit or a capability that appeared is a backdoor
// wherever it is; a packaged file whose content is the package's own is an upgrade).
std::pair<Severity, std::string> judge(const Change& c, const Policy& pol) {
  const Entry& e = c.kind == Change::kRemoved ? c.before : c.after;
  const std::string& p = e.path;
  const Rule* rule = pol.rule_for(p);
  if (c.verdict == Change::kMatchesPackage && c.kind == Change::kChanged &&
      c.before.mode == c.after.mode && c.before.uid == c.after.uid && c.before.gid == c.after.gid &&
      c.before.xattrs == c.after.xattrs)
    return {Severity::kLow, "the content is what the package ships: an upgrade or reinstall"};
  Severity sev = rule ? rule->severity : Severity::kMedium;
  std::string why = rule ? rule->why : "";
  auto raise = [&](Severity s, std::string reason) {
    if (s > sev || (s == sev && why.empty())) {
      sev = s;
      why = std::move(reason);
    }
  };
  Event ev = c.kind == Change::kAdded     ? kOnAdded
             : c.kind == Change::kRemoved ? kOnRemoved
                                          : kOnChanged;
  if (auto a = pol.alert_for(p, ev)) raise(a->first, a->second);
  if (c.verdict == Change::kDiffersFromPackage)
    raise(Severity::kHigh, "a packaged file no longer matches its package");
  // A file capability that was not there (decided on the records, never on the evidence text).
  constexpr std::string_view kCap = "security.capability";
  uint32_t watched = rule ? rule->attrs : kAttrAll;
  bool cap_added = c.kind == Change::kAdded
                       ? e.type == 'f' && xattr_value(e.xattrs, kCap) != nullptr
                       : c.kind == Change::kChanged && (watched & kAttrXattrs) != 0 &&
                             xattr_value(c.before.xattrs, kCap) == nullptr &&
                             xattr_value(c.after.xattrs, kCap) != nullptr;
  if (cap_added) raise(Severity::kCritical, "a file capability gives a program root powers");
  uint32_t new_bits = c.kind == Change::kAdded ? e.mode : c.after.mode & ~c.before.mode;
  if (c.kind != Change::kRemoved && e.type == 'f' && (new_bits & 06000) != 0)
    raise(Severity::kCritical, "a set-user/group-ID program is the classic local backdoor");
  return {sev, why};
}

}  // namespace detail

std::vector<Finding> fim_findings(const CheckResult& r) {
  std::vector<Finding> out;
  const Policy& pol = r.baseline.policy;
  for (const auto& c : r.changes) {
    Finding f;
    f.module = "fim";
    const Entry& e = c.kind == Change::kRemoved ? c.before : c.after;
    f.asset = e.path;
    auto [sev, why] = judge(c, pol);
    f.severity = sev;
    switch (c.kind) {
      case Change::kAdded:
        f.check = "file-added";
        f.title = fmt::format("New {} {}", e.type == 'd' ? "directory" : "file", sanitize(e.path));
        f.evidence = fmt::format(
            "not in the baseline of {}; mode {:04o}, owner {}, size {}, mtime {}{}{}",
            iso8601(r.baseline.created_at), e.mode, e.uid, e.size, iso_ns(e.mtime_ns),
            e.hash.empty() ? "" : ", " + std::string(hash_name(r.baseline.hash)) + " " + e.hash,
            c.differences.empty() ? "" : "; " + fmt::format("{}", fmt::join(c.differences, "; ")));
        break;
      case Change::kRemoved:
        f.check = "file-removed";
        f.title = fmt::format("{} was removed", sanitize(e.path));
        f.evidence = fmt::format("in the baseline of {}, gone now", iso8601(r.baseline.created_at));
        break;
      case Change::kChanged:
        f.check = "file-changed";
        f.title = fmt::format("{} changed", sanitize(e.path));
        f.evidence = fmt::format("{}", fmt::join(c.differences, "; "));
        break;
    }
    if (!why.empty()) f.evidence += " — why it matters: " + why;
    f.remediation =
        "Find out who changed it and why (package upgrade, deployment, or an intruder). If the "
        "change is legitimate, accept it with 'mamori fim update " +
        sanitize(e.path) +
        "'; if not, restore the file from a trusted source and look for how it got there.";
    if (f.severity >= Severity::kHigh && pol.in_webroot(e.path))
      f.remediation =
          "A script appeared or changed in a web root: treat it as a possible web shell. "
          "Compare with your deployment, quarantine it, check the web server logs for requests "
          "to it. " +
          f.remediation;
    assign_fingerprint(f);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace mamori::fim
