// HTTP/1.1 request heads and chunked bodies, strictly (see http.h).
#include "waf/http.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "core/text.h"

namespace mamori::waf::http {

using mamori::iequals;

bool is_token_char(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

const Header* RequestHead::find(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h;
  return nullptr;
}

namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Does a comma-separated header value list `token` (case-insensitively)?
bool lists_token(std::string_view v, std::string_view token) {
  while (!v.empty()) {
    size_t c = v.find(',');
    if (iequals(trim_ows(v.substr(0, c)), token)) return true;
    if (c == std::string_view::npos) break;
    v.remove_prefix(c + 1);
  }
  return false;
}

}  // namespace

Progress HeadParser::fail(int status, std::string reason) {
  error_ = {status, std::move(reason)};
  return Progress::kError;
}

Progress HeadParser::parse(std::string_view buf) {
  // Empty lines before the request line are allowed (RFC 9112 2.2) and skipped.
  size_t lead = 0;
  while (lead < buf.size() && (buf[lead] == '\r' || buf[lead] == '\n') && lead < 8) ++lead;
  size_t end = find_head_end(buf.substr(lead));
  if (end == std::string_view::npos) {
    if (buf.size() > limits.max_head_bytes) return fail(431, "request head too large");
    return Progress::kNeedMore;
  }
  if (lead + end > limits.max_head_bytes) return fail(431, "request head too large");
  head_ = {};
  head_.head_bytes = lead + end;
  return parse_head(buf.substr(lead, end));
}

Progress HeadParser::parse_head(std::string_view h) {
  std::vector<std::string_view> lines;
  while (!h.empty()) {
    size_t nl = h.find('\n');
    std::string_view l = h.substr(0, nl);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    h.remove_prefix(nl + 1);
    if (l.empty()) break;
    if (l.find('\r') != std::string_view::npos) return fail(400, "a bare CR in the request head");
    lines.push_back(l);
  }
  if (lines.empty()) return fail(400, "no request line");
  // Request line: method SP target SP HTTP/1.x, single spaces.
  std::string_view rl = lines[0];
  size_t s1 = rl.find(' ');
  size_t s2 = s1 == std::string_view::npos ? s1 : rl.find(' ', s1 + 1);
  if (s1 == std::string_view::npos || s2 == std::string_view::npos ||
      rl.find(' ', s2 + 1) != std::string_view::npos)
    return fail(400, "malformed request line");
  head_.method = rl.substr(0, s1);
  head_.target = rl.substr(s1 + 1, s2 - s1 - 1);
  head_.version = rl.substr(s2 + 1);
  if (head_.method.empty() || head_.target.empty()) return fail(400, "malformed request line");
  for (unsigned char c : head_.method)
    if (!is_token_char(c)) return fail(400, "malformed method");
  for (unsigned char c : head_.target)
    if (c <= 0x20 || c == 0x7f) return fail(400, "a control character in the request target");
  if (head_.version == "HTTP/1.0") {
    head_.keep_alive = false;
  } else if (head_.version != "HTTP/1.1") {
    if (head_.version.size() == 8 && head_.version.starts_with("HTTP/") && head_.version[6] == '.')
      return fail(505, "HTTP version not supported");
    return fail(400, "malformed HTTP version");
  }
  if (lines.size() - 1 > limits.max_headers) return fail(431, "too many header fields");
  std::optional<Header> cl, te;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (l.front() == ' ' || l.front() == '\t') return fail(400, "obsolete line folding");
    size_t colon = l.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header field");
    Header hd{l.substr(0, colon), trim_ows(l.substr(colon + 1))};
    for (unsigned char c : hd.name)
      if (!is_token_char(c)) return fail(400, "malformed header field name");
    for (unsigned char c : hd.value)
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return fail(400, "a control character in a header field value");
    head_.headers.push_back(hd);  // views into the buffer: copies stay valid as the vector grows
    if (iequals(hd.name, "content-length")) {
      if (cl) return fail(400, "more than one Content-Length");
      cl = hd;
    } else if (iequals(hd.name, "transfer-encoding")) {
      if (te) return fail(400, "more than one Transfer-Encoding");
      te = hd;
    } else if (iequals(hd.name, "connection")) {
      if (lists_token(hd.value, "close")) head_.keep_alive = false;
      if (head_.version == "HTTP/1.0" && lists_token(hd.value, "keep-alive"))
        head_.keep_alive = true;
    }
  }
  if (te && cl) return fail(400, "both Transfer-Encoding and Content-Length");
  if (te) {
    if (head_.version == "HTTP/1.0") return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (!iequals(te->value, "chunked")) return fail(501, "unsupported Transfer-Encoding");
    head_.framing = Framing::kChunked;
  } else if (cl) {
    std::string_view v = cl->value;
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || v.size() > 18)
      return fail(400, "malformed Content-Length");
    head_.content_length = n;
    head_.framing = n ? Framing::kLength : Framing::kNone;
  }
  return Progress::kDone;
}

