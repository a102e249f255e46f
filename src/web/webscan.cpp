// mamori web scan (webscan.h).
#include "web/webscan.h"

#include <dirent.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "fim/packages.h"
#include "web/php_words.h"

namespace mamori::web {

namespace {

bool doc_markup(std::string_view p) {
  std::string n = to_lower(p.substr(p.rfind('/') + 1));
  return n.ends_with(".md") || n.ends_with(".markdown") || n.ends_with(".rst");
}

// <?php in any case, or <?= (what PHP opens code with when the file is run or included).
bool holds_php(std::string_view t) {
  for (size_t p = t.find("<?"); p != std::string_view::npos; p = t.find("<?", p + 2)) {
    if (p + 2 < t.size() && t[p + 2] == '=') return true;
    if (p + 5 <= t.size() && to_lower(t.substr(p + 2, 3)) == "php") return true;
  }
  return false;
}

std::string digest_hex(const std::string& algo, std::string_view data) {
  const EVP_MD* md = algo == "sha512"    ? EVP_sha512()
                     : algo == "blake2b" ? EVP_blake2b512()
                                         : EVP_sha256();
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), d, &len, md, nullptr) != 1) return {};
  return fmt::format("{:02x}", fmt::join(d, d + len, ""));
}

std::string md5_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// The WordPress root a path lies in (the nearest directory above it with wp-includes/version.php).
std::string wordpress_root(const Root& root, const std::string& path,
                           std::map<std::string, bool>& cache) {
  std::string dir = path.substr(0, path.rfind('/'));
  while (!dir.empty()) {
    auto it = cache.find(dir);
    bool is_wp = it != cache.end()
                     ? it->second
                     : (cache[dir] = root.is_regular(dir + "/wp-includes/version.php"));
    if (is_wp) return dir;
    dir = dir.substr(0, dir.rfind('/'));
  }
  return "";
}

}  // namespace

Result<std::map<std::string, std::string>> read_wp_checksums(const std::string& path) {
  auto text = Root("/").read(path, 64ull << 20);
  if (!text) return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("checksums") || !j["checksums"].is_object())
    return Error::invalid(path +
                          ": not WordPress checksums (api.wordpress.org/core/checksums/1.0/: "
                          "{\"checksums\": {\"wp-login.php\": \"md5\", …}})");
  std::map<std::string, std::string> out;
  auto take = [&](const nlohmann::json& m) {
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it.value().is_string()) out[it.key()] = to_lower(it.value().get<std::string>());
  };
  const auto& c = j["checksums"];
  bool nested = !c.empty() && c.begin().value().is_object();  // {"6.1": {…}}
  if (nested) {
    for (auto it = c.begin(); it != c.end(); ++it)
      if (it.value().is_object()) take(it.value());
  } else {
    take(c);
  }
  if (out.empty()) return Error::invalid(path + ": no checksums in it");
  return out;
}

