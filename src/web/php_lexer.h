#pragma once
// A PHP tokenizer for judging files found in web roots (shell.h): what PHP's own lexer would
// see, in the detail a judgement needs — code outside <?php … ?> is inline HTML, strings are
// one token (their value decoded for '…' and simple "…" strings), comments are dropped, names
// and variables keep their spelling. Written for hostile input: never reads past the end,
// bounded by a token budget, no recursion.
//
// Example:
//   for (const PhpToken& t : php_lex("<?php eval($_POST['x']);", 100000).tokens) ...
//   // kName "eval", kPunct "(", kVariable "$_POST", kPunct "[", kString "x", …

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mamori::web {

enum class PhpTok : uint8_t {
  kName,      // eval, base64_decode, Foo\Bar, echo, include
  kVariable,  // $x, $_GET ($ and the name); $$x is kPunct "$" then kVariable
  kString,    // '…', "…", heredoc/nowdoc, `…` (backticks: `shell` is true)
  kNumber,
  kPunct,  // ( ) [ ] { } ; , . = -> :: ? : @ & | … (one or a few characters)
  kCast,   // (string), (int) …
};

struct PhpToken {
  PhpTok kind;
  std::string_view text;  // the source bytes (for strings: with their quotes)
  // kString: the value as PHP reads it ('…' unescaped, "…" with \x, \u{…}, octal and the simple
  // escapes decoded; parts with interpolation keep their text). Empty for others.
  std::string value;
  bool interpolated = false;  // a "…" or heredoc string with a $variable or {$…} inside
  bool shell = false;         // a `…` string: PHP runs it in a shell
  uint32_t offset = 0;        // of `text` in the source
};

struct PhpLex {
  std::vector<PhpToken> tokens;
  size_t inline_html = 0;  // bytes outside PHP tags
  bool has_php = false;    // an opening tag was seen: <?php, <?=, or a bare <? (short tags),
                           // except <?xml followed by a space
  bool truncated = false;  // the token budget ran out before the end
  // Past the budget the rest is still read, without keeping its tokens: is it nothing but data
  // (numbers, plain strings, array(…) / [ … ], true/false/null, commas and =>) that cannot run
  // by itself? A font table or a word list is; padding followed by code is not.
  bool rest_inert = true;
};

// At most `max_tokens` tokens; the source is read from its first opening tag.
PhpLex php_lex(std::string_view src, size_t max_tokens);

}  // namespace mamori::web
