// SecLang (ModSecurity's rule language) into the rule model of rules.h: directives, SecRule's
// targets / operator / actions, chains, markers, default actions, rule exceptions, Include.
#include <fmt/format.h>
#include <glob.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>
#include <variant>

#include "core/fs.h"
#include "core/ip.h"
#include "core/text.h"
#include "waf/rules.h"
#include "waf/seclang_parser.h"

namespace mamori::waf {

namespace detail {

namespace fs = std::filesystem;

std::string lower(std::string_view s) { return to_lower(s); }

bool iequal(std::string_view a, std::string_view b) { return to_lower(a) == to_lower(b); }

std::optional<int64_t> to_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Status Parser::file(const std::string& path, int depth) {
  if (depth > opt_.max_include_depth)
    return Error::invalid(path + ": Include nested more than " +
                          std::to_string(opt_.max_include_depth) + " deep (a loop?)");
  std::error_code ec;
  std::string canon = fs::weakly_canonical(path, ec).string();
  if (ec) canon = path;
  if (!open_.insert(canon).second) return Error::invalid(path + ": includes itself");
  auto text = read_file(path, opt_.max_file_bytes);
  if (!text) return text.error();
  total_ += text->size();
  if (total_ > opt_.max_total_bytes)
    return Error::invalid(
        fmt::format("{}: the rule set is over {} MiB in all", path, opt_.max_total_bytes >> 20));
  out_.files.push_back(path);
  auto st = text_of(*text, path, depth);
  open_.erase(canon);
  return st;
}

Status Parser::text_of(std::string_view text, const std::string& name, int depth) {
  std::vector<Directive> ds;
  if (auto st = split(text, name, ds); !st) return st;
  for (auto& d : ds) {
    file_ = name;
    line_ = d.line;
    if (auto st = directive(d, depth); !st) return st;
  }
  if (chain_open_) return err("the file ends inside a chain (the last rule says 'chain')");
  return {};
}

Result<RuleSet> Parser::finish() {
  apply_exceptions();
  for (int p = 1; p <= 5; ++p) out_.block_action[static_cast<size_t>(p)] = defaults_[p].disruptive;
  return std::move(out_);
}

Error Parser::err(const std::string& what) const {
  return Error::invalid(fmt::format("{}:{}: {}", file_, line_, what));
}

void Parser::issue(Issue::Kind k, int64_t id, std::string text) {
  if (id == 0 && chain_open_) id = chain_id_;  // said of a chained rule: its chain's id
  for (const auto& i : out_.issues)            // two setvars on IP in one rule are one thing to say
    if (i.line == line_ && i.rule_id == id && i.text == text && i.file == file_) return;
  out_.issues.push_back(Issue{k, file_, line_, id, std::move(text)});
}

Status Parser::split(std::string_view text, const std::string& name, std::vector<Directive>& out) {
  file_ = name;
  size_t pos = 0;
  int lineno = 0;
  while (pos < text.size()) {
    std::string logical;
    int start = lineno + 1;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view l = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      ++lineno;
      while (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      if (!l.empty() && l.back() == '\\') {
        logical.append(l.substr(0, l.size() - 1));
        continue;
      }
      logical.append(l);
      break;
    }
    std::string_view t = trim(logical);
    if (t.empty() || t.front() == '#') continue;
    line_ = start;
    Directive d;
    d.line = start;
    size_t i = 0;
    bool first = true;
    while (i < t.size()) {
      while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
      if (i >= t.size()) break;
      std::string word;
      if (t[i] == '"') {
        ++i;
        bool closed = false;
        while (i < t.size()) {
          if (t[i] == '\\' && i + 1 < t.size() && t[i + 1] == '"') {
            word += '"';
            i += 2;
          } else if (t[i] == '"') {
            closed = true;
            ++i;
            break;
          } else {
            word += t[i++];
          }
        }
        if (!closed) return err("a quoted argument is not closed");
      } else {
        while (i < t.size() && t[i] != ' ' && t[i] != '\t') word += t[i++];
      }
      if (first)
        d.name = word;
      else
        d.args.push_back(std::move(word));
      first = false;
    }
    out.push_back(std::move(d));
  }
  return {};
}

Status Parser::want_args(const Directive& d, size_t lo, size_t hi) {
  if (d.args.size() < lo || d.args.size() > hi)
    return err(fmt::format("{} takes {} argument{}, not {}", d.name,
                           lo == hi ? std::to_string(lo) : fmt::format("{} to {}", lo, hi),
                           hi == 1 ? "" : "s", d.args.size()));
  return {};
}

Status Parser::on_off(const Directive& d, bool& v) {
  if (auto st = want_args(d, 1, 1); !st) return st;
  if (iequal(d.args[0], "on"))
    v = true;
  else if (iequal(d.args[0], "off"))
    v = false;
  else
    return err(d.name + " is On or Off, not '" + sanitize(d.args[0]) + "'");
  return {};
}

Status Parser::directive(const Directive& d, int depth) {
  const std::string n = lower(d.name);
  if (n == "secrule") {
    if (auto st = want_args(d, 2, 3); !st) return st;
    return rule(d.args[0], d.args[1], d.args.size() > 2 ? d.args[2] : "", false);
  }
  if (n == "secaction") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    return rule("", "", d.args[0], true);
  }
  if (chain_open_) return err(d.name + " inside a chain: the rule before it says 'chain'");
  if (n == "secmarker") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    entries_.emplace_back(std::string(trim(d.args[0])));
    return {};
  }
  if (n == "secdefaultaction") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    return default_action(d.args[0]);
  }
  if (n == "include") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    return include(d.args[0], depth);
  }
  if (n == "secruleremovebyid") {
    if (d.args.empty()) return err("SecRuleRemoveById needs rule ids or ranges");
    for (const auto& a : d.args)
      for (auto part : split_any(a, " ,"))
        if (auto st = id_range(part, remove_ranges_); !st) return st;
    return {};
  }
  if (n == "secruleremovebytag") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    remove_tags_.push_back(d.args[0]);
    return {};
  }
  if (n == "secruleremovebymsg") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    remove_msgs_.push_back(d.args[0]);
    return {};
  }
  if (n == "secruleupdatetargetbyid" || n == "secruleupdatetargetbytag") {
    if (auto st = want_args(d, 2, 3); !st) return st;
    if (d.args.size() == 3)
      return err(d.name +
                 " with a replacement target is not supported: write the exclusion "
                 "as '!COLLECTION:key'");
    std::vector<Target> ts;
    if (auto st = targets(d.args[1], ts); !st) return st;
    if (n == "secruleupdatetargetbyid") {
      std::vector<std::pair<int64_t, int64_t>> ranges;
      for (auto part : split_any(d.args[0], " ,"))
        if (auto st = id_range(part, ranges); !st) return st;
      updates_by_id_.push_back({std::move(ranges), std::move(ts)});
    } else {
      updates_by_tag_.push_back({d.args[0], std::move(ts)});
    }
    return {};
  }
  if (n == "secruleengine") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    if (iequal(d.args[0], "on"))
      out_.engine = EngineMode::kOn;
    else if (iequal(d.args[0], "off"))
      out_.engine = EngineMode::kOff;
    else if (iequal(d.args[0], "detectiononly"))
      out_.engine = EngineMode::kDetectionOnly;
    else
      return err("SecRuleEngine is On, Off or DetectionOnly");
    return {};
  }
  if (n == "secrequestbodyaccess") return on_off(d, out_.request_body_access);
  if (n == "secrequestbodylimit" || n == "secrequestbodynofileslimit") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    auto v = to_int(d.args[0]);
    if (!v || *v <= 0) return err(d.name + " needs a positive number of bytes");
    (n == "secrequestbodylimit" ? out_.request_body_limit : out_.request_body_no_files_limit) =
        static_cast<uint64_t>(*v);
    return {};
  }
  if (n == "secrequestbodylimitaction") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    if (iequal(d.args[0], "reject"))
      out_.body_limit_reject = true;
    else if (iequal(d.args[0], "processpartial"))
      out_.body_limit_reject = false;
    else
      return err("SecRequestBodyLimitAction is Reject or ProcessPartial");
    return {};
  }
  if (n == "secargumentseparator") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    if (d.args[0].size() != 1) return err("SecArgumentSeparator is one character");
    out_.argument_separator = d.args[0][0];
    return {};
  }
  if (n == "secresponsebodyaccess") {
    bool on = false;
    if (auto st = on_off(d, on); !st) return st;
    if (on)
      issue(Issue::Kind::kUnsupported, 0,
            "SecResponseBodyAccess On: Mamori inspects requests only; response rules "
            "(phases 3 and 4) never match");
    return {};
  }
  if (n == "seccookieformat") {
    if (auto st = want_args(d, 1, 1); !st) return st;
    if (d.args[0] != "0")
      issue(Issue::Kind::kUnsupported, 0, "SecCookieFormat 1 (version 1 cookies) is read as 0");
    return {};
  }
  static const std::set<std::string> kIgnored = {"secauditengine",
                                                 "secauditlog",
                                                 "secauditlog2",
                                                 "secauditlogparts",
                                                 "secauditlogrelevantstatus",
                                                 "secauditlogtype",
                                                 "secauditlogstoragedir",
                                                 "secauditlogdirmode",
                                                 "secauditlogfilemode",
                                                 "secauditlogformat",
                                                 "secdebuglog",
                                                 "secdebugloglevel",
                                                 "sectmpdir",
                                                 "secdatadir",
                                                 "secuploaddir",
                                                 "secuploadkeepfiles",
                                                 "secuploadfilemode",
                                                 "seccomponentsignature",
                                                 "seccollectiontimeout",
                                                 "secstatusengine",
                                                 "secpcrematchlimit",
                                                 "secpcrematchlimitrecursion",
                                                 "secunicodemapfile",
                                                 "secserversignature",
                                                 "secresponsebodymimetype",
                                                 "secresponsebodylimit",
                                                 "secresponsebodylimitaction",
                                                 "secrequestbodyinmemorylimit",
                                                 "secwebappid",
                                                 "secsensorid",
                                                 "secargumentslimit",
                                                 "sectmpsaveuploadedfiles",
                                                 "secxmlexternalentity",
                                                 "secconnengine"};
  if (kIgnored.count(n)) {
    issue(Issue::Kind::kIgnored, 0,
          d.name + ": no effect in Mamori (its own decision log, limits and storage)");
    return {};
  }
  return err("unknown directive '" + sanitize(d.name) + "'");
}

