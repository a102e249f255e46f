#include <fmt/format.h>
#include <libpq-fe.h>

#include <map>

#include "core/text.h"
#include "store/db.h"

namespace mamori::store {

namespace {

// What a connection string says, without its password: built from libpq's own parse of it
// (PQconninfoParse), never by searching the text — "pass%77ord=" and "password = x" are
// passwords to libpq as well. "PostgreSQL user@host:port/db".
std::string redact(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) return "PostgreSQL (unparsable connection string)";
  std::map<std::string, std::string> v;
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (o->val && *o->val) v[o->keyword] = o->val;
  PQconninfoFree(opts);
  std::string out = "postgresql://";
  if (v.contains("user")) out += v["user"] + "@";
  out += v.contains("host") ? v["host"] : v.contains("hostaddr") ? v["hostaddr"] : "";
  if (v.contains("port")) out += ":" + v["port"];
  out += "/" + (v.contains("dbname") ? v["dbname"] : std::string());
  if (v.contains("service")) out += "?service=" + v["service"];
  return sanitize(out);
}

// '?' placeholders → $1..$n (the store never puts '?' inside string literals).
std::string to_dollar(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (char c : sql) {
    if (c == '?')
      out += "$" + std::to_string(++n);
    else
      out.push_back(c);
  }
  return out;
}

class PgDb final : public Db {
 public:
  PgDb(PGconn* c, std::string desc) : c_(c), desc_(std::move(desc)) {}
  ~PgDb() override { PQfinish(c_); }
  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string describe() const override { return desc_; }

  Status begin_write() override { return exec("BEGIN", {}); }

 private:
  Status run(const std::string& sql, const std::vector<Value>& params, Rows* rows) override {
    std::vector<std::string> text(params.size());
    std::vector<const char*> ptrs(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (auto* n = std::get_if<int64_t>(&params[i])) {
        text[i] = std::to_string(*n);
        ptrs[i] = text[i].c_str();
      } else if (auto* d = std::get_if<double>(&params[i])) {
        text[i] = fmt::format("{}", *d);
        ptrs[i] = text[i].c_str();
      } else if (auto* s = std::get_if<std::string>(&params[i])) {
        text[i] = valid_utf8(*s);
        ptrs[i] = text[i].c_str();
      }
    }
    std::string q = params.empty() ? sql : to_dollar(sql);
    PGresult* res = PQexecParams(c_, q.c_str(), static_cast<int>(params.size()), nullptr,
                                 ptrs.data(), nullptr, nullptr, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string msg = sanitize(trim(PQresultErrorMessage(res)));
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      // Another writer holds a lock we waited for past lock_timeout (55P03), or a deadlock
      // (40P01), or serialisation: busy, like SQLite's SQLITE_BUSY — try again later.
      const bool busy =
          state && (std::string_view(state) == "55P03" || std::string_view(state) == "40P01" ||
                    std::string_view(state) == "40001");
      PQclear(res);
      if (PQstatus(c_) != CONNECTION_OK)
        return Error::unavailable(fmt::format("{}: connection lost: {}", desc_, msg));
      if (busy) return Error::unavailable(fmt::format("{}: {}", desc_, msg));
      return Error::internal(fmt::format("{}: {}", desc_, msg));
    }
    if (rows) {
      int nr = PQntuples(res), nc = PQnfields(res);
      rows->reserve(static_cast<size_t>(nr));
      for (int r = 0; r < nr; ++r) {
        Row row(static_cast<size_t>(nc));
        for (int c = 0; c < nc; ++c)
          if (!PQgetisnull(res, r, c))
            row[static_cast<size_t>(c)] =
                std::string(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c)));
        rows->push_back(std::move(row));
      }
    }
    PQclear(res);
    return ok();
  }

  PGconn* c_;
  std::string desc_;
};

void quiet_notices(void*, const char*) {}

}  // namespace

Result<std::unique_ptr<Db>> open_postgres(const std::string& url) {
  std::string desc = redact(url);
  PGconn* c = PQconnectdb(url.c_str());
  if (!c) return Error::unavailable(desc + ": out of memory connecting to PostgreSQL");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = sanitize(trim(PQerrorMessage(c)));
    PQfinish(c);
    return Error::unavailable(fmt::format("PostgreSQL store {}: cannot connect: {}", desc, msg));
  }
  PQsetNoticeProcessor(c, quiet_notices, nullptr);
  auto db = std::make_unique<PgDb>(c, desc);
  auto st = db->exec("SET client_min_messages TO warning");
  if (!st) return st.error();
  return std::unique_ptr<Db>(std::move(db));
}

bool connection_string_has_password(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) return false;
  bool has = false;
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (std::string_view(o->keyword) == "password" && o->val && *o->val) has = true;
  PQconninfoFree(opts);
  return has;
}

}  // namespace mamori::store
