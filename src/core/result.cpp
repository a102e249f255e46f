#include "core/result.h"

#include <cstring>

namespace mamori {

Error errno_error(const std::string& path, int err) {
  std::string msg = path + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Error::not_found(msg);
    case EACCES:
    case EPERM:
      return Error::permission(msg);
    default:
      return Error::unavailable(msg);
  }
}

}  // namespace mamori
