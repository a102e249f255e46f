// An HTTP/1.1 request from the network (what `mamori waf` reads first). Properties: the head
// parser never reads past what it was given and its views lie inside the buffer; feeding the
// same bytes one at a time gives the same result as all at once; the chunked decoder never
// produces more bytes than it consumed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "waf/http.h"

using namespace mamori::waf::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string buf(reinterpret_cast<const char*>(data), size);
  HeadParser whole;
  Progress p = whole.parse(buf);
  if (p == Progress::kDone) {
    const RequestHead& h = whole.head();
    auto inside = [&](std::string_view v) {
      return v.empty() ||
             (v.data() >= buf.data() && v.data() + v.size() <= buf.data() + buf.size());
    };
    if (h.head_bytes > buf.size() || !inside(h.method) || !inside(h.target)) std::abort();
    for (const auto& hd : h.headers)
      if (!inside(hd.name) || !inside(hd.value)) std::abort();
    if (h.framing == Framing::kChunked) {
      std::string out;
      ChunkedDecoder d;
      std::string_view rest = std::string_view(buf).substr(h.head_bytes);
      size_t used = 0;
      for (size_t i = 0; i < rest.size() && !d.done() && !d.failed(); ++i)
        used += d.feed(rest.substr(i, 1), out);
      if (out.size() > used) std::abort();
    }
  }
  // Byte by byte: the same outcome once the whole buffer is there.
  HeadParser inc;
  Progress last = Progress::kNeedMore;
  for (size_t n = 1; n <= size && last == Progress::kNeedMore; ++n)
    last = inc.parse(std::string_view(buf).substr(0, n));
  if (p == Progress::kDone && last != Progress::kDone) std::abort();
  WholeRequest w;
  ParseError e;
  (void)parse_whole(buf, w, e);
  return 0;
}
