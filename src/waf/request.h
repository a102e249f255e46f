#pragma once
// The request as the rules see it: parsed once from the HTTP head and body into the variables
// SecLang names (ARGS, REQUEST_HEADERS, REQUEST_COOKIES, FILES, XML …), with ModSecurity's
// conventions: argument names and values URL-decoded, header and cookie values as sent, JSON
// bodies flattened to "json.a.b" names, multipart parts split into arguments and files with
// the strict-validation flags of ModSecurity's multipart parser.
//
// Example:
//   Request r = Request::from_http(whole.head, whole.body, conn);
//   r.processor = BodyProcessor::kJson;   // phase 1 may choose (ctl:requestBodyProcessor)
//   r.process_body(limits);               // once; parses the body by r.processor
//   for (const KV& a : r.args_post) ...

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "waf/http.h"

namespace mamori::waf {

struct KV {
  std::string key, value;
};

enum class BodyProcessor : uint8_t { kNone, kUrlEncoded, kMultipart, kJson, kXml };
std::string_view body_processor_name(BodyProcessor p);  // "URLENCODED", "JSON" …; "" for none

struct Connection {
  std::string remote_addr = "127.0.0.1";
  int remote_port = 0;
  std::string server_addr = "127.0.0.1";
  int server_port = 80;
};

struct BodyLimits {
  size_t max_args = 1000;        // arguments from one body (ModSecurity: SecArgumentsLimit)
  size_t max_json_depth = 64;    // nesting of a JSON or XML body
  size_t max_parts = 1000;       // multipart parts
  size_t max_part_headers = 32;  // header lines of one part
};

struct Request {
  Connection conn;
  std::string method, protocol;  // "GET", "HTTP/1.1"
  std::string uri_raw;           // the request target as sent
  std::string uri;               // URL-decoded
  std::string request_line, query_string;
  std::string filename, basename;  // the decoded path and its last segment
  bool has_basename = false;       // a path without '/' has none (CONNECT host:port)
  std::vector<KV> headers, cookies, args_get, args_post;
  std::vector<KV> files;  // field name → file name
  std::vector<KV> files_sizes, multipart_part_headers;
  std::vector<std::string> xml_text;   // XML:/* — the text of the document
  std::vector<std::string> xml_attrs;  // XML://@*
  std::string body;
  uint64_t files_combined_size = 0;
  BodyProcessor processor = BodyProcessor::kNone;
  bool body_processed = false;
  int reqbody_error = 0;
  std::string reqbody_error_msg;
  int urlencoded_error = 0;
  // Multipart strictness: each flag as ModSecurity names it, and their union.
  int multipart_strict_error = 0, multipart_unmatched_boundary = 0;
  int multipart_boundary_quoted = 0, multipart_boundary_whitespace = 0, multipart_data_before = 0,
      multipart_data_after = 0, multipart_header_folding = 0, multipart_lf_line = 0,
      multipart_missing_semicolon = 0, multipart_invalid_quoting = 0, multipart_invalid_part = 0,
      multipart_invalid_header_folding = 0, multipart_file_limit_exceeded = 0;
  std::string full_request;

  // The head's variables (URI, arguments of the query, headers, cookies). The body is kept
  // as is; the processor for it is chosen by Content-Type, and may be changed by a phase-1
  // rule (ctl:requestBodyProcessor) before process_body.
  static Request from_http(const http::RequestHead& head, std::string body, Connection conn);
  void process_body(const BodyLimits& limits);
  const std::string* header(std::string_view name) const;  // the first, case-insensitively
};

// "a=1&b=2" → arguments, names and values URL-decoded (a '+' is a space); a name without '='
// has the empty value. Sets *invalid when a '%' is not followed by two hex digits.
void parse_urlencoded(std::string_view s, char sep, size_t max, std::vector<KV>& out, int* invalid);

// The body parsers (body.cpp).
void parse_multipart(Request& r, std::string_view boundary, const BodyLimits& limits);
void parse_json_body(Request& r, const BodyLimits& limits);
void parse_xml_body(Request& r, const BodyLimits& limits);

}  // namespace mamori::waf
