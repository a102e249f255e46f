// Mamori's native detectors (src/waf/native.h), and the reader of a plugin's PHP for virtual
// patches (vpatch.h), on arbitrary bytes: each scanner on the input as
// one value (an argument, a header, a body), and the whole request path when the input parses
// as HTTP — with the virtual-patch check (its REST route and batch-body reading) on it. Properties:
// every scanner terminates with bounded work (nested "${" lookups, long runs of delimiters), a
// fragment it reports is at most 120 bytes, and the first-only run reports at most one hit.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "waf/http.h"
#include "waf/native.h"
#include "waf/request.h"
#include "waf/vpatch.h"

using namespace mamori::waf;

namespace {

// A shielded plugin registering an AJAX action and a REST namespace, in a scratch root.
const VirtualPatches& patches() {
  static std::shared_ptr<const VirtualPatches> vp = [] {
    char tmpl[] = "/tmp/mamori-fuzz-vpatch-XXXXXX";
    std::filesystem::path root = ::mkdtemp(tmpl);
    auto dir = root / "srv/wp-content/plugins/cform";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "cform.php") << "<?php add_action('wp_ajax_cform_x', 'f'); "
                                        "register_rest_route('cform/v1', '/export');";
    VulnerableComponent c{"plugin",  "cform", "1.0", {"/srv/wp-content/plugins/cform"},
                          {"CVE-1"}, "",      false};
    return VirtualPatches::build({c}, mamori::Root(root.string()));
  }();
  return *vp;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (auto f : {xxe_in, metadata_host_in, ssti_in, nosql_in_value, jndi_in, graphql_in})
    if (auto r = f(in); r && r->size() > 120) std::abort();
  (void)nosql_key(in);
  (void)proto_key(in);
  std::vector<std::string> ajax, rest;  // a plugin's PHP, read for virtual patches
  php_entry_points(in, ajax, rest);
  if (ajax.size() > 512 || rest.size() > 512) std::abort();
  unsigned char a[16];
  bool v4 = false;
  (void)parse_any_ip(in.substr(0, 80), a, v4);

  http::WholeRequest w;
  http::ParseError err;
  if (http::parse_whole(in, w, err) != http::WholeResult::kOk) return 0;
  Request req = Request::from_http(w.head, std::string(w.body), Connection{});
  if (auto hit = patches().check(req); hit && hit->rule_id != kVirtualPatchRule) std::abort();
  for (auto p : {BodyProcessor::kUrlEncoded, BodyProcessor::kJson, BodyProcessor::kXml}) {
    Request r = req;
    r.processor = p;
    r.process_body({});
    std::vector<NativeHit> all, first;
    native_detect(r, kNativeAll, all);
    native_detect(r, kNativeAll, first, true);
    if (first.size() > 1 || (all.empty() != first.empty())) std::abort();
  }
  return 0;
}
