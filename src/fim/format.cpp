// The baseline's line format: escaped tab-separated fields, and its header.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/text.h"
#include "fim/fim.h"
#include "fim/internal.h"

namespace mamori::fim {

using namespace detail;

namespace detail {
// ---- line format: fields separated by tabs; strings escaped (\t \n \\ and \xNN) ----
// Appends s escaped for a baseline field: the backslash doubled, bytes outside printable ASCII
// (space and tab included) as \xHH; "-" stands for the empty string, so a lone "-" (a symlink
// to "-") is written \x2d. Runs of plain bytes are copied at once.
void esc_to(std::string& o, std::string_view s) {
  if (s.empty() || s == "-") {
    o += s.empty() ? "-" : "\\x2d";
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size()) {
      auto c = static_cast<unsigned char>(s[j]);
      if (c == '\\' || c < 0x21 || c >= 0x7f) break;
      ++j;
    }
    o.append(s.data() + i, j - i);
    if (j == s.size()) break;
    auto c = static_cast<unsigned char>(s[j]);
    if (c == '\\') {
      o += "\\\\";
    } else {
      o += "\\x";
      o.push_back(kHex[c >> 4]);
      o.push_back(kHex[c & 15]);
    }
    i = j + 1;
  }
}

std::string esc(std::string_view s) {
  std::string o;
  esc_to(o, s);
  return o;
}

bool unesc(std::string_view s, std::string& out) {
  out.clear();
  if (s == "-") return true;
  auto h = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (size_t i = 0; i < s.size();) {
    size_t bs = s.find('\\', i);
    out.append(s.substr(i, bs == std::string_view::npos ? s.npos : bs - i));
    if (bs == std::string_view::npos) break;
    if (bs + 1 < s.size() && s[bs + 1] == '\\') {
      out.push_back('\\');
      i = bs + 2;
    } else if (bs + 3 < s.size() && s[bs + 1] == 'x') {
      int a = h(s[bs + 2]), b = h(s[bs + 3]);
      if (a < 0 || b < 0) return false;
      out.push_back(static_cast<char>(a * 16 + b));
      i = bs + 4;
    } else {
      return false;
    }
  }
  return true;
}

// One baseline line, built in one string (this runs once per entry on the workers).
std::string format_entry(const Entry& e) {
  std::string o;
  o.reserve(e.path.size() + e.target.size() + e.hash.size() + 128);
  esc_to(o, e.path);
  o.push_back('\t');
  o.push_back(e.type);
  char num[24];
  auto field = [&](auto v, int base = 10) {
    auto r = std::to_chars(num, num + sizeof num, v, base);
    o.push_back('\t');
    o.append(num, r.ptr);
  };
  field(e.mode, 8);
  field(e.uid);
  field(e.gid);
  field(e.size);
  field(e.mtime_ns);
  field(e.ctime_ns);
  field(e.inode);
  field(e.nlink);
  field(e.dev);
  o.push_back('\t');
  esc_to(o, e.target);
  o.push_back('\t');
  if (e.xattrs.empty()) o.push_back('-');
  for (size_t i = 0; i < e.xattrs.size(); ++i) {
    if (i) o.push_back(',');
    esc_to(o, e.xattrs[i].first);
    o.push_back('=');
    const auto& v = e.xattrs[i].second;
    o += hex(reinterpret_cast<const unsigned char*>(v.data()), v.size());
  }
  o.push_back('\t');
  o += e.hash.empty() ? std::string_view("-") : std::string_view(e.hash);
  o.push_back('\n');
  return o;
}

Result<Entry> parse_entry(std::string_view line, size_t lineno, const std::string& file) {
  auto bad = [&](const char* why) {
    return Error::data_loss(fmt::format("{}:{}: {}", file, lineno, why));
  };
  // The 14 tab-separated fields, without allocating (this runs once per entry on every check).
  std::array<std::string_view, 14> f;
  size_t nf = 0;
  for (size_t pos = 0;;) {
    size_t tab = line.find('\t', pos);
    if (nf == f.size()) return bad("expected 14 fields (baseline truncated or damaged?)");
    f[nf++] = line.substr(pos, tab == std::string_view::npos ? line.npos : tab - pos);
    if (tab == std::string_view::npos) break;
    pos = tab + 1;
  }
  if (nf != f.size()) return bad("expected 14 fields (baseline truncated or damaged?)");
  Entry e;
  if (!unesc(f[0], e.path) || e.path.empty() || e.path[0] != '/') return bad("bad path");
  if (f[1].size() != 1) return bad("bad type");
  e.type = f[1][0];
  auto num = [](std::string_view s, int base, auto& out) {
    if (s.empty() || s.size() > 24) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  uint64_t v[9];
  if (!num(f[2], 8, v[0]) || !num(f[3], 10, v[1]) || !num(f[4], 10, v[2]) || !num(f[5], 10, v[3]) ||
      !num(f[8], 10, v[6]) || !num(f[9], 10, v[7]) || !num(f[10], 10, v[8]))
    return bad("bad number");
  e.mode = static_cast<uint32_t>(v[0]);
  e.uid = static_cast<uint32_t>(v[1]);
  e.gid = static_cast<uint32_t>(v[2]);
  e.size = v[3];
  if (!num(f[6], 10, e.mtime_ns) || !num(f[7], 10, e.ctime_ns)) return bad("bad time");
  e.inode = v[6];
  e.nlink = v[7];
  e.dev = v[8];
  if (!unesc(f[11], e.target)) return bad("bad symlink target");
  if (f[12] != "-")
    for (auto kv : split(f[12], ',')) {
      size_t eq = kv.find('=');
      std::string name, val;
      if (eq == std::string_view::npos || !unesc(kv.substr(0, eq), name)) return bad("bad xattr");
      std::string_view hx = kv.substr(eq + 1);
      if (hx.size() % 2) return bad("bad xattr value");
      for (size_t i = 0; i + 1 < hx.size(); i += 2) {
        auto h = [](char c) {
          return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        };
        int a = h(hx[i]), b = h(hx[i + 1]);
        if (a < 0 || b < 0) return bad("bad xattr value");
        val.push_back(static_cast<char>(a * 16 + b));
      }
      e.xattrs.emplace_back(name, val);
    }
  if (f[13] != "-") e.hash = std::string(f[13]);
  return e;
}

}  // namespace detail

Result<Entry> parse_baseline_entry(std::string_view line, size_t lineno, const std::string& file) {
  return parse_entry(line, lineno, file);
}

std::string format_baseline_entry(const Entry& e) { return format_entry(e); }

Result<BaselineInfo> parse_baseline_header(std::string_view header, const std::string& path) {
  if (!header.starts_with("#mamori-fim-baseline v1 "))
    return Error::data_loss(path + ": not a Mamori baseline (bad header)");
  BaselineInfo info;
  bool has_policy = false, has_hash = false;
  for (auto part : split(header.substr(24), ' ')) {
    if (part.starts_with("hash=")) {
      auto h = parse_hash(part.substr(5));
      if (!h) return Error::data_loss(path + ": " + h.error().message);
      info.hash = *h;
      has_hash = true;
    } else if (part.starts_with("created=")) {
      info.created_at = std::atoll(std::string(part.substr(8)).c_str());
    } else if (part.starts_with("path=")) {
      std::string p;
      if (!unesc(part.substr(5), p) || p.empty() || p[0] != '/')
        return Error::data_loss(path + ": damaged path in the header");
      info.paths.push_back(p);
    } else if (part.starts_with("policy=")) {
      std::string text;
      if (!unesc(part.substr(7), text))
        return Error::data_loss(path + ": damaged policy in the header");
      auto pol = parse_policy(text, path + " (recorded policy)");
      if (!pol) return Error::data_loss(pol.error().message);
      info.policy = std::move(*pol);
      has_policy = true;
    } else if (!part.empty()) {
      return Error::data_loss(path + ": unknown header field '" + sanitize(part.substr(0, 40)) +
                              "'");
    }
  }
  if (!has_hash) return Error::data_loss(path + ": header names no hash");
  if (!has_policy) {  // a baseline written before policies: every attribute of its paths
    info.policy.hash = std::string(hash_name(info.hash));
    for (const auto& p : info.paths)
      info.policy.rules.push_back(Rule{p, kAttrAll, Severity::kMedium, {}, ""});
  }
  return info;
}

}  // namespace mamori::fim
