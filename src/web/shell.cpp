// The web-shell judgement (shell.h). judge_php runs, per file: lex (php_lexer) → drop_prose →
// index (names, scopes, variables: shell_flow.cpp) → decoder_functions → taint to a fixed point
// → returning_input, summaries (functions whose parameters reach a sink) → scan_range (the rules
// below, per token) and whole_file_traits (shell_traits.cpp) → fail closed (a file cut short or
// too costly is a suspect) → score (10 a suspect, 20 critical).
#include "web/shell.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_set>

#include "core/text.h"
#include "web/php_lexer.h"
#include "web/php_words.h"
#include "web/shell_flow.h"

namespace mamori::web {

namespace {

using namespace php;
using detail::Flow;

constexpr size_t kMaxTokens = 400'000;
constexpr int kNamedLikeImage = 5;  // the weight of PHP in a file named as a picture or text
// PHP hidden in a picture sits in its header (GIF89a<?php …, an EXIF comment): past this many
// bytes, "<?=" in a picture is as likely the picture's own bytes.
constexpr size_t kPictureHeader = 512;

bool picture_name(std::string_view name) {
  std::string n = lower(name);
  for (std::string_view ext : {".jpg", ".jpeg", ".png", ".gif", ".ico", ".bmp", ".webp"})
    if (n.ends_with(ext)) return true;
  return false;
}

class Judge : Flow {
 public:
  Judge(std::string_view src, std::string_view name) : Flow(src, name) {}

  ShellVerdict run() {
    PhpLex lx = php_lex(src_, kMaxTokens);
    t_ = std::move(lx.tokens);
    v_.php = lx.has_php;
    v_.truncated = lx.truncated;
    // (in a file named as PHP a prose segment is a syntax error: PHP would run none of it, and
    // the judgement reads it as it is)
    if (!runs_as_php(name_)) drop_prose();
    if (!lx.has_php || t_.empty()) return std::move(v_);
    index();
    decoder_functions();
    if (is_image_or_text(name_))
      add(kNamedLikeImage,
          fmt::format("PHP code in a file named like an image or text ({})", name_), 0);
    for (size_t i = 0; i + 1 < t_.size(); ++i)
      if (t_[i].kind == PhpTok::kName && std::string_view(ln(i)) == "function") {
        const size_t n = punct(i + 1, "&") ? i + 2 : i + 1;
        if (at(n).kind == PhpTok::kName) defined_.insert(ln(n));
      }
    returning_input();
    // Until nothing new is learned: an assignment may come before the one that taints its
    // source (a loop, a function called later). Bounded by the work budget and 8 passes.
    for (int pass = 0; pass < 8 && !exhausted_; ++pass) {
      const uint64_t before = learned_ + props_.size() + (all_tainted_ ? 1 : 0);
      taint();
      if (learned_ + props_.size() + (all_tainted_ ? 1 : 0) == before) break;
    }
    assigned();
    parameters();
    summaries();
    scan();
    // What could not be judged whole is not let through: padding before a shell, or code built
    // to make the judgement cost too much, is how a shell would hide from it.
    // A rest of nothing but data (a font table, a word list) cannot run by itself: what the
    // judged start does with it is judged.
    if (v_.truncated && !lx.rest_inert)
      add(10,
          fmt::format("larger than the judgement reads ({} tokens): judged on its start only",
                      kMaxTokens),
          t_.size() - 1);
    if (exhausted_) add(10, "too costly to judge whole (built to exhaust a scanner?)", 0);
    std::stable_sort(v_.signals.begin(), v_.signals.end(),
                     [](const ShellSignal& a, const ShellSignal& b) {
                       return a.weight != b.weight ? a.weight > b.weight : a.line < b.line;
                     });
    int score = 0;
    for (const auto& s : v_.signals) score += s.weight;
    // A picture whose PHP starts deep inside it (bytes that happen to read "<?=") is not a
    // suspect for being named a picture plus one trait noise shows (backticks): what it holds
    // must reach 10 by itself.
    if (picture_name(name_) && src_.find("<?") > kPictureHeader && score >= 10 &&
        score - kNamedLikeImage < 10)
      score = 9;
    v_.score = score;
    return std::move(v_);
  }

