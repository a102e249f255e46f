// The words of PHP the judgement knows (php_words.h).
#include "web/php_words.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstdlib>

#include "web/php_lexer.h"

namespace mamori::web::php {

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o)  // ASCII only, no locale: PHP's names are case-insensitive in ASCII
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  return o;
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
    return std::string_view(n) == "array_walk_recursive" ? 1 : 0;
  if (in(n, {"array_filter", "usort", "uasort", "uksort", "array_walk", "array_reduce",
             "preg_replace_callback", "ob_start"}))
    return std::string_view(n) == "ob_start" ? 0 : 1;
  return -1;
}
// Turns hidden data back into text or code.
bool decoder(std::string_view n) {
  return in(n, {"base64_decode", "gzinflate", "gzuncompress", "gzdecode", "str_rot13", "strrev",
                "hex2bin", "convert_uudecode", "urldecode", "rawurldecode", "pack", "bzdecompress",
                "base_convert", "openssl_decrypt", "mcrypt_decrypt"});
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

bool runs_as_php(std::string_view path) {
  std::string n = lower(path.substr(path.rfind('/') + 1));
  for (std::string_view ext : {".php", ".php3", ".php4", ".php5", ".php7", ".php8", ".phtml",
                               ".phar", ".pht", ".phps", ".inc", ".module"})
    if (n.ends_with(ext)) return true;
  return n.find(".php.") != std::string::npos;  // shell.php.jpg runs as PHP on some servers
}

bool is_image_or_text(std::string_view name) {
  std::string n = lower(name);
  for (std::string_view ext :
       {".jpg", ".jpeg", ".png", ".gif", ".ico", ".bmp", ".svg", ".webp", ".txt", ".css", ".js",
        ".log", ".json", ".xml", ".html", ".htm", ".md", ".markdown", ".rst"})
    if (n.ends_with(ext)) return true;
  return false;
}

bool callback_family(std::string_view n) {
  if (callback_arg(n) >= 0) return true;
  // array_udiff, array_intersect_ukey, array_uintersect_assoc …: a user callback last
  // (not array_unique, array_unshift: no callback)
  return in(n, {"array_udiff", "array_udiff_assoc", "array_udiff_uassoc", "array_uintersect",
                "array_uintersect_assoc", "array_uintersect_uassoc", "array_diff_uassoc",
                "array_diff_ukey", "array_intersect_uassoc", "array_intersect_ukey"});
}

std::string base64_text(std::string_view v) {
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

bool encoded_blob(const std::string& v) {
  size_t good = 0;
  for (char c : v)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=' ||
        c == '\\')
      ++good;
  bool spaces = v.find(' ') != std::string::npos;
  return !spaces && good * 100 >= v.size() * 97;
}

std::string hex_text(std::string_view v) {
  if (v.size() % 2 != 0 || v.size() > 8192) return "";
  std::string out;
  for (size_t i = 0; i < v.size(); i += 2) {
    int hi = std::isxdigit(static_cast<unsigned char>(v[i]))
                 ? std::stoi(std::string(1, v[i]), nullptr, 16)
                 : -1;
    int lo = std::isxdigit(static_cast<unsigned char>(v[i + 1]))
                 ? std::stoi(std::string(1, v[i + 1]), nullptr, 16)
                 : -1;
    if (hi < 0 || lo < 0) return "";
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string decode_literal(std::string_view fn, const std::string& v) {
  std::string d;
  if (std::string_view(fn) == "str_rot13") {
    for (char c : v)
      d += std::isalpha(static_cast<unsigned char>(c))
               ? static_cast<char>((std::tolower(static_cast<unsigned char>(c)) - 'a' + 13) % 26 +
                                   'a')
               : c;
  } else if (std::string_view(fn) == "strrev") {
    d.assign(v.rbegin(), v.rend());
  } else if (std::string_view(fn) == "base64_decode" && v.size() < 64) {
    d = base64_text(v);
  }
  return d;
}

namespace {
// The words string_words() looks for: the shell tools' first (in the order shell_tool_word
// reports them), then the shells' paths, then Serv-U's command.
constexpr std::array<std::string_view, 15> kStringWords = {
    "uname -a", "/etc/passwd",       "filesman",  "safe_mode", "b374k",
    "c99shell", "r57shell",          "cmd.exe",   "/bin/sh",   "netstat -an",
    "whoami",   "disable_functions", "/bin/bash", "sh -i",     "site exec"};
constexpr uint32_t kToolWords = 0xfff;  // the first twelve
constexpr uint32_t kShellPaths = (1u << 7) | (1u << 8) | (1u << 12) | (1u << 13);
constexpr uint32_t kSiteExec = 1u << 14;
}  // namespace

uint32_t string_words(std::string_view l) {
  // One pass: at each byte only the words starting with it are compared.
  static constexpr std::array<uint16_t, 256> kFirst = [] {
    std::array<uint16_t, 256> t{};
    for (size_t w = 0; w < kStringWords.size(); ++w)
      t[static_cast<unsigned char>(kStringWords[w][0])] |= static_cast<uint16_t>(1u << w);
    return t;
  }();
  uint32_t found = 0;
  for (size_t p = 0; p < l.size(); ++p)
    for (uint32_t m = kFirst[static_cast<unsigned char>(l[p])] & ~found; m != 0; m &= m - 1) {
      const int w = std::countr_zero(m);
      if (l.substr(p).starts_with(kStringWords[static_cast<size_t>(w)])) found |= 1u << w;
    }
  return found;
}

std::string_view shell_tool_word(uint32_t words) {
  words &= kToolWords;
  return words ? kStringWords[static_cast<size_t>(std::countr_zero(words))] : std::string_view();
}

bool names_shell(uint32_t words) { return (words & kShellPaths) != 0; }
bool names_site_exec(uint32_t words) { return (words & kSiteExec) != 0; }

bool socket_fn(std::string_view n) {
  return in(n, {"fsockopen", "pfsockopen", "socket_create", "socket_bind", "stream_socket_client",
                "stream_socket_server"});
}

bool shell_in_string(std::string_view v) {
  if (v.size() >= 65536 || v.find("<?") == std::string_view::npos) return false;
  PhpLex inner = php_lex(v, 2000);
  bool sink = false, source = false;
  for (const auto& t : inner.tokens) {
    if (t.kind == PhpTok::kName) {
      std::string w = lower(t.text);
      sink = sink || command_sink(w) || code_sink(w);
    }
    source = source || (t.kind == PhpTok::kVariable && source_var(t.text));
  }
  return sink && source;
}

bool code_runs_input(std::string_view v) {
  // "assert($_POST[a]);" in an XSLT document, a create_function body, a string eval'd later
  if (v.size() < 12 || v.size() >= 4096 || v.find("$_") == std::string_view::npos) return false;
  std::string l = lower(v);
  for (std::string_view sink : {"eval", "assert", "system", "exec", "passthru", "shell_exec",
                                "popen", "proc_open", "create_function"}) {
    for (size_t at = l.find(sink); at != std::string::npos; at = l.find(sink, at + 1)) {
      if (at > 0 && (std::isalnum(static_cast<unsigned char>(l[at - 1])) || l[at - 1] == '_'))
        continue;
      size_t p = at + sink.size();
      while (p < l.size() && (l[p] == ' ' || l[p] == '\t')) ++p;
      if (p >= l.size() || l[p] != '(') continue;
      ++p;
      while (p < l.size() && (l[p] == ' ' || l[p] == '@' || l[p] == '(')) ++p;
      // a superglobal's element, then the call closed and the statement ended:
      // "eval($_POST[1]);" is code, "never call eval($_GET) on input" is prose
      for (std::string_view src : {"$_get", "$_post", "$_request", "$_cookie", "$_server"}) {
        if (l.compare(p, src.size(), src) != 0 || p + src.size() >= l.size() ||
            l[p + src.size()] != '[')
          continue;
        size_t close = l.find(')', p + src.size());
        size_t q = close == std::string::npos ? l.size() : close + 1;
        while (q < l.size() && (l[q] == ')' || l[q] == ' ')) ++q;
        if (q < l.size() && l[q] == ';') return true;
      }
    }
  }
  return false;
}

std::vector<std::pair<size_t, std::string>> chr_strings(const std::vector<PhpToken>& t,
                                                        const std::set<std::string>& chr_vars) {
  auto punct = [&](size_t i, char c) {
    return i < t.size() && t[i].kind == PhpTok::kPunct && t[i].text.size() == 1 &&
           t[i].text[0] == c;
  };
  auto chr = [&](size_t i) {
    return i + 3 < t.size() &&
           ((t[i].kind == PhpTok::kName && t[i].text.size() == 3 && (t[i].text[0] | 0x20) == 'c' &&
             (t[i].text[1] | 0x20) == 'h' && (t[i].text[2] | 0x20) == 'r') ||
            (t[i].kind == PhpTok::kVariable && chr_vars.contains(std::string(t[i].text)))) &&
           punct(i + 1, '(') && t[i + 2].kind == PhpTok::kNumber && punct(i + 3, ')');
  };
  std::vector<std::pair<size_t, std::string>> out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (!chr(i) || (i > 0 && punct(i - 1, '.'))) continue;  // the start of a chain only
    std::string s;
    size_t j = i;
    while (chr(j)) {
      s += static_cast<char>(std::strtol(std::string(t[j + 2].text).c_str(), nullptr, 0) & 0xff);
      j += 4;
      if (punct(j, '.')) ++j;
    }
    out.emplace_back(i, std::move(s));
  }
  return out;
}

std::vector<std::string> interpolated_vars(std::string_view v) {
  std::vector<std::string> out;
  for (size_t p = v.find('$'); p != std::string_view::npos; p = v.find('$', p + 1)) {
    size_t e = p + 1;
    while (e < v.size() && (std::isalnum(static_cast<unsigned char>(v[e])) || v[e] == '_')) ++e;
    out.emplace_back(v.substr(p, e - p));
  }
  return out;
}

bool silent_call(std::string_view fn, std::string_view arg) {
  return ((std::string_view(fn) == "error_reporting" || std::string_view(fn) == "set_time_limit") &&
          arg == "0") ||
         std::string_view(fn) == "ignore_user_abort";
}

bool file_manager_fn(std::string_view n) {
  return in(n,
            {"fopen", "unlink", "rmdir", "rename", "chmod", "chown", "copy", "readfile", "opendir",
             "scandir", "mkdir", "touch", "file_get_contents", "highlight_file", "show_source"});
}

bool passthrough(std::string_view n) {
  return in(n, {"trim",
                "ltrim",
                "rtrim",
                "stripslashes",
                "stripcslashes",
                "strval",
                "strtolower",
                "strtoupper",
                "ucfirst",
                "html_entity_decode",
                "htmlspecialchars_decode",
                "str_replace",
                "str_ireplace",
                "substr",
                "implode",
                "join",
                "sprintf",
                "vsprintf",
                "array_pop",
                "array_shift",
                "array_values",
                "current",
                "reset",
                "end",
                "json_decode",
                "unserialize",
                "file_get_contents",
                "getenv",
                "getallheaders",
                "apache_request_headers",
                "filter_input",
                "filter_input_array",
                "fgets",
                "fread",
                "stream_get_contents",
                "escapeshellcmd"});
}

bool name_may_precede_name(std::string_view n) {
  return in(n, {"function",     "new",
                "class",        "use",
                "as",           "instanceof",
                "extends",      "implements",
                "echo",         "return",
                "print",        "include",
                "include_once", "require",
                "require_once", "public",
                "private",      "protected",
                "static",       "abstract",
                "final",        "const",
                "case",         "namespace",
                "interface",    "trait",
                "var",          "global",
                "throw",        "else",
                "elseif",       "and",
                "or",           "xor",
                "insteadof",    "readonly",
                "enum",         "yield",
                "from",         "goto",
                "clone",        "fn",
                "match",        "do",
                "try",          "catch",
                "finally",      "if",
                "while",        "for",
                "foreach",      "switch",
                "break",        "continue",
                "default",      "die",
                "exit",         "list",
                "array",        "isset",
                "unset",        "empty",
                "eval",         "self",
                "parent",       "null",
                "true",         "false",
                "declare",      "endif",
                "endwhile",     "endfor",
                "endforeach",   "endswitch",
                "enddeclare",   "callable",
                "iterable",     "mixed",
                "never",        "void",
                "int",          "float",
                "bool",         "string",
                "object",       "__halt_compiler"});
}

bool sanitizer(std::string_view n) {
  return in(n, {"escapeshellarg",
                "intval",
                "floatval",
                "absint",
                "abs",
                "basename",
                "md5",
                "sha1",
                "hash",
                "crc32",
                "count",
                "strlen",
                "is_numeric",
                "in_array",
                "isset",
                "empty",
                "htmlspecialchars",
                "htmlentities",
                "esc_html",
                "esc_attr",
                "esc_url",
                "sanitize_text_field",
                "sanitize_key",
                "sanitize_file_name",
                "preg_quote",
                "json_encode",
                "urlencode",
                "rawurlencode",
                "mysqli_real_escape_string",
                "wp_verify_nonce",
                "check_admin_referer"});
}

}  // namespace mamori::web::php
