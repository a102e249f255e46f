// Request body processors: multipart/form-data (with ModSecurity's strictness flags), JSON
// (flattened to dotted argument names) and XML (libxml2, no network, no entity expansion).
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "waf/request.h"

namespace mamori::waf {

namespace {

void body_error(Request& r, std::string msg) {
  if (r.reqbody_error) return;
  r.reqbody_error = 1;
  r.reqbody_error_msg = std::move(msg);
}

// One line of a part's head: up to LF; a CR before it is dropped (and its absence noted).
bool next_part_line(std::string_view s, size_t& pos, std::string_view& line, bool& lf_only) {
  if (pos >= s.size()) return false;
  size_t nl = s.find('\n', pos);
  if (nl == std::string_view::npos) return false;
  line = s.substr(pos, nl - pos);
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  else
    lf_only = true;
  pos = nl + 1;
  return true;
}

// Content-Disposition: form-data; name="a"; filename="b" — its name and filename.
bool disposition(Request& r, std::string_view v, std::string& name, std::string& filename,
                 bool& has_filename) {
  size_t semi = v.find(';');
  if (!iequals(trim(v.substr(0, semi)), "form-data")) return false;
  if (semi == std::string_view::npos) return true;
  v.remove_prefix(semi + 1);
  while (!v.empty()) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    size_t eq = v.find('=');
    if (eq == std::string_view::npos) {
      r.multipart_invalid_part = 1;
      return !trim(v).empty() ? false : true;
    }
    std::string_view raw_key = v.substr(0, eq);
    std::string key = to_lower(trim(raw_key));
    // "filename =", "filename*=" or an unknown parameter: a parser behind Mamori may read the
    // part differently (PHP takes "filename " for another name): the part is invalid.
    if (raw_key != trim(raw_key)) r.multipart_invalid_part = 1;
    v.remove_prefix(eq + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    std::string val;
    if (!v.empty() && v.front() == '"') {
      v.remove_prefix(1);
      bool closed = false;
      while (!v.empty()) {
        char c = v.front();
        v.remove_prefix(1);
        if (c == '\\' && !v.empty() && (v.front() == '"' || v.front() == '\\')) {
          val += v.front();
          v.remove_prefix(1);
          r.multipart_invalid_quoting = 1;
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          val += c;
        }
      }
      if (!closed) return false;
    } else {
      if (!v.empty() && v.front() == '\'') r.multipart_invalid_quoting = 1;
      size_t e = v.find_first_of("; \t");
      val = std::string(v.substr(0, e));
      v.remove_prefix(e == std::string_view::npos ? v.size() : e);
    }
    if (key == "name") {
      name = val;
    } else if (key == "filename") {
      filename = val;
      has_filename = true;
    } else {
      r.multipart_invalid_part = 1;
    }
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    if (v.empty()) break;
    if (v.front() != ';') {
      r.multipart_missing_semicolon = 1;
    } else {
      v.remove_prefix(1);
    }
  }
  return true;
}

void finish_strict(Request& r) {
  r.multipart_strict_error = r.reqbody_error | r.multipart_boundary_quoted |
                             r.multipart_boundary_whitespace | r.multipart_data_before |
                             r.multipart_data_after | r.multipart_header_folding |
                             r.multipart_lf_line | r.multipart_missing_semicolon |
                             r.multipart_invalid_quoting | r.multipart_invalid_part |
                             r.multipart_invalid_header_folding | r.multipart_file_limit_exceeded;
}

}  // namespace

void parse_multipart(Request& r, std::string_view boundary, const BodyLimits& limits) {
  const std::string dash = "--" + std::string(boundary);
  std::string_view b = r.body;
  if (b.empty()) {  // nothing to parse: only the boundary's own flags count
    finish_strict(r);
    return;
  }
  // The first boundary: anything before it is "data before".
  size_t first = b.find(dash);
  if (first == std::string_view::npos) {
    body_error(r, "Multipart: Final boundary missing.");
    finish_strict(r);
    return;
  }
  if (first != 0 &&
      !(first >= 2 && b.substr(first - 2, 2) == "\r\n" && trim(b.substr(0, first)).empty()))
    r.multipart_data_before = 1;
  size_t pos = first + dash.size();
  bool final_seen = false;
  size_t parts = 0;
  while (pos < b.size()) {
    if (b.substr(pos, 2) == "--") {  // the closing boundary
      final_seen = true;
      pos += 2;
      std::string_view rest = b.substr(pos);
      if (rest == "\n")
        r.multipart_lf_line = 1;
      else if (!rest.empty() && rest != "\r\n")
        r.multipart_data_after = 1;
      break;
    }
    // the rest of the boundary line (transport padding allowed)
    size_t nl = b.find('\n', pos);
    if (nl == std::string_view::npos) break;
    std::string_view pad = b.substr(pos, nl - pos);
    if (!pad.empty() && pad.back() == '\r')
      pad.remove_suffix(1);
    else
      r.multipart_lf_line = 1;
    if (!trim(pad).empty()) r.multipart_invalid_part = 1;
    pos = nl + 1;
    if (++parts > limits.max_parts) {
      body_error(r, "Multipart: Too many parts.");
      break;
    }
    // The part's head.
    std::string name, filename, header_lines;
    bool has_filename = false, has_disposition = false, lf_only = false;
    std::vector<std::string> part_headers;
    std::string_view line;
    bool head_done = false;
    while (next_part_line(b, pos, line, lf_only)) {
      if (line.empty()) {
        head_done = true;
        break;
      }
      if (line.front() == ' ' || line.front() == '\t') {
        r.multipart_header_folding = 1;
        if (part_headers.empty())
          r.multipart_invalid_header_folding = 1;
        else
          part_headers.back() += std::string(trim(line));
        continue;
      }
      if (part_headers.size() >= limits.max_part_headers) {
        body_error(r, "Multipart: Too many part headers.");
        break;
      }
      part_headers.emplace_back(line);
    }
    if (lf_only) r.multipart_lf_line = 1;
    if (!head_done) {
      body_error(r, "Multipart: Part header is incomplete.");
      break;
    }
    for (const auto& h : part_headers) {
      size_t colon = h.find(':');
      if (colon == std::string::npos) {
        body_error(r, "Multipart: Invalid part header (colon missing).");
        continue;
      }
      std::string_view hn = trim(std::string_view(h).substr(0, colon));
      std::string_view hv = trim(std::string_view(h).substr(colon + 1));
      for (unsigned char ch : h)
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
          body_error(r, "Multipart: Invalid part header (control character).");
          break;
        }
      if (iequals(hn, "content-disposition")) {
        if (has_disposition) body_error(r, "Multipart: Duplicate Content-Disposition header.");
        has_disposition = true;
        if (!disposition(r, hv, name, filename, has_filename))
          body_error(r, "Multipart: Invalid Content-Disposition header.");
      }
    }
    if (!has_disposition)
      body_error(r, "Multipart: Part missing Content-Disposition header.");
    else if (name.empty())
      body_error(r, "Multipart: Content-Disposition header missing name field.");
    for (auto& h : part_headers) r.multipart_part_headers.push_back({name, h});
    // The part's content: up to CRLF--boundary (or LF--boundary).
    size_t end = b.find(dash, pos);
    if (end == std::string_view::npos) break;
    size_t content_end = end;
    if (content_end >= 2 && b.substr(content_end - 2, 2) == "\r\n") {
      content_end -= 2;
    } else if (content_end >= 1 && b[content_end - 1] == '\n') {
      content_end -= 1;
      r.multipart_lf_line = 1;
    } else if (content_end > pos) {
      r.multipart_invalid_part = 1;
    }
    std::string_view content =
        content_end > pos ? b.substr(pos, content_end - pos) : std::string_view();
    if (has_filename) {
      r.files.push_back({name, filename});
      r.files_sizes.push_back({name, std::to_string(content.size())});
      r.files_combined_size += content.size();
    } else if (r.args_post.size() < limits.max_args) {
      r.args_post.push_back({name, std::string(content)});
    }
    pos = end + dash.size();
  }
  if (!final_seen && !r.reqbody_error) body_error(r, "Multipart: Final boundary missing.");
  if (!final_seen) r.multipart_unmatched_boundary = 1;
  finish_strict(r);
}

