// Small text formats: os-release(5), WordPress file headers, Python core metadata.
#include <fmt/format.h>

#include <cctype>

#include "core/text.h"
#include "inventory/parsers.h"

namespace mamori::inventory {

namespace {
// os-release values may be quoted with ' or " and use backslash escapes.
std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    std::string out;
    for (size_t i = 1; i + 1 < v.size(); ++i) {
      if (v[i] == '\\' && i + 2 < v.size()) ++i;
      out.push_back(v[i]);
    }
    return out;
  }
  return std::string(v);
}
}  // namespace

OsRelease parse_os_release(std::string_view text) {
  OsRelease os;
  for (std::string_view line : split(text, '\n')) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = line.substr(0, eq);
    std::string v = unquote(line.substr(eq + 1));
    if (k == "ID")
      os.id = to_lower(v);
    else if (k == "ID_LIKE")
      os.id_like = v;
    else if (k == "VERSION_ID")
      os.version_id = v;
    else if (k == "VERSION_CODENAME")
      os.codename = v;
    else if (k == "PRETTY_NAME")
      os.pretty_name = v;
  }
  os.found = !os.id.empty();
  return os;
}

std::string OsRelease::distro() const {
  if (id.empty()) return "";
  return version_id.empty() ? id : id + "-" + version_id;
}

std::string parse_wp_version_php(std::string_view text) {
  // $wp_version = '6.4.2';
  size_t p = text.find("$wp_version");
  while (p != std::string_view::npos) {
    size_t eq = text.find('=', p);
    size_t semi = text.find(';', p);
    if (eq != std::string_view::npos && semi != std::string_view::npos && eq < semi) {
      std::string_view v = trim(text.substr(eq + 1, semi - eq - 1));
      if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) {
        v = v.substr(1, v.size() - 2);
        if (!v.empty() && v.size() <= 64) return std::string(v);
      }
    }
    p = text.find("$wp_version", p + 1);
  }
  return "";
}

std::map<std::string, std::string> parse_wp_file_header(std::string_view text) {
  // WordPress reads the first 8 KiB (get_file_data) and takes "Name: value" on a line,
  // optionally behind comment leaders (" * ", "#", "//").
  text = text.substr(0, 8192);
  std::map<std::string, std::string> out;
  static constexpr const char* kKeys[] = {"Plugin Name", "Theme Name", "Version",
                                          "Text Domain", "Author",     "Requires at least",
                                          "Template"};
  for (std::string_view line : split(text, '\n')) {
    std::string_view l = trim(line);
    while (!l.empty() && (l.front() == '*' || l.front() == '#' || l.front() == '/'))
      l = trim(l.substr(1));
    for (const char* key : kKeys) {
      std::string_view k(key);
      if (l.size() > k.size() && iequals(l.substr(0, k.size()), k) && l[k.size()] == ':') {
        std::string_view v = trim(l.substr(k.size() + 1));
        // A header value ends where a comment closes.
        size_t close = v.find("*/");
        if (close != std::string_view::npos) v = trim(v.substr(0, close));
        if (!v.empty() && !out.contains(key)) out[key] = std::string(v.substr(0, 256));
      }
    }
  }
  return out;
}

std::string parse_wp_readme_stable_tag(std::string_view text) {
  text = text.substr(0, 8192);
  for (std::string_view line : split(text, '\n')) {
    std::string_view l = trim(line);
    if (l.size() > 11 && iequals(l.substr(0, 11), "Stable tag:")) {
      std::string_view v = trim(l.substr(11));
      if (!v.empty() && v.size() <= 64 && !iequals(v, "trunk")) return std::string(v);
    }
  }
  return "";
}

Result<Package> parse_python_metadata(std::string_view text, std::string_view label) {
  Package p;
  p.ecosystem = kPypi;
  p.location = std::string(label);
  size_t lineno = 0;
  for (std::string_view line : split(text, '\n')) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // headers end at the first blank line; the body follows
    if (line.front() == ' ' || line.front() == '\t') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      return Error::invalid(fmt::format("{}:{}: expected 'Header: value'", label, lineno));
    std::string_view k = line.substr(0, colon);
    std::string_view v = trim(line.substr(colon + 1));
    if (iequals(k, "Name") && p.name.empty()) p.name = std::string(v.substr(0, 256));
    if (iequals(k, "Version") && p.version.empty()) p.version = std::string(v.substr(0, 128));
  }
  if (p.name.empty() || p.version.empty())
    return Error::invalid(fmt::format("{}: no Name or Version header", label));
  // PEP 503 normalised name: lowercase, runs of -_. become '-'.
  std::string norm;
  for (char c : p.name) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l == '_' || l == '.' || l == '-') {
      if (norm.empty() || norm.back() != '-') norm.push_back('-');
    } else {
      norm.push_back(l);
    }
  }
  p.name = norm;
  return p;
}

}  // namespace mamori::inventory
