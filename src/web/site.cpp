// The crawl of `mamori web baseline|check`: what is fetched, in which order, within which limits.
#include "web/site.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "core/fs.h"
#include "core/text.h"
#include "web/render.h"
#include "web/robots.h"
#include "web/url.h"

namespace mamori::web {
namespace {

constexpr int kMaxHops = 5;  // redirects followed from one address
constexpr size_t kMaxScripts = 1000;
constexpr size_t kChunk = 16;  // responses held in memory at once (each up to --max-size)

bool is_page_type(const std::string& ct, std::string_view body) {
  if (ct == "text/html" || ct == "application/xhtml+xml") return true;
  if (!ct.empty()) return false;
  size_t b = body.find_first_not_of(" \t\r\n");
  return b != std::string_view::npos && body[b] == '<';
}

// Links to files a page crawl should not download.
bool binary_path(std::string_view path) {
  static constexpr std::string_view exts[] = {
      ".jpg", ".jpeg", ".png",   ".gif", ".webp", ".svg", ".ico",  ".bmp", ".pdf",  ".zip",
      ".gz",  ".tgz",  ".bz2",   ".xz",  ".7z",   ".rar", ".mp3",  ".mp4", ".webm", ".avi",
      ".mov", ".woff", ".woff2", ".ttf", ".otf",  ".eot", ".css",  ".js",  ".json", ".xml",
      ".exe", ".dmg",  ".iso",   ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".csv"};
  std::string p = to_lower(path);
  for (auto e : exts)
    if (p.ends_with(e)) return true;
  return false;
}

std::string digest_b64(const EVP_MD* md, std::string_view body) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(body.data(), body.size(), d, &n, md, nullptr) != 1) return {};
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), d, static_cast<int>(n));
  out.resize(static_cast<size_t>(std::max(len, 0)));
  return out;
}

std::string digest_hex(const EVP_MD* md, std::string_view body) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(body.data(), body.size(), d, &n, md, nullptr) != 1) return {};
  return fmt::format("{:02x}", fmt::join(d, d + n, ""));
}

struct Frontier {
  std::string url;
  int depth = 0;
  int hops = 0;
};

class Crawler {
 public:
  explicit Crawler(const CrawlOptions& o) : o_(o), lim_(o.fetch) {}

  Crawl run() {
    std::vector<Frontier> next;
    for (const auto& s : o_.starts) {
      auto u = Url::parse(s);
      if (!u) {
        out_.warnings.push_back("not an http(s) URL, skipped: " + sanitize(s));
        continue;
      }
      origins_.insert(u->origin());
      if (seen_.insert(u->str()).second) next.push_back({u->str(), 0, 0});
    }
    if (o_.robots) read_robots();
    if (o_.sitemap) read_sitemaps(next);
    for (const auto& s : o_.seeds)
      if (auto u = Url::parse(s); u && ours(*u) && seen_.insert(u->str()).second) {
        seeds_.insert(u->str());
        next.push_back({u->str(), o_.depth, 0});
      }
    while (!next.empty() && out_.pages.size() < o_.max_pages) {
      size_t room = o_.max_pages - out_.pages.size();
      if (next.size() > room) {
        out_.warnings.push_back(
            fmt::format("page limit ({}) reached: {} more addresses not crawled (--max-pages)",
                        o_.max_pages, next.size() - room));
        next.resize(room);
      }
      // In chunks: the bodies of one chunk at most are held at once.
      std::vector<Frontier> later;
      for (size_t at = 0; at < next.size() && !over_time(next.size() - at); at += kChunk) {
        std::vector<std::string> urls;
        for (size_t i = at; i < std::min(next.size(), at + kChunk); ++i)
          urls.push_back(next[i].url);
        auto got = fetch(urls);
        for (size_t i = 0; i < got.size(); ++i) take(next[at + i], got[i], later);
        if (at == 0 && out_.pages.size() == got.size()) learn_site_address(got);
      }
      next = std::move(later);
      if (timed_out_) break;
    }
    if (o_.render) render();
    fetch_scripts();
    if (!disallowed_.empty())
      out_.warnings.push_back(fmt::format(
          "{} linked pages not crawled because robots.txt disallows them (e.g. {}): give them "
          "as start URLs, or --no-robots for your own site",
          disallowed_.size(), sanitize(*disallowed_.begin())));
    return std::move(out_);
  }

