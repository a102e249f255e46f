// What the web-shell judgement knows of values before it follows them (shell_flow.h): the text
// a run of literals always holds, as PHP would build it, and the functions of the file that
// return request input.
#include <cstdlib>

#include "web/shell_flow.h"

namespace mamori::web::detail {

// The text [a, b) always holds, when it is built from literals only: strings and variables
// holding one, joined by '.', XORed ("`{{{"^"?<>/" is "_GET"), in parentheses, chr(N) (also
// through a variable holding "chr"); str_replace, strrev, str_rot13 or base64_decode of
// literals, called by name or through a variable holding the name.
bool Flow::literal_value(size_t a, size_t b, std::string& out, int depth) const {
  out.clear();
  if (a >= b || depth > 8 || exhausted_) return false;
  // a whole call of a string function with literal arguments
  if (std::string fn = callee_literal(a); !fn.empty() && close_of(a + 1) + 1 == b)
    return literal_call(fn, a + 1, out, depth);
  // operands joined by '.', and such runs XORed: in PHP '.' binds tighter than '^'
  // ('{{{' ^ chr(11).chr(19).chr(11) is '{{{' ^ (chr(11).chr(19).chr(11)))
  bool first = true;
  for (size_t q = a; q <= b;) {
    size_t e = q;
    for (int d = 0; e < b && !spend(); ++e) {  // the run: up to a '^' at this depth
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
std::string Flow::callee_literal(size_t a) const {
  if (!punct(a + 1, "(")) return "";
  if (at(a).kind == PhpTok::kName) return ln(a);
  if (const std::string* l = literal_of(var(a))) return lower(*l);
  return "";
}

// One operand at q (before b): its text, and where the next token is; SIZE_MAX when it is
// not a literal.
size_t Flow::operand(size_t q, size_t b, std::string& v, int depth) const {
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
      v = std::string(1, static_cast<char>(
                             std::strtol(std::string(at(q + 2).text).c_str(), nullptr, 0) & 0xff));
      return c + 1;
    }
    return literal_call(fn, q + 1, v, depth) ? c + 1 : SIZE_MAX;
  }
  if (const std::string* l = literal_of(var(q))) {
    v = *l;
    return q + 1;
  }
  return SIZE_MAX;
}

// fn(literal, …) with '(' at open: str_replace, strrev, str_rot13, base64_decode, hex2bin.
bool Flow::literal_call(const std::string& fn, size_t open, std::string& out, int depth) const {
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
// Functions of the file that return request input (function h() { return $_GET; }): known
// before values are followed, so that $q = h() carries it.
bool Flow::named_function(size_t i, size_t& name, size_t& body) const {
  if (!(at(i).kind == PhpTok::kName && std::string_view(ln(i)) == "function")) return false;
  name = punct(i + 1, "&") ? i + 2 : i + 1;  // (function &dec(…) returns by reference)
  if (at(name).kind != PhpTok::kName || !punct(name + 1, "(")) return false;
  body = close_of(name + 1) + 1;
  while (body < t_.size() && !spend() && !punct(body, "{") && !punct(body, ";")) ++body;
  return punct(body, "{");  // not an abstract method's or an interface's ';'
}

void Flow::returning_input() {
  for (const Declared& d : declared_) {
    for (size_t r = d.body + 1; r < close_of(d.body) && !spend(); ++r)
      if (std::string_view(ln(r)) == "return" && returns_superglobal(r + 1, stmt_end(r + 1))) {
        returns_input_.insert(ln(d.name));
        break;
      }
  }
}

// An argument that computes a string by concatenating variables (not a literal, a closure).
bool Flow::computed_name(size_t a, size_t b) const {
  if (a + 1 >= b) return false;  // a variable alone is how applications pass callbacks
  bool concat = false, var = false;
  for (size_t j = a; j < b; ++j) {
    if (t_[j].kind == PhpTok::kName &&
        in(ln(j), {"function", "fn", "array", "static", "new", "true", "false", "null"}))
      return false;
    if (punct(j, "[") && j == a) return false;  // [$obj, 'method']
    if (punct(j, ".")) concat = true;
    if (t_[j].kind == PhpTok::kVariable) var = true;
  }
  return concat && var;
}

// A callback argument that spells a sink's name in disguise ('sys'.'tem', "\x73ystem").
bool Flow::callback_hidden(size_t a, size_t b) const {
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

// An assertion ([a, b) compares, negates or calls a function that is not a decoder): PHP 8
// never runs assert's argument as code, and PHP 7 only a string.
bool Flow::assertion(size_t a, size_t b) const {
  for (size_t j = a; j < b; ++j) {
    if (t_[j].kind == PhpTok::kName && punct(j + 1, "(") && !decoder(ln(j)) && !passthrough(ln(j)))
      return true;
    if (t_[j].kind == PhpTok::kName && std::string_view(ln(j)) == "instanceof") return true;
    if (t_[j].kind == PhpTok::kPunct &&
        in(t_[j].text, {"===", "!==", "==", "!=", "<", ">", "<=", ">=", "!", "&&", "||"}))
      return true;
  }
  return false;
}

// Where the first argument of the call ('(' at open) ends: its ',' at depth 0, or close.
size_t Flow::first_arg_end(size_t open, size_t close) const {
  for (size_t j = open + 1; j < close; ++j) {
    if (punct(j, "(") || punct(j, "[") || punct(j, "{"))
      j = close_of(j);
    else if (punct(j, ","))
      return j;
  }
  return close;
}

}  // namespace mamori::web::detail
