// dpkg database: /var/lib/dpkg/status in deb-control(5) syntax, and dpkg.log for
// install times.
#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "inventory/parsers.h"

namespace mamori::inventory {

std::string strip_binnmu(std::string_view version) {
  // A binNMU appends "+bN" to the binary version only (Debian Policy 5.6.12).
  size_t p = version.rfind("+b");
  if (p != std::string_view::npos && p + 2 < version.size() &&
      std::all_of(version.begin() + static_cast<long>(p) + 2, version.end(),
                  [](char c) { return c >= '0' && c <= '9'; }))
    return std::string(version.substr(0, p));
  return std::string(version);
}

namespace {

struct Stanza {
  size_t line = 0;  // first line of the stanza
  std::string package, version, arch, source, status;
  unsigned seen = 0;  // which of those were given (a second one is an error, as for dpkg)
};

Status finish_stanza(const Stanza& s, std::string_view label, std::vector<Package>& out) {
  if (s.package.empty())
    return Error::invalid(fmt::format("{}:{}: stanza has no Package field", label, s.line));
  if (s.version.empty()) {
    // Packages that were never unpacked (state not-installed) may lack a Version; dpkg itself
    // keeps such records. Anything else without a version is a damaged file.
    if (s.status.find("not-installed") != std::string::npos) return ok();
    return Error::invalid(fmt::format("{}:{}: package '{}' has no Version field (file truncated?)",
                                      label, s.line, sanitize(s.package)));
  }
  auto words = split(s.status, ' ');
  std::string state = words.size() == 3 ? std::string(words[2]) : std::string();
  if (state == "not-installed") return ok();
  Package p;
  p.ecosystem = kDeb;
  p.name = s.package;
  p.version = s.version;
  p.status = state.empty() ? "unknown" : state;
  if (!s.arch.empty()) p.arch = s.arch;
  // "Source: name (version)" when the source version differs, else "Source: name".
  std::string src_name = s.package;
  std::string src_version = strip_binnmu(s.version);
  if (!s.source.empty()) {
    std::string_view src = s.source;
    size_t paren = src.find('(');
    if (paren != std::string_view::npos) {
      size_t close = src.find(')', paren);
      if (close == std::string_view::npos)
        return Error::invalid(
            fmt::format("{}:{}: malformed Source field '{}'", label, s.line, sanitize(s.source)));
      src_version = std::string(trim(src.substr(paren + 1, close - paren - 1)));
      src = src.substr(0, paren);
    }
    src_name = std::string(trim(src));
  }
  p.source_name = src_name;
  p.source_version = src_version;
  p.location = std::string(label);
  out.push_back(std::move(p));
  return ok();
}

bool valid_field_name(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F || c == ':')
      return false;
  return true;
}

}  // namespace

