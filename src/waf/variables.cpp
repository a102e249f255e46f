// What a rule's targets read from the transaction (ARGS:id, !REQUEST_COOKIES:/^_ga/, &TX:x …),
// and %{macro} expansion in messages, setvar values and operator parameters.
#include <algorithm>
#include <cctype>
#include <functional>

#include "core/text.h"
#include "waf/engine_impl.h"

namespace mamori::waf::detail {

int64_t to_number(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  int64_t v = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
    if (v > (INT64_MAX - 9) / 10) break;  // saturate instead of overflowing
    v = v * 10 + (s[i] - '0');
  }
  return neg ? -v : v;
}

namespace {

// Values are numbered densely per phase (ValueIds): the transformation cache is a table.
template <class Emit>
void each(const std::vector<KV>& kv, bool names, Emit& f, const Transaction& tx, Store st) {
  const int32_t base = tx.ids.base(st, names);
  for (size_t i = 0; i < kv.size(); ++i) {
    const KV& a = kv[i];
    f(a.key, names ? std::string_view(a.key) : std::string_view(a.value),
      base < 0 ? -1 : base + static_cast<int32_t>(i));
  }
}

template <class Emit>
void one(const std::string& v, Emit& f, const Transaction& tx, Single which,
         bool only_if_set = false) {
  if (only_if_set && v.empty()) return;
  f({}, v, tx.ids.single(which));
}

template <class Emit>
void made(std::string_view v, Emit& f) {  // a value made here: not cached
  f({}, v, -1);
}

template <class Emit>
void flag(int v, Emit& f) {
  f({}, v ? "1" : "0", -1);
}

// Every member of a collection as (key, value); single-valued ones have the empty key. Values
// made up here (sizes, counts) live in tx.scratch.
template <class Emit>
void members(Collection c, Transaction& tx, Emit&& f) {
  const Request& r = tx.req;
  switch (c) {
    case Collection::kArgs:
      each(r.args_get, false, f, tx, Store::kArgsGet);
      each(r.args_post, false, f, tx, Store::kArgsPost);
      return;
    case Collection::kArgsGet:
      each(r.args_get, false, f, tx, Store::kArgsGet);
      return;
    case Collection::kArgsPost:
      each(r.args_post, false, f, tx, Store::kArgsPost);
      return;
    case Collection::kArgsNames:
      each(r.args_get, true, f, tx, Store::kArgsGet);
      each(r.args_post, true, f, tx, Store::kArgsPost);
      return;
    case Collection::kArgsGetNames:
      each(r.args_get, true, f, tx, Store::kArgsGet);
      return;
    case Collection::kArgsPostNames:
      each(r.args_post, true, f, tx, Store::kArgsPost);
      return;
    case Collection::kArgsCombinedSize: {
      size_t n = 0;
      for (const auto* v : {&r.args_get, &r.args_post})
        for (const auto& a : *v) n += a.key.size() + a.value.size();
      made(tx.scratch.emplace_back(std::to_string(n)), f);
      return;
    }
    case Collection::kRequestCookies:
      each(r.cookies, false, f, tx, Store::kCookies);
      return;
    case Collection::kRequestCookiesNames:
      each(r.cookies, true, f, tx, Store::kCookies);
      return;
    case Collection::kRequestHeaders:
      each(r.headers, false, f, tx, Store::kHeaders);
      return;
    case Collection::kRequestHeadersNames:
      each(r.headers, true, f, tx, Store::kHeaders);
      return;
    case Collection::kRequestFilename:
      one(r.filename, f, tx, Single::kFilename);
      return;
    case Collection::kRequestBasename:
      if (r.has_basename) one(r.basename, f, tx, Single::kBasename);
      return;
    case Collection::kRequestUri:
      one(r.uri, f, tx, Single::kUri);
      return;
    case Collection::kRequestUriRaw:
      one(r.uri_raw, f, tx, Single::kUriRaw);
      return;
    case Collection::kRequestLine:
      one(r.request_line, f, tx, Single::kRequestLine);
      return;
    case Collection::kRequestMethod:
      one(r.method, f, tx, Single::kMethod);
      return;
    case Collection::kRequestProtocol:
      one(r.protocol, f, tx, Single::kProtocol);
      return;
    case Collection::kRequestBody:
      if (r.body_processed) one(r.body, f, tx, Single::kBody, true);
      return;
    case Collection::kRequestBodyLength:
      made(tx.scratch.emplace_back(std::to_string(r.body.size())), f);
      return;
    case Collection::kQueryString:
      one(r.query_string, f, tx, Single::kQueryString);
      return;
    case Collection::kRemoteAddr:
      one(r.conn.remote_addr, f, tx, Single::kRemoteAddr);
      return;
    case Collection::kRemotePort:
      made(tx.scratch.emplace_back(std::to_string(r.conn.remote_port)), f);
      return;
    case Collection::kServerAddr:
      one(r.conn.server_addr, f, tx, Single::kServerAddr);
      return;
    case Collection::kServerPort:
      made(tx.scratch.emplace_back(std::to_string(r.conn.server_port)), f);
      return;
    case Collection::kServerName: {
      const std::string* h = r.header("host");
      if (!h) return;
      std::string_view host = *h;
      if (size_t colon = host.rfind(':'); colon != std::string_view::npos && host.back() != ']')
        host = host.substr(0, colon);
      made(host, f);
      return;
    }
    case Collection::kFiles:
      each(r.files, false, f, tx, Store::kFiles);
      return;
    case Collection::kFilesNames:
      each(r.files, true, f, tx, Store::kFiles);
      return;
    case Collection::kFilesSizes:
      each(r.files_sizes, false, f, tx, Store::kFilesSizes);
      return;
    case Collection::kFilesCombinedSize:
      made(tx.scratch.emplace_back(std::to_string(r.files_combined_size)), f);
      return;
    case Collection::kMultipartPartHeaders:
      each(r.multipart_part_headers, false, f, tx, Store::kPartHeaders);
      return;
    case Collection::kMultipartStrictError:
      if (r.processor == BodyProcessor::kMultipart) flag(r.multipart_strict_error, f);
      return;
    case Collection::kMultipartUnmatchedBoundary:
      if (r.processor == BodyProcessor::kMultipart) flag(r.multipart_unmatched_boundary, f);
      return;
    case Collection::kReqbodyError:
      flag(r.reqbody_error, f);
      return;
    case Collection::kReqbodyErrorMsg:
      made(r.reqbody_error_msg, f);
      return;
    case Collection::kReqbodyProcessor: {
      std::string_view n = body_processor_name(r.processor);
      if (!n.empty()) made(n, f);
      return;
    }
    case Collection::kXml:
      for (size_t i = 0; i < r.xml_text.size(); ++i) f("/*", r.xml_text[i], tx.ids.xml(i, false));
      for (size_t i = 0; i < r.xml_attrs.size(); ++i)
        f("//@*", r.xml_attrs[i], tx.ids.xml(i, true));
      return;
    case Collection::kTx:
      tx.tx.each(
          [&](std::string_view k, const std::string& v) { f(k, tx.scratch.emplace_back(v), -1); });
      return;
    case Collection::kMatchedVar:
      made(tx.scratch.emplace_back(tx.matched_var), f);
      return;
    case Collection::kMatchedVarName:
      made(tx.scratch.emplace_back(tx.matched_var_name), f);
      return;
    case Collection::kMatchedVars:
      // Copies: a match of this rule adds to matched_vars (which may then move its strings).
      for (const auto& v : tx.matched_vars)
        f(tx.scratch.emplace_back(v.name), tx.scratch.emplace_back(v.value), -1);
      return;
    case Collection::kMatchedVarsNames:
      for (const auto& v : tx.matched_vars) {
        std::string_view n = tx.scratch.emplace_back(v.name);
        f(n, n, -1);
      }
      return;
    case Collection::kUniqueId:
      made("0", f);
      return;
    case Collection::kDuration:
      made("0", f);
      return;
    case Collection::kFullRequest:
      one(r.full_request, f, tx, Single::kFullRequest);
      return;
    case Collection::kFullRequestLength:
      made(tx.scratch.emplace_back(std::to_string(r.full_request.size())), f);
      return;
    case Collection::kInboundDataError:
      made("0", f);
      return;
    default:
      return;  // persistent collections, the response, GEO, time: nothing in Mamori
  }
}

// Is this member left out by an exclusion of the rule (!COLL:key) or a ctl of the transaction?
bool excluded(const CompiledRule& cr, const Transaction& tx, Collection c, std::string_view key) {
  for (const auto& t : cr.targets)
    if (t.t.exclude && t.t.collection == c && key_matches(t, key)) return true;
  const Rule& r = *cr.rule;
  for (const auto& [id, t] : tx.removed_targets)
    if (id == r.id && t.collection == c && (t.key.empty() || iequals(t.key, key))) return true;
  for (const auto& [tag, t] : tx.removed_targets_by_tag)
    if (t.collection == c && (t.key.empty() || iequals(t.key, key)) &&
        std::find(r.tags.begin(), r.tags.end(), tag) != r.tags.end())
      return true;
  return false;
}

}  // namespace

