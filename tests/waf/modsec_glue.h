#pragma once
// A plain interface to libmodsecurity for the oracle: its headers need C++17 (one returns NULL
// as a std::string), the rest of Mamori is C++23, so they meet here in C types only.
#include <cstddef>

extern "C" {
struct GlueHeader {
  const char* name;
  size_t name_len;
  const char* value;
  size_t value_len;
};
struct GlueRequest {
  const char* method;   // NUL-terminated
  const char* uri;      // NUL-terminated
  const char* version;  // "1.1"
  const GlueHeader* headers;
  size_t n_headers;
  const char* body;
  size_t body_len;
};
// Loads the rules (a file with Include lines); NULL and *error on failure.
void* glue_open(const char* conf, const char** error);
// Evaluates one request: the status (200 when not disrupted); fires[0..*n) the logged rule ids.
int glue_eval(void* g, const GlueRequest* r, long* fires, size_t cap, size_t* n);
void glue_close(void* g);
}
