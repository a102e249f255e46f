// The web-shell judgement (shell.h).
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

namespace mamori::web {

namespace {

constexpr size_t kMaxTokens = 400'000;

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

bool in(std::string_view w, std::initializer_list<std::string_view> l) {
  return std::find(l.begin(), l.end(), w) != l.end();
}

// Runs what it is given as a shell command.
bool command_sink(std::string_view n) {
  return in(n, {"system", "exec", "shell_exec", "passthru", "popen", "proc_open", "pcntl_exec",
                "expect_popen"});
}
// Runs what it is given as PHP code.
bool code_sink(std::string_view n) { return in(n, {"eval", "assert", "create_function"}); }
// Calls the function its (first or second) argument names.
int callback_arg(std::string_view n) {
  if (in(n, {"call_user_func", "call_user_func_array", "array_map", "register_shutdown_function",
             "register_tick_function", "forward_static_call", "forward_static_call_array",
             "iterator_apply", "array_walk_recursive"}))
    return n == "array_walk_recursive" ? 1 : 0;
  if (in(n, {"array_filter", "usort", "uasort", "uksort", "array_walk", "array_reduce",
             "preg_replace_callback", "ob_start"}))
    return n == "ob_start" ? 0 : 1;
  return -1;
}
// Turns hidden data back into text or code.
bool decoder(std::string_view n) {
  return in(n, {"base64_decode", "gzinflate", "gzuncompress", "gzdecode", "str_rot13", "strrev",
                "hex2bin", "convert_uudecode", "urldecode", "rawurldecode", "pack", "bzdecompress",
                "gzuncompress", "base_convert"});
}
bool include_word(std::string_view n) {
  return in(n, {"include", "include_once", "require", "require_once"});
}
// Any name worth disguising: the sinks, the decoders, the input arrays.
bool hidden_worthy(std::string_view v) {
  std::string l = lower(v);
  return command_sink(l) || code_sink(l) || callback_arg(l) >= 0 || decoder(l) ||
         in(l, {"_get", "_post", "_request", "_cookie", "_server", "_files", "move_uploaded_file",
                "file_put_contents", "fwrite", "preg_replace", "extract", "php://input"});
}
bool source_var(std::string_view v) {
  return in(v, {"$_GET", "$_POST", "$_REQUEST", "$_COOKIE", "$_FILES", "$HTTP_GET_VARS",
                "$HTTP_POST_VARS", "$HTTP_COOKIE_VARS", "$HTTP_POST_FILES", "$HTTP_RAW_POST_DATA"});
}

bool is_image_or_text(std::string_view name) {
  std::string n = lower(name);
  for (std::string_view ext : {".jpg", ".jpeg", ".png", ".gif", ".ico", ".bmp", ".svg", ".webp",
                               ".txt", ".css", ".js", ".log", ".json", ".xml", ".html", ".htm"})
    if (n.ends_with(ext)) return true;
  return false;
}

class Judge {
 public:
  Judge(std::string_view src, std::string_view name) : src_(src), name_(name) {}

  ShellVerdict run() {
    PhpLex lx = php_lex(src_, kMaxTokens);
    t_ = std::move(lx.tokens);
    v_.php = lx.has_php;
    v_.truncated = lx.truncated;
    if (!lx.has_php || t_.empty()) return std::move(v_);
    if (is_image_or_text(name_))
      add(5, fmt::format("PHP code in a file named like an image or text ({})", name_), 0);
    for (size_t i = 0; i + 1 < t_.size(); ++i)
      if (t_[i].kind == PhpTok::kName && lower(t_[i].text) == "function" &&
          at(i + 1).kind == PhpTok::kName)
        defined_.insert(lower(at(i + 1).text));
    taint();
    taint();  // twice: an assignment may come before the one that taints its source
    assigned();
    summaries();
    scan();
    words();
    std::stable_sort(
        v_.signals.begin(), v_.signals.end(),
        [](const ShellSignal& a, const ShellSignal& b) { return a.weight > b.weight; });
    int score = 0;
    for (const auto& s : v_.signals) score += s.weight;
    v_.score = score;
    return std::move(v_);
  }