 private:
  void sink_call(const std::string& n, size_t i, size_t open, size_t close) {
    // A call never closed (a file cut short, text read as PHP): judged up to the last token.
    if (t_.empty()) return;
    if (close >= t_.size()) close = t_.size() - 1;
    // Most calls are of functions no rule below is about: judged without reading their
    // arguments, unless an argument names a sink ('assert' as a callback).
    // (a call through a variable holding a name: the name's class)
    const uint16_t cls = at(i).kind == PhpTok::kName ? cls_[i] : name_class(n);
    if (!(cls & kSinkish) && !sink_fns_.count(n)) {
      if (sink_names_before(close) == sink_names_before(open)) return;  // O(1): no sink name
    }
    // (an uploaded file's content, when what it is handed to runs code)
    const bool input = input_in(open + 1, close) ||
                       (code_sink(n) && tmp_upload_in(open + 1, close)) ||
                       (command_sink(n) && runs_upload(open + 1, close)) ||
                       ((code_sink(n) || command_sink(n)) && sockets_ && net_in(open + 1, close));
    const bool decoded = decoded_in(open + 1, close);
    if (input && runs_input(n, open)) {
      add(10, "request input passed to a function that runs it (" + n + ")", i);
      return;
    }
    // Only the first argument: exec($cmd, $out, $rc) fills the others.
    size_t first_end = open + 1;
    for (int depth = 0; first_end < close; ++first_end) {
      if (punct(first_end, "(") || punct(first_end, "[")) ++depth;
      if (punct(first_end, ")") || punct(first_end, "]")) --depth;
      if (depth == 0 && punct(first_end, ",")) break;
    }
    if ((command_sink(n) || code_sink(n)) && !input && !probing_ &&
        unassigned_in(open + 1, first_end)) {
      add(10, "a variable the request sets (register_globals) run by " + n, i);
      return;
    }
    if (command_sink(n)) {
      if (input) add(10, "command execution with request input (" + n + ")", i);
      return;
    }
    // PHP 4's tools: a file, query or mail operation on variables the file never sets (the
    // request sets them under register_globals) — a file manager, a SQL console, a mailer
    if (!input && !probing_ &&
        (in(n, {"unlink", "rmdir", "rename", "copy", "move_uploaded_file", "file_put_contents",
                "chmod", "mysql_query", "mysql_db_query", "mail"}) ||
         (std::string_view(n) == "fopen" && at(close - 1).kind == PhpTok::kString &&
          at(close - 1).value.find_first_of("wax") != std::string::npos)) &&
        unassigned_in(open + 1, first_end) && register_globals_seen_.insert(n).second)
      add(5, "a variable the request sets (register_globals) used by " + n, i);
    // assert(is_string($x)), assert($a === $b): an assertion, not code to run
    if (std::string_view(n) == "assert" && assertion(open + 1, first_arg_end(open, close))) return;
    if (code_sink(n)) {
      bool literal_only = true;
      for (size_t j = open + 1; j < close; ++j)
        if (t_[j].kind != PhpTok::kString && !punct(j, ".")) literal_only = false;
      if (input) {
        add(10, "PHP code from request input (" + n + ")", i);
      } else if (at(open + 1).kind == PhpTok::kVariable && punct(open + 2, "(") &&
                 !named_of(var(open + 1))) {
        // eval($f($x)): code from a function named at run time
        add(10, "PHP code from a function named at run time (" + n + ")", i);
      } else if (decoded) {
        add(10, "eval of decoded data (" + n + ")", i);
      } else if (!literal_only && n != "assert" && !built_code_) {
        built_code_ = true;  // once: a template engine's eval and its create_function are one trait
        add(5, "PHP code built at run time (" + n + ")", i);
        // @eval($x): code run with its errors hidden — what a dropped file does, not an
        // application's template engine
        if (i > 0 && punct(i - 1, "@"))
          add(5, "PHP code built at run time, its errors silenced (@" + n + ")", i);
      }
      if (std::string_view(n) == "create_function" && !input && !decoded) {
        // create_function('', 'ev'.'al(…)') — a body cut into pieces, or one that runs input
        std::string body;
        size_t comma = open + 1;
        while (comma < close && !punct(comma, ",")) ++comma;
        if (literal_value(comma + 1, close, body) &&
            (code_runs_input(body) || ((comma + 2 < close || hidden_worthy(body)) &&
                                       (body.find("ev"
                                                  "al(") != std::string::npos ||
                                        body.find("assert(") != std::string::npos))))
          add(10, "a function body that runs code, built from pieces (create_function)", i);
      }
      return;
    }
    if (input && !code_sink(n) && !command_sink(n)) {
      // array_udiff_assoc([$_REQUEST['x']], [1], "assert"): a sink named as a callback
      for (size_t j = open + 1; j < close; ++j)
        if (t_[j].kind == PhpTok::kString && !t_[j].interpolated &&
            (code_sink(lower(t_[j].value)) || command_sink(lower(t_[j].value))) &&
            (punct(j - 1, ",") || punct(j - 1, "(")) && (punct(j + 1, ",") || punct(j + 1, ")"))) {
          add(10, "a sink named as a callback, with request input (" + lower(t_[j].value) + ")", i);
          return;
        }
    }
    if (input && callback_family(n) && callback_arg(n) < 0) {
      // array_diff_ukey($a, $b, $_REQUEST['f']): the user callback, last, from the request
      size_t last = close;
      for (int depth = 0; last > open + 1; --last) {
        if (punct(last - 1, ")") || punct(last - 1, "]") || punct(last - 1, "}")) ++depth;
        if (punct(last - 1, "(") || punct(last - 1, "[") || punct(last - 1, "{")) --depth;
        if (depth == 0 && punct(last - 1, ",")) break;
      }
      if (last > open + 1 && !in(ln(last), {"function", "fn", "static"}) && input_in(last, close)) {
        add(10, "a callback named by request input (" + n + ")", i);
        return;
      }
      // … or a variable holding a name decoded or XORed out of pieces
      if (last + 1 == close && (has(var(last), kDecoded) || has(var(last), kComputed))) {
        add(10, "a callback whose name is decoded at run time, with request input (" + n + ")", i);
        return;
      }
    }
    if (input && callback_family(n)) {
      // forward_static_call_array($wx."ert", [$_REQUEST['x']]): a callback computed at run time
      size_t a0 = open + 1;
      int depth = 0;
      for (size_t j = open + 1; j <= close; ++j) {
        if (punct(j, "(") || punct(j, "[") || punct(j, "{")) ++depth;
        if (punct(j, ")") || punct(j, "]") || punct(j, "}")) --depth;
        if ((depth == 0 && punct(j, ",")) || j == close) {
          if (computed_name(a0, j) && !input_in(a0, j)) {
            add(10, "a callback computed at run time, with request input (" + n + ")", i);
            return;
          }
          a0 = j + 1;
        }
      }
    }
    if (int cb = callback_arg(n); cb >= 0) {
      // The callback argument: split the arguments at depth-0 commas.
      size_t a = open + 1;
      int idx = 0, depth = 0;
      for (size_t j = open + 1; j <= close; ++j) {
        if (t_[j].kind == PhpTok::kPunct) {
          std::string_view p = t_[j].text;
          if (p == "(" || p == "[" || p == "{") ++depth;
          if (p == ")" || p == "]" || p == "}") --depth;
          if ((p == "," && depth == 0) || j == close) {
            // A closure, or a method of this object ([$this, 'do_' . $x]), is the code's own.
            const bool own = in(ln(a), {"function", "fn", "static"}) ||
                             ((punct(a, "[") || std::string_view(ln(a)) == "array") &&
                              (at(a + 1).text == "$this" || at(a + 2).text == "$this"));
            if (idx == cb && !own) {
              // call_user_func_array(assert, …), register_shutdown_function('assert', $c)
              if (a + 1 == j &&
                  ((at(a).kind == PhpTok::kName && (code_sink(ln(a)) || command_sink(ln(a)))) ||
                   (at(a).kind == PhpTok::kString && !at(a).interpolated &&
                    (code_sink(lower(at(a).value)) || command_sink(lower(at(a).value))))))
                add(10, "a sink called as a callback (" + n + ")", i);
              if (const std::string* nm = named_of(var(a));
                  a + 1 == j && nm && (code_sink(*nm) || command_sink(*nm)))
                add(10, "a callback through a variable holding a sink's name (" + *nm + ")", i);
              // call_user_func(array(C, 'b'), $decoded): a function or method of this file
              // that runs what it is given, handed request or decoded data
              if ((input || decoded) && j > a) {
                size_t last = j - 1;
                while (last > a && (punct(last, ")") || punct(last, "]"))) --last;
                std::string target = at(last).kind == PhpTok::kString ? lower(at(last).value)
                                     : at(last).kind == PhpTok::kName ? ln(last)
                                                                      : "";
                if (!target.empty() && sink_fns_.count(target))
                  add(10, "request or decoded data handed to " + target + ", which runs it", i);
              }
              if (input_in(a, j))
                add(10, "a callback named by request input (" + n + ")", i);
              else if (input && a + 1 == j && has(var(a), kComputed))
                add(10, "a callback whose name is computed, with request input (" + n + ")", i);
              if (callback_hidden(a, j)) add(10, "a callback named in disguise (" + n + ")", i);
            }
            ++idx;
            a = j + 1;
          }
        }
      }
      return;
    }
    // preg_replace(chr(47) . $p . chr(47) . chr(101), …): the /e modifier written as a code
    if (std::string_view(n) == "preg_replace" && first_end > open + 4 &&
        std::string_view(ln(first_end - 4)) == "chr" && punct(first_end - 3, "(") &&
        at(first_end - 2).text == "101" && punct(first_end - 1, ")")) {
      add(10, "preg_replace with the /e modifier written as chr(101)", i);
      return;
    }
    if (std::string_view(n) == "preg_replace" && at(open + 1).kind == PhpTok::kString) {
      // The modifiers: after the closing delimiter (the opening one, or its bracket's pair).
      std::string re = at(open + 1).value;
      size_t first = re.find_first_not_of(" \t\n");
      char d = first == std::string::npos ? 0 : re[first];
      d = d == '(' ? ')' : d == '{' ? '}' : d == '[' ? ']' : d == '<' ? '>' : d;
      size_t last = d ? re.rfind(d) : std::string::npos;
      if (d && !std::isalnum(static_cast<unsigned char>(d)) && d != '\\' &&
          last != std::string::npos && last > first &&
          re.substr(last + 1).find('e') != std::string::npos) {
        // a replacement that is not plain text (escapes, variables, pieces) is code in hiding
        size_t r0 = open + 2;
        const bool plain = punct(r0, ",") && at(r0 + 1).kind == PhpTok::kString &&
                           at(r0 + 1).text.find('\\') == std::string_view::npos &&
                           punct(r0 + 2, ",");
        add(input || decoded || !plain ? 10 : 5,
            "preg_replace with the /e modifier (runs the replacement as code)", i);
      }
      return;
    }
    if ((std::string_view(n) == "mb_ereg_replace" || std::string_view(n) == "mb_eregi_replace") &&
        input) {
      // mb_eregi_replace('\d', $_REQUEST['x'], '1', 'e'): the 'e' option runs the replacement
      size_t last = close - 1;
      if (at(last).kind == PhpTok::kString && at(last).value.find('e') != std::string::npos &&
          punct(last - 1, ","))
        add(10, "request input run as code by " + n + " (option e)", i);
    }
    if (in(n, {"file_put_contents", "fwrite", "fputs"}) && input) {
      // file_put_contents($_SERVER['HTTP_X'], $_SERVER['HTTP_Y']): the request names the file
      // and gives its content — how a dropper writes the next shell
      // (or a function of the file that does so with its parameters, whole: update($f, $d))
      if (std::string_view(n) == "file_put_contents" && first_end < close &&
          ((input_in(open + 1, first_end, true) && input_in(first_end + 1, close, true)) ||
           (probing_ && whole_arg_is_input(open, close, 0) && whole_arg_is_input(open, close, 1))))
        add(10, "a file the request names, written with what it sends (file_put_contents)", i);
      else if (std::string_view(n) == "file_put_contents" && first_end < close &&
               input_in(open + 1, first_end, true) && decoded_in(first_end + 1, close))
        add(10, "a file the request names, written with decoded data (file_put_contents)", i);
      else
        add(5, "request input written into a file (" + n + ")", i);
      return;
    }
    if (input && file_manager_fn(n) && !(cls_[open + 1] & kRawInput)) {  // (not php://input)
      // the path is the request's, whole (no directory of the code's before it), in a script
      // of no functions (where following values without regard to order is sound): a browser
      // of the server's files
      const bool whole = defined_.empty() && whole_arg_is_input(open, close, 0);
      add(whole ? 5 : 3, "a file operation on a path the request names (" + n + ")", i);
      // copy("compress.zlib://" . $file, …): the wrapper that slipped past safe_mode's checks
      if (at(open + 1).kind == PhpTok::kString &&
          lower(at(open + 1).value).starts_with("compress.zlib://") && punct(open + 2, "."))
        add(5, "a file the request names read through compress.zlib:// (a safe_mode bypass)", i);
    }
    if (input &&
        (std::string_view(n) == "mysql_query" || std::string_view(n) == "mysqli_query" ||
         std::string_view(n) == "pg_query") &&
        // (mysqli_query($link, $q); pg_query([$conn,] $q))
        whole_arg_is_input(
            open, close,
            std::string_view(n) == "mysqli_query" ||
                    (std::string_view(n) == "pg_query" && count_commas(open + 1, close) > 0)
                ? 1
                : 0))
      add(10, "a SQL query the request writes whole (" + n + ")", i);
    if (input && std::string_view(n) == "mail" && whole_arg_is_input(open, close, 0))
      add(10, "mail to an address the request gives (a mailer for spam)", i);
    // move_uploaded_file($f, "entrika.php"): an upload made a script of the site, whatever it
    // holds (applications store uploads as data, under names of their own)
    if (std::string_view(n) == "move_uploaded_file" && at(close - 1).kind == PhpTok::kString &&
        !at(close - 1).interpolated && runs_as_php(at(close - 1).value)) {
      add(10, "an upload stored as a PHP script (" + at(close - 1).value + ")", i);
      return;
    }
    if ((std::string_view(n) == "move_uploaded_file" || std::string_view(n) == "copy") && input) {
      // The destination: the name the client chose, as is (a file dropped where the script
      // runs), or after a fixed directory (how an application stores an upload, at best).
      size_t a1 = open + 1;
      while (a1 < close && !punct(a1, ","))
        a1 = punct(a1, "(") || punct(a1, "[") ? close_of(a1) + 1 : a1 + 1;
      if (a1 < close && input_in(a1 + 1, close, true)) {
        const bool prefixed =
            at(a1 + 1).kind == PhpTok::kString || at(a1 + 1).kind == PhpTok::kName;
        add(prefixed ? 5 : 10, "an upload stored under a name the request chose (" + n + ")", i);
        return;
      }
      if (std::string_view(n) == "move_uploaded_file")
        add(2, "an uploaded file stored (move_uploaded_file)", i);
      return;
    }
    if (std::string_view(n) == "fopen" && input && at(close - 1).kind == PhpTok::kString &&
        punct(close - 2, ",") && at(close - 1).value.find_first_of("waxc") != std::string::npos &&
        input_in(open + 1, close - 2, true)) {
      add(5, "a file the request names opened for writing (fopen)", i);
      return;
    }
    if (decoder(n)) {
      // str_rot13('flfgrz'), strrev('metsys'), base64_decode('c3lzdGVt'): a sink in disguise
      if (at(open + 1).kind == PhpTok::kString && close == open + 2) {
        std::string d = decode_literal(n, at(open + 1).value);
        if (!d.empty() && hidden_worthy(d))
          add(10, "a sink's name decoded at run time (" + n + ")", i);
      }
    }
  }

