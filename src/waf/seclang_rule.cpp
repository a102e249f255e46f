// SecLang, one rule: its targets, its operator (with the data files it reads) and its actions.
#include <fmt/format.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <filesystem>
#include <map>

#include "core/fs.h"
#include "core/ip.h"
#include "core/text.h"
#include "waf/seclang_parser.h"

namespace mamori::waf::detail {

namespace fs = std::filesystem;

Status Parser::targets(std::string_view s, std::vector<Target>& out) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '|')) ++i;
    if (i >= s.size()) break;
    Target t;
    if (s[i] == '!') {
      t.exclude = true;
      ++i;
    } else if (s[i] == '&') {
      t.count = true;
      ++i;
    }
    size_t j = i;
    while (j < s.size() && s[j] != ':' && s[j] != '|') ++j;
    std::string name = to_upper(trim(s.substr(i, j - i)));
    auto c = parse_collection(name);
    if (!c) return err("unknown variable '" + sanitize(name) + "'");
    t.collection = *c;
    i = j;
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (t.collection == Collection::kXml) {  // an XPath expression ("/*"), as written
        size_t k = i;
        while (k < s.size() && s[k] != '|') ++k;
        t.key = std::string(trim(s.substr(i, k - i)));
        i = k;
      } else if (i < s.size() &&
                 s[i] == '/') {  // a regular expression up to the next unescaped '/'
        size_t k = i + 1;
        std::string pat;
        while (k < s.size() && s[k] != '/') {
          if (s[k] == '\\' && k + 1 < s.size()) pat += s[k++];
          pat += s[k++];
        }
        if (k >= s.size()) return err("a /regular expression/ key is not closed");
        t.key = pat;
        t.key_regex = true;
        if (auto st = check_regex(pat, "the key of " + name); !st) return st;
        i = k + 1;
      } else if (i < s.size() && s[i] == '\'') {
        size_t k = s.find('\'', i + 1);
        if (k == std::string_view::npos) return err("a 'quoted' key is not closed");
        t.key = lower(s.substr(i + 1, k - i - 1));
        i = k + 1;
      } else {
        size_t k = i;
        while (k < s.size() && s[k] != '|') ++k;
        t.key = lower(trim(s.substr(i, k - i)));
        i = k;
      }
      if (!is_keyed(t.collection))
        return err(name + " has no members: '" + name + ":" + sanitize(t.key) + "'");
    }
    if (t.exclude && t.key.empty()) return err("an exclusion needs a member: '!" + name + ":name'");
    out.push_back(std::move(t));
  }
  if (out.empty()) return err("a rule without variables");
  return {};
}

Status Parser::check_regex(const std::string& pat, const std::string& what) {
  int code = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(), PCRE2_DOTALL,
                                 &code, &off, nullptr);
  if (re) {
    pcre2_code_free(re);
    return {};
  }
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return err(fmt::format("{}: the regular expression does not compile at offset {}: {}", what, off,
                         reinterpret_cast<const char*>(buf)));
}

Status Parser::op(std::string_view s, Operator& o, int64_t id) {
  s = trim(s);
  if (!s.empty() && s.front() == '!') {
    o.negated = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() != '@') {
    o.kind = OpKind::kRx;
    o.param = std::string(s);
  } else {
    size_t sp = s.find_first_of(" \t");
    std::string_view name = s.substr(1, sp == std::string_view::npos ? s.npos : sp - 1);
    auto k = parse_op(name);
    if (!k) return err("unknown operator '@" + sanitize(std::string(name)) + "'");
    o.kind = *k;
    o.param = sp == std::string_view::npos ? "" : std::string(trim(s.substr(sp)));
  }
  switch (o.kind) {
    case OpKind::kRx:
      if (o.param.find("%{") == std::string::npos) return check_regex(o.param, "@rx");
      return {};
    case OpKind::kPmFromFile:
    case OpKind::kIpMatchFromFile:
      return phrases_from_files(o, id);
    case OpKind::kIpMatch:
      for (auto a : split_any(o.param, ", ")) {
        Ip ip;
        int bits = 0;
        if (!parse_prefix(a, ip, bits))
          return err("@ipMatch: '" + sanitize(std::string(a)) + "' is not an address or prefix");
      }
      return {};
    case OpKind::kRbl:
      issue(Issue::Kind::kUnsupported, id,
            "@rbl (a DNS block list): never matches in Mamori, which makes no DNS queries on "
            "the data path");
      return {};
    case OpKind::kGeoLookup:
      issue(Issue::Kind::kUnsupported, id,
            "@geoLookup: never matches (no GeoIP database); GEO stays empty");
      return {};
    default:
      return {};
  }
}

