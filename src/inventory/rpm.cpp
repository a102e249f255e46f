// RPM header blobs as stored in rpmdb.sqlite (rpm >= 4.16): the header is
// "il" (index entry count) and "dl" (data length) as big-endian int32, then il
// 16-byte entries {tag, type, offset, count}, then the data store.
#include <fmt/format.h>

#include <cstdint>
#include <cstring>

#include "core/text.h"
#include "inventory/parsers.h"

namespace mamori::inventory {

namespace {

constexpr uint32_t kTagName = 1000, kTagVersion = 1001, kTagRelease = 1002, kTagEpoch = 1003,
                   kTagInstallTime = 1008, kTagArch = 1022, kTagSourceRpm = 1044;
constexpr uint32_t kTypeInt32 = 4, kTypeString = 6, kTypeStringArray = 8, kTypeI18n = 9;
// rpm's own limits (lib/header_internal.h): at most 0xffff tags, 256 MiB of data.
constexpr uint32_t kMaxTags = 0xffff, kMaxData = 0x0fffffff;

uint32_t be32(const char* p) {
  unsigned char b[4];
  std::memcpy(b, p, 4);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

}  // namespace

Result<Package> parse_rpm_header(std::string_view blob, std::string_view label) {
  if (blob.size() < 8) return Error::invalid(fmt::format("{}: header blob too short", label));
  uint32_t il = be32(blob.data()), dl = be32(blob.data() + 4);
  if (il == 0 || il > kMaxTags || dl > kMaxData)
    return Error::invalid(
        fmt::format("{}: implausible header sizes (il={}, dl={})", label, il, dl));
  uint64_t need = 8 + uint64_t{il} * 16 + dl;
  if (blob.size() < need)
    return Error::invalid(
        fmt::format("{}: header blob truncated ({} bytes, {} expected)", label, blob.size(), need));
  const char* index = blob.data() + 8;
  std::string_view data(blob.data() + 8 + size_t{il} * 16, dl);

  Package p;
  p.ecosystem = kRpm;
  p.location = std::string(label);
  std::string epoch, release, sourcerpm;
  auto string_at = [&](uint32_t off) -> Result<std::string> {
    if (off >= data.size())
      return Error::invalid(fmt::format("{}: string offset out of range", label));
    size_t end = data.find('\0', off);
    if (end == std::string_view::npos)
      return Error::invalid(fmt::format("{}: unterminated string in header", label));
    return std::string(data.substr(off, end - off));
  };
  for (uint32_t i = 0; i < il; ++i) {
    const char* e = index + size_t{i} * 16;
    uint32_t tag = be32(e), type = be32(e + 4), off = be32(e + 8), count = be32(e + 12);
    if (tag != kTagName && tag != kTagVersion && tag != kTagRelease && tag != kTagEpoch &&
        tag != kTagInstallTime && tag != kTagArch && tag != kTagSourceRpm)
      continue;
    if (type == kTypeString || type == kTypeI18n || type == kTypeStringArray) {
      auto s = string_at(off);
      if (!s) return s.error();
      std::string v = std::move(*s);
      switch (tag) {
        case kTagName:
          p.name = std::move(v);
          break;
        case kTagVersion:
          p.version = std::move(v);
          break;
        case kTagRelease:
          release = std::move(v);
          break;
        case kTagArch:
          p.arch = std::move(v);
          break;
        case kTagSourceRpm:
          sourcerpm = std::move(v);
          break;
        default:
          break;
      }
    } else if (type == kTypeInt32) {
      if (count < 1 || uint64_t{off} + 4 > data.size())
        return Error::invalid(fmt::format("{}: int32 tag {} out of range", label, tag));
      uint32_t v = be32(data.data() + off);
      if (tag == kTagEpoch) epoch = std::to_string(v);
      if (tag == kTagInstallTime) p.installed_at = static_cast<int64_t>(v);
    }
  }
  if (p.name.empty() || p.version.empty())
    return Error::invalid(fmt::format("{}: header has no NAME or VERSION tag", label));
  std::string evr = p.version + (release.empty() ? "" : "-" + release);
  if (!epoch.empty()) evr = epoch + ":" + evr;
  p.version = evr;
  // SOURCERPM "openssh-8.7p1-38.el9_4.4.src.rpm": name is everything before the last two '-'.
  if (!sourcerpm.empty()) {
    std::string_view s = sourcerpm;
    if (s.ends_with(".src.rpm"))
      s.remove_suffix(8);
    else if (s.ends_with(".nosrc.rpm"))
      s.remove_suffix(10);
    size_t r = s.rfind('-');
    size_t v = r == std::string_view::npos || r == 0 ? std::string_view::npos : s.rfind('-', r - 1);
    if (v != std::string_view::npos && v > 0) {
      p.source_name = std::string(s.substr(0, v));
      std::string sv(s.substr(v + 1));
      p.source_version = epoch.empty() ? sv : epoch + ":" + sv;
    }
  }
  if (!p.source_name) {
    p.source_name = p.name;
    p.source_version = p.version;
  }
  return p;
}

}  // namespace mamori::inventory
