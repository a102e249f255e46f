// The PHP tokenizer and the web-shell judgement (src/web/php_lexer.h, shell.h) on arbitrary
// bytes, as `mamori web scan` reads files in web roots that anyone may have written.
// Properties: both terminate with bounded work, the judgement's signals stay bounded (at most
// 64, each snippet at most 120 bytes), its score is their sum (held at 9 for a picture with no
// signal of 10), and the token budget holds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "web/php_lexer.h"
#include "web/shell.h"

using namespace mamori::web;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  PhpLex lx = php_lex(in, 5000);
  if (lx.tokens.size() > 5000) std::abort();
  for (const auto& t : lx.tokens)
    if (t.offset > size || t.text.size() > size + 4) std::abort();
  // (readme.txt: a name not PHP's, whose prose segments are skipped)
  for (std::string_view name : {"x.php", "logo.gif", "readme.txt"}) {
    ShellVerdict v = judge_php(in, name);
    if (v.signals.size() > 64) std::abort();
    int sum = 0, strongest = 0;
    for (const auto& s : v.signals) {
      if (s.code.size() > 120 * 4) std::abort();  // 120 bytes, each at most \xHH when escaped
      sum += s.weight;
      strongest = std::max(strongest, s.weight);
    }
    // the score is the sum, but for a picture with no strong signal: held under 10
    const bool held = name == "logo.gif" && strongest < 10 && sum >= 10 && v.score == 9;
    if (sum != v.score && !held) std::abort();
  }
  return 0;
}
