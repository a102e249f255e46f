#include "web/url.h"

#include <curl/curl.h>

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

std::optional<Url> Url::resolve(std::string_view ref) const {
  if (ref.size() > 8192) return std::nullopt;
  std::string r(ref);
  if (r.find('\0') != std::string::npos) return std::nullopt;
  // Browsers strip leading/trailing spaces and tabs/newlines inside URLs.
  std::string clean;
  for (char c : r)
    if (c != '\t' && c != '\n' && c != '\r') clean += c;
  size_t b = clean.find_first_not_of(' ');
  size_t e = clean.find_last_not_of(' ');
  if (b == std::string::npos) return *this;
  clean = clean.substr(b, e - b + 1);
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
