// SecLang transformations (see transform.h). Written from ModSecurity's documented behaviour
// and checked against libmodsecurity (the oracle test); the edge cases are commented where
// ModSecurity's choice is not the obvious one.
#include "waf/transform.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdint>

namespace mamori::waf {
namespace {

int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
bool ishex(unsigned char c) { return hexval(c) >= 0; }
unsigned char hex2(const char* p) {
  return static_cast<unsigned char>(hexval(static_cast<unsigned char>(p[0])) * 16 +
                                    hexval(static_cast<unsigned char>(p[1])));
}
bool is_f(char c) { return c == 'f' || c == 'F'; }
// %uHHHH and \uHHHH keep the low byte; U+FF01…U+FF5E (full-width ASCII) become ASCII.
unsigned char low_byte_of_u(const char* four_hex) {
  unsigned char b = hex2(four_hex + 2);
  if (b > 0 && b < 0x5f && is_f(four_hex[0]) && is_f(four_hex[1])) b += 0x20;
  return b;
}
// C's isspace in the "C" locale, plus no-break space where ModSecurity counts it.
bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::string digest(const EVP_MD* md, std::string_view in) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(in.data(), in.size(), out, &n, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string hex_encode(std::string_view in) {
  static const char* k = "0123456789abcdef";
  std::string o;
  o.reserve(in.size() * 2);
  for (unsigned char c : in) {
    o += k[c >> 4];
    o += k[c & 15];
  }
  return o;
}

std::string hex_decode(std::string_view in) {
  std::string o;
  for (size_t i = 0; i + 1 < in.size(); i += 2) o += static_cast<char>(hex2(in.data() + i));
  return o;
}

// SQL hex literals 0xHHHH… become their bytes; the rest stays.
std::string sql_hex_decode(std::string_view in) {
  std::string o;
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] == '0' && i + 3 < in.size() && (in[i + 1] == 'x' || in[i + 1] == 'X') &&
        ishex(in[i + 2]) && ishex(in[i + 3])) {
      i += 2;
      while (i + 1 < in.size() && ishex(in[i]) && ishex(in[i + 1])) {
        o += static_cast<char>(hex2(in.data() + i));
        i += 2;
      }
    } else {
      o += in[i++];
    }
  }
  return o;
}

std::string remove_comments(std::string_view in) {
  std::string o;
  bool inside = false;
  size_t i = 0;
  while (i < in.size()) {
    if (!inside) {
      if (in.substr(i, 2) == "/*") {
        inside = true;
        i += 2;
      } else if (in.substr(i, 4) == "<!--") {
        inside = true;
        i += 4;
      } else if (in.substr(i, 2) == "--" || in[i] == '#') {
        break;  // the rest of the line is a comment
      } else {
        o += in[i++];
      }
    } else if (in.substr(i, 2) == "*/") {
      inside = false;
      i += 2;
    } else if (in.substr(i, 3) == "-->") {
      inside = false;
      i += 3;
    } else {
      ++i;
    }
  }
  if (inside) o += ' ';
  return o;
}

std::string remove_comments_char(std::string_view in) {
  std::string o;
  size_t i = 0;
  while (i < in.size()) {
    if (in.substr(i, 2) == "/*" || in.substr(i, 2) == "*/") {
      i += 2;
    } else if (in.substr(i, 4) == "<!--") {
      i += 4;
    } else if (in.substr(i, 3) == "-->") {
      i += 3;
    } else if (in.substr(i, 2) == "--") {
      i += 2;
    } else if (in[i] == '#') {
      ++i;
    } else {
      o += in[i++];
    }
  }
  return o;
}

// /* … */ becomes one space; an unterminated comment too.
std::string replace_comments(std::string_view in) {
  std::string o;
  size_t i = 0;
  while (i < in.size()) {
    if (in.substr(i, 2) == "/*") {
      size_t e = in.find("*/", i + 2);
      o += ' ';
      if (e == std::string_view::npos) break;
      i = e + 2;
    } else {
      o += in[i++];
    }
  }
  return o;
}

