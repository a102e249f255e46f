#pragma once
// The words of PHP the web-shell judgement (shell.h) knows: which functions run commands or
// code, call callbacks, decode hidden data; which variables are request input.

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "web/php_lexer.h"

namespace mamori::web::php {

std::string lower(std::string_view s);
// Is w one of l? (Called for every name of every file: inline, sizes and first letters first.)
inline bool in(std::string_view w, std::initializer_list<std::string_view> l) {
  for (std::string_view x : l)
    if (x.size() == w.size() && !w.empty() && x[0] == w[0] &&
        std::equal(x.begin() + 1, x.end(), w.begin() + 1))
      return true;
  return false;
}
bool command_sink(std::string_view n);  // runs what it is given as a shell command
bool code_sink(std::string_view n);     // runs what it is given as PHP code
// Calls the function its argument at this index names (-1: not one of those functions).
int callback_arg(std::string_view n);
// callback_arg's, and the array_u* functions (array_udiff, array_intersect_ukey …).
bool callback_family(std::string_view n);
bool decoder(std::string_view n);  // turns hidden data back into text or code
bool include_word(std::string_view n);
// A name worth disguising: the sinks, the decoders, the input arrays.
bool hidden_worthy(std::string_view v);
bool source_var(std::string_view v);  // $_GET, $_POST …
bool is_image_or_text(std::string_view name);
// A name a web server runs as PHP (.php, .phtml, .phar, .inc, .module …, and x.php.jpg).
bool runs_as_php(std::string_view path);
// The bytes a base64 literal decodes to, up to its first character outside the alphabet.
std::string base64_text(std::string_view v);
// A long literal of (almost) nothing but base64 or escape characters.
bool encoded_blob(const std::string& v);

// What str_rot13, strrev or base64_decode make of a literal ("" for other functions).
std::string decode_literal(std::string_view fn, const std::string& v);
// "61737365" → "asse"; "" when not an even run of hex digits.
std::string hex_text(std::string_view v);
// Which of the words of shell tools, shells and Serv-U (kStringWords, php_words.cpp) a string in
// lower case holds, in one pass (a bit set for the three questions that follow).
uint32_t string_words(std::string_view lower_text);
// The word of a shell tool among them (uname -a, /etc/passwd, filesman …), or "".
std::string_view shell_tool_word(uint32_t words);
// A shell to run among them (/bin/sh, /bin/bash, cmd.exe, sh -i).
bool names_shell(uint32_t words);
// Serv-U's "site exec".
bool names_site_exec(uint32_t words);

// Opens a network socket (fsockopen, socket_create …).
bool socket_fn(std::string_view n);
// A string that holds a web shell's code: PHP with a command or code sink and request input.
bool shell_in_string(std::string_view v);
// A string holding PHP that runs request input ("assert($_POST[a]);"): a sink called with a
// superglobal as its first argument.
bool code_runs_input(std::string_view v);

// The strings chr(115).chr(121)… chains spell, with the index of each chain's first token.
// `chr_vars`: variables holding the name "chr" ($c = 'ch'.'r'; $c(101).$c(118)…).
std::vector<std::pair<size_t, std::string>> chr_strings(const std::vector<PhpToken>& t,
                                                        const std::set<std::string>& chr_vars);

// The variables a "…" string interpolates ($name, {$name}: "$name" each).
std::vector<std::string> interpolated_vars(std::string_view v);
// error_reporting(0), set_time_limit(0), ignore_user_abort(…): `arg` is the first argument.
bool silent_call(std::string_view fn, std::string_view arg);

// What a file manager does: open, delete, rename, change and list files and directories.
bool file_manager_fn(std::string_view n);

// Returns its argument's text changed but not made safe (trim, stripslashes, str_replace …):
// request input that goes through it is still the request's.
bool passthrough(std::string_view n);

// A keyword a name may follow in PHP (function, new, as, echo, public …): any other name
// followed by a name is a syntax error — text that reads as prose, not code.
bool name_may_precede_name(std::string_view lower_name);

// Makes a value safe for where it goes (escapeshellarg, intval, basename, htmlspecialchars …).
bool sanitizer(std::string_view n);

}  // namespace mamori::web::php
