#pragma once
// detectSQLi and detectXSS: Mamori's own tokenizers for SQL and for HTML/JavaScript, in the
// manner libinjection describes (tokenize the value as SQL in three quoting contexts, fold
// the tokens, judge the token-type sequence; for HTML, tokenize as markup and look for script
// contexts an attacker opens). Neither libinjection's code nor its fingerprint data is used.
//
// Example:
//   std::string fp;
//   if (detect_sqli("1' OR '1'='1", &fp)) ...   // fp: the first five token types that decided
//                                               // (pass nullptr when not needed)

#include <string>
#include <string_view>

namespace mamori::waf {

bool detect_sqli(std::string_view v, std::string* fingerprint);
bool detect_xss(std::string_view v);
// A shell command chained after a value: "127.0.0.1; cat /etc/passwd", "x | id", "$(id)".
bool detect_shell_command(std::string_view v);

}  // namespace mamori::waf