 private:
  const PhpToken& at(size_t i) const {
    static const PhpToken none{PhpTok::kPunct, "", {}, false, false, 0};
    return i < t_.size() ? t_[i] : none;
  }
  bool punct(size_t i, std::string_view p) const {
    return i < t_.size() && t_[i].kind == PhpTok::kPunct && t_[i].text == p;
  }
  // The index of the token closing the bracket opened at `i` (or t_.size()).
  size_t close_of(size_t i) const {
    int depth = 0;
    for (size_t j = i; j < t_.size(); ++j) {
      if (t_[j].kind != PhpTok::kPunct) continue;
      std::string_view p = t_[j].text;
      if (p == "(" || p == "[" || p == "{") ++depth;
      if (p == ")" || p == "]" || p == "}") {
        if (--depth == 0) return j;
      }
    }
    return t_.size();
  }
  // The end of the statement from `i` (its ';' at depth 0, or a closing bracket of the outside).
  size_t stmt_end(size_t i) const {
    int depth = 0;
    for (size_t j = i; j < t_.size(); ++j) {
      if (t_[j].kind != PhpTok::kPunct) continue;
      std::string_view p = t_[j].text;
      if (p == "(" || p == "[" || p == "{") ++depth;
      if (p == ")" || p == "]" || p == "}") {
        if (depth == 0) return j;
        --depth;
      }
      if (p == ";" && depth == 0) return j;
    }
    return t_.size();
  }
  uint32_t line_of(size_t i) const {
    if (i >= t_.size()) return 0;
    uint32_t off = t_[i].offset;
    return static_cast<uint32_t>(std::count(src_.begin(), src_.begin() + off, '\n') + 1);
  }
  void add(int w, std::string what, size_t tok) {
    if (probing_) {  // a function's summary: would request input in its parameters run?
      if (w >= 10) probe_hit_ = true;
      return;
    }
    if (v_.signals.size() >= 64) return;     // bounded; the score is already decided by then
    if (!seen_.insert(what).second) return;  // one of each kind
    ShellSignal s;
    s.weight = w;
    s.what = std::move(what);
    if (tok < t_.size()) {
      s.line = line_of(tok);
      uint32_t off = t_[tok].offset;
      size_t from = off > 30 ? off - 30 : 0;
      s.code = sanitize(src_.substr(from, std::min<size_t>(120, src_.size() - from)));
    }
    v_.signals.push_back(std::move(s));
  }

  // Does the range [a, b) carry request input (or, unless `direct`, a variable that does)? A key
  // into another array is not carried: $handlers[$_POST['x']] is a value the server holds.
  bool input_in(size_t a, size_t b, bool direct = false) const {
    for (size_t j = a; j < b && j < t_.size(); ++j) {
      const PhpToken& k = t_[j];
      if (k.kind == PhpTok::kVariable) {
        const bool carried = !direct && (tainted_.count(std::string(k.text)) || all_tainted_);
        if ((source_var(k.text) || carried) && k.text != "$this") return true;
        if (punct(j + 1, "[") && k.text != "$_SERVER" && k.text != "$GLOBALS") {
          j = close_of(j + 1);  // a lookup: its key does not make the value the request's
          continue;
        }
        if (k.text == "$_SERVER" && punct(j + 1, "[") && at(j + 2).kind == PhpTok::kString) {
          std::string key = lower(at(j + 2).value);
          if (key.starts_with("http_") || key == "query_string" || key == "request_uri" ||
              key == "path_info")
            return true;
        }
        if (k.text == "$GLOBALS" && punct(j + 1, "[") && at(j + 2).kind == PhpTok::kString &&
            source_var("$" + at(j + 2).value))
          return true;
      } else if (k.kind == PhpTok::kName && punct(j + 1, "(") &&
                 in(lower(k.text), {"getallheaders", "apache_request_headers"})) {
        return true;
      } else if (k.kind == PhpTok::kString &&
                 lower(k.value).find("php://input") != std::string::npos) {
        return true;
      } else if (k.kind == PhpTok::kPunct && k.text == "$" && punct(j + 1, "{") &&
                 at(j + 2).kind == PhpTok::kString && source_var("$" + at(j + 2).value)) {
        return true;  // ${"_GET"}
      }
    }
    return false;
  }
  // Does [a, b) decode hidden data (a decoder call, or a variable assigned from one)?
  bool decoded_in(size_t a, size_t b) const {
    for (size_t j = a; j < b && j < t_.size(); ++j) {
      const PhpToken& k = t_[j];
      if (k.kind == PhpTok::kName && punct(j + 1, "(") && decoder(lower(k.text))) return true;
      if (k.kind == PhpTok::kVariable && decoded_.count(std::string(k.text))) return true;
    }
    return false;
  }

