#pragma once
// Build-time model of the vulnerability database (private to the vuln module) and the
// on-disk layout shared by the writer and the reader.
//
// File layout (little-endian, all offsets from the start of the file):
//   Header   magic "MAMVULN\0", u32 format, u32 section count, i64 created_at,
//            u64 payload size, u8[32] SHA-256 of everything after the header
//   Sections u32 tag, u32 reserved, u64 offset, u64 size   (section table)
//   STRS     string pool: u32 length + bytes, referenced by offset (0 = none)
//   PKGS     sorted (ecosystem, name) → range of AFFS           } the match index: all a
//   AFFS     (vuln, first interval, count, first version, count) } scan touches
//   INTV     (lower, upper, flags)                               }
//   VERS     explicit affected versions (string refs)            }
//   VULN     per advisory: id, aliases range, cvss, vendor severity, description ref
//   ALIA     alias string refs
//   KEVS     sorted by CVE: dates, name, ransomware flag
//   EPSS     sorted by CVE: probability, percentile, CVSS v3 base score
//   META     JSON: sources, counts
//   DESC     descriptions (summary, details, references), read only for reports

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mamori::vuln::model {

inline constexpr char kMagic[8] = {'M', 'A', 'M', 'V', 'U', 'L', 'N', '\0'};
inline constexpr uint32_t kFormat = 1;

enum SectionTag : uint32_t {
  kStrs = 1,
  kPkgs = 2,
  kAffs = 3,
  kIntv = 4,
  kVers = 5,
  kVuln = 6,
  kAlia = 7,
  kKevs = 8,
  kEpss = 9,
  kMeta = 10,
  kDesc = 11,
};

#pragma pack(push, 1)
struct Header {
  char magic[8];
  uint32_t format;
  uint32_t sections;
  int64_t created_at;
  uint64_t payload_size;
  uint8_t sha256[32];
};
struct SectionEntry {
  uint32_t tag;
  uint32_t reserved;
  uint64_t offset;
  uint64_t size;
};
struct PkgRec {
  uint32_t ecosystem, name, first_aff, n_aff;
};
struct AffRec {
  uint32_t vuln, first_intv, n_intv, first_ver, n_ver;
};
struct IntvRec {
  uint32_t lower, upper;
  uint8_t lower_incl, upper_incl, pad[2];
};
struct VulnRec {
  uint32_t id, first_alias, n_alias;
  float cvss;
  int8_t vendor_severity;
  uint8_t pad[3];
  uint64_t desc_off;
  uint32_t desc_len;
};
struct KevRec {
  uint32_t cve, date_added, due_date, name;
  uint8_t ransomware, pad[3];
};
struct EpssRec {
  uint32_t cve;
  float epss, percentile, cvss3;
};
#pragma pack(pop)

// ---- build-time records ----

struct Interval {
  std::string lower, upper;  // empty = unbounded
  bool lower_incl = true, upper_incl = false;
};

struct Affected {
  std::string ecosystem;  // normalised key
  std::string name;       // normalised name
  std::vector<Interval> intervals;
  std::vector<std::string> versions;
};

struct Advisory {
  std::string id;
  std::vector<std::string> aliases;
  double cvss = -1;
  int vendor_severity = -1;
  std::string summary, details;
  std::vector<std::string> references;
  std::vector<Affected> affected;
};

struct Kev {
  std::string cve, date_added, due_date, name;
  bool ransomware = false;
};

struct Epss {
  double epss = 0, percentile = 0, cvss3 = -1;
};

}  // namespace mamori::vuln::model
