// The request's variables from its head; the body's processor chosen and run (see request.h).
#include "waf/request.h"

#include <cctype>

#include "core/text.h"
#include "waf/transform.h"

namespace mamori::waf {

std::string_view body_processor_name(BodyProcessor p) {
  switch (p) {
    case BodyProcessor::kNone:
      return "";
    case BodyProcessor::kUrlEncoded:
      return "URLENCODED";
    case BodyProcessor::kMultipart:
      return "MULTIPART";
    case BodyProcessor::kJson:
      return "JSON";
    case BodyProcessor::kXml:
      return "XML";
  }
  return "";
}

namespace {

// %XX only ('+' stays): how ModSecurity decodes the request target.
std::string uri_decode(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      auto h = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
      o += static_cast<char>(h(s[i + 1]) * 16 + h(s[i + 2]));
      i += 2;
    } else {
      o += s[i];
    }
  }
  return o;
}

bool has_invalid_escape(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '%' && (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
                        !std::isxdigit(static_cast<unsigned char>(s[i + 2]))))
      return true;
  return false;
}

void parse_cookies(std::string_view v, std::vector<KV>& out) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t semi = v.find(';', pos);
    std::string_view c = v.substr(pos, semi == std::string_view::npos ? v.npos : semi - pos);
    pos = semi == std::string_view::npos ? v.size() + 1 : semi + 1;
    if (c.empty()) continue;
    size_t eq = c.find('=');
    std::string_view k = c.substr(0, eq);
    std::string_view val = eq == std::string_view::npos ? std::string_view() : c.substr(eq + 1);
    while (!k.empty() && std::isspace(static_cast<unsigned char>(k.front()))) k.remove_prefix(1);
    if (k.empty()) continue;
    out.push_back({std::string(k), std::string(val)});
  }
}

BodyProcessor processor_for(const std::string* content_type) {
  if (!content_type) return BodyProcessor::kNone;
  std::string ct = to_lower(*content_type);
  if (ct.starts_with("application/x-www-form-urlencoded")) return BodyProcessor::kUrlEncoded;
  if (ct.starts_with("multipart/form-data")) return BodyProcessor::kMultipart;
  return BodyProcessor::kNone;
}

}  // namespace

void parse_urlencoded(std::string_view s, char sep, size_t max, std::vector<KV>& out,
                      int* invalid) {
  size_t pos = 0;
  while (pos < s.size() && out.size() < max) {
    size_t e = s.find(sep, pos);
    std::string_view pair = s.substr(pos, e == std::string_view::npos ? s.npos : e - pos);
    pos = e == std::string_view::npos ? s.size() : e + 1;
    if (pair.empty()) continue;  // "a=1&&b=2": nothing between the separators (PHP skips it too)
    size_t eq = pair.find('=');
    std::string_view k = pair.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (invalid && (has_invalid_escape(k) || has_invalid_escape(v))) *invalid = 1;
    out.push_back({url_decode(k, false), url_decode(v, false)});
  }
}

const std::string* Request::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.key, name)) return &h.value;
  return nullptr;
}

Request Request::from_http(const http::RequestHead& head, std::string body, Connection conn) {
  Request r;
  r.conn = std::move(conn);
  r.method = head.method;
  r.protocol = head.version;
  r.uri_raw = head.target;
  r.uri = uri_decode(r.uri_raw);
  r.request_line = r.method + " " + r.uri_raw + " " + r.protocol;
  size_t q = r.uri_raw.find('?');
  if (q != std::string::npos) r.query_string = r.uri_raw.substr(q + 1);
  // The path ends at the first '?' as sent; an encoded %3F is part of the path.
  r.filename = uri_decode(std::string_view(r.uri_raw).substr(0, q));
  size_t slash = r.filename.find_last_of("/\\");
  if (slash != std::string::npos) r.basename = r.filename.substr(slash + 1);
  r.has_basename = slash != std::string::npos;
  for (const auto& h : head.headers) {
    r.headers.push_back({std::string(h.name), std::string(h.value)});
    if (iequals(h.name, "cookie")) parse_cookies(h.value, r.cookies);
  }
  if (!r.query_string.empty())
    parse_urlencoded(r.query_string, '&', 1000, r.args_get, &r.urlencoded_error);
  r.full_request = r.request_line + "\n";
  for (const auto& h : r.headers) r.full_request += h.key + ": " + h.value + "\n";
  r.full_request += "\n";
  r.body = std::move(body);
  r.processor = processor_for(r.header("content-type"));
  return r;
}

void Request::process_body(const BodyLimits& limits) {
  if (body_processed) return;
  body_processed = true;
  full_request += body;
  // An empty body is not parsed (no JSON error for it); a multipart one still has its boundary
  // checked, and an empty XML document is an error.
  if (body.empty() && processor != BodyProcessor::kMultipart && processor != BodyProcessor::kXml)
    return;
  switch (processor) {
    case BodyProcessor::kNone:
      return;
    case BodyProcessor::kUrlEncoded:
      parse_urlencoded(body, '&', limits.max_args, args_post, &urlencoded_error);
      return;
    case BodyProcessor::kJson:
      parse_json_body(*this, limits);
      return;
    case BodyProcessor::kXml:
      parse_xml_body(*this, limits);
      return;
    case BodyProcessor::kMultipart: {
      const std::string* ct = header("content-type");
      std::string_view v = ct ? std::string_view(*ct) : std::string_view();
      // boundary=…, possibly quoted; ModSecurity flags the unusual forms.
      std::string lower = to_lower(v);
      size_t b = lower.find("boundary");
      if (b == std::string::npos) {
        reqbody_error = 1;
        reqbody_error_msg = "Multipart: Boundary not found in C-T.";
        return;
      }
      size_t i = b + 8;
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) {
        multipart_boundary_whitespace = 1;
        ++i;
      }
      if (i >= v.size() || v[i] != '=') {
        reqbody_error = 1;
        reqbody_error_msg = "Multipart: Invalid boundary in C-T (malformed).";
        return;
      }
      ++i;
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) {
        multipart_boundary_whitespace = 1;
        ++i;
      }
      std::string_view bnd = v.substr(i);
      if (!bnd.empty() && bnd.front() == '"') {
        multipart_boundary_quoted = 1;
        bnd.remove_prefix(1);
        size_t e = bnd.find('"');
        if (e == std::string_view::npos) {
          reqbody_error = 1;
          reqbody_error_msg = "Multipart: Invalid boundary in C-T (quote).";
          return;
        }
        bnd = bnd.substr(0, e);
      } else {
        size_t e = bnd.find_first_of("; \t,");
        bnd = bnd.substr(0, e);
      }
      if (bnd.empty() || bnd.size() > 70) {
        reqbody_error = 1;
        reqbody_error_msg = "Multipart: Invalid boundary in C-T (length).";
        return;
      }
      parse_multipart(*this, bnd, limits);
      return;
    }
  }
}

}  // namespace mamori::waf
