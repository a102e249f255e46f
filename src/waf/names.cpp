// The names of the rule model's values, as SecLang writes them (one table per enum).
#include <algorithm>
#include <cctype>
#include <iterator>
#include <string>

#include "core/enum_names.h"
#include "waf/rules.h"

namespace mamori::waf {

namespace {

// clang-format off
constexpr Named<Collection> kCollections[] = {
    {Collection::kArgs, "ARGS"}, {Collection::kArgsGet, "ARGS_GET"},
    {Collection::kArgsPost, "ARGS_POST"}, {Collection::kArgsNames, "ARGS_NAMES"},
    {Collection::kArgsGetNames, "ARGS_GET_NAMES"}, {Collection::kArgsPostNames, "ARGS_POST_NAMES"},
    {Collection::kArgsCombinedSize, "ARGS_COMBINED_SIZE"},
    {Collection::kRequestCookies, "REQUEST_COOKIES"},
    {Collection::kRequestCookiesNames, "REQUEST_COOKIES_NAMES"},
    {Collection::kRequestHeaders, "REQUEST_HEADERS"},
    {Collection::kRequestHeadersNames, "REQUEST_HEADERS_NAMES"},
    {Collection::kRequestFilename, "REQUEST_FILENAME"},
    {Collection::kRequestBasename, "REQUEST_BASENAME"}, {Collection::kRequestUri, "REQUEST_URI"},
    {Collection::kRequestUriRaw, "REQUEST_URI_RAW"}, {Collection::kRequestLine, "REQUEST_LINE"},
    {Collection::kRequestMethod, "REQUEST_METHOD"},
    {Collection::kRequestProtocol, "REQUEST_PROTOCOL"}, {Collection::kRequestBody, "REQUEST_BODY"},
    {Collection::kRequestBodyLength, "REQUEST_BODY_LENGTH"},
    {Collection::kQueryString, "QUERY_STRING"}, {Collection::kRemoteAddr, "REMOTE_ADDR"},
    {Collection::kRemotePort, "REMOTE_PORT"}, {Collection::kFiles, "FILES"},
    {Collection::kFilesNames, "FILES_NAMES"}, {Collection::kFilesSizes, "FILES_SIZES"},
    {Collection::kFilesCombinedSize, "FILES_COMBINED_SIZE"},
    {Collection::kMultipartPartHeaders, "MULTIPART_PART_HEADERS"},
    {Collection::kMultipartStrictError, "MULTIPART_STRICT_ERROR"},
    {Collection::kMultipartUnmatchedBoundary, "MULTIPART_UNMATCHED_BOUNDARY"},
    {Collection::kReqbodyError, "REQBODY_ERROR"},
    {Collection::kReqbodyErrorMsg, "REQBODY_ERROR_MSG"},
    {Collection::kReqbodyProcessor, "REQBODY_PROCESSOR"}, {Collection::kXml, "XML"},
    {Collection::kTx, "TX"}, {Collection::kIp, "IP"}, {Collection::kGlobal, "GLOBAL"},
    {Collection::kSession, "SESSION"}, {Collection::kUser, "USER"},
    {Collection::kResource, "RESOURCE"}, {Collection::kGeo, "GEO"}, {Collection::kEnv, "ENV"},
    {Collection::kMatchedVar, "MATCHED_VAR"}, {Collection::kMatchedVarName, "MATCHED_VAR_NAME"},
    {Collection::kMatchedVars, "MATCHED_VARS"},
    {Collection::kMatchedVarsNames, "MATCHED_VARS_NAMES"}, {Collection::kUniqueId, "UNIQUE_ID"},
    {Collection::kDuration, "DURATION"}, {Collection::kResponseBody, "RESPONSE_BODY"},
    {Collection::kResponseHeaders, "RESPONSE_HEADERS"},
    {Collection::kResponseHeadersNames, "RESPONSE_HEADERS_NAMES"},
    {Collection::kResponseStatus, "RESPONSE_STATUS"},
    {Collection::kResponseProtocol, "RESPONSE_PROTOCOL"},
    {Collection::kResponseContentType, "RESPONSE_CONTENT_TYPE"},
    {Collection::kResponseContentLength, "RESPONSE_CONTENT_LENGTH"},
    {Collection::kServerName, "SERVER_NAME"}, {Collection::kServerAddr, "SERVER_ADDR"},
    {Collection::kServerPort, "SERVER_PORT"}, {Collection::kTime, "TIME"},
    {Collection::kTimeEpoch, "TIME_EPOCH"}, {Collection::kAuthType, "AUTH_TYPE"},
    {Collection::kFullRequest, "FULL_REQUEST"},
    {Collection::kFullRequestLength, "FULL_REQUEST_LENGTH"},
    {Collection::kInboundDataError, "INBOUND_DATA_ERROR"},
    {Collection::kStatusLine, "STATUS_LINE"}};
// clang-format on
static_assert(names_cover(kCollections, Collection::kStatusLine));

// clang-format off
constexpr Named<OpKind> kOps[] = {
    {OpKind::kRx, "rx"}, {OpKind::kPm, "pm"}, {OpKind::kPmFromFile, "pmFromFile"},
    {OpKind::kStreq, "streq"}, {OpKind::kStrmatch, "strmatch"}, {OpKind::kContains, "contains"},
    {OpKind::kContainsWord, "containsWord"}, {OpKind::kBeginsWith, "beginsWith"},
    {OpKind::kEndsWith, "endsWith"}, {OpKind::kWithin, "within"}, {OpKind::kEq, "eq"},
    {OpKind::kGe, "ge"}, {OpKind::kGt, "gt"}, {OpKind::kLe, "le"}, {OpKind::kLt, "lt"},
    {OpKind::kIpMatch, "ipMatch"}, {OpKind::kIpMatchFromFile, "ipMatchFromFile"},
    {OpKind::kValidateByteRange, "validateByteRange"},
    {OpKind::kValidateUrlEncoding, "validateUrlEncoding"},
    {OpKind::kValidateUtf8Encoding, "validateUtf8Encoding"}, {OpKind::kDetectSqli, "detectSQLi"},
    {OpKind::kDetectXss, "detectXSS"}, {OpKind::kUnconditionalMatch, "unconditionalMatch"},
    {OpKind::kNoMatch, "noMatch"}, {OpKind::kRbl, "rbl"}, {OpKind::kGeoLookup, "geoLookup"}};
// clang-format on
static_assert(names_cover(kOps, OpKind::kGeoLookup));

// clang-format off
constexpr Named<Transform> kTransforms[] = {
    {Transform::kLowercase, "lowercase"}, {Transform::kUppercase, "uppercase"},
    {Transform::kUrlDecode, "urlDecode"}, {Transform::kUrlDecodeUni, "urlDecodeUni"},
    {Transform::kUrlEncode, "urlEncode"}, {Transform::kHtmlEntityDecode, "htmlEntityDecode"},
    {Transform::kJsDecode, "jsDecode"}, {Transform::kCssDecode, "cssDecode"},
    {Transform::kCmdLine, "cmdLine"}, {Transform::kCompressWhitespace, "compressWhitespace"},
    {Transform::kRemoveWhitespace, "removeWhitespace"}, {Transform::kRemoveNulls, "removeNulls"},
    {Transform::kReplaceNulls, "replaceNulls"}, {Transform::kRemoveComments, "removeComments"},
    {Transform::kRemoveCommentsChar, "removeCommentsChar"},
    {Transform::kReplaceComments, "replaceComments"}, {Transform::kNormalisePath, "normalisePath"},
    {Transform::kNormalisePathWin, "normalisePathWin"},
    {Transform::kUtf8ToUnicode, "utf8toUnicode"}, {Transform::kBase64Decode, "base64Decode"},
    {Transform::kBase64DecodeExt, "base64DecodeExt"}, {Transform::kBase64Encode, "base64Encode"},
    {Transform::kHexDecode, "hexDecode"}, {Transform::kHexEncode, "hexEncode"},
    {Transform::kSqlHexDecode, "sqlHexDecode"}, {Transform::kEscapeSeqDecode, "escapeSeqDecode"},
    {Transform::kLength, "length"}, {Transform::kSha1, "sha1"}, {Transform::kMd5, "md5"},
    {Transform::kTrim, "trim"}, {Transform::kTrimLeft, "trimLeft"},
    {Transform::kTrimRight, "trimRight"}, {Transform::kParityEven7bit, "parityEven7bit"},
    {Transform::kParityOdd7bit, "parityOdd7bit"}, {Transform::kParityZero7bit, "parityZero7bit"}};
// clang-format on
static_assert(names_cover(kTransforms, Transform::kParityZero7bit));

constexpr Named<Disruptive> kDisruptives[] = {
    {Disruptive::kNone, "none"},        {Disruptive::kPass, "pass"}, {Disruptive::kBlock, "block"},
    {Disruptive::kDeny, "deny"},        {Disruptive::kDrop, "drop"}, {Disruptive::kAllow, "allow"},
    {Disruptive::kRedirect, "redirect"}};
static_assert(names_cover(kDisruptives, Disruptive::kRedirect));

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// SecLang names of operators and transformations are case-insensitive in ModSecurity v3.
template <typename E, size_t N>
std::optional<E> parse_any_case(const Named<E> (&table)[N], std::string_view s) {
  for (const auto& n : table)
    if (iequal(n.name, s)) return n.value;
  return std::nullopt;
}

}  // namespace

std::string_view collection_name(Collection c) { return name_in(kCollections, c, "?"); }
std::optional<Collection> parse_collection(std::string_view s) {
  return parse_any_case(kCollections, s);
}

bool is_keyed(Collection c) {
  static constexpr Collection k[] = {Collection::kArgs,
                                     Collection::kArgsGet,
                                     Collection::kArgsPost,
                                     Collection::kArgsNames,
                                     Collection::kArgsGetNames,
                                     Collection::kArgsPostNames,
                                     Collection::kRequestCookies,
                                     Collection::kRequestCookiesNames,
                                     Collection::kRequestHeaders,
                                     Collection::kRequestHeadersNames,
                                     Collection::kFiles,
                                     Collection::kFilesNames,
                                     Collection::kFilesSizes,
                                     Collection::kMultipartPartHeaders,
                                     Collection::kXml,
                                     Collection::kTx,
                                     Collection::kIp,
                                     Collection::kGlobal,
                                     Collection::kSession,
                                     Collection::kUser,
                                     Collection::kResource,
                                     Collection::kGeo,
                                     Collection::kEnv,
                                     Collection::kMatchedVars,
                                     Collection::kMatchedVarsNames,
                                     Collection::kResponseHeaders,
                                     Collection::kResponseHeadersNames};
  return std::find(std::begin(k), std::end(k), c) != std::end(k);
}

bool is_unsupported(Collection c) {
  static constexpr Collection k[] = {Collection::kIp,
                                     Collection::kGlobal,
                                     Collection::kSession,
                                     Collection::kUser,
                                     Collection::kResource,
                                     Collection::kGeo,
                                     Collection::kEnv,
                                     Collection::kResponseBody,
                                     Collection::kResponseHeaders,
                                     Collection::kResponseHeadersNames,
                                     Collection::kResponseStatus,
                                     Collection::kResponseProtocol,
                                     Collection::kResponseContentType,
                                     Collection::kResponseContentLength,
                                     Collection::kStatusLine,
                                     Collection::kAuthType};
  return std::find(std::begin(k), std::end(k), c) != std::end(k);
}

std::string_view op_name(OpKind k) { return name_in(kOps, k, "?"); }
std::optional<OpKind> parse_op(std::string_view s) { return parse_any_case(kOps, s); }

std::string_view transform_name(Transform t) { return name_in(kTransforms, t, "?"); }
std::optional<Transform> parse_transform(std::string_view s) {
  // ModSecurity accepts both spellings of these.
  if (iequal(s, "normalizePath")) return Transform::kNormalisePath;
  if (iequal(s, "normalizePathWin")) return Transform::kNormalisePathWin;
  return parse_any_case(kTransforms, s);
}

std::string_view disruptive_name(Disruptive d) { return name_in(kDisruptives, d, "?"); }

}  // namespace mamori::waf
