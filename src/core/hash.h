#pragma once
// SHA-256 through OpenSSL's EVP interface (SHA-NI accelerated where available).
//
// Example:
//   std::string id = sha256_hex("abc");  // "ba7816bf..."

#include <string>
#include <string_view>

namespace mamori {

std::string sha256_hex(std::string_view data);

}  // namespace mamori
