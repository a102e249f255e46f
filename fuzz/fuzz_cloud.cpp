// The cloud audit's readers and evaluator (src/cloud/s3.h, policy.h, evaluate.h) on arbitrary
// bytes, as `mamori cloud audit` reads files exported from an account someone else may control.
// Properties: reading either succeeds or gives an error naming the file; a bucket read is judged
// with bounded work; the verdict is one of four, agrees with its flags, and a public one has a
// witness.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cloud/s3.h"

using namespace mamori::cloud;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (64 << 10)) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto b = read_bucket_file("in.json", in);
  if (!b) {
    if (b.error().message.rfind("in.json", 0) != 0) std::abort();
    return 0;
  }
  for (const Bucket& one : *b) {
    BucketVerdict v = judge_bucket(one, 1'800'000'000);
    const bool known = v.verdict == "public-write" || v.verdict == "public-read" ||
                       v.verdict == "not-public" || v.verdict == "unknown";
    if (!known) std::abort();
    if ((v.verdict == "public-write") != v.public_write) std::abort();
    if ((v.public_read || v.public_write) && v.witness.empty()) std::abort();
    (void)render_cloud_json({v}, {}, "{}");
  }
  return 0;
}