  Crawl again(const Crawl& first) {
    for (const auto& s : o_.starts)
      if (auto u = Url::parse(s)) origins_.insert(u->origin());
    if (o_.robots) read_robots();  // its Crawl-delay holds for the second look too
    out_.warnings.clear();
    std::vector<std::string> urls;
    for (const auto& p : first.pages) urls.push_back(p.url);
    auto got = fetch(urls);
    std::vector<Frontier> ignored;
    for (size_t i = 0; i < got.size(); ++i) {
      auto u = Url::parse(got[i].url);
      if (u) origins_.insert(u->origin());
    }
    for (const auto& s : o_.starts)
      if (auto u = Url::parse(s)) origins_.insert(u->origin());
    for (size_t i = 0; i < got.size(); ++i) take({urls[i], o_.depth, kMaxHops}, got[i], ignored);
    if (o_.render) render();
    fetch_scripts();
    return std::move(out_);
  }

 private:
  std::vector<Response> fetch(const std::vector<std::string>& urls) {
    out_.requests += urls.size();
    return fetch_all(urls, lim_);
  }

  bool ours(const Url& u) const { return origins_.contains(u.origin()); }

  // Past --max-time: said once, with what is left undone.
  bool over_time(size_t left) {
    if (timed_out_) return true;
    if (std::chrono::duration<double>(Clock::now() - t0_).count() < o_.max_seconds) return false;
    timed_out_ = true;
    out_.warnings.push_back(fmt::format(
        "the crawl stopped after {:.0f} s (its time limit): {} addresses were not fetched",
        o_.max_seconds, left));
    return true;
  }

  // Whether the site itself answers from a private or loopback address: if not, no address of
  // that kind is fetched for another origin (a page cannot make Mamori request the intranet).
  void learn_site_address(const std::vector<Response>& got) {
    for (const auto& r : got)
      if (!r.ip.empty()) {
        site_private_ = site_private_ || is_private_address(r.ip);
        site_ip_known_ = true;
      }
  }

  bool robots_allow(const Url& u) const {
    if (seeds_.contains(u.str())) return true;
    auto it = robots_.find(u.origin());
    if (it == robots_.end()) return true;
    std::string pq = u.str().substr(u.origin().size());
    return it->second.allowed(pq.empty() ? "/" : pq);
  }

  void read_robots() {
    std::vector<std::string> urls;
    for (const auto& o : origins_) urls.push_back(o + "/robots.txt");
    auto got = fetch(urls);
    for (size_t i = 0; i < got.size(); ++i) {
      const auto& r = got[i];
      std::string origin = urls[i].substr(0, urls[i].size() - 11);
      if (r.status >= 200 && r.status < 300) {
        Robots rb = parse_robots(r.body);
        if (rb.crawl_delay > 0) {
          double d = std::min(rb.crawl_delay, 10.0);
          if (lim_.rate <= 0 || 1.0 / d < lim_.rate) lim_.rate = 1.0 / d;
        }
        robots_[origin] = std::move(rb);
      } else if (r.status >= 500 || r.status == 0) {
        // RFC 9309: robots.txt unreachable means "crawl nothing"; the start pages still are.
        Robots none;
        none.rules.push_back({false, "/"});
        robots_[origin] = std::move(none);
        out_.warnings.push_back(
            fmt::format("{}: unreachable ({}): only the start pages are fetched", sanitize(urls[i]),
                        r.status ? std::to_string(r.status) : sanitize(r.error)));
      }
    }
  }