namespace {

// JSON → arguments named by their path ("json.a.b", arrays by index), as SAX events so that
// depth and count stay bounded without building a tree.
class JsonArgs : public nlohmann::json_sax<nlohmann::json> {
 public:
  JsonArgs(Request& r, const BodyLimits& l) : r_(r), l_(l) {}
  bool null() override { return scalar(""); }
  bool boolean(bool v) override { return scalar(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return scalar(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(std::to_string(v)); }
  bool number_float(number_float_t, const string_t& s) override { return scalar(s); }
  bool string(string_t& v) override { return scalar(v); }
  bool binary(binary_t&) override { return scalar(""); }
  bool start_object(std::size_t) override { return open(false); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(true); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    key_ = k;
    has_key_ = true;
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception&) override {
    body_error(r_, "JSON parsing error at byte " + std::to_string(pos));
    return false;
  }

 private:
  struct Frame {
    std::string prefix;
    bool array;
    size_t index;
  };
  std::string name_here() {
    if (stack_.empty()) return "json";
    Frame& f = stack_.back();
    if (f.array) return f.prefix + ".array_" + std::to_string(f.index++);
    return f.prefix + "." + (has_key_ ? key_ : std::string());
  }
  bool scalar(const std::string& v) {
    std::string n = name_here();
    if (r_.args_post.size() >= l_.max_args) {
      body_error(r_, "JSON: too many arguments");
      return false;
    }
    r_.args_post.push_back({n, v});
    return true;
  }
  bool open(bool array) {
    if (stack_.size() >= l_.max_json_depth) {
      body_error(r_, "JSON: nested too deep");
      return false;
    }
    std::string n = name_here();
    stack_.push_back({n, array, 0});
    has_key_ = false;
    return true;
  }
  bool close() {
    if (!stack_.empty()) stack_.pop_back();
    return true;
  }
  Request& r_;
  const BodyLimits& l_;
  std::vector<Frame> stack_;
  std::string key_;
  bool has_key_ = false;
};

// The document's text (XML:/*) and attribute values (XML://@*). The text of an internal
// entity is taken as declared, once per reference (never expanded further: no "billion laughs");
// external entities are never loaded. Deeper than the limit is an error, not a skip.
bool xml_walk(Request& r, xmlDoc* doc, xmlNode* n, size_t depth, const BodyLimits& l) {
  for (; n; n = n->next) {
    if (depth > l.max_json_depth) {
      body_error(r, "XML: nested too deep");
      return false;
    }
    if (r.xml_text.back().size() > r.body.size() * 4 + 4096) {
      body_error(r, "XML: entity text too large");
      return false;
    }
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
      if (n->content) r.xml_text.back() += reinterpret_cast<const char*>(n->content);
    } else if (n->type == XML_ENTITY_REF_NODE) {
      xmlEntity* e = xmlGetDocEntity(doc, n->name);
      if (e && e->content && e->etype == XML_INTERNAL_GENERAL_ENTITY)
        r.xml_text.back() += reinterpret_cast<const char*>(e->content);
    } else if (n->type == XML_ELEMENT_NODE) {
      for (xmlAttr* a = n->properties; a; a = a->next)
        if (a->children && a->children->content)
          r.xml_attrs.emplace_back(reinterpret_cast<const char*>(a->children->content));
      if (!xml_walk(r, doc, n->children, depth + 1, l)) return false;
    }
  }
  return true;
}

}  // namespace

void parse_json_body(Request& r, const BodyLimits& limits) {
  JsonArgs sax(r, limits);
  // strict: one JSON value and nothing after it ({"a":1}{"q":…} is an error).
  nlohmann::json::sax_parse(r.body, &sax, nlohmann::json::input_format_t::json, true);
}

void parse_xml_body(Request& r, const BodyLimits& limits) {
  static std::once_flag init;  // libxml2 must be initialised before threads parse
  std::call_once(init, [] { xmlInitParser(); });
  // No network, no external entities, no DTD loading: parsing an attacker's XML must not
  // fetch or read anything (XXE). Entities stay unexpanded.
  int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
  xmlDoc* doc =
      xmlReadMemory(r.body.data(), static_cast<int>(std::min<size_t>(r.body.size(), INT32_MAX)),
                    "body.xml", nullptr, opts);
  if (!doc) {
    body_error(r, "XML parser error");
    return;
  }
  r.xml_text.emplace_back();
  xml_walk(r, doc, xmlDocGetRootElement(doc), 0, limits);
  xmlFreeDoc(doc);
}

}  // namespace mamori::waf
