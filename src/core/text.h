#pragma once
// Small string helpers shared by parsers and sinks. Everything that reaches a
// terminal or a report from an untrusted file passes through sanitize() or
// valid_utf8() first, so a package description cannot inject escape sequences.
//
// Example:
//   glob_match("pkg:deb/*openssh*", "pkg:deb/debian/openssh-server?arch=amd64");  // true
//   sanitize("evil\x1b[2Jname");  // "evil\\x1b[2Jname"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mamori {

std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
std::string_view trim(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);
bool iequals(std::string_view a, std::string_view b);

// Line iteration without copies: sets `line` (without its '\n') and advances `pos`;
// false at the end of text.
//   size_t pos = 0; std::string_view line;
//   while (next_line(text, pos, line)) { ... }
bool next_line(std::string_view text, size_t& pos, std::string_view& line);

// Shell-style glob: '*' any run (including '/'), '?' one byte, '[abc]' / '[!a-z]' classes,
// '\\' escapes. Linear in practice (iterative backtracking on the last '*').
bool glob_match(std::string_view pattern, std::string_view text);
// Path glob: '*' any run within one path component, '**' any run across components ("/**/"
// also matches a single "/"), '?' one byte other than '/', classes as above.
//   path_glob_match("/var/www/**/uploads/**/*.php", "/var/www/wp-content/uploads/x.php")  // true
bool path_glob_match(std::string_view pattern, std::string_view path);

// No byte ≥ 0x80 (eight bytes at a time: a quick look at a whole file).
bool is_ascii(std::string_view s);
// Replace invalid UTF-8 sequences with U+FFFD.
std::string valid_utf8(std::string_view s);
std::vector<std::string> valid_utf8_all(const std::vector<std::string>& v);

// "%2Fa%20b" → "/a b": %XX sequences decoded (a '+' stays: a URL path, not a form).
std::string percent_decode(std::string_view s);
// A word for a POSIX shell: 'it''s' quoted so that pasting a command runs nothing it holds
// ($(…), `…`, ;). Words of safe characters only ([A-Za-z0-9_@%+=:,./-]) stay as they are.
std::string shell_quote(std::string_view s);

// For terminals: valid UTF-8, control characters (C0, DEL, C1) shown as \xNN.
std::string sanitize(std::string_view s);

// Unix seconds → "2026-11-25T20:25:22Z".
std::string iso8601(int64_t unix_seconds);
// "2026-11-25" → unix seconds at 00:00 UTC; -1 when malformed.
int64_t parse_date(std::string_view ymd);
// "2024-01-02 10:11:12" (UTC assumed) → unix seconds; -1 when malformed.
int64_t parse_datetime(std::string_view s);

}  // namespace mamori
