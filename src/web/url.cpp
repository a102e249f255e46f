#include "web/url.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace mamori::web {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using Handle = std::unique_ptr<CURLU, UrlDeleter>;

std::optional<std::string> part(CURLU* u, CURLUPart p, unsigned flags = 0) {
  char* s = nullptr;
  if (curl_url_get(u, p, &s, flags) != CURLUE_OK || !s) return std::nullopt;
  std::string out(s);
  curl_free(s);
  return out;
}

}  // namespace

std::optional<Url> Url::parse(std::string_view text) {
  if (text.size() > 8192) return std::nullopt;
  Handle h(curl_url());
  if (!h) return std::nullopt;
  std::string t(text);
  if (t.find('\0') != std::string::npos) return std::nullopt;
  // Only absolute URLs with a scheme: no guessing, no default scheme.
  if (curl_url_set(h.get(), CURLUPART_URL, t.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return std::nullopt;
  curl_url_set(h.get(), CURLUPART_FRAGMENT, nullptr, 0);
  Url u;
  auto scheme = part(h.get(), CURLUPART_SCHEME);
  auto host = part(h.get(), CURLUPART_HOST);
  if (!scheme || !host || (*scheme != "http" && *scheme != "https")) return std::nullopt;
  if (host->empty()) return std::nullopt;
  // Credentials in a crawled URL would be sent: refuse them.
  if (part(h.get(), CURLUPART_USER) || part(h.get(), CURLUPART_PASSWORD)) return std::nullopt;
  u.host_ = *host;
  for (auto& c : u.host_)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (u.host_ != *host && curl_url_set(h.get(), CURLUPART_HOST, u.host_.c_str(), 0) != CURLUE_OK)
    return std::nullopt;
  auto full = part(h.get(), CURLUPART_URL);
  auto path = part(h.get(), CURLUPART_PATH);
  if (!full || !path) return std::nullopt;
  u.scheme_ = *scheme;
  u.port_ = part(h.get(), CURLUPART_PORT).value_or("");  // only when given and not the default
  u.path_ = *path;
  u.full_ = *full;
  return u;
}

std::string Url::browser_ref(std::string_view ref, std::string_view base_scheme) {
  // What a browser reads (the WHATWG URL standard), so that "\\evil.example/x.js" is seen as
  // the other origin it loads, not as a path of this one: C0 controls and spaces at either end
  // dropped, tabs and newlines anywhere removed, a NUL kept as %00.
  size_t b = 0, e = ref.size();
  while (b < e && static_cast<unsigned char>(ref[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(ref[e - 1]) <= 0x20) --e;
  std::string out;
  for (char c : ref.substr(b, e - b)) {
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '\0') {
      out += "%00";
      continue;
    }
    out += c;
  }
  // The scheme, if the reference has one (letters, digits, + - . before a ':').
  size_t colon = out.find(':');
  std::string scheme;
  if (colon != std::string::npos && colon > 0 && std::isalpha(static_cast<unsigned char>(out[0]))) {
    scheme = out.substr(0, colon);
    for (char& c : scheme) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
        scheme.clear();
        break;
      }
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  const bool special = scheme.empty() ? (base_scheme == "http" || base_scheme == "https")
                                      : (scheme == "http" || scheme == "https");
  if (!special) return out;
  // In http(s) URLs a backslash before the query is a slash ("/\evil.example" is
  // "//evil.example").
  size_t stop = out.find_first_of("?#");
  for (size_t i = 0; i < std::min(stop, out.size()); ++i)
    if (out[i] == '\\') out[i] = '/';
  // "https:x.js" under an https page is relative; "http:evil.example" under https is
  // "http://evil.example".
  if (!scheme.empty() && out.compare(colon + 1, 2, "//") != 0) {
    if (scheme == base_scheme)
      out.erase(0, colon + 1);
    else
      out.insert(colon + 1, "//");
  }
  return out;
}

std::optional<Url> Url::resolve(std::string_view ref) const {
  if (ref.size() > 8192) return std::nullopt;
  std::string clean = browser_ref(ref, scheme_);
  if (clean.empty()) return *this;
  Handle h(curl_url());
  if (!h || curl_url_set(h.get(), CURLUPART_URL, full_.c_str(), 0) != CURLUE_OK)
    return std::nullopt;
  if (curl_url_set(h.get(), CURLUPART_URL, clean.c_str(),
                   CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE) != CURLUE_OK)
    return std::nullopt;
  auto full = part(h.get(), CURLUPART_URL);
  if (!full) return std::nullopt;
  return parse(*full);
}

std::string Url::origin() const {
  return scheme_ + "://" + host_ + (port_.empty() ? "" : ":" + port_);
}

}  // namespace mamori::web
