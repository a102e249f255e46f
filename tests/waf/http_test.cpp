// The HTTP/1.1 request parser: what it accepts, and every ambiguity a smuggling attack needs
// refused with the right status.
#include "waf/http.h"

#include <gtest/gtest.h>

namespace mamori::waf::http {
namespace {

ParseError refuse(const std::string& raw) {
  HeadParser p;
  EXPECT_EQ(p.parse(raw), Progress::kError) << raw;
  return p.error();
}

TEST(Http, AHeadIsParsedIntoViewsWithItsFraming) {
  std::string raw =
      "\r\nPOST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length:  5 \r\nX-A:\tv \r\n\r\nhello";
  HeadParser p;
  ASSERT_EQ(p.parse(raw), Progress::kDone);
  const RequestHead& h = p.head();
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/a?b=1");
  EXPECT_EQ(h.version, "HTTP/1.1");
  ASSERT_EQ(h.headers.size(), 3u);
  EXPECT_EQ(h.headers[2].value, "v");  // white space around a value is not part of it
  EXPECT_EQ(h.framing, Framing::kLength);
  EXPECT_EQ(h.content_length, 5u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_EQ(raw.substr(h.head_bytes), "hello");
  ASSERT_NE(h.find("content-length"), nullptr);
}

TEST(Http, IncompleteHeadsWaitAndOversizedOnesAreRefused) {
  HeadParser p;
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost: x\r\n"), Progress::kNeedMore);
  p.limits.max_head_bytes = 64;
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nX: " + std::string(100, 'a')), Progress::kError);
  EXPECT_EQ(p.error().status, 431);
  HeadParser q;
  q.limits.max_headers = 2;
  EXPECT_EQ(q.parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), Progress::kError);
  EXPECT_EQ(q.error().status, 431);
}

TEST(Http, SmugglingAmbiguitiesAreRefused) {
  EXPECT_EQ(
      refuse("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n").status,
      400);
  EXPECT_EQ(refuse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n").status,
            400);
  EXPECT_EQ(refuse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n").status, 501);
  EXPECT_EQ(refuse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n")
                .status,
            400);
  EXPECT_EQ(refuse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").status, 400);
  EXPECT_EQ(refuse("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n").reason, "obsolete line folding");
  EXPECT_EQ(refuse("GET / HTTP/1.1\r\nContent-Length : 3\r\n\r\n").status, 400);
  EXPECT_EQ(refuse("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n").reason, "a bare CR in the request head");
  EXPECT_EQ(refuse("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n").status, 400);
  EXPECT_EQ(refuse("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n").status, 400);
  EXPECT_EQ(refuse("POST / HTTP/1.1\r\nContent-Length: 3x\r\n\r\n").status, 400);
  EXPECT_EQ(refuse("GET /  HTTP/1.1\r\n\r\n").status, 400);
  EXPECT_EQ(refuse("GET / HTTP/2.0\r\n\r\n").status, 505);
  EXPECT_EQ(refuse("GET /\r\n\r\n").status, 400);  // HTTP/0.9
}

TEST(Http, FramingSurvivesManyHeadersAfterIt) {
  // Content-Length first, then enough fields to make the header list grow (the fuzzer found
  // the framing read through a pointer into the old list).
  std::string raw = "POST / HTTP/1.1\r\nContent-Length: 7\r\n";
  for (int i = 0; i < 60; ++i) raw += "X-" + std::to_string(i) + ": v\r\n";
  raw += "\r\n";
  HeadParser p;
  ASSERT_EQ(p.parse(raw), Progress::kDone);
  EXPECT_EQ(p.head().framing, Framing::kLength);
  EXPECT_EQ(p.head().content_length, 7u);
}

TEST(Http, ConnectionDecidesKeepAlive) {
  HeadParser p;
  ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n"), Progress::kDone);
  EXPECT_FALSE(p.head().keep_alive);
  ASSERT_EQ(p.parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), Progress::kDone);
  EXPECT_TRUE(p.head().keep_alive);
  ASSERT_EQ(p.parse("GET / HTTP/1.0\r\n\r\n"), Progress::kDone);
  EXPECT_FALSE(p.head().keep_alive);
}

TEST(Http, ChunkedBodiesDecodeWhateverTheyAreCutInto) {
  const std::string body = "5;name=v\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\nNEXT";
  for (size_t step : {1u, 2u, 3u, 7u, 100u}) {
    ChunkedDecoder d;
    std::string out;
    size_t used = 0;
    for (size_t i = 0; i < body.size() && !d.done(); i += step)
      used += d.feed(std::string_view(body).substr(i, step), out);
    EXPECT_TRUE(d.done()) << step;
    EXPECT_EQ(out, "hello world");
    EXPECT_EQ(body.substr(used), "NEXT") << step;  // nothing after the body is consumed
  }
}

TEST(Http, MalformedChunksAreErrors) {
  for (const char* bad : {"g\r\n", "5\r\nhelloX\r\n", "ffffffffffffffffff\r\n", "\r\n", "5\rX"}) {
    ChunkedDecoder d;
    std::string out;
    d.feed(bad, out);
    EXPECT_TRUE(d.failed()) << bad;
  }
  Limits l;
  l.max_chunk_ext_bytes = 4;
  ChunkedDecoder d(l);
  std::string out;
  d.feed("1;aaaaaaaa\r\n", out);
  EXPECT_TRUE(d.failed());
}

TEST(Http, WholeRequestsReportWhatIsMissing) {
  WholeRequest w;
  ParseError e;
  EXPECT_EQ(parse_whole("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", w, e),
            WholeResult::kIncomplete);
  EXPECT_EQ(parse_whole(
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", w, e),
            WholeResult::kOk);
  EXPECT_EQ(w.body, "abc");
  EXPECT_EQ(parse_whole("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nabc", w, e), WholeResult::kOk);
  EXPECT_EQ(w.body, "ab");  // what follows is the next request's
}

}  // namespace
}  // namespace mamori::waf::http
