#pragma once
// Readers of the vulnerability interchange formats (private to the vuln module).
// Each reads one file's text and adds to a BuildState; bad records become warnings
// that name the file and the record, and the rest is still imported.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "vuln/model.h"
#include "vuln/version.h"
#include "vuln/vuln.h"

namespace mamori::vuln {

struct BuildState {
  std::vector<model::Advisory> advisories;
  std::map<std::string, model::Kev> kev;
  std::map<std::string, model::Epss> epss;
  std::map<std::string, int64_t> unsupported_ecosystems;  // ecosystem → affected entries skipped
  BuildReport report;
  size_t max_warnings = 200;
  size_t warnings_dropped = 0;
  void warn(std::string w);
};

// Scheme for an OSV ecosystem string ("Debian:12" → dpkg); false when unsupported.
bool scheme_for_ecosystem(std::string_view ecosystem, Scheme& out);
// Canonical ecosystem key ("Debian:12", "AlmaLinux:9", "PyPI", ...).
std::string ecosystem_key_of(std::string_view ecosystem);

// Format detection and import of one file's content. `label` names the file in warnings.
enum class Format { kOsvJson, kOsvJsonl, kKev, kEpssCsv, kFriendsOfPhp, kWordPress, kUnknown };
Format detect_format(std::string_view label, std::string_view text);
Status import_text(BuildState& st, Format f, std::string_view label, std::string_view text,
                   SourceInfo& src);
// An OSV all.zip held in memory (the fuzzer's way in to the zip reader): central directory
// first, every entry's CRC checked; any damage is an error and nothing of it is kept.
Status import_zip_bytes(BuildState& st, std::string_view data, const std::string& label,
                        SourceInfo& src);
// One OSV record (JSON object text); used by the zip reader and the fuzzer.
Status import_osv_record(BuildState& st, std::string_view label, std::string_view json,
                         SourceInfo& src);

}  // namespace mamori::vuln
