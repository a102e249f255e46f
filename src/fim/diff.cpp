// What differs between two records of one entry, attribute by attribute.
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
std::string short_hash(const std::string& h) {
  return h.empty() ? "(not hashed)" : h.substr(0, 16) + "…";
}

std::string iso_ns(int64_t ns) {
  return fmt::format("{}.{:09d}", iso8601(ns / 1000000000).substr(0, 19), ns % 1000000000);
}

bool is_acl_xattr(std::string_view name) { return name.starts_with("system.posix_acl_"); }

// A POSIX ACL as the kernel stores it in system.posix_acl_access/default (posix_acl_xattr:
// a 4-byte version 2, then {u16 tag, u16 perm, u32 id} per entry), as getfacl writes it.
std::string acl_text(std::string_view blob) {
  if (blob.size() < 4 || (blob.size() - 4) % 8 != 0) return "(malformed ACL)";
  auto u16 = [&](size_t o) {
    return static_cast<unsigned>(static_cast<unsigned char>(blob[o])) |
           static_cast<unsigned>(static_cast<unsigned char>(blob[o + 1])) << 8;
  };
  std::vector<std::string> parts;
  for (size_t o = 4; o + 8 <= blob.size(); o += 8) {
    unsigned tag = u16(o), perm = u16(o + 2);
    uint32_t id = u16(o + 4) | (static_cast<uint32_t>(u16(o + 6)) << 16);
    std::string rwx = {perm & 4 ? 'r' : '-', perm & 2 ? 'w' : '-', perm & 1 ? 'x' : '-'};
    switch (tag) {
      case 0x01:
        parts.push_back("user::" + rwx);
        break;
      case 0x02:
        parts.push_back(fmt::format("user:{}:{}", id, rwx));
        break;
      case 0x04:
        parts.push_back("group::" + rwx);
        break;
      case 0x08:
        parts.push_back(fmt::format("group:{}:{}", id, rwx));
        break;
      case 0x10:
        parts.push_back("mask::" + rwx);
        break;
      case 0x20:
        parts.push_back("other::" + rwx);
        break;
      default:
        parts.push_back(fmt::format("tag{:#x}:{}:{}", tag, id, rwx));
    }
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

using Xattrs = std::vector<std::pair<std::string, std::string>>;
const std::string* xattr_value(const Xattrs& xs, std::string_view name) {
  for (const auto& [k, v] : xs)
    if (k == name) return &v;
  return nullptr;
}

// What differs between two records of a path, limited to the attributes the policy compares.
std::vector<std::string> differences(const Entry& a, const Entry& b, HashAlgo algo,
                                     uint32_t attrs) {
  std::vector<std::string> d;
  auto want = [attrs](uint32_t bit) { return (attrs & bit) != 0; };
  if (a.type != b.type) d.push_back(fmt::format("type: {} → {}", a.type, b.type));
  bool content = want(kAttrHash) && a.hash != b.hash && a.type == 'f' && b.type == 'f';
  if (content)
    d.push_back(fmt::format("content: {} {} → {}", hash_name(algo), short_hash(a.hash),
                            short_hash(b.hash)));
  if (want(kAttrSize) && a.size != b.size)
    d.push_back(fmt::format("size: {} → {}", a.size, b.size));
  if (want(kAttrMode) && a.mode != b.mode)
    d.push_back(fmt::format("mode: {:04o} → {:04o}", a.mode, b.mode));
  if (want(kAttrOwner) && a.uid != b.uid) d.push_back(fmt::format("owner: {} → {}", a.uid, b.uid));
  if (want(kAttrGroup) && a.gid != b.gid) d.push_back(fmt::format("group: {} → {}", a.gid, b.gid));
  if (want(kAttrTarget) && a.target != b.target)
    d.push_back(fmt::format("symlink: {} → {}", sanitize(a.target), sanitize(b.target)));
  if (want(kAttrInode) && a.inode != b.inode)
    d.push_back(fmt::format("inode: {} → {} (replaced)", a.inode, b.inode));
  if (want(kAttrLinks) && a.nlink != b.nlink && a.type != 'd')
    d.push_back(fmt::format("links: {} → {}", a.nlink, b.nlink));
  if (a.xattrs != b.xattrs) {
    for (const auto& kv : b.xattrs) {
      bool acl = is_acl_xattr(kv.first);
      if (!want(acl ? kAttrAcl : kAttrXattrs) || xattr_value(a.xattrs, kv.first)) continue;
      d.push_back(acl ? fmt::format("acl added ({}): {}", kv.first.substr(17), acl_text(kv.second))
                      : fmt::format("xattr added: {}", sanitize(kv.first)));
    }
    for (const auto& kv : a.xattrs) {
      bool acl = is_acl_xattr(kv.first);
      if (!want(acl ? kAttrAcl : kAttrXattrs)) continue;
      const std::string* now = xattr_value(b.xattrs, kv.first);
      if (!now)
        d.push_back(
            acl ? fmt::format("acl removed ({}): {}", kv.first.substr(17), acl_text(kv.second))
                : fmt::format("xattr removed: {}", sanitize(kv.first)));
      else if (*now != kv.second)
        d.push_back(acl ? fmt::format("acl ({}): {} → {}", kv.first.substr(17), acl_text(kv.second),
                                      acl_text(*now))
                        : fmt::format("xattr changed: {}", sanitize(kv.first)));
    }
  }
  // Times alone are reported only together with another difference (touch is not tampering),
  // but a content change with the old mtime put back is called out.
  if (!d.empty()) {
    if (a.mtime_ns != b.mtime_ns && want(kAttrMtime))
      d.push_back(fmt::format("mtime: {} → {}", iso_ns(a.mtime_ns), iso_ns(b.mtime_ns)));
    else if (content && a.mtime_ns == b.mtime_ns)
      d.push_back("mtime unchanged although the content changed (timestamp restored?)");
  }
  return d;
}

// Whether the policy wants this entry's content hashed.
bool wants_hash(const Policy& p, const Entry& e) {
  if (e.type != 'f') return false;
  const Rule* r = p.rule_for(e.path);
  return (!r || (r->attrs & kAttrHash)) && e.size <= p.max_hash_size;
}

}  // namespace detail

}  // namespace mamori::fim
