// A whole audited root (an image, a container, a fixture tree) is untrusted input: passwd,
// shadow, group, login.defs, pwquality.conf, authorized_keys, dpkg's status and log, /proc/net
// tables and a ruleset snapshot are read by parsers of their own inside run_audit.
//
// The input is a list of files, each after a header line "==> relative/path <==" (as `head`
// prints several files). Paths are confined to a scratch directory: plain names only, no "..",
// no absolute paths. The audit runs twice on the tree; it must not crash and must say the same.
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "audit/audit.h"
#include "core/fs.h"

namespace {

namespace fs = std::filesystem;

bool safe_path(std::string_view p) {
  if (p.empty() || p.size() > 200 || p.front() == '/') return false;
  int depth = 0;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == ".." || ++depth > 8) return false;
    for (char c : part)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
        return false;
    start = end + 1;
  }
  return true;
}

// One scratch tree for the whole run, removed when the fuzzer exits.
struct Scratch {
  fs::path dir;
  Scratch() {
    std::string tmpl = (fs::temp_directory_path() / "mamori-fuzz-audit-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& scratch() {
  static const Scratch s;
  return s.dir;
}

std::string summary(const mamori::audit::AuditReport& r) {
  std::string s;
  for (const auto& c : r.checks) {
    s += c.id;
    s += ' ';
    s += mamori::audit::result_name(c.result);
    s += '\n';
  }
  for (const auto& f : r.findings()) {
    s += f.fingerprint;
    s += ' ';
    s += f.evidence;
    s += '\n';
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const fs::path& root_dir = scratch();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_dir, ec)) fs::remove_all(e.path(), ec);
  // Split into files at header lines.
  int files = 0;
  std::ofstream out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.starts_with("==> ") && line.ends_with(" <==") && line.size() >= 8) {
      out.close();
      std::string_view rel = line.substr(4, line.size() - 8);
      if (safe_path(rel) && files < 40) {
        fs::path p = root_dir / std::string(rel);
        fs::create_directories(p.parent_path(), ec);
        if (!ec && !fs::is_directory(p, ec)) {
          out.open(p, std::ios::binary | std::ios::trunc);
          ++files;
        }
      }
    } else if (out.is_open()) {
      out.write(line.data(), static_cast<std::streamsize>(line.size()));
      if (nl != std::string_view::npos) out.put('\n');
    }
    pos = next;
  }
  out.close();
  mamori::Root root(root_dir.string());
  mamori::audit::AuditOptions opts;
  auto a = mamori::audit::run_audit(root, opts);
  auto b = mamori::audit::run_audit(root, opts);
  if (a.has_value() != b.has_value()) __builtin_trap();
  if (!a) return 0;
  for (const auto& c : a->checks)
    if (c.id.empty()) __builtin_trap();
  if (summary(*a) != summary(*b)) __builtin_trap();
  return 0;
}
