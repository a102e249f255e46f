// db update: download the configured sources (resume with HTTP Range, retry with backoff),
// then build the database from the downloaded files. Any failure leaves the old database.
#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "core/fs.h"
#include "core/text.h"
#include "vuln/vuln.h"

namespace mamori::vuln {

namespace fs = std::filesystem;

const std::vector<std::string>& default_sources() {
  // The real upstream locations (docs/db.md lists them and how to override them).
  static const std::vector<std::string> kSources = {
      "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip",
      "https://osv-vulnerabilities.storage.googleapis.com/Ubuntu/all.zip",
      "https://osv-vulnerabilities.storage.googleapis.com/AlmaLinux/all.zip",
      "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip",
      "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip",
      "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip",
      "https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip",
      "https://osv-vulnerabilities.storage.googleapis.com/Packagist/all.zip",
      "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
      "https://epss.cyentia.com/epss_scores-current.csv.gz",
  };
  return kSources;
}

namespace {

struct Sink {
  FILE* f = nullptr;
  uint64_t written = 0;
  const UpdateOptions* opts = nullptr;
  std::string label;
};

size_t on_data(char* ptr, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t bytes = size * n;
  if (std::fwrite(ptr, 1, bytes, s->f) != bytes) return 0;  // disk full: abort the transfer
  s->written += bytes;
  if (s->opts->on_progress && (s->written & 0xFFFFF) < bytes)
    s->opts->on_progress(
        fmt::format("{} {:.1f} MB", s->label, static_cast<double>(s->written) / 1e6));
  return bytes;
}

// The cache file name of a URL: its last path component, prefixed by a short hash so two
// sources named all.zip do not collide.
std::string cache_name(const std::string& url) {
  std::string last = url.substr(url.find_last_of('/') + 1);
  size_t q = last.find('?');
  if (q != std::string::npos) last.resize(q);
  for (char& c : last)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  if (last.empty()) last = "source";
  size_t h = std::hash<std::string>{}(url);
  return fmt::format("{:08x}-{}", static_cast<uint32_t>(h), last);
}

// The validator of the version a download started with (a strong ETag, else Last-Modified),
// from the response headers.
struct Validator {
  std::string etag, last_modified;
};

size_t on_header(char* buf, size_t size, size_t n, void* user) {
  auto* v = static_cast<Validator*>(user);
  std::string_view h(buf, size * n);
  auto value = [&](std::string_view name) -> std::optional<std::string> {
    if (h.size() <= name.size() || !iequals(h.substr(0, name.size()), name)) return std::nullopt;
    return std::string(trim(h.substr(name.size())));
  };
  if (h.starts_with("HTTP/")) *v = {};  // a redirect's headers are not the file's
  if (auto e = value("etag:")) v->etag = *e;
  if (auto m = value("last-modified:")) v->last_modified = *m;
  return size * n;
}

// One attempt: append to `part` from its current size (HTTP Range, with If-Range naming the
// version the download started with: a file that changed on the server meanwhile comes back
// whole, never as the new file's tail appended to the old one's head), true when complete.
Status fetch_once(const std::string& url, const fs::path& part, const UpdateOptions& o) {
  std::error_code ec;
  fs::path vfile = part.string() + ".validator";
  uint64_t have = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
  std::string if_range;
  if (have > 0) {
    auto v = read_file(vfile, 4096);
    if (v) if_range = std::string(trim(*v));
    if (if_range.empty()) {
      // no validator for what we have: resuming could splice two versions; start over
      fs::remove(part, ec);
      have = 0;
    }
  }
  // the cache directory is private (ensure_private_dir); the part file is never reached
  // through a symlink all the same
  UniqueFd pfd(::open(part.c_str(),
                      O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (have > 0 ? O_APPEND : O_TRUNC),
                      0600));
  if (!pfd) return errno_error(part.string(), errno);
  FILE* f = ::fdopen(pfd.get(), have > 0 ? "ab" : "wb");
  if (!f) return errno_error(part.string(), errno);
  pfd.release();  // the FILE owns it now
  CURL* c = curl_easy_init();
  if (!c) {
    std::fclose(f);
    return Error::internal("curl_easy_init failed");
  }
  Sink sink{f, 0, &o, url};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);  // abort a stalled transfer
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mamori-db-update");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(2ll << 30));
  Validator got;
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &got);
  struct curl_slist* headers = nullptr;
  if (have > 0) {
    curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(have));
    headers = curl_slist_append(headers, ("If-Range: " + if_range).c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (have == 0) {
    // what a resume must name: a strong ETag (If-Range takes no weak one), else Last-Modified
    std::string v = !got.etag.empty() && !got.etag.starts_with("W/") ? got.etag : got.last_modified;
    if (v.empty()) {
      fs::remove(vfile, ec);
    } else if (auto st = write_file_atomic(vfile, v + "\n"); !st) {
      fs::remove(vfile, ec);
    }
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  bool flushed = std::fclose(f) == 0;
  if (rc == CURLE_RANGE_ERROR || (rc == CURLE_HTTP_RETURNED_ERROR && status == 416)) {
    // The server cannot resume (or the file changed): start over next attempt.
    fs::remove(part, ec);
    return Error::unavailable(fmt::format("{}: cannot resume, restarting", url));
  }
  if (rc != CURLE_OK)
    return Error::unavailable(
        fmt::format("{}: {}", url, errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  if (have > 0 && status == 200) {
    // The file changed on the server (If-Range), or the server ignores ranges: what arrived is
    // a whole file after what we had. Start over.
    fs::remove(part, ec);
    fs::remove(vfile, ec);
    return Error::unavailable(fmt::format(
        "{}: the file changed on the server (or ranges are not served), restarting", url));
  }
  if (!flushed) return errno_error(part.string(), errno);
  return ok();
}

}  // namespace

Result<BuildReport> update_database(const UpdateOptions& o) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) return Error::internal("libcurl initialisation failed");
  std::error_code ec;
  MAMORI_TRY(ensure_private_dir(o.cache_dir), "db update: cache");
  std::vector<std::string> files;
  for (const auto& url : o.urls) {
    fs::path final_path = fs::path(o.cache_dir) / cache_name(url);
    fs::path part = final_path.string() + ".part";
    Status last = Error::internal("no attempt");
    for (int attempt = 0; attempt <= o.retries; ++attempt) {
      if (attempt > 0) {
        if (o.on_progress)
          o.on_progress(fmt::format("retrying {} ({})", url, last.error().message));
        std::this_thread::sleep_for(std::chrono::milliseconds(o.backoff_ms << (attempt - 1)));
      }
      last = fetch_once(url, part, o);
      if (last) break;
    }
    if (!last)
      return last.error().with_context(
          fmt::format("db update: download failed after {} attempts; the "
                      "old database is kept",
                      o.retries + 1));
    fs::rename(part, final_path, ec);
    if (ec) return Error::unavailable(fmt::format("{}: {}", final_path.string(), ec.message()));
    fs::remove(part.string() + ".validator", ec);
    files.push_back(final_path.string());
  }
  BuildOptions bo;
  bo.now = o.now;
  bo.allow_shrink = o.allow_shrink;
  bo.labels = o.urls;  // record where the data came from, not the cache file names
  return build_database(files, o.out, bo);
}

std::vector<std::string> update_sources(const std::vector<std::string>& given,
                                        const std::string& list_path) {
  if (!given.empty()) return given;
  std::vector<std::string> urls;
  if (auto text = read_file(list_path, 1 << 20)) {
    size_t pos = 0;
    std::string_view line;
    while (next_line(*text, pos, line)) {
      auto t = trim(line);
      if (!t.empty() && t.front() != '#') urls.emplace_back(t);
    }
  }
  if (urls.empty()) urls = default_sources();
  return urls;
}

}  // namespace mamori::vuln
