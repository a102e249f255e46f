// Completing the entries the walk finds: stat and hash, in the fastest way that is safe.
#include "fim/walk.h"

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

namespace detail {
// Completes an entry from the walk: stat (when the walker did not) and hash (when wanted).
// Returns false when the file vanished in between.
// Regular files (per readdir) to be hashed: open first, then fstat and flistxattr on the fd —
// one path lookup and one syscall fewer than stat-then-open, and stat and content are
// guaranteed to be of the same file. Returns false when the fast path does not apply.
bool complete_regular(const Policy& pol, HashAlgo algo, Entry& e, const At& at) {
  if (at.dirfd < 0) return false;
  const Rule* r = pol.rule_for(e.path);
  if (r && !(r->attrs & kAttrHash)) return false;
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
  UniqueFd fd(::openat(at.dirfd, at.name, kFlags));
  if (!fd) return false;  // a symlink now (ELOOP), gone, unreadable: the generic path says
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  fill_from_stat(st, e);
  read_xattrs_fd(fd.get(), e);
  if (e.size <= pol.max_hash_size) e.hash = digest_fd(fd.get(), e.size, md_of(algo), e.error);
  return true;
}

bool complete_entry(const Root& root, const Policy& pol, HashAlgo algo, Entry& e,
                    const DirRef& dir) {
  At at = at_of(dir, e.path);
  if (e.type == kUnstatedRegular) {
    if (complete_regular(pol, algo, e, at)) return true;
    e.type = 0;
  }
  std::string host = root.path(e.path).string();
  if (e.type == 0 && !stat_entry(host, e, at)) return false;
  if (wants_hash(pol, e)) hash_entry(host, algo, e, at);
  return true;
}

unsigned thread_count(unsigned requested) {
  return requested ? requested : std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace detail

}  // namespace mamori::fim