std::string escape_seq_decode(std::string_view in) {
  std::string o;
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '\\' || i + 1 >= in.size()) {
      o += in[i++];
      continue;
    }
    char c = in[i + 1];
    const char* simple = "abfnrtv\\?'\"";
    const char* to = "\a\b\f\n\r\t\v\\?'\"";
    if (const char* p = std::char_traits<char>::find(simple, 11, c)) {
      o += to[p - simple];
      i += 2;
    } else if ((c == 'x' || c == 'X') && i + 3 < in.size() && ishex(in[i + 2]) &&
               ishex(in[i + 3])) {
      o += static_cast<char>(hex2(in.data() + i + 2));
      i += 4;
    } else if (c >= '0' && c <= '7') {
      int v = 0, n = 0;
      while (n < 3 && i + 1 + n < in.size() && in[i + 1 + n] >= '0' && in[i + 1 + n] <= '7')
        v = v * 8 + (in[i + 1 + n++] - '0');
      o += static_cast<char>(v & 0xff);
      i += 1 + n;
    } else {
      o += in[i++];  // an unknown escape stays as written
    }
  }
  return o;
}

std::string url_encode(std::string_view in) {
  static const char* k = "0123456789abcdef";
  std::string o;
  for (unsigned char c : in) {
    if (c == ' ') {
      o += '+';
    } else if (std::isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
      o += static_cast<char>(c);
    } else {
      o += '%';
      o += k[c >> 4];
      o += k[c & 15];
    }
  }
  return o;
}

std::string parity(std::string_view in, int mode) {  // 0 zero, 1 even, 2 odd
  std::string o(in);
  for (auto& ch : o) {
    auto c = static_cast<unsigned char>(ch & 0x7f);
    if (mode != 0) {
      int bits = __builtin_popcount(c);
      bool set = mode == 1 ? (bits & 1) : !(bits & 1);
      if (set) c |= 0x80;
    }
    ch = static_cast<char>(c);
  }
  return o;
}

}  // namespace

std::string url_decode(std::string_view in, bool unicode) {
  std::string o;
  o.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (c == '+') {
      o += ' ';
      ++i;
    } else if (c != '%') {
      o += c;
      ++i;
    } else if (unicode && i + 1 < in.size() && (in[i + 1] == 'u' || in[i + 1] == 'U')) {
      if (i + 5 < in.size() && ishex(in[i + 2]) && ishex(in[i + 3]) && ishex(in[i + 4]) &&
          ishex(in[i + 5])) {
        o += static_cast<char>(low_byte_of_u(in.data() + i + 2));
        i += 6;
      } else {  // not an escape: "%u" stays
        o.append(in.substr(i, 2));
        i += 2;
      }
    } else if (i + 2 < in.size() && ishex(in[i + 1]) && ishex(in[i + 2])) {
      o += static_cast<char>(hex2(in.data() + i + 1));
      i += 3;
    } else {
      o += '%';
      ++i;
    }
  }
  return o;
}

std::string html_entity_decode(std::string_view in) {
  std::string o;
  o.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '&' || i + 1 >= in.size()) {
      o += in[i++];
      continue;
    }
    if (in[i + 1] == '#') {
      bool hex = i + 2 < in.size() && (in[i + 2] == 'x' || in[i + 2] == 'X');
      size_t k = i + (hex ? 3 : 2), j = k;
      uint64_t v = 0;
      while (j < in.size() &&
             (hex ? ishex(in[j]) : std::isdigit(static_cast<unsigned char>(in[j])))) {
        // strtol saturates: a number too large for it becomes 0xff once cut to a byte
        int d = hex ? hexval(in[j]) : in[j] - '0';
        v = v > (UINT64_MAX >> 5) ? UINT64_MAX : v * (hex ? 16 : 10) + static_cast<uint64_t>(d);
        ++j;
      }
      if (j == k) {  // "&#" or "&#x" without digits: as written
        o += in[i++];
        continue;
      }
      o += static_cast<char>(v > 0x7fffffffffffffffULL ? 0xff : (v & 0xff));
      i = j < in.size() && in[j] == ';' ? j + 1 : j;
      continue;
    }
    size_t j = i + 1;
    while (j < in.size() && std::isalnum(static_cast<unsigned char>(in[j]))) ++j;
    std::string_view name = in.substr(i + 1, j - i - 1);
    auto is = [&](std::string_view n) {
      if (name.size() != n.size()) return false;
      for (size_t q = 0; q < n.size(); ++q)
        if (std::tolower(static_cast<unsigned char>(name[q])) != n[q]) return false;
      return true;
    };
    int ch = is("quot")   ? '"'
             : is("amp")  ? '&'
             : is("lt")   ? '<'
             : is("gt")   ? '>'
             : is("nbsp") ? 0xa0
                          : -1;
    if (ch < 0) {  // unknown entity: '&' and the name as written
      o.append(in.substr(i, j - i));
      i = j;
      continue;
    }
    o += static_cast<char>(ch);
    i = j < in.size() && in[j] == ';' ? j + 1 : j;
  }
  return o;
}