  // Variables assigned from request input (or from decoded data), to a fixed point of two passes.
  void taint() {
    for (size_t i = 0; i + 1 < t_.size(); ++i) {
      const PhpToken& k = t_[i];
      if (k.kind == PhpTok::kName && punct(i + 1, "(")) {
        std::string n = lower(k.text);
        size_t c = close_of(i + 1);
        if (n == "extract" && input_in(i + 2, c)) {
          all_tainted_ = true;
          add(5, "extract() of request input: every variable can be set by the request", i);
        }
        if (n == "parse_str" && input_in(i + 2, c))
          for (size_t j = i + 2; j < c; ++j)
            if (t_[j].kind == PhpTok::kVariable) tainted_.insert(std::string(t_[j].text));
        continue;
      }
      if (k.kind == PhpTok::kName && lower(k.text) == "foreach" && punct(i + 1, "(")) {
        size_t c = close_of(i + 1);
        size_t as = i + 2;
        while (as < c && !(t_[as].kind == PhpTok::kName && lower(t_[as].text) == "as")) ++as;
        if (as < c && input_in(i + 2, as))
          for (size_t j = as + 1; j < c; ++j)
            if (t_[j].kind == PhpTok::kVariable) tainted_.insert(std::string(t_[j].text));
        continue;
      }
      if (k.kind != PhpTok::kVariable) continue;
      // $v = …;  $v .= …;  $v['k'] = …;
      size_t j = i + 1;
      while (punct(j, "[") || punct(j, "{")) j = close_of(j) + 1;
      if (!(punct(j, "=") || punct(j, ".="))) continue;
      size_t e = stmt_end(j + 1);
      std::string name(k.text);
      // A whole right side that is a call to something else than a decoder cleans the value
      // (intval($_GET['id']), basename(…), sanitize_text_field(…)).
      bool cleaned = false;
      if (at(j + 1).kind == PhpTok::kName && punct(j + 2, "(") && close_of(j + 2) + 1 == e &&
          !decoder(lower(at(j + 1).text)) && !defined_.count(lower(at(j + 1).text)))
        cleaned = true;  // (a function of this file may be the shell's own decoder)
      // (int) $_GET['n'] is a number, whatever was sent
      if (at(j + 1).kind == PhpTok::kCast) {
        std::string c = lower(at(j + 1).text);
        for (std::string_view num : {"int", "bool", "float", "double", "real"})
          if (c.find(num) != std::string::npos) cleaned = true;
      }
      if (!cleaned && input_in(j + 1, e)) tainted_.insert(name);
      if (decoded_in(j + 1, e)) decoded_.insert(name);
      // $f = 'sys'.'tem';  $f = "\x73ystem";  — a sink's name kept in a variable
      std::string lit;
      bool only_literals = e > j + 1;
      for (size_t q = j + 1; q < e; ++q) {
        if (t_[q].kind == PhpTok::kString && !t_[q].interpolated) {
          lit += t_[q].value;
        } else if (!punct(q, ".")) {
          only_literals = false;
        }
      }
      if (only_literals && hidden_worthy(lit)) named_[name] = lower(lit);
    }
  }