  void read_sitemaps(std::vector<Frontier>& next) {
    std::vector<std::string> maps;
    std::set<std::string> asked;
    for (const auto& [origin, rb] : robots_)
      for (const auto& s : rb.sitemaps)
        if (auto u = Url::parse(s); u && ours(*u)) maps.push_back(u->str());
    for (const auto& origin : origins_)
      if (!robots_.contains(origin) || robots_[origin].sitemaps.empty())
        maps.push_back(origin + "/sitemap.xml");
    for (int level = 0; level < 2 && !maps.empty(); ++level) {
      for (const auto& m : maps) asked.insert(m);
      auto got = fetch(maps);
      std::vector<std::string> deeper;
      for (const auto& r : got) {
        if (r.status < 200 || r.status >= 300) continue;
        for (const auto& loc : sitemap_locs(r.body, o_.max_pages * 4)) {
          auto u = Url::parse(loc);
          if (!u || !ours(*u)) continue;
          if (to_lower(u->path()).ends_with(".xml")) {
            if (!asked.contains(u->str()) && deeper.size() < 20) deeper.push_back(u->str());
          } else if (!binary_path(u->path()) && robots_allow(*u) && seen_.insert(u->str()).second &&
                     o_.depth >= 1) {
            next.push_back({u->str(), 1, 0});
          }
        }
      }
      maps = std::move(deeper);
    }
  }

  void take(const Frontier& f, Response& r, std::vector<Frontier>& later) {
    Page p;
    p.url = f.url;
    p.status = r.status;
    p.content_type = r.content_type;
    p.truncated = r.truncated;
    p.error = r.error;
    auto base = Url::parse(f.url);
    if (r.truncated)
      out_.warnings.push_back(fmt::format("{}: longer than {} bytes: only its start was read",
                                          sanitize(f.url), lim_.max_bytes));
    if (!r.error.empty() && !r.truncated)
      out_.warnings.push_back(fmt::format("{}: {}", sanitize(f.url), sanitize(r.error)));
    if (r.status >= 300 && r.status < 400 && !r.location.empty() && base) {
      if (auto to = base->resolve(r.location)) {
        p.redirect = to->str();
        follow(*to, f.depth, f.hops + 1, later);
      }
    } else if (r.status >= 200 && r.status < 300 && base && (r.error.empty() || r.truncated) &&
               is_page_type(r.content_type, r.body)) {
      p.html = true;
      p.facts = parse_page(r.body, *base, o_.html);
      if (p.facts.flattened)
        out_.warnings.push_back(sanitize(f.url) + ": markup nested too deep was flattened");
      if (!p.facts.refresh.empty()) {
        p.redirect = p.facts.refresh;
        if (auto to = Url::parse(p.facts.refresh)) follow(*to, f.depth, f.hops + 1, later);
      }
      if (f.depth < o_.depth)
        for (const auto& l : p.facts.links) {
          auto u = Url::parse(l);
          if (!u || !ours(*u) || binary_path(u->path())) continue;
          if (!robots_allow(*u)) {
            if (disallowed_.size() < 1000) disallowed_.insert(u->str());
            continue;
          }
          if (seen_.insert(u->str()).second) later.push_back({u->str(), f.depth + 1, 0});
        }
      for (const auto& s : p.facts.scripts) {
        auto u = Url::parse(s.src);
        if (u && (ours(*u) || !s.integrity.empty()) && scripts_.size() < kMaxScripts)
          scripts_.insert(u->str());
      }
    }
    r.body.clear();
    r.body.shrink_to_fit();
    out_.pages.push_back(std::move(p));
  }

  // Every HTML page loaded in Chromium: the scripts it requested that its HTML does not name
  // were added at run time, and join the page's scripts; a script that navigated the page
  // elsewhere is its redirect.
  void render() {
    std::vector<std::string> urls;
    std::vector<Page*> pages;
    for (auto& p : out_.pages)
      if (p.html) {
        urls.push_back(p.url);
        pages.push_back(&p);
      }
    RenderOptions ro;
    ro.chromium = o_.chromium;
    ro.page_timeout_s = lim_.timeout_s;
    auto got = render_pages(urls, ro);
    if (!got) {
      out_.warnings.push_back("--render: " + got.error().message);
      out_.render_failed = true;
      return;
    }
    for (size_t i = 0; i < got->size() && i < pages.size(); ++i) {
      const Rendered& r = (*got)[i];
      Page& p = *pages[i];
      if (!r.error.empty()) {
        out_.warnings.push_back(
            fmt::format("{}: --render: {}", sanitize(p.url), sanitize(r.error)));
        continue;
      }
      std::set<std::string> named;
      for (const auto& s : p.facts.scripts) named.insert(s.src);
      for (const auto& s : r.scripts) {
        auto u = Url::parse(s);
        if (!u || named.contains(u->str()) || p.facts.scripts.size() >= o_.html.max_items) continue;
        named.insert(u->str());
        p.facts.scripts.push_back({u->str(), "", true});
        if (ours(*u) && scripts_.size() < kMaxScripts) scripts_.insert(u->str());
      }
      if (auto f = Url::parse(r.final_url);
          f && p.redirect.empty() && f->origin() != Url::parse(p.url)->origin())
        p.redirect = f->str();
    }
  }

