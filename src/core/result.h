#pragma once
// Result<T>: a value or an Error, for failures that are part of normal operation
// (bad input, a missing file, an unreachable server). The member names follow
// std::expected so the type can be swapped for it once every toolchain we build
// with (clang 14 for libFuzzer) ships <expected>.
//
// Example:
//   Result<int> parse_port(std::string_view s);
//   auto port = parse_port(text);
//   if (!port) return Error::invalid(fmt::format("{}:{}: {}", file, line, port.error().message));
//   use(*port);

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace mamori {

// Abseil's canonical codes, the subset we need.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kPermissionDenied,
  kUnavailable,
  kDataLoss,
  kUnimplemented,
  kInternal
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  static Error invalid(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
  static Error not_found(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Error permission(std::string m) { return {ErrorCode::kPermissionDenied, std::move(m)}; }
  static Error unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Error data_loss(std::string m) { return {ErrorCode::kDataLoss, std::move(m)}; }
  static Error unimplemented(std::string m) { return {ErrorCode::kUnimplemented, std::move(m)}; }
  static Error internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
  // Prefix context so an error says where it travelled ("store: open: ...").
  Error with_context(std::string_view ctx) const& {
    return {code, std::string(ctx) + ": " + message};
  }
};

// Error from errno for a path: "PATH: strerror".
Error errno_error(const std::string& path, int err);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  T value_or(T fallback) const& { return has_value() ? value() : std::move(fallback); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(implicit)
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;
inline Status ok() { return {}; }

}  // namespace mamori

// Return early with the error of a failed Result, adding context.
#define MAMORI_TRY(expr, ctx)                                           \
  do {                                                                  \
    auto&& mamori_try_r_ = (expr);                                      \
    if (!mamori_try_r_) return mamori_try_r_.error().with_context(ctx); \
  } while (0)
