#pragma once
// A minimal SQL connection interface with two implementations (SQLite, libpq).
// The store writes its SQL once with '?' placeholders; the PostgreSQL backend
// rewrites them to $1..$n. Values travel as NULL, 64-bit integers or text.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"

namespace mamori::store {

using Value = std::variant<std::monostate, int64_t, std::string, double>;
using Row = std::vector<std::optional<std::string>>;
using Rows = std::vector<Row>;

enum class Dialect { kSqlite, kPostgres };

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  Status exec(const std::string& sql, const std::vector<Value>& params = {}) {
    return run(sql, params, nullptr);
  }
  Result<Rows> query(const std::string& sql, const std::vector<Value>& params = {}) {
    Rows rows;
    auto r = run(sql, params, &rows);
    if (!r) return r.error();
    return rows;
  }
  // Starts a write transaction that serialises with other writers.
  virtual Status begin_write() = 0;
  Status commit() { return exec("COMMIT"); }
  void rollback() { (void)exec("ROLLBACK"); }
  // A description safe to print (no password).
  virtual std::string describe() const = 0;

 protected:
  // Runs one statement; collects result rows when `rows` is not null.
  virtual Status run(const std::string& sql, const std::vector<Value>& params, Rows* rows) = 0;
};

Result<std::unique_ptr<Db>> open_sqlite(const std::string& path);
Result<std::unique_ptr<Db>> open_postgres(const std::string& url);
bool connection_string_has_password(const std::string& url);

// Text columns hold UTF-8 (PostgreSQL enforces it): invalid bytes from hostile input
// become U+FFFD in both backends, so they agree. Returns s itself when already valid.
const std::string& utf8_param(const std::string& s, std::string& scratch);

// Row helpers.
int64_t as_int(const std::optional<std::string>& v, int64_t fallback = 0);
std::string as_text(const std::optional<std::string>& v);

}  // namespace mamori::store
