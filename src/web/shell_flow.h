#pragma once
// The facts the web-shell judgement (shell.cpp) reads off a file's PHP tokens: bracket matches,
// lower-cased names, which variables carry request input or decoded data, which are given a
// value at all; and the verdict it adds signals to. Not a public API.

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/text.h"
#include "web/php_lexer.h"
#include "web/php_words.h"
#include "web/shell.h"

namespace mamori::web::detail {

using namespace php;

class Flow {
 protected:
  Flow(std::string_view src, std::string_view name) : src_(src), name_(name) {}

  const PhpToken& at(size_t i) const {
    static const PhpToken none{PhpTok::kPunct, "", {}, false, false, 0};
    return i < t_.size() ? t_[i] : none;
  }

  bool punct(size_t i, std::string_view p) const {
    if (i >= t_.size() || t_[i].kind != PhpTok::kPunct) return false;
    std::string_view t = t_[i].text;
    if (t.size() != p.size()) return false;
    for (size_t k = 0; k < t.size(); ++k)  // one to three characters: no call to memcmp
      if (t[k] != p[k]) return false;
    return true;
  }

  // The index of the token closing the bracket opened at `i` (or t_.size()).
  size_t close_of(size_t i) const { return i < match_.size() ? match_[i] : t_.size(); }

  // The name token at i in lower case ("" for other tokens).
  const std::string& ln(size_t i) const {
    static const std::string none;
    return i < ln_.size() ? ln_[i] : none;
  }

  // Bracket matches and lower-cased names, once per file (the judgement asks for them often).
  void index() {
    sink_names_.assign(t_.size() + 1, 0);
    match_.assign(t_.size(), t_.size());
    ln_.assign(t_.size(), std::string());
    cls_.assign(t_.size(), 0);
    std::vector<size_t> open;
    // A file names the same few hundred functions over and over: each name is classed once.
    std::unordered_map<std::string, uint8_t> classed;
    for (size_t j = 0; j < t_.size(); ++j) {
      if (t_[j].kind == PhpTok::kName) {
        ln_[j] = lower(t_[j].text);
        if (ln_[j].starts_with('\\')) ln_[j].erase(0, 1);  // \system( is system(
        auto [it, fresh] = classed.try_emplace(ln_[j], 0);
        if (fresh) it->second = name_class(it->first);
        cls_[j] |= it->second;
        continue;
      }
      if (t_[j].kind == PhpTok::kString) {
        if (t_[j].value.size() >= 11 && lower(t_[j].value).find("php://input") != std::string::npos)
          cls_[j] |= kRawInput;
        if (t_[j].value.size() <= 16) {
          std::string v = lower(t_[j].value);
          if (code_sink(v) || command_sink(v)) cls_[j] |= kSinkName;
        }
        continue;
      }
      if (t_[j].kind != PhpTok::kPunct || t_[j].text.size() != 1) continue;
      char c = t_[j].text[0];
      if (c == '(' || c == '[' || c == '{') open.push_back(j);
      if ((c == ')' || c == ']' || c == '}') && !open.empty()) {
        match_[open.back()] = j;
        open.pop_back();
      }
    }
    for (size_t q = 0; q < t_.size(); ++q)  // strings naming a sink, counted up to each token
      sink_names_[q + 1] = sink_names_[q] + ((cls_[q] & kSinkName) ? 1 : 0);
  }

  static uint8_t name_class(const std::string& n) {
    uint8_t c = 0;
    if (decoder(n)) c |= kDecoder;
    if (command_sink(n) || code_sink(n) || decoder(n) || callback_arg(n) >= 0 ||
        in(n, {"preg_replace", "mb_ereg_replace", "mb_eregi_replace", "file_put_contents", "fwrite",
               "fputs", "move_uploaded_file", "mysql_query", "mysqli_query", "pg_query", "mail"}) ||
        file_manager_fn(n))
      c |= kSinkish;
    if (std::string_view(n) == "getallheaders" || std::string_view(n) == "apache_request_headers")
      c |= kHeaders;
    if (std::string_view(n) == "filter_input" || std::string_view(n) == "filter_input_array")
      c |= kFilterInput;
    if (sanitizer(n)) c |= kSanitizer;
    return c;
  }

