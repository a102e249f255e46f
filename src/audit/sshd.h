#pragma once
// The effective sshd configuration, read under a root with OpenSSH's own rules (what
// `sshd -T` prints, without needing sshd, its host keys or the host's Include files):
//  - keywords are case-insensitive, "Keyword value" or "Keyword=value", '#' starts a comment,
//    double quotes group words;
//  - for a single-valued keyword the FIRST value obtained wins (so a drop-in included at the
//    top of sshd_config beats a later line); Port, ListenAddress, HostKey, AcceptEnv, SetEnv,
//    Allow/DenyUsers/Groups accumulate;
//  - Include takes globs (relative to /etc/ssh), expanded in sorted order, nested at most 16
//    deep (a loop is an error, as in sshd); an Include inside a Match block is conditional;
//  - Match blocks apply to the connections they match: their values override the global ones
//    (first value wins among the matching blocks), a Match inside an included file ends with it;
//  - missing keywords take the defaults of OpenSSH 9.2 (Debian 12).
//
// Example:
//   auto cfg = read_sshd_config(Root("/mnt/image"));
//   if (cfg && cfg->effective()["passwordauthentication"] == "yes") …
//   SshConnection c; c.addr = "10.1.2.3"; c.user = "root";
//   cfg->effective(&c)["permitrootlogin"];   // as `sshd -T -C addr=10.1.2.3,user=root,...`

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fs.h"
#include "core/result.h"

namespace mamori::audit {

struct SshDirective {
  std::string keyword;  // lower case, aliases resolved ("challengeresponse…" → kbd…)
  std::vector<std::string> args;  // as written (quotes removed)
  std::string file;               // in-root path
  int line = 0;
};

struct SshMatchBlock {
  std::vector<std::string> criteria;  // the Match line's words ("Address", "10.0.0.0/8")
  std::vector<SshDirective> directives;
  std::string file;
  int line = 0;
};

// What a connection looks like for Match evaluation (`sshd -T -C` fields).
struct SshConnection {
  std::string user, host, addr, laddr, rdomain;
  int lport = 22;
  std::vector<std::string> groups;  // the user's groups (Match Group)
};

struct SshdConfig {
  std::vector<SshDirective> global;    // in file order, Includes expanded
  std::vector<SshMatchBlock> matches;  // in file order
  std::vector<std::string> files;      // every file read (in-root paths)
  std::vector<std::string> warnings;   // unreadable Include targets and the like

  // keyword → value as `sshd -T` prints it (lower-case keyword; multi-valued keywords are
  // joined with '\n'). Without a connection: the global configuration and "Match all".
  std::map<std::string, std::string> effective(const SshConnection* conn = nullptr) const;
  // Where the effective value of a keyword came from ("file:line", "" = default).
  std::string origin(std::string_view keyword, const SshConnection* conn = nullptr) const;
};

// Parses a configuration text (the file name is for messages; Include is resolved under root).
Result<SshdConfig> parse_sshd_config(const Root& root, std::string_view text,
                                     const std::string& file = "/etc/ssh/sshd_config");
// Reads ROOT/etc/ssh/sshd_config (or `path`) and everything it includes.
Result<SshdConfig> read_sshd_config(const Root& root,
                                    const std::string& path = "/etc/ssh/sshd_config");

// Does a Match line's criteria match the connection? ("all" matches everything.)
bool ssh_match(const std::vector<std::string>& criteria, const SshConnection& c);

// OpenSSH's pattern lists: "10.0.0.0/8,!10.9.0.0/16" for addresses, "*.example.com,!bad*" for
// names. A negated match wins over any positive one.
bool ssh_match_pattern_list(std::string_view value, std::string_view list);
bool ssh_match_address_list(std::string_view addr, std::string_view list);

}  // namespace mamori::audit
