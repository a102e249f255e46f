#pragma once
// Is this PHP file a web shell or a backdoor? Mamori's own judgement over PHP tokens
// (php_lexer.h), not signatures: what a shell must do to be one — run what the request says
// (a command, code, a function it names, a file it uploads or includes) — and how it hides that
// (code built from escaped strings, chr() chains and concatenations, eval of decoded blobs).
//
//   strong (10)  request input reaches a command, eval/assert/create_function, a callback or a
//                function called by a name it chose; include of request input or of a disguised
//                file; eval of decoded data; a sink's name spelled in disguise
//   medium (5)   request input written into a file; a shell command in backticks; extract() of
//                request input; PHP in a file with an image or text extension; eval of a variable
//   weak (1–2)   shell-tool words (uname -a, /etc/passwd, FilesMan …), error_reporting(0) …
//
// A file is a suspect at 10 points. Each signal names its line and the code that raised it.
//
// Example:
//   ShellVerdict v = judge_php(text, "wp-content/uploads/x.php");
//   if (v.suspect()) for (const auto& s : v.signals) ... s.line, s.what, s.code

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mamori::web {

struct ShellSignal {
  int weight = 0;
  std::string what;  // "command execution with request input (system)"
  uint32_t line = 0;
  std::string code;  // the source around it, cut to 120 bytes, printable
};

struct ShellVerdict {
  int score = 0;
  bool php = false;        // PHP code was found at all
  bool truncated = false;  // the file was larger than the token budget: judged on its start
  std::vector<ShellSignal> signals;  // strongest first
  bool suspect() const { return score >= 10; }
};

// `name` (a path or file name) only matters for its extension.
ShellVerdict judge_php(std::string_view src, std::string_view name);

}  // namespace mamori::web