  // The end of the statement from `i` (its ';' at depth 0, or a closing bracket of the outside).
  // Work done so far, in token visits; past the budget every loop stops early and the file is
  // reported as too costly to judge (a file built to exhaust the judgement is not let through).
  bool spend() const {
    if (++work_ <= kWorkBudget) return false;
    exhausted_ = true;
    return true;
  }
  static constexpr uint64_t kWorkBudget = 20'000'000;  // ~90× the costliest real file
  mutable uint64_t work_ = 0;
  mutable bool exhausted_ = false;

  size_t stmt_end(size_t i) const {
    int depth = 0;
    for (size_t j = i; j < t_.size(); ++j) {
      if (spend()) return t_.size();
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
      if (spend()) return false;
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
                 std::string_view(ln(j)) == "getenv" && at(j + 2).kind == PhpTok::kString &&
                 at(j + 2).value.starts_with("HTTP_")) {
        return true;  // getenv('HTTP_X'): a request header, as CGI passes it
      } else if (k.kind == PhpTok::kName && punct(j + 1, "(") &&
                 ((cls_[j] & kFilterInput) ||
                  (!returns_input_.empty() && returns_input_.count(ln(j))))) {
        return true;  // filter_input(INPUT_GET, 'c'); a function of the file returning input
      } else if (k.kind == PhpTok::kName && (cls_[j] & kSanitizer) && punct(j + 1, "(")) {
        j = close_of(j + 1);  // escapeshellarg($_GET['h']), intval(…): made safe
        continue;
      } else if (k.kind == PhpTok::kPunct && k.text == "$" && at(j + 1).kind == PhpTok::kVariable &&
                 literal_.count(std::string(at(j + 1).text)) &&
                 source_var("$" + literal_.at(std::string(at(j + 1).text)))) {
        return true;  // $g = '_GET'; $$g['c']
      } else if (k.kind == PhpTok::kName && punct(j + 1, "(") && (cls_[j] & kHeaders)) {
        return true;
      } else if (k.kind == PhpTok::kString && k.interpolated && interpolates_input(k)) {
        return true;  // "…$_GET[c]…", "…{$cmd}…"
      } else if (k.kind == PhpTok::kString && (cls_[j] & kRawInput)) {
        return true;
      } else if (k.kind == PhpTok::kPunct && k.text == "$" && punct(j + 1, "{")) {
        // ${"_GET"}, ${'_'.'GET'}, ${$g} with $g = "_GET" (or "`{{{"^"?<>/")
        std::string v;
        if (literal_value(j + 2, close_of(j + 1), v) && source_var("$" + v)) return true;
      }
    }
    return false;
  }

  bool interpolates_input(const PhpToken& k) const {
    for (const std::string& v : interpolated_vars(k.value))
      if (source_var(v) || tainted_.count(v) || (all_tainted_ && v.size() > 1)) return true;
    return false;
  }

  // Does [a, b) decode hidden data (a decoder call, or a variable assigned from one)?
  bool decoded_in(size_t a, size_t b) const {
    for (size_t j = a; j < b && j < t_.size(); ++j) {
      if (spend()) return false;
      const PhpToken& k = t_[j];
      if ((cls_[j] & kDecoder) && punct(j + 1, "(")) return true;
      if (k.kind == PhpTok::kVariable && decoded_.count(std::string(k.text))) return true;
    }
    return false;
  }