  void scan() {
    scan_range(0, t_.size());
    whole_file_traits();
  }

  // Functions and methods (known by name) whose parameters reach a sink: function shell($c) {
  // popen($c… }. A call passing request input to one of them is then a shell's.
  void summaries() {
    for (int pass = 0; pass < 2; ++pass) {        // a wrapper of a wrapper
      if (pass == 1 && sink_fns_.empty()) break;  // nothing to wrap
      for (const Declared& d : declared_) {
        const size_t n = d.name, body = d.body;
        const std::string& name = ln(n);
        size_t pc = close_of(n + 1);
        size_t end = close_of(body);
        // The first variable of each parameter, in one pass.
        std::vector<uint32_t> params;
        size_t commas = 0;
        for (size_t j = n + 2, depth = 0; j < pc && !spend(); ++j) {
          if (punct(j, "(") || punct(j, "[")) ++depth;
          if (punct(j, ")") || punct(j, "]")) --depth;
          if (depth == 0 && punct(j, ",")) ++commas;
          if (depth == 0 && t_[j].kind == PhpTok::kVariable && params.size() < commas + 1)
            params.push_back(var(j));
        }
        if (params.size() > 8) params.resize(8);
        // All parameters at once first: most functions run none of them, and then one scan
        // says so (tainting more only finds more).
        if (params.empty() || !probe(params, body, end)) continue;
        std::set<size_t>& runs = sink_fns_[name];
        for (size_t p = 0; p < params.size(); ++p)  // then which of them
          if (params.size() == 1 || probe({params[p]}, body, end)) runs.insert(p);
        // none alone, all together (update($file, $data) writes the one with the other)
        if (runs.empty())
          for (size_t p = 0; p < params.size(); ++p) runs.insert(p);
      }
    }
  }
  // Would request input in these parameters reach a sink in the body [body, end)? (Scanning
  // changes no variable's facts: only the parameters' taint is put back.)
  bool probe(const std::vector<uint32_t>& params, size_t body, size_t end) {
    std::vector<uint32_t> set_here;
    for (uint32_t v : params)
      if (!has(v, kTainted)) {
        set(v, kTainted);
        set_here.push_back(v);
      }
    const bool all = all_tainted_;
    all_tainted_ = false;
    probing_ = true;
    probe_hit_ = false;
    scan_range(body + 1, end);
    probing_ = false;
    all_tainted_ = all;
    for (uint32_t v : set_here) vflag_[v] &= static_cast<uint8_t>(~kTainted);
    return probe_hit_;
  }

