#include <fmt/format.h>
#include <sqlite3.h>

#include <map>

#include "core/text.h"
#include "store/db.h"

namespace mamori::store {

namespace {

class SqliteDb final : public Db {
 public:
  SqliteDb(sqlite3* h, std::string path) : h_(h), path_(std::move(path)) {}
  ~SqliteDb() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close(h_);
  }
  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string describe() const override { return path_; }

  Status begin_write() override { return exec("BEGIN IMMEDIATE", {}); }

 private:
  Error err(const std::string& what) const {
    int code = sqlite3_errcode(h_);
    std::string msg = fmt::format("{}: {}: {}", path_, what, sqlite3_errmsg(h_));
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
      return Error::data_loss(
          fmt::format("{}: not an SQLite database or corrupted ({})", path_, sqlite3_errmsg(h_)));
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return Error::unavailable(msg);
    if (code == SQLITE_READONLY || code == SQLITE_PERM || code == SQLITE_CANTOPEN)
      return Error::permission(msg);
    return Error::internal(msg);
  }

  Status run(const std::string& sql, const std::vector<Value>& params, Rows* rows) override {
    sqlite3_stmt* st = nullptr;
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      st = it->second;
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
    } else {
      if (sqlite3_prepare_v2(h_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr) !=
          SQLITE_OK)
        return err("prepare");
      cache_.emplace(sql, st);
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const Value& v = params[i];
      if (std::holds_alternative<std::monostate>(v))
        sqlite3_bind_null(st, idx);
      else if (auto* n = std::get_if<int64_t>(&v))
        sqlite3_bind_int64(st, idx, *n);
      else if (auto* d = std::get_if<double>(&v))
        sqlite3_bind_double(st, idx, *d);
      else {
        std::string scratch;
        const auto& s = utf8_param(std::get<std::string>(v), scratch);
        sqlite3_bind_text(st, idx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
    }
    for (;;) {
      int rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Error e = err("step");
        sqlite3_reset(st);
        return e;
      }
      if (!rows) continue;
      int n = sqlite3_column_count(st);
      Row row(static_cast<size_t>(n));
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(st, c) == SQLITE_NULL) continue;
        const unsigned char* t = sqlite3_column_text(st, c);
        int len = sqlite3_column_bytes(st, c);
        row[static_cast<size_t>(c)] =
            std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(len));
      }
      rows->push_back(std::move(row));
    }
    sqlite3_reset(st);
    return ok();
  }

  sqlite3* h_;
  std::string path_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace

Result<std::unique_ptr<Db>> open_sqlite(const std::string& path) {
  sqlite3* h = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = h ? sqlite3_errmsg(h) : sqlite3_errstr(rc);
    sqlite3_close(h);
    return Error::unavailable(fmt::format("{}: cannot open SQLite store: {}", path, msg));
  }
  sqlite3_extended_result_codes(h, 0);
  sqlite3_busy_timeout(h, 10000);
  auto db = std::make_unique<SqliteDb>(h, path);
  // WAL: readers never block the writer and a killed writer leaves the last
  // committed state intact. synchronous=NORMAL is crash-safe in WAL mode.
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
    auto r = db->query(pragma);
    if (!r) return r.error();
  }
  return std::unique_ptr<Db>(std::move(db));
}

int64_t as_int(const std::optional<std::string>& v, int64_t fallback) {
  if (!v || v->empty()) return fallback;
  return std::strtoll(v->c_str(), nullptr, 10);
}

std::string as_text(const std::optional<std::string>& v) { return v.value_or(""); }

const std::string& utf8_param(const std::string& s, std::string& scratch) {
  scratch = valid_utf8(s);
  return scratch == s ? s : scratch;
}

}  // namespace mamori::store
