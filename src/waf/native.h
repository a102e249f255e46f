#pragma once
// Mamori's own detectors, run after CRS on what CRS at paranoia level 1 lets through: XML
// external entities, server-side requests to cloud metadata addresses (in every encoding an
// HTTP client accepts), template injection, NoSQL operators, prototype-pollution keys, Log4j
// JNDI lookups (with their nested-lookup obfuscation) in any header, and SQL injection in
// headers CRS does not read and in path segments. Each is a hand-written scanner over the
// parsed request: no regular expression, bounded work per byte, no allocation per value
// beyond what a hit reports.
//
// Their rule ids are outside CRS's range (docs/waf.md "Native detectors"):
//   7700100 XXE, 7700200 SSRF, 7700300 SSTI, 7700400 NoSQL, 7700500 prototype pollution,
//   7700600 JNDI, 7700700 SQLi in a header, 7700710 SQLi in a path segment, 7700800 SQLi or
//   XSS in a string argument of a GraphQL document.
//
// Example:
//   std::vector<NativeHit> hits;
//   native_detect(req, kNativeAll, hits);
//   for (auto& h : hits) log(h.id, h.variable, h.value);

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "waf/request.h"

namespace mamori::waf {

enum NativeDetector : uint32_t {
  kNativeXxe = 1u << 0,
  kNativeSsrf = 1u << 1,
  kNativeSsti = 1u << 2,
  kNativeNosql = 1u << 3,
  kNativeProto = 1u << 4,
  kNativeJndi = 1u << 5,
  kNativeSqliHeader = 1u << 6,
  kNativeSqliPath = 1u << 7,
  kNativeGraphql = 1u << 8,
  kNativeAll = (1u << 9) - 1,
};

struct NativeInfo {
  NativeDetector bit;
  int64_t id;
  std::string_view name;  // as written in waf.toml: "xxe", "ssrf", "ssti" …
  std::string_view msg;
};
const std::vector<NativeInfo>& native_detectors();
// "xxe" → its bit; nullopt for an unknown name.
std::optional<NativeDetector> native_by_name(std::string_view name);
// "all", "none" or names separated by commas ("xxe,ssrf") → bits; an error names the unknown.
Result<uint32_t> parse_native_list(std::string_view list);

struct NativeHit {
  int64_t id = 0;
  std::string_view msg;
  std::string variable;  // "ARGS:url", "REQUEST_HEADERS:X-Api-Version", "REQUEST_FILENAME"
  std::string value;     // the part of the value that decided (raw; the caller cuts it)
};

// Runs the enabled detectors on a request whose body has been processed. With first_only,
// stops at the first hit (a blocking proxy needs no more).
void native_detect(const Request& req, uint32_t enabled, std::vector<NativeHit>& out,
                   bool first_only = false);

// The parts, for tests and fuzzing. Each returns the deciding fragment, or nullopt.
std::optional<std::string> xxe_in(std::string_view v);
std::optional<std::string> metadata_host_in(std::string_view v);  // SSRF targets
std::optional<std::string> ssti_in(std::string_view v);
std::optional<std::string> nosql_in_value(std::string_view v);
bool nosql_key(std::string_view name);  // "user[$ne]", "json.user.$gt"
bool proto_key(std::string_view name);  // "__proto__[x]", "constructor.prototype.x"
std::optional<std::string> jndi_in(std::string_view v);
// A GraphQL document ("query …", "mutation …", "{ user(id: 1) { … } }"): SQL injection or XSS
// in one of its string literals ("…" and """block strings""").
std::optional<std::string> graphql_in(std::string_view v);
bool is_graphql(std::string_view v);
// A dotted, decimal, octal, hex or mixed IPv4 address as inet_aton reads it ("0xa9fea9fe",
// "0251.0376.0251.0376", "169.254.43518"), or IPv6 in brackets or not.
bool parse_any_ip(std::string_view host, unsigned char out[16], bool& v4);

}  // namespace mamori::waf