Status Parser::include(const std::string& pattern, int depth) {
  if (from_memory_) return err("Include is not allowed in rules given as text");
  fs::path p = pattern;
  if (p.is_relative()) p = fs::path(file_).parent_path() / p;
  glob_t g{};
  int rc = ::glob(p.c_str(), GLOB_ERR, nullptr, &g);
  std::vector<std::string> files;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  if (rc == GLOB_NOMATCH) {
    bool has_glob = pattern.find_first_of("*?[") != std::string::npos;
    if (has_glob) return {};  // ModSecurity: an empty glob includes nothing
    return err("Include " + sanitize(pattern) + ": no such file");
  }
  if (rc != 0) return err("Include " + sanitize(pattern) + ": cannot be read");
  std::sort(files.begin(), files.end());
  std::string f0 = file_;
  int l0 = line_;
  for (const auto& f : files) {
    if (auto st = file(f, depth + 1); !st) return st;
  }
  file_ = f0;
  line_ = l0;
  return {};
}

std::vector<std::string_view> Parser::split_any(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(seps, i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Status Parser::id_range(std::string_view s, std::vector<std::pair<int64_t, int64_t>>& out) {
  s = trim(s);
  if (s.empty()) return {};
  size_t dash = s.find('-', 1);
  auto a = to_int(s.substr(0, dash));
  auto b = dash == std::string_view::npos ? a : to_int(s.substr(dash + 1));
  if (!a || !b || *a > *b)
    return err("'" + sanitize(std::string(s)) + "' is not a rule id or range");
  out.push_back({*a, *b});
  return {};
}

Status Parser::default_action(const std::string& s) {
  Rule r;
  bool was = chain_next_;
  if (auto st = actions(s, r, false); !st) return st;
  chain_next_ = was;
  DefaultAction d;
  d.disruptive = r.disruptive == Disruptive::kNone ? Disruptive::kPass : r.disruptive;
  d.transforms = r.transforms;
  d.log = r.log;
  if (r.id) return err("SecDefaultAction with an id");
  defaults_[r.phase] = std::move(d);
  return {};
}

Status Parser::rule(const std::string& vars, const std::string& oper, const std::string& acts,
                    bool is_action) {
  Rule r;
  r.file = file_;
  r.line = line_;
  r.is_action = is_action;
  bool link = chain_open_;
  if (link) r.phase = chain_phase_;
  chain_next_ = false;
  if (auto st = actions(acts, r, link); !st) return st;
  if (!is_action) {
    if (auto st = targets(vars, r.targets); !st) return st;
    if (auto st = op(oper, r.op, link ? chain_id_ : r.id); !st) return st;
  } else {
    r.op.kind = OpKind::kUnconditionalMatch;
  }
  for (const auto& t : r.targets)
    if (is_unsupported(t.collection))
      issue(Issue::Kind::kUnsupported, link ? chain_id_ : r.id,
            std::string(collection_name(t.collection)) +
                (t.collection == Collection::kResponseBody ||
                         t.collection == Collection::kResponseHeaders ||
                         t.collection == Collection::kResponseStatus
                     ? ": responses are not inspected; reads nothing"
                     : ": no data in Mamori; reads nothing"));
  if (!link && (r.phase == 3 || r.phase == 4))
    issue(Issue::Kind::kUnsupported, r.id,
          "phase " + std::to_string(r.phase) +
              " (the response): responses are not inspected; the rule never runs");
  if (link) {
    if (r.id) return err("a chained rule has its own id");
    r.phase = chain_phase_;
    auto& head = std::get<Rule>(entries_[chain_head_]);
    head.chain.push_back(std::move(r));
    chain_open_ = chain_next_;
    return {};
  }
  if (!r.id) return err("a rule without an id");
  if (!ids_.insert(r.id).second) return err(fmt::format("id {} is used twice", r.id));
  if (r.disruptive == Disruptive::kNone) r.disruptive = defaults_[r.phase].disruptive;
  if (chain_next_) {
    chain_open_ = true;
    chain_head_ = entries_.size();
    chain_phase_ = r.phase;
    chain_id_ = r.id;
  }
  entries_.emplace_back(std::move(r));
  return {};
}

void Parser::apply_exceptions() {
  auto removed = [&](const Rule& r) {
    for (auto [a, b] : remove_ranges_)
      if (r.id >= a && r.id <= b) return true;
    for (const auto& t : remove_tags_)
      if (std::find(r.tags.begin(), r.tags.end(), t) != r.tags.end()) return true;
    for (const auto& m : remove_msgs_)
      if (r.msg == m) return true;
    return false;
  };
  std::set<std::string> markers;
  for (auto& e : entries_) {
    if (auto* name = std::get_if<std::string>(&e)) {
      out_.markers.push_back(Marker{*name, out_.rules.size()});
      markers.insert(*name);
      continue;
    }
    Rule& r = std::get<Rule>(e);
    if (removed(r)) continue;
    for (const auto& [ranges, ts] : updates_by_id_)
      for (auto [a, b] : ranges)
        if (r.id >= a && r.id <= b) r.targets.insert(r.targets.end(), ts.begin(), ts.end());
    for (const auto& [tag, ts] : updates_by_tag_)
      if (std::find(r.tags.begin(), r.tags.end(), tag) != r.tags.end())
        r.targets.insert(r.targets.end(), ts.begin(), ts.end());
    out_.rules.push_back(std::move(r));
  }
  for (const auto& r : out_.rules)
    if (!r.skip_after.empty() && !markers.count(r.skip_after))
      out_.issues.push_back(Issue{
          Issue::Kind::kUnsupported, r.file, r.line, r.id,
          "skipAfter:" + r.skip_after + " names no SecMarker: the rest of the phase is skipped"});
}

}  // namespace detail

using detail::Parser;
namespace fs = std::filesystem;

Result<RuleSet> load_rules(const std::vector<std::string>& paths, const LoadOptions& opt) {
  if (paths.empty()) return Error::invalid("no rule files given");
  Parser p(opt, false);
  if (!opt.preamble.empty())
    if (auto st = p.text_of(opt.preamble, opt.preamble_name, 0); !st) return st.error();
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> files;
      for (const auto& e : fs::directory_iterator(path, ec))
        if (e.path().extension() == ".conf") files.push_back(e.path().string());
      if (ec) return errno_error(path, ec.value());
      std::sort(files.begin(), files.end());
      if (files.empty()) return Error::not_found(path + ": no *.conf rule files in it");
      for (const auto& f : files)
        if (auto st = p.file(f, 0); !st) return st.error();
    } else if (auto st = p.file(path, 0); !st) {
      return st.error();
    }
  }
  return p.finish();
}

Result<RuleSet> parse_rules(std::string_view text, const std::string& name,
                            const LoadOptions& opt) {
  Parser p(opt, true);
  if (text.size() > opt.max_file_bytes) return Error::invalid(name + ": too large");
  if (auto st = p.text_of(text, name, 0); !st) return st.error();
  return p.finish();
}

}  // namespace mamori::waf
