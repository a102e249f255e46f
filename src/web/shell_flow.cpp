// The facts the web-shell judgement reads off a file's tokens (shell_flow.h).
#include "web/shell_flow.h"

#include <fmt/format.h>

#include <cstdlib>

#include "core/text.h"

namespace mamori::web::detail {

void Flow::drop_prose() {
  // Segments: from an opening tag to its ?> (a ';' the lexer wrote for it) or the end.
  auto ascii_name = [&](size_t j) {
    if (t_[j].kind != PhpTok::kName) return false;
    for (unsigned char c : t_[j].text)
      if (c >= 0x80) return false;
    return true;
  };
  std::vector<std::pair<size_t, size_t>> prose;  // [from, to) of each
  size_t from = 0;
  for (size_t i = 0; i <= t_.size(); ++i) {
    const bool end = i == t_.size() || (t_[i].kind == PhpTok::kPunct && t_[i].text == ";" &&
                                        t_[i].offset < src_.size() && src_[t_[i].offset] == '?');
    if (!end) continue;
    const size_t to = std::min(i + 1, t_.size());
    size_t names = 0, pairs = 0;
    bool code = false;  // what a shell needs: a call that runs something, an include
    for (size_t j = from; j < to && !code; ++j) {
      const PhpToken& k = t_[j];
      if (k.kind == PhpTok::kVariable)
        code = j + 1 < to && t_[j + 1].kind == PhpTok::kPunct && t_[j + 1].text == "(";
      // (backticks are not counted: in documents they are markup, `$cfg['x']` included)
      if (k.kind == PhpTok::kName) {
        std::string w = lower(k.text);
        // include followed by a path, not by a word ("you can include additional themes")
        if (include_word(w) && j + 1 < to &&
            ((t_[j + 1].kind == PhpTok::kString && !t_[j + 1].shell) ||
             t_[j + 1].kind == PhpTok::kVariable ||
             (t_[j + 1].kind == PhpTok::kPunct && t_[j + 1].text == "(") ||
             (t_[j + 1].kind == PhpTok::kName && j + 2 < to && t_[j + 2].kind == PhpTok::kPunct &&
              (t_[j + 2].text == "(" || t_[j + 2].text == "."))))
          code = true;
        // (a call of what runs code or writes files; "a copy (see …)" is prose)
        if (j + 1 < to && t_[j + 1].kind == PhpTok::kPunct && t_[j + 1].text == "(" &&
            (command_sink(w) || code_sink(w) || callback_arg(w) >= 0 ||
             in(w, {"preg_replace", "file_put_contents", "move_uploaded_file", "fwrite", "fputs"})))
          code = true;
      }
      // a pair of names neither of which is a keyword or operator (CONST or CONST is PHP)
      if (ascii_name(j)) {
        ++names;
        if (j + 1 < to && ascii_name(j + 1) && !name_may_precede_name(lower(k.text)) &&
            !name_may_precede_name(lower(t_[j + 1].text)))
          ++pairs;
      }
    }
    // prose: PHP would refuse the file; the judgement skips the text (never code a shell needs)
    if (!code && names >= 20 && pairs * 10 > names * 3) prose.emplace_back(from, to);
    from = to;
  }
  if (prose.empty()) return;
  std::vector<PhpToken> kept;
  size_t p = 0;
  for (size_t j = 0; j < t_.size(); ++j) {
    while (p < prose.size() && j >= prose[p].second) ++p;
    if (p < prose.size() && j >= prose[p].first) continue;
    kept.push_back(std::move(t_[j]));
  }
  t_ = std::move(kept);
}

void Flow::index() {
  const size_t n = t_.size();
  sink_names_.assign(n + 1, 0);
  match_.assign(n, n);
  ln_.assign(n, nullptr);
  cls_.assign(n, 0);
  std::vector<size_t> open;
  // A file names the same few hundred functions over and over: each name is lower-cased and
  // classed once, and its tokens point at that one copy.
  NameTable& known = known_names();
  if (known.size() > 50'000) known.clear();
  for (size_t j = 0; j < n; ++j) {
    if (t_[j].kind == PhpTok::kName) {
      std::string_view text = t_[j].text;
      if (text.starts_with('\\')) text.remove_prefix(1);  // \system( is system(
      const NameTable::Entry e = known.find_or_add(text, classify);
      ln_[j] = e.name;
      cls_[j] |= e.cls;
      includes_ = includes_ || (e.cls & kIncludeWord) != 0;
      sockets_ = sockets_ || (e.cls & kSocketWord) != 0;
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
  for (size_t q = 0; q < n; ++q)  // strings naming a sink, counted up to each token
    sink_names_[q + 1] = sink_names_[q] + ((cls_[q] & kSinkName) ? 1 : 0);

  // Scopes: a function's parameters and body are its own. `global $x` and a closure's
  // `use ($x)` make the name there the same variable as outside.
  scope_.assign(n, 0);
  var_.assign(n, kNoVar);
  auto key = [&](std::string_view nm, uint32_t s) {
    if (superglobal(nm)) s = 0;  // the superglobals are everywhere
    return (static_cast<uint64_t>(s) << 32) | name_no_.id(nm);
  };
  auto resolve = [&](std::string_view nm, uint32_t s) {
    bool fresh = false;
    const uint32_t v = var_ids_.at(key(nm, s), static_cast<uint32_t>(var_name_.size()), fresh);
    if (fresh) var_name_.push_back(nm);
    return v;
  };
  bool added = false;  // (global $x, use ($x): the name here is the variable outside)
  struct Open {
    uint32_t id;
    size_t end;
  };
  std::vector<Open> scopes;
  uint32_t next_scope = 1;
  for (size_t i = 0; i < n; ++i) {
    while (!scopes.empty() && i > scopes.back().end) scopes.pop_back();
    const uint32_t cur = scopes.empty() ? 0 : scopes.back().id;
    scope_[i] = cur;
    if (t_[i].kind == PhpTok::kVariable) {
      var_[i] = resolve(t_[i].text, cur);
      continue;
    }
    if (t_[i].kind != PhpTok::kName) continue;
    if (std::string_view(ln(i)) == "global" && cur != 0) {
      for (size_t j = i + 1; j < n && !punct(j, ";"); ++j)
        if (t_[j].kind == PhpTok::kVariable)
          var_ids_.at(key(t_[j].text, cur), 0, added) = resolve(t_[j].text, 0);
      continue;
    }
    if (std::string_view(ln(i)) != "function") continue;
    size_t p = i + 1;
    if (punct(p, "&")) ++p;
    if (at(p).kind == PhpTok::kName) ++p;
    if (!punct(p, "(")) continue;
    size_t b = close_of(p) + 1, use = SIZE_MAX;
    if (std::string_view(ln(b)) == "use" && punct(b + 1, "(")) {
      use = b + 1;
      b = close_of(b + 1) + 1;
    }
    for (int k = 0; k < 16 && b < n && !punct(b, "{") && !punct(b, ";"); ++k) ++b;  // : ?Type
    if (!punct(b, "{")) continue;  // abstract, or an interface's
    const uint32_t s = next_scope++;
    if (use != SIZE_MAX)
      for (size_t j = use + 1; j < close_of(use) && j < n; ++j)
        if (t_[j].kind == PhpTok::kVariable)
          var_ids_.at(key(t_[j].text, s), 0, added) = resolve(t_[j].text, cur);
    scopes.push_back({s, close_of(b)});
  }
  vflag_.assign(var_name_.size(), 0);
  declared_.clear();
  for (size_t i = 0, nm = 0, body = 0; i + 2 < n; ++i)
    if (t_[i].kind == PhpTok::kName && named_function(i, nm, body)) declared_.push_back({nm, body});
}

bool Flow::superglobal(std::string_view nm) {
  if (nm.size() < 3 || (nm[1] != '_' && nm[1] != 'G' && nm[1] != 'H')) return false;
  return source_var(nm) || in(nm, {"$GLOBALS", "$_SESSION", "$_SERVER", "$_ENV"});
}

void Flow::decoder_functions() {
  // function O($D) { return base64_decode($D); }: the file's own decoder, known by its name
  // (none in a file that calls no decoder at all)
  if (std::none_of(cls_.begin(), cls_.end(), [](uint16_t c) { return (c & kDecoder) != 0; }))
    return;
  std::set<std::string> fns;
  for (const Declared& d : declared_) {
    for (size_t r = d.body + 1; r < close_of(d.body) && !spend(); ++r)
      if (std::string_view(ln(r)) == "return" && decoded_in(r + 1, stmt_end(r + 1))) {
        fns.insert(ln(d.name));
        break;
      }
  }
  if (fns.empty()) return;
  for (size_t j = 0; j + 1 < t_.size(); ++j)
    if (t_[j].kind == PhpTok::kName && punct(j + 1, "(") && fns.count(ln(j))) cls_[j] |= kDecoder;
}

uint32_t Flow::lookup(std::string_view nm, uint32_t s) const {
  if (superglobal(nm)) s = 0;
  const uint32_t no = name_no_.find(nm);
  if (no == UINT32_MAX) return kNoVar;
  const uint32_t* v = var_ids_.find((static_cast<uint64_t>(s) << 32) | no);
  return v ? *v : kNoVar;
}

NameTable& Flow::known_names() {
  // Files name the same functions (esc_html, __, array_map …): each is lower-cased and classed
  // once per thread. Cleared between files past 50,000 names (files of endless made-up names),
  // never during one: index() keeps pointers to its keys.
  thread_local NameTable known;
  return known;
}

uint8_t Flow::name_class(const std::string& n) {
  return static_cast<uint8_t>(known_names().find_or_add(n, classify).cls);
}

uint16_t Flow::classify(const std::string& n) {
  uint16_t c = 0;
  if (include_word(n)) c |= kIncludeWord;
  if (socket_fn(n)) c |= kSocketWord;
  if (decoder(n)) c |= kDecoder;
  if (command_sink(n) || code_sink(n) || decoder(n) || callback_family(n) ||
      in(n, {"preg_replace", "mb_ereg_replace", "mb_eregi_replace", "file_put_contents", "fwrite",
             "fputs", "move_uploaded_file", "mysql_query", "mysql_db_query", "mysqli_query",
             "pg_query", "mail"}) ||
      file_manager_fn(n))
    c |= kSinkish;
  if (std::string_view(n) == "getallheaders" || std::string_view(n) == "apache_request_headers")
    c |= kHeaders;
  if (std::string_view(n) == "filter_input" || std::string_view(n) == "filter_input_array")
    c |= kFilterInput;
  if (sanitizer(n)) c |= kSanitizer;
  if (socket_fn(n) || command_sink(n) || code_sink(n) || callback_arg(n) >= 0 || decoder(n) ||
      in(n,
         {"socket_bind", "socket_listen", "stream_socket_server", "preg_replace", "error_reporting",
          "set_time_limit", "ignore_user_abort", "opendir", "scandir", "glob", "fopen", "mail"}))
    c |= kTrait;
  return c;
}

size_t Flow::stmt_end(size_t i) const {
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

uint32_t Flow::line_of(size_t i) const {
  if (i >= t_.size()) return 0;
  uint32_t off = t_[i].offset;
  return static_cast<uint32_t>(std::count(src_.begin(), src_.begin() + off, '\n') + 1);
}

void Flow::add(int w, std::string what, size_t tok) {
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

bool Flow::input_in(size_t a, size_t b, bool direct) const {
  for (size_t j = a; j < b && j < t_.size(); ++j) {
    if (spend()) return false;
    const PhpToken& k = t_[j];
    if (k.kind == PhpTok::kVariable) {
      const bool carried = !direct && (has(var_[j], kTainted) || all_tainted_);
      // $_FILES[…]['tmp_name'], ['size'], ['error']: the server's facts of an upload (its
      // content counts where it is run: tmp_upload_in)
      if (k.text == "$_FILES" && punct(j + 1, "[") && punct(close_of(j + 1) + 1, "[") &&
          in(at(close_of(j + 1) + 2).value, {"tmp_name", "size", "error"})) {
        j = close_of(close_of(j + 1) + 1);
        continue;
      }
      if ((source_var(k.text) || carried) && k.text != "$this") return true;
      if (!direct && !props_.empty() && punct(j + 1, "->") && at(j + 2).kind == PhpTok::kName &&
          !punct(j + 3, "(") && props_.count(ln(j + 2)))
        return true;
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
          (source_var("$" + at(j + 2).value) ||
           (!direct && has(lookup("$" + at(j + 2).value, 0), kTainted))))
        return true;  // $GLOBALS['_GET'], and $GLOBALS['c'] for a global $c the request set
    } else if (probing_ && k.kind == PhpTok::kName && punct(j + 1, "(") &&
               in(ln(j), {"func_get_arg", "func_get_args"})) {
      return true;  // a function's arguments, read without naming them
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
    } else if (k.kind == PhpTok::kPunct && k.text == "$" && at(j + 1).kind == PhpTok::kVariable) {
      if (const std::string* l = literal_of(var(j + 1)); l && source_var("$" + *l))
        return true;  // $g = '_GET'; $$g['c']
    } else if (k.kind == PhpTok::kName && punct(j + 1, "(") && (cls_[j] & kHeaders)) {
      return true;
    } else if (k.kind == PhpTok::kString && k.interpolated && interpolates_input(j)) {
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

bool Flow::runs_upload(size_t a, size_t b) const {
  // system("php " . $_FILES['f']['tmp_name']): the upload run as the program or by an
  // interpreter; exec('convert ' . escapeshellarg($tmp)) hands it to a tool as data
  std::string before;
  bool quoted = false;  // escapeshellarg(…): a path given as data, unless to an interpreter
  for (size_t j = a; j < b && j < t_.size(); ++j) {
    if (t_[j].kind == PhpTok::kString) before = lower(t_[j].value);
    if (t_[j].kind == PhpTok::kName && (cls_[j] & kSanitizer)) quoted = true;
    if (!tmp_upload_in(j, j + 1)) continue;
    while (!before.empty() && before.back() == ' ') before.pop_back();
    for (std::string_view w :
         {"php", "sh", "bash", "dash", "perl", "python", "python3", "ruby", "node", "source", "."})
      if (before.ends_with(w) &&
          (before.size() == w.size() || before[before.size() - w.size() - 1] == ' ' ||
           before[before.size() - w.size() - 1] == '/'))
        return true;
    return before.empty() && !quoted;
  }
  return false;
}

bool Flow::net_in(size_t a, size_t b) const {
  for (size_t j = a; j < b && j < t_.size(); ++j) {
    if (has(var(j), kNet)) return true;
    if (t_[j].kind == PhpTok::kString && t_[j].interpolated)
      for (const std::string& v : interpolated_vars(t_[j].value))
        if (has(lookup(v, scope(j)), kNet)) return true;
  }
  return false;
}

bool Flow::tmp_upload_in(size_t a, size_t b) const {
  for (size_t j = a; j < b && j < t_.size(); ++j) {
    if (t_[j].text == "$_FILES" && punct(j + 1, "[") && punct(close_of(j + 1) + 1, "[") &&
        at(close_of(j + 1) + 2).value == "tmp_name")
      return true;
    if (has(var(j), kUpload)) return true;  // $p = $_FILES['f']['tmp_name']
  }
  return false;
}

bool Flow::interpolates_input(size_t j) const {
  for (const std::string& v : interpolated_vars(t_[j].value))
    if (source_var(v) || has(lookup(v, scope(j)), kTainted) || (all_tainted_ && v.size() > 1))
      return true;
  return false;
}

bool Flow::decoded_in(size_t a, size_t b) const {
  for (size_t j = a; j < b && j < t_.size(); ++j) {
    if (spend()) return false;
    if ((cls_[j] & kDecoder) && punct(j + 1, "(")) return true;
    if (has(var(j), kDecoded)) return true;
  }
  return false;
}

void Flow::taint() {
  for (size_t i = 0; i + 1 < t_.size() && !exhausted_; ++i) {
    const PhpToken& k = t_[i];
    if (k.kind == PhpTok::kName && punct(i + 1, "(")) {
      const std::string& n = ln(i);
      size_t c = close_of(i + 1);
      if (std::string_view(n) == "extract" && input_in(i + 2, c)) {
        all_tainted_ = true;
        add(5, "extract() of request input: every variable can be set by the request", i);
      }
      if (std::string_view(n) == "parse_str" && input_in(i + 2, c))
        for (size_t j = i + 2; j < c; ++j) set(var(j), kTainted);
      if (std::string_view(n) == "foreach") {
        size_t as = i + 2;
        while (as < c && !spend() &&
               !(t_[as].kind == PhpTok::kName && std::string_view(ln(as)) == "as"))
          ++as;
        if (as < c && input_in(i + 2, as))
          for (size_t j = as + 1; j < c; ++j) set(var(j), kTainted);
        // foreach (array('_POST', '_GET') as $r): $r names an input array ($$r is one)
        if (as < c && var(c - 1) != kNoVar)
          for (size_t j = i + 2; j < as; ++j)
            if (t_[j].kind == PhpTok::kString && !t_[j].interpolated &&
                source_var("$" + t_[j].value)) {
              literal_[var(c - 1)] = t_[j].value;
              break;
            }
      }
      continue;
    }
    // $$k = $v, ${$k} = $v with $k a request's key: the request names the variables it sets
    // (register_globals, rebuilt by hand)
    // (${"s" . $i} = $_key: a variable of a computed name given request input, the same)
    if (k.kind == PhpTok::kPunct && k.text == "$" && !all_tainted_) {
      const bool braced = punct(i + 1, "{");
      size_t v = braced ? i + 2 : i + 1;
      size_t after = braced ? close_of(i + 1) + 1 : i + 2;
      std::string lit;
      if (punct(after, "=") &&
          (has(var(v), kTainted) || (!(braced && literal_value(i + 2, close_of(i + 1), lit)) &&
                                     input_in(after + 1, stmt_end(after + 1))))) {
        all_tainted_ = true;
        add(5, "variables named by the request ($$k = …): every variable can be set by it", i);
      }
      continue;
    }
    if (k.kind != PhpTok::kVariable) continue;
    // $obj->shell = $_REQUEST['shell']: the property, by name, carries input (system($this->shell))
    if (punct(i + 1, "->") && at(i + 2).kind == PhpTok::kName && punct(i + 3, "=") &&
        std::string_view(ln(i + 4)) != "new" && input_in(i + 4, stmt_end(i + 4))) {
      props_.insert(ln(i + 2));
      continue;
    }
    // $v = …;  $v .= …;  $v['k'] = …;
    size_t j = i + 1;
    while (punct(j, "[") || punct(j, "{")) j = close_of(j) + 1;
    if (!(punct(j, "=") || punct(j, ".="))) continue;
    if (in(ln(j + 1), {"function", "fn", "static"})) continue;  // a closure: its body is its own
    size_t e = stmt_end(j + 1);
    const uint32_t name = var_[i];
    // A whole right side that is a call to something else than a decoder cleans the value
    // (intval($_GET['id']), basename(…), sanitize_text_field(…), $container->get($id)).
    bool cleaned = false, object = false;
    if (at(j + 1).kind == PhpTok::kName && punct(j + 2, "(") && close_of(j + 2) + 1 == e &&
        !decoder(ln(j + 1)) && !passthrough(ln(j + 1)) && !defined_.count(ln(j + 1)))
      cleaned = true;  // (a function of this file may be the shell's own decoder)
    if (at(j + 1).kind == PhpTok::kVariable || at(j + 1).kind == PhpTok::kName) {
      size_t q = j + 2;
      std::string method;
      while (q < e && (punct(q, "->") || punct(q, "::") || punct(q, "?->")) &&
             at(q + 1).kind == PhpTok::kName) {
        q += 2;
        if (punct(q, "(")) {
          method = ln(q - 1);
          q = close_of(q) + 1;
        } else {
          method.clear();
        }
      }
      // what another object's method returns (of a class not in this file) is its own
      if (q == e && !method.empty() && !decoder(method) && !defined_.count(method) &&
          !has(var(j + 1), kTainted))  // (a tainted object's methods hand back its data)
        object = true;
    }
    if (std::string_view(ln(j + 1)) == "new") {  // an object, not the request's text …
      object = !input_in(j + 2, e, true);        // … unless made of it (new ArrayObject($_GET))
      set(name, kObject);
    }
    cleaned = cleaned || object;
    // (int) $_GET['n'] is a number, whatever was sent
    if (at(j + 1).kind == PhpTok::kCast) {
      std::string c = lower(at(j + 1).text);
      for (std::string_view num : {"int", "bool", "float", "double", "real"})
        if (c.find(num) != std::string::npos) cleaned = true;
    }
    if (at(j + 1).text == "$_SERVER" && j + 2 == e) set(name, kTainted);
    // the path of an upload, and what it holds: the request's
    if (tmp_upload_in(j + 1, e)) set(name, kUpload);
    // $line = fgets($sock): what the other end of a connection the file opened says — a
    // reverse shell's commands
    if (sockets_ && at(j + 1).kind == PhpTok::kName && punct(j + 2, "(") &&
        in(ln(j + 1), {"fgets", "fread", "fgetc", "socket_read", "stream_get_line", "socket_recv"}))
      set(name, kNet);  // (its content counts where it is run)
    // $f = $g("", $code): create_function's signature, called through a variable
    if (at(j + 1).kind == PhpTok::kVariable && punct(j + 2, "(") && close_of(j + 2) + 1 == e &&
        at(j + 3).kind == PhpTok::kString && at(j + 3).value.empty() && punct(j + 4, ","))
      set(name, kMade);
    if (!cleaned && input_in(j + 1, e)) {
      set(name, kTainted);
      if (k.text == "$GLOBALS" && punct(i + 1, "[") && at(i + 2).kind == PhpTok::kString)
        set(lookup("$" + at(i + 2).value, 0), kTainted);  // $GLOBALS['c'] = …: the global $c
    }
    if (!object && decoded_in(j + 1, e)) set(name, kDecoded);
    // $f = 'sys'.'tem';  $f = "\x73ystem";  — a sink's name kept in a variable
    std::string lit;
    bool only_literals = literal_value(j + 1, e, lit);
    if (only_literals && lit.size() <= 64 && punct(j, "=")) literal_[name] = lit;
    if (only_literals && lower(lit).find("php://input") != std::string::npos)
      set(name, kTainted);  // $p = '{{{…' ^ …: the request body's name, built
    if (only_literals && hidden_worthy(lit)) named_[name] = lower(lit);
    // $a = join(array_diff(["s","a","ys","tem"], ["a"])): a string computed by string
    // functions — as a function's name, it is one the code does not want to write
    if (!only_literals && punct(j, "=") && at(j + 1).kind == PhpTok::kName && punct(j + 2, "(") &&
        close_of(j + 2) + 1 == e &&
        (decoder(ln(j + 1)) ||
         in(ln(j + 1), {"join", "implode", "substr", "str_replace", "strrev", "strtolower",
                        "strtoupper", "trim", "sprintf", "str_repeat", "ucfirst", "lcfirst"})))
      set(name, kComputed);
  }
}
bool Flow::returns_superglobal(size_t a, size_t b) const {
  for (size_t j = a; j < b && j < t_.size(); ++j)
    if (t_[j].kind == PhpTok::kVariable && source_var(t_[j].text)) return true;
  return false;
}
bool Flow::whole_arg_is_input(size_t open, size_t close, size_t idx) const {
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
size_t Flow::count_commas(size_t a, size_t b) const {
  size_t n = 0;
  int depth = 0;
  for (size_t j = a; j < b; ++j) {
    if (punct(j, "(") || punct(j, "[") || punct(j, "{")) ++depth;
    if (punct(j, ")") || punct(j, "]") || punct(j, "}")) --depth;
    if (depth == 0 && punct(j, ",")) ++n;
  }
  return n;
}

void Flow::assigned() {
  for (size_t i = 0; i < t_.size(); ++i) {
    if (t_[i].kind != PhpTok::kVariable) continue;
    size_t j = i + 1;
    while (punct(j, "[") || punct(j, "{")) j = close_of(j) + 1;
    const PhpToken& prev = at(i > 0 ? i - 1 : t_.size());
    if (punct(j, "=") || punct(j, ".=") || punct(j, "+=") || punct(j, "-=") || punct(j, "=>") ||
        punct(j, "++") || punct(j, "--") || punct(j, "?\?=") ||
        (prev.kind == PhpTok::kName && i > 0 &&
         in(ln(i - 1),
            {"global", "static", "as", "use", "public", "private", "protected", "var"})) ||
        (prev.kind == PhpTok::kPunct && (prev.text == "&" || prev.text == "...")) ||
        // preg_match($re, $s, $m), exec($c, $out): a later argument a call may fill
        (prev.kind == PhpTok::kPunct && prev.text == "," && (punct(j, ")") || punct(j, ","))))
      set(var_[i], kAssigned);
  }
}

void Flow::parameters() {
  for (size_t i = 0; i + 1 < t_.size(); ++i) {
    if (t_[i].kind != PhpTok::kName) continue;
    const std::string& n = ln(i);
    size_t open = SIZE_MAX;
    if ((std::string_view(n) == "function" || std::string_view(n) == "fn") && punct(i + 1, "("))
      open = i + 1;
    if (std::string_view(n) == "function" && at(i + 1).kind == PhpTok::kName && punct(i + 2, "("))
      open = i + 2;
    if (std::string_view(n) == "function" && punct(i + 1, "&") && at(i + 2).kind == PhpTok::kName &&
        punct(i + 3, "("))
      open = i + 3;
    if ((std::string_view(n) == "use" || std::string_view(n) == "catch" ||
         std::string_view(n) == "list") &&
        punct(i + 1, "("))
      open = i + 1;
    if (open == SIZE_MAX) continue;
    for (size_t j = open + 1; j < close_of(open) && j < t_.size(); ++j) set(var(j), kAssigned);
  }
}

bool Flow::unassigned_in(size_t a, size_t b) const {
  // Only at the top level, of a file that includes nothing: register_globals set no function's
  // variables, and an included file may set the top level's.
  if (includes_) return false;
  for (size_t j = a; j < b && j < t_.size() && !spend(); ++j)
    if (t_[j].kind == PhpTok::kVariable && scope(j) == 0 && !has(var_[j], kAssigned) &&
        t_[j].text != "$this" && !t_[j].text.starts_with("$_") && t_[j].text != "$GLOBALS")
      return true;
  return false;
}

}  // namespace mamori::web::detail
