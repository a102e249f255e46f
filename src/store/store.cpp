#include "store/store.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/fs.h"
#include "core/text.h"
#include "store/db.h"
#include "store/rows.h"
#include "store/schema.h"

namespace mamori::store {

namespace {

FaultHook g_fault_hook = nullptr;

std::vector<std::string> statements(const std::string& sql) {
  std::vector<std::string> out;
  for (auto part : split(sql, ';')) {
    auto t = trim(part);
    if (!t.empty()) out.emplace_back(t);
  }
  return out;
}

Value opt(const std::optional<std::string>& s) {
  if (!s) return std::monostate{};
  return *s;
}
Value opt(const std::optional<int64_t>& n) {
  if (!n) return std::monostate{};
  return *n;
}

// Runs fn inside a write transaction; rolls back on error.
template <typename Fn>
auto in_transaction(Db& db, Fn&& fn) -> decltype(fn()) {
  auto b = db.begin_write();
  if (!b) return b.error();
  auto r = fn();
  if (!r) {
    db.rollback();
    return r;
  }
  auto c = db.commit();
  if (!c) {
    db.rollback();
    return c.error();
  }
  return r;
}

}  // namespace

void set_fault_hook(FaultHook hook) { g_fault_hook = hook; }

Store::Store(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Store::~Store() = default;

int Store::latest_schema_version() { return migrations().back().version; }

std::string Store::describe() const { return db_->describe(); }

Status Store::set_lock_wait_ms(int64_t ms) {
  ms = std::clamp<int64_t>(ms, 0, 3'600'000);
  if (db_->dialect() == Dialect::kSqlite) {
    auto r = db_->query(fmt::format("PRAGMA busy_timeout = {}", ms));
    return r ? ok() : Status(r.error());
  }
  // PostgreSQL reads 0 as "wait for ever": the shortest wait it has is 1 ms.
  return db_->exec(fmt::format("SET lock_timeout = {}", std::max<int64_t>(ms, 1)));
}

Result<int64_t> Store::lock_wait_ms() {
  auto r =
      db_->query(db_->dialect() == Dialect::kSqlite ? "PRAGMA busy_timeout"
                                                    : "SELECT current_setting('lock_timeout')");
  if (!r) return r.error();
  if (r->empty() || r->front().empty()) return Error::invalid("no lock wait setting");
  const std::string v = as_text(r->front()[0]);  // PostgreSQL: "250ms", "2s", "1min" or "0"
  char* end = nullptr;
  const int64_t n = std::strtoll(v.c_str(), &end, 10);
  const std::string unit = end ? std::string(end) : "";
  if (unit.empty() || unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "min") return n * 60'000;
  if (unit == "h") return n * 3'600'000;
  return Error::invalid("lock wait '" + v + "' is not understood");
}

std::string Store::default_url() { return state_dir() + "/mamori.db"; }

bool Store::url_has_password(const std::string& url) {
  return is_postgres(url) && connection_string_has_password(url);
}

bool Store::is_postgres(const std::string& url) {
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return true;
  // a libpq keyword/value string ("host=db.internal dbname=mamori user=mamori"): never a file
  // name (that would put findings, bans and pins in a local file named after the password)
  size_t eq = url.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  std::string_view key = trim(std::string_view(url).substr(0, eq));
  return !key.empty() &&
         key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& url, int64_t lock_wait_ms) {
  std::unique_ptr<Db> db;
  if (is_postgres(url)) {
    auto d = open_postgres(url);
    if (!d) return d.error();
    db = std::move(*d);
  } else {
    std::string path = url;
    if (path.starts_with("sqlite://"))
      path = path.substr(9);
    else if (path.starts_with("sqlite:"))
      path = path.substr(7);
    if (path.empty()) return Error::invalid("empty store path");
    // The store holds findings about weaknesses and the bans: its directory and files are
    // private whoever created them (a unit or an older version made the state dir 0755).
    if (auto s = ensure_parent_dir(path); !s)
      return s.error().with_context("cannot prepare the store directory");
    auto d = open_sqlite(path);
    if (!d) return d.error();
    db = std::move(*d);
    for (const char* suffix : {"", "-wal", "-shm"})
      if (auto s = ensure_private_file(path + suffix); !s) return s.error().with_context("store");
  }
  std::unique_ptr<Store> s(new Store(std::move(db)));
  if (lock_wait_ms >= 0)  // before the schema check, which takes the write lock
    if (auto w = s->set_lock_wait_ms(lock_wait_ms); !w) return w.error();
  auto m = s->migrate();
  if (!m) return m.error();
  return s;
}

Status Store::migrate() {
  Db& db = *db_;
  // A store already at this version needs no write lock: a read (which never waits for a
  // writer in WAL mode) says so. Only creating or upgrading the schema takes the lock.
  if (auto cur = db.query("SELECT MAX(version) FROM schema_version"); cur && !cur->empty()) {
    const int v = static_cast<int>(as_int((*cur)[0][0], 0));
    if (v == latest_schema_version()) {
      schema_version_ = v;
      return ok();
    }
  }
  auto r = in_transaction(db, [&]() -> Status {
    if (db.dialect() == Dialect::kPostgres) {
      // Serialise concurrent first runs of several hosts against one fleet store.
      auto l = db.exec("SELECT pg_advisory_xact_lock(7274261)");
      if (!l) return l;
    }
    auto c = db.exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at BIGINT "
        "NOT NULL)");
    if (!c) return c;
    auto rows = db.query("SELECT MAX(version) FROM schema_version");
    if (!rows) return rows.error();
    int current = static_cast<int>(as_int((*rows)[0][0], 0));
    if (current > latest_schema_version())
      return Error::unimplemented(fmt::format(
          "{}: store schema version {} is newer than this mamori understands ({}); upgrade mamori",
          db.describe(), current, latest_schema_version()));
    for (const auto& m : migrations()) {
      if (m.version <= current) continue;
      for (const auto& stmt : statements(dialect_sql(m.sql, db.dialect()))) {
        auto e = db.exec(stmt);
        if (!e) return e.error().with_context(fmt::format("migration {}", m.version));
      }
      auto v = db.exec("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                       {int64_t{m.version}, static_cast<int64_t>(::time(nullptr))});
      if (!v) return v;
      current = m.version;
    }
    schema_version_ = current;
    return ok();
  });
  return r;
}

Result<ScanOutcome> Store::record_scan(const ScanInput& in) {
  Db& db = *db_;
  ScanOutcome out;
  auto st = in_transaction(db, [&]() -> Status {
    if (db.dialect() == Dialect::kPostgres) {
      auto l = db.exec("SELECT pg_advisory_xact_lock(hashtext(?))", {in.host + "\n" + in.scope});
      if (!l) return l;
    }
    auto owner_rules = owners();
    if (!owner_rules) return owner_rules.error();
    // Acceptances for this host.
    std::map<std::string, std::string> accepted;
    auto acc = db.query("SELECT fingerprint, reason FROM acceptances WHERE host = ?", {in.host});
    if (!acc) return acc.error();
    for (const auto& r : *acc) accepted[as_text(r[0])] = as_text(r[1]);

    auto ins = db.query(
        "INSERT INTO scans (host, scope, started_at, finished_at, tool_version, os, "
        "package_count, finding_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {in.host, in.scope, in.started_at, in.finished_at, in.tool_version, in.os,
         static_cast<int64_t>(in.packages.size()), static_cast<int64_t>(in.findings.size())});
    if (!ins) return ins.error();
    int64_t scan_id = as_int((*ins)[0][0]);

    // What the store knows about this host and scope.
    struct Known {
      std::string state, module, check;
      int64_t first_seen = 0;
    };
    std::map<std::string, Known> known;  // by fingerprint
    auto prev = db.query(
        "SELECT fingerprint, state, first_seen, module, check_id FROM findings WHERE host = ? "
        "AND scope = ?",
        {in.host, in.scope});
    if (!prev) return prev.error();
    for (const auto& r : *prev)
      known[as_text(r[0])] = {as_text(r[1]), as_text(r[3]), as_text(r[4]), as_int(r[2])};

    int64_t now = in.finished_at;
    std::set<std::string> current;
    for (Finding f : in.findings) {
      if (!current.insert(f.fingerprint).second) continue;  // analyzers may repeat an asset
      auto k = known.find(f.fingerprint);
      bool was_open = k != known.end() && k->second.state != "fixed";
      f.state = was_open ? FindingState::kOpen : FindingState::kNew;
      f.first_seen = was_open ? k->second.first_seen : now;
      f.last_seen = now;
      f.fixed_at.reset();
      Status w;
      if (k == known.end()) {
        w = db.exec(
            "INSERT INTO findings (host, scope, fingerprint, module, check_id, severity, asset, "
            "title, evidence, remediation, refs, state, first_seen, last_seen, fixed_at, "
            "last_scan_id, tier, tier_reason, priority, fixed_version, facts) VALUES (?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
            {in.host,
             in.scope,
             f.fingerprint,
             f.module,
             f.check,
             static_cast<int64_t>(f.severity),
             f.asset,
             f.title,
             f.evidence,
             f.remediation,
             refs_json(f.references),
             std::string(state_name(f.state)),
             f.first_seen,
             f.last_seen,
             scan_id,
             f.tier,
             f.tier_reason,
             f.priority,
             f.fixed_version,
             facts_json(f.facts)});
      } else {
        w = db.exec(
            "UPDATE findings SET module = ?, check_id = ?, severity = ?, asset = ?, title = ?, "
            "evidence = ?, remediation = ?, refs = ?, state = ?, first_seen = ?, last_seen = ?, "
            "fixed_at = NULL, last_scan_id = ?, tier = ?, tier_reason = ?, priority = ?, "
            "fixed_version = ?, facts = CASE WHEN ? = 1 THEN facts ELSE ? END WHERE host = ? AND "
            "scope = ? AND fingerprint = ?",
            {f.module, f.check, static_cast<int64_t>(f.severity), f.asset, f.title, f.evidence,
             f.remediation, refs_json(f.references), std::string(state_name(f.state)), f.first_seen,
             f.last_seen, scan_id, f.tier, f.tier_reason, f.priority, f.fixed_version,
             // an open finding seen again without facts (fim check after fim watch) keeps the
             // ones it had: who wrote the file does not change by being looked at again
             static_cast<int64_t>(was_open && f.facts.empty() ? 1 : 0), facts_json(f.facts),
             in.host, in.scope, f.fingerprint});
      }
      if (!w) return w;
      auto a = accepted.find(f.fingerprint);
      if (a != accepted.end()) {
        f.state = FindingState::kAccepted;
        f.accepted_reason = a->second;
      }
      f.owner = resolve_owner(*owner_rules, f.asset);
      out.findings.push_back(std::move(f));
    }
    // Open findings that did not come back are fixed now.
    for (const auto& [fp, info] : known) {
      if (in.partial || current.contains(fp) || info.state == "fixed") continue;
      if (std::find(in.modules_not_run.begin(), in.modules_not_run.end(), info.module) !=
          in.modules_not_run.end())
        continue;
      const Known& k = info;  // (a structured binding cannot be captured before C++20's P1091)
      if (std::any_of(in.checks_not_run.begin(), in.checks_not_run.end(), [&k](const auto& c) {
            return c.first == k.module && (c.second == "*" || c.second == k.check);
          }))
        continue;
      auto w = db.exec(
          "UPDATE findings SET state = 'fixed', fixed_at = ?, last_scan_id = ? WHERE host = ? "
          "AND scope = ? AND fingerprint = ?",
          {now, scan_id, in.host, in.scope, fp});
      if (!w) return w;
      auto rows = db.query(std::string("SELECT ") + kFindingCols +
                               " FROM findings f WHERE host = ? AND scope = ? AND fingerprint = ?",
                           {in.host, in.scope, fp});
      if (!rows) return rows.error();
      if (rows->empty()) continue;
      Finding f = finding_from_row((*rows)[0]);
      f.owner = resolve_owner(*owner_rules, f.asset);
      out.findings.push_back(std::move(f));
    }
    for (const auto& f : out.findings) {
      auto w = db.exec(
          "INSERT INTO scan_findings (scan_id, host, scope, fingerprint, state, owner) VALUES "
          "(?, ?, ?, ?, ?, ?)",
          {scan_id, in.host, in.scope, f.fingerprint, std::string(state_name(f.state)), f.owner});
      if (!w) return w;
    }
    for (const auto& p : in.packages) {
      auto w = db.exec(
          "INSERT INTO packages (scan_id, ecosystem, name, version, arch, source_name, "
          "source_version, purl, location, installed_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
          "?, ?, ?)",
          {scan_id, std::string(ecosystem_name(p.ecosystem)), p.name, p.version, opt(p.arch),
           opt(p.source_name), opt(p.source_version), p.purl, p.location, opt(p.installed_at),
           p.status});
      if (!w) return w;
    }
    if (g_fault_hook) g_fault_hook("record_scan:before-commit");
    out.scan = ScanRecord{scan_id,
                          in.host,
                          in.scope,
                          in.started_at,
                          in.finished_at,
                          in.tool_version,
                          in.os,
                          static_cast<int64_t>(in.packages.size()),
                          static_cast<int64_t>(in.findings.size())};
    return ok();
  });
  if (!st) return st.error().with_context("store: record scan");
  return out;
}

Result<std::optional<ScanRecord>> Store::last_scan(const std::string& host,
                                                   const std::string& scope) {
  auto rows = db_->query(std::string("SELECT ") + kScanCols +
                             " FROM scans WHERE host = ? AND scope = ? ORDER BY id DESC LIMIT 1",
                         {host, scope});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<ScanRecord>();
  return std::optional<ScanRecord>(scan_from_row((*rows)[0]));
}

Result<std::optional<ScanRecord>> Store::scan_by_id(int64_t id) {
  auto rows = db_->query(std::string("SELECT ") + kScanCols + " FROM scans WHERE id = ?", {id});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<ScanRecord>();
  return std::optional<ScanRecord>(scan_from_row((*rows)[0]));
}

Result<std::vector<ScanRecord>> Store::scans(const std::string& host, int limit) {
  auto rows = db_->query(
      std::string("SELECT ") + kScanCols + " FROM scans WHERE host = ? ORDER BY id DESC LIMIT ?",
      {host, int64_t{limit}});
  if (!rows) return rows.error();
  std::vector<ScanRecord> out;
  for (const auto& r : *rows) out.push_back(scan_from_row(r));
  return out;
}

Result<std::vector<Finding>> Store::scan_findings(int64_t scan_id) {
  auto rows = db_->query(
      std::string("SELECT ") + kFindingCols +
          ", sf.state, sf.owner, a.reason FROM scan_findings sf JOIN findings f ON f.host = "
          "sf.host AND f.scope = sf.scope AND f.fingerprint = sf.fingerprint LEFT JOIN "
          "acceptances a ON a.host = sf.host AND a.fingerprint = sf.fingerprint WHERE sf.scan_id "
          "= ? ORDER BY f.severity DESC, f.module, f.check_id, f.asset",
      {scan_id});
  if (!rows) return rows.error();
  std::vector<Finding> out;
  for (const auto& r : *rows) {
    Finding f = finding_from_row(r);
    auto st = parse_state(as_text(r[kFindingExtra]));
    f.state = st ? *st : FindingState::kOpen;
    f.owner = as_text(r[kFindingExtra + 1]);
    f.accepted_reason = as_text(r[kFindingExtra + 2]);
    if (f.state != FindingState::kFixed) f.fixed_at.reset();
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::vector<Package>> Store::scan_packages(int64_t scan_id) {
  auto rows = db_->query(std::string("SELECT ") + kPackageCols +
                             " FROM packages WHERE scan_id = ? ORDER BY ecosystem, name, arch",
                         {scan_id});
  if (!rows) return rows.error();
  std::vector<Package> out;
  for (const auto& r : *rows) {
    auto p = package_from_row(r);
    if (!p) return p.error();
    out.push_back(std::move(*p));
  }
  return out;
}

Result<std::vector<Finding>> Store::current_findings(const std::string& host, bool include_fixed) {
  auto rules = owners();
  if (!rules) return rules.error();
  std::string sql = std::string("SELECT ") + kFindingCols +
                    ", a.reason FROM findings f LEFT JOIN acceptances a ON a.host = f.host AND "
                    "a.fingerprint = f.fingerprint WHERE f.host = ?";
  if (!include_fixed) sql += " AND f.state <> 'fixed'";
  sql += " ORDER BY f.severity DESC, f.module, f.check_id, f.asset";
  auto rows = db_->query(sql, {host});
  if (!rows) return rows.error();
  std::vector<Finding> out;
  for (const auto& r : *rows) {
    Finding f = finding_from_row(r);
    if (r[kFindingExtra] && f.state != FindingState::kFixed) {
      f.state = FindingState::kAccepted;
      f.accepted_reason = *r[kFindingExtra];
    }
    f.owner = resolve_owner(*rules, f.asset);
    out.push_back(std::move(f));
  }
  return out;
}

Result<Finding> Store::find(const std::string& host, const std::string& prefix) {
  if (prefix.size() < 4 || prefix.find_first_not_of("0123456789abcdef") != std::string::npos)
    return Error::invalid("fingerprint '" + sanitize(prefix) +
                          "': give at least 4 lowercase hex digits");
  auto all = current_findings(host, true);
  if (!all) return all.error();
  std::vector<const Finding*> hits;
  for (const auto& f : *all)
    if (f.fingerprint.starts_with(prefix)) hits.push_back(&f);
  if (hits.empty())
    return Error::not_found(fmt::format("no finding {} for host {}", prefix, sanitize(host)));
  if (hits.size() > 1)
    return Error::invalid(
        fmt::format("fingerprint prefix {} is ambiguous ({} findings)", prefix, hits.size()));
  return *hits[0];
}

Status Store::accept(const std::string& host, const std::string& fingerprint,
                     const std::string& reason, const std::string& by, int64_t now) {
  return in_transaction(*db_, [&]() -> Status {
    return db_->exec(
        "INSERT INTO acceptances (host, fingerprint, reason, accepted_by, accepted_at) VALUES (?, "
        "?, ?, ?, ?) ON CONFLICT (host, fingerprint) DO UPDATE SET reason = excluded.reason, "
        "accepted_by = excluded.accepted_by, accepted_at = excluded.accepted_at",
        {host, fingerprint, reason, by, now});
  });
}

Status Store::unaccept(const std::string& host, const std::string& fingerprint) {
  return db_->exec("DELETE FROM acceptances WHERE host = ? AND fingerprint = ?",
                   {host, fingerprint});
}

Status Store::set_owner(const std::string& pattern, const std::string& owner, int64_t now) {
  return in_transaction(*db_, [&]() -> Status {
    return db_->exec(
        "INSERT INTO owners (pattern, owner, updated_at) VALUES (?, ?, ?) ON CONFLICT (pattern) "
        "DO UPDATE SET owner = excluded.owner, updated_at = excluded.updated_at",
        {pattern, owner, now});
  });
}

Result<bool> Store::remove_owner(const std::string& pattern) {
  auto rows = db_->query("DELETE FROM owners WHERE pattern = ? RETURNING pattern", {pattern});
  if (!rows) return rows.error();
  return !rows->empty();
}

Result<std::vector<OwnerRule>> Store::owners() {
  auto rows = db_->query("SELECT pattern, owner FROM owners ORDER BY pattern");
  if (!rows) return rows.error();
  std::vector<OwnerRule> out;
  for (const auto& r : *rows) out.push_back({as_text(r[0]), as_text(r[1])});
  return out;
}

Result<Ban> Store::record_ban(const std::string& host, const std::string& address,
                              const std::string& kind, const std::string& reason, int64_t now,
                              int64_t base_seconds) {
  constexpr int64_t kMaxBan = 30 * 86400;
  return in_transaction(*db_, [&]() -> Result<Ban> {
    auto rows =
        db_->query("SELECT offences, expires_at FROM guard_bans WHERE host = ? AND address = ?",
                   {host, address});
    if (!rows) return rows.error();
    Ban b{host, address, kind, reason, 1, now, 0};
    bool active = false;
    if (!rows->empty()) {
      // a count read back is input: bounded (the ban is at its 30-day cap long before)
      b.offences = static_cast<int>(std::clamp<int64_t>(as_int((*rows)[0][0]), 1, 1000));
      active = as_int((*rows)[0][1]) > now;
      if (!active) ++b.offences;  // a repeat offender: twice as long as last time
    }
    int64_t d = base_seconds;
    for (int i = 1; i < b.offences && d < kMaxBan; ++i) d *= 2;
    b.expires_at = now + std::min(d, kMaxBan);
    if (active) b.expires_at = std::max(b.expires_at, as_int((*rows)[0][1]));
    auto st = db_->exec(
        "INSERT INTO guard_bans (host, address, kind, reason, offences, banned_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host, address) DO UPDATE SET kind = "
        "excluded.kind, reason = excluded.reason, offences = excluded.offences, banned_at = "
        "excluded.banned_at, expires_at = excluded.expires_at",
        {host, address, kind, reason, static_cast<int64_t>(b.offences), now, b.expires_at});
    if (!st) return st.error();
    return b;
  });
}

namespace {
// The bans of a host that the WHERE clause after "host = ?" selects, in the given order.
Result<std::vector<Ban>> query_bans(Db& db, const std::string& host, const std::string& where_order,
                                    std::vector<Value> params) {
  params.insert(params.begin(), Value(host));
  auto rows = db.query(
      "SELECT address, kind, reason, offences, banned_at, expires_at FROM guard_bans WHERE host = "
      "? " +
          where_order,
      params);
  if (!rows) return rows.error();
  std::vector<Ban> out;
  for (const auto& r : *rows)
    out.push_back({host, as_text(r[0]), as_text(r[1]), as_text(r[2]),
                   static_cast<int>(as_int(r[3])), as_int(r[4]), as_int(r[5])});
  return out;
}
}  // namespace

Result<std::vector<Ban>> Store::active_bans(const std::string& host, int64_t now) {
  return query_bans(*db_, host, "AND expires_at > ? ORDER BY expires_at DESC, address", {now});
}

Result<std::vector<Ban>> Store::all_bans(const std::string& host) {
  return query_bans(*db_, host, "ORDER BY address", {});
}

Result<bool> Store::lift_ban(const std::string& host, const std::string& address, int64_t now) {
  auto rows = db_->query(
      "UPDATE guard_bans SET expires_at = ? WHERE host = ? AND address = ? AND expires_at > ? "
      "RETURNING address",
      {now, host, address, now});
  if (!rows) return rows.error();
  return !rows->empty();
}

Result<std::vector<std::string>> Store::hosts() {
  auto rows = db_->query("SELECT DISTINCT host FROM scans ORDER BY host");
  if (!rows) return rows.error();
  std::vector<std::string> out;
  for (const auto& r : *rows) out.push_back(as_text(r[0]));
  return out;
}

Result<std::optional<std::string>> Store::pinned_fim_key(const std::string& host) {
  auto rows = db_->query("SELECT fingerprint FROM fim_keys WHERE host = ?", {host});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>(as_text((*rows)[0][0]));
}

Status Store::pin_fim_key(const std::string& host, const std::string& fingerprint, int64_t now) {
  auto st = db_->exec(
      "INSERT INTO fim_keys (host, fingerprint, pinned_at) VALUES (?, ?, ?) ON CONFLICT (host) "
      "DO UPDATE SET fingerprint = excluded.fingerprint, pinned_at = excluded.pinned_at",
      {host, fingerprint, now});
  if (!st) return st.error();
  return ok();
}

}  // namespace mamori::store
