// The site's policy as SecLang before CRS (policy.h).
#include "waf/policy.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"

namespace mamori::waf {

namespace {

struct TypeInfo {
  FieldType t;
  std::string_view name;
  std::vector<std::string_view> tags;  // CRS tags (and Mamori's own) the field is taken out of
};

const std::vector<TypeInfo>& types() {
  static const std::vector<TypeInfo> all = {
      {FieldType::kPassword,
       "password",
       {"attack-sqli", "attack-xss", "attack-rce", "attack-injection-php", "attack-lfi",
        "attack-rfi", "attack-generic", "attack-injection-nodejs", "attack-fixation",
        "attack-protocol", "mamori-native"}},
      {FieldType::kRichText, "rich-text", {"attack-xss", "attack-sqli"}},
      {FieldType::kCode,
       "code",
       {"attack-xss", "attack-sqli", "attack-rce", "attack-injection-php",
        "attack-injection-nodejs", "attack-lfi", "mamori-native"}},
      {FieldType::kUrl, "url", {"attack-rfi"}},
      {FieldType::kGraphql, "graphql", {"attack-sqli", "attack-xss", "attack-rce"}},
  };
  return all;
}

bool path_char(char c) {
  return c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '\\' && c != '%';
}
bool field_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '[' || c == ']';
}

}  // namespace

Result<FieldType> parse_field_type(std::string_view s) {
  for (const auto& t : types())
    if (t.name == s) return t.t;
  return Error::invalid(
      fmt::format("field type '{}' is not one of password, rich-text, code, url, graphql",
                  sanitize(s.substr(0, 64))));
}

std::string_view field_type_name(FieldType t) {
  for (const auto& i : types())
    if (i.t == t) return i.name;
  return "?";
}

std::vector<Route> default_routes() {
  std::vector<std::string> rest = {"GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"};
  return {Route{"/wp-json/", "", "", rest, {}}, Route{"/api/", "", "", rest, {}},
          // Asking for JSON opens DELETE only: a PUT or PATCH body is parsed (and so judged)
          // only under a JSON media type, whose routes come after this one and win.
          Route{"/", "", "application/json", {"GET", "HEAD", "POST", "OPTIONS", "DELETE"}, {}},
          Route{"/", "application/json", "", rest, {}},
          Route{"/", "application/merge-patch+json", "", rest, {}},
          Route{"/", "application/json-patch+json", "", rest, {}},
          Route{"/", "application/vnd.api+json", "", rest, {}},
          Route{"/", "application/ld+json", "", rest, {}},
          Route{"/", "application/hal+json", "", rest, {}},
          Route{"/", "application/problem+json", "", rest, {}},
          Route{"=/graphql",
                "",
                "",
                {},
                {{"json.query", FieldType::kGraphql}, {"query", FieldType::kGraphql}}},
          Route{"=/api/graphql",
                "",
                "",
                {},
                {{"json.query", FieldType::kGraphql}, {"query", FieldType::kGraphql}}}};
}