  // Does the call of `name` ('(' at `open`) pass request input to a parameter reaching a sink?
  bool runs_input(const std::string& name, size_t open, bool or_decoded = false) const {
    auto it = sink_fns_.find(name);
    if (it == sink_fns_.end()) return false;
    size_t close = close_of(open), a = open + 1, idx = 0;
    int depth = 0;
    for (size_t j = open + 1; j <= close && j < t_.size(); ++j) {
      if (punct(j, "(") || punct(j, "[") || punct(j, "{")) ++depth;
      if (punct(j, ")") || punct(j, "]") || punct(j, "}")) --depth;
      if ((depth == 0 && punct(j, ",")) || j == close) {
        if (it->second.count(idx) && (input_in(a, j) || (or_decoded && decoded_in(a, j))))
          return true;
        ++idx;
        a = j + 1;
      }
    }
    return false;
  }

  void scan_range(size_t from, size_t to) {
    for (size_t i = from; i < to && i < t_.size() && !spend(); ++i) {
      const PhpToken& k = t_[i];
      // (the rules below are about names, variables, strings and ${…}: other tokens pass)
      if (k.kind == PhpTok::kNumber || k.kind == PhpTok::kCast ||
          (k.kind == PhpTok::kPunct && k.text != "$"))
        continue;
      const bool method =
          i > 0 && (punct(i - 1, "->") || punct(i - 1, "::") || punct(i - 1, "?->"));
      const bool declared = i > 0 && at(i - 1).kind == PhpTok::kName &&
                            in(ln(i - 1), {"function", "fn", "new", "const"});
      if (k.kind == PhpTok::kName && i > 0 && std::string_view(ln(i - 1)) == "new" &&
          punct(i + 1, "(") && in(ln(i), {"reflectionfunction", "reflectionmethod"}) &&
          input_in(i + 2, close_of(i + 1))) {
        // new ReflectionFunction($_GET['m']): a function the request names, to invoke
        add(10, "a function named by request input, through reflection (" + ln(i) + ")", i);
        continue;
      }
      if (k.kind == PhpTok::kName && !method && !declared) {
        const std::string& n = ln(i);
        if (cls_[i] & kIncludeWord) {
          size_t e = stmt_end(i + 1);
          // Straight from the request: a shell's. Through a variable after a fixed directory
          // (WP_PLUGIN_DIR . '/' . $plugin): how applications pick a file, after checking it.
          size_t first = i + 1;
          while (punct(first, "(")) ++first;
          const bool prefixed =
              (at(first).kind == PhpTok::kString || at(first).kind == PhpTok::kName) &&
              punct(first + (at(first).kind == PhpTok::kName && punct(first + 1, "(")
                                 ? close_of(first + 1) - first + 1
                                 : 1),
                    ".");
          if (input_in(i + 1, e, true) || tmp_upload_in(i + 1, e))
            add(10, "include of a file named by request input (" + n + ")", i);
          else if (input_in(i + 1, e))
            add(prefixed ? 5 : 10, "include of a file named by request input (" + n + ")", i);
          for (size_t j = i + 1; j < e; ++j)
            if (t_[j].kind == PhpTok::kString) {
              std::string path = lower(t_[j].value);
              size_t escapes = std::count(t_[j].text.begin(), t_[j].text.end(), '\\');
              if (escapes >= 4 && escapes * 4 >= t_[j].text.size())
                add(10, "include of a path written in escapes (" + n + ")", i);
              if (is_image_or_text(path) && !path.ends_with(".html") && !path.ends_with(".htm"))
                add(10, "include of a file named like an image or text (" + n + ")", i);
            }
          continue;
        }
        if (punct(i + 1, "(")) {
          size_t c = close_of(i + 1);
          // file_get_contents("php" . $q)($_GET[2]): a function named by what the request points
          // to, handed request input
          if (punct(c + 1, "(") && !defined_.count(n) && input_in(i + 2, c) &&
              input_in(c + 2, close_of(c + 1)))
            add(10, "a function named by what " + n + "() returns for the request, run on input",
                i);
          sink_call(n, i, i + 1, c);
        }
        continue;
      }
      if (k.kind == PhpTok::kName && method && punct(i + 1, "(") && runs_input(ln(i), i + 1))
        add(10, "request input passed to a method that runs it (" + ln(i) + ")", i);
      else if (k.kind == PhpTok::kName && method && punct(i + 1, "(") &&
               runs_input(ln(i), i + 1, true))
        add(10, "decoded data passed to a method that runs it (" + ln(i) + ")", i);
      // $class->newInstance($_POST[…]) of a class whose constructor runs its parameters
      if (k.kind == PhpTok::kName && method && punct(i + 1, "(") &&
          in(ln(i), {"newinstance", "newinstanceargs"}) && runs_input("__construct", i + 1))
        add(10, "request input passed to a constructor that runs it (" + ln(i) + ")", i);
      // Closure::fromCallable($a)->__invoke($_REQUEST[2]) with $a computed: a hidden callback
      if (k.kind == PhpTok::kName && method && punct(i + 1, "(") &&
          std::string_view(ln(i)) == "fromcallable" && close_of(i + 1) == i + 3 &&
          (has(var(i + 2), kComputed) || has(var(i + 2), kDecoded) || named_of(var(i + 2))) &&
          input_in(i + 2, stmt_end(i)))
        add(10, "a callback whose name is computed, made a closure and run on request input", i);
      if (k.kind == PhpTok::kVariable && !method && !declared) {
        // $f(…), $x['f'](…), $_GET['f'](…): a call through a name held in data
        size_t j = i + 1;
        while (punct(j, "[") || punct(j, "{")) j = close_of(j) + 1;
        if (!punct(j, "(")) continue;
        std::string name(k.text);
        const uint32_t v = var(i);
        if (input_in(i, j)) {
          add(10, "a function called by a name from request input (" + name + "(…))", i);
        } else if (const std::string* nm = named_of(v)) {
          // $f = 'sys'.'tem'; $f(…) is a call of system; $decode = 'urldecode' is a choice
          if (code_sink(*nm) || command_sink(*nm))
            add(10, "a function called through a variable holding its name (" + *nm + ")", i);
          sink_call(*nm, i, j, close_of(j));
        } else if (has(v, kMade)) {
          add(10, "a function made at run time by a function named at run time, then run", i);
        } else if (has(v, kDecoded)) {
          add(10, "a function called by a name decoded at run time (" + name + "(…))", i);
        } else if (name.find_first_not_of("$_") == std::string::npos) {
          // $_($__), $____($_[$__]): no application names its functions' holders this way
          add(10, "a function called through a variable named to be unreadable (" + name + ")", i);
        } else if (name == "$this" && runs_input("__invoke", j)) {
          add(10, "request input passed to this object's __invoke, which runs it", i);
        } else if (!probing_ && has(v, kComputed) && input_in(j + 1, close_of(j))) {
          // $f = substr(__FILE__, -10, 6); $f($_POST[1]): a function named by a computation
          add(10, "request input passed to a function whose name is computed (" + name + "(…))", i);
        } else if (!probing_ && !has(v, kObject) && input_in(j + 1, close_of(j), true)) {
          // $K($_POST['x']): request input handed to a function whose name was computed
          add(10, "request input passed to a function named at run time (" + name + "(…))", i);
        }
        continue;
      }
      if (k.kind == PhpTok::kPunct && k.text == "$" && punct(i + 1, "{")) {
        // ${$_}[_](…) with $_ = "`{{{"^"?<>/" ("_GET"): a function named by request input
        size_t j = close_of(i + 1) + 1;
        while (punct(j, "[") || punct(j, "{")) j = close_of(j) + 1;
        if (punct(j, "(") && input_in(i, j))
          add(10, "a function called by a name from request input (${…}(…))", i);
        // ${f("(]A+%Hj")}(…): a function whose name this file's own decoder computes
        else if (punct(j, "(") && at(i + 2).kind == PhpTok::kName && punct(i + 3, "(") &&
                 close_of(i + 3) + 1 == close_of(i + 1) &&
                 (defined_.count(ln(i + 2)) || decoder(ln(i + 2))))
          add(10,
              "a function called through a variable named by a decoder (${" + ln(i + 2) +
                  "(…)}(…))",
              i);
        continue;
      }
      if (k.kind == PhpTok::kString) {
        if (k.shell) {
          if (input_in(i, i + 1))
            add(10, "a shell command in backticks with request input", i);
          else if (sockets_ && net_in(i, i + 1))
            add(10, "a shell command in backticks with what a connection sends (a reverse shell)",
                i);
          else if (k.value.find_first_not_of(" \t\r\n") != std::string::npos)
            add(5, "a shell command in backticks", i);  // (`` runs nothing: markup's quotes)
          continue;
        }
        if (probing_) continue;  // what a string holds does not depend on a parameter
        // "\x65\x76\x61\x6c" — a sink's name written in escapes
        if (k.text.find('\\') != std::string_view::npos && hidden_worthy(k.value))
          add(10, fmt::format("a sink's name written in escapes ({})", lower(k.value)), i);
        // 'as'.'sert' — a sink's name cut into pieces (the start of a chain only)
        if (punct(i + 1, ".") && !(i > 0 && punct(i - 1, "."))) {
          std::string lit = k.value;
          size_t j = i + 1;
          while (punct(j, ".") && at(j + 1).kind == PhpTok::kString) {
            lit += at(j + 1).value;
            j += 2;
          }
          if (j > i + 1 && hidden_worthy(lit))
            add(10, fmt::format("a sink's name cut into pieces ({})", lower(lit)), i);
        }
        // '61737365727428245f504f53545b635d293b' — code that runs input, written in hex or
        // base64 (decoded here as the file would decode it)
        if (k.value.size() >= 12 && k.value.size() <= 8192) {
          std::string d = hex_text(k.value);
          if (d.empty() &&
              k.value.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
                  std::string::npos)
            d = base64_text(k.value);
          if (!d.empty() && (code_runs_input(d) || shell_in_string(d)))
            add(10, "code that runs request input, encoded in a string", i);
        }
        // '<?php system($_GET[c]); ?>' — a web shell written out by this file
        if (shell_in_string(k.value))
          add(10, "a web shell's code inside a string (written out)", i);
        else if (code_runs_input(k.value))
          add(10, "code that runs request input, kept in a string", i);
        // a long encoded blob beside a decoder and something that runs code
        if (k.value.size() >= 2000 && encoded_blob(k.value)) blob_ = i;
        continue;
      }
    }
  }

  std::map<std::string, std::set<size_t>> sink_fns_;  // function → parameters reaching a sink
  std::set<std::string> register_globals_seen_;       // each function counted once
  bool built_code_ = false;
};

}  // namespace

ShellVerdict judge_php(std::string_view src, std::string_view name) {
  return Judge(src, name).run();
}

}  // namespace mamori::web
