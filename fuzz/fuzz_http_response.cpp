// A response from the server behind `mamori waf run` (a compromised or broken application can
// send anything). Properties: the head's views lie inside the buffer and end before head_bytes;
// no header value carries CR or LF (a value copied to the client cannot split the response);
// looking for the end of the head from any later start gives the same end as from the start
// (the proxy searches only the bytes that arrived since the last read); a chunked body decodes
// to no more bytes than it consumed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "waf/http.h"

using namespace mamori::waf::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool head_request = data[0] & 1;
  std::string buf(reinterpret_cast<const char*>(data) + 1, size - 1);
  ResponseHead rh;
  ParseError err;
  Progress p = parse_response_head(buf, head_request, rh, err, 4096);
  size_t end = find_head_end(buf);
  if (p == Progress::kDone) {
    if (rh.head_bytes != end || rh.head_bytes > buf.size()) std::abort();
    auto inside = [&](std::string_view v) {
      return v.empty() ||
             (v.data() >= buf.data() && v.data() + v.size() <= buf.data() + rh.head_bytes);
    };
    if (!inside(rh.version) || !inside(rh.reason) || rh.status < 100 || rh.status > 999)
      std::abort();
    for (const auto& h : rh.headers) {
      if (!inside(h.name) || !inside(h.value)) std::abort();
      if (h.value.find_first_of("\r\n") != std::string_view::npos) std::abort();
    }
    if (rh.reason.find_first_of("\r\n") != std::string_view::npos) std::abort();
    if (head_request && rh.framing != Framing::kNone) std::abort();
    if (rh.framing == Framing::kChunked) {
      std::string out;
      ChunkedDecoder d;
      size_t used = d.feed(std::string_view(buf).substr(rh.head_bytes), out);
      if (out.size() > used) std::abort();
    }
  }
  // Incremental search: arriving in two pieces, searching the second from (first size - 3).
  for (size_t cut = 0; cut <= buf.size(); cut += 1 + buf.size() / 8) {
    size_t first = find_head_end(std::string_view(buf).substr(0, cut));
    size_t again =
        first != std::string_view::npos ? first : find_head_end(buf, cut >= 3 ? cut - 3 : 0);
    if (again != end) std::abort();
  }
  return 0;
}