bool key_matches(const CompiledTarget& t, std::string_view key) {
  if (t.t.key.empty()) return true;
  if (t.t.key_regex) return t.key_re.search(key) != RxResult::kNoMatch;  // errors: included
  return iequals(t.t.key, key);
}

bool join_group_values(Transaction& tx, uint32_t group, std::string& joined, bool fresh_only) {
  bool all_ids = true;
  const auto& g = tx.eng.groups[group];
  const uint32_t node = g.node;
  for (const auto& nt : g.colls) {
    members(nt.coll, tx, [&](std::string_view key, std::string_view val, int32_t id) {
      if (id < 0) {
        all_ids = false;
        return;
      }
      if (fresh_only && !tx.fresh(id)) return;
      for (const CompiledTarget* t : nt.targets)
        if (key_matches(*t, key)) {
          joined.append(tx.cached[static_cast<size_t>(cached_at(tx, id, val, node))].v);
          joined.push_back('\n');
          return;
        }
    });
  }
  return all_ids;
}

bool is_request_value(Collection c) {
  switch (c) {
    case Collection::kArgs:
    case Collection::kArgsGet:
    case Collection::kArgsPost:
    case Collection::kArgsNames:
    case Collection::kArgsGetNames:
    case Collection::kArgsPostNames:
    case Collection::kRequestCookies:
    case Collection::kRequestCookiesNames:
    case Collection::kRequestHeaders:
    case Collection::kRequestHeadersNames:
    case Collection::kRequestFilename:
    case Collection::kRequestBasename:
    case Collection::kRequestUri:
    case Collection::kRequestUriRaw:
    case Collection::kRequestLine:
    case Collection::kRequestMethod:
    case Collection::kRequestProtocol:
    case Collection::kRequestBody:
    case Collection::kQueryString:
    case Collection::kRemoteAddr:
    case Collection::kServerAddr:
    case Collection::kFiles:
    case Collection::kFilesNames:
    case Collection::kFilesSizes:
    case Collection::kMultipartPartHeaders:
    case Collection::kXml:
    case Collection::kFullRequest:
      return true;
    default:
      return false;
  }
}