  // Variables assigned from request input (or from decoded data), to a fixed point of two passes.
  void taint() {
    for (size_t i = 0; i + 1 < t_.size(); ++i) {
      const PhpToken& k = t_[i];
      if (k.kind == PhpTok::kName && punct(i + 1, "(")) {
        std::string n = ln(i);
        size_t c = close_of(i + 1);
        if (std::string_view(n) == "extract" && input_in(i + 2, c)) {
          all_tainted_ = true;
          add(5, "extract() of request input: every variable can be set by the request", i);
        }
        if (std::string_view(n) == "parse_str" && input_in(i + 2, c))
          for (size_t j = i + 2; j < c; ++j)
            if (t_[j].kind == PhpTok::kVariable) tainted_.insert(std::string(t_[j].text));
        continue;
      }
      if (k.kind == PhpTok::kName && std::string_view(ln(i)) == "foreach" && punct(i + 1, "(")) {
        size_t c = close_of(i + 1);
        size_t as = i + 2;
        while (as < c && !(t_[as].kind == PhpTok::kName && std::string_view(ln(as)) == "as")) ++as;
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
          !decoder(ln(j + 1)) && !passthrough(ln(j + 1)) && !defined_.count(ln(j + 1)))
        cleaned = true;  // (a function of this file may be the shell's own decoder)
      // (int) $_GET['n'] is a number, whatever was sent
      if (at(j + 1).kind == PhpTok::kCast) {
        std::string c = lower(at(j + 1).text);
        for (std::string_view num : {"int", "bool", "float", "double", "real"})
          if (c.find(num) != std::string::npos) cleaned = true;
      }
      if (in(ln(j + 1), {"function", "fn", "static"})) cleaned = true;  // a closure's body
      if (at(j + 1).text == "$_SERVER" && j + 2 == e) tainted_.insert(name);
      if (!cleaned && input_in(j + 1, e)) tainted_.insert(name);
      if (decoded_in(j + 1, e)) decoded_.insert(name);
      // $f = 'sys'.'tem';  $f = "\x73ystem";  — a sink's name kept in a variable
      std::string lit;
      bool only_literals = literal_value(j + 1, e, lit);
      if (only_literals && lit.size() <= 64 && punct(j, "=")) literal_[name] = lit;
      if (only_literals && lower(lit).find("php://input") != std::string::npos)
        tainted_.insert(name);  // $p = '{{{…' ^ …: the request body's name, built
      if (only_literals && hidden_worthy(lit)) named_[name] = lower(lit);
      // $a = join(array_diff(["s","a","ys","tem"], ["a"])): a string computed by string
      // functions — as a function's name, it is one the code does not want to write
      if (!only_literals && punct(j, "=") && at(j + 1).kind == PhpTok::kName && punct(j + 2, "(") &&
          close_of(j + 2) + 1 == e &&
          (decoder(ln(j + 1)) ||
           in(ln(j + 1), {"join", "implode", "substr", "str_replace", "strrev", "strtolower",
                          "strtoupper", "trim", "sprintf", "str_repeat", "ucfirst", "lcfirst"})))
        computed_.insert(name);
    }
  }

  // The text [a, b) always holds, when it is built from literals only: strings and variables
  // holding one, joined by '.', XORed ("`{{{"^"?<>/" is "_GET"), in parentheses, chr(N) (also
  // through a variable holding "chr"); str_replace, strrev, str_rot13 or base64_decode of
  // literals, called by name or through a variable holding the name.
  bool literal_value(size_t a, size_t b, std::string& out, int depth = 0) const {
    out.clear();
    if (a >= b || depth > 8) return false;
    // a whole call of a string function with literal arguments
    if (std::string fn = callee_literal(a); !fn.empty() && close_of(a + 1) + 1 == b)
      return literal_call(fn, a + 1, out, depth);
    // operands joined by '.', and such runs XORed: in PHP '.' binds tighter than '^'
    // ('{{{' ^ chr(11).chr(19).chr(11) is '{{{' ^ (chr(11).chr(19).chr(11)))
    bool first = true;
    for (size_t q = a; q <= b;) {
      size_t e = q;
      for (int d = 0; e < b; ++e) {  // the run: up to a '^' at this depth
        if (punct(e, "(") || punct(e, "[")) ++d;
        if (punct(e, ")") || punct(e, "]")) --d;
        if (d == 0 && punct(e, "^")) break;
      }
      std::string run;
      for (size_t k = q; k < e;) {
        if (punct(k, ".")) {
          ++k;
          continue;
        }
        std::string v;
        size_t next = operand(k, e, v, depth);
        if (next == SIZE_MAX) return false;  // not a literal: nothing more to learn
        run += v;
        k = next;
        if (run.size() > 4096) return false;
      }
      if (first) {
        out = std::move(run);
        first = false;
      } else {
        std::string r;
        for (size_t k = 0; k < std::min(out.size(), run.size()); ++k)
          r += static_cast<char>(out[k] ^ run[k]);
        out = std::move(r);
      }
      if (e >= b) break;
      q = e + 1;
    }
    return !first;
  }