std::string js_decode(std::string_view in) {
  std::string o;
  o.reserve(in.size());
  size_t i = 0;
  auto oct = [](char c) { return c >= '0' && c <= '7'; };
  while (i < in.size()) {
    if (in[i] != '\\') {
      o += in[i++];
      continue;
    }
    if (i + 5 < in.size() && in[i + 1] == 'u' && ishex(in[i + 2]) && ishex(in[i + 3]) &&
        ishex(in[i + 4]) && ishex(in[i + 5])) {
      o += static_cast<char>(low_byte_of_u(in.data() + i + 2));
      i += 6;
    } else if (i + 3 < in.size() && in[i + 1] == 'x' && ishex(in[i + 2]) && ishex(in[i + 3])) {
      o += static_cast<char>(hex2(in.data() + i + 2));
      i += 4;
    } else if (i + 1 < in.size() && oct(in[i + 1])) {
      // \O, \OO or \OOO, one byte: a third digit only when the first is 0–3
      size_t n = 1;
      while (n < 3 && i + 1 + n < in.size() && oct(in[i + 1 + n])) ++n;
      if (n == 3 && in[i + 1] > '3') n = 2;
      int v = 0;
      for (size_t q = 0; q < n; ++q) v = v * 8 + (in[i + 1 + q] - '0');
      o += static_cast<char>(v);
      i += 1 + n;
    } else if (i + 1 < in.size()) {
      char c = in[i + 1];
      switch (c) {
        case 'a':
          c = '\a';
          break;
        case 'b':
          c = '\b';
          break;
        case 'f':
          c = '\f';
          break;
        case 'n':
          c = '\n';
          break;
        case 'r':
          c = '\r';
          break;
        case 't':
          c = '\t';
          break;
        case 'v':
          c = '\v';
          break;
        default:
          break;
      }
      o += c;
      i += 2;
    } else {
      o += in[i++];  // a trailing backslash stays
    }
  }
  return o;
}

std::string css_decode(std::string_view in) {
  std::string o;
  o.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '\\') {
      o += in[i++];
      continue;
    }
    if (i + 1 >= in.size()) break;  // a backslash at the end: dropped
    ++i;
    size_t n = 0;
    while (n < 6 && i + n < in.size() && ishex(in[i + n])) ++n;
    if (n == 0) {
      if (in[i] == '\n') {
        ++i;  // an escaped newline is a line continuation: nothing
      } else {
        o += in[i++];  // any other escaped character is itself
      }
      continue;
    }
    // Up to six hex digits; the last two give the byte. Four digits (and five or six when the
    // leading ones are zeros) are checked for full-width ASCII (FFxx).
    const char* d = in.data() + i;
    unsigned char b = n == 1 ? static_cast<unsigned char>(hexval(d[0])) : hex2(d + n - 2);
    bool full = n == 4 || (n == 5 && d[0] == '0') || (n == 6 && d[0] == '0' && d[1] == '0');
    if (full && b > 0 && b < 0x5f && is_f(d[n - 4]) && is_f(d[n - 3])) b += 0x20;
    o += static_cast<char>(b);
    i += n;
    if (i < in.size() && is_space(in[i])) ++i;  // one white space ends the escape
  }
  return o;
}

std::string utf8_to_unicode(std::string_view in) {
  static const char* k = "0123456789abcdef";
  std::string o;
  o.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    bool ok = len > 1 && i + len <= in.size();
    for (size_t q = 1; ok && q < len; ++q)
      ok = (static_cast<unsigned char>(in[i + q]) & 0xc0) == 0x80;
    if (!ok) {  // ASCII, or not a complete sequence: the byte as it is (a NUL is dropped, as
                // ModSecurity's C-string result drops it)
      if (c != 0) o += in[i];
      ++i;
      continue;
    }
    uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t q = 1; q < len; ++q) cp = cp << 6 | (static_cast<unsigned char>(in[i + q]) & 0x3f);
    std::string hex;
    for (uint32_t v = cp; v; v >>= 4) hex.insert(hex.begin(), k[v & 15]);
    while (hex.size() < 4) hex.insert(hex.begin(), '0');
    o += "%u";
    o += hex;
    i += len;
  }
  return o;
}

