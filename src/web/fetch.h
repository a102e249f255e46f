#pragma once
// Polite, bounded HTTP fetching for the site crawl: libcurl's multi interface, a few transfers
// at a time, requests spaced by a rate, every response capped in size and time. Redirects are
// not followed here: the crawler records them and decides.
//
// Example:
//   FetchLimits lim;  lim.rate = 5;
//   for (auto& r : fetch_all({"http://127.0.0.1:8080/"}, lim)) ... r.status, r.body

#include <cstdint>
#include <string>
#include <vector>

namespace mamori::web {

struct FetchLimits {
  size_t max_bytes = 4u << 20;  // a longer body is cut there (Response::truncated)
  long timeout_s = 20;          // whole transfer
  long connect_timeout_s = 10;
  int concurrency = 4;  // transfers at once
  double rate = 10;     // requests per second at most (0: no limit)
  std::string user_agent = "mamori-web (site integrity check)";
  bool public_only = false;  // refuse to connect to loopback, private and link-local addresses
};

// Loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified and IPv4-mapped forms.
bool is_private_address(const std::string& ip);

struct Response {
  std::string url;
  long status = 0;           // 0: no HTTP answer (see error)
  std::string content_type;  // lower case, without parameters
  std::string location;      // the Location header of a redirect, as sent
  std::string body;
  bool truncated = false;
  std::string error;  // transport error, or empty
  std::string ip;     // the address that answered
};

// Fetches each URL once (GET), in the order given as far as concurrency allows; the result is
// in the same order as `urls`.
std::vector<Response> fetch_all(const std::vector<std::string>& urls, const FetchLimits& lim);

}  // namespace mamori::web
