#include "web/robots.h"

#include <charconv>

#include "core/text.h"

namespace mamori::web {
namespace {

// A robots path pattern against a path: '*' matches any run, '$' at the end anchors.
bool pattern_match(std::string_view pat, std::string_view path, size_t& budget) {
  bool anchored = !pat.empty() && pat.back() == '$';
  if (anchored) pat.remove_suffix(1);
  // Greedy matching with backtracking to the last '*' (linear in practice, bounded by sizes).
  size_t p = 0, s = 0, star = std::string_view::npos, mark = 0;
  while (s < path.size()) {
    if (budget == 0) return true;  // a pattern built to be slow: taken as matching
    --budget;
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = s;
    } else if (p < pat.size() && pat[p] == path[s]) {
      ++p;
      ++s;
    } else if (p == pat.size() && !anchored) {
      return true;  // a prefix matched
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

}  // namespace

bool Robots::allowed(std::string_view path) const {
  const Rule* best = nullptr;
  size_t budget = 1u << 20;
  path = path.substr(0, 4096);
  for (const auto& r : rules) {
    if (r.pattern.empty() || !pattern_match(r.pattern, path, budget)) continue;
    if (!best || r.pattern.size() > best->pattern.size() ||
        (r.pattern.size() == best->pattern.size() && r.allow && !best->allow))
      best = &r;
  }
  return !best || best->allow;
}

Robots parse_robots(std::string_view text, std::string_view agent) {
  // Groups: one or more User-agent lines, then rules. Ours if an agent token matches ours
  // (case-insensitively, as a prefix of our name), else '*'.
  Robots mine, star;
  bool have_mine = false;
  std::vector<std::string> group_agents;
  bool in_rules = false;
  enum { kNone, kMine, kStar } target = kNone;
  std::vector<std::string> sitemaps;
  size_t pos = 0, lines = 0;
  std::string_view line;
  while (next_line(text, pos, line) && ++lines < 100000) {
    if (auto h = line.find('#'); h != std::string_view::npos) line = line.substr(0, h);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key = to_lower(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (key == "user-agent") {
      if (in_rules) {
        group_agents.clear();
        in_rules = false;
        target = kNone;
      }
      std::string a = to_lower(value);
      if (a == "*") {
        if (target != kMine) target = kStar;
      } else if (!a.empty() && to_lower(agent).starts_with(a)) {
        target = kMine;
        have_mine = true;
      }
    } else if (key == "allow" || key == "disallow") {
      in_rules = true;
      Robots* r = target == kMine ? &mine : target == kStar ? &star : nullptr;
      if (r && r->rules.size() < 2000 && value.size() < 512)
        r->rules.push_back({key == "allow", value});
    } else if (key == "crawl-delay") {
      in_rules = true;
      double d = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), d);
      (void)p;
      if (ec == std::errc()) {
        if (target == kMine) mine.crawl_delay = d;
        if (target == kStar) star.crawl_delay = d;
      }
    } else if (key == "sitemap") {
      if (sitemaps.size() < 50 && value.size() < 2048) sitemaps.push_back(value);
    }
  }
  Robots out = have_mine ? std::move(mine) : std::move(star);
  out.sitemaps = std::move(sitemaps);
  return out;
}

std::vector<std::string> sitemap_locs(std::string_view xml, size_t max) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (out.size() < max) {
    size_t b = xml.find("<loc>", pos);
    if (b == std::string_view::npos) break;
    b += 5;
    size_t e = xml.find("</loc>", b);
    if (e == std::string_view::npos) break;
    std::string v(trim(xml.substr(b, e - b)));
    if (v.starts_with("<![CDATA[") && v.ends_with("]]>")) v = v.substr(9, v.size() - 12);
    // The XML entities a URL may carry.
    std::string d;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '&') {
        static constexpr std::pair<std::string_view, char> ents[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        bool done = false;
        for (auto [ent, c] : ents)
          if (std::string_view(v).substr(i).starts_with(ent)) {
            d += c;
            i += ent.size() - 1;
            done = true;
            break;
          }
        if (done) continue;
      }
      d += v[i];
    }
    if (!d.empty() && d.size() < 4096) out.push_back(std::move(d));
    pos = e + 6;
  }
  return out;
}

}  // namespace mamori::web
