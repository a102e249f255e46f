#pragma once
// A rule set in ModSecurity's SecLang as Mamori understands it: the subset OWASP CRS uses,
// parsed once into typed values (a collection, an operator, a transformation is an enum; text
// stays only where it is data: a key, a pattern, a message). The engine evaluates this model;
// `mamori waf rules` reports what in a rule set it does not support, by file and line.
//
// Example:
//   auto rs = load_rules({"/etc/mamori/waf.conf"}, {});   // follows Include
//   if (!rs) die(rs.error().message);                      // "FILE:LINE: what is wrong"
//   for (const Issue& i : rs->issues) warn(i.file, i.line, i.text);
//   for (const Rule& r : rs->rules) ...                    // in order; r.chain: the rest

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mamori::waf {

// What a target reads. Keyed collections hold (name, value) pairs; the others one value.
enum class Collection : uint8_t {
  kArgs,
  kArgsGet,
  kArgsPost,
  kArgsNames,
  kArgsGetNames,
  kArgsPostNames,
  kArgsCombinedSize,
  kRequestCookies,
  kRequestCookiesNames,
  kRequestHeaders,
  kRequestHeadersNames,
  kRequestFilename,
  kRequestBasename,
  kRequestUri,
  kRequestUriRaw,
  kRequestLine,
  kRequestMethod,
  kRequestProtocol,
  kRequestBody,
  kRequestBodyLength,
  kQueryString,
  kRemoteAddr,
  kRemotePort,
  kFiles,
  kFilesNames,
  kFilesSizes,
  kFilesCombinedSize,
  kMultipartPartHeaders,
  kMultipartStrictError,
  kMultipartUnmatchedBoundary,
  kReqbodyError,
  kReqbodyErrorMsg,
  kReqbodyProcessor,
  kXml,
  kTx,
  kIp,
  kGlobal,
  kSession,
  kUser,
  kResource,
  kGeo,
  kEnv,
  kMatchedVar,
  kMatchedVarName,
  kMatchedVars,
  kMatchedVarsNames,
  kUniqueId,
  kDuration,
  kResponseBody,
  kResponseHeaders,
  kResponseHeadersNames,
  kResponseStatus,
  kResponseProtocol,
  kResponseContentType,
  kResponseContentLength,
  kServerName,
  kServerAddr,
  kServerPort,
  kTime,
  kTimeEpoch,
  kAuthType,
  kFullRequest,
  kFullRequestLength,
  kInboundDataError,
  kStatusLine,
};
std::string_view collection_name(Collection c);
std::optional<Collection> parse_collection(std::string_view upper_name);
// Collections whose members are (name, value) pairs and may take a ":key" selector.
bool is_keyed(Collection c);
// Collections Mamori has no data for (persistent IP/SESSION storage, GEO, the response):
// a target on them reads nothing.
bool is_unsupported(Collection c);

struct Target {
  Collection collection = Collection::kArgs;
  std::string key;         // "" = every member; lower-cased: keys match case-insensitively
  bool key_regex = false;  // ARGS:/^id_/ — key holds the pattern
  bool exclude = false;    // !ARGS:foo — leaves that member out of the rule's other targets
  bool count = false;      // &ARGS — the number of members
};

enum class OpKind : uint8_t {
  kRx,
  kPm,
  kPmFromFile,
  kStreq,
  kStrmatch,
  kContains,
  kContainsWord,
  kBeginsWith,
  kEndsWith,
  kWithin,
  kEq,
  kGe,
  kGt,
  kLe,
  kLt,
  kIpMatch,
  kIpMatchFromFile,
  kValidateByteRange,
  kValidateUrlEncoding,
  kValidateUtf8Encoding,
  kDetectSqli,
  kDetectXss,
  kUnconditionalMatch,
  kNoMatch,
  kRbl,
  kGeoLookup,
};
std::string_view op_name(OpKind k);
std::optional<OpKind> parse_op(std::string_view name);  // as written after '@', any case

struct Operator {
  OpKind kind = OpKind::kRx;
  bool negated = false;
  std::string param;  // as written; may hold %{macros} (expanded per transaction)
  // @pmFromFile/@ipMatchFromFile: the phrases of the files, read at load time (the file's
  // directory is where relative names are looked up, as ModSecurity does).
  std::vector<std::string> phrases;
};

enum class Transform : uint8_t {
  kLowercase,
  kUppercase,
  kUrlDecode,
  kUrlDecodeUni,
  kUrlEncode,
  kHtmlEntityDecode,
  kJsDecode,
  kCssDecode,
  kCmdLine,
  kCompressWhitespace,
  kRemoveWhitespace,
  kRemoveNulls,
  kReplaceNulls,
  kRemoveComments,
  kRemoveCommentsChar,
  kReplaceComments,
  kNormalisePath,
  kNormalisePathWin,
  kUtf8ToUnicode,
  kBase64Decode,
  kBase64DecodeExt,
  kBase64Encode,
  kHexDecode,
  kHexEncode,
  kSqlHexDecode,
  kEscapeSeqDecode,
  kLength,
  kSha1,
  kMd5,
  kTrim,
  kTrimLeft,
  kTrimRight,
  kParityEven7bit,
  kParityOdd7bit,
  kParityZero7bit,
};
std::string_view transform_name(Transform t);
std::optional<Transform> parse_transform(std::string_view name);  // any case; "none" separately

enum class Disruptive : uint8_t { kNone, kPass, kBlock, kDeny, kDrop, kAllow, kRedirect };
std::string_view disruptive_name(Disruptive d);

struct SetVar {
  enum class Op : uint8_t { kSet, kAdd, kSub, kDelete };
  Collection collection = Collection::kTx;
  std::string name;  // lower-cased; may hold %{macros}
  Op op = Op::kSet;
  std::string value;  // may hold %{macros}
};

enum class CtlKind : uint8_t {
  kRuleRemoveById,
  kRuleRemoveByTag,
  kRuleRemoveTargetById,
  kRuleRemoveTargetByTag,
  kRuleEngine,
  kRequestBodyProcessor,
  kRequestBodyAccess,
  kRequestBodyLimit,
  kForceRequestBodyVariable,
  kAuditEngine,
  kAuditLogParts,
};
struct Ctl {
  CtlKind kind = CtlKind::kRuleEngine;
  std::string value;  // as written after '='
};

struct Rule {
  int64_t id = 0;          // 0 in the links of a chain after the first
  int phase = 2;           // 1 request headers, 2 request body, 3/4 response, 5 logging
  bool is_action = false;  // SecAction: no target, always matches
  std::vector<Target> targets;
  Operator op;
  std::vector<Transform> transforms;  // after the default action's, unless t:none reset them
  Disruptive disruptive = Disruptive::kNone;  // kNone: the default action's
  int status = 0;
  bool capture = false, multi_match = false;
  bool log = true;  // nolog: matched silently
  std::string msg, logdata, severity, ver;
  std::vector<std::string> tags;
  std::vector<SetVar> setvars;
  std::vector<Ctl> ctls;
  std::string skip_after;  // a SecMarker name
  int skip = 0;
  std::vector<Rule> chain;  // the links after this one (only on the chain's first rule)
  std::string file;
  int line = 0;
};

// A named place in the rule list (SecMarker): skipAfter jumps behind it.
struct Marker {
  std::string name;
  size_t before_rule = 0;  // the index in RuleSet::rules of the first rule after it
};

// Something in a rule set that Mamori loads but does not do as ModSecurity would.
struct Issue {
  enum class Kind : uint8_t {
    kUnsupported,  // changes what is detected: named with its effect
    kIgnored,      // no effect on detection in Mamori (audit logging, temp dirs …)
  };
  Kind kind = Kind::kUnsupported;
  std::string file;
  int line = 0;
  int64_t rule_id = 0;  // 0 when not in a rule
  std::string text;
};

enum class EngineMode : uint8_t { kOn, kOff, kDetectionOnly };

struct RuleSet {
  std::vector<Rule> rules;  // in load order, after SecRuleRemove*/SecRuleUpdate* were applied
  std::vector<Marker> markers;
  std::vector<std::string> files;  // every file read, in order
  std::vector<Issue> issues;
  EngineMode engine = EngineMode::kOn;
  bool request_body_access = true;
  uint64_t request_body_limit = 13107200;
  uint64_t request_body_no_files_limit = 131072;
  bool body_limit_reject = true;  // SecRequestBodyLimitAction Reject (else ProcessPartial)
  char argument_separator = '&';
  // What `block` does in each phase (1–5): the SecDefaultAction's disruptive action.
  Disruptive block_action[6] = {Disruptive::kPass, Disruptive::kPass, Disruptive::kPass,
                                Disruptive::kPass, Disruptive::kPass, Disruptive::kPass};
};

struct LoadOptions {
  uint64_t max_file_bytes = 16ull << 20;  // one rule file or data file
  uint64_t max_total_bytes = 128ull << 20;
  int max_include_depth = 16;
  // Read before the files (load_rules only): engine settings written by Mamori (setup.h).
  std::string preamble;
  std::string preamble_name = "<setup>";
};

// Loads rule files in order; a directory stands for its *.conf files in name order. Include
// (with globs) is followed relative to the including file. A syntax error is an error naming
// FILE:LINE (a WAF with some of its rules silently missing is worse than one that refuses to
// start); what Mamori does not support is an Issue.
Result<RuleSet> load_rules(const std::vector<std::string>& paths, const LoadOptions& opt);
// The same on text already in memory (tests, fuzzing): Include is refused.
Result<RuleSet> parse_rules(std::string_view text, const std::string& name, const LoadOptions& opt);

}  // namespace mamori::waf
