// What a rule's targets read from the transaction (ARGS:id, !REQUEST_COOKIES:/^_ga/, &TX:x …),
// and %{macro} expansion in messages, setvar values and operator parameters.
#include <cctype>

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

template <class Emit>
void each(const std::vector<KV>& kv, bool names, Emit& f) {
  for (const auto& a : kv) f(a.key, names ? std::string_view(a.key) : std::string_view(a.value));
}

template <class Emit>
void one(const std::string& v, Emit& f, bool only_if_set = false) {
  if (only_if_set && v.empty()) return;
  f({}, v);
}

template <class Emit>
void flag(int v, Emit& f) {
  f({}, v ? "1" : "0");
}

// Collections whose values are the request's own strings (stable while a phase runs).
bool request_owned(Collection c) {
  switch (c) {
    case Collection::kTx:
    case Collection::kMatchedVar:
    case Collection::kMatchedVarName:
    case Collection::kMatchedVars:
    case Collection::kMatchedVarsNames:
    case Collection::kArgsCombinedSize:
    case Collection::kRequestBodyLength:
    case Collection::kRemotePort:
    case Collection::kServerPort:
    case Collection::kFilesCombinedSize:
    case Collection::kFullRequestLength:
    case Collection::kServerName:
      return false;
    default:
      return true;
  }
}

// Every member of a collection as (key, value); single-valued ones have the empty key. Values
// made up here (sizes, counts) live in tx.scratch.
template <class Emit>
void members(Collection c, Transaction& tx, Emit&& f) {
  const Request& r = tx.req;
  switch (c) {
    case Collection::kArgs:
      each(r.args_get, false, f);
      each(r.args_post, false, f);
      return;
    case Collection::kArgsGet:
      each(r.args_get, false, f);
      return;
    case Collection::kArgsPost:
      each(r.args_post, false, f);
      return;
    case Collection::kArgsNames:
      each(r.args_get, true, f);
      each(r.args_post, true, f);
      return;
    case Collection::kArgsGetNames:
      each(r.args_get, true, f);
      return;
    case Collection::kArgsPostNames:
      each(r.args_post, true, f);
      return;
    case Collection::kArgsCombinedSize: {
      size_t n = 0;
      for (const auto* v : {&r.args_get, &r.args_post})
        for (const auto& a : *v) n += a.key.size() + a.value.size();
      f({}, tx.scratch.emplace_back(std::to_string(n)));
      return;
    }
    case Collection::kRequestCookies:
      each(r.cookies, false, f);
      return;
    case Collection::kRequestCookiesNames:
      each(r.cookies, true, f);
      return;
    case Collection::kRequestHeaders:
      each(r.headers, false, f);
      return;
    case Collection::kRequestHeadersNames:
      each(r.headers, true, f);
      return;
    case Collection::kRequestFilename:
      one(r.filename, f);
      return;
    case Collection::kRequestBasename:
      if (r.has_basename) f({}, r.basename);
      return;
    case Collection::kRequestUri:
      one(r.uri, f);
      return;
    case Collection::kRequestUriRaw:
      one(r.uri_raw, f);
      return;
    case Collection::kRequestLine:
      one(r.request_line, f);
      return;
    case Collection::kRequestMethod:
      one(r.method, f);
      return;
    case Collection::kRequestProtocol:
      one(r.protocol, f);
      return;
    case Collection::kRequestBody:
      if (r.body_processed) one(r.body, f, true);
      return;
    case Collection::kRequestBodyLength:
      f({}, tx.scratch.emplace_back(std::to_string(r.body.size())));
      return;
    case Collection::kQueryString:
      one(r.query_string, f);
      return;
    case Collection::kRemoteAddr:
      one(r.conn.remote_addr, f);
      return;
    case Collection::kRemotePort:
      f({}, tx.scratch.emplace_back(std::to_string(r.conn.remote_port)));
      return;
    case Collection::kServerAddr:
      one(r.conn.server_addr, f);
      return;
    case Collection::kServerPort:
      f({}, tx.scratch.emplace_back(std::to_string(r.conn.server_port)));
      return;
    case Collection::kServerName: {
      const std::string* h = r.header("host");
      if (h)
        f({}, std::string_view(*h).substr(0, h->rfind(':') == std::string::npos || h->back() == ']'
                                                 ? h->size()
                                                 : h->rfind(':')));
      return;
    }
    case Collection::kFiles:
      each(r.files, false, f);
      return;
    case Collection::kFilesNames:
      each(r.files, true, f);
      return;
    case Collection::kFilesSizes:
      each(r.files_sizes, false, f);
      return;
    case Collection::kFilesCombinedSize:
      f({}, tx.scratch.emplace_back(std::to_string(r.files_combined_size)));
      return;
    case Collection::kMultipartPartHeaders:
      each(r.multipart_part_headers, false, f);
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
      one(r.reqbody_error_msg, f, true);
      return;
    case Collection::kReqbodyProcessor: {
      std::string_view n = body_processor_name(r.processor);
      if (!n.empty()) f({}, n);
      return;
    }
    case Collection::kXml:
      for (const auto& t : r.xml_text) f("/*", t);
      for (const auto& t : r.xml_attrs) f("//@*", t);
      return;
    case Collection::kTx:
      for (const auto& [k, v] : tx.tx) f(k, tx.scratch.emplace_back(v));
      return;
    case Collection::kMatchedVar:
      one(tx.matched_var, f);
      return;
    case Collection::kMatchedVarName:
      one(tx.matched_var_name, f);
      return;
    case Collection::kMatchedVars:
      for (const auto& v : tx.matched_vars) f(v.name, tx.scratch.emplace_back(v.value));
      return;
    case Collection::kMatchedVarsNames:
      for (const auto& v : tx.matched_vars) f(v.name, tx.scratch.emplace_back(v.name));
      return;
    case Collection::kUniqueId:
      f({}, "0");
      return;
    case Collection::kDuration:
      f({}, "0");
      return;
    case Collection::kFullRequest:
      one(r.full_request, f);
      return;
    case Collection::kFullRequestLength:
      f({}, tx.scratch.emplace_back(std::to_string(r.full_request.size())));
      return;
    case Collection::kInboundDataError:
      f({}, "0");
      return;
    default:
      return;  // persistent collections, the response, GEO, time: nothing in Mamori
  }
}

