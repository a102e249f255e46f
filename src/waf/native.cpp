// Mamori's native detectors (native.h): hand-written scanners, each bounded by its input.
#include "waf/native.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/text.h"
#include "waf/detect.h"
#include "waf/native_text.h"

namespace mamori::waf {

using namespace native_text;

namespace {

// ---- XXE ------------------------------------------------------------------------------------

// The keyword after a markup declaration's name: SYSTEM or PUBLIC (an external identifier).
bool external_id_at(std::string_view s, size_t i) {
  return istarts(s.substr(i), "system") || istarts(s.substr(i), "public");
}
size_t skip_name(std::string_view s, size_t i) {
  while (i < s.size() && !is_space(s[i]) && s[i] != '>' && s[i] != '[' && s[i] != '"' &&
         s[i] != '\'')
    ++i;
  return i;
}
// A quoted literal starting at i (after spaces); its content, and i moved past it.
std::string_view literal(std::string_view s, size_t& i) {
  i = skip_space(s, i);
  if (i >= s.size() || (s[i] != '"' && s[i] != '\'')) return {};
  const char q = s[i];
  size_t end = s.substr(0, i + 4096).find(q, i + 1);
  if (end == npos) end = std::min(s.size(), i + 4096);
  std::string_view lit = s.substr(i + 1, end - i - 1);
  i = std::min(end + 1, s.size());
  return lit;
}

}  // namespace

namespace {

std::optional<std::string> xxe_plain(std::string_view v) {
  for (size_t p = 0; (p = v.find("<!", p)) != npos; p += 2) {
    // White space and names are skipped whole (each run belongs to one declaration: linear);
    // a quoted literal is looked for within 4 KiB (an unterminated one does not parse).
    std::string_view d = v.substr(p + 2);
    if (istarts(d, "entity")) {
      size_t i = skip_space(d, 6);
      if (i == 6) continue;                                    // "<!ENTITYx": not a declaration
      if (i < d.size() && d[i] == '%') return fragment(v, p);  // a parameter entity
      i = skip_space(d, skip_name(d, i));
      if (i < d.size() && external_id_at(d, i)) return fragment(v, p);
    } else if (istarts(d, "doctype")) {
      size_t i = skip_space(d, 7);
      i = skip_space(d, skip_name(d, i));
      if (i >= d.size() || !external_id_at(d, i)) continue;
      const bool pub = istarts(d.substr(i), "public");
      i += 6;
      if (pub) literal(d, i);  // the public identifier
      std::string_view sys = literal(d, i);
      // XHTML and SVG documents name the W3C's DTDs: a parser that fetches them gets the
      // W3C's DTD, which is not an attack (and code in forum posts carries them).
      if (istarts(sys, "http://www.w3.org/") || istarts(sys, "https://www.w3.org/")) continue;
      return fragment(v, p);
    }
  }
  // XInclude pulls a file into the document without any DTD: its namespace, whatever the
  // year (2001, 2003) and prefix, also behind a character reference ("&#50;001/XInclude").
  if (size_t x = ifind(v, "/xinclude"); x != npos) return fragment(v, x > 40 ? x - 40 : 0);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> xxe_in(std::string_view v) {
  if (auto r = xxe_plain(v)) return r;
  // UTF-16 or UTF-32 (libxml2 reads them by their BOM or their "<\0?\0"): the same markup
  // with its NUL bytes taken out.
  if (v.find('\0') == npos) return std::nullopt;
  std::string narrow;
  narrow.reserve(v.size() / 2);
  for (char c : v)
    if (c != '\0') narrow += c;
  return xxe_plain(narrow);
}

// ---- SSRF: cloud metadata addresses ---------------------------------------------------------

// ---- SSTI -----------------------------------------------------------------------------------

namespace {

// "7*7", "7*'7'", " 1 + 2 ": a probe of arithmetic with literal numbers.
bool arithmetic_probe(std::string_view e) {
  size_t i = skip_space(e, 0);
  auto number = [&]() {
    bool q = i < e.size() && (e[i] == '\'' || e[i] == '"');
    if (q) ++i;
    size_t s = i;
    while (i < e.size() && is_digit(e[i])) ++i;
    if (i == s) return false;
    if (q) {
      if (i >= e.size() || (e[i] != '\'' && e[i] != '"')) return false;
      ++i;
    }
    return true;
  };
  if (!number()) return false;
  i = skip_space(e, i);
  if (i >= e.size() || !std::strchr("*+/-%", e[i])) return false;
  ++i;
  i = skip_space(e, i);
  if (!number()) return false;
  return skip_space(e, i) == e.size();
}

// expr without its white space (padding inside an expression changes nothing for the engine
// and must not hide a token), lower-cased. erb: the delimiter was "<%" (Ruby: `cmd` runs it).
bool strong_template(std::string_view expr, bool erb) {
  std::string e;
  e.reserve(expr.size());
  for (char c : expr)
    if (!is_space(c)) e += lc(c);
  if (e.empty()) return false;
  if (arithmetic_probe(e)) return true;
  if (erb && e.find('`') != npos) return true;
  static constexpr std::array<std::string_view, 40> tokens = {"__class__",
                                                              "__mro__",
                                                              "__subclasses__",
                                                              "__globals__",
                                                              "__init__",
                                                              "__builtins__",
                                                              "__import__",
                                                              "__base__",
                                                              ".class.",
                                                              "getclass",
                                                              "t(java",
                                                              "java.lang",
                                                              "runtime",
                                                              "processbuilder",
                                                              "freemarker",
                                                              "?new(",
                                                              "constructor.constructor",
                                                              "_templatereference",
                                                              "|attr(",
                                                              "|filter(",
                                                              "|map(",
                                                              "|reduce(",
                                                              "|sort(",
                                                              "system(",
                                                              "request[",
                                                              "get_flashed_messages",
                                                              "popen",
                                                              "os.system",
                                                              "subprocess",
                                                              "smarty",
                                                              "_self.env",
                                                              "registerundefinedfiltercallback",
                                                              ".mro(",
                                                              ".subclasses(",
                                                              "self._",
                                                              "dump(",
                                                              "passthru(",
                                                              "shell_exec(",
                                                              "request.environ",
                                                              "request.application"};
  for (auto t : tokens)
    if (e.find(t) != npos) return true;
  // The template's own objects, asked for whole: {{config}}, {{self}}, {{ request }}.
  for (std::string_view id : {"config", "self", "request", "_self"})
    if (e == id) return true;
  for (std::string_view p : {"config.items(", "config.iteritems(", "app.request", "config|"})
    if (e.find(p) != npos) return true;
  // A method called on a string literal: {{'a'.toUpperCase()}}.
  if (e[0] == '\'' || e[0] == '"') {
    size_t q = e.find(e[0], 1);
    if (q != npos && q + 1 < e.size() && e[q + 1] == '.') {
      size_t i = q + 2;
      while (i < e.size() && is_ident(e[i])) ++i;
      if (i > q + 2 && i < e.size() && e[i] == '(') return true;
    }
  }
  return false;
}

struct Delim {
  std::string_view open, close;
};

std::optional<std::string> ssti_plain(std::string_view v) {
  static constexpr std::array<Delim, 9> delims = {{{"{{", "}}"},
                                                   {"${", "}"},
                                                   {"#{", "}"},
                                                   {"*{", "}"},
                                                   {"<%", "%>"},
                                                   {"{%", "%}"},
                                                   {"@(", ")"},
                                                   {"{$", "}"},
                                                   {"<#", ">"}}};
  // Every opening is judged, its expression running to the next closing (found once per
  // closing: the search only moves forward). The bytes judged are budgeted at 4 per byte of
  // the value: only openings nested in each other ("{{{{{{…}}") spend more, and a value that
  // does is reported rather than judged in part (a payload hidden behind it would go unseen).
  size_t budget = 4 * v.size() + 4096;
  for (const Delim& d : delims) {
    size_t close = 0;
    bool any_close = true;
    for (size_t p = 0; (p = v.find(d.open, p)) != npos; ++p) {
      size_t s = p + d.open.size();
      if (d.open == "<%" && s < v.size() && (v[s] == '=' || v[s] == '-')) ++s;
      if (any_close && close < s) {
        close = v.find(d.close, s);
        any_close = close != npos;
      }
      if (!any_close) break;  // an expression never closed is not evaluated by an engine
      std::string_view expr = v.substr(s, close - s);
      // {$smarty…}: the '$' is part of the expression.
      if (d.open == "{$") expr = v.substr(s - 1, expr.size() + 1);
      if (expr.size() > budget) return fragment(v, p);
      budget -= expr.size();
      if (strong_template(expr, d.open == "<%")) return fragment(v, p);
    }
  }
  return std::nullopt;
}

// ---- NoSQL, prototype pollution --------------------------------------------------------------

bool mongo_operator(std::string_view name) {
  static constexpr std::array<std::string_view, 35> ops = {
      "where", "ne",         "eq",        "gt",          "gte",     "lt",       "lte",
      "in",    "nin",        "regex",     "exists",      "expr",    "or",       "and",
      "nor",   "not",        "elemMatch", "size",        "type",    "mod",      "all",
      "text",  "jsonSchema", "function",  "accumulator", "comment", "options",  "lookup",
      "set",   "unset",      "inc",       "push",        "rename",  "addToSet", "pull"};
  for (auto o : ops)
    if (name == o) return true;
  return false;
}

// The segments of a parameter name: "a[b][c]", "a.b.c", "json.a.b".
template <typename F>
bool any_segment(std::string_view name, F f) {
  size_t s = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '[' || name[i] == ']' || name[i] == '.') {
      if (i > s && f(name.substr(s, i - s), name.substr(i))) return true;
      s = i + 1;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> ssti_in(std::string_view v) { return with_decoded(v, ssti_plain); }

bool nosql_key(std::string_view name) {
  return any_segment(name, [](std::string_view seg, std::string_view) {
    return seg.size() > 1 && seg[0] == '$' && mongo_operator(seg.substr(1));
  });
}

bool proto_key(std::string_view name) {
  return any_segment(name, [](std::string_view seg, std::string_view after) {
    if (seg == "__proto__") return true;
    if (seg != "constructor") return false;
    size_t i = 0;
    while (i < after.size() && (after[i] == '[' || after[i] == ']' || after[i] == '.')) ++i;
    return after.substr(i).starts_with("prototype");
  });
}

namespace {

// A GraphQL document: its variables ($text: String!) look like operators used as keys.
bool graphql(std::string_view v) { return is_graphql(v); }

std::optional<std::string> nosql_plain(std::string_view v) {
  if (graphql(v)) return std::nullopt;
  // An operator used as an object key: {"$ne": 1}, { $gt: '' }, ', $where: '1 == 1'.
  for (size_t p = 0; (p = v.find('$', p)) != npos; ++p) {
    size_t e = p + 1;
    while (e < v.size() && is_ident(v[e])) ++e;
    if (!mongo_operator(v.substr(p + 1, e - p - 1))) continue;
    size_t a = e;
    if (a < v.size() && (v[a] == '"' || v[a] == '\'')) ++a;
    a = skip_space(v, a);
    if (a >= v.size() || v[a] != ':') continue;
    size_t b = p;
    if (b > 0 && (v[b - 1] == '"' || v[b - 1] == '\'')) --b;
    while (b > 0 && is_space(v[b - 1])) --b;
    if (b == 0 || v[b - 1] == '{' || v[b - 1] == ',') return fragment(v, b ? b - 1 : 0);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> nosql_in_value(std::string_view v) {
  if (auto r = nosql_plain(v)) return r;
  // JSON inside a string the application parses: "\u0024ne" is "$ne" to it.
  if (ifind(v, "\\u0024") == npos) return std::nullopt;
  std::string d(v);
  for (size_t p = 0; (p = ifind(d, "\\u0024", p)) != npos;) d.replace(p, 6, "$");
  return nosql_plain(d);
}

bool is_graphql(std::string_view v) {
  std::string_view t = trim(v);
  for (std::string_view kw : {"query", "mutation", "subscription", "fragment"})
    if (t.starts_with(kw) && (t.size() == kw.size() || !is_ident(t[kw.size()]))) return true;
  // The shorthand query "{ user(id: 1) { name } }" (a JSON object starts with '{"').
  if (t.starts_with('{')) {
    size_t i = skip_space(t, 1);
    return i < t.size() && is_ident(t[i]);
  }
  return false;
}

std::optional<std::string> graphql_in(std::string_view v) {
  if (!is_graphql(v)) return std::nullopt;
  // Each string literal, unescaped (\" \\ \n …; \uXXXX as its ASCII when it is one), then
  // judged by the SQL and HTML tokenizers as CRS would judge an argument.
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '#') {  // a comment to the end of the line
      while (i < v.size() && v[i] != '\n') ++i;
      continue;
    }
    if (v[i] != '"') continue;
    bool block = v.substr(i, 3) == "\"\"\"";
    size_t start = i + (block ? 3 : 1);
    std::string lit;
    size_t j = start;
    for (; j < v.size(); ++j) {
      if (block && v.substr(j, 3) == "\"\"\"") break;
      if (!block && v[j] == '"') break;
      if (!block && v[j] == '\\' && j + 1 < v.size()) {
        char e = v[++j];
        if (e == 'u' && j + 4 < v.size()) {
          unsigned cp = 0;
          bool ok = true;
          for (size_t k = 1; k <= 4; ++k) {
            char h = v[j + k];
            int d = is_digit(h) ? h - '0' : (lc(h) >= 'a' && lc(h) <= 'f') ? lc(h) - 'a' + 10 : -1;
            if (d < 0) ok = false;
            cp = cp * 16 + static_cast<unsigned>(d < 0 ? 0 : d);
          }
          if (ok && cp < 0x80) {
            lit += static_cast<char>(cp);
            j += 4;
            continue;
          }
        }
        lit += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        continue;
      }
      lit += v[j];
    }
    if (lit.size() >= 2 &&
        (detect_sqli(lit, nullptr) || detect_xss(lit) || detect_shell_command(lit)))
      return fragment(v, i);
    i = block ? j + 2 : j;
  }
  return std::nullopt;
}

// ---- JNDI -----------------------------------------------------------------------------------

namespace {

struct Lookup {
  bool hit = false;
  size_t at = 0;
};

// Letters Java's case mapping turns into ASCII ones (String.toUpperCase/toLowerCase, which
// Log4j's upper/lower lookups call): dotless i to I, long s to S, the Kelvin sign to k.
std::string java_fold(std::string_view key) {
  std::string o;
  o.reserve(key.size());
  for (size_t i = 0; i < key.size(); ++i) {
    auto u = [&](size_t k) {
      return i + k < key.size() ? static_cast<unsigned char>(key[i + k]) : 0;
    };
    if (u(0) == 0xc4 && u(1) == 0xb1) {
      o += 'i';
      ++i;
    } else if (u(0) == 0xc5 && u(1) == 0xbf) {
      o += 's';
      ++i;
    } else if (u(0) == 0xe2 && u(1) == 0x84 && u(2) == 0xaa) {
      o += 'k';
      i += 2;
    } else {
      o += key[i];
    }
  }
  return o;
}

// Log4j's substitution: "${prefix:key:-default}"; nested lookups resolve first. Returns the
// resolved text from i up to the '}' that closes this level (or the end), i moved past it.
std::string substitute(std::string_view s, size_t& i, int depth, bool nested, Lookup& lk) {
  std::string out;
  while (i < s.size() && !lk.hit) {
    if (nested && s[i] == '}') {
      ++i;
      return out;
    }
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{' && depth >= 16) {
      // Log4j has no depth limit; nesting this deep is only ever obfuscation.
      lk.hit = true;
      lk.at = i;
      break;
    }
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      size_t start = i;
      i += 2;
      std::string inner = substitute(s, i, depth + 1, true, lk);
      std::string low = to_lower(trim(inner));
      if (low.starts_with("jndi:") || low.starts_with("jndi ")) {
        lk.hit = true;
        lk.at = start;
        break;
      }
      if (size_t d = inner.find(":-"); d != npos) {
        out += inner.substr(d + 2);
      } else if (size_t c = inner.find(':'); c != npos) {
        std::string prefix = to_lower(trim(std::string_view(inner).substr(0, c)));
        std::string_view key = std::string_view(inner).substr(c + 1);
        if (prefix == "lower")
          out += to_lower(java_fold(key));
        else if (prefix == "upper")
          out += to_upper(java_fold(key));
        else if (prefix == "date") {
          for (char ch : key)
            if (ch != '\'') out += ch;
        }
      }
      continue;
    }
    out += s[i++];
  }
  return out;
}

std::optional<std::string> jndi_plain(std::string_view v) {
  if (v.find("${") == npos) return std::nullopt;
  Lookup lk;
  size_t i = 0;
  substitute(v, i, 0, false, lk);
  if (lk.hit) return fragment(v, lk.at);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> jndi_in(std::string_view v) {
  if (v.find('$') == npos && v.find('%') == npos) return std::nullopt;
  return with_decoded(v, jndi_plain);
}

// ---- the request ----------------------------------------------------------------------------

const std::vector<NativeInfo>& native_detectors() {
  static const std::vector<NativeInfo> all = {
      {kNativeXxe, 7700100, "xxe", "XML external entity or XInclude (XXE)"},
      {kNativeSsrf, 7700200, "ssrf", "Request to a cloud metadata address (SSRF)"},
      {kNativeSsti, 7700300, "ssti", "Server-side template injection"},
      {kNativeNosql, 7700400, "nosql", "NoSQL (MongoDB) operator injection"},
      {kNativeProto, 7700500, "proto", "Prototype pollution key"},
      {kNativeJndi, 7700600, "jndi", "Log4j JNDI lookup (Log4Shell)"},
      {kNativeSqliHeader, 7700700, "sqli-headers", "SQL injection in a request header"},
      {kNativeSqliPath, 7700710, "sqli-path", "SQL injection in a path segment"},
      {kNativeGraphql, 7700800, "graphql", "SQL injection or XSS in a GraphQL string argument"},
  };
  return all;
}

std::optional<NativeDetector> native_by_name(std::string_view name) {
  for (const auto& d : native_detectors())
    if (d.name == name) return d.bit;
  return std::nullopt;
}

Result<uint32_t> parse_native_list(std::string_view list) {
  std::string_view l = trim(list);
  if (l == "all") return static_cast<uint32_t>(kNativeAll);
  if (l == "none" || l.empty()) return 0u;
  uint32_t bits = 0;
  for (std::string_view n : split(l, ',')) {
    auto b = native_by_name(trim(n));
    if (!b) {
      std::string known;
      for (const auto& d : native_detectors())
        known += (known.empty() ? "" : ", ") + std::string(d.name);
      return Error::invalid("unknown native detector '" + sanitize(trim(n)) + "' (known: " + known +
                            "; or all, none)");
    }
    bits |= *b;
  }
  return bits;
}

namespace {

const NativeInfo& info(NativeDetector d) {
  for (const auto& i : native_detectors())
    if (i.bit == d) return i;
  return native_detectors().front();
}

// Headers whose values are protocol tokens, dates, tags or browser hints, not application
// input: SQL tokenizing them only finds false alarms. CRS reads User-Agent, Referer, Cookie.
// Authorization and Accept-Language are read: applications log and look up both.
bool structural_header(std::string_view name) {
  static constexpr std::array<std::string_view, 22> names = {"host",
                                                             "accept",
                                                             "accept-encoding",
                                                             "accept-charset",
                                                             "content-type",
                                                             "content-length",
                                                             "transfer-encoding",
                                                             "connection",
                                                             "cookie",
                                                             "user-agent",
                                                             "referer",

                                                             "cache-control",
                                                             "pragma",
                                                             "if-modified-since",
                                                             "if-none-match",
                                                             "if-match",
                                                             "if-unmodified-since",
                                                             "range",
                                                             "te",
                                                             "upgrade",
                                                             "expect",
                                                             "keep-alive"};
  if (istarts(name, "sec-")) return true;
  for (auto n : names)
    if (iequals(name, n)) return true;
  return false;
}

// A path segment of letters, digits and "-._~" cannot carry SQL syntax a database would run.
bool plain_segment(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_ident(c) || c == '-' || c == '.' || c == '~'; });
}

class Run {
 public:
  Run(const Request& r, uint32_t enabled, std::vector<NativeHit>& out, bool first_only)
      : r_(r), on_(enabled), out_(out), first_(first_only) {}

  void all() {
    if (on(kNativeJndi)) jndi();
    if (on(kNativeSqliHeader)) sqli_headers();
    if (on(kNativeSqliPath)) sqli_path();
    if (on(kNativeProto)) {
      keys(kNativeProto, proto_key);
      // A property path passed as a value to a set(obj, path, v) helper ("__proto__.isAdmin").
      values(kNativeProto, [](std::string_view v) -> std::optional<std::string> {
        if (v.size() > 256 || v.find_first_of(" \t\r\n") != npos || !proto_key(v))
          return std::nullopt;
        return std::string(v);
      });
    }
    if (on(kNativeNosql)) {
      keys(kNativeNosql, nosql_key);
      values(kNativeNosql, nosql_in_value);
    }
    if (on(kNativeXxe)) {
      if (!done() && (r_.processor == BodyProcessor::kXml || xml_type() || looks_xml(r_.body)))
        if (auto f = xxe_in(r_.body)) hit(kNativeXxe, "REQUEST_BODY", *f);
      values(kNativeXxe, xxe_in);
    }
    if (on(kNativeSsrf)) values(kNativeSsrf, metadata_host_in);
    if (on(kNativeSsti)) values(kNativeSsti, ssti_in);
    if (on(kNativeGraphql)) values(kNativeGraphql, graphql_in);
  }

 private:
  bool on(NativeDetector d) const { return (on_ & d) && !done(); }
  bool done() const { return first_ && !out_.empty(); }
  void hit(NativeDetector d, std::string variable, std::string value) {
    const NativeInfo& i = info(d);
    out_.push_back({i.id, i.msg, std::move(variable), std::move(value)});
  }
  // A body an XML parser would take whatever its Content-Type says (none, text/plain …):
  // markup first, after white space or a byte-order mark, or UTF-16's NUL bytes.
  static bool looks_xml(std::string_view b) {
    std::string_view h = b.substr(0, 64);
    if (h.starts_with("\xef\xbb\xbf")) h.remove_prefix(3);
    if (h.find('\0') != npos && h.find('<') != npos) return true;
    h = trim(h);
    return h.starts_with("<?xml") || h.starts_with("<!");
  }
  bool xml_type() const {
    const std::string* ct = r_.header("Content-Type");
    return ct && ifind(*ct, "xml") != npos;
  }
  template <typename F>
  void keys(NativeDetector d, F f) {
    for (const auto* coll : {&r_.args_get, &r_.args_post}) {
      for (const KV& a : *coll) {
        if (done()) return;
        if (f(a.key))
          hit(d, std::string(coll == &r_.args_get ? "ARGS_GET_NAMES:" : "ARGS_POST_NAMES:") + a.key,
              a.key);
      }
    }
  }
  // Argument values (query, form, JSON, multipart fields), cookies and the XML text.
  template <typename F>
  void values(NativeDetector d, F f) {
    for (const auto* coll : {&r_.args_get, &r_.args_post, &r_.cookies}) {
      const char* name = coll == &r_.cookies ? "REQUEST_COOKIES:" : "ARGS:";
      for (const KV& a : *coll) {
        if (done()) return;
        if (auto frag = f(a.value)) hit(d, name + a.key, std::move(*frag));
      }
    }
    for (const auto* coll : {&r_.xml_text, &r_.xml_attrs})
      for (const std::string& t : *coll) {
        if (done()) return;
        if (auto frag = f(t)) hit(d, "XML:/*", std::move(*frag));
      }
  }
  void jndi() {
    for (const KV& h : r_.headers) {
      if (done()) return;
      if (auto f = jndi_in(h.value))
        hit(kNativeJndi, "REQUEST_HEADERS:" + h.key, *f);
      else if (auto g = jndi_in(h.key))
        hit(kNativeJndi, "REQUEST_HEADERS_NAMES:" + h.key, *g);
    }
    if (done()) return;
    if (auto f = jndi_in(r_.uri_raw)) return hit(kNativeJndi, "REQUEST_URI", *f);
    for (const auto* coll : {&r_.args_get, &r_.args_post, &r_.cookies})
      for (const KV& a : *coll) {
        if (done()) return;
        if (auto f = jndi_in(a.value))
          hit(kNativeJndi, "ARGS:" + a.key, *f);
        else if (auto g = jndi_in(a.key))
          hit(kNativeJndi, "ARGS_NAMES:" + a.key, *g);
      }
    if (!done() && r_.args_post.empty())
      if (auto f = jndi_in(r_.body)) hit(kNativeJndi, "REQUEST_BODY", *f);
  }
  void sqli_headers() {
    for (const KV& h : r_.headers) {
      if (done()) return;
      if (structural_header(h.key) || h.value.size() < 2) continue;
      if (detect_sqli(h.value, nullptr))
        hit(kNativeSqliHeader, "REQUEST_HEADERS:" + h.key, h.value);
    }
  }
  // Segments split on the path as sent, then decoded: an application router decodes "%2F"
  // inside one parameter ("/files/1%2F**%2FUNION…" is one id to it).
  void sqli_path() {
    std::string_view p = std::string_view(r_.uri_raw).substr(0, r_.uri_raw.find_first_of("?#"));
    size_t s = 0;
    for (size_t i = 0; i <= p.size() && !done(); ++i) {
      if (i < p.size() && p[i] != '/') continue;
      std::string_view raw = p.substr(s, i - s);
      s = i + 1;
      if (raw.size() < 2) continue;
      std::string seg = raw.find('%') == npos ? std::string(raw) : url_decode(raw, true);
      if (plain_segment(seg)) continue;
      if (detect_sqli(seg, nullptr)) hit(kNativeSqliPath, "REQUEST_FILENAME", seg);
    }
  }

  const Request& r_;
  uint32_t on_;
  std::vector<NativeHit>& out_;
  bool first_;
};

}  // namespace

void native_detect(const Request& req, uint32_t enabled, std::vector<NativeHit>& out,
                   bool first_only) {
  Run(req, enabled, out, first_only).all();
}

}  // namespace mamori::waf