  void sink_call(const std::string& n, size_t i, size_t open, size_t close) {
    const bool input = input_in(open + 1, close);
    const bool decoded = decoded_in(open + 1, close);
    if (input && runs_input(n, open)) {
      add(10, "request input passed to a function that runs it (" + n + ")", i);
      return;
    }
    if ((command_sink(n) || code_sink(n)) && !input && !probing_ &&
        unassigned_in(open + 1, close)) {
      add(10, "a variable the request sets (register_globals) run by " + n, i);
      return;
    }
    if (command_sink(n)) {
      if (input) add(10, "command execution with request input (" + n + ")", i);
      return;
    }
    if (code_sink(n)) {
      bool literal_only = true;
      for (size_t j = open + 1; j < close; ++j)
        if (t_[j].kind != PhpTok::kString && !punct(j, ".")) literal_only = false;
      if (input) {
        add(10, "PHP code from request input (" + n + ")", i);
      } else if (decoded) {
        add(10, "eval of decoded data (" + n + ")", i);
      } else if (!literal_only && n != "assert") {
        add(5, "PHP code built at run time (" + n + ")", i);
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
            if (idx == cb) {
              if (input_in(a, j)) add(10, "a callback named by request input (" + n + ")", i);
              if (callback_hidden(a, j)) add(10, "a callback named in disguise (" + n + ")", i);
            }
            ++idx;
            a = j + 1;
          }
        }
      }
      return;
    }
    if (n == "preg_replace" && at(open + 1).kind == PhpTok::kString) {
      std::string re = at(open + 1).value;
      size_t last = re.find_last_of("/#~|!@%");
      if (!re.empty() && last != std::string::npos && last > 0 &&
          re.substr(last + 1).find('e') != std::string::npos) {
        add(input || decoded ? 10 : 5,
            "preg_replace with the /e modifier (runs the replacement as code)", i);
      }
      return;
    }
    if (in(n, {"file_put_contents", "fwrite", "fputs"}) && input) {
      add(5, "request input written into a file (" + n + ")", i);
      return;
    }
    if (n == "move_uploaded_file" && input) {
      add(2, "an uploaded file stored (move_uploaded_file)", i);
      return;
    }
    if (decoder(n)) {
      // str_rot13('flfgrz'), strrev('metsys'), base64_decode('c3lzdGVt'): a sink in disguise
      if (at(open + 1).kind == PhpTok::kString && close == open + 2) {
        std::string v = at(open + 1).value, d;
        if (n == "str_rot13") {
          for (char c : v)
            d += std::isalpha(static_cast<unsigned char>(c))
                     ? static_cast<char>(
                           (std::tolower(static_cast<unsigned char>(c)) - 'a' + 13) % 26 + 'a')
                     : c;
        } else if (n == "strrev") {
          d.assign(v.rbegin(), v.rend());
        } else if (n == "base64_decode" && v.size() < 64) {
          d = base64_text(v);
        }
        if (!d.empty() && hidden_worthy(d))
          add(10, "a sink's name decoded at run time (" + n + ")", i);
      }
    }
  }

