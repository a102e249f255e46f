// mamori db import, update, status.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "core/fs.h"
#include "core/progress.h"
#include "core/text.h"
#include "vuln/vuln.h"

namespace mamori::cli {
namespace {

int cmd_db_import(const Options& o, const std::vector<std::string>& paths, bool allow_shrink) {
  if (auto rc = text_or_json(o, "db import")) return *rc;
  std::string out = db_path(o);
  vuln::BuildOptions bo;
  bo.now = now_s();
  bo.allow_shrink = allow_shrink;
  Result<vuln::BuildReport> rep = Error::internal("not built");
  {
    Progress progress(!o.quiet, "importing");
    progress.update(fmt::format("{} sources", paths.size()));
    rep = vuln::build_database(paths, out, bo);
  }
  if (!rep) return fail(rep.error());
  for (const auto& w : rep->warnings) std::fprintf(stderr, "warning: %s\n", sanitize(w).c_str());
  if (o.format == "json") {
    nlohmann::json j = {{"database", out},           {"advisories", rep->advisories},
                        {"affected", rep->affected}, {"kev", rep->kev},
                        {"epss", rep->epss},         {"bytes", rep->bytes},
                        {"warnings", rep->warnings}};
    j["sources"] = nlohmann::json::array();
    for (const auto& s : rep->sources)
      j["sources"].push_back(
          {{"path", s.path}, {"kind", s.kind}, {"records", s.records}, {"skipped", s.skipped}});
    return emit(o, j.dump(2) + "\n");
  }
  std::string text = fmt::format(
      "built {} ({:.1f} MB): {} advisories ({} affected packages), {} known "
      "exploited, {} EPSS scores\n",
      out, static_cast<double>(rep->bytes) / 1e6, rep->advisories, rep->affected, rep->kev,
      rep->epss);
  for (const auto& s : rep->sources)
    text += fmt::format("  {:<13} {:>7} records{}  {}\n", s.kind, s.records,
                        s.skipped ? fmt::format(" ({} skipped)", s.skipped) : "", sanitize(s.path));
  if (!rep->warnings.empty())
    text += fmt::format("{} warnings (on stderr)\n", rep->warnings.size());
  return emit(o, text);
}

int cmd_db_update(const Options& o, const std::vector<std::string>& sources, int retries,
                  bool allow_shrink) {
  vuln::UpdateOptions uo;
  uo.allow_shrink = allow_shrink;
  uo.out = db_path(o);
  uo.cache_dir = (std::filesystem::path(uo.out).parent_path() / "cache").string();
  uo.retries = retries;
  uo.now = now_s();
  if (const char* b = std::getenv("MAMORI_TEST_BACKOFF_MS")) uo.backoff_ms = std::atoi(b);
  // Sources: --source, else the state directory's sources.list, else the upstream defaults.
  uo.urls = vuln::update_sources(sources, state_dir() + "/sources.list");
  Result<vuln::BuildReport> rep = Error::internal("not updated");
  {
    Progress progress(!o.quiet, "updating");
    uo.on_progress = [&progress](const std::string& s) { progress.update(s); };
    rep = vuln::update_database(uo);
  }
  if (!rep) return fail(rep.error());
  for (const auto& w : rep->warnings) std::fprintf(stderr, "warning: %s\n", sanitize(w).c_str());
  std::string text = fmt::format(
      "updated {} ({:.1f} MB): {} advisories, {} known exploited, {} EPSS scores\n", uo.out,
      static_cast<double>(rep->bytes) / 1e6, rep->advisories, rep->kev, rep->epss);
  for (const auto& s : rep->sources)
    text += fmt::format("  {:<13} {:>7} records  {}\n", s.kind, s.records, sanitize(s.path));
  return emit(o, text);
}

int cmd_db_status(const Options& o, int max_age_days) {
  if (auto rc = text_or_json(o, "db status")) return *rc;
  std::string path = db_path(o);
  auto db = vuln::VulnDb::open(path);
  if (!db) return fail(db.error().with_context("db status"));
  int64_t age = (now_s() - (*db)->created_at()) / 86400;
  bool stale = age > max_age_days;
  if (o.format == "json") {
    nlohmann::json j = {{"database", path},
                        {"built_at", iso8601((*db)->created_at())},
                        {"age_days", age},
                        {"stale", stale},
                        {"bytes", (*db)->file_size()},
                        {"advisories", (*db)->advisory_count()},
                        {"packages", (*db)->package_count()},
                        {"kev", (*db)->kev_count()},
                        {"epss", (*db)->epss_count()}};
    j["sources"] = nlohmann::json::array();
    for (const auto& s : (*db)->sources())
      j["sources"].push_back(
          {{"path", s.path},
           {"kind", s.kind},
           {"records", s.records},
           {"skipped", s.skipped},
           {"imported_at", iso8601(s.imported_at)},
           {"data_date", s.data_date.empty() ? nlohmann::json() : nlohmann::json(s.data_date)}});
    int rc = emit(o, j.dump(2) + "\n");
    return rc != kExitOk ? rc : (stale ? kExitFindings : kExitOk);
  }
  std::string text = fmt::format(
      "{} — built {} ({} days ago), {:.1f} MB, checksum ok\n  {} advisories over {} packages, {} "
      "known exploited, {} EPSS scores\n",
      path, iso8601((*db)->created_at()), age, static_cast<double>((*db)->file_size()) / 1e6,
      (*db)->advisory_count(), (*db)->package_count(), (*db)->kev_count(), (*db)->epss_count());
  for (const auto& s : (*db)->sources())
    text += fmt::format("  {:<13} {:>7} records  data up to {:<10}  {}\n", s.kind, s.records,
                        s.data_date.empty() ? "?" : s.data_date, sanitize(s.path));
  if (stale)
    text += fmt::format("warning: the data is {} days old (limit {}): run 'mamori db update'\n",
                        age, max_age_days);
  int rc = emit(o, text);
  return rc != kExitOk ? rc : (stale ? kExitFindings : kExitOk);
}

}  // namespace

void add_db_commands(CLI::App& app, Options& o, int& rc) {
  auto* dbc = app.add_subcommand("db", "Build and inspect the vulnerability database");
  dbc->footer(R"(Examples:
  mamori db update                          download the upstream data and rebuild (daily, from cron)
  mamori db import osv/Debian12.jsonl osv/all.zip kev.json epss.csv   build from files
  mamori db status                          sources, record counts, age (exit 1 when stale)
  mamori --db /srv/mamori/vuln.db db status
See docs/db.md.)");
  dbc->require_subcommand(1);
  struct Args {
    std::vector<std::string> paths, sources;
    bool allow_shrink = false;
    int retries = 3, max_age = 7;
  };
  auto a = std::make_shared<Args>();
  auto* dbi = dbc->add_subcommand(
      "import",
      "Build the database from OSV (JSON, JSON lines, directories, all.zip), CISA KEV, "
      "EPSS CSV, FriendsOfPHP and WordPress files");
  dbi->add_option("PATH", a->paths,
                  "Files or directories; the format is recognised from the content")
      ->required();
  dbi->add_flag("--allow-shrink", a->allow_shrink,
                "Accept a source with more than 10% fewer records than the database being "
                "replaced has for it (refused by default: a cut download)");
  dbi->callback([&o, &rc, a] { rc = cmd_db_import(o, a->paths, a->allow_shrink); });
  auto* dbu = dbc->add_subcommand(
      "update",
      "Download the configured sources (resume, retry) and rebuild the database; the "
      "old database is kept if anything fails");
  dbu->add_option("--source", a->sources,
                  "Download this URL instead of the configured sources (repeatable; default: "
                  "STATE_DIR/sources.list, else the upstream OSV, CISA KEV and EPSS locations)")
      ->type_name("URL");
  dbu->add_option("--retries", a->retries, "Retries per download (with exponential backoff)");
  dbu->add_flag("--allow-shrink", a->allow_shrink,
                "Accept a source with more than 10% fewer records than the database being "
                "replaced has for it (refused by default: a cut download)");
  dbu->callback([&o, &rc, a] { rc = cmd_db_update(o, a->sources, a->retries, a->allow_shrink); });
  auto* dbs = dbc->add_subcommand("status", "Show the database's sources, counts and age");
  dbs->add_option("--max-age", a->max_age,
                  "Days after which the data counts as stale (exit code 1)");
  dbs->callback([&o, &rc, a] { rc = cmd_db_status(o, a->max_age); });
}

}  // namespace mamori::cli
