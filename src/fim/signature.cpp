// Ed25519 signatures of baselines (libsodium).
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/text.h"
#include "fim/fim.h"
#include "fim/internal.h"

namespace mamori::fim {

using namespace detail;

// ---- signatures ----

KeyPair generate_keypair() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  KeyPair k;
  k.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  k.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                      reinterpret_cast<unsigned char*>(k.secret_key.data()));
  return k;
}

Status write_keypair(const KeyPair& k, const std::string& secret_path,
                     const std::string& public_path) {
  UniqueFd fd(
      ::open(secret_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error(secret_path, errno);
  bool good = ::fchmod(fd.get(), 0600) == 0 &&
              ::write(fd.get(), k.secret_key.data(), k.secret_key.size()) ==
                  static_cast<ssize_t>(k.secret_key.size());
  good = ::fsync(fd.get()) == 0 && good;
  if (!good) return Error::unavailable(secret_path + ": write failed");
  return write_file_atomic(public_path, k.public_key, /*private_file=*/true);
}

Result<std::string> read_key(const std::string& path, size_t expected) {
  auto k = read_file(path, 4096);
  if (!k) return k.error();
  if (k->size() != expected)
    return Error::invalid(
        fmt::format("{}: not a key ({} bytes, {} expected)", path, k->size(), expected));
  return k;
}

namespace detail {
Result<std::string> file_digest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error(path, errno ? errno : ENOENT);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(md), len);
}
}  // namespace detail

Status sign_digest(const std::string& sig_path, const std::string& sha512,
                   const std::string& secret_key) {
  if (sodium_init() < 0) return Error::internal("libsodium initialisation failed");
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) return Error::invalid("bad secret key size");
  if (sha512.size() != 64) return Error::internal("not a SHA-512 digest");
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(sha512.data()), sha512.size(),
                       reinterpret_cast<const unsigned char*>(secret_key.data()));
  return write_file_atomic(sig_path, sig, /*private_file=*/true);
}

Status sign_file(const std::string& path, const std::string& secret_key) {
  auto d = file_digest(path);
  if (!d) return d.error();
  return sign_digest(path + ".sig", *d, secret_key);
}

Status verify_file(const std::string& path, const std::string& public_key,
                   const std::string& sig_path_in) {
  if (sodium_init() < 0) return Error::internal("libsodium initialisation failed");
  std::string sig_path = sig_path_in.empty() ? path + ".sig" : sig_path_in;
  auto sig = read_file(sig_path, 4096);
  if (!sig)
    return Error::data_loss(
        fmt::format("{}: signature missing ({})", sig_path, sig.error().message));
  if (sig->size() != crypto_sign_BYTES || public_key.size() != crypto_sign_PUBLICKEYBYTES)
    return Error::data_loss(sig_path + ": malformed signature");
  auto d = file_digest(path);
  if (!d) return d.error();
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                  reinterpret_cast<const unsigned char*>(d->data()), d->size(),
                                  reinterpret_cast<const unsigned char*>(public_key.data())) != 0)
    return Error::data_loss(
        path + ": signature does not verify: the baseline was modified or signed by another key");
  return ok();
}

}  // namespace mamori::fim
