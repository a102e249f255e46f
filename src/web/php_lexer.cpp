// The PHP tokenizer (php_lexer.h).
#include "web/php_lexer.h"

#include <array>
#include <cctype>
#include <cstring>

namespace mamori::web {

namespace {

// Character classes as PHP's lexer has them (ASCII letters, digits, '_', any byte ≥ 0x80),
// looked up in a table: no locale, no call per byte.
constexpr uint8_t kStart = 1, kChar = 2, kDigit = 4, kHex = 8, kSpace = 16;
constexpr std::array<uint8_t, 256> kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || c == '_' || c >= 0x80) t[c] |= kStart | kChar;
    if (digit) t[c] |= kChar | kDigit | kHex;
    if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) t[c] |= kHex;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') t[c] |= kSpace;
  }
  return t;
}();
bool name_start(unsigned char c) { return (kClass[c] & kStart) != 0; }
bool name_char(unsigned char c) { return (kClass[c] & kChar) != 0; }
bool is_digit(unsigned char c) { return (kClass[c] & kDigit) != 0; }
bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool space(unsigned char c) { return (kClass[c] & kSpace) != 0; }

bool iprefix(std::string_view s, size_t at, std::string_view p) {
  if (s.size() - at < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i)
    if ((is_alpha(static_cast<unsigned char>(s[at + i])) ? (s[at + i] | 0x20) : s[at + i]) != p[i])
      return false;
  return true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void put_utf8(std::string& o, uint32_t cp) {
  if (cp < 0x80) {
    o += static_cast<char>(cp);
  } else if (cp < 0x800) {
    o += static_cast<char>(0xc0 | (cp >> 6));
    o += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    o += static_cast<char>(0xe0 | (cp >> 12));
    o += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    o += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    o += static_cast<char>(0xf0 | ((cp >> 18) & 0x07));
    o += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    o += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    o += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// The value of a "…" string body (or a heredoc's) as PHP reads its escapes; `interp` is set when
// a $name or {$ would be interpolated.
std::string double_quoted(std::string_view b, bool& interp) {
  std::string o;
  o.reserve(b.size());
  for (size_t i = 0; i < b.size(); ++i) {
    // a run of bytes that are neither escapes nor interpolation, copied whole
    size_t plain = i;
    while (plain < b.size() && b[plain] != '\\' && b[plain] != '$' && b[plain] != '{') ++plain;
    if (plain > i) {
      o.append(b.data() + i, plain - i);
      i = plain;
      if (i >= b.size()) break;
    }
    char c = b[i];
    if (c == '$' && i + 1 < b.size() &&
        (name_start(static_cast<unsigned char>(b[i + 1])) || b[i + 1] == '{'))
      interp = true;
    if (c == '{' && i + 1 < b.size() && b[i + 1] == '$') interp = true;
    if (c != '\\' || i + 1 >= b.size()) {
      o += c;
      continue;
    }
    char n = b[i + 1];
    switch (n) {
      case 'n':
        o += '\n';
        ++i;
        continue;
      case 't':
        o += '\t';
        ++i;
        continue;
      case 'r':
        o += '\r';
        ++i;
        continue;
      case 'v':
        o += '\v';
        ++i;
        continue;
      case 'e':
        o += '\x1b';
        ++i;
        continue;
      case 'f':
        o += '\f';
        ++i;
        continue;
      case '\\':
        o += '\\';
        ++i;
        continue;
      case '$':
        o += '$';
        ++i;
        continue;
      case '"':
        o += '"';
        ++i;
        continue;
      default:
        break;
    }
    if (n >= '0' && n <= '7') {
      int v = 0, k = 0;
      while (k < 3 && i + 1 + k < b.size() && b[i + 1 + k] >= '0' && b[i + 1 + k] <= '7')
        v = v * 8 + (b[i + 1 + k++] - '0');
      o += static_cast<char>(v & 0xff);
      i += static_cast<size_t>(k);
      continue;
    }
    if (n == 'x' && i + 2 < b.size() && hexval(b[i + 2]) >= 0) {
      int v = hexval(b[i + 2]);
      size_t k = 3;
      if (i + 3 < b.size() && hexval(b[i + 3]) >= 0) {
        v = v * 16 + hexval(b[i + 3]);
        k = 4;
      }
      o += static_cast<char>(v);
      i += k - 1;
      continue;
    }
    if (n == 'u' && i + 2 < b.size() && b[i + 2] == '{') {
      size_t e = b.substr(i + 3, 8).find('}');  // at most six hex digits: look no further
      if (e != std::string_view::npos) e += i + 3;
      if (e != std::string_view::npos && e - (i + 3) <= 6 && e > i + 3) {
        uint32_t cp = 0;
        bool ok = true;
        for (size_t k = i + 3; k < e; ++k) {
          int h = hexval(b[k]);
          if (h < 0) ok = false;
          cp = cp * 16 + static_cast<uint32_t>(h < 0 ? 0 : h);
        }
        if (ok && cp <= 0x10ffff) {
          put_utf8(o, cp);
          i = e;
          continue;
        }
      }
    }
    o += c;  // an unknown escape stays as written
  }
  return o;
}

std::string single_quoted(std::string_view b) {
  size_t first = b.find('\\');
  if (first == std::string_view::npos) return std::string(b);  // most strings: as written
  std::string o(b.substr(0, first));
  o.reserve(b.size());
  for (size_t i = first; i < b.size(); ++i) {
    if (b[i] == '\\' && i + 1 < b.size() && (b[i + 1] == '\\' || b[i + 1] == '\'')) {
      o += b[++i];
    } else {
      o += b[i];
    }
  }
  return o;
}

constexpr std::array<std::string_view, 10> kCasts = {
    "int", "integer", "bool", "boolean", "float", "double", "real", "string", "array", "object"};

// Operators of two or three characters kept whole.
constexpr std::array<std::string_view, 30> kOps = {
    "===", "!==", "<=>", "**=", "...", "?\?=", "?->", "<<=", ">>=", "->",
    "=>",  "::",  "==",  "!=",  "<>",  "<=",   ">=",  "&&",  "||",  "??",
    "++",  "--",  ".=",  "+=",  "-=",  "*=",   "/=",  "%=",  "<<",  ">>"};

class Lexer {
 public:
  Lexer(std::string_view s, size_t max) : s_(s), max_(max) {
    out_.tokens.reserve(std::min(max, s.size() / 6 + 16));  // about one token per 6 bytes
  }

  PhpLex run() {
    while (i_ < s_.size()) {
      if (!html()) break;
      if (!php()) break;
    }
    if (out_.truncated) judge_spare();
    return std::move(out_);
  }

 private:
  // Inline HTML up to the next opening tag; false when there is none.
  bool html() {
    size_t start = i_;
    for (;;) {
      size_t lt = s_.find("<?", i_);
      if (lt == std::string_view::npos) {
        out_.inline_html += s_.size() - start;
        i_ = s_.size();
        return false;
      }
      if (iprefix(s_, lt + 2, "php") &&
          (lt + 5 == s_.size() || space(static_cast<unsigned char>(s_[lt + 5])))) {
        out_.inline_html += lt - start;
        i_ = lt + 5;
        out_.has_php = true;
        return true;
      }
      if (lt + 2 < s_.size() && s_[lt + 2] == '=') {
        out_.inline_html += lt - start;
        i_ = lt + 3;
        out_.has_php = true;
        add(PhpTok::kName, lt, 3).text = "echo";  // <?= is an echo
        return true;
      }
      // <? alone opens PHP with short_open_tag (on in many old setups): judged as PHP, except
      // an XML declaration.
      // (<?xml followed by a space is a declaration; <?xmlx(); is PHP under short tags)
      if (!(iprefix(s_, lt + 2, "xml") && lt + 5 < s_.size() &&
            space(static_cast<unsigned char>(s_[lt + 5])))) {
        out_.inline_html += lt - start;
        i_ = lt + 2;
        out_.has_php = true;
        return true;
      }
      i_ = lt + 2;
    }
  }

  PhpToken& add(PhpTok k, size_t at, size_t len) {
    if (k == PhpTok::kPunct && len == 1 && s_[at] == '{') ++depth_;
    if (k == PhpTok::kPunct && len == 1 && s_[at] == '}') --depth_;
    if (out_.tokens.size() < max_) [[likely]]
      return out_.tokens.emplace_back(
          PhpToken{k, s_.substr(at, len), {}, false, false, static_cast<uint32_t>(at)});
    return past_budget(k, at, len);
  }

  // Past the budget tokens are not kept: each is judged for inertness (rest_inert) in turn.
  [[gnu::noinline]] PhpToken& past_budget(PhpTok k, size_t at, size_t len) {
    out_.truncated = true;
    judge_spare();  // the previous one, now that its value is set
    spare_ = PhpToken{k, s_.substr(at, len), {}, false, false, static_cast<uint32_t>(at)};
    have_spare_ = true;
    return spare_;
  }

  // Could the token past the budget (spare_) run anything? Only data is inert, and outside every
  // block the assignment of data to a variable ($cw = array(…), as font files hold); '(' right
  // after a string, a variable, ')' or ']' is a call (('sys'.'tem')('id'), $f('id')).
  void judge_spare() {
    if (!have_spare_) return;
    have_spare_ = false;
    const PhpToken& t = spare_;
    bool inert = false;
    switch (t.kind) {
      case PhpTok::kNumber:
        inert = true;
        break;
      case PhpTok::kString:
        inert = !t.interpolated && !t.shell;
        break;
      case PhpTok::kName: {
        std::string_view w = t.text;
        for (std::string_view ok : {"array", "true", "false", "null"})
          if (w.size() == ok.size() && iprefix(w, 0, ok)) inert = true;
        break;
      }
      case PhpTok::kPunct: {
        std::string_view p = t.text;
        inert = p == "," || p == "=>" || p == "[" || p == "]" || p == ")" || p == ";" || p == "-" ||
                p == "+" || p == "." || (p == "(" && !prev_callable_);
        break;
      }
      case PhpTok::kVariable:  // (never the request's arrays: $c = $_GET['c'] runs nothing yet
                               // but hands code judged above what it runs)
        inert = depth_ == 0 && !t.text.starts_with("$_") && t.text != "$GLOBALS";
        break;
      default:
        break;
    }
    if (t.kind == PhpTok::kPunct && t.text == "=" && depth_ == 0) inert = true;
    prev_callable_ = t.kind == PhpTok::kString || t.kind == PhpTok::kVariable ||
                     (t.kind == PhpTok::kPunct && (t.text == ")" || t.text == "]"));
    if (!inert) out_.rest_inert = false;
  }

  // PHP code up to ?> (then true) or the end (false).
  bool php() {
    while (i_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[i_]);
      if (space(c)) {
        ++i_;
      } else if (c == '?' && i_ + 1 < s_.size() && s_[i_ + 1] == '>') {
        i_ += 2;
        add(PhpTok::kPunct, i_ - 2, 2).text = ";";  // ?> ends a statement
        return true;
      } else if (c == '#' && !(i_ + 1 < s_.size() && s_[i_ + 1] == '[')) {
        line_comment();
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
        line_comment();
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        size_t e = s_.find("*/", i_ + 2);
        i_ = e == std::string_view::npos ? s_.size() : e + 2;
      } else if (c == '$' && i_ + 1 < s_.size() &&
                 name_start(static_cast<unsigned char>(s_[i_ + 1]))) {
        size_t st = i_++;
        while (i_ < s_.size() && name_char(static_cast<unsigned char>(s_[i_]))) ++i_;
        add(PhpTok::kVariable, st, i_ - st);
      } else if (name_start(c) || (c == '\\' && i_ + 1 < s_.size() &&
                                   name_start(static_cast<unsigned char>(s_[i_ + 1])))) {
        size_t st = i_++;
        while (i_ < s_.size() && (name_char(static_cast<unsigned char>(s_[i_])) ||
                                  (s_[i_] == '\\' && i_ + 1 < s_.size() &&
                                   name_start(static_cast<unsigned char>(s_[i_ + 1])))))
          ++i_;
        add(PhpTok::kName, st, i_ - st);
      } else if (is_digit(c) || (c == '.' && i_ + 1 < s_.size() &&
                                 is_digit(static_cast<unsigned char>(s_[i_ + 1])))) {
        const size_t st = i_;
        const size_t len = number();  // (moves i_: not an argument beside i_)
        add(PhpTok::kNumber, st, len);
      } else if (c == '\'') {
        size_t st = i_++;
        while (i_ < s_.size() && s_[i_] != '\'')
          i_ += (s_[i_] == '\\' && i_ + 1 < s_.size()) ? 2 : 1;
        size_t end = std::min(i_, s_.size());
        i_ = std::min(i_ + 1, s_.size());
        add(PhpTok::kString, st, i_ - st).value = single_quoted(s_.substr(st + 1, end - st - 1));
      } else if (c == '"' || c == '`') {
        size_t st = i_++;
        while (i_ < s_.size() && s_[i_] != static_cast<char>(c))
          i_ += (s_[i_] == '\\' && i_ + 1 < s_.size()) ? 2 : 1;
        size_t end = std::min(i_, s_.size());
        i_ = std::min(i_ + 1, s_.size());
        bool interp = false;
        std::string v = double_quoted(s_.substr(st + 1, end - st - 1), interp);
        PhpToken& t = add(PhpTok::kString, st, i_ - st);
        t.value = std::move(v);
        t.interpolated = interp;
        t.shell = c == '`';
      } else if (c == '<' && s_.substr(i_, 3) == "<<<") {
        heredoc();
      } else if (c == '(' && cast()) {
        // added by cast()
      } else {
        punct();
      }
    }
    return false;
  }

  // The length of the number at i_, as PHP's grammar reads it, and i_ moved past it: 0x1F,
  // 0b101, 0o17, 1_000, 1.5, .5, 1., 1e-3 — so that "1..system(…)" is 1. then . then a call.
  size_t number() {
    const size_t st = i_;
    auto digit = [&](size_t k, int base) {
      if (k >= s_.size()) return false;
      unsigned char d = static_cast<unsigned char>(s_[k]);
      if (base == 16) return (kClass[d] & kHex) != 0;
      if (base == 2) return d == '0' || d == '1';
      if (base == 8) return d >= '0' && d <= '7';
      return is_digit(d);
    };
    auto run = [&](int base) {  // digits with single '_' between them
      while (digit(i_, base) || (i_ < s_.size() && s_[i_] == '_' && i_ > st && digit(i_ + 1, base)))
        ++i_;
    };
    if (s_[i_] == '0' && i_ + 2 < s_.size() &&
        (s_[i_ + 1] == 'x' || s_[i_ + 1] == 'X' || s_[i_ + 1] == 'b' || s_[i_ + 1] == 'B' ||
         s_[i_ + 1] == 'o' || s_[i_ + 1] == 'O')) {
      char p = static_cast<char>(s_[i_ + 1] | 0x20);
      int base = p == 'x' ? 16 : p == 'b' ? 2 : 8;
      if (digit(i_ + 2, base)) {
        i_ += 2;
        run(base);
        return i_ - st;
      }
    }
    run(10);
    if (i_ < s_.size() && s_[i_] == '.') {  // one fraction point, then digits (or none: "1.")
      ++i_;
      run(10);
    }
    if (i_ + 1 < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      size_t k = i_ + 1;
      if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
      if (digit(k, 10)) {
        i_ = k;
        run(10);
      }
    }
    if (i_ == st) ++i_;  // never stuck
    return i_ - st;
  }

  void line_comment() {
    while (i_ < s_.size() && s_[i_] != '\n') {
      if (s_[i_] == '?' && i_ + 1 < s_.size() && s_[i_ + 1] == '>') return;  // ?> ends it
      ++i_;
    }
  }

  bool cast() {
    size_t j = i_ + 1;
    while (j < s_.size() && (s_[j] == ' ' || s_[j] == '\t')) ++j;
    size_t ns = j;
    while (j < s_.size() && is_alpha(static_cast<unsigned char>(s_[j]))) ++j;
    std::string_view word = s_.substr(ns, j - ns);
    while (j < s_.size() && (s_[j] == ' ' || s_[j] == '\t')) ++j;
    if (j >= s_.size() || s_[j] != ')' || word.empty()) return false;
    bool known = false;
    for (auto k : kCasts)
      if (word.size() == k.size() && iprefix(s_, ns, k)) known = true;
    if (!known) return false;
    add(PhpTok::kCast, i_, j + 1 - i_);
    i_ = j + 1;
    return true;
  }

  void heredoc() {
    size_t st = i_;
    size_t j = i_ + 3;
    while (j < s_.size() && (s_[j] == ' ' || s_[j] == '\t')) ++j;
    char q = 0;
    if (j < s_.size() && (s_[j] == '\'' || s_[j] == '"')) q = s_[j++];
    size_t ns = j;
    while (j < s_.size() && name_char(static_cast<unsigned char>(s_[j]))) ++j;
    std::string_view id = s_.substr(ns, j - ns);
    if (q && j < s_.size() && s_[j] == q) ++j;
    if (id.empty() || j >= s_.size() || (s_[j] != '\n' && s_[j] != '\r')) {
      punct();  // not a heredoc: << and <
      return;
    }
    size_t body = s_.find('\n', j);
    body = body == std::string_view::npos ? s_.size() : body + 1;
    // The closing identifier: at the start of a line after optional indentation, not followed
    // by a name character (PHP 7.3's flexible heredoc).
    size_t k = body, close = std::string_view::npos, after = s_.size();
    while (k < s_.size()) {
      size_t line = k;
      while (k < s_.size() && (s_[k] == ' ' || s_[k] == '\t')) ++k;
      if (s_.compare(k, id.size(), id) == 0 &&
          (k + id.size() >= s_.size() ||
           !name_char(static_cast<unsigned char>(s_[k + id.size()])))) {
        close = line;
        after = k + id.size();
        break;
      }
      size_t nl = s_.find('\n', k);
      if (nl == std::string_view::npos) break;
      k = nl + 1;
    }
    size_t end = close == std::string_view::npos ? s_.size() : close;
    i_ = close == std::string_view::npos ? s_.size() : after;
    std::string_view b = s_.substr(body, end > body ? end - body : 0);
    if (!b.empty() && b.back() == '\n') b.remove_suffix(1);
    bool interp = false;
    std::string v = q == '\'' ? std::string(b) : double_quoted(b, interp);
    PhpToken& t = add(PhpTok::kString, st, i_ - st);
    t.value = std::move(v);
    t.interpolated = interp;
  }

  void punct() {
    // Operators of two or three characters, looked up by their first two.
    static constexpr std::array<uint8_t, 65536> kPair = [] {
      std::array<uint8_t, 65536> t{};
      for (auto op : kOps) {
        const size_t pair =
            static_cast<unsigned char>(op[0]) << 8 | static_cast<unsigned char>(op[1]);
        t[pair] |= op.size() == 2 ? 1 : 2;  // 1: an operator; 2: starts one of three
      }
      return t;
    }();
    if (i_ + 1 < s_.size()) {
      const uint8_t pair =
          kPair[static_cast<unsigned char>(s_[i_]) << 8 | static_cast<unsigned char>(s_[i_ + 1])];
      if ((pair & 2) && i_ + 2 < s_.size())
        for (auto op : kOps)
          if (op.size() == 3 && s_.compare(i_, 3, op) == 0) {
            add(PhpTok::kPunct, i_, 3);
            i_ += 3;
            return;
          }
      if (pair & 1) {
        add(PhpTok::kPunct, i_, 2);
        i_ += 2;
        return;
      }
    }
    add(PhpTok::kPunct, i_, 1);
    ++i_;
  }

  std::string_view s_;
  size_t max_;
  size_t i_ = 0;
  PhpLex out_;
  PhpToken spare_{};  // the token past the budget being read
  bool have_spare_ = false, prev_callable_ = false;
  long depth_ = 0;  // of { } blocks
};

}  // namespace

PhpLex php_lex(std::string_view src, size_t max_tokens) { return Lexer(src, max_tokens).run(); }

}  // namespace mamori::web
