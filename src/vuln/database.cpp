// The database file: building (collect → write to a temp file → rename) and reading
// (mmap, checksum, binary search). Layout in model.h.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/fs.h"
#include "core/text.h"
#include "vuln/importers.h"
#include "vuln/vuln.h"

namespace mamori::vuln {

namespace fs = std::filesystem;

// ============================================================== building

namespace {

class Writer {
 public:
  Writer() { pool_.push_back('\0'); }  // offset 0 means "no string"
  uint32_t str(std::string_view s) {
    if (s.empty()) return 0;
    auto it = index_.find(std::string(s));
    if (it != index_.end()) return it->second;
    uint32_t off = static_cast<uint32_t>(pool_.size());
    uint32_t len = static_cast<uint32_t>(s.size());
    pool_.append(reinterpret_cast<const char*>(&len), 4);
    pool_.append(s);
    index_.emplace(std::string(s), off);
    return off;
  }
  std::string& pool() { return pool_; }

 private:
  std::string pool_;
  std::unordered_map<std::string, uint32_t> index_;
};

template <typename T>
std::string_view bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

// Reads an open archive (the seekable zip reader: it starts from the central directory, so a
// truncated download has none and is refused before anything is read; every entry's CRC-32 is
// checked as it is read). Any damage fails the whole archive: a database built from part of a
// feed would say "checksum ok" over a third of the advisories missing.
Status read_zip_archive(BuildState& st, struct archive* a, const std::string& label,
                        SourceInfo& src) {
  src.kind = "osv";
  struct archive_entry* e;
  std::string buf;
  int rc;
  size_t entries = 0;
  auto why = [a] {
    return std::string(archive_error_string(a) ? archive_error_string(a) : "read error");
  };
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    ++entries;
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (!name.ends_with(".json")) {
      if (archive_read_data_skip(a) != ARCHIVE_OK)
        return Error::data_loss(fmt::format("{}!{}: damaged entry ({})", label, name, why()));
      continue;
    }
    int64_t size = archive_entry_size(e);
    if (size > (64 << 20)) {
      st.warn(fmt::format("{}!{}: entry larger than 64 MiB, skipped", label, name));
      if (archive_read_data_skip(a) != ARCHIVE_OK)
        return Error::data_loss(fmt::format("{}!{}: damaged entry ({})", label, name, why()));
      continue;
    }
    buf.clear();
    char chunk[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, chunk, sizeof chunk)) > 0) {
      buf.append(chunk, static_cast<size_t>(n));
      if (buf.size() > (64u << 20)) break;
    }
    if (n < 0)
      return Error::data_loss(fmt::format(
          "{}!{}: damaged entry ({}): the archive is not used, the old database is kept", label,
          name, why()));
    auto s = import_osv_record(st, label + "!" + name, buf, src);
    if (!s) {
      st.warn(s.error().message + ", record skipped");
      ++src.skipped;
    }
  }
  if (rc != ARCHIVE_EOF)
    return Error::data_loss(fmt::format(
        "{}: damaged zip after {} entries ({}): the archive is not used", label, entries, why()));
  return ok();
}

Status read_zip(BuildState& st, const std::string& path, SourceInfo& src) {
  auto fd = open_regular(path);
  if (!fd) return fd.error();
  struct archive* a = archive_read_new();
  archive_read_support_format_zip_seekable(a);
  std::unique_ptr<struct archive, int (*)(struct archive*)> guard(a, archive_read_free);
  if (archive_read_open_fd(a, fd->get(), 1 << 16) != ARCHIVE_OK)
    return Error::invalid(fmt::format(
        "{}: not a complete zip archive ({}): a truncated download has no central directory", path,
        archive_error_string(a) ? archive_error_string(a) : "cannot open"));
  return read_zip_archive(st, a, path, src);
}

}  // namespace

Status import_zip_bytes(BuildState& st, std::string_view data, const std::string& label,
                        SourceInfo& src) {
  struct archive* a = archive_read_new();
  archive_read_support_format_zip_seekable(a);
  std::unique_ptr<struct archive, int (*)(struct archive*)> guard(a, archive_read_free);
  if (archive_read_open_memory(a, data.data(), data.size()) != ARCHIVE_OK)
    return Error::invalid(fmt::format("{}: not a complete zip archive ({})", label,
                                      archive_error_string(a) ? archive_error_string(a) : "?"));
  return read_zip_archive(st, a, label, src);
}

