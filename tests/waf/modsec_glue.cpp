// libmodsecurity behind modsec_glue.h (compiled as C++17).
#include "modsec_glue.h"

// ModSecurity's headers use free() and NULL without including what declares them.
#include <cstdlib>
#include <cstring>
#include <set>
// clang-format off
#include <modsecurity/intervention.h>
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>
// clang-format on

using namespace modsecurity;

namespace {
struct Glue {
  ModSecurity* ms;
  RulesSet* rules;
};
void log_cb(void* data, const void* msg) {
  if (!data || !msg) return;
  const char* p = std::strstr(static_cast<const char*>(msg), "[id \"");
  if (p) static_cast<std::set<long>*>(data)->insert(std::strtol(p + 5, nullptr, 10));
  if (std::getenv("MAMORI_ORACLE_VERBOSE")) fprintf(stderr, "%s\n", static_cast<const char*>(msg));
}
}  // namespace

extern "C" void* glue_open(const char* conf, const char** error) {
  auto* g = new Glue{msc_init(), msc_create_rules_set()};
  msc_set_connector_info(g->ms, "mamori-oracle");
  msc_set_log_cb(g->ms, log_cb);
  if (msc_rules_add_file(g->rules, conf, error) < 0) {
    glue_close(g);
    return nullptr;
  }
  return g;
}

extern "C" int glue_eval(void* gp, const GlueRequest* r, long* fires, size_t cap, size_t* n) {
  auto* g = static_cast<Glue*>(gp);
  std::set<long> ids;
  Transaction* t = msc_new_transaction(g->ms, g->rules, &ids);
  msc_process_connection(t, "127.0.0.1", 40000, "127.0.0.1", 80);
  msc_process_uri(t, r->uri, r->method, r->version);
  for (size_t i = 0; i < r->n_headers; ++i)
    msc_add_n_request_header(
        t, reinterpret_cast<const unsigned char*>(r->headers[i].name), r->headers[i].name_len,
        reinterpret_cast<const unsigned char*>(r->headers[i].value), r->headers[i].value_len);
  msc_process_request_headers(t);
  int status = 200;
  ModSecurityIntervention it{200, 0, nullptr, nullptr, 0};
  // The rule that disrupts logs through the intervention, not the log callback.
  auto note = [&](const ModSecurityIntervention& i) {
    const char* p = i.log ? std::strstr(i.log, "[id \"") : nullptr;
    if (p) ids.insert(std::strtol(p + 5, nullptr, 10));
  };
  if (msc_intervention(t, &it) && it.disruptive) {
    status = it.status;
    note(it);
  } else {
    msc_append_request_body(t, reinterpret_cast<const unsigned char*>(r->body), r->body_len);
    msc_process_request_body(t);
    ModSecurityIntervention it2{200, 0, nullptr, nullptr, 0};
    if (msc_intervention(t, &it2) && it2.disruptive) {
      status = it2.status;
      note(it2);
    }
    free(it2.url);
    free(it2.log);
  }
  free(it.url);
  free(it.log);
  msc_process_logging(t);
  msc_transaction_cleanup(t);
  *n = 0;
  for (long id : ids)
    if (*n < cap) fires[(*n)++] = id;
  return status;
}

extern "C" void glue_close(void* gp) {
  auto* g = static_cast<Glue*>(gp);
  msc_rules_cleanup(g->rules);
  msc_cleanup(g->ms);
  delete g;
}