std::string value_name(const Value& v) {
  std::string n = v.count ? "&" : "";
  n += collection_name(v.coll);
  if (v.keyed || (v.count && !v.key.empty())) {
    n += ':';
    n += v.key;
  }
  return n;
}

void collect(const CompiledRule& cr, Transaction& tx, std::vector<Value>& out) {
  tx.scratch.clear();
  for (const auto& t : cr.targets) {
    if (t.t.exclude) continue;
    const Collection c = t.t.collection;
    if (t.t.count) {
      size_t n = 0;
      if (c == Collection::kTx) {  // TX is counted on its keys: no value is copied
        if (!t.t.key.empty() && !t.t.key_regex) {
          n = tx.tx.get(t.t.key, t.slot) != nullptr;
        } else {
          tx.tx.each([&](std::string_view k, const std::string&) { n += key_matches(t, k); });
        }
      } else {
        members(c, tx, [&](std::string_view k, std::string_view, int32_t) {
          if (key_matches(t, k)) ++n;
        });
      }
      Value v;
      v.coll = c;
      v.key = t.t.key;
      v.count = true;
      v.value = tx.scratch.emplace_back(std::to_string(n));
      out.push_back(v);
      continue;
    }
    const bool keyed = is_keyed(c);
    if (c == Collection::kTx && !t.t.key.empty() && !t.t.key_regex) {  // TX:name: one lookup
      const std::string* val = tx.tx.get(t.t.key, t.slot);
      if (!val || excluded(cr, tx, c, t.t.key)) continue;
      Value v;
      v.coll = c;
      v.key = t.t.key;
      v.keyed = true;
      v.value = tx.scratch.emplace_back(*val);
      out.push_back(v);
      continue;
    }
    if (c == Collection::kTx) {  // TX:/regex/ or all of TX: only the members taken are copied
      tx.tx.each([&](std::string_view k, const std::string& val) {
        if (!key_matches(t, k) || excluded(cr, tx, c, k)) return;
        Value v;
        v.coll = c;
        v.key = tx.scratch.emplace_back(k);  // a setvar:!tx.… of a match may erase the name
        v.keyed = true;
        v.value = tx.scratch.emplace_back(val);
        out.push_back(v);
      });
      continue;
    }
    members(c, tx, [&](std::string_view k, std::string_view val, int32_t id) {
      if (!key_matches(t, k)) return;
      if (keyed && excluded(cr, tx, c, k)) return;
      Value v;
      v.coll = c;
      v.key = k;
      v.keyed = keyed;
      v.value = val;
      v.id = id;
      out.push_back(v);
    });
  }
}

