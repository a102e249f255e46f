#include "fim/policy.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <sstream>

#include "core/fs.h"
#include "core/text.h"
#include "fim/fim.h"

namespace mamori::fim {

extern const char kDefaultPolicyToml[];  // generated from default_policy.toml

std::string_view default_policy_text() { return kDefaultPolicyToml; }

namespace {

struct AttrName {
  const char* name;
  uint32_t bits;
};
constexpr AttrName kAttrNames[] = {
    {"type", kAttrType},   {"mode", kAttrMode},     {"owner", kAttrOwner},   {"group", kAttrGroup},
    {"size", kAttrSize},   {"mtime", kAttrMtime},   {"ctime", kAttrCtime},   {"inode", kAttrInode},
    {"links", kAttrLinks}, {"target", kAttrTarget}, {"xattrs", kAttrXattrs}, {"acl", kAttrAcl},
    {"hash", kAttrHash},
};
constexpr uint32_t kContent =
    kAttrType | kAttrSize | kAttrHash | kAttrTarget | kAttrMode | kAttrOwner | kAttrGroup;
constexpr uint32_t kPerms =
    kAttrType | kAttrMode | kAttrOwner | kAttrGroup | kAttrTarget | kAttrXattrs | kAttrAcl;

Result<uint32_t> attr_word(std::string_view w) {
  if (w == "all") return static_cast<uint32_t>(kAttrAll);
  if (w == "content") return kContent;
  if (w == "perms") return kPerms;
  for (const auto& a : kAttrNames)
    if (w == a.name) return a.bits;
  return Error::invalid(fmt::format(
      "unknown attribute '{}' (all, content, perms, type, mode, owner, group, size, mtime, ctime, "
      "inode, links, target, xattrs, acl, hash)",
      sanitize(w)));
}

// Globs are written by the operator, but a pathological one must not stall a check.
Status check_glob(const std::string& g, const std::string& where) {
  if (g.empty()) return Error::invalid(where + ": empty glob");
  if (std::count(g.begin(), g.end(), '*') > 8)
    return Error::invalid(where + ": glob '" + sanitize(g) + "' has more than 8 '*'");
  if (g[0] != '/' && !g.starts_with("**") && !g.starts_with("@webroots"))
    return Error::invalid(where + ": glob '" + sanitize(g) +
                          "' must be an absolute path (or start with ** or @webroots)");
  return ok();
}

bool under(std::string_view p, std::string_view dir) {
  if (dir == "/") return true;
  return p.starts_with(dir) && (p.size() == dir.size() || p[dir.size()] == '/');
}

Result<uint64_t> parse_size(std::string_view s) {
  if (s.empty()) return Error::invalid("empty size");
  uint64_t mult = 1;
  char last = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
  if (last == 'K' || last == 'M' || last == 'G' || last == 'T') {
    mult = last == 'K'   ? 1ull << 10
           : last == 'M' ? 1ull << 20
           : last == 'G' ? 1ull << 30
                         : 1ull << 40;
    s.remove_suffix(1);
  }
  uint64_t v = 0;
  if (s.empty() || s.size() > 12) return Error::invalid("bad size");
  for (char c : s) {
    if (c < '0' || c > '9') return Error::invalid("bad size");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v * mult;
}

std::string size_text(uint64_t v) {
  for (auto [suffix, shift] : {std::pair{'T', 40}, {'G', 30}, {'M', 20}, {'K', 10}})
    if (v >= (1ull << shift) && v % (1ull << shift) == 0)
      return fmt::format("{}{}", v >> shift, suffix);
  return std::to_string(v);
}

// Reads an array of strings (or one string) at key.
Result<std::vector<std::string>> strings(const toml::table& t, std::string_view key,
                                         const std::string& where) {
  std::vector<std::string> out;
  const toml::node* n = t.get(key);
  if (!n) return out;
  if (auto s = n->value<std::string>()) {
    out.push_back(*s);
    return out;
  }
  const toml::array* a = n->as_array();
  if (!a)
    return Error::invalid(
        fmt::format("{}: '{}' must be a string or a list of strings", where, key));
  for (const auto& e : *a) {
    auto s = e.value<std::string>();
    if (!s) return Error::invalid(fmt::format("{}: '{}' must list strings", where, key));
    out.push_back(*s);
  }
  return out;
}

std::string where_of(const std::string& origin, const toml::node& n) {
  const auto& src = n.source();
  return fmt::format("{}:{}:{}", origin, src.begin.line, src.begin.column);
}

Status known_keys(const toml::table& t, std::initializer_list<std::string_view> keys,
                  const std::string& where) {
  for (const auto& [k, v] : t) {
    if (std::find(keys.begin(), keys.end(), k.str()) == keys.end())
      return Error::invalid(fmt::format("{}: unknown key '{}' (allowed: {})", where,
                                        sanitize(k.str()), fmt::join(keys, ", ")));
  }
  return ok();
}

Result<Severity> severity_at(const toml::table& t, Severity def, const std::string& where) {
  const toml::node* n = t.get("severity");
  if (!n) return def;
  auto s = n->value<std::string>();
  if (!s) return Error::invalid(where + ": 'severity' must be a string");
  auto v = parse_severity(*s);
  if (!v) return Error::invalid(where + ": " + v.error().message);
  return *v;
}

bool has_meta(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

}  // namespace

Glob::Glob(std::string pattern) : kind_(kGeneric), pattern_(std::move(pattern)) {
  std::string_view p = pattern_;
  if (!has_meta(p)) {
    kind_ = kLiteral;
    lit_ = pattern_;
  } else if (p.starts_with("**/*") && !has_meta(p.substr(4)) && p.substr(4).find('/') == p.npos &&
             p.size() > 4) {
    kind_ = kSuffix;
    lit_ = p.substr(4);
  } else if (p.starts_with("**/") && !has_meta(p.substr(3)) && p.substr(3).find('/') == p.npos &&
             p.size() > 3) {
    kind_ = kBasename;
    lit_ = "/" + std::string(p.substr(3));
  } else if (p.ends_with("/**") && !has_meta(p.substr(0, p.size() - 3)) && p.size() > 3) {
    kind_ = kUnder;
    lit_ = p.substr(0, p.size() - 2);  // "/var/cache/"
  }
}

bool Glob::match(std::string_view path) const {
  switch (kind_) {
    case kLiteral:
      return path == lit_;
    case kBasename:
      return path.ends_with(lit_);
    case kSuffix:
      return path.size() > lit_.size() && path.ends_with(lit_) &&
             path.rfind('/') < path.size() - lit_.size();
    case kUnder:
      return path.starts_with(lit_);
    case kGeneric:
      break;
  }
  return path_glob_match(pattern_, path);
}

Result<uint32_t> parse_attrs(const std::vector<std::string>& words) {
  uint32_t bits = 0;
  for (const auto& w : words) {
    bool remove = w.starts_with('-');
    auto b = attr_word(remove ? std::string_view(w).substr(1) : std::string_view(w));
    if (!b) return b.error();
    bits = remove ? bits & ~*b : bits | *b;
  }
  if (!(bits & kAttrType)) bits |= kAttrType;  // an object replaced by another kind always counts
  return bits;
}

std::string attrs_text(uint32_t attrs) {
  if ((attrs & kAttrAll) == kAttrAll) return "all";
  std::vector<std::string> names;
  for (const auto& a : kAttrNames)
    if (attrs & a.bits) names.emplace_back(a.name);
  return fmt::format("{}", fmt::join(names, " "));
}

Result<Policy> parse_policy(std::string_view text, const std::string& origin) {
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return Error::invalid(fmt::format("{}:{}:{}: {}", origin, e.source().begin.line,
                                      e.source().begin.column, e.description()));
  }
  Policy p;
  MAMORI_TRY(
      known_keys(
          doc, {"hash", "max_hash_size", "one_filesystem", "exclude", "webroots", "watch", "alert"},
          origin),
      "fim policy");
  if (auto h = doc["hash"].value<std::string>()) {
    if (*h != "sha256" && *h != "sha512" && *h != "blake2b")
      return Error::invalid(
          fmt::format("{}: hash '{}' (sha256, sha512 or blake2b)", origin, sanitize(*h)));
    p.hash = *h;
  } else if (doc.contains("hash")) {
    return Error::invalid(origin + ": 'hash' must be a string");
  }
  if (const toml::node* n = doc.get("max_hash_size")) {
    if (auto i = n->value<int64_t>(); i && *i >= 0 && n->is_integer()) {
      p.max_hash_size = static_cast<uint64_t>(*i);
    } else if (auto s = n->value<std::string>()) {
      auto v = parse_size(*s);
      if (!v)
        return Error::invalid(fmt::format("{}: max_hash_size '{}': {}", where_of(origin, *n),
                                          sanitize(*s), v.error().message));
      p.max_hash_size = *v;
    } else {
      return Error::invalid(where_of(origin, *n) + ": max_hash_size must be bytes or \"16G\"");
    }
  }
  if (const toml::node* n = doc.get("one_filesystem")) {
    auto b = n->value<bool>();
    if (!b || !n->is_boolean())
      return Error::invalid(where_of(origin, *n) + ": one_filesystem must be true or false");
    p.one_filesystem = *b;
  }
  auto ex = strings(doc, "exclude", origin);
  if (!ex) return ex.error();
  for (const auto& g : *ex) MAMORI_TRY(check_glob(g, origin + ": exclude"), "fim policy");
  p.exclude = std::move(*ex);
  // Written by to_toml(): the web roots the policy was resolved with.
  auto wr = strings(doc, "webroots", origin);
  if (!wr) return wr.error();
  p.webroots = std::move(*wr);

  if (const toml::node* n = doc.get("watch")) {
    const toml::array* arr = n->as_array();
    if (!arr) return Error::invalid(where_of(origin, *n) + ": use [[watch]] tables");
    for (const auto& e : *arr) {
      std::string where = where_of(origin, e);
      const toml::table* t = e.as_table();
      if (!t) return Error::invalid(where + ": [[watch]] must be a table");
      MAMORI_TRY(known_keys(*t, {"path", "check", "severity", "exclude", "why"}, where),
                 "fim policy");
      Rule r;
      auto path = (*t)["path"].value<std::string>();
      if (!path || path->empty() || ((*path)[0] != '/' && *path != "@webroots"))
        return Error::invalid(where + ": 'path' must be an absolute path or \"@webroots\"");
      r.path = *path;
      while (r.path.size() > 1 && r.path.back() == '/') r.path.pop_back();
      auto check = strings(*t, "check", where);
      if (!check) return check.error();
      if (!check->empty()) {
        auto bits = parse_attrs(*check);
        if (!bits) return Error::invalid(where + ": " + bits.error().message);
        r.attrs = *bits;
      }
      auto sev = severity_at(*t, Severity::kMedium, where);
      if (!sev) return sev.error();
      r.severity = *sev;
      auto rex = strings(*t, "exclude", where);
      if (!rex) return rex.error();
      for (const auto& g : *rex) MAMORI_TRY(check_glob(g, where + ": exclude"), "fim policy");
      r.exclude = std::move(*rex);
      r.why = (*t)["why"].value_or(std::string());
      p.rules.push_back(std::move(r));
    }
  }
  if (const toml::node* n = doc.get("alert")) {
    const toml::array* arr = n->as_array();
    if (!arr) return Error::invalid(where_of(origin, *n) + ": use [[alert]] tables");
    for (const auto& e : *arr) {
      std::string where = where_of(origin, e);
      const toml::table* t = e.as_table();
      if (!t) return Error::invalid(where + ": [[alert]] must be a table");
      MAMORI_TRY(known_keys(*t, {"match", "on", "severity", "why"}, where), "fim policy");
      Alert a;
      auto m = strings(*t, "match", where);
      if (!m) return m.error();
      if (m->empty()) return Error::invalid(where + ": [[alert]] needs 'match'");
      for (const auto& g : *m) MAMORI_TRY(check_glob(g, where + ": match"), "fim policy");
      a.match = std::move(*m);
      auto on = strings(*t, "on", where);
      if (!on) return on.error();
      if (!on->empty()) {
        a.on = 0;
        for (const auto& w : *on) {
          if (w == "added")
            a.on |= kOnAdded;
          else if (w == "changed")
            a.on |= kOnChanged;
          else if (w == "removed")
            a.on |= kOnRemoved;
          else
            return Error::invalid(
                fmt::format("{}: on = '{}' (added, changed, removed)", where, sanitize(w)));
        }
      }
      auto sev = severity_at(*t, Severity::kHigh, where);
      if (!sev) return sev.error();
      a.severity = *sev;
      a.why = (*t)["why"].value_or(std::string());
      p.alerts.push_back(std::move(a));
    }
  }
  return p;
}

std::vector<std::string> Policy::resolve(const Root& root, const std::vector<std::string>& wr) {
  webroots = wr;
  std::vector<std::string> dropped;
  std::vector<Rule> out;
  for (auto& r : rules) {
    if (r.path == "@webroots") {
      for (const auto& w : wr) {
        Rule c = r;
        c.path = w;
        out.push_back(std::move(c));
      }
      continue;
    }
    auto st = root.stat(r.path, /*follow_last=*/false);
    // Merged-/usr symlinks (/bin → usr/bin) are covered through their target.
    if (!st || S_ISLNK(st->st_mode)) {
      dropped.push_back(r.path);
      continue;
    }
    out.push_back(std::move(r));
  }
  // Later rules win for the same path (an operator's override of a default).
  std::vector<Rule> uniq;
  for (auto it = out.rbegin(); it != out.rend(); ++it)
    if (std::none_of(uniq.begin(), uniq.end(), [&](const Rule& u) { return u.path == it->path; }))
      uniq.push_back(std::move(*it));
  std::reverse(uniq.begin(), uniq.end());
  rules = std::move(uniq);
  for (auto& a : alerts) {
    std::vector<std::string> m;
    for (const auto& g : a.match) {
      if (g.starts_with("@webroots")) {
        for (const auto& w : wr) m.push_back((w == "/" ? "" : w) + g.substr(9));
      } else {
        m.push_back(g);
      }
    }
    a.match = std::move(m);
  }
  // An alert only about web roots, on a host without any, has nothing left to match.
  std::erase_if(alerts, [](const Alert& a) { return a.match.empty(); });
  return dropped;
}

const Rule* Policy::rule_for(std::string_view path) const {
  const Rule* best = nullptr;
  for (const auto& r : rules)
    if (under(path, r.path) && (!best || r.path.size() > best->path.size())) best = &r;
  return best;
}

const Policy::Compiled& Policy::compiled() const {
  // Rebuilt when the lists were edited (operators' --exclude, resolve(), a copy): a cheap key
  // of sizes and storage addresses, not a hash of every glob on every call.
  size_t h = exclude.size() * 1315423911u + rules.size() +
             reinterpret_cast<uintptr_t>(exclude.data()) * 31 +
             reinterpret_cast<uintptr_t>(rules.data()) * 17;
  for (const auto& r : rules) h = h * 31 + r.exclude.size();
  if (h == compiled_.sizes_hash && compiled_.per_rule.size() == rules.size()) return compiled_;
  compiled_ = Compiled{};
  compiled_.sizes_hash = h;
  for (const auto& g : exclude) compiled_.global.emplace_back(g);
  for (const auto& r : rules) {
    compiled_.per_rule.emplace_back();
    for (const auto& g : r.exclude) compiled_.per_rule.back().emplace_back(g);
  }
  return compiled_;
}

bool Policy::excluded(std::string_view path) const {
  const Compiled& c = compiled();
  for (const auto& g : c.global)
    if (g.match(path)) return true;
  // Excludes of every rule that covers the path (an inner rule cannot re-include).
  for (size_t i = 0; i < rules.size(); ++i)
    if (!c.per_rule[i].empty() && under(path, rules[i].path))
      for (const auto& g : c.per_rule[i])
        if (g.match(path)) return true;
  return false;
}

std::vector<std::string> Policy::paths() const {
  std::vector<std::string> out;
  for (const auto& r : rules) out.push_back(r.path);
  return out;
}

std::optional<std::pair<Severity, std::string>> Policy::alert_for(std::string_view path,
                                                                  Event ev) const {
  std::optional<std::pair<Severity, std::string>> best;
  for (const auto& a : alerts) {
    if (!(a.on & ev) || (best && best->first >= a.severity)) continue;
    for (const auto& g : a.match)
      if (path_glob_match(g, path)) {
        best = {a.severity, a.why};
        break;
      }
  }
  return best;
}

bool Policy::in_webroot(std::string_view path) const {
  return std::any_of(webroots.begin(), webroots.end(),
                     [&](const std::string& w) { return under(path, w); });
}

std::string Policy::to_toml() const {
  toml::table doc;
  doc.insert("hash", hash);
  doc.insert("max_hash_size", size_text(max_hash_size));
  doc.insert("one_filesystem", one_filesystem);
  auto list = [](const std::vector<std::string>& v) {
    toml::array a;
    for (const auto& s : v) a.push_back(s);
    return a;
  };
  doc.insert("exclude", list(exclude));
  doc.insert("webroots", list(webroots));
  toml::array watch;
  for (const auto& r : rules) {
    toml::table t;
    t.insert("path", r.path);
    std::vector<std::string> words;
    if ((r.attrs & kAttrAll) == kAttrAll) {
      words.push_back("all");
    } else {
      for (const auto& a : kAttrNames)
        if (r.attrs & a.bits) words.emplace_back(a.name);
    }
    t.insert("check", list(words));
    t.insert("severity", std::string(severity_name(r.severity)));
    if (!r.exclude.empty()) t.insert("exclude", list(r.exclude));
    if (!r.why.empty()) t.insert("why", r.why);
    watch.push_back(std::move(t));
  }
  doc.insert("watch", std::move(watch));
  toml::array alerts_a;
  for (const auto& a : alerts) {
    toml::table t;
    t.insert("match", list(a.match));
    std::vector<std::string> on;
    if (a.on & kOnAdded) on.emplace_back("added");
    if (a.on & kOnChanged) on.emplace_back("changed");
    if (a.on & kOnRemoved) on.emplace_back("removed");
    t.insert("on", list(on));
    t.insert("severity", std::string(severity_name(a.severity)));
    if (!a.why.empty()) t.insert("why", a.why);
    alerts_a.push_back(std::move(t));
  }
  doc.insert("alert", std::move(alerts_a));
  std::ostringstream os;
  os << toml::toml_formatter(doc) << "\n";
  return os.str();
}

Result<Policy> load_policy(const Root& root, const PolicyRequest& req,
                           std::vector<std::string>* dropped) {
  std::string origin = req.config;
  std::string text;
  if (origin.empty() && root.exists("/etc/mamori/fim.toml")) {
    origin = root.path("/etc/mamori/fim.toml").string();
    auto t = root.read("/etc/mamori/fim.toml", 4 << 20);
    if (!t) return t.error().with_context("fim policy");
    text = std::move(*t);
  } else if (origin.empty()) {
    origin = "(built-in default policy)";
    text = std::string(default_policy_text());
  } else {
    auto t = read_file(origin, 4 << 20);
    if (!t) return t.error().with_context("fim policy");
    text = std::move(*t);
  }
  auto pol = parse_policy(text, origin);
  if (!pol) return pol.error();
  if (!req.paths.empty()) {
    pol->rules.clear();
    for (const auto& p : req.paths) {
      if (p.empty() || p[0] != '/') return Error::invalid("fim: PATH must be absolute: " + p);
      if (!root.exists(p))
        return Error::not_found(fmt::format("fim: {}: no such file or directory", p));
      std::string q = p;
      while (q.size() > 1 && q.back() == '/') q.pop_back();
      pol->rules.push_back(Rule{q, kAttrAll, Severity::kMedium, {}, ""});
    }
  }
  if (!req.hash.empty()) {
    auto h = parse_hash(req.hash);
    if (!h) return h.error();
    pol->hash = req.hash;
  }
  for (const auto& x : req.excludes) pol->exclude.push_back(x);
  std::vector<std::string> webroots = req.webroots;
  std::sort(webroots.begin(), webroots.end());
  webroots.erase(std::unique(webroots.begin(), webroots.end()), webroots.end());
  auto d = pol->resolve(root, webroots);
  if (dropped) *dropped = std::move(d);
  if (pol->rules.empty()) return Error::invalid(origin + ": no watched path exists on this host");
  return pol;
}

}  // namespace mamori::fim
