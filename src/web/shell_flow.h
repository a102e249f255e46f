#pragma once
// The facts the web-shell judgement (shell.cpp) reads off a file's PHP tokens: bracket matches,
// lower-cased names, the function scope of each token and the variable each variable token is
// (PHP's variables are local to their function: $cmd in one method is not $cmd in another, except
// through `global` and a closure's `use`), which variables carry request input or decoded data,
// which are given a value at all; and the verdict it adds signals to. Not a public API.

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "web/name_table.h"
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
    return i < ln_.size() && ln_[i] ? *ln_[i] : none;
  }

  // The variable token `i` is (kNoVar for other tokens), and what is known of it.
  static constexpr uint32_t kNoVar = UINT32_MAX;
  uint32_t var(size_t i) const { return i < var_.size() ? var_[i] : kNoVar; }
  static constexpr uint8_t kTainted = 1;   // holds request input
  static constexpr uint8_t kDecoded = 2;   // holds what a decoder made (base64_decode …)
  static constexpr uint8_t kComputed = 4;  // holds a string computed by string functions
  static constexpr uint8_t kAssigned = 8;  // given a value in the file (or a parameter)
  static constexpr uint8_t kObject = 16;   // holds a `new` object
  static constexpr uint8_t kMade = 32;     // holds what $g("", …) made: a function
  static constexpr uint8_t kUpload = 64;   // holds an upload's path ($_FILES[…]['tmp_name'])
  static constexpr uint8_t kNet = 128;     // holds what a network connection the file opened said
  bool has(uint32_t v, uint8_t f) const { return v != kNoVar && (vflag_[v] & f) != 0; }
  void set(uint32_t v, uint8_t f) {
    if (v == kNoVar || (vflag_[v] & f) == f) return;
    vflag_[v] |= f;
    if (f & (kTainted | kDecoded | kComputed | kUpload)) ++learned_;  // (taint()'s fixed point)
  }
  uint64_t learned_ = 0;
  const std::string* literal_of(uint32_t v) const {
    auto it = literal_.find(v);
    return it == literal_.end() ? nullptr : &it->second;
  }
  const std::string* named_of(uint32_t v) const {
    auto it = named_.find(v);
    return it == named_.end() ? nullptr : &it->second;
  }
  // Scope of token i: 0 is the file's top level.
  uint32_t scope(size_t i) const { return i < scope_.size() ? scope_[i] : 0; }

  // Segments of PHP that read as prose (a name after a name, again and again: documentation
  // with a PHP example, where the text after "<?php" is no code) are not judged.
  void drop_prose();
  // Bracket matches, lower-cased names and their classes, scopes, variables and the file's
  // named functions (declared_), once per file.
  void index();
  static bool superglobal(std::string_view name);  // $_GET … $_SESSION, $_SERVER, $GLOBALS
  void decoder_functions();
  // The class of a lower-case name, from the per-thread table (computed once per name) — for
  // names met outside index() (a function named by a variable's value).
  static uint8_t name_class(const std::string& n);
  // … computed: cls_'s bits, and above them kIncludeWord, kSocketWord.
  static uint16_t classify(const std::string& n);
  static constexpr uint16_t kIncludeWord = 256, kSocketWord = 512;

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

  // The end of the statement from `i` (its ';' at depth 0, or a closing bracket of the outside).
  size_t stmt_end(size_t i) const;
  uint32_t line_of(size_t i) const;
  void add(int w, std::string what, size_t tok);

  // Does the range [a, b) carry request input (or, unless `direct`, a variable that does)? A key
  // into another array is not carried: $handlers[$_POST['x']] is a value the server holds.
  bool input_in(size_t a, size_t b, bool direct = false) const;
  bool interpolates_input(size_t j) const;
  bool tmp_upload_in(size_t a, size_t b) const;  // $_FILES[…]['tmp_name']
  bool runs_upload(size_t a, size_t b) const;    // … as the command or an interpreter's script
  bool net_in(size_t a, size_t b) const;         // what a socket of the file said (kNet)
  bool sockets_ = false;                         // the file opens a network connection
  // Does [a, b) decode hidden data (a decoder call, or a variable assigned from one)?
  bool decoded_in(size_t a, size_t b) const;
  // Variables assigned from request input (or from decoded data): one pass; judge_php repeats it
  // until nothing new is learned (at most 8 passes, within the work budget).
  void taint();
  // The text [a, b) always holds, when it is built from literals only (shell_values.cpp).
  bool literal_value(size_t a, size_t b, std::string& out, int depth = 0) const;
  std::string callee_literal(size_t a) const;
  size_t operand(size_t q, size_t b, std::string& v, int depth) const;
  bool literal_call(const std::string& fn, size_t open, std::string& out, int depth) const;
  // An argument that computes a string by concatenating variables; a callback argument that
  // spells a sink's name in disguise; an assertion (not code to run); where a call's first
  // argument ends (shell_values.cpp).
  bool computed_name(size_t a, size_t b) const;
  bool callback_hidden(size_t a, size_t b) const;
  bool assertion(size_t a, size_t b) const;
  size_t first_arg_end(size_t open, size_t close) const;
  // Does token i start a named function with a body (function [&]name(…) [: type] { … })? Then
  // `name` is its name token and `body` its '{' (shell_values.cpp).
  bool named_function(size_t i, size_t& name, size_t& body) const;
  // The file's named functions with a body, in order (index() finds them).
  struct Declared {
    size_t name, body;
  };
  std::vector<Declared> declared_;
  // Functions of the file that return request input (shell_values.cpp).
  void returning_input();
  // return $_GET['c'];  (a request body read whole, as REST frameworks do, does not count)
  bool returns_superglobal(size_t a, size_t b) const;
  // Is argument `idx` of the call ('(' at open) nothing but request input ($_POST['q'], $q)?
  bool whole_arg_is_input(size_t open, size_t close, size_t idx) const;
  // Depth-0 commas in [a, b): the index of the argument at b.
  size_t count_commas(size_t a, size_t b) const;
  // Variables given a value in the file, and parameters: a top-level variable a sink reads
  // without that is set by the request under register_globals (how PHP 4 shells take their
  // commands).
  void assigned();
  void parameters();
  bool unassigned_in(size_t a, size_t b) const;

  // The file as a whole, in one pass (shell_traits.cpp).
  void whole_file_traits();
  void unreadable_names();
  void chr_chains();
  size_t blob_ = SIZE_MAX;  // a long encoded string (scan_range finds it)

  std::string_view src_, name_;
  std::vector<PhpToken> t_;
  std::vector<size_t> match_;
  std::vector<const std::string*> ln_;  // into known_names()
  static NameTable& known_names();      // lower-case name → class, per thread
  std::vector<uint32_t> var_, scope_;
  std::vector<uint8_t> vflag_;              // per variable: kTainted …
  std::vector<std::string_view> var_name_;  // per variable: "$name"
  IdMap var_ids_;                           // scope << 32 | name number → variable
  StringIds name_no_;                       // variable name → name number
  uint32_t lookup(std::string_view name, uint32_t scope) const;
  // Per token: what it is to the judgement, computed once.
  static constexpr uint8_t kDecoder = 1, kHeaders = 2, kRawInput = 4, kSinkish = 8, kSinkName = 16,
                           kFilterInput = 32, kSanitizer = 64,
                           kTrait = 128;  // a name whole_file_traits() looks at
  std::vector<uint16_t> cls_;             // and kIncludeWord, kSocketWord for names
  std::vector<uint32_t> sink_names_;
  uint32_t sink_names_before(size_t i) const {  // (after index(): sink_names_ is never empty)
    return sink_names_[std::min(i, sink_names_.size() - 1)];
  }
  ShellVerdict v_;
  // Variables holding a sink's name, and those holding a literal text.
  std::unordered_map<uint32_t, std::string> named_, literal_;
  std::set<std::string> defined_;        // functions this file defines
  std::set<std::string> props_;          // properties given request input ($o->cmd = $_GET…)
  std::set<std::string> returns_input_;  // … and those of them that return request input
  // summaries() probes a function's body with its parameters tainted: signals are not added
  // then, probe_hit_ only records that one would have been.
  bool probing_ = false, probe_hit_ = false;
  bool all_tainted_ = false;
  bool includes_ = false;       // the file includes others (a variable may come from them)
  std::set<std::string> seen_;  // signals already added: the same one on another line is not
};

}  // namespace mamori::web::detail