Template Template::parse(std::string_view text) {
  Template t;
  auto lit = [&](std::string_view s) {
    if (s.empty()) return;
    if (t.pieces.empty() || t.pieces.back().kind != Kind::kText) t.pieces.push_back({});
    t.pieces.back().text.append(s);
  };
  size_t i = 0;
  while (i < text.size()) {
    size_t b = text.find("%{", i);
    size_t e = b == std::string_view::npos ? b : text.find('}', b + 2);
    if (e == std::string_view::npos) {  // no (complete) macro: the rest as written
      lit(text.substr(i));
      break;
    }
    lit(text.substr(i, b - i));
    std::string_view name = text.substr(b + 2, e - b - 2);
    i = e + 1;
    t.constant = false;
    size_t dot = name.find('.');
    std::string coll = to_upper(name.substr(0, dot));
    std::string key = dot == std::string_view::npos ? "" : to_lower(name.substr(dot + 1));
    Piece p;
    if (coll == "RULE") {  // RULE.id, RULE.msg …; another field expands to nothing
      if (key == "id")
        p.kind = Kind::kRuleId;
      else if (key == "msg")
        p.kind = Kind::kRuleMsg;
      else if (key == "severity")
        p.kind = Kind::kRuleSeverity;
      else if (key == "logdata")
        p.kind = Kind::kRuleLogdata;
      else
        continue;
    } else if (auto c = parse_collection(coll)) {
      p.kind = Kind::kVar;
      p.coll = *c;
      p.text = std::move(key);
    } else {
      continue;  // not a collection: nothing
    }
    t.pieces.push_back(std::move(p));
  }
  return t;
}

void expand(const Template& t, Transaction& tx, const Rule* rule, std::string& o) {
  for (const Template::Piece& p : t.pieces) {
    switch (p.kind) {
      case Template::Kind::kText:
        o.append(p.text);
        break;
      case Template::Kind::kRuleId:
        if (rule) o += std::to_string(rule->id);
        break;
      case Template::Kind::kRuleMsg:
        if (rule) o += rule->msg;
        break;
      case Template::Kind::kRuleSeverity:
        if (rule) o += rule->severity;
        break;
      case Template::Kind::kRuleLogdata:
        if (rule) o += rule->logdata;
        break;
      case Template::Kind::kVar: {
        if (p.coll == Collection::kTx && !p.text.empty()) {  // %{tx.name}: one lookup
          if (const std::string* v = tx.tx.get(p.text, p.slot)) o.append(*v);
          break;
        }
        bool done = false;
        members(p.coll, tx, [&](std::string_view k, std::string_view v, int32_t) {
          if (done || (!p.text.empty() && !iequals(k, p.text))) return;
          o.append(v);
          done = true;
        });
        break;
      }
    }
  }
}

}  // namespace mamori::waf::detail
