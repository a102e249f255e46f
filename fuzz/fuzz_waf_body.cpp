// A request body as an attacker sends it: the first byte picks the processor (urlencoded,
// multipart with a fixed boundary, JSON, XML), the rest is the body. Properties: parsing
// terminates within the limits (argument count, depth) and never fetches anything.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "waf/request.h"

using namespace mamori::waf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const char* types[] = {"application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
                         "application/json", "text/xml"};
  http::RequestHead h;
  h.method = "POST";
  h.target = "/a/b.php?x=1&y=%41";
  h.version = "HTTP/1.1";
  std::string ct = types[data[0] % 4];
  h.headers.push_back({"Content-Type", ct});
  h.headers.push_back({"Cookie", "a=1; b"});
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  Request r = Request::from_http(h, body, Connection{});
  if (data[0] % 4 == 2) r.processor = BodyProcessor::kJson;
  if (data[0] % 4 == 3) r.processor = BodyProcessor::kXml;
  BodyLimits l;
  r.process_body(l);
  if (r.args_post.size() > l.max_args) std::abort();
  return 0;
}