  // The name a call at `a` calls, when it is a name or a variable holding a literal one.
  std::string callee_literal(size_t a) const {
    if (!punct(a + 1, "(")) return "";
    if (at(a).kind == PhpTok::kName) return ln(a);
    if (at(a).kind == PhpTok::kVariable)
      if (auto lv = literal_.find(std::string(at(a).text)); lv != literal_.end())
        return lower(lv->second);
    return "";
  }

  // One operand at q (before b): its text, and where the next token is; SIZE_MAX when it is
  // not a literal.
  size_t operand(size_t q, size_t b, std::string& v, int depth) const {
    if (q >= b) return SIZE_MAX;
    if (t_[q].kind == PhpTok::kString && !t_[q].interpolated) {
      v = t_[q].value;
      return q + 1;
    }
    if (punct(q, "(")) {
      size_t c = close_of(q);
      if (c >= b || !literal_value(q + 1, c, v, depth + 1)) return SIZE_MAX;
      return c + 1;
    }
    if (std::string fn = callee_literal(q); !fn.empty()) {
      size_t c = close_of(q + 1);
      if (c >= b) return SIZE_MAX;
      if (std::string_view(fn) == "chr" && at(q + 2).kind == PhpTok::kNumber && c == q + 3) {
        v = std::string(
            1,
            static_cast<char>(std::strtol(std::string(at(q + 2).text).c_str(), nullptr, 0) & 0xff));
        return c + 1;
      }
      return literal_call(fn, q + 1, v, depth) ? c + 1 : SIZE_MAX;
    }
    if (t_[q].kind == PhpTok::kVariable)
      if (auto lv = literal_.find(std::string(t_[q].text)); lv != literal_.end()) {
        v = lv->second;
        return q + 1;
      }
    return SIZE_MAX;
  }

  // fn(literal, …) with '(' at open: str_replace, strrev, str_rot13, base64_decode, hex2bin.
  bool literal_call(const std::string& fn, size_t open, std::string& out, int depth) const {
    std::vector<std::string> args;
    size_t q = open + 1, c = close_of(open);
    while (q < c && args.size() < 4) {
      size_t e = q;
      for (int d = 0; e < c; ++e) {  // the argument: up to a ',' at this depth
        if (punct(e, "(") || punct(e, "[")) ++d;
        if (punct(e, ")") || punct(e, "]")) --d;
        if (d == 0 && punct(e, ",")) break;
      }
      std::string v;
      if (!literal_value(q, e, v, depth + 1)) return false;
      args.push_back(std::move(v));
      q = e + 1;
    }
    out.clear();
    if ((std::string_view(fn) == "str_replace" || std::string_view(fn) == "str_ireplace") &&
        args.size() == 3) {
      out = args[2];
      if (!args[0].empty())
        for (size_t k = 0; (k = out.find(args[0], k)) != std::string::npos;) {
          out.replace(k, args[0].size(), args[1]);
          k += args[1].size();
        }
      return out.size() <= 256;
    }
    if (args.size() == 1 &&
        (std::string_view(fn) == "strrev" || std::string_view(fn) == "str_rot13" ||
         std::string_view(fn) == "base64_decode")) {
      out = decode_literal(fn, args[0]);
      return !out.empty();
    }
    if (args.size() == 1 && std::string_view(fn) == "hex2bin") {
      out = hex_text(args[0]);
      return !out.empty();
    }
    return false;
  }

