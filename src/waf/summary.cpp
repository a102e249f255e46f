#include "waf/summary.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace mamori::waf {

namespace {

struct Counts {
  size_t rules = 0, chains = 0, links = 0;
  std::map<int, size_t> by_phase;
  std::map<std::string, size_t> by_operator;
};

Counts count(const RuleSet& rs) {
  Counts c;
  for (const auto& r : rs.rules) {
    ++c.rules;
    ++c.by_phase[r.phase];
    if (!r.chain.empty()) ++c.chains;
    c.links += r.chain.size();
    if (!r.is_action) ++c.by_operator[std::string(op_name(r.op.kind))];
    for (const auto& l : r.chain) ++c.by_operator[std::string(op_name(l.op.kind))];
  }
  return c;
}

std::string_view engine_name(EngineMode m) {
  return m == EngineMode::kOn ? "On" : m == EngineMode::kOff ? "Off" : "DetectionOnly";
}

}  // namespace

size_t unsupported_count(const RuleSet& rs) {
  size_t n = 0;
  for (const auto& i : rs.issues) n += i.kind == Issue::Kind::kUnsupported;
  return n;
}

std::string render_rules_text(const RuleSet& rs) {
  Counts c = count(rs);
  std::string out = fmt::format("{} rules in {} files ({} chains of {} more rules), {} markers\n",
                                c.rules, rs.files.size(), c.chains, c.links, rs.markers.size());
  std::string phases;
  for (auto [p, n] : c.by_phase)
    phases += fmt::format("{}phase {}: {}", phases.empty() ? "" : ", ", p, n);
  out += "  " + phases + "\n";
  std::string ops;
  for (const auto& [o, n] : c.by_operator)
    ops += fmt::format("{}@{} {}", ops.empty() ? "" : ", ", o, n);
  out += "  operators: " + ops + "\n";
  out += fmt::format("  engine {}, request bodies {} (limit {} bytes, {} without files, {})\n",
                     engine_name(rs.engine), rs.request_body_access ? "read" : "not read",
                     rs.request_body_limit, rs.request_body_no_files_limit,
                     rs.body_limit_reject ? "larger ones rejected" : "larger ones read in part");
  for (auto kind : {Issue::Kind::kUnsupported, Issue::Kind::kIgnored}) {
    size_t n = 0;
    for (const auto& i : rs.issues) n += i.kind == kind;
    if (!n) continue;
    out += kind == Issue::Kind::kUnsupported
               ? fmt::format("\nnot supported ({}): what these rules ask is not done\n", n)
               : fmt::format("\nignored ({}): no effect on what is detected\n", n);
    // One line per thing not done, then where: the same limit is met by many rules.
    std::map<std::string, std::vector<const Issue*>> by_text;
    std::vector<std::string> order;
    for (const auto& i : rs.issues) {
      if (i.kind != kind) continue;
      auto& v = by_text[i.text];
      if (v.empty()) order.push_back(i.text);
      v.push_back(&i);
    }
    for (const auto& t : order) {
      const auto& v = by_text[t];
      out += fmt::format("  {} ({}):\n   ", sanitize(t), v.size());
      size_t shown = 0;
      for (const Issue* i : v) {
        if (shown++ == 8) {
          out += fmt::format(" … and {} more (--format json lists all)", v.size() - 8);
          break;
        }
        std::string file = i->file.substr(i->file.rfind('/') + 1);
        out += fmt::format(" {}{}:{}", i->rule_id ? fmt::format("{}@", i->rule_id) : "",
                           sanitize(file), i->line);
      }
      out += "\n";
    }
  }
  if (!unsupported_count(rs)) out += "\nevery rule is supported\n";
  return out;
}

std::string render_rules_json(const RuleSet& rs) {
  Counts c = count(rs);
  nlohmann::json j;
  j["files"] = nlohmann::json::array();
  for (const auto& f : rs.files) j["files"].push_back(valid_utf8(f));
  j["rules"] = c.rules;
  j["chains"] = c.chains;
  j["chained_rules"] = c.links;
  j["markers"] = rs.markers.size();
  j["by_phase"] = nlohmann::json::object();
  for (auto [p, n] : c.by_phase) j["by_phase"][std::to_string(p)] = n;
  j["operators"] = c.by_operator;
  j["engine"] = engine_name(rs.engine);
  j["request_body_access"] = rs.request_body_access;
  j["request_body_limit"] = rs.request_body_limit;
  j["request_body_no_files_limit"] = rs.request_body_no_files_limit;
  j["issues"] = nlohmann::json::array();
  for (const auto& i : rs.issues)
    j["issues"].push_back(
        {{"kind", i.kind == Issue::Kind::kUnsupported ? "unsupported" : "ignored"},
         {"file", valid_utf8(i.file)},
         {"line", i.line},
         {"rule_id", i.rule_id ? nlohmann::json(i.rule_id) : nlohmann::json()},
         {"text", valid_utf8(i.text)}});
  j["unsupported"] = unsupported_count(rs);
  return j.dump(2) + "\n";
}

}  // namespace mamori::waf