  static std::string base64_text(std::string_view v) {
    static const std::string_view abc =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : v) {
      size_t p = abc.find(c);
      if (p == std::string_view::npos) break;
      acc = (acc << 6) | static_cast<uint32_t>(p);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += static_cast<char>((acc >> bits) & 0xff);
      }
    }
    return out;
  }

  // A callback argument that spells a sink's name in disguise ('sys'.'tem', "\x73ystem").
  bool callback_hidden(size_t a, size_t b) const {
    std::string lit;
    bool disguised = false;
    for (size_t j = a; j < b; ++j) {
      if (t_[j].kind == PhpTok::kString) {
        lit += t_[j].value;
        if (t_[j].text.find('\\') != std::string_view::npos) disguised = true;
      } else if (punct(j, ".")) {
        disguised = true;
      } else {
        return false;
      }
    }
    return disguised && hidden_worthy(lit);
  }

  void scan() {
    scan_range(0, t_.size());
    finish_scan();
  }

  // Functions and methods whose parameters reach a sink: function shell($cmd) { popen($cmd… }.
  // A call passing request input to one of them is then a shell's (one name per file: a
  // method is known by its name alone).
  void summaries() {
    for (int pass = 0; pass < 2; ++pass)  // a wrapper of a wrapper
      for (size_t i = 0; i + 2 < t_.size(); ++i) {
        if (!(t_[i].kind == PhpTok::kName && lower(t_[i].text) == "function")) continue;
        size_t n = i + 1;
        if (punct(n, "&")) ++n;
        if (at(n).kind != PhpTok::kName || !punct(n + 1, "(")) continue;
        std::string name = lower(at(n).text);
        size_t pc = close_of(n + 1);
        size_t body = pc + 1;
        while (body < t_.size() && !punct(body, "{") && !punct(body, ";")) ++body;
        if (!punct(body, "{")) continue;
        size_t end = close_of(body);
        std::vector<std::string> params;
        for (size_t j = n + 2, depth = 0; j < pc; ++j) {
          if (punct(j, "(") || punct(j, "[")) ++depth;
          if (punct(j, ")") || punct(j, "]")) --depth;
          if (depth == 0 && t_[j].kind == PhpTok::kVariable &&
              (params.empty() || params.size() < count_commas(n + 2, j) + 1))
            params.emplace_back(t_[j].text);
        }
        for (size_t p = 0; p < params.size() && p < 8; ++p) {
          auto saved = tainted_;
          const bool all = all_tainted_;
          tainted_.insert(params[p]);
          all_tainted_ = false;
          probing_ = true;
          probe_hit_ = false;
          scan_range(body + 1, end);
          probing_ = false;
          tainted_ = std::move(saved);
          all_tainted_ = all;
          if (probe_hit_) sink_fns_[name].insert(p);
        }
      }
  }
  // Depth-0 commas in [a, b): the index of the argument at b.
  size_t count_commas(size_t a, size_t b) const {
    size_t n = 0;
    int depth = 0;
    for (size_t j = a; j < b; ++j) {
      if (punct(j, "(") || punct(j, "[") || punct(j, "{")) ++depth;
      if (punct(j, ")") || punct(j, "]") || punct(j, "}")) --depth;
      if (depth == 0 && punct(j, ",")) ++n;
    }
    return n;
  }
  // Does an argument of the call whose '(' is at `open`, at a parameter that reaches a sink of
  // `name`, carry request input?
  bool runs_input(const std::string& name, size_t open) const {
    auto it = sink_fns_.find(name);
    if (it == sink_fns_.end()) return false;
    size_t close = close_of(open), a = open + 1, idx = 0;
    int depth = 0;
    for (size_t j = open + 1; j <= close && j < t_.size(); ++j) {
      if (punct(j, "(") || punct(j, "[") || punct(j, "{")) ++depth;
      if (punct(j, ")") || punct(j, "]") || punct(j, "}")) --depth;
      if ((depth == 0 && punct(j, ",")) || j == close) {
        if (it->second.count(idx) && input_in(a, j)) return true;
        ++idx;
        a = j + 1;
      }
    }
    return false;
  }

  // Variables given a value somewhere in the file (assigned, parameters, foreach, global …):
  // one that a sink reads without ever being given one is set by the request where
  // register_globals is on — how PHP 4 shells take their commands.
  void assigned() {
    for (size_t i = 0; i < t_.size(); ++i) {
      if (t_[i].kind != PhpTok::kVariable) continue;
      size_t j = i + 1;
      while (punct(j, "[") || punct(j, "{")) j = close_of(j) + 1;
      const PhpToken& prev = at(i > 0 ? i - 1 : t_.size());
      if (punct(j, "=") || punct(j, ".=") || punct(j, "+=") || punct(j, "-=") || punct(j, "=>") ||
          punct(j, ",") || punct(j, ")") || punct(j, "++") || punct(j, "--") || punct(j, "?\?=") ||
          (prev.kind == PhpTok::kName &&
           in(lower(prev.text),
              {"global", "static", "as", "use", "public", "private", "protected", "var"})) ||
          (prev.kind == PhpTok::kPunct && (prev.text == "&" || prev.text == "...")))
        assigned_.insert(std::string(t_[i].text));
    }
  }
  bool unassigned_in(size_t a, size_t b) const {
    for (size_t j = a; j < b && j < t_.size(); ++j)
      if (t_[j].kind == PhpTok::kVariable && !assigned_.count(std::string(t_[j].text)) &&
          t_[j].text != "$this" && !t_[j].text.starts_with("$_") && t_[j].text != "$GLOBALS")
        return true;
    return false;
  }

  void scan_range(size_t from, size_t to) {
    for (size_t i = from; i < to && i < t_.size(); ++i) {
      const PhpToken& k = t_[i];
      const bool method =
          i > 0 && (punct(i - 1, "->") || punct(i - 1, "::") || punct(i - 1, "?->"));
      const bool declared = i > 0 && at(i - 1).kind == PhpTok::kName &&
                            in(lower(at(i - 1).text), {"function", "fn", "new", "const"});
      if (k.kind == PhpTok::kName && !method && !declared) {
        std::string n = lower(k.text);
        if (include_word(n)) {
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
          if (input_in(i + 1, e, true))
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
          sink_call(n, i, i + 1, c);
        }
        continue;
      }
      if (k.kind == PhpTok::kName && method && punct(i + 1, "(") &&
          runs_input(lower(k.text), i + 1))
        add(10, "request input passed to a method that runs it (" + lower(k.text) + ")", i);
      if (k.kind == PhpTok::kVariable && !method && !declared) {
        // $f(…), $x['f'](…), $_GET['f'](…): a call through a name held in data
        size_t j = i + 1;
        while (punct(j, "[") || punct(j, "{")) j = close_of(j) + 1;
        if (!punct(j, "(")) continue;
        std::string name(k.text);
        if (input_in(i, j)) {
          add(10, "a function called by a name from request input (" + name + "(…))", i);
        } else if (auto it = named_.find(name); it != named_.end()) {
          size_t c = close_of(j);
          add(10, "a function called through a variable holding its name (" + it->second + ")", i);
          sink_call(it->second, i, j, c);
        } else if (decoded_.count(name)) {
          add(10, "a function called by a name decoded at run time (" + name + "(…))", i);
        }
        continue;
      }
      if (k.kind == PhpTok::kString) {
        if (k.shell) {
          if (input_in(i, i + 1))
            add(10, "a shell command in backticks with request input", i);
          else
            add(5, "a shell command in backticks", i);
          continue;
        }
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
        // '<?php system($_GET[c]); ?>' — a web shell written out by this file
        if (k.value.size() < 65536 && k.value.find("<?") != std::string::npos) {
          PhpLex inner = php_lex(k.value, 2000);
          bool sink = false, source = false;
          for (size_t q = 0; q < inner.tokens.size(); ++q) {
            const auto& it = inner.tokens[q];
            if (it.kind == PhpTok::kName) {
              std::string w = lower(it.text);
              sink = sink || command_sink(w) || code_sink(w);
            }
            if (it.kind == PhpTok::kVariable && source_var(it.text)) source = true;
          }
          if (sink && source) add(10, "a web shell's code inside a string (written out)", i);
        }
        // a long encoded blob beside a decoder and something that runs code
        if (k.value.size() >= 2000 && encoded_blob(k.value)) blob_ = i;
        continue;
      }
      if (k.kind == PhpTok::kName) continue;
      // chr(115).chr(121)… — a name built from character codes
      if (k.kind == PhpTok::kPunct && k.text == "(" && i > 0) continue;
    }
  }

  void finish_scan() {
    chr_chains();
    // fsockopen(…) and system('/bin/sh'): a command shell over a network connection
    bool sock = false, cmd = false;
    size_t where = 0;
    for (size_t i = 0; i + 1 < t_.size(); ++i)
      if (t_[i].kind == PhpTok::kName && punct(i + 1, "(")) {
        std::string n = lower(t_[i].text);
        if (in(n, {"fsockopen", "socket_create", "stream_socket_client", "stream_socket_server",
                   "socket_bind", "pfsockopen"}))
          sock = true;
        if (command_sink(n)) {
          cmd = true;
          where = i;
        }
      }
    bool shell_path = false;  // and a shell to run on it
    for (const auto& k : t_)
      if (k.kind == PhpTok::kString)
        for (std::string_view w : {"/bin/sh", "/bin/bash", "cmd.exe", "sh -i"})
          if (lower(k.value).find(w) != std::string::npos) shell_path = true;
    if (sock && cmd && shell_path) add(10, "a command shell over a network connection", where);
    if (blob_ != SIZE_MAX) {
      bool runs = false, decodes = false;
      for (size_t i = 0; i + 1 < t_.size(); ++i)
        if (t_[i].kind == PhpTok::kName && punct(i + 1, "(")) {
          std::string n = lower(t_[i].text);
          runs = runs || code_sink(n) || callback_arg(n) >= 0 || n == "preg_replace";
          decodes = decodes || decoder(n);
        }
      if (decodes) add(runs ? 10 : 5, "a long encoded blob and a decoder", blob_);
    }
  }

  static bool encoded_blob(const std::string& v) {
    size_t good = 0;
    for (char c : v)
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=' ||
          c == '\\')
        ++good;
    bool spaces = v.find(' ') != std::string::npos;
    return !spaces && good * 100 >= v.size() * 97;
  }

  void chr_chains() {
    for (size_t i = 0; i + 3 < t_.size(); ++i) {
      if (!(t_[i].kind == PhpTok::kName && lower(t_[i].text) == "chr" && punct(i + 1, "(")))
        continue;
      if (i > 0 && punct(i - 1, ".")) continue;  // not the start of a chain
      std::string s;
      size_t j = i;
      while (j + 3 < t_.size() && t_[j].kind == PhpTok::kName && lower(t_[j].text) == "chr" &&
             punct(j + 1, "(") && t_[j + 2].kind == PhpTok::kNumber && punct(j + 3, ")")) {
        s += static_cast<char>(std::strtol(std::string(t_[j + 2].text).c_str(), nullptr, 0) & 0xff);
        j += 4;
        if (punct(j, ".")) ++j;
      }
      if (s.size() >= 3 && hidden_worthy(s))
        add(10, fmt::format("a sink's name built from character codes ({})", lower(s)), i);
    }
  }

  // Words of shell tools, weak alone.
  void words() {
    int n = 0;
    for (size_t i = 0; i < t_.size() && n < 3; ++i) {
      if (t_[i].kind != PhpTok::kString) continue;
      std::string v = lower(t_[i].value);
      for (std::string_view w :
           {"uname -a", "/etc/passwd", "filesman", "safe_mode", "b374k", "c99shell", "r57shell",
            "cmd.exe", "/bin/sh", "netstat -an", "whoami", "disable_functions"})
        if (v.find(w) != std::string::npos && n < 3) {
          add(2, fmt::format("shell-tool words ({})", w), i);
          ++n;
          break;
        }
    }
    for (size_t i = 0; i + 2 < t_.size(); ++i)
      if (t_[i].kind == PhpTok::kName && punct(i + 1, "(")) {
        std::string f = lower(t_[i].text);
        if ((f == "error_reporting" && at(i + 2).text == "0") ||
            (f == "set_time_limit" && at(i + 2).text == "0") || f == "ignore_user_abort")
          add(1, "runs silently and without a time limit (" + f + ")", i);
      }
  }

  std::string_view src_, name_;
  std::vector<PhpToken> t_;
  ShellVerdict v_;
  std::unordered_set<std::string> tainted_, decoded_;
  std::map<std::string, std::string> named_;
  std::map<std::string, std::set<size_t>> sink_fns_;  // function → parameters reaching a sink
  std::unordered_set<std::string> assigned_;
  std::set<std::string> defined_;  // functions this file defines
  bool probing_ = false, probe_hit_ = false;
  bool all_tainted_ = false;
  size_t blob_ = SIZE_MAX;
  std::set<std::string> seen_;
};

}  // namespace

ShellVerdict judge_php(std::string_view src, std::string_view name) {
  return Judge(src, name).run();
}

}  // namespace mamori::web
