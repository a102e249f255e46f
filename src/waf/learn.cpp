// Exclusions learned from the decision log (learn.h).
#include "waf/learn.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/text.h"
#include "waf/policy.h"
#include "waf/transform.h"
#include "waf/vpatch.h"

namespace mamori::waf {

namespace {

constexpr size_t kMaxLine = 1 << 20;
constexpr size_t kMaxKeys = 100000;
constexpr size_t kMaxClientsKept = 64;

bool hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool id_segment(std::string_view s) {
  if (s.empty()) return false;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return true;
  if (s.size() == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-') return true;
  return s.size() >= 16 && std::all_of(s.begin(), s.end(), hex_digit);
}

// Rules that only follow from others (the anomaly scores, CRS's reporting) and Mamori's
// virtual patches are never proposed.
bool never_proposed(int64_t id) {
  return id == 949110 || id == 959100 || (id >= 980000 && id < 981000) || id == kVirtualPatchRule ||
         id <= 0;
}

// A target ctl:ruleRemoveTargetById can name, written so that it cannot break the rule text.
bool usable_target(std::string_view t) {
  return !t.empty() && t.size() <= 256 && !t.starts_with("TX:") &&
         std::all_of(t.begin(), t.end(), [](char c) {
           return c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != ',' && c != ';' && c != '\\';
         });
}

std::string one_line(std::string_view v, size_t most) {
  std::string o;
  for (char c : v.substr(0, most)) o += (c == '\n' || c == '\r' || c < ' ') ? ' ' : c;
  return o;
}

}  // namespace

std::string learn_route(std::string_view path, bool& prefix) {
  prefix = false;
  size_t s = 1;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    if (id_segment(path.substr(s, i - s))) {
      prefix = true;
      return std::string(path.substr(0, s));
    }
    s = i + 1;
  }
  return std::string(path);
}

void Learner::feed_line(std::string_view line) {
  ++lines_;
  if (line.size() > kMaxLine) {
    ++malformed_;
    return;
  }
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    ++malformed_;
    return;
  }
  auto str = [&](const char* k) -> std::string {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string action = str("action");
  if (action != "detected" && action != "blocked") return;
  auto rules = j.find("rules");
  std::string uri = str("uri"), client = str("client"), method = str("method");
  if (uri.empty() || client.empty() || rules == j.end() || !rules->is_array()) {
    ++malformed_;
    return;
  }
  std::string path = url_decode(std::string_view(uri).substr(0, uri.find('?')), false);
  bool prefix = false;
  std::string route = learn_route(path.substr(0, 1024), prefix);
  if (!check_route(Route{prefix ? route : "=" + route, "", "", {}, {}})) return;
  bool any = false;
  for (const auto& r : *rules) {
    if (!r.is_object() || !r.contains("id") || !r["id"].is_number_integer()) continue;
    int64_t id = r["id"].get<int64_t>();
    if (never_proposed(id)) continue;
    std::string target = id == 911100 ? method
                         : r.contains("variable") && r["variable"].is_string()
                             ? r["variable"].get<std::string>()
                             : std::string();
    if (!usable_target(target)) continue;
    Key k{route, prefix, id, target};
    auto it = seen_.find(k);
    if (it == seen_.end()) {
      if (seen_.size() >= kMaxKeys) continue;
      it = seen_.emplace(std::move(k), Seen{}).first;
    }
    Seen& s = it->second;
    ++s.hits;
    if (s.clients.size() < kMaxClientsKept) s.clients.insert(client);
    if (s.samples.size() < 3 && r.contains("value") && r["value"].is_string())
      s.samples.push_back(one_line(r["value"].get<std::string>(), 80));
    if (s.msg.empty() && r.contains("msg") && r["msg"].is_string())
      s.msg = one_line(r["msg"].get<std::string>(), 120);
    any = true;
  }
  if (any) ++used_;
}

LearnReport Learner::report() const {
  LearnReport out;
  out.lines = lines_;
  out.used = used_;
  out.malformed = malformed_;
  for (const auto& [k, s] : seen_) {
    Proposal p{k.route, k.prefix, k.rule, k.target, s.msg, s.hits, s.clients.size(), s.samples};
    (s.clients.size() >= o_.min_clients && s.hits >= o_.min_hits ? out.proposals : out.too_few)
        .push_back(std::move(p));
  }
  for (auto* v : {&out.proposals, &out.too_few})
    std::stable_sort(v->begin(), v->end(),
                     [](const Proposal& a, const Proposal& b) { return a.hits > b.hits; });
  return out;
}

std::string render_learned_seclang(const LearnReport& r, int64_t first_id) {
  // One rule per route: its methods, then its target removals (16 per rule).
  std::map<std::pair<std::string, bool>, std::vector<const Proposal*>> by_route;
  for (const auto& p : r.proposals) by_route[{p.route, p.prefix}].push_back(&p);
  std::string out =
      "# Proposed by 'mamori waf learn' from the decision log: review each one (the values that\n"
      "# fired are shown) before copying it into REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf.\n";
  // Ids: from first_id on; or (first_id <= 0) each rule's own, from a hash of its text in
  // 10000–99999, so that the same exclusion keeps its id and a later run's proposals do not
  // take the ids of an earlier run's (a duplicate pasted twice is then refused by id).
  int64_t id = first_id;
  std::set<int64_t> taken;
  auto next_id = [&](const std::string& text) {
    if (first_id > 0) return id++;
    uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ull;
    auto n = static_cast<int64_t>(10000 + h % 90000);
    while (!taken.insert(n).second) n = n == 99999 ? 10000 : n + 1;
    return n;
  };
  for (const auto& [route, ps] : by_route) {
    std::string match =
        fmt::format("\"@{} {}\"", route.second ? "beginsWith" : "streq", route.first);
    std::vector<std::string> methods = {"GET", "HEAD", "POST", "OPTIONS"};
    std::vector<std::string> ctls;
    out += "\n";
    for (const Proposal* p : ps) {
      out += fmt::format("# {} {} on {}: {} requests from {} clients{}{}\n", p->rule_id,
                         p->msg.empty() ? "" : "(" + p->msg + ")", p->target, p->hits, p->clients,
                         p->samples.empty() ? "" : "; e.g. ",
                         p->samples.empty() ? "" : p->samples.front());
      if (p->rule_id == 911100) {
        if (std::find(methods.begin(), methods.end(), p->target) == methods.end())
          methods.push_back(p->target);
      } else {
        ctls.push_back(fmt::format("ctl:ruleRemoveTargetById={};{}", p->rule_id, p->target));
      }
    }
    if (methods.size() > 4) {
      std::string acts = fmt::format("phase:1,pass,nolog,t:none,setvar:'tx.allowed_methods={}'",
                                     fmt::join(methods, " "));
      out += fmt::format("SecRule REQUEST_FILENAME {} \"id:{},{}\"\n", match, next_id(match + acts),
                         acts);
    }
    for (size_t i = 0; i < ctls.size(); i += 16) {
      std::vector<std::string> part(
          ctls.begin() + static_cast<long>(i),
          ctls.begin() + static_cast<long>(std::min(ctls.size(), i + 16)));
      std::string acts = fmt::format("phase:1,pass,nolog,t:none,{}", fmt::join(part, ","));
      out += fmt::format("SecRule REQUEST_FILENAME {} \"id:{},{}\"\n", match, next_id(match + acts),
                         acts);
    }
  }
  return out;
}

std::string render_learned_text(const LearnReport& r, const LearnOptions& o, int64_t first_id) {
  std::string out = fmt::format(
      "{} lines read, {} with rules to learn from, {} not understood\n"
      "{} exclusions proposed (seen from at least {} clients and {} times); {} seen too little\n",
      r.lines, r.used, r.malformed, r.proposals.size(), o.min_clients, o.min_hits,
      r.too_few.size());
  if (!r.too_few.empty()) {
    out += "\nSeen too little to propose (most seen first):\n";
    size_t n = 0;
    for (const auto& p : r.too_few) {
      if (++n > 10) {
        out += fmt::format("  … and {} more (--format json lists them)\n", r.too_few.size() - 10);
        break;
      }
      out += fmt::format("  {}{} rule {} on {}: {} requests from {} clients\n", p.route,
                         p.prefix ? "*" : "", p.rule_id, p.target, p.hits, p.clients);
    }
  }
  if (!r.proposals.empty()) out += "\n" + render_learned_seclang(r, first_id);
  return out;
}

std::string render_learned_json(const LearnReport& r) {
  using nlohmann::json;
  auto list = [](const std::vector<Proposal>& v) {
    json a = json::array();
    for (const auto& p : v)
      a.push_back({{"route", p.route},
                   {"prefix", p.prefix},
                   {"rule", p.rule_id},
                   {"target", p.target},
                   {"msg", p.msg},
                   {"hits", p.hits},
                   {"clients", p.clients},
                   {"samples", p.samples}});
    return a;
  };
  json j = {{"lines", r.lines},
            {"used", r.used},
            {"malformed", r.malformed},
            {"proposals", list(r.proposals)},
            {"too_few", list(r.too_few)}};
  return j.dump(1, ' ', true, json::error_handler_t::replace) + "\n";
}

}  // namespace mamori::waf