  void follow(const Url& to, int depth, int hops, std::vector<Frontier>& later) {
    if (!ours(to) || hops > kMaxHops) return;
    if (seen_.insert(to.str()).second) later.push_back({to.str(), depth, hops});
  }

  void fetch_scripts() {
    std::vector<std::string> own, other;
    for (const auto& u : scripts_) {
      auto p = Url::parse(u);
      (p && ours(*p) ? own : other).push_back(u);
    }
    fetch_bodies(own, lim_);
    FetchLimits guarded = lim_;
    guarded.public_only = !(site_ip_known_ && site_private_);
    fetch_bodies(other, guarded);
  }

  void fetch_bodies(const std::vector<std::string>& all, const FetchLimits& lim) {
    for (size_t at = 0; at < all.size() && !over_time(all.size() - at); at += kChunk) {
      std::vector<std::string> urls(
          all.begin() + static_cast<ptrdiff_t>(at),
          all.begin() + static_cast<ptrdiff_t>(std::min(all.size(), at + kChunk)));
      out_.requests += urls.size();
      auto got = fetch_all(urls, lim);
      digest(got);
    }
  }

  void digest(std::vector<Response>& got) {
    for (auto& r : got) {
      ScriptBody b;
      b.status = r.status;
      b.error = r.truncated ? "longer than the size limit" : r.error;
      if (r.status >= 200 && r.status < 300 && !r.truncated && r.error.empty()) {
        b.sha256 = digest_hex(EVP_sha256(), r.body);
        b.digests["sha256"] = digest_b64(EVP_sha256(), r.body);
        b.digests["sha384"] = digest_b64(EVP_sha384(), r.body);
        b.digests["sha512"] = digest_b64(EVP_sha512(), r.body);
      }
      out_.scripts[r.url] = std::move(b);
    }
  }

  const CrawlOptions& o_;
  FetchLimits lim_;
  std::set<std::string> origins_;
  std::set<std::string> seen_;
  std::set<std::string> scripts_;
  std::set<std::string> disallowed_;  // linked pages robots.txt kept out
  std::set<std::string> seeds_;
  using Clock = std::chrono::steady_clock;
  Clock::time_point t0_ = Clock::now();
  bool timed_out_ = false;
  bool site_private_ = false, site_ip_known_ = false;
  std::map<std::string, Robots> robots_;
  Crawl out_;
};

}  // namespace

Crawl crawl(const CrawlOptions& o) { return Crawler(o).run(); }

Crawl refetch(const Crawl& first, const CrawlOptions& o) { return Crawler(o).again(first); }

std::vector<std::string> normalized_starts(const std::vector<std::string>& starts) {
  std::vector<std::string> v;
  for (const auto& s : starts) {
    auto u = Url::parse(s);
    v.push_back(u ? u->str() : s);
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::string site_name(const std::vector<std::string>& starts) {
  auto v = normalized_starts(starts);
  if (v.empty()) return "site";
  auto u = Url::parse(v.front());
  if (!u) return "site";
  std::string name = u->origin().substr(u->scheme().size() + 3);
  for (auto& c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) c = '_';
  name = u->scheme() + "_" + name;
  // Other start URLs than the site's root: a baseline of their own.
  if (v != std::vector<std::string>{u->origin() + "/"})
    name += "-" + digest_hex(EVP_sha256(), fmt::format("{}", fmt::join(v, "\n"))).substr(0, 8);
  return name;
}

std::string default_baseline_path(const std::vector<std::string>& starts) {
  return state_dir() + "/web/" + site_name(starts) + ".json";
}

}  // namespace mamori::web
