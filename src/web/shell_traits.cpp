// What the web-shell judgement reads off a file as a whole, in one pass over its tokens (the
// calls and strings it holds, wherever they are): a command shell on a socket, a dropper that
// mails home, a defacement, session theft, names spelled in character codes, the words of shell
// tools. See shell_flow.h.
#include <fmt/format.h>

#include <set>

#include "core/text.h"
#include "web/shell_flow.h"

namespace mamori::web::detail {

void Flow::whole_file_traits() {
  // $c = chr(101).chr(118)…: code that runs request input, assembled in a variable
  for (const auto& [v, text] : literal_)
    if (code_runs_input(text)) {
      add(10,
          "code that runs request input, assembled in a variable (" + std::string(var_name_[v]) +
              ")",
          0);
      break;
    }
  chr_chains();

  bool sock = false, cmd = false, shell_path = false, site_exec = false, binds = false;
  bool tmp_listed = false, sess = false, runs = false, decodes = false, forever = false;
  size_t cmd_at = 0, listen_at = SIZE_MAX, mail_at = SIZE_MAX, deface_at = SIZE_MAX;
  std::set<std::string> server_keys;
  int tool_words = 0;
  std::string low;
  for (size_t i = 0; i < t_.size(); ++i) {
    const PhpToken& k = t_[i];
    if (k.kind == PhpTok::kString) {
      sess = sess || k.value == "sess_";
      if (k.value.size() < 5) continue;  // shorter than every word below
      low.assign(k.value);
      for (char& c : low)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
      const uint32_t words = string_words(low);
      if (words == 0) continue;
      shell_path = shell_path || names_shell(words);
      site_exec = site_exec || names_site_exec(words);
      if (tool_words < 3)  // words of shell tools, weak alone
        if (std::string_view w = shell_tool_word(words); !w.empty()) {
          add(2, fmt::format("shell-tool words ({})", w), i);
          ++tool_words;
        }
      continue;
    }
    if (k.kind == PhpTok::kVariable && k.text == "$_SERVER" && punct(i + 1, "[") &&
        at(i + 2).kind == PhpTok::kString &&
        in(at(i + 2).value, {"DOCUMENT_ROOT", "SCRIPT_FILENAME", "SERVER_ADDR", "PATH_TRANSLATED",
                             "SERVER_SOFTWARE"}))
      server_keys.insert(at(i + 2).value);
    if (k.kind != PhpTok::kName || !(cls_[i] & kTrait) || !punct(i + 1, "(")) continue;
    const std::string& n = ln(i);
    sock = sock || socket_fn(n);
    if (command_sink(n)) {
      cmd = true;
      cmd_at = i;
    }
    binds = binds || std::string_view(n) == "socket_bind";
    if (std::string_view(n) == "socket_listen" || std::string_view(n) == "stream_socket_server")
      listen_at = i;
    runs = runs || code_sink(n) || callback_arg(n) >= 0 || std::string_view(n) == "preg_replace";
    decodes = decodes || decoder(n);
    if (silent_call(n, at(i + 2).text)) {
      add(1, "runs silently and without a time limit (" + n + ")", i);
      forever = forever || std::string_view(n) != "error_reporting";
    }
    // opendir("/tmp") for "sess_…": the PHP sessions of other sites and visitors read where
    // they lie by default (an application reads its own, from session_save_path())
    if (in(n, {"opendir", "scandir", "glob"}) && at(i + 2).kind == PhpTok::kString &&
        at(i + 2).value.starts_with("/tmp"))
      tmp_listed = true;
    // fopen("index.php", "w"): the site's front page overwritten (a defacement)
    if (std::string_view(n) == "fopen" && at(i + 2).kind == PhpTok::kString &&
        in(lower(at(i + 2).value), {"index.php", "index.html", "index.htm"}) && punct(i + 3, ",") &&
        at(i + 4).kind == PhpTok::kString &&
        at(i + 4).value.find_first_of("wa") != std::string::npos)
      deface_at = i;
    // mail('x@example.net', …): with where this file sits, below
    if (std::string_view(n) == "mail" && mail_at == SIZE_MAX) {
      const std::string* to = at(i + 2).kind == PhpTok::kString && !at(i + 2).interpolated
                                  ? &at(i + 2).value
                                  : literal_of(var(i + 2));
      if (to && to->find('@') != std::string::npos && punct(i + 3, ",")) mail_at = i;
    }
  }
  // fsockopen(…) and system('/bin/sh'): a command shell over a network connection
  if (sock && cmd && shell_path) add(10, "a command shell over a network connection", cmd_at);
  // Serv-U's SITE EXEC sent over a socket: a command run as the FTP server's user
  if (sock && site_exec)
    add(10, "FTP SITE EXEC sent over a socket (Serv-U privilege escalation)", 0);
  // socket_bind + socket_listen, stream_socket_server: a server started from a web page (a
  // proxy or a bind shell); web applications connect out, they do not listen
  // … set to run for ever (set_time_limit(0)): a SOCKS proxy or a bind shell kept up by a page
  if (listen_at != SIZE_MAX && (binds || std::string_view(ln(listen_at)) == "stream_socket_server"))
    add(forever ? 10 : 5,
        forever ? "a network server started from a web page, set to run for ever (a proxy or a "
                  "bind shell)"
                : "a network server started from a web page (a proxy or a bind shell?)",
        listen_at);
  if (blob_ != SIZE_MAX && decodes) add(runs ? 10 : 5, "a long encoded blob and a decoder", blob_);
  // DOCUMENT_ROOT, SCRIPT_FILENAME, SERVER_ADDR … mailed to a fixed address: a dropped file
  // reporting where it landed
  if (mail_at != SIZE_MAX && server_keys.size() >= 3)
    add(10, "where this file sits mailed to a fixed address (a dropper reporting in)", mail_at);
  if (deface_at != SIZE_MAX)
    add(10, "the site's front page opened for writing (a defacement)", deface_at);
  if (tmp_listed && sess) add(10, "PHP session files in /tmp listed and read (session theft)", 0);
  // (in a file named as PHP: in a picture or an archive such bytes are the picture's)
  if (runs_as_php(name_)) unreadable_names();
}

void Flow::unreadable_names() {
  // $\xb5\x35\x33…: names of bytes that are not text (not UTF-8): code written not to be read
  if (is_ascii(src_)) return;  // (most files are: one quick look says so)
  for (size_t i = 0; i < t_.size(); ++i) {
    if (t_[i].kind != PhpTok::kVariable && t_[i].kind != PhpTok::kName) continue;
    std::string_view nm = t_[i].text;
    bool high = false;
    for (unsigned char c : nm) high = high || c >= 0x80;
    if (high && valid_utf8(nm) != nm) {
      add(5, "names made of bytes that are not text (obfuscation)", i);
      return;
    }
  }
}

void Flow::chr_chains() {
  std::set<std::string> chr_vars;
  for (const auto& [v, text] : literal_)
    if (lower(text) == "chr") chr_vars.insert(std::string(var_name_[v]));
  for (const auto& [at_tok, text] : chr_strings(t_, chr_vars))
    if (text.size() >= 3 && (hidden_worthy(text) || code_runs_input(text)))
      add(10, fmt::format("a sink's name built from character codes ({})", lower(text)), at_tok);
}

}  // namespace mamori::web::detail
