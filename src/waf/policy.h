#pragma once
// The site's own policy, from waf.toml, turned into SecLang that runs before CRS (CRS itself is
// not changed): per route, which methods are allowed and what type of content a field holds.
//
//   [[route]]
//   path = "/wp-json/"                               # a prefix of the decoded path; "=/x" exact
//   methods = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
//   fields = { content = "rich-text", password = "password", snippet = "code", site = "url" }
//
// Methods set CRS's tx.allowed_methods for that route (rule 911100 judges them). A field type
// takes the field out of the rule families that misread such content:
//   password   every CRS attack family and Mamori's native detectors (anything goes in one)
//   rich-text  XSS and SQL injection (an editor's HTML and prose)
//   code       XSS, SQL injection, command and PHP injection, path traversal, native detectors
//   url        remote file inclusion (a URL field holds URLs to other sites)
//   graphql    CRS's injection families (a query language reads as SQL and code to them);
//              Mamori's graphql detector judges each string argument of the document instead
// Besides the file's [[route]] tables (after them; default_routes = false drops them), the
// default routes let REST APIs use PUT, PATCH and DELETE:
// under /wp-json/ and /api/, and anywhere with a JSON body (content_type = "application/json",
// and the JSON media types json_media_types allows)
// or from a client that asks for JSON (accept = "application/json": fetch, axios, API clients);
// and /graphql's query is typed graphql.
//
// Applications: CRS ships exclusion rules for some web applications (its REQUEST-903.9xxx
// files: WordPress's editor, customizer and login forms, Drupal's, Nextcloud's …), off unless
// crs-setup.conf turns them on. `applications = ["wordpress"]` turns them on (CRS's own rules,
// unchanged; known: application_names()).
//
// Example:
//   auto text = policy_seclang(cfg.routes);   // appended to the engine settings

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace mamori::waf {

enum class FieldType : uint8_t { kPassword, kRichText, kCode, kUrl, kGraphql };
Result<FieldType> parse_field_type(std::string_view s);
std::string_view field_type_name(FieldType t);

struct Route {
  std::string path;          // "/wp-json/" (prefix) or "=/wp-login.php" (exact)
  std::string content_type;  // and, when set, a Content-Type starting with it (lower case)
  std::string accept;        // and, when set, an Accept header containing it (lower case)
  std::vector<std::string> methods;
  std::vector<std::pair<std::string, FieldType>> fields;
};

// The routes a configuration without [[route]] has.
std::vector<Route> default_routes();
// Checks what goes into SecLang text: a path of printable characters without quotes, spaces
// or backslashes, methods of capital letters, field names of [A-Za-z0-9_.[]-].
Status check_route(const Route& r);
// The applications whose CRS exclusion rules can be turned on.
const std::vector<std::string_view>& application_names();
Status check_application(std::string_view name);
// The rules (ids 189900 and up for applications, 190000 and up for routes; phase 1, before
// CRS).
// With `json_media_types`, JSON's own media types that REST APIs send
// (application/merge-patch+json, application/vnd.api+json …: any application/…+json) are allowed
// besides CRS's list and parsed as JSON like application/json (189950, 189951).
std::string policy_seclang(const std::vector<Route>& routes,
                           const std::vector<std::string>& applications = {},
                           bool json_media_types = false);

}  // namespace mamori::waf