size_t ChunkedDecoder::fail(std::string why, size_t used) {
  state_ = State::kError;
  error_ = std::move(why);
  return used;
}

size_t ChunkedDecoder::feed(std::string_view in, std::string& out) {
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    switch (state_) {
      case State::kDone:
      case State::kError:
        return i;
      case State::kSize: {
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d >= 0) {
          if (++digits_ > 15) return fail("chunk size too large", i);
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(d);
          ++i;
          break;
        }
        if (digits_ == 0) return fail("malformed chunk size", i);
        if (c == ';') {
          state_ = State::kExt;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          state_ = State::kSizeLf;
          continue;  // handled as the LF
        } else if (c == ' ' || c == '\t') {
          state_ = State::kExt;  // BWS before ';' (RFC 9112 7.1.1)
        } else {
          return fail("malformed chunk size", i);
        }
        ++i;
        break;
      }
      case State::kExt:
        if (c == '\r' || c == '\n') {
          state_ = State::kSizeLf;
          if (c == '\n') continue;
        } else if (++ext_ > limits_.max_chunk_ext_bytes) {
          return fail("chunk extension too long", i);
        } else if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
          return fail("a control character in a chunk extension", i);
        }
        ++i;
        break;
      case State::kSizeLf:
        if (c != '\n') return fail("malformed chunk line ending", i);
        ++i;
        digits_ = 0;
        ext_ = 0;
        state_ = remaining_ == 0 ? State::kTrailer : State::kData;
        line_ = 0;
        break;
      case State::kData: {
        size_t n = std::min<uint64_t>(remaining_, in.size() - i);
        out.append(in.data() + i, n);
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c == '\n') {
          state_ = State::kSize;
        } else if (c == '\r') {
          state_ = State::kDataLf;
        } else {
          return fail("chunk data longer than its size", i);
        }
        ++i;
        break;
      case State::kDataLf:
        if (c != '\n') return fail("chunk data longer than its size", i);
        state_ = State::kSize;
        ++i;
        break;
      case State::kTrailer:
        // Trailer fields are read and dropped; an empty line ends the body.
        if (++trailer_ > limits_.max_trailer_bytes) return fail("trailers too large", i);
        if (c == '\n') {
          ++i;
          if (line_ == 0) {
            state_ = State::kDone;
            return i;
          }
          line_ = 0;
          break;
        }
        if (c != '\r') ++line_;
        ++i;
        break;
    }
  }
  return i;
}

WholeResult parse_whole(std::string_view raw, WholeRequest& out, ParseError& err,
                        const Limits& limits) {
  HeadParser p;
  p.limits = limits;
  switch (p.parse(raw)) {
    case Progress::kNeedMore:
      err = {400, "the request head is incomplete"};
      return WholeResult::kIncomplete;
    case Progress::kError:
      err = p.error();
      return WholeResult::kError;
    case Progress::kDone:
      break;
  }
  out.head = p.head();
  std::string_view rest = raw.substr(out.head.head_bytes);
  out.body.clear();
  out.consumed = out.head.head_bytes;
  if (out.head.framing == Framing::kLength) {
    if (rest.size() < out.head.content_length) {
      out.body.assign(rest);
      err = {400, "the body is shorter than its Content-Length"};
      return WholeResult::kIncomplete;
    }
    out.body.assign(rest.substr(0, out.head.content_length));
    out.consumed = out.head.head_bytes + out.head.content_length;
  } else if (out.head.framing == Framing::kChunked) {
    ChunkedDecoder d(limits);
    out.consumed = out.head.head_bytes + d.feed(rest, out.body);
    if (d.failed()) {
      err = {400, d.error()};
      return WholeResult::kError;
    }
    if (!d.done()) {
      err = {400, "the chunked body ends early"};
      return WholeResult::kIncomplete;
    }
  }
  return WholeResult::kOk;
}

}  // namespace mamori::waf::http