  // Is argument `idx` of the call ('(' at open) nothing but request input ($_POST['q'], $q)?
  // return $_GET['c'];  (a request body read whole, as REST frameworks do, does not count)
  bool returns_superglobal(size_t a, size_t b) const {
    for (size_t j = a; j < b && j < t_.size(); ++j)
      if (t_[j].kind == PhpTok::kVariable && source_var(t_[j].text)) return true;
    return false;
  }
  bool whole_arg_is_input(size_t open, size_t close, size_t idx) const {
    size_t a = open + 1, k = 0;
    int depth = 0;
    for (size_t j = open + 1; j <= close; ++j) {
      if (punct(j, "(") || punct(j, "[")) ++depth;
      if (punct(j, ")") || punct(j, "]")) --depth;
      if ((depth == 0 && punct(j, ",")) || j == close) {
        if (k++ == idx) {
          size_t e = a + 1;  // one variable, and its keys
          while (punct(e, "[")) e = close_of(e) + 1;
          // "$query": a string that is nothing but the variable
          if (at(a).kind == PhpTok::kString && at(a).interpolated && e == j) {
            std::string v = at(a).value;
            if (v.size() > 2 && v.front() == '{' && v.back() == '}') v = v.substr(1, v.size() - 2);
            auto vars = interpolated_vars(v);
            return vars.size() == 1 && vars[0] == v && input_in(a, j);
          }
          return at(a).kind == PhpTok::kVariable && e == j && input_in(a, j);
        }
        a = j + 1;
      }
    }
    return false;
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

  // Variables given a value in the file: one a sink reads without that is set by the request
  // under register_globals (how PHP 4 shells take their commands).
  void assigned() {
    for (size_t i = 0; i < t_.size(); ++i) {
      if (t_[i].kind != PhpTok::kVariable) continue;
      size_t j = i + 1;
      while (punct(j, "[") || punct(j, "{")) j = close_of(j) + 1;
      const PhpToken& prev = at(i > 0 ? i - 1 : t_.size());
      if (punct(j, "=") || punct(j, ".=") || punct(j, "+=") || punct(j, "-=") || punct(j, "=>") ||
          punct(j, "++") || punct(j, "--") || punct(j, "?\?=") ||
          (prev.kind == PhpTok::kName &&
           in(lower(prev.text),
              {"global", "static", "as", "use", "public", "private", "protected", "var"})) ||
          (prev.kind == PhpTok::kPunct && (prev.text == "&" || prev.text == "...")))
        assigned_.insert(std::string(t_[i].text));
    }
  }

  // Parameters: function f($a, &$b = 1), fn($x) =>, use ($y), catch (E $e), list($k, $v) =.
  void parameters() {
    for (size_t i = 0; i + 1 < t_.size(); ++i) {
      const std::string& n = ln(i);
      size_t open = SIZE_MAX;
      if ((std::string_view(n) == "function" || std::string_view(n) == "fn") && punct(i + 1, "("))
        open = i + 1;
      if (std::string_view(n) == "function" && at(i + 1).kind == PhpTok::kName && punct(i + 2, "("))
        open = i + 2;
      if (std::string_view(n) == "function" && punct(i + 1, "&") &&
          at(i + 2).kind == PhpTok::kName && punct(i + 3, "("))
        open = i + 3;
      if ((std::string_view(n) == "use" || std::string_view(n) == "catch" ||
           std::string_view(n) == "list") &&
          punct(i + 1, "("))
        open = i + 1;
      if (open == SIZE_MAX) continue;
      for (size_t j = open + 1; j < close_of(open) && j < t_.size(); ++j)
        if (t_[j].kind == PhpTok::kVariable) assigned_.insert(std::string(t_[j].text));
    }
  }

  bool unassigned_in(size_t a, size_t b) const {
    for (size_t j = a; j < b && j < t_.size() && !spend(); ++j)
      if (t_[j].kind == PhpTok::kVariable && !assigned_.count(std::string(t_[j].text)) &&
          t_[j].text != "$this" && !t_[j].text.starts_with("$_") && t_[j].text != "$GLOBALS")
        return true;
    return false;
  }

  std::string_view src_, name_;
  std::vector<PhpToken> t_;
  std::vector<size_t> match_;
  std::vector<std::string> ln_;
  // Per token: what it is to the judgement, computed once.
  static constexpr uint8_t kDecoder = 1, kHeaders = 2, kRawInput = 4, kSinkish = 8, kSinkName = 16,
                           kFilterInput = 32, kSanitizer = 64;
  std::vector<uint8_t> cls_;
  std::vector<uint32_t> sink_names_;
  uint32_t sink_names_before(size_t i) const {
    return sink_names_[std::min(i, sink_names_.size() - 1)];
  }
  ShellVerdict v_;
  std::unordered_set<std::string> tainted_, decoded_;
  std::map<std::string, std::string> named_, literal_;  // variables holding a sink's name / text
  std::set<std::string> computed_;  // variables holding a string string functions computed
  std::unordered_set<std::string> assigned_;
  std::set<std::string> defined_;        // functions this file defines
  std::set<std::string> returns_input_;  // … and those of them that return request input
  bool probing_ = false, probe_hit_ = false;
  bool all_tainted_ = false;
  std::set<std::string> seen_;
};

}  // namespace mamori::web::detail