std::string normalise_path(std::string_view in, bool windows) {
  std::string s(in);
  if (windows)
    for (auto& c : s)
      if (c == '\\') c = '/';
  if (s.size() <= 1) return s;
  const bool absolute = s.front() == '/';
  const bool trailing =
      s.back() == '/' || s.ends_with("/.") || s.ends_with("/..") || s == "." || s == "..";
  std::vector<std::string_view> segs;
  std::string_view v = s;
  size_t ups = 0;  // leading ".." of a relative path that cannot be resolved
  while (!v.empty()) {
    size_t sl = v.find('/');
    std::string_view seg = v.substr(0, sl);
    v = sl == std::string_view::npos ? std::string_view() : v.substr(sl + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segs.empty() && segs.back() != "..")
        segs.pop_back();
      else if (!absolute)
        segs.push_back(seg), ++ups;
      continue;
    }
    segs.push_back(seg);
  }
  std::string o = absolute ? "/" : "";
  for (size_t q = 0; q < segs.size(); ++q) {
    if (q) o += '/';
    o.append(segs[q]);
  }
  if (trailing && !segs.empty()) o += '/';
  return o;
}

std::string base64_decode(std::string_view in, bool ext) {
  // Decodes until the first character outside the alphabet (ext: skips such characters, and
  // accepts the URL-safe alphabet). '=' ends the data.
  std::string o;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '+'             ? 62
            : c == '/'             ? 63
            : ext && c == '-'      ? 62
            : ext && c == '_'      ? 63
                                   : -1;
    if (c == '=') break;
    if (v < 0) {
      if (ext) continue;
      break;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      o += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return o;
}

std::string cmd_line(std::string_view in) {
  // Shell evasions folded: quotes, backslashes and carets removed; separators to one space; no
  // space before '/' or '('; lower case.
  std::string o;
  bool space = false;
  for (char c : in) {
    switch (c) {
      case '"':
      case '\'':
      case '\\':
      case '^':
        break;
      case ' ':
      case ',':
      case ';':
      case '\t':
      case '\r':
      case '\n':
        if (!space) o += ' ';
        space = true;
        break;
      case '/':
      case '(':
        if (space) o.pop_back();
        space = false;
        o += c;
        break;
      default:
        o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        space = false;
    }
  }
  return o;
}

bool unchanged(Transform t, std::string_view in) {
  auto none_of = [&](auto pred) {
    for (unsigned char c : in)
      if (pred(c)) return false;
    return true;
  };
  switch (t) {
    case Transform::kLowercase:
      return none_of([](unsigned char c) { return c >= 'A' && c <= 'Z'; });
    case Transform::kUppercase:
      return none_of([](unsigned char c) { return c >= 'a' && c <= 'z'; });
    case Transform::kUrlDecode:
    case Transform::kUrlDecodeUni:
      return none_of([](unsigned char c) { return c == '%' || c == '+'; });
    case Transform::kHtmlEntityDecode:
      return in.find('&') == std::string_view::npos;
    case Transform::kJsDecode:
      return in.find('\\') == std::string_view::npos;
    case Transform::kCssDecode:
      return none_of([](unsigned char c) { return c == '\\' || c == 0; });
    case Transform::kRemoveNulls:
    case Transform::kReplaceNulls:
      return in.find('\0') == std::string_view::npos;
    case Transform::kRemoveWhitespace:
      return none_of([](unsigned char c) { return is_space(c) || c == 0xa0; });
    case Transform::kCompressWhitespace:
      // Only single spaces between other characters stay as they are.
      for (size_t i = 0; i < in.size(); ++i) {
        auto c = static_cast<unsigned char>(in[i]);
        if (c == 0xa0 || (is_space(c) && c != ' ')) return false;
        if (c == ' ' && i + 1 < in.size() &&
            (is_space(static_cast<unsigned char>(in[i + 1])) ||
             static_cast<unsigned char>(in[i + 1]) == 0xa0))
          return false;
      }
      return true;
    case Transform::kUtf8ToUnicode:
      return none_of([](unsigned char c) { return c >= 0x80 || c == 0; });
    default:
      return false;
  }
}

std::string apply(Transform t, std::string_view in) {
  switch (t) {
    case Transform::kLowercase: {  // ASCII only, as in the "C" locale ModSecurity runs in
      std::string o(in);
      for (auto& c : o)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      return o;
    }
    case Transform::kUppercase: {
      std::string o(in);
      for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return o;
    }
    case Transform::kUrlDecode:
      return url_decode(in, false);
    case Transform::kUrlDecodeUni:
      return url_decode(in, true);
    case Transform::kUrlEncode:
      return url_encode(in);
    case Transform::kHtmlEntityDecode:
      return html_entity_decode(in);
    case Transform::kJsDecode:
      return js_decode(in);
    case Transform::kCssDecode: {
      // ModSecurity's cssDecode hands its result on as a C string: it ends at the first NUL.
      std::string o = css_decode(in);
      if (size_t z = o.find('\0'); z != std::string::npos) o.resize(z);
      return o;
    }
    case Transform::kCmdLine:
      return cmd_line(in);
    case Transform::kCompressWhitespace: {
      std::string o;
      bool ws = false;
      for (unsigned char c : in) {
        if (is_space(c) || c == 0xa0) {
          if (!ws) o += ' ';
          ws = true;
        } else {
          o += static_cast<char>(c);
          ws = false;
        }
      }
      return o;
    }
    case Transform::kRemoveWhitespace: {
      std::string o;
      for (unsigned char c : in)
        if (!is_space(c) && c != 0xa0) o += static_cast<char>(c);
      return o;
    }
    case Transform::kRemoveNulls: {
      std::string o;
      for (char c : in)
        if (c) o += c;
      return o;
    }
    case Transform::kReplaceNulls: {
      std::string o(in);
      for (auto& c : o)
        if (!c) c = ' ';
      return o;
    }
    case Transform::kRemoveComments:
      return remove_comments(in);
    case Transform::kRemoveCommentsChar:
      return remove_comments_char(in);
    case Transform::kReplaceComments:
      return replace_comments(in);
    case Transform::kNormalisePath:
      return normalise_path(in, false);
    case Transform::kNormalisePathWin:
      return normalise_path(in, true);
    case Transform::kUtf8ToUnicode:
      return utf8_to_unicode(in);
    case Transform::kBase64Decode:
      return base64_decode(in, false);
    case Transform::kBase64DecodeExt:
      return base64_decode(in, true);
    case Transform::kBase64Encode: {
      std::string o(4 * ((in.size() + 2) / 3) + 1, '\0');
      int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(o.data()),
                              reinterpret_cast<const unsigned char*>(in.data()),
                              static_cast<int>(in.size()));
      o.resize(static_cast<size_t>(n));
      return o;
    }
    case Transform::kHexDecode:
      return hex_decode(in);
    case Transform::kHexEncode:
      return hex_encode(in);
    case Transform::kSqlHexDecode:
      return sql_hex_decode(in);
    case Transform::kEscapeSeqDecode:
      return escape_seq_decode(in);
    case Transform::kLength:
      return std::to_string(in.size());
    case Transform::kSha1:
      return digest(EVP_sha1(), in);
    case Transform::kMd5:
      return digest(EVP_md5(), in);
    case Transform::kTrim:
    case Transform::kTrimLeft:
    case Transform::kTrimRight: {
      size_t b = 0, e = in.size();
      if (t != Transform::kTrimRight)
        while (b < e && is_space(static_cast<unsigned char>(in[b]))) ++b;
      if (t != Transform::kTrimLeft)
        while (e > b && is_space(static_cast<unsigned char>(in[e - 1]))) --e;
      return std::string(in.substr(b, e - b));
    }
    case Transform::kParityEven7bit:
      return parity(in, 1);
    case Transform::kParityOdd7bit:
      return parity(in, 2);
    case Transform::kParityZero7bit:
      return parity(in, 0);
  }
  return std::string(in);
}

}  // namespace mamori::waf