namespace {

Status import_path(BuildState& st, const std::string& path, int64_t now) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (fs::recursive_directory_iterator
             it(path, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      auto ext = it->path().extension();
      if (ext == ".json" || ext == ".jsonl" || ext == ".zip" || ext == ".csv")
        files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    // One source entry for the directory; its records are summed over the files.
    SourceInfo dir{path, "osv", 0, 0, now, ""};
    size_t before = st.report.sources.size();
    for (const auto& f : files) MAMORI_TRY(import_path(st, f.string(), now), "import");
    for (size_t i = before; i < st.report.sources.size(); ++i) {
      dir.records += st.report.sources[i].records;
      dir.skipped += st.report.sources[i].skipped;
      dir.kind = st.report.sources[i].kind;
      dir.data_date = std::max(dir.data_date, st.report.sources[i].data_date);
    }
    st.report.sources.resize(before);
    st.report.sources.push_back(dir);
    return ok();
  }
  SourceInfo src{path, "", 0, 0, now, ""};
  if (path.ends_with(".zip")) {
    MAMORI_TRY(read_zip(st, path, src), "import");
  } else if (path.ends_with(".gz")) {
    auto text = read_gzip_file(path, 1ull << 30);
    if (!text) return text.error();
    std::string inner = path.substr(0, path.size() - 3);  // "scores.csv.gz" → "scores.csv"
    Format f = detect_format(inner, *text);
    MAMORI_TRY(import_text(st, f, path, *text, src), "import");
  } else if (path.ends_with(".yaml") || path.ends_with(".yml")) {
    return Error::unimplemented(fmt::format(
        "{}: YAML advisories are not read directly; use the JSON form (one record per line)",
        path));
  } else {
    auto text = read_file(path, 512ull << 20);
    if (!text) return text.error();
    Format f = detect_format(path, *text);
    MAMORI_TRY(import_text(st, f, path, *text, src), "import");
  }
  st.report.sources.push_back(src);
  return ok();
}

std::string sha256_raw(const char* data, size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data, n, md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

Result<BuildReport> build_database(const std::vector<std::string>& paths, const std::string& out,
                                   const BuildOptions& opts) {
  if (paths.empty()) return Error::invalid("db import: give at least one file or directory");
  BuildState st;
  st.max_warnings = opts.max_warnings;
  for (const auto& p : paths) MAMORI_TRY(import_path(st, p, opts.now), "db import");
  for (size_t i = 0; i < opts.labels.size() && i < st.report.sources.size(); ++i)
    st.report.sources[i].path = opts.labels[i];
  // The database being replaced knows how much each source held: far fewer records now is a
  // cut or partial download (or a feed gone wrong), not a reason to forget advisories.
  if (!opts.allow_shrink && fs::exists(out)) {
    if (auto old = VulnDb::open(out)) {
      for (const auto& was : (*old)->sources())
        for (const auto& now : st.report.sources)
          if (now.path == was.path && was.records >= 20 && now.records * 10 < was.records * 9)
            return Error::data_loss(fmt::format(
                "{}: {} records where the database being replaced has {} (more than 10% fewer: "
                "a truncated or partial download?); the old database is kept — --allow-shrink "
                "accepts it",
                now.path, now.records, was.records));
    }
  }
  if (st.warnings_dropped)
    st.report.warnings.push_back(fmt::format("... and {} more warnings", st.warnings_dropped));
  for (const auto& [eco, n] : st.unsupported_ecosystems)
    st.report.warnings.push_back(fmt::format(
        "{} affected entries of ecosystem {} skipped: no version model for it yet", n, eco));

  // --- flatten into the file layout
  Writer w;
  struct PkgKey {
    std::string eco, name;
    bool operator<(const PkgKey& o) const { return eco != o.eco ? eco < o.eco : name < o.name; }
  };
  std::map<PkgKey, std::vector<model::AffRec>> by_pkg;
  std::vector<model::IntvRec> intervals;
  std::vector<uint32_t> versions, aliases;
  std::vector<model::VulnRec> vulns;
  std::string desc;
  for (size_t vi = 0; vi < st.advisories.size(); ++vi) {
    const auto& a = st.advisories[vi];
    model::VulnRec r{};
    r.id = w.str(a.id);
    r.first_alias = static_cast<uint32_t>(aliases.size());
    for (const auto& al : a.aliases) aliases.push_back(w.str(al));
    r.n_alias = static_cast<uint32_t>(a.aliases.size());
    r.cvss = static_cast<float>(a.cvss);
    r.vendor_severity = static_cast<int8_t>(a.vendor_severity);
    nlohmann::json d = {
        {"s", valid_utf8(a.summary)}, {"d", valid_utf8(a.details)}, {"r", a.references}};
    std::string ds = d.dump();
    r.desc_off = desc.size();
    r.desc_len = static_cast<uint32_t>(ds.size());
    desc += ds;
    vulns.push_back(r);
    for (const auto& aff : a.affected) {
      model::AffRec ar{};
      ar.vuln = static_cast<uint32_t>(vi);
      ar.first_intv = static_cast<uint32_t>(intervals.size());
      for (const auto& iv : aff.intervals) {
        model::IntvRec ir{};
        ir.lower = w.str(iv.lower);
        ir.upper = w.str(iv.upper);
        ir.lower_incl = iv.lower_incl;
        ir.upper_incl = iv.upper_incl;
        intervals.push_back(ir);
      }
      ar.n_intv = static_cast<uint32_t>(aff.intervals.size());
      ar.first_ver = static_cast<uint32_t>(versions.size());
      for (const auto& v : aff.versions) versions.push_back(w.str(v));
      ar.n_ver = static_cast<uint32_t>(aff.versions.size());
      by_pkg[{aff.ecosystem, aff.name}].push_back(ar);
      ++st.report.affected;
    }
  }
  std::vector<model::PkgRec> pkgs;
  std::vector<model::AffRec> affs;
  for (auto& [k, list] : by_pkg) {
    model::PkgRec pr{w.str(k.eco), w.str(k.name), static_cast<uint32_t>(affs.size()),
                     static_cast<uint32_t>(list.size())};
    pkgs.push_back(pr);
    affs.insert(affs.end(), list.begin(), list.end());
  }
  std::vector<model::KevRec> kevs;
  for (const auto& [cve, k] : st.kev)  // std::map: sorted by CVE
    kevs.push_back({w.str(cve),
                    w.str(k.date_added),
                    w.str(k.due_date),
                    w.str(k.name),
                    static_cast<uint8_t>(k.ransomware),
                    {0, 0, 0}});
  std::vector<model::EpssRec> epss;
  for (const auto& [cve, e] : st.epss)
    epss.push_back({w.str(cve), static_cast<float>(e.epss), static_cast<float>(e.percentile),
                    static_cast<float>(e.cvss3)});
  st.report.advisories = static_cast<int64_t>(st.advisories.size());
  st.report.kev = static_cast<int64_t>(kevs.size());
  st.report.epss = static_cast<int64_t>(epss.size());
  // PKGS must be sorted by the bytes of (ecosystem, name) — std::map already is.
  nlohmann::json meta;
  meta["sources"] = nlohmann::json::array();
  for (const auto& s : st.report.sources)
    meta["sources"].push_back({{"path", valid_utf8(s.path)},
                               {"kind", s.kind},
                               {"records", s.records},
                               {"skipped", s.skipped},
                               {"imported_at", s.imported_at},
                               {"data_date", s.data_date}});
  meta["counts"] = {{"advisories", st.report.advisories},
                    {"affected", st.report.affected},
                    {"packages", pkgs.size()},
                    {"kev", st.report.kev},
                    {"epss", st.report.epss}};
  std::string meta_s = meta.dump();

  std::vector<std::pair<uint32_t, std::string_view>> sections = {
      {model::kStrs, w.pool()},
      {model::kPkgs, bytes_of(pkgs)},
      {model::kAffs, bytes_of(affs)},
      {model::kIntv, bytes_of(intervals)},
      {model::kVers, bytes_of(versions)},
      {model::kVuln, bytes_of(vulns)},
      {model::kAlia, bytes_of(aliases)},
      {model::kKevs, bytes_of(kevs)},
      {model::kEpss, bytes_of(epss)},
      {model::kMeta, meta_s},
      {model::kDesc, desc}};
  std::string file(sizeof(model::Header) + sections.size() * sizeof(model::SectionEntry), '\0');
  std::vector<model::SectionEntry> table;
  for (const auto& [tag, data] : sections) {
    while (file.size() % 8) file.push_back('\0');
    table.push_back({tag, 0, file.size(), data.size()});
    file.append(data);
  }
  std::memcpy(file.data() + sizeof(model::Header), table.data(),
              table.size() * sizeof(model::SectionEntry));
  model::Header h{};
  std::memcpy(h.magic, model::kMagic, 8);
  h.format = model::kFormat;
  h.sections = static_cast<uint32_t>(table.size());
  h.created_at = opts.now;
  h.payload_size = file.size() - sizeof(model::Header);
  std::string digest = sha256_raw(file.data() + sizeof(model::Header), h.payload_size);
  std::memcpy(h.sha256, digest.data(), 32);
  std::memcpy(file.data(), &h, sizeof h);
  st.report.bytes = file.size();

  MAMORI_TRY(ensure_parent_dir(out), "db import: directory");
  MAMORI_TRY(write_file_atomic(out, file), "db import: write");
  return st.report;
}

// ============================================================== reading

struct VulnDb::Impl {
  const char* base = nullptr;
  size_t size = 0;
  const model::Header* header = nullptr;
  std::string_view strs, desc, meta;
  const model::PkgRec* pkgs = nullptr;
  size_t n_pkgs = 0;
  const model::AffRec* affs = nullptr;
  size_t n_affs = 0;
  const model::IntvRec* intv = nullptr;
  size_t n_intv = 0;
  const uint32_t* vers = nullptr;
  size_t n_vers = 0;
  const model::VulnRec* vulns = nullptr;
  size_t n_vulns = 0;
  const uint32_t* alia = nullptr;
  size_t n_alia = 0;
  const model::KevRec* kevs = nullptr;
  size_t n_kevs = 0;
  const model::EpssRec* epss = nullptr;
  size_t n_epss = 0;

  ~Impl() {
    if (base) ::munmap(const_cast<char*>(base), size);
  }
  std::string_view str(uint32_t off) const {
    if (off == 0 || static_cast<size_t>(off) + 4 > strs.size()) return {};
    uint32_t len;
    std::memcpy(&len, strs.data() + off, 4);
    if (static_cast<size_t>(off) + 4 + len > strs.size()) return {};
    return strs.substr(off + 4, len);
  }
};

VulnDb::~VulnDb() = default;

std::string VulnDb::default_path() { return state_dir() + "/vuln.db"; }

Result<std::unique_ptr<VulnDb>> VulnDb::open(const std::string& path) {
  // open_regular: a FIFO or a device named as the database is refused before open(2) could
  // block on it or reach a driver.
  struct stat sb {};
  auto opened = open_regular(path, &sb);
  if (!opened) return opened.error();
  UniqueFd fd = std::move(*opened);
  size_t size = static_cast<size_t>(sb.st_size);
  if (size < sizeof(model::Header))
    return Error::data_loss(path + ": too short to be a Mamori vulnerability database");
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  fd.reset();  // the mapping holds the file
  if (m == MAP_FAILED) return errno_error(path, errno);
  std::unique_ptr<VulnDb> db(new VulnDb());
  db->impl_ = std::make_unique<Impl>();
  Impl& I = *db->impl_;
  I.base = static_cast<const char*>(m);
  I.size = size;
  db->path_ = path;
  db->size_ = size;
  I.header = reinterpret_cast<const model::Header*>(I.base);
  if (std::memcmp(I.header->magic, model::kMagic, 8) != 0)
    return Error::data_loss(path + ": not a Mamori vulnerability database (bad magic)");
  if (I.header->format != model::kFormat)
    return Error::unimplemented(
        fmt::format("{}: database format {} (this mamori reads {}); rebuild it with 'mamori db "
                    "import' or 'db update'",
                    path, I.header->format, model::kFormat));
  if (I.header->payload_size != size - sizeof(model::Header))
    return Error::data_loss(path + ": truncated or extended (size does not match the header)");
  std::string digest = sha256_raw(I.base + sizeof(model::Header), I.header->payload_size);
  if (std::memcmp(digest.data(), I.header->sha256, 32) != 0)
    return Error::data_loss(
        path + ": checksum mismatch: the database is damaged or was modified; rebuild it");
  size_t n_sec = I.header->sections;
  if (n_sec > 64 || sizeof(model::Header) + n_sec * sizeof(model::SectionEntry) > size)
    return Error::data_loss(path + ": bad section table");
  const auto* table = reinterpret_cast<const model::SectionEntry*>(I.base + sizeof(model::Header));
  for (size_t i = 0; i < n_sec; ++i) {
    const auto& s = table[i];
    if (s.offset > size || s.size > size - s.offset)
      return Error::data_loss(path + ": section out of bounds");
    if (s.offset % 8 != 0)  // records are read in place: they must be aligned
      return Error::data_loss(path + ": misaligned section");
    std::string_view data(I.base + s.offset, s.size);
    auto arr = [&](auto*& ptr, size_t& n, size_t rec) -> bool {
      if (data.size() % rec) return false;
      ptr = reinterpret_cast<std::remove_reference_t<decltype(ptr)>>(data.data());
      n = data.size() / rec;
      return true;
    };
    bool good = true;
    switch (s.tag) {
      case model::kStrs:
        I.strs = data;
        break;
      case model::kDesc:
        I.desc = data;
        break;
      case model::kMeta:
        I.meta = data;
        break;
      case model::kPkgs:
        good = arr(I.pkgs, I.n_pkgs, sizeof(model::PkgRec));
        break;
      case model::kAffs:
        good = arr(I.affs, I.n_affs, sizeof(model::AffRec));
        break;
      case model::kIntv:
        good = arr(I.intv, I.n_intv, sizeof(model::IntvRec));
        break;
      case model::kVers:
        good = arr(I.vers, I.n_vers, sizeof(uint32_t));
        break;
      case model::kVuln:
        good = arr(I.vulns, I.n_vulns, sizeof(model::VulnRec));
        break;
      case model::kAlia:
        good = arr(I.alia, I.n_alia, sizeof(uint32_t));
        break;
      case model::kKevs:
        good = arr(I.kevs, I.n_kevs, sizeof(model::KevRec));
        break;
      case model::kEpss:
        good = arr(I.epss, I.n_epss, sizeof(model::EpssRec));
        break;
      default:
        break;
    }
    if (!good) return Error::data_loss(path + ": malformed section");
  }
  // Cross-references are bounds-checked once here so lookups need no checks.
  for (size_t i = 0; i < I.n_pkgs; ++i)
    if (static_cast<size_t>(I.pkgs[i].first_aff) + I.pkgs[i].n_aff > I.n_affs)
      return Error::data_loss(path + ": package index out of range");
  for (size_t i = 0; i < I.n_affs; ++i) {
    const auto& a = I.affs[i];
    if (a.vuln >= I.n_vulns || static_cast<size_t>(a.first_intv) + a.n_intv > I.n_intv ||
        static_cast<size_t>(a.first_ver) + a.n_ver > I.n_vers)
      return Error::data_loss(path + ": affected entry out of range");
  }
  for (size_t i = 0; i < I.n_vulns; ++i) {
    const auto& v = I.vulns[i];
    if (static_cast<size_t>(v.first_alias) + v.n_alias > I.n_alia || v.desc_off > I.desc.size() ||
        v.desc_len > I.desc.size() - v.desc_off)
      return Error::data_loss(path + ": advisory record out of range");
  }
  return db;
}

int64_t VulnDb::created_at() const { return impl_->header->created_at; }

std::vector<SourceInfo> VulnDb::sources() const {
  std::vector<SourceInfo> out;
  auto j = nlohmann::json::parse(impl_->meta, nullptr, false);
  if (!j.is_object() || !j.contains("sources")) return out;
  if (!j["sources"].is_array()) return out;
  // a checksum says the file is what was written, not that it was written by us: never throw
  auto text = [](const nlohmann::json& o, const char* k) {
    return o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : std::string();
  };
  auto num = [](const nlohmann::json& o, const char* k) {
    return o.contains(k) && o[k].is_number_integer() ? o[k].get<int64_t>() : int64_t{0};
  };
  for (const auto& s : j["sources"]) {
    if (!s.is_object()) continue;
    SourceInfo si;
    si.path = text(s, "path");
    si.kind = text(s, "kind");
    si.records = num(s, "records");
    si.skipped = num(s, "skipped");
    si.imported_at = num(s, "imported_at");
    si.data_date = text(s, "data_date");
    out.push_back(si);
  }
  return out;
}

int64_t VulnDb::advisory_count() const { return static_cast<int64_t>(impl_->n_vulns); }
int64_t VulnDb::package_count() const { return static_cast<int64_t>(impl_->n_pkgs); }
int64_t VulnDb::kev_count() const { return static_cast<int64_t>(impl_->n_kevs); }
int64_t VulnDb::epss_count() const { return static_cast<int64_t>(impl_->n_epss); }

std::vector<VulnDb::Affected> VulnDb::lookup(std::string_view eco, std::string_view name) const {
  const Impl& I = *impl_;
  auto less = [&](const model::PkgRec& p, std::pair<std::string_view, std::string_view> k) {
    std::string_view e = I.str(p.ecosystem), n = I.str(p.name);
    return e != k.first ? e < k.first : n < k.second;
  };
  const model::PkgRec* end = I.pkgs + I.n_pkgs;
  const model::PkgRec* it = std::lower_bound(I.pkgs, end, std::pair{eco, name}, less);
  std::vector<Affected> out;
  if (it == end || I.str(it->ecosystem) != eco || I.str(it->name) != name) return out;
  for (uint32_t k = 0; k < it->n_aff; ++k) {
    const model::AffRec& a = I.affs[it->first_aff + k];
    Affected af;
    af.vuln = a.vuln;
    for (uint32_t j = 0; j < a.n_intv; ++j) {
      const model::IntvRec& r = I.intv[a.first_intv + j];
      af.intervals.push_back(
          {I.str(r.lower), I.str(r.upper), r.lower_incl != 0, r.upper_incl != 0});
    }
    for (uint32_t j = 0; j < a.n_ver; ++j) af.versions.push_back(I.str(I.vers[a.first_ver + j]));
    out.push_back(std::move(af));
  }
  return out;
}

VulnRef VulnDb::vuln(uint32_t index) const {
  const Impl& I = *impl_;
  VulnRef r;
  if (index >= I.n_vulns) return r;
  const model::VulnRec& v = I.vulns[index];
  r.id = std::string(I.str(v.id));
  for (uint32_t k = 0; k < v.n_alias; ++k) r.aliases.emplace_back(I.str(I.alia[v.first_alias + k]));
  r.cvss =
      v.cvss < 0 ? -1.0 : std::round(static_cast<double>(v.cvss) * 10.0) / 10.0;  // stored as float
  r.vendor_severity = v.vendor_severity;
  return r;
}

std::optional<KevInfo> VulnDb::kev(std::string_view cve) const {
  const Impl& I = *impl_;
  const model::KevRec* end = I.kevs + I.n_kevs;
  auto it = std::lower_bound(I.kevs, end, cve, [&](const model::KevRec& k, std::string_view c) {
    return I.str(k.cve) < c;
  });
  if (it == end || I.str(it->cve) != cve) return std::nullopt;
  return KevInfo{std::string(cve), std::string(I.str(it->date_added)),
                 std::string(I.str(it->due_date)), it->ransomware != 0,
                 std::string(I.str(it->name))};
}

std::optional<EpssInfo> VulnDb::epss(std::string_view cve) const {
  const Impl& I = *impl_;
  const model::EpssRec* end = I.epss + I.n_epss;
  auto it = std::lower_bound(I.epss, end, cve, [&](const model::EpssRec& e, std::string_view c) {
    return I.str(e.cve) < c;
  });
  if (it == end || I.str(it->cve) != cve) return std::nullopt;
  double cvss3 = it->cvss3 < 0 ? -1.0 : std::round(static_cast<double>(it->cvss3) * 10.0) / 10.0;
  return EpssInfo{it->epss, it->percentile, cvss3};
}

Description VulnDb::description(uint32_t index) const {
  const Impl& I = *impl_;
  Description d;
  if (index >= I.n_vulns) return d;
  const model::VulnRec& v = I.vulns[index];
  auto j = nlohmann::json::parse(I.desc.substr(v.desc_off, v.desc_len), nullptr, false);
  if (!j.is_object()) return d;
  if (j.contains("s") && j["s"].is_string()) d.summary = j["s"].get<std::string>();
  if (j.contains("d") && j["d"].is_string()) d.details = j["d"].get<std::string>();
  if (j.contains("r") && j["r"].is_array())
    for (const auto& r : j["r"])
      if (r.is_string()) d.references.push_back(r.get<std::string>());
  return d;
}

}  // namespace mamori::vuln