namespace mamori::waf::http {

size_t find_head_end(std::string_view buf, size_t from) {
  from = std::min(from, buf.size());
  for (size_t i = buf.find('\n', from); i != std::string_view::npos; i = buf.find('\n', i + 1)) {
    if (i + 1 < buf.size() && buf[i + 1] == '\n') return i + 2;
    if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

const Header* ResponseHead::find(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h;
  return nullptr;
}

Progress parse_response_head(std::string_view buf, bool head_request, ResponseHead& out,
                             ParseError& err, size_t max_head_bytes) {
  auto fail = [&](std::string why) {
    err = {502, std::move(why)};
    return Progress::kError;
  };
  size_t end = find_head_end(buf);
  if (end == std::string_view::npos) {
    if (buf.size() > max_head_bytes) return fail("response head too large");
    return Progress::kNeedMore;
  }
  if (end > max_head_bytes) return fail("response head too large");
  out = {};
  out.head_bytes = end;
  std::string_view h = buf.substr(0, end);
  bool first = true;
  std::optional<uint64_t> cl;
  bool chunked = false, te = false;
  while (!h.empty()) {
    size_t nl = h.find('\n');
    std::string_view l = h.substr(0, nl);
    h.remove_prefix(nl + 1);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) break;
    if (l.find('\r') != std::string_view::npos) return fail("a bare CR in the response head");
    if (first) {
      first = false;
      // HTTP/1.x SP 3DIGIT [SP reason]
      if (l.size() < 12 || !l.starts_with("HTTP/1.") || l[8] != ' ')
        return fail("malformed status line");
      out.version = l.substr(0, 8);
      if (out.version != "HTTP/1.1" && out.version != "HTTP/1.0")
        return fail("unsupported HTTP version in the response");
      int st = 0;
      for (size_t i = 9; i < 12; ++i) {
        if (l[i] < '0' || l[i] > '9') return fail("malformed status code");
        st = st * 10 + (l[i] - '0');
      }
      if (st < 100 || (l.size() > 12 && l[12] != ' ')) return fail("malformed status line");
      out.status = st;
      out.reason = l.size() > 13 ? l.substr(13) : std::string_view();
      for (unsigned char c : out.reason)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return fail("a control character in the reason");
      out.keep_alive = out.version == "HTTP/1.1";
      continue;
    }
    if (l.front() == ' ' || l.front() == '\t') return fail("obsolete line folding in the response");
    size_t colon = l.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail("malformed response header");
    Header hd{l.substr(0, colon), trim_ows(l.substr(colon + 1))};
    for (unsigned char c : hd.name)
      if (!is_token_char(c)) return fail("malformed response header name");
    for (unsigned char c : hd.value)
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return fail("a control character in a response header");
    if (out.headers.size() >= 256) return fail("too many response headers");
    out.headers.push_back(hd);
    if (iequals(hd.name, "content-length")) {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(hd.value.data(), hd.value.data() + hd.value.size(), n);
      if (hd.value.empty() || ec != std::errc() || p != hd.value.data() + hd.value.size() ||
          hd.value.size() > 18)
        return fail("malformed Content-Length in the response");
      if (cl && *cl != n) return fail("two different Content-Lengths in the response");
      cl = n;
    } else if (iequals(hd.name, "transfer-encoding")) {
      if (te || !iequals(hd.value, "chunked"))
        return fail("unsupported Transfer-Encoding in the response");
      te = chunked = true;
    } else if (iequals(hd.name, "connection")) {
      if (lists_token(hd.value, "close")) out.keep_alive = false;
      if (out.version == "HTTP/1.0" && lists_token(hd.value, "keep-alive")) out.keep_alive = true;
    }
  }
  if (first) return fail("no status line");
  if (chunked && out.version == "HTTP/1.0") return fail("chunked HTTP/1.0 response");
  if (head_request || out.status < 200 || out.status == 204 || out.status == 304) {
    out.framing = Framing::kNone;
  } else if (chunked) {
    out.framing = Framing::kChunked;
  } else if (cl) {
    out.framing = *cl ? Framing::kLength : Framing::kNone;
    out.content_length = *cl;
  } else {
    out.framing = Framing::kUntilClose;
    out.keep_alive = false;
  }
  return Progress::kDone;
}

}  // namespace mamori::waf::http
