// The binary vulnerability database (vuln.db) is read with mmap: its checksum rejects random
// damage, but a file that verifies is not necessarily one Mamori wrote. The fuzzer fixes the
// header up (magic, format, size, SHA-256) so that every input reaches the section table and
// the cross-reference checks, then reads everything the matcher and the reports read.
#include <openssl/evp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "vuln/model.h"
#include "vuln/vuln.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mamori::vuln;
  if (size < sizeof(model::Header)) return 0;
  std::string buf(reinterpret_cast<const char*>(data), size);
  model::Header h;
  std::memcpy(&h, buf.data(), sizeof h);
  std::memcpy(h.magic, model::kMagic, 8);
  h.format = model::kFormat;
  h.payload_size = size - sizeof h;
  unsigned int len = 0;
  EVP_Digest(buf.data() + sizeof h, h.payload_size, h.sha256, &len, EVP_sha256(), nullptr);
  std::memcpy(buf.data(), &h, sizeof h);
  int fd = ::memfd_create("vuln.db", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) {
    ::close(fd);
    return 0;
  }
  auto db = VulnDb::open("/proc/self/fd/" + std::to_string(fd));
  if (db) {
    const VulnDb& d = **db;
    (void)d.sources();
    int64_t n = d.advisory_count();
    for (int64_t i = 0; i < n && i < 256; ++i) {
      auto v = d.vuln(static_cast<uint32_t>(i));
      (void)d.description(static_cast<uint32_t>(i));
      for (const auto& a : v.aliases) (void)d.kev(a), (void)d.epss(a);
    }
    for (const char* eco : {"Debian:12", "PyPI", "npm", "Go"})
      for (const char* name : {"openssl", "a", "", "requests"}) {
        bool err = false;
        for (const auto& m : match_key(d, {eco, Scheme::kDpkg, name, "1.0"}, err))
          (void)d.vuln(m.first);
        for (const auto& aff : d.lookup(eco, name)) (void)aff.intervals.size();
      }
  }
  ::close(fd);
  return 0;
}
