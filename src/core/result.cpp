#include "core/result.h"

#include <cstring>

namespace mamori {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid-argument";
    case ErrorCode::kNotFound:
      return "not-found";
    case ErrorCode::kPermissionDenied:
      return "permission-denied";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kDataLoss:
      return "data-loss";
    case ErrorCode::kUnimplemented:
      return "unimplemented";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

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