Status Parser::phrases_from_files(Operator& o, int64_t id) {
  if (from_memory_) {
    issue(Issue::Kind::kUnsupported, id,
          "@" + std::string(op_name(o.kind)) +
              " in rules given as text: no file is read, "
              "the operator never matches");
    return {};
  }
  for (auto name : split_any(o.param, " ")) {
    if (name.starts_with("http://") || name.starts_with("https://"))
      return err("@" + std::string(op_name(o.kind)) + ": remote lists are not fetched (" +
                 sanitize(std::string(name)) + ")");
    fs::path p = name;
    if (p.is_relative()) p = fs::path(file_).parent_path() / p;
    auto text = read_file(p, opt_.max_file_bytes);
    if (!text) return err(text.error().message);
    total_ += text->size();
    if (total_ > opt_.max_total_bytes) return err("the rule set and its data are too large");
    size_t pos = 0;
    while (pos < text->size()) {
      size_t nl = text->find('\n', pos);
      std::string_view l = std::string_view(*text).substr(
          pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? text->size() : nl + 1;
      l = trim(l);
      if (l.empty() || l.front() == '#') continue;
      o.phrases.emplace_back(l);
    }
  }
  return {};
}

Status Parser::raw_actions(std::string_view s, std::vector<RawAction>& out) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
    if (i >= s.size()) break;
    RawAction a;
    size_t j = i;
    while (j < s.size() && s[j] != ':' && s[j] != ',') ++j;
    a.name = std::string(trim(s.substr(i, j - i)));
    i = j;
    if (i < s.size() && s[i] == ':') {
      a.has_value = true;
      ++i;
      while (i < s.size() && s[i] == ' ') ++i;
      if (i < s.size() && s[i] == '\'') {
        ++i;
        bool closed = false;
        while (i < s.size()) {
          if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '\'') {
            a.value += '\'';
            i += 2;
          } else if (s[i] == '\'') {
            closed = true;
            ++i;
            break;
          } else {
            a.value += s[i++];
          }
        }
        if (!closed) return err("the value of '" + sanitize(a.name) + "' is not closed");
      } else {
        size_t k = i;
        while (k < s.size() && s[k] != ',') ++k;
        a.value = std::string(trim(s.substr(i, k - i)));
        i = k;
      }
    }
    out.push_back(std::move(a));
  }
  return {};
}

