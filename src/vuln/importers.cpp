#include "vuln/importers.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "core/text.h"
#include "vuln/cvss.h"

namespace mamori::vuln {

namespace dom = simdjson::dom;

void BuildState::warn(std::string w) {
  if (report.warnings.size() < max_warnings)
    report.warnings.push_back(sanitize(w));
  else
    ++warnings_dropped;
}

bool scheme_for_ecosystem(std::string_view e, Scheme& out) {
  auto base = e.substr(0, e.find(':'));
  if (base == "Debian" || base == "Ubuntu")
    out = Scheme::kDpkg;
  else if (base == "AlmaLinux" || base == "Rocky Linux" || base == "Red Hat" ||
           base == "openSUSE" || base == "SUSE" || base == "Mageia")
    out = Scheme::kRpm;
  else if (base == "PyPI")
    out = Scheme::kPep440;
  else if (base == "npm" || base == "Go" || base == "crates.io" || base == "Hex" || base == "Pub")
    out = Scheme::kSemver;
  else if (base == "Packagist")
    out = Scheme::kComposer;
  else if (base == "WordPress")
    out = Scheme::kPhp;
  else
    return false;
  return true;
}

std::string ecosystem_key_of(std::string_view e) { return std::string(trim(e)); }

std::string normalize_name(std::string_view eco, std::string_view name) {
  if (eco == "PyPI") {
    std::string out;
    for (char c : name) {
      char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (l == '_' || l == '.' || l == '-') {
        if (out.empty() || out.back() != '-') out.push_back('-');
      } else {
        out.push_back(l);
      }
    }
    return out;
  }
  if (eco == "Packagist" || eco.starts_with("WordPress")) return to_lower(name);
  return std::string(name);
}

namespace {

std::string str_of(dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return "";
}

int vendor_severity_from_text(std::string_view t) {
  std::string l = to_lower(trim(t));
  if (l == "critical") return 3;
  if (l == "high" || l == "important") return 2;
  if (l == "moderate" || l == "medium") return 1;
  if (l == "low" || l == "unimportant" || l == "negligible") return 0;
  return -1;
}

// Builds intervals from OSV events. When the events are listed as pairs (each "introduced"
// followed by its "fixed" (exclusive), "last_affected" (inclusive) or "limit" (exclusive), the
// last one possibly open), each pair is an interval as listed: ranges that touch
// ([3.1.1, 3.2.0) and [3.2.0, 3.2.2), listed out of order) keep the version where they meet.
// Otherwise per the OSV evaluation algorithm: sort the events by version (introduced "0"
// first), an interval opens at "introduced" and closes at the next closing event.
Result<std::vector<model::Interval>> intervals_from_events(
    Scheme scheme, std::vector<std::pair<std::string, std::string>> events) {
  for (auto& [kind, v] : events)
    if (!(kind == "introduced" && v == "0")) {
      auto chk = compare_versions(scheme, v, v);
      if (!chk) return chk.error();
    }
  auto closing = [](const std::string& k) {
    return k == "fixed" || k == "limit" || k == "last_affected";
  };
  bool paired = !events.empty();
  for (size_t i = 0; i < events.size() && paired; ++i)
    paired = i % 2 == 0 ? events[i].first == "introduced" : closing(events[i].first);
  if (paired) {
    std::vector<model::Interval> out;
    for (size_t i = 0; i < events.size(); i += 2) {
      model::Interval cur;
      if (events[i].second != "0") cur.lower = events[i].second;
      if (i + 1 < events.size()) {
        cur.upper = events[i + 1].second;
        cur.upper_incl = events[i + 1].first == "last_affected";
      }
      out.push_back(std::move(cur));
    }
    return out;
  }
  std::stable_sort(events.begin(), events.end(), [scheme](const auto& a, const auto& b) {
    bool a0 = a.first == "introduced" && a.second == "0";
    bool b0 = b.first == "introduced" && b.second == "0";
    if (a0 || b0) return a0 && !b0;
    auto c = compare_versions(scheme, a.second, b.second);
    return c && *c < 0;
  });
  std::vector<model::Interval> out;
  bool open = false;
  model::Interval cur;
  for (const auto& [kind, v] : events) {
    if (kind == "introduced") {
      if (open) continue;  // already inside an interval
      cur = model::Interval{};
      if (v != "0") cur.lower = v;
      open = true;
    } else if (kind == "fixed" || kind == "limit" || kind == "last_affected") {
      if (!open) continue;
      cur.upper = v;
      cur.upper_incl = kind == "last_affected";
      out.push_back(cur);
      open = false;
    }
  }
  if (open) out.push_back(cur);
  return out;
}

void add_cves_from_refs(model::Advisory& a) {
  bool has_cve = a.id.starts_with("CVE-") ||
                 std::any_of(a.aliases.begin(), a.aliases.end(),
                             [](const std::string& s) { return s.starts_with("CVE-"); });
  if (has_cve) return;
  for (const auto& url : a.references) {
    size_t p = url.find("CVE-");
    if (p == std::string::npos || url.find("/cve") == std::string::npos) continue;
    size_t e = p + 4;
    while (e < url.size() && (std::isdigit(static_cast<unsigned char>(url[e])) || url[e] == '-'))
      ++e;
    std::string cve = url.substr(p, e - p);
    if (cve.size() >= 13 && std::find(a.aliases.begin(), a.aliases.end(), cve) == a.aliases.end())
      a.aliases.push_back(cve);
  }
}

Status import_osv_element(BuildState& st, std::string_view label, dom::element rec,
                          SourceInfo& src) {
  if (!rec.is_object())
    return Error::invalid(fmt::format("{}: record is not a JSON object", label));
  model::Advisory a;
  a.id = str_of(rec, "id");
  if (a.id.empty()) return Error::invalid(fmt::format("{}: record has no 'id'", label));
  std::string where = fmt::format("{} ({})", label, a.id);
  dom::array arr;
  for (const char* key : {"aliases", "upstream"})
    if (rec[key].get_array().get(arr) == simdjson::SUCCESS)
      for (auto x : arr) {
        std::string_view s;
        if (x.get_string().get(s) == simdjson::SUCCESS && s != a.id) a.aliases.emplace_back(s);
      }
  a.summary = str_of(rec, "summary");
  a.details = str_of(rec, "details");
  if (a.details.size() > 4096) a.details = a.details.substr(0, 4096) + "…";
  if (rec["references"].get_array().get(arr) == simdjson::SUCCESS)
    for (auto r : arr) {
      std::string u = str_of(r, "url");
      if (!u.empty() && a.references.size() < 32) a.references.push_back(u);
    }
  add_cves_from_refs(a);
  // Severity: CVSS v3 vectors, GHSA's database_specific.severity, RHEL-style summaries.
  if (rec["severity"].get_array().get(arr) == simdjson::SUCCESS)
    for (auto s : arr) {
      std::string type = str_of(s, "type"), score = str_of(s, "score");
      if (type == "CVSS_V3")
        if (auto sc = cvss3_base_score(score)) a.cvss = std::max(a.cvss, *sc);
    }
  dom::element ds;
  if (rec["database_specific"].get(ds) == simdjson::SUCCESS) {
    std::string sev = str_of(ds, "severity");
    if (!sev.empty()) a.vendor_severity = vendor_severity_from_text(sev);
  }
  if (a.vendor_severity < 0) {
    size_t colon = a.summary.find(':');
    if (colon != std::string::npos && colon < 12)
      a.vendor_severity = vendor_severity_from_text(a.summary.substr(0, colon));
  }
  if (rec["affected"].get_array().get(arr) != simdjson::SUCCESS)
    return Error::invalid(fmt::format("{}: no 'affected' array", where));
  for (auto aff : arr) {
    dom::element pkg;
    if (aff["package"].get(pkg) != simdjson::SUCCESS) continue;  // affected without a package
    std::string eco = str_of(pkg, "ecosystem"), name = str_of(pkg, "name");
    if (eco.empty() || name.empty()) {
      st.warn(fmt::format("{}: affected entry without ecosystem or name, skipped", where));
      continue;
    }
    Scheme scheme;
    if (!scheme_for_ecosystem(eco, scheme)) {
      ++st.unsupported_ecosystems[eco.substr(0, eco.find(':'))];
      continue;
    }
    dom::element es;
    if (a.vendor_severity < 0 && aff["ecosystem_specific"].get(es) == simdjson::SUCCESS) {
      std::string urg = str_of(es, "urgency");
      if (!urg.empty()) a.vendor_severity = vendor_severity_from_text(urg);
    }
    model::Affected m;
    m.ecosystem = ecosystem_key_of(eco);
    m.name = normalize_name(m.ecosystem, name);
    dom::array ranges;
    if (aff["ranges"].get_array().get(ranges) == simdjson::SUCCESS)
      for (auto r : ranges) {
        std::string type = str_of(r, "type");
        if (type == "GIT") continue;  // commit ranges do not apply to installed packages
        if (type != "ECOSYSTEM" && type != "SEMVER") {
          st.warn(
              fmt::format("{}: unknown range type '{}' for {}, range skipped", where, type, name));
          continue;
        }
        Scheme rs = type == "SEMVER" ? Scheme::kSemver : scheme;
        std::vector<std::pair<std::string, std::string>> events;
        dom::array evs;
        if (r["events"].get_array().get(evs) != simdjson::SUCCESS) continue;
        for (auto ev : evs) {
          dom::object o;
          if (ev.get_object().get(o) != simdjson::SUCCESS) continue;
          for (auto field : o) {
            std::string_view v;
            if (field.value.get_string().get(v) == simdjson::SUCCESS)
              events.emplace_back(std::string(field.key), std::string(v));
          }
        }
        auto iv = intervals_from_events(rs, std::move(events));
        if (!iv) {
          st.warn(fmt::format("{}: {} for {}, range skipped", where, iv.error().message, name));
          continue;
        }
        for (auto& i : *iv) m.intervals.push_back(std::move(i));
      }
    dom::array vers;
    if (aff["versions"].get_array().get(vers) == simdjson::SUCCESS)
      for (auto v : vers) {
        std::string_view s;
        if (v.get_string().get(s) == simdjson::SUCCESS) m.versions.emplace_back(s);
      }
    if (m.intervals.empty() && m.versions.empty()) continue;
    a.affected.push_back(std::move(m));
  }
  std::string modified = str_of(rec, "modified");
  if (modified.size() >= 10 && !modified.starts_with("0001") && modified > src.data_date)
    src.data_date = modified.substr(0, 10);
  if (!a.affected.empty()) {
    st.advisories.push_back(std::move(a));
    ++src.records;
  }
  return ok();
}

// --- KEV
Status import_kev(BuildState& st, std::string_view label, dom::element doc, SourceInfo& src) {
  dom::array arr;
  if (doc["vulnerabilities"].get_array().get(arr) != simdjson::SUCCESS)
    return Error::invalid(fmt::format(
        "{}: no 'vulnerabilities' array: not a CISA KEV catalog, or its schema changed", label));
  std::string cat = str_of(doc, "dateReleased");
  if (cat.size() >= 10) src.data_date = cat.substr(0, 10);
  size_t idx = 0;
  for (auto v : arr) {
    std::string cve = str_of(v, "cveID");
    if (!cve.starts_with("CVE-")) {
      st.warn(fmt::format("{}: vulnerabilities[{}] has no cveID (schema changed?), skipped", label,
                          idx));
      ++src.skipped;
      ++idx;
      continue;
    }
    model::Kev k;
    k.cve = cve;
    k.date_added = str_of(v, "dateAdded");
    k.due_date = str_of(v, "dueDate");
    k.name = str_of(v, "vulnerabilityName");
    k.ransomware = str_of(v, "knownRansomwareCampaignUse") == "Known";
    if (k.date_added.empty() || k.due_date.empty())
      st.warn(fmt::format("{}: {} lacks dateAdded/dueDate (schema changed?)", label, cve));
    st.kev[cve] = std::move(k);
    ++src.records;
    ++idx;
  }
  if (src.records == 0)
    return Error::invalid(fmt::format("{}: no usable KEV records (schema changed?)", label));
  // the catalog says how many it holds: a cut download (or a cut list) must not pass for it
  int64_t announced = 0;
  if (doc["count"].get_int64().get(announced) == simdjson::SUCCESS &&
      announced != static_cast<int64_t>(idx))
    return Error::data_loss(fmt::format(
        "{}: the catalog announces {} vulnerabilities and holds {} (a truncated download?)", label,
        announced, idx));
  return ok();
}

// --- WordPress first/last vulnerable versions
Status import_wordpress(BuildState& st, std::string_view label, dom::element doc, SourceInfo& src) {
  dom::array arr;
  if (doc["vulnerabilities"].get_array().get(arr) != simdjson::SUCCESS)
    return Error::invalid(fmt::format("{}: no 'vulnerabilities' array", label));
  size_t idx = 0;
  for (auto v : arr) {
    std::string slug = str_of(v, "slug"), type = str_of(v, "type");
    std::string first = str_of(v, "first_version"), last = str_of(v, "last_version");
    ++idx;
    if (slug.empty() || last.empty() || (type != "plugin" && type != "theme" && type != "core")) {
      st.warn(fmt::format("{}: vulnerabilities[{}] lacks slug/type/last_version, skipped", label,
                          idx - 1));
      ++src.skipped;
      continue;
    }
    auto plain = [](const std::string& s) {
      return !s.empty() && std::isdigit(static_cast<unsigned char>(s[0])) &&
             s.find_first_of(" ()") == std::string::npos;
    };
    if ((!first.empty() && !plain(first)) || !plain(last)) {
      st.warn(fmt::format("{}: {} has free-text versions ('{}' .. '{}'), skipped", label, slug,
                          first, last));
      ++src.skipped;
      continue;
    }
    model::Advisory a;
    a.id = fmt::format("MAMORI-WP-{}-{}-{}", slug, first.empty() ? "0" : first, last);
    a.summary = str_of(v, "vulnerability_type");
    std::string url = str_of(v, "url");
    if (!url.empty()) a.references.push_back(url);
    std::string cve = str_of(v, "cve");
    if (cve.starts_with("CVE-")) a.aliases.push_back(cve);
    model::Affected m;
    m.ecosystem = "WordPress:" + type;
    m.name = to_lower(slug);
    model::Interval iv;
    iv.lower = first;
    iv.upper = last;
    iv.lower_incl = true;
    iv.upper_incl = true;  // last_version is the last vulnerable one
    m.intervals.push_back(iv);
    a.affected.push_back(std::move(m));
    st.advisories.push_back(std::move(a));
    ++src.records;
  }
  return ok();
}

// --- FriendsOfPHP security-advisories (one record per advisory file)
Status import_fop_record(BuildState& st, std::string_view label, dom::element v, SourceInfo& src) {
  std::string ref = str_of(v, "reference");
  if (!ref.starts_with("composer://"))
    return Error::invalid(fmt::format("{}: 'reference' is not composer://vendor/package", label));
  std::string pkg = to_lower(ref.substr(11));
  std::string file = str_of(v, "_file");
  model::Advisory a;
  std::string cve = str_of(v, "cve");
  a.id =
      !file.empty() ? "FOP-" + file : (cve.empty() ? "FOP-" + pkg + "-" + str_of(v, "title") : cve);
  if (cve.starts_with("CVE-") && cve != a.id) a.aliases.push_back(cve);
  a.summary = str_of(v, "title");
  std::string link = str_of(v, "link");
  if (!link.empty()) a.references.push_back(link);
  model::Affected m;
  m.ecosystem = "Packagist";
  m.name = pkg;
  dom::object branches;
  if (v["branches"].get_object().get(branches) != simdjson::SUCCESS)
    return Error::invalid(fmt::format("{}: {} has no 'branches'", label, a.id));
  for (auto b : branches) {
    dom::array cons;
    if (b.value["versions"].get_array().get(cons) != simdjson::SUCCESS) continue;
    model::Interval iv;
    bool ok_range = true;
    for (auto c : cons) {
      std::string_view s;
      if (c.get_string().get(s) != simdjson::SUCCESS) continue;
      s = trim(s);
      std::string_view op;
      for (std::string_view o : {">=", "<=", ">", "<", "=="})
        if (s.starts_with(o)) {
          op = o;
          break;
        }
      std::string ver(trim(s.substr(op.size())));
      if (op.empty() || ver.empty() || !composer_normalize(ver)) {
        ok_range = false;
        break;
      }
      if (op == ">=" || op == ">") {
        iv.lower = ver;
        iv.lower_incl = op == ">=";
      } else if (op == "<" || op == "<=") {
        iv.upper = ver;
        iv.upper_incl = op == "<=";
      } else {
        iv.lower = iv.upper = ver;
        iv.lower_incl = iv.upper_incl = true;
      }
    }
    if (!ok_range) {
      st.warn(fmt::format("{}: {} branch '{}' has a constraint Mamori cannot read, skipped", label,
                          a.id, b.key));
      continue;
    }
    m.intervals.push_back(iv);
  }
  if (m.intervals.empty()) {
    ++src.skipped;
    return ok();
  }
  a.affected.push_back(std::move(m));
  st.advisories.push_back(std::move(a));
  ++src.records;
  return ok();
}

// --- EPSS CSV (FIRST's "cve,epss,percentile" with a '#' comment line, or a CSV with
// CVE, EPSS, "EPSS Percentile" and optional CVSS3 columns).
std::vector<std::string> csv_fields(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool q = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (q) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        q = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"') {
      q = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else if (c != '\r') {
      cur.push_back(c);
    }
  }
  out.push_back(std::move(cur));
  return out;
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

Status import_epss(BuildState& st, std::string_view label, std::string_view text, SourceInfo& src) {
  size_t pos = 0, lineno = 0;
  std::string_view line;
  int c_cve = -1, c_epss = -1, c_pct = -1, c_cvss = -1;
  bool header = false;
  while (next_line(text, pos, line)) {
    ++lineno;
    if (line.empty()) continue;
    if (line.front() == '#') {
      size_t d = line.find("score_date:");
      if (d != std::string_view::npos) src.data_date = std::string(line.substr(d + 11, 10));
      continue;
    }
    auto f = csv_fields(line);
    if (!header) {
      for (size_t i = 0; i < f.size(); ++i) {
        std::string h = to_lower(trim(f[i]));
        if (h == "cve")
          c_cve = static_cast<int>(i);
        else if (h == "epss")
          c_epss = static_cast<int>(i);
        else if (h == "percentile" || h == "epss percentile")
          c_pct = static_cast<int>(i);
        else if (h == "cvss3")
          c_cvss = static_cast<int>(i);
      }
      if (c_cve < 0 || c_epss < 0)
        return Error::invalid(
            fmt::format("{}:{}: CSV header lacks 'cve' and 'epss' columns", label, lineno));
      header = true;
      continue;
    }
    auto get = [&](int c) {
      return c >= 0 && static_cast<size_t>(c) < f.size() ? f[static_cast<size_t>(c)]
                                                         : std::string();
    };
    std::string cve = get(c_cve);
    model::Epss e;
    if (!cve.starts_with("CVE-") || !parse_double(get(c_epss), e.epss) || e.epss < 0 ||
        e.epss > 1) {
      st.warn(fmt::format("{}:{}: not a valid EPSS row, skipped", label, lineno));
      ++src.skipped;
      continue;
    }
    parse_double(get(c_pct), e.percentile);
    double cv;
    if (parse_double(get(c_cvss), cv) && cv >= 0 && cv <= 10) e.cvss3 = cv;
    st.epss[cve] = e;
    ++src.records;
  }
  if (!header) return Error::invalid(fmt::format("{}: empty CSV", label));
  return ok();
}

std::string_view first_json_line(std::string_view text) {
  size_t pos = 0;
  std::string_view line;
  while (next_line(text, pos, line))
    if (!trim(line).empty()) return trim(line);
  return {};
}

}  // namespace

Format detect_format(std::string_view label, std::string_view text) {
  if (label.ends_with(".csv") || text.starts_with("#model_version") ||
      to_lower(text.substr(0, 64)).starts_with("cve,"))
    return Format::kEpssCsv;
  std::string_view first = first_json_line(text);
  if (first.empty()) return Format::kUnknown;
  dom::parser p;
  dom::element e;
  bool whole_ok = p.parse(text.data(), text.size()).get(e) == simdjson::SUCCESS;
  if (whole_ok) {
    if (e.is_array()) return Format::kOsvJson;
    if (!e.is_object()) return Format::kUnknown;
    dom::array arr;
    if (e["vulnerabilities"].get_array().get(arr) == simdjson::SUCCESS) {
      for (auto v : arr) {
        if (!str_of(v, "slug").empty()) return Format::kWordPress;
        break;
      }
      return Format::kKev;
    }
    if (!str_of(e, "catalogVersion").empty()) return Format::kKev;
    if (str_of(e, "reference").starts_with("composer://")) return Format::kFriendsOfPhp;
    return Format::kOsvJson;
  }
  // JSON lines: judge by the first record.
  if (p.parse(first.data(), first.size()).get(e) == simdjson::SUCCESS && e.is_object()) {
    if (str_of(e, "reference").starts_with("composer://")) return Format::kFriendsOfPhp;
    return Format::kOsvJsonl;
  }
  return Format::kUnknown;
}

Status import_osv_record(BuildState& st, std::string_view label, std::string_view json,
                         SourceInfo& src) {
  dom::parser p;
  dom::element e;
  if (auto err = p.parse(json.data(), json.size()).get(e); err != simdjson::SUCCESS)
    return Error::invalid(
        fmt::format("{}: not valid JSON ({})", label, simdjson::error_message(err)));
  return import_osv_element(st, label, e, src);
}

Status import_text(BuildState& st, Format f, std::string_view label, std::string_view text,
                   SourceInfo& src) {
  dom::parser p;
  dom::element doc;
  switch (f) {
    case Format::kEpssCsv:
      src.kind = "epss";
      return import_epss(st, label, text, src);
    case Format::kKev:
    case Format::kWordPress:
    case Format::kOsvJson: {
      if (auto err = p.parse(text.data(), text.size()).get(doc); err != simdjson::SUCCESS)
        return Error::invalid(
            fmt::format("{}: not valid JSON ({})", label, simdjson::error_message(err)));
      if (f == Format::kKev) {
        src.kind = "kev";
        return import_kev(st, label, doc, src);
      }
      if (f == Format::kWordPress) {
        src.kind = "wordpress";
        return import_wordpress(st, label, doc, src);
      }
      src.kind = "osv";
      if (doc.is_array()) {
        size_t i = 0;
        for (auto rec : doc.get_array()) {
          auto s = import_osv_element(st, fmt::format("{}[{}]", label, i++), rec, src);
          if (!s) {
            st.warn(s.error().message + ", record skipped");
            ++src.skipped;
          }
        }
        return ok();
      }
      return import_osv_element(st, label, doc, src);
    }
    case Format::kOsvJsonl:
    case Format::kFriendsOfPhp: {
      src.kind = f == Format::kOsvJsonl ? "osv" : "friendsofphp";
      size_t pos = 0, lineno = 0;
      std::string_view line;
      while (next_line(text, pos, line)) {
        ++lineno;
        if (trim(line).empty()) continue;
        std::string where = fmt::format("{}:{}", label, lineno);
        Status s;
        if (auto err = p.parse(line.data(), line.size()).get(doc); err != simdjson::SUCCESS)
          s = Error::invalid(
              fmt::format("{}: not valid JSON ({})", where, simdjson::error_message(err)));
        else if (f == Format::kOsvJsonl)
          s = import_osv_element(st, where, doc, src);
        else
          s = import_fop_record(st, where, doc, src);
        if (!s) {
          st.warn(s.error().message + ", record skipped");
          ++src.skipped;
        }
      }
      return ok();
    }
    case Format::kUnknown:
      break;
  }
  return Error::invalid(fmt::format(
      "{}: unknown format (expected OSV JSON/JSONL/zip, CISA KEV JSON, EPSS CSV, FriendsOfPHP "
      "JSON lines or WordPress JSON)",
      label));
}

}  // namespace mamori::vuln