Result<std::vector<Package>> parse_dpkg_status(std::string_view text, std::string_view label) {
  std::vector<Package> out;
  if (text.find('\0') != std::string_view::npos) {
    size_t line = 1 + static_cast<size_t>(std::count(
                          text.begin(), text.begin() + static_cast<long>(text.find('\0')), '\n'));
    return Error::invalid(
        fmt::format("{}:{}: NUL byte: this is not a dpkg status file (binary data?)", label, line));
  }
  Stanza cur;
  bool in_stanza = false;
  size_t field_bytes = 0;  // size of the current (possibly multi-line) field
  size_t lineno = 0;
  size_t pos = 0;
  std::string_view line;
  while (next_line(text, pos, line)) {
    ++lineno;
    if (line.size() > kMaxFieldBytes)
      return Error::invalid(
          fmt::format("{}:{}: line is longer than {} bytes", label, lineno, kMaxFieldBytes));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) {
      if (in_stanza) {
        MAMORI_TRY(finish_stanza(cur, label, out), "dpkg status");
        cur = Stanza{};
        in_stanza = false;
      }
      field_bytes = 0;
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (!in_stanza)
        return Error::invalid(
            fmt::format("{}:{}: continuation line outside a stanza", label, lineno));
      field_bytes += line.size();
      if (field_bytes > kMaxFieldBytes)
        return Error::invalid(
            fmt::format("{}:{}: field is longer than {} bytes", label, lineno, kMaxFieldBytes));
      continue;  // continuation of a multi-line field (Description, Conffiles): not needed
    }
    if (line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !valid_field_name(line.substr(0, colon)))
      return Error::invalid(fmt::format("{}:{}: expected 'Field: value', got '{}'", label, lineno,
                                        sanitize(line.substr(0, 80))));
    if (!in_stanza) {
      in_stanza = true;
      cur.line = lineno;
    }
    std::string_view name = line.substr(0, colon);
    std::string value(trim(line.substr(colon + 1)));
    field_bytes = line.size();
    // Two stanzas run together (the blank line between them lost) read as one with every
    // field twice: an error, never "tzdata" becoming "xrdp 2021a".
    static constexpr std::string_view kFields[] = {"Package", "Version", "Architecture", "Source",
                                                   "Status"};
    std::string* dest[] = {&cur.package, &cur.version, &cur.arch, &cur.source, &cur.status};
    for (unsigned i = 0; i < 5; ++i) {
      if (!iequals(name, kFields[i])) continue;
      if (cur.seen & (1u << i))
        return Error::invalid(
            fmt::format("{}:{}: a second {} field in the stanza of line {} (two "
                        "stanzas without the blank line between them?)",
                        label, lineno, kFields[i], cur.line));
      cur.seen |= 1u << i;
      *dest[i] = std::move(value);
      break;
    }
  }
  if (in_stanza) MAMORI_TRY(finish_stanza(cur, label, out), "dpkg status");
  return out;
}

void parse_dpkg_log(std::string_view text, std::map<std::string, int64_t>& installed_at) {
  size_t pos = 0;
  std::string_view line;
  while (next_line(text, pos, line)) {
    // "2024-01-02 10:11:12 status installed libc6:amd64 2.36-9+deb12u4"
    if (line.size() < 20 || line.substr(19, 18) != " status installed ") continue;
    int64_t t = parse_datetime(line.substr(0, 19));
    if (t < 0) continue;
    auto rest = split(line.substr(37), ' ');
    if (rest.size() != 2 || rest[0].empty() || rest[1].empty()) continue;
    installed_at[std::string(rest[0]) + " " + std::string(rest[1])] = t;
  }
}

void parse_dpkg_history(std::string_view text, std::vector<DpkgRecord>& out) {
  size_t pos = 0;
  std::string_view line;
  auto name_of = [](std::string_view pkg) { return std::string(pkg.substr(0, pkg.find(':'))); };
  while (next_line(text, pos, line)) {
    // "2024-07-02 08:29:59 upgrade openssh-server:amd64 1:9.2p1-2+deb12u2 1:9.2p1-2+deb12u3"
    // "2024-07-02 08:30:00 status installed openssh-server:amd64 1:9.2p1-2+deb12u3"
    if (line.size() < 28 || line[19] != ' ') continue;
    int64_t t = parse_datetime(line.substr(0, 19));
    if (t < 0) continue;
    std::string_view rest = line.substr(20);
    if (rest.starts_with("status installed ")) {
      auto f = split(rest.substr(17), ' ');
      if (f.size() == 2 && !f[0].empty() && !f[1].empty())
        out.push_back({t, name_of(f[0]), std::string(f[1]), false});
    } else if (rest.starts_with("upgrade ")) {
      auto f = split(rest.substr(8), ' ');
      if (f.size() == 3 && !f[0].empty() && !f[1].empty() && f[1] != "<none>")
        out.push_back({t, name_of(f[0]), std::string(f[1]), true});
    }
  }
}

}  // namespace mamori::inventory