Status check_route(const Route& r) {
  std::string_view p = r.path;
  if (p.starts_with('=')) p.remove_prefix(1);
  if (p.empty() || p[0] != '/' || p.size() > 1024 || !std::all_of(p.begin(), p.end(), path_char))
    return Error::invalid(fmt::format(
        "route path '{}': a decoded path starting with '/' ('=' first for an exact match), "
        "without quotes, spaces, backslashes or '%'",
        sanitize(r.path.substr(0, 128))));
  auto media = [](const std::string& m) {
    return m.size() <= 128 && std::all_of(m.begin(), m.end(), [](char c) {
             return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '+' ||
                    c == '-' || c == '.';
           });
  };
  if (!media(r.content_type))
    return Error::invalid(
        fmt::format("route {}: content_type '{}': one media type in lower case, without parameters "
                    "(letters, digits and / + - . only: no ';', ',' or spaces)",
                    r.path, sanitize(r.content_type.substr(0, 64))));
  if (!media(r.accept))
    return Error::invalid(
        fmt::format("route {}: accept '{}': one media type in lower case, without parameters "
                    "(letters, digits and / + - . only: no ';', ',' or spaces)",
                    r.path, sanitize(r.accept.substr(0, 64))));
  for (const auto& m : r.methods)
    if (m.empty() || m.size() > 32 ||
        !std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
      return Error::invalid(fmt::format("route {}: method '{}' is not a method name (GET, PUT …)",
                                        r.path, sanitize(m.substr(0, 64))));
  for (const auto& [name, t] : r.fields)
    if (name.empty() || name.size() > 128 || !std::all_of(name.begin(), name.end(), field_char))
      return Error::invalid(fmt::format("route {}: field '{}': letters, digits and _ - . [ ] only",
                                        r.path, sanitize(name.substr(0, 64))));
  return ok();
}

const std::vector<std::string_view>& application_names() {
  static const std::vector<std::string_view> names = {"wordpress", "drupal", "nextcloud",
                                                      "dokuwiki",  "cpanel", "xenforo"};
  return names;
}

Status check_application(std::string_view name) {
  const auto& n = application_names();
  if (std::find(n.begin(), n.end(), name) != n.end()) return ok();
  return Error::invalid(fmt::format("application '{}' is not one of {} (CRS's exclusion rules)",
                                    sanitize(name.substr(0, 64)), fmt::join(n, ", ")));
}

std::string policy_seclang(const std::vector<Route>& routes,
                           const std::vector<std::string>& applications, bool json_media_types) {
  std::string out;
  if (json_media_types) {
    // Parsed as JSON, so their values are judged one by one, as application/json's are …
    out +=
        "SecRule REQUEST_HEADERS:Content-Type \"@rx "
        "^application/(?:merge-patch|json-patch|vnd\\.api|ld|hal|problem)\\+json\" "
        "\"id:189950,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON\"\n";
    // … and allowed: CRS's default list (its rule 901162, which keeps a list set before it;
    // a crs-setup.conf that sets its own, rule 900220, comes later and wins).
    out +=
        "SecRule REQUEST_HEADERS:Content-Type \"@rx "
        "^application/(?:merge-patch|json-patch|vnd\\.api|ld|hal|problem)\\+json\" "
        "\"id:189951,phase:1,t:none,t:lowercase,pass,nolog,capture,"
        "setvar:'tx.allowed_request_content_type=|application/x-www-form-urlencoded| "
        "|multipart/form-data| |multipart/related| |text/xml| |application/xml| "
        "|application/soap+xml| |application/json| |application/cloudevents+json| "
        "|application/cloudevents-batch+json| |%{tx.0}|'\"\n";
  }
  int app_id = 189900;
  for (const auto& a : applications)
    if (check_application(a))  // CRS's REQUEST-903.9xxx rules run when this is set
      out += fmt::format(
          "SecAction \"id:{},phase:1,pass,nolog,t:none,setvar:tx.crs_exclusions_{}=1\"\n", app_id++,
          a);
  int id = 190000;
  for (const Route& r : routes) {
    bool exact = r.path.starts_with('=');
    std::string match = fmt::format("\"@{} {}\"", exact ? "streq" : "beginsWith",
                                    exact ? r.path.substr(1) : r.path);
    // The path, then (chained) the media types when the route names them.
    auto rule = [&](const std::string& actions) {
      std::vector<std::string> links;
      if (!r.content_type.empty())
        links.push_back(
            fmt::format("REQUEST_HEADERS:Content-Type \"@beginsWith {}\"", r.content_type));
      if (!r.accept.empty())
        links.push_back(fmt::format("REQUEST_HEADERS:Accept \"@contains {}\"", r.accept));
      std::string text =
          fmt::format("SecRule REQUEST_FILENAME {} \"id:{},phase:1,pass,nolog,t:none,{}\"\n", match,
                      id++, links.empty() ? actions : "chain");
      for (size_t i = 0; i < links.size(); ++i)
        text +=
            fmt::format("  SecRule {} \"t:none,t:lowercase{}{}\"\n", links[i],
                        i + 1 < links.size() ? ",chain" : ",", i + 1 < links.size() ? "" : actions);
      return text;
    };
    if (!r.methods.empty())
      out += rule(fmt::format("setvar:'tx.allowed_methods={}'", fmt::join(r.methods, " ")));
    std::vector<std::string> ctls;
    for (const auto& [name, t] : r.fields)
      for (const auto& info : types())
        if (info.t == t)
          for (auto tag : info.tags)
            ctls.push_back(fmt::format("ctl:ruleRemoveTargetByTag={};ARGS:{}", tag, name));
    // One rule per field type group keeps every rule's action list short.
    for (size_t i = 0; i < ctls.size(); i += 16) {
      std::vector<std::string> part(
          ctls.begin() + static_cast<long>(i),
          ctls.begin() + static_cast<long>(std::min(ctls.size(), i + 16)));
      out += rule(fmt::format("{}", fmt::join(part, ",")));
    }
  }
  return out;
}

}  // namespace mamori::waf
