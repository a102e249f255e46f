// The site baseline as a file (JSON, format "mamori-web-baseline/1").
#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "web/site.h"
#include "web/url.h"

namespace mamori::web {
namespace {

using json = nlohmann::json;
constexpr const char* kFormat = "mamori-web-baseline/1";

json hexes(const std::vector<uint64_t>& v) {
  json a = json::array();
  for (uint64_t x : v) a.push_back(fmt::format("{:016x}", x));
  return a;
}

std::vector<uint64_t> unhex(const json& a) {
  std::vector<uint64_t> v;
  for (const auto& s : a) {
    const auto& str = s.get_ref<const std::string&>();
    uint64_t x = 0;
    auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), x, 16);
    if (ec != std::errc() || p != str.data() + str.size() || str.size() != 16)
      throw std::runtime_error("not a 16-digit hex hash: " + str.substr(0, 40));
    v.push_back(x);
  }
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

std::string baseline_json(const SiteBaseline& b) {
  json j;
  j["format"] = kFormat;
  j["created"] = b.created;
  j["options"] = {{"starts", b.options.starts},
                  {"depth", b.options.depth},
                  {"max_pages", b.options.max_pages},
                  {"robots", b.options.robots},
                  {"sitemap", b.options.sitemap},
                  {"render", b.options.render},
                  {"max_seconds", b.options.max_seconds},
                  {"rate", b.options.fetch.rate},
                  {"concurrency", b.options.fetch.concurrency},
                  {"timeout", b.options.fetch.timeout_s},
                  {"max_bytes", b.options.fetch.max_bytes}};
  json pages = json::object();
  for (const auto& [url, p] : b.pages) {
    json inl = json::array();
    for (const auto& t : p.inline_volatile)
      inl.push_back(
          {{"tokens", t.tokens}, {"mask", t.mask}, {"hash", fmt::format("{:016x}", t.hash)}});
    std::vector<uint64_t> ih(p.inline_hashes.begin(), p.inline_hashes.end());
    pages[url] = {{"status", p.status},
                  {"redirect", p.redirect},
                  {"title", p.title},
                  {"form", p.form},
                  {"sensitive", p.sensitive},
                  {"script_origins", p.script_origins},
                  {"scripts", p.scripts},
                  {"inline", hexes(ih)},
                  {"inline_volatile", inl},
                  {"iframes", p.iframes},
                  {"hidden_iframes", p.hidden_iframes},
                  {"form_origins", p.form_origins},
                  {"sri_bad", p.sri_bad},
                  {"limits", p.limits},
                  {"text", hexes(p.text)},
                  {"text_volatile", hexes(p.text_volatile)},
                  {"text_count", p.text_count}};
  }
  j["pages"] = std::move(pages);
  json scripts = json::object();
  for (const auto& [k, s] : b.scripts)
    scripts[k] = {{"url", s.url}, {"sha256", s.sha256s}, {"volatile", s.volatile_content}};
  j["scripts"] = std::move(scripts);
  j["warnings"] = b.warnings;
  return j.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<SiteBaseline> parse_baseline(std::string_view text) {
  try {
    json j = json::parse(text);
    if (!j.is_object() || j.value("format", "") != kFormat)
      return Error::invalid(fmt::format("not a web baseline (format \"{}\" expected)", kFormat));
    SiteBaseline b;
    b.created = j.at("created").get<int64_t>();
    const json& o = j.at("options");
    b.options.starts = o.at("starts").get<std::vector<std::string>>();
    b.options.depth = o.at("depth").get<int>();
    b.options.max_pages = o.at("max_pages").get<size_t>();
    b.options.robots = o.at("robots").get<bool>();
    b.options.sitemap = o.at("sitemap").get<bool>();
    b.options.render = o.value("render", false);
    b.options.max_seconds = o.value("max_seconds", 1800.0);
    b.options.fetch.rate = o.at("rate").get<double>();
    b.options.fetch.concurrency = o.at("concurrency").get<int>();
    b.options.fetch.timeout_s = o.at("timeout").get<long>();
    b.options.fetch.max_bytes = o.at("max_bytes").get<size_t>();
    b.options.html.max_bytes = b.options.fetch.max_bytes;
    if (b.options.starts.empty()) return Error::invalid("the baseline names no start URL");
    for (const auto& st : b.options.starts)
      if (!Url::parse(st))
        return Error::invalid("the baseline's start URL is not an http(s) URL: " +
                              st.substr(0, 200));
    const auto& f = b.options.fetch;
    if (b.options.depth < 0 || b.options.depth > 100 || b.options.max_pages < 1 ||
        b.options.max_pages > 100000 || f.rate < 0 || f.concurrency < 1 || f.concurrency > 64 ||
        f.timeout_s < 1 || f.timeout_s > 3600 || f.max_bytes < 1 || f.max_bytes > (1ull << 30))
      return Error::invalid("the baseline's crawl settings are out of range");
    for (const auto& [url, p] : j.at("pages").items()) {
      PageBaseline pb;
      pb.status = p.at("status").get<long>();
      pb.redirect = p.at("redirect").get<std::string>();
      pb.title = p.at("title").get<std::string>();
      pb.form = p.at("form").get<bool>();
      pb.sensitive = p.at("sensitive").get<bool>();
      pb.script_origins = p.at("script_origins").get<std::set<std::string>>();
      pb.scripts = p.at("scripts").get<std::map<std::string, std::string>>();
      for (uint64_t h : unhex(p.at("inline"))) pb.inline_hashes.insert(h);
      for (const auto& t : p.at("inline_volatile")) {
        InlineTemplate it;
        it.tokens = t.at("tokens").get<size_t>();
        it.mask = t.at("mask").get<std::vector<uint32_t>>();
        if (!std::is_sorted(it.mask.begin(), it.mask.end()))
          return Error::invalid("page " + url + ": a template's mask is not sorted");
        auto h = unhex(json::array({t.at("hash")}));
        it.hash = h.at(0);
        pb.inline_volatile.push_back(std::move(it));
      }
      pb.iframes = p.at("iframes").get<std::set<std::string>>();
      pb.hidden_iframes = p.at("hidden_iframes").get<std::set<std::string>>();
      pb.form_origins = p.at("form_origins").get<std::set<std::string>>();
      pb.sri_bad = p.at("sri_bad").get<std::set<std::string>>();
      pb.limits = p.value("limits", false);
      pb.text = unhex(p.at("text"));
      pb.text_volatile = unhex(p.at("text_volatile"));
      pb.text_count = p.at("text_count").get<size_t>();
      b.pages.emplace(url, std::move(pb));
    }
    for (const auto& [k, s] : j.at("scripts").items()) {
      ScriptBaseline sb;
      sb.url = s.at("url").get<std::string>();
      sb.sha256s = s.at("sha256").get<std::set<std::string>>();
      sb.volatile_content = s.at("volatile").get<bool>();
      b.scripts.emplace(k, std::move(sb));
    }
    b.warnings = j.value("warnings", std::vector<std::string>{});
    return b;
  } catch (const std::exception& e) {
    return Error::invalid(std::string("malformed web baseline: ") + e.what());
  }
}

}  // namespace mamori::web