Status Parser::setvar(const std::string& v, Rule& r) {
  SetVar sv;
  std::string_view s = v;
  if (!s.empty() && s.front() == '!') {
    sv.op = SetVar::Op::kDelete;
    s.remove_prefix(1);
  }
  size_t dot = s.find('.');
  if (dot == std::string_view::npos) return err("setvar:" + sanitize(v) + " names no collection");
  auto c = parse_collection(to_upper(s.substr(0, dot)));
  if (!c || !is_keyed(*c)) return err("setvar:" + sanitize(v) + ": not a collection");
  sv.collection = *c;
  s.remove_prefix(dot + 1);
  size_t eq = s.find('=');
  sv.name = lower(trim(s.substr(0, eq)));
  if (sv.name.empty()) return err("setvar:" + sanitize(v) + " names no variable");
  if (eq != std::string_view::npos) {
    if (sv.op == SetVar::Op::kDelete) return err("setvar:!" + sanitize(v) + " with a value");
    std::string_view val = s.substr(eq + 1);
    if (!val.empty() && (val.front() == '+' || val.front() == '-')) {
      sv.op = val.front() == '+' ? SetVar::Op::kAdd : SetVar::Op::kSub;
      val.remove_prefix(1);
    }
    sv.value = std::string(val);
  } else if (sv.op != SetVar::Op::kDelete) {
    sv.value = "1";  // setvar:tx.flag
  }
  if (sv.collection != Collection::kTx)
    issue(Issue::Kind::kUnsupported, r.id,
          "setvar on " + std::string(collection_name(sv.collection)) +
              ": persistent collections are not kept between requests");
  r.setvars.push_back(std::move(sv));
  return {};
}

Status Parser::ctl(const std::string& v, Rule& r) {
  size_t eq = v.find('=');
  if (eq == std::string::npos) return err("ctl:" + sanitize(v) + " has no '='");
  std::string name = lower(trim(std::string_view(v).substr(0, eq)));
  static const std::map<std::string, CtlKind> kCtls = {
      {"ruleremovebyid", CtlKind::kRuleRemoveById},
      {"ruleremovebytag", CtlKind::kRuleRemoveByTag},
      {"ruleremovetargetbyid", CtlKind::kRuleRemoveTargetById},
      {"ruleremovetargetbytag", CtlKind::kRuleRemoveTargetByTag},
      {"ruleengine", CtlKind::kRuleEngine},
      {"requestbodyprocessor", CtlKind::kRequestBodyProcessor},
      {"requestbodyaccess", CtlKind::kRequestBodyAccess},
      {"requestbodylimit", CtlKind::kRequestBodyLimit},
      {"forcerequestbodyvariable", CtlKind::kForceRequestBodyVariable},
      {"auditengine", CtlKind::kAuditEngine},
      {"auditlogparts", CtlKind::kAuditLogParts}};
  auto it = kCtls.find(name);
  if (it == kCtls.end()) return err("unknown ctl '" + sanitize(name) + "'");
  Ctl c{it->second, std::string(trim(std::string_view(v).substr(eq + 1)))};
  if (c.kind == CtlKind::kRuleRemoveTargetById || c.kind == CtlKind::kRuleRemoveTargetByTag) {
    size_t semi = c.value.find(';');
    if (semi == std::string::npos) return err("ctl:" + name + " needs 'ID;TARGET'");
    std::vector<Target> ts;
    if (auto st = targets(c.value.substr(semi + 1), ts); !st) return st;
  }
  r.ctls.push_back(std::move(c));
  return {};
}

