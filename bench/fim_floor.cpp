// fim_floor FILELIST [THREADS=2]: the least work a content baseline can do — for every file in
// the list: open, fstat, flistxattr, read all of it, SHA-256, close — on THREADS threads, with
// nothing recorded. bench/fim.sh runs it in the same run as `mamori fim init` so that the
// overhead of the real thing (walk, order, format, write, sign) is a measured ratio.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fim_floor FILELIST [THREADS=2]\n");
    return 2;
  }
  std::vector<std::string> files;
  std::ifstream in(argv[1]);
  for (std::string l; std::getline(in, l);) files.push_back(l);
  const int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 2;
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  std::atomic<size_t> next{0};
  std::atomic<unsigned long long> bytes{0};
  auto work = [&] {
    std::vector<char> buf(1 << 20);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned long long mine = 0;
    for (;;) {
      size_t i = next.fetch_add(64);
      if (i >= files.size()) break;
      for (size_t j = i; j < std::min(files.size(), i + 64); ++j) {
        int fd = ::open(files[j].c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat st {};
        ::fstat(fd, &st);
        char names[4096];
        (void)::flistxattr(fd, names, sizeof names);
        EVP_DigestInit_ex2(ctx, md, nullptr);
        size_t got = 0;
        for (ssize_t n;
             got < static_cast<size_t>(st.st_size) && (n = ::read(fd, buf.data(), buf.size())) > 0;
             got += static_cast<size_t>(n))
          EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n));
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        EVP_DigestFinal_ex(ctx, out, &len);
        ::close(fd);
        mine += got;
      }
    }
    bytes += mine;
    EVP_MD_CTX_free(ctx);
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  std::printf("%zu files, %llu bytes hashed on %d threads\n", files.size(), bytes.load(), threads);
  EVP_MD_free(md);
  return 0;
}
