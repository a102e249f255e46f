#pragma once
// HTTP/1.1 requests as a WAF must read them (RFC 9112), strict where a lenient reading lets a
// request mean one thing to Mamori and another to the server behind it (request smuggling):
//   - Transfer-Encoding together with Content-Length, two Content-Length headers, a
//     Transfer-Encoding other than "chunked", or one in an HTTP/1.0 request: refused (400/501);
//     an HTTP version other than 1.0 and 1.1: 505;
//   - obs-fold (a header line starting with a space), white space before the colon, control
//     characters in a name or value, a bare CR: refused;
//   - every size is bounded: the head, the header count, a chunk size, chunk extensions and
//     trailers.
// The parser is incremental: give it what arrived so far; it says "need more", "done, N bytes"
// or the error, and never reads past what it was given.
//
// Example:
//   http::HeadParser p;                               // limits in p.limits
//   auto st = p.parse(buffer);                       // kNeedMore until the blank line arrived
//   if (st == http::Progress::kError) reply(p.error().status, p.error().reason);
//   const http::RequestHead& h = p.head();            // views into buffer
//   http::ChunkedDecoder dec;  dec.feed(bytes, out);  // when h.framing == kChunked

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mamori::waf::http {

struct Limits {
  size_t max_head_bytes = 16 * 1024;  // request line + headers
  size_t max_headers = 100;
  size_t max_chunk_ext_bytes = 256;
  size_t max_trailer_bytes = 4 * 1024;
};

struct Header {
  std::string_view name, value;  // value without surrounding white space
};

// kUntilClose: a response without Content-Length or chunking ends when the server closes.
enum class Framing : uint8_t { kNone, kLength, kChunked, kUntilClose };

struct RequestHead {
  std::string_view method, target, version;  // version "HTTP/1.1", "HTTP/1.0"
  std::vector<Header> headers;
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;  // kLength only
  bool keep_alive = true;       // HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive
  size_t head_bytes = 0;        // through the blank line
  // The first value of a header (names compare case-insensitively), or nothing.
  const Header* find(std::string_view name) const;
};

enum class Progress : uint8_t { kNeedMore, kDone, kError };

struct ParseError {
  int status = 400;  // the response to send: 400, 413 (too large), 431 (headers), 501, 505
  std::string reason;
};

class HeadParser {
 public:
  Limits limits;
  // `buf` is everything received so far on this request (the same start each call). kDone:
  // head() holds views into buf, valid while buf is.
  Progress parse(std::string_view buf);
  const RequestHead& head() const { return head_; }
  const ParseError& error() const { return error_; }

 private:
  Progress fail(int status, std::string reason);
  Progress parse_head(std::string_view head);
  RequestHead head_;
  ParseError error_;
};

// Decodes a chunked body as it arrives. feed() appends the data to `out` and returns the bytes
// of `in` it consumed (all of them unless it finished or failed). done() after the last chunk
// and its trailers.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(const Limits& l = {}) : limits_(l) {}
  size_t feed(std::string_view in, std::string& out);
  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  const std::string& error() const { return error_; }

 private:
  enum class State : uint8_t {
    kSize,
    kExt,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailer,
    kDone,
    kError
  };
  size_t fail(std::string why, size_t used);
  Limits limits_;
  State state_ = State::kSize;
  uint64_t remaining_ = 0;
  int digits_ = 0;
  size_t ext_ = 0, trailer_ = 0, line_ = 0;
  std::string error_;
};

// A whole request already in memory (a corpus record, a test): head and de-chunked body.
struct WholeRequest {
  RequestHead head;
  std::string body;
  size_t consumed = 0;  // bytes of the input this request took (what follows is the next one's)
};
enum class WholeResult : uint8_t { kOk, kIncomplete, kError };
// Parses `raw` (which must outlive the result's views). kIncomplete: the head or body ends
// early (a proxy would wait; offline it is the end of the input).
WholeResult parse_whole(std::string_view raw, WholeRequest& out, ParseError& err,
                        const Limits& limits = {});

// A response from the server behind a proxy (RFC 9112 6.3): no body for 1xx, 204, 304 and an
// answer to HEAD; chunked when Transfer-Encoding is chunked; Content-Length; else until the
// server closes. Transfer-Encoding other than chunked, two differing Content-Lengths, control
// bytes and obs-fold are errors (a proxy answers 502: they are how responses get split).
struct ResponseHead {
  int status = 0;
  std::string_view version, reason;
  std::vector<Header> headers;
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;  // the server keeps the connection open after this response
  size_t head_bytes = 0;
  const Header* find(std::string_view name) const;
};
// `buf` from the first byte of the response; kDone: `out` views into buf.
Progress parse_response_head(std::string_view buf, bool head_request, ResponseHead& out,
                             ParseError& err, size_t max_head_bytes = 64 * 1024);

// Where the head of `buf` ends (just past the blank line), looking for it from `from` on (a
// caller that appends can pass the old size minus 3): npos until it has arrived.
size_t find_head_end(std::string_view buf, size_t from = 0);

bool is_token_char(unsigned char c);

}  // namespace mamori::waf::http