Result<WebScanResult> web_scan(const Root& root, const WebScanOptions& opts) {
  auto t0 = std::chrono::steady_clock::now();
  // The walk keeps one descriptor per directory level: as many as the hard limit allows, so a
  // tree nested deeper than the soft limit (1,024 under systemd) is still walked.
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  WebScanResult r;
  fim::PackageIndex dpkg;  // loaded when the first suspect needs it (most scans find none)
  bool dpkg_loaded = false;
  std::map<std::string, bool> wp_cache;
  std::string buf;  // one buffer for every file's bytes: no allocation and zeroing per file
  for (const std::string& given : opts.dirs) {
    // A web root is often a link (/var/www/site -> releases/42): resolved once, inside the
    // root; below it no link is followed.
    auto canon = root.canonical(given);
    const std::string top = canon ? *canon : given;
    if (!root.is_dir(top)) {
      ++r.dirs_unread;
      r.warnings.push_back(
          root.exists(top)
              ? fmt::format("{}: not a directory (give the directory holding it)", given)
              : fmt::format("{}: does not exist", given));
      continue;
    }
    size_t unopened = 0;
    auto st = root.walk(
        top,
        [&](const Root::WalkEntry& e) {
          if (e.type == DT_LNK) {
            ++r.links;
            if (mamori::web::php::runs_as_php(e.path) && r.php_links.size() < r.kMaxListed) {
              char target[4096];
              const std::string name(e.name);
              ssize_t n = ::readlinkat(e.dir_fd, name.c_str(), target, sizeof target - 1);
              r.php_links.push_back(fmt::format(
                  "{} -> {}", e.path, n > 0 ? std::string(target, static_cast<size_t>(n)) : "?"));
            }
            return Root::Walk::kContinue;
          }
          if (e.type != DT_REG) return Root::Walk::kContinue;
          ++r.files;
          const bool php = mamori::web::php::runs_as_php(e.path);
          struct stat sb {};
          // What web users write: opened from the directory listed (no link followed, nothing
          // resolved again), only regular files.
          auto fd = Root::open_entry(e, &sb);
          if (!fd) {
            ++r.unreadable;
            return Root::Walk::kContinue;
          }
          const uint64_t size = static_cast<uint64_t>(sb.st_size);
          if (!php && size > opts.max_other_bytes) {
            ++r.large;
            return Root::Walk::kContinue;
          }
          const uint64_t want =
              std::min<uint64_t>(size, php ? opts.max_php_bytes : opts.max_other_bytes);
          // Documentation markup (README.md, *.rst) shows PHP in examples; it is not judged
          // unless its name says PHP (x.php.md).
          if (!php && doc_markup(e.path)) return Root::Walk::kContinue;
          if (buf.size() < want) buf.resize(want);
          size_t got = 0;
          while (got < want) {
            ssize_t n = ::pread(fd->get(), buf.data() + got, want - got, static_cast<off_t>(got));
            if (n <= 0) break;
            got += static_cast<size_t>(n);
          }
          const std::string_view text(buf.data(), got);
          if (!php && !holds_php(text)) return Root::Walk::kContinue;
          ++r.judged;
          r.bytes += got;
          ShellVerdict v = judge_php(text, e.path);
          if (php && got < size) {  // past 8 MiB: the rest was not read, so the file is not cleared
            v.signals.insert(
                v.signals.begin(),
                ShellSignal{10,
                            fmt::format("larger than Mamori reads ({} MiB): judged on its "
                                        "start only",
                                        opts.max_php_bytes >> 20),
                            0, ""});
            v.score += 10;
            v.truncated = true;
          }
          if (!v.suspect()) return Root::Walk::kContinue;
          Suspect s;
          s.path = e.path;
          s.size = size;
          s.mtime = sb.st_mtime;
          s.md5 = got == size ? md5_hex(text) : "";
          // Known good: the bytes dpkg installed, or WordPress's release's.
          if (!s.md5.empty()) {
            if (opts.use_dpkg && !dpkg_loaded) {
              dpkg.load(root);
              dpkg_loaded = true;
            }
            auto known = [&](std::string_view source) {
              ++r.known_good;
              if (r.known_good_paths.size() < r.kMaxListed)
                r.known_good_paths.push_back(fmt::format("{} ({})", e.path, source));
              return Root::Walk::kContinue;
            };
            if (const auto* owner = dpkg.find(e.path); owner && owner->second == s.md5)
              return known("dpkg");
            if (auto it = opts.fim_known.find(e.path);
                it != opts.fim_known.end() && it->second == digest_hex(opts.fim_algo, text))
              return known("fim");
            if (!opts.wp_md5.empty()) {
              std::string wp = wordpress_root(root, e.path, wp_cache);
              if (!wp.empty()) {
                auto it = opts.wp_md5.find(e.path.substr(wp.size() + 1));
                if (it != opts.wp_md5.end() && it->second == s.md5) return known("wordpress");
              }
            }
          }
          s.verdict = std::move(v);
          r.suspects.push_back(std::move(s));
          return Root::Walk::kContinue;
        },
        &unopened);
    if (!st) r.warnings.push_back(fmt::format("{}: {}", top, st.error().message));
    if (unopened > 0)
      r.warnings.push_back(
          fmt::format("{}: {} directories could not be opened (replaced by a "
                      "link, gone, or too deep for the open-file limit): their "
                      "files were not judged",
                      top, unopened));
  }
  if (r.unreadable > 0)
    r.warnings.push_back(fmt::format(
        "{} files could not be read (a path too deep for the open-file limit, a file replaced "
        "by a link while scanning, a read error): they were not judged",
        r.unreadable));
  std::stable_sort(r.suspects.begin(), r.suspects.end(), [](const Suspect& a, const Suspect& b) {
    return a.verdict.score > b.verdict.score;
  });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::vector<Finding> webshell_findings(const WebScanResult& r) {
  std::vector<Finding> out;
  for (const Suspect& s : r.suspects) {
    Finding f;
    f.module = "web";
    f.check = "webshell";
    f.severity = s.verdict.score >= 20 ? Severity::kCritical : Severity::kHigh;
    f.asset = "file:" + s.path;
    f.title = "Web shell or backdoor: " + s.path;
    std::vector<std::string> ev;
    for (const auto& sig : s.verdict.signals)
      ev.push_back(fmt::format("line {}: {} ({} points)", sig.line, sig.what, sig.weight));
    f.evidence =
        fmt::format("score {} (a suspect from 10): {}", s.verdict.score, fmt::join(ev, "; "));
    f.remediation =
        "First run `mamori web incident " + s.path +
        "` (before touching the file: its times "
        "are evidence), then move it out of the web root (keep it, mode 0600, for the "
        "investigation); fix how it got there (a vulnerable plugin or upload form, a stolen "
        "password: the incident view names the requests around its time), and change the "
        "site's passwords and keys. If it is your own code, make it stop running what requests "
        "say; if it is a tool you installed on purpose (Adminer), remove it or accept it into "
        "the FIM baseline.";
    f.references = {"CWE-506", "https://attack.mitre.org/techniques/T1505/003/"};
    out.push_back(std::move(f));
  }
  return out;
}

std::string render_web_scan_text(const WebScanResult& r) {
  std::string o;
  for (const Suspect& s : r.suspects) {
    o += fmt::format("{} {}  score {}\n", s.verdict.score >= 20 ? "CRITICAL" : "HIGH    ",
                     sanitize(s.path), s.verdict.score);
    for (const auto& sig : s.verdict.signals)
      o += fmt::format("    line {:>5}  {:>2}  {}\n", sig.line, sig.weight, sanitize(sig.what));
  }
  if (!r.suspects.empty()) o += "\n";
  for (const auto& l : r.php_links)
    o += "link a web server would run as PHP (not followed: judge its target where it lies): " +
         sanitize(l) + "\n";
  if (!r.php_links.empty()) o += "\n";
  o += fmt::format(
      "{} files, {} with PHP code judged ({:.1f} MB in {:.2f} s); {} suspects, {} known good "
      "(dpkg, WordPress or the FIM baseline hold their bytes); {} links not followed, {} "
      "non-PHP files over 2 MiB not searched for PHP, {} unreadable\n",
      r.files, r.judged, static_cast<double>(r.bytes) / 1e6, r.seconds, r.suspects.size(),
      r.known_good, r.links, r.large, r.unreadable);
  for (const auto& w : r.warnings) o += "warning: " + sanitize(w) + "\n";
  if (!r.suspects.empty())
    o += "next: for each suspect, `mamori web incident PATH` before touching it (its times are "
         "evidence), then move it out of the web root; see docs/web.md, \"After a finding\".\n";
  return o;
}

std::string render_web_scan_json(const WebScanResult& r, const std::string& findings_json) {
  nlohmann::ordered_json j;
  j["files"] = r.files;
  j["judged"] = r.judged;
  j["known_good"] = r.known_good;
  j["links"] = r.links;
  j["large"] = r.large;
  j["unreadable"] = r.unreadable;
  j["seconds"] = r.seconds;
  j["php_links"] = r.php_links;
  j["known_good_paths"] = r.known_good_paths;
  auto sus = nlohmann::ordered_json::array();
  for (const Suspect& s : r.suspects) {
    nlohmann::ordered_json x;
    x["path"] = s.path;
    x["score"] = s.verdict.score;
    x["size"] = s.size;
    x["mtime"] = iso8601(s.mtime);
    if (!s.md5.empty()) x["md5"] = s.md5;
    auto sigs = nlohmann::ordered_json::array();
    for (const auto& g : s.verdict.signals)
      sigs.push_back({{"line", g.line}, {"weight", g.weight}, {"what", g.what}, {"code", g.code}});
    x["signals"] = std::move(sigs);
    sus.push_back(std::move(x));
  }
  j["suspects"] = std::move(sus);
  j["warnings"] = r.warnings;
  auto f = nlohmann::ordered_json::parse(findings_json, nullptr, false);
  j["findings"] =
      f.is_object() && f.contains("findings") ? f["findings"] : nlohmann::ordered_json::array();
  return j.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace mamori::web
