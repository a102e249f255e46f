// WAF corpus records (see corpus.h): JSON → the raw request the replayer would send.
#include "waf/corpus.h"

#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "core/text.h"
#include "waf/transform.h"

namespace mamori::waf {

namespace {

using json = nlohmann::json;

std::string str_of(const json& j, const char* key, const std::string& dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_string()) throw std::runtime_error(std::string("'") + key + "' is not a string");
  return it->get<std::string>();
}

bool has_name(const std::vector<std::pair<std::string, std::string>>& hs, std::string_view n) {
  for (const auto& [k, v] : hs)
    if (iequals(k, n)) return true;
  return false;
}

}  // namespace

Result<CorpusRecord> parse_corpus_line(std::string_view text) {
  CorpusRecord r;
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Error::invalid("a record is not a JSON object");
    r.id = str_of(j, "id", "");
    if (r.id.empty()) return Error::invalid("a record without an 'id'");
    r.category = str_of(j, "category", "");
    if (r.category.empty()) return Error::invalid("a record without a 'category'");
    for (const char* k : {"headers", "accept_status"})
      if (j.contains(k) && !j[k].is_array())
        return Error::invalid(std::string("'") + k + "' is not an array");
    for (const char* k : {"crs_rule", "crs_pl"})
      if (j.contains(k) && !j[k].is_null() && !j[k].is_number_integer())
        return Error::invalid(std::string("'") + k + "' is not a whole number");
    if (j.contains("autocomplete") && !j["autocomplete"].is_boolean())
      return Error::invalid("'autocomplete' is not true or false");
    std::string expect = str_of(j, "expect", "");
    if (expect != "block" && expect != "allow")
      return Error::invalid("'expect' is neither block nor allow");
    r.expect_block = expect == "block";
    if (auto it = j.find("accept_status"); it != j.end() && it->is_array()) {
      for (const auto& st : *it) {
        if (!st.is_number_integer()) return Error::invalid("'accept_status' holds a non-number");
        r.accept_status.push_back(st.get<int>());
      }
    } else {
      r.accept_status = {403};
    }
    if (auto it = j.find("crs_rule"); it != j.end() && it->is_number_integer())
      r.crs_rule = it->get<int64_t>();
    if (auto it = j.find("crs_pl"); it != j.end() && it->is_number_integer())
      r.crs_pl = it->get<int>();
    if (std::string raw = str_of(j, "raw_b64", ""); !raw.empty()) {
      r.raw = base64_decode(raw, false);
      return r;
    }
    std::string uri = j.contains("uri_b64") ? base64_decode(str_of(j, "uri_b64", ""), false)
                                            : str_of(j, "uri", "/");
    std::string body = j.contains("body_b64") ? base64_decode(str_of(j, "body_b64", ""), false)
                                              : str_of(j, "body", "");
    std::string method = str_of(j, "method", "GET");
    std::string version = str_of(j, "version", "HTTP/1.1");
    std::vector<std::pair<std::string, std::string>> hs;
    if (auto it = j.find("headers"); it != j.end() && it->is_array())
      for (const auto& h : *it) {
        if (!h.is_array() || h.size() != 2 || !h[0].is_string() || !h[1].is_string())
          return Error::invalid("a header is not a [name, value] pair of strings");
        hs.emplace_back(h[0].get<std::string>(), h[1].get<std::string>());
      }
    bool autocomplete = !j.contains("autocomplete") || j["autocomplete"].get<bool>();
    if (autocomplete) {
      if (!body.empty() && !has_name(hs, "content-length") && !has_name(hs, "transfer-encoding"))
        hs.emplace_back("Content-Length", std::to_string(body.size()));
      if (!has_name(hs, "connection")) hs.emplace_back("Connection", "close");
    }
    r.raw = method + " " + uri + (version.empty() ? "" : " " + version);
    for (const auto& [k, v] : hs) r.raw += "\r\n" + k + ": " + v;
    r.raw += "\r\n\r\n" + body;
  } catch (const std::exception& e) {
    return Error::invalid(std::string("malformed record: ") + e.what());
  }
  return r;
}

Result<std::vector<CorpusRecord>> read_corpus(const std::string& path, uint64_t max_bytes) {
  auto text = read_file(path, max_bytes);
  if (!text) return text.error();
  std::vector<CorpusRecord> out;
  size_t pos = 0, n = 0;
  std::string_view line;
  while (next_line(*text, pos, line)) {
    ++n;
    if (trim(line).empty()) continue;
    auto r = parse_corpus_line(line);
    if (!r) return Error::invalid(path + ":" + std::to_string(n) + ": " + r.error().message);
    r->line = n;
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace mamori::waf