Status Parser::actions(std::string_view s, Rule& r, bool link) {
  std::vector<RawAction> raw;
  if (auto st = raw_actions(s, raw); !st) return st;
  bool reset_transforms = false;
  std::vector<Transform> own;
  for (auto& a : raw) {
    const std::string n = lower(a.name);
    auto need = [&]() -> Status {
      if (!a.has_value) return err("'" + a.name + "' needs a value");
      return {};
    };
    if (n == "id") {
      if (auto st = need(); !st) return st;
      auto v = to_int(a.value);
      if (!v || *v <= 0) return err("id:" + sanitize(a.value) + " is not a positive number");
      r.id = *v;
    } else if (n == "phase") {
      if (auto st = need(); !st) return st;
      std::string p = lower(a.value);
      if (p == "request")
        r.phase = 2;
      else if (p == "response")
        r.phase = 4;
      else if (p == "logging")
        r.phase = 5;
      else if (auto v = to_int(p); v && *v >= 1 && *v <= 5)
        r.phase = static_cast<int>(*v);
      else
        return err("phase:" + sanitize(a.value) + " is not 1 to 5");
    } else if (n == "t") {
      if (auto st = need(); !st) return st;
      if (iequal(a.value, "none")) {
        reset_transforms = true;
        own.clear();
      } else if (auto t = parse_transform(a.value)) {
        own.push_back(*t);
      } else {
        return err("unknown transformation 't:" + sanitize(a.value) + "'");
      }
    } else if (n == "pass" || n == "block" || n == "deny" || n == "drop" || n == "allow") {
      if (link)
        return err("'" + n + "' in a chained rule: only the chain's first rule may disrupt");
      r.disruptive = n == "pass"    ? Disruptive::kPass
                     : n == "block" ? Disruptive::kBlock
                     : n == "deny"  ? Disruptive::kDeny
                     : n == "drop"  ? Disruptive::kDrop
                                    : Disruptive::kAllow;
      if (n == "allow" && a.has_value)
        issue(Issue::Kind::kUnsupported, r.id,
              "allow:" + a.value + " is treated as allow (the rest of the transaction)");
    } else if (n == "redirect") {
      r.disruptive = Disruptive::kRedirect;
      issue(Issue::Kind::kUnsupported, r.id, "redirect: Mamori answers 403 instead");
    } else if (n == "status") {
      if (auto st = need(); !st) return st;
      auto v = to_int(a.value);
      if (!v || *v < 100 || *v > 599)
        return err("status:" + sanitize(a.value) + " is not an HTTP status");
      r.status = static_cast<int>(*v);
    } else if (n == "chain") {
      chain_next_ = true;
    } else if (n == "capture") {
      r.capture = true;
    } else if (n == "multimatch") {
      r.multi_match = true;
    } else if (n == "nolog") {
      r.log = false;
    } else if (n == "log") {
      r.log = true;
    } else if (n == "msg") {
      r.msg = a.value;
    } else if (n == "logdata") {
      r.logdata = a.value;
    } else if (n == "tag") {
      r.tags.push_back(a.value);
    } else if (n == "ver") {
      r.ver = a.value;
    } else if (n == "severity") {
      r.severity = a.value;
    } else if (n == "setvar") {
      if (auto st = need(); !st) return st;
      if (auto st = setvar(a.value, r); !st) return st;
    } else if (n == "ctl") {
      if (auto st = need(); !st) return st;
      if (auto st = ctl(a.value, r); !st) return st;
    } else if (n == "skipafter") {
      if (auto st = need(); !st) return st;
      r.skip_after = a.value;
    } else if (n == "skip") {
      auto v = to_int(a.value);
      if (!v || *v < 1) return err("skip:" + sanitize(a.value) + " is not a positive number");
      r.skip = static_cast<int>(*v);
    } else if (n == "auditlog" || n == "noauditlog" || n == "rev" || n == "maturity" ||
               n == "accuracy" || n == "sanitisearg" || n == "sanitisematched" ||
               n == "sanitisematchedbytes" || n == "sanitiserequestheader" ||
               n == "sanitiseresponseheader" || n == "xmlns" || n == "setenv") {
      // metadata or logging: no effect on what is detected
    } else if (n == "initcol" || n == "expirevar" || n == "deprecatevar" || n == "setuid" ||
               n == "setsid" || n == "setrsc") {
      issue(Issue::Kind::kUnsupported, r.id,
            n + ": persistent collections are not kept between requests");
    } else if (n == "exec" || n == "append" || n == "prepend" || n == "pause" || n == "proxy") {
      issue(Issue::Kind::kUnsupported, r.id, n + ": not done by Mamori");
    } else {
      return err("unknown action '" + sanitize(a.name) + "'");
    }
  }
  // The default action of the phase comes first, unless t:none reset the list.
  const DefaultAction& def = defaults_[std::clamp(r.phase, 1, 5)];
  if (!reset_transforms) r.transforms = def.transforms;
  r.transforms.insert(r.transforms.end(), own.begin(), own.end());
  return {};
}

}  // namespace mamori::waf::detail