bool key_matches(const CompiledTarget& t, std::string_view key) {
  if (t.t.key.empty()) return true;
  if (t.t.key_regex) return t.key_re.match(key);
  return iequals(t.t.key, key);
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
      members(c, tx, [&](std::string_view k, std::string_view) {
        if (key_matches(t, k)) ++n;
      });
      Value v;
      v.coll = c;
      v.key = t.t.key;
      v.count = true;
      v.value = tx.scratch.emplace_back(std::to_string(n));
      out.push_back(v);
      continue;
    }
    const bool keyed = is_keyed(c);
    const bool owned = request_owned(c);
    if (c == Collection::kTx && !t.t.key.empty() && !t.t.key_regex) {  // TX:name: one lookup
      auto it = tx.tx.find(t.t.key);
      if (it == tx.tx.end() || excluded(cr, tx, c, it->first)) continue;
      Value v;
      v.coll = c;
      v.key = it->first;
      v.keyed = true;
      v.value = tx.scratch.emplace_back(it->second);
      out.push_back(v);
      continue;
    }
    members(c, tx, [&](std::string_view k, std::string_view val) {
      if (!key_matches(t, k)) return;
      if (keyed && excluded(cr, tx, c, k)) return;
      Value v;
      v.coll = c;
      v.key = k;
      v.keyed = keyed;
      v.value = val;
      v.cacheable = owned;
      out.push_back(v);
    });
  }
}

std::string expand(std::string_view text, Transaction& tx, const Rule* rule) {
  std::string o;
  size_t i = 0;
  while (i < text.size()) {
    size_t b = text.find("%{", i);
    if (b == std::string_view::npos) {
      o.append(text.substr(i));
      break;
    }
    size_t e = text.find('}', b + 2);
    if (e == std::string_view::npos) {
      o.append(text.substr(i));
      break;
    }
    o.append(text.substr(i, b - i));
    std::string_view name = text.substr(b + 2, e - b - 2);
    i = e + 1;
    size_t dot = name.find('.');
    std::string coll = to_upper(name.substr(0, dot));
    std::string key = dot == std::string_view::npos ? "" : to_lower(name.substr(dot + 1));
    if (coll == "RULE" && rule) {
      if (key == "id")
        o += std::to_string(rule->id);
      else if (key == "msg")
        o += rule->msg;
      else if (key == "severity")
        o += rule->severity;
      else if (key == "logdata")
        o += rule->logdata;
      continue;
    }
    auto c = parse_collection(coll);
    if (!c) continue;
    bool done = false;
    members(*c, tx, [&](std::string_view k, std::string_view v) {
      if (done || (!key.empty() && !iequals(k, key))) return;
      o.append(v);
      done = true;
    });
  }
  return o;
}

}  // namespace mamori::waf::detail
